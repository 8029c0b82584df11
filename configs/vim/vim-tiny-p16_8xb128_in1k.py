# Vim-Ti, ImageNet-1K from scratch, 224x224, patch 16 / stride 16.
# Official recipe (hustvl/Vim vim/scripts/pt-vim-t.sh + vim/main.py defaults;
# docs/official-models.md A.8): 8 GPUs x 128, AdamW (eps 1e-8), lr 5e-4 x
# 1024 / 512 = 1e-3, weight decay 0.1, 300 epochs (5 warm-up from 1e-6, cosine
# to 1e-5), drop path 0.0, label smoothing 0.1, mixup 0.8 / cutmix 1.0 (one of
# the two per batch), RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25,
# repeated augmentation, model EMA 0.99996, fp32 (--no_amp), no grad clipping.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmmamba.models'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='mmmamba.VisionMamba',
        arch='tiny',
        img_size=224,
        patch_size=16,
        stride=16,
        out_type='cls_token',  # the middle class token after norm_f
        drop_path_rate=0.0),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=192,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        # official head init: trunc_normal_(std=.02), zero bias (A.7); the
        # backbone initialises itself (VisionMamba.init_weights), so no
        # model-wide Linear init here (it would overwrite dt_proj).
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]),
)

# data: 8 GPUs x 128, repeated augmentation (3 repeats, as DeiT/Vim)
train_dataloader = dict(
    batch_size=128, sampler=dict(type='RepeatAugSampler', shuffle=True))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# optimizer: lr already scaled for the total batch 1024; weight decay is
# skipped for 1-D parameters and biases (timm add_weight_decay) and for
# pos_embed / cls_token (VisionMamba.no_weight_decay()); A_log does decay.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW', lr=1e-3, weight_decay=0.1, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }),
)

# 5 warm-up epochs from 1e-6 (= 1e-3 * 1e-3), then cosine to 1e-5
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=5,
        end=300)
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)

# model EMA, decay 0.99996 per iteration
custom_hooks = [dict(type='EMAHook', momentum=4e-5, priority='ABOVE_NORMAL')]

# official linear scaling rule: lr x total_batch / 512, i.e. 1e-3 at 1024
auto_scale_lr = dict(base_batch_size=1024)
