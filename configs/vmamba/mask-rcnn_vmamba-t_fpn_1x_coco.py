# Mask R-CNN + VMamba-T (s1l8) + FPN, COCO, 1x schedule, with the settings of
# the official MzeroMiko/VMamba detection config
# (detection/configs/vssm1/mask_rcnn_vssm_fpn_coco_tiny.py, which inherits
# mmdet's Swin-T Mask R-CNN 1x config): AdamW lr 1e-4, wd 0.05, no decay on
# norms, 1000-iteration linear warmup, steps at epochs 8 and 11, batch 16
# (8 GPUs x 2).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmmamba.models'], allow_failed_imports=False)

# Official classification weights converted with
# tools/model_converters/vmamba_to_mmmamba.py.
checkpoint = 'checkpoints/vmamba-tiny-s1l8_3rdparty_in1k.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmmamba.VMamba',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1),
]

optim_wrapper = dict(
    type='OptimWrapper',
    # As the official config: substring keys, so every parameter whose name
    # contains 'norm' gets no weight decay.
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }),
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=0.0001,
        betas=(0.9, 0.999),
        weight_decay=0.05))

# 8 GPUs x 2 images = 16.
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
