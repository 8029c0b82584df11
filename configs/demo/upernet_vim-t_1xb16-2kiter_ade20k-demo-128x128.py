# GPU variant of the demo: the real Vim-Ti backbone (24 layers, 192 dims)
# in UperNet, trained from scratch for 2k iterations on a larger procedural
# ADE20K-format set, to show mIoU rising far above its untrained value.
# Write the data first:
#   python tools/dataset_converters/make_demo_data.py --out data/demo_large \
#       --datasets ade20k --num-train 512 --num-val 64
_base_ = './upernet_vim-demo_1xb4-100iter_ade20k-demo-128x128.py'

data_root = 'data/demo_large/ade/ADEChallengeData2016'
embed_dims = 192
max_iters = 2000

model = dict(
    backbone=dict(arch='tiny', out_indices=(5, 11, 17, 23)),
    neck=dict(in_channels=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=128),
    auxiliary_head=dict(in_channels=embed_dims, channels=64))

train_dataloader = dict(
    batch_size=16, num_workers=4, dataset=dict(data_root=data_root))
val_dataloader = dict(num_workers=4, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
        end=100),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=100,
        end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=500, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=16)
