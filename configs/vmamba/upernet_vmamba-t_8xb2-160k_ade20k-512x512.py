# UperNet + VMamba-T (s1l8) on ADE20K, 512x512, 160k iterations, with the
# settings of the official MzeroMiko/VMamba segmentation config
# (segmentation/configs/vssm1/upernet_vssm_4xb4-160k_ade20k-512x512_tiny.py,
# which inherits mmseg's Swin-T UperNet config): AdamW lr 6e-5, wd 0.01,
# no decay on norms, 1500-iteration linear warmup then poly (power 1.0),
# batch 16 (8 GPUs x 2; the official "4xb4" file name is not what ran).
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['mmmamba.models'], allow_failed_imports=False)

crop_size = (512, 512)
# Official classification weights converted with
# tools/model_converters/vmamba_to_mmmamba.py.
checkpoint = 'checkpoints/vmamba-tiny-s1l8_3rdparty_in1k.pth'  # noqa
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmmamba.VMamba',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(
        in_channels=[96, 192, 384, 768],
        channels=512,
        num_classes=150,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=384, num_classes=150, norm_cfg=norm_cfg))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    # As the official config: substring keys, so every parameter whose name
    # contains 'norm' gets no weight decay.
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }))

param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=160000),
]

train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=16)
