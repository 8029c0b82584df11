# UperNet + Vim-Ti on ADE20K, 512x512, 160k iterations: the paper's recipe
# (see upernet_vim-s_8xb2-160k_ade20k-512x512.py); layer-wise lr decay 0.92
# as the official seg/scripts/ft_vim_tiny_upernet.sh.
_base_ = './upernet_vim-s_8xb2-160k_ade20k-512x512.py'

checkpoint = 'checkpoints/vim-tiny-p16_3rdparty_in1k.pth'  # noqa
embed_dims = 192

model = dict(
    backbone=dict(
        arch='tiny',
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(in_channels=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=embed_dims),
    auxiliary_head=dict(in_channels=embed_dims))

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.92))
