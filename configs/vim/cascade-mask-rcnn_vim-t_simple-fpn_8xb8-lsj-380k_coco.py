# Cascade Mask R-CNN + Vim-Ti on COCO in the ViTDet style of the Vim paper
# (arXiv 2401.09417 v3, Table 3 and Appendix B): the single stride-16 map of
# the plain backbone -> simple feature pyramid with LayerNorm (scale factors
# 4, 2, 1, 0.5 plus a max-pooled level), RPN with 2 convs, 4conv1fc box heads
# and the mask head with LayerNorm, 1024x1024 large-scale jitter, AdamW
# (lr 1e-4, wd 0.1), batch 64 (8 GPUs x 8), linear lr decay over 380k
# iterations. Settings the paper does not give come from the official
# det/projects/ViTDet/configs/COCO/cascade_mask_rcnn_vimdet_t_100ep*.py:
# layer-wise lr decay 0.837, drop path 0.1, 250 warmup iterations, no weight
# decay on norms and the position embedding.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['mmmamba.models', 'mmmamba.engine'], allow_failed_imports=False)

image_size = (1024, 1024)
# Official classification weights (hustvl/Vim-tiny-midclstok) converted with
# tools/model_converters/vim_to_mmmamba.py; the class token is dropped and the
# position embedding resized from 14x14 to 64x64 on load.
checkpoint = 'checkpoints/vim-tiny-p16_3rdparty_in1k.pth'  # noqa
# ViTDet's norm="LN": LayerNorm over channels of NCHW maps, eps 1e-6.
norm_cfg = dict(type='mmmamba.LN2d', eps=1e-6, requires_grad=True)
embed_dims = 192

# The three cascade stages differ only in their box-delta stds.
bbox_head_common = dict(
    type='Shared4Conv1FCBBoxHead',
    in_channels=256,
    conv_out_channels=256,
    fc_out_channels=1024,
    roi_feat_size=7,
    num_classes=80,
    norm_cfg=norm_cfg,
    reg_class_agnostic=True,
    loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))

model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[
            dict(
                type='BatchFixedSizePad',
                size=image_size,
                img_pad_value=0,
                pad_mask=True,
                mask_pad_value=0,
                pad_seg=False)
        ]),
    backbone=dict(
        _delete_=True,
        type='mmmamba.VisionMamba',
        arch='tiny',
        img_size=image_size,
        out_type='featmap',
        out_indices=-1,
        # The official det backbone returns residual + hidden of the last
        # layer without the final norm (last_layer_process='add').
        feat_source='residual',
        with_cls_token=False,
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='mmmamba.SimpleFPN',
        in_channels=embed_dims,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=[
            dict(
                bbox_head_common,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=[0.1, 0.1, 0.2, 0.2])),
            dict(
                bbox_head_common,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=[0.05, 0.05, 0.1, 0.1])),
            dict(
                bbox_head_common,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=[0.033, 0.033, 0.067, 0.067])),
        ],
        mask_head=dict(norm_cfg=norm_cfg)))

# Large-scale jitter at 1024x1024 (ViTDet).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomResize',
        scale=image_size,
        ratio_range=(0.1, 2.0),
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=image_size,
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs')
]
# Longer side 1024, padded to 1024x1024 with the ImageNet mean (0 after
# normalisation, as the training pad) so the position embedding is used at
# the grid it was trained for.
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(124, 116, 104))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    batch_sampler=None,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 380000
interval = 5000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='mmmamba.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.837,
        norm_decay_mult=0.0,
        custom_keys={'pos_embed': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=250,
        end=max_iters),
]

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=interval, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=64)
