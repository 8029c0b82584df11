# Vim-S† : long-sequence fine-tuning of Vim-S with patch stride 8.
# Official recipe (vim/scripts/ft-vim-s.sh; docs/official-models.md A.8):
# same as Vim-Ti† (8 GPUs x 128, 30 epochs, constant lr 1e-5, weight decay
# 1e-8, drop path 0.0), starting from the stride-16 Vim-S weights.
_base_ = './vim-tiny-p16-s8_8xb128-30e_in1k.py'

model = dict(backbone=dict(arch='small'), head=dict(in_channels=384))

load_from = None  # e.g. 'checkpoints/vim-small-p16_3rdparty_in1k.pth'
