# Mask R-CNN + VMamba-S (s2l15) + FPN, COCO 3x multi-scale + crop, official
# settings (see the VMamba-T 3x config).
_base_ = './mask-rcnn_vmamba-t_fpn_ms-crop-3x_coco.py'

checkpoint = 'checkpoints/vmamba-small-s2l15_3rdparty_in1k.pth'  # noqa

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.3,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))
