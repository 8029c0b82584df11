# Mask R-CNN + VMamba-B (s2l15) + FPN, COCO 1x, official settings (see the
# VMamba-T config).
_base_ = './mask-rcnn_vmamba-t_fpn_1x_coco.py'

checkpoint = 'checkpoints/vmamba-base-s2l15_3rdparty_in1k.pth'  # noqa

model = dict(
    backbone=dict(
        arch='base',
        drop_path_rate=0.6,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
