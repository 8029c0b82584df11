# Vim-Ti† : long-sequence fine-tuning of Vim-Ti with patch stride 8
# (27 x 27 = 729 patches + 1 class token at 224x224).
# Official recipe (vim/scripts/ft-vim-t.sh; docs/official-models.md A.8):
# start from the stride-16 Vim-Ti weights, 8 GPUs x 128, 30 epochs, constant
# lr 1e-5 (5e-6 x 1024 / 512; warm-up and minimum lr are also 1e-5), weight
# decay 1e-8, drop path 0.0, fp32; augmentation, EMA as in pre-training.
_base_ = './vim-tiny-p16_8xb128_in1k.py'

model = dict(
    backbone=dict(
        stride=8,
        drop_path_rate=0.0,
        # Reproduce the official --finetune resize of the 197-token
        # position embedding to 730 tokens, quirk included: it treats index
        # 0 as the class position although Vim's class token is in the
        # middle (docs/official-models.md A.6). Set False for the corrected
        # resize that keeps the middle class position.
        pos_embed_resize_quirk=True))

# Converted stride-16 Vim-Ti checkpoint (tools/model_converters/
# vim_to_mmmamba.py); the whole classifier, head included, is loaded and
# VisionMamba resizes pos_embed on load.
load_from = None  # e.g. 'checkpoints/vim-tiny-p16_3rdparty_in1k.pth'

optim_wrapper = dict(optimizer=dict(lr=1e-5, weight_decay=1e-8))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)

auto_scale_lr = dict(base_batch_size=1024)
