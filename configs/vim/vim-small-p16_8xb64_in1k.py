# Vim-S, ImageNet-1K from scratch, 224x224, patch 16 / stride 16.
# Official recipe (vim/scripts/pt-vim-s.sh; docs/official-models.md A.8):
# 8 GPUs x 64, lr 1e-3 x 512 / 512 = 1e-3, weight decay 0.05, drop path 0.05;
# everything else as Vim-Ti.
_base_ = './vim-tiny-p16_8xb128_in1k.py'

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.05),
    head=dict(in_channels=384))

train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))

auto_scale_lr = dict(base_batch_size=512)
