# The demo ("main job" of the README, tools/run_demo.sh): UperNet + a small
# Vim trained from scratch on the procedural ADE20K-format demo data
# (tools/dataset_converters/make_demo_data.py), sized for a CPU: 128x128
# crops, batch 4, 100 iterations. Everything else is the real Vim-Ti UperNet
# config it inherits: mmseg's ADE20KDataset (150 classes, reduce_zero_label),
# its pipeline, the registered deconvolution pyramid neck, UPerHead + FCN
# auxiliary head, layer-wise lr decay through VisionMamba.get_layer_depth,
# sliding-window test and the IoUMetric.
_base_ = '../vim/upernet_vim-t_8xb2-160k_ade20k-512x512.py'

crop_size = (128, 128)
data_root = 'data/demo/ade/ADEChallengeData2016'
embed_dims = 64
max_iters = 100

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        # a custom arch replaces the base's 'tiny' name
        arch=dict(
            _delete_=True, embed_dims=embed_dims, num_layers=4, d_state=8),
        img_size=crop_size,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.0,
        init_cfg=None),  # from scratch: no converted checkpoint needed
    neck=dict(in_channels=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=64),
    auxiliary_head=dict(in_channels=embed_dims, channels=32),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(96, 96)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(512, 128),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# From scratch on a small set: a larger lr than the fine-tuning recipe.
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=10,
        end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=4)
