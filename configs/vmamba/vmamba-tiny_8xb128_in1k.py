# VMamba-T [s1l8] on ImageNet-1K with the official recipe (MzeroMiko/VMamba
# classification/config.py + README): 8 GPUs x 128 = 1024 images per step,
# AdamW lr 5e-4 * 1024 / 512 = 1e-3, wd 0.05 (none on norms, biases and 1-D
# parameters), grad clip 5.0, 300 epochs, 20 linear warm-up epochs from 1e-6,
# cosine to 1e-5, AMP (fp16), EMA 0.9999, label smoothing 0.1, RandAugment
# rand-m9-mstd0.5-inc1, random erasing 0.25, Mixup 0.8 / CutMix 1.0, bicubic
# resizing, 256 -> 224 center crop at test. All of that is the Swin recipe of
# the inherited mmpretrain bases, except drop path (per model), EMA, AMP and
# the per-iteration cosine schedule, set below.
_base_ = [
    'mmpretrain::_base_/models/swin_transformer/tiny_224.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmmamba.models'], allow_failed_imports=False)

# The classifier norm of the official model is the backbone's outnorm3
# (out_indices=(3, )); GlobalAveragePooling + LinearClsHead do the rest.
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmmamba.VMamba',
        arch='tiny',
        out_indices=(3, ),
        drop_path_rate=0.2),
    head=dict(in_channels=768))

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='AmpOptimWrapper', loss_scale='dynamic', clip_grad=dict(max_norm=5.0))

# as the official timm CosineLRScheduler (warmup_prefix=True,
# t_in_epochs=False): linear warm-up 20 epochs, then cosine over the other
# 280, both updated every iteration
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=20,
        end=300,
        convert_to_iter_based=True)
]

# EMA, decay 0.9999, updated every iteration (mmengine momentum = 1 - decay)
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]

auto_scale_lr = dict(base_batch_size=1024)
