# UperNet + VMamba-S (s2l15), official settings (see the VMamba-T config).
_base_ = './upernet_vmamba-t_8xb2-160k_ade20k-512x512.py'

checkpoint = 'checkpoints/vmamba-small-s2l15_3rdparty_in1k.pth'  # noqa

model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.3,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))
