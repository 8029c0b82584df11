# UperNet + Vim-S on ADE20K, 512x512, 160k iterations: the Vim paper's
# recipe (arXiv 2401.09417 v3, Appendix B and Table 2): AdamW, lr 6e-5,
# weight decay 0.01, batch 16 (8 GPUs x 2), linear warmup 1500 iterations then
# linear decay, 160k iterations. Layer-wise lr decay (0.95, from the official
# seg/scripts/ft_vim_small_upernet.sh) really reaches the Mamba layers
# through the backbone's get_layer_depth. The neck rebuilds the official
# 4-level pyramid (fpn1..fpn4 of hustvl/Vim seg/backbone/vim.py).
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(
    imports=['mmmamba.models', 'mmmamba.engine'], allow_failed_imports=False)

crop_size = (512, 512)
# Official classification weights (hustvl/Vim-small-midclstok) converted with
# tools/model_converters/vim_to_mmmamba.py; the class token is dropped and the
# position embedding resized from 14x14 to 32x32 on load.
checkpoint = 'checkpoints/vim-small-p16_3rdparty_in1k.pth'  # noqa
norm_cfg = dict(type='SyncBN', requires_grad=True)
embed_dims = 384

model = dict(
    data_preprocessor=dict(size=crop_size),
    # mmseg's EncoderDecoder would copy a model-level `pretrained` into the
    # backbone; weights come only from the backbone init_cfg.
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmmamba.VisionMamba',
        arch='small',
        img_size=crop_size,
        out_type='featmap',
        out_indices=(5, 11, 17, 23),
        # Features are the residual stream after each layer (the official
        # Vim-S seg script: use_residual_as_feature=True,
        # last_layer_process='add'); feat_source='mixer' gives the official
        # seg default (the layers' mixer outputs).
        feat_source='residual',
        with_cls_token=False,
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(
        type='mmmamba.DeconvFeaturePyramid',
        in_channels=embed_dims,
        scale_factors=(4, 2, 1, 0.5),
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[embed_dims] * 4,
        channels=embed_dims,
        num_classes=150,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=embed_dims, num_classes=150, norm_cfg=norm_cfg),
    # Sliding-window test at the training crop, as the official configs.
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    constructor='mmmamba.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.95,
        # 1-D parameters (biases, norms, D) and the position embedding get
        # no weight decay, as in the official Vim optimizer.
        flat_decay_mult=0.0,
        custom_keys={'pos_embed': dict(decay_mult=0.0)}))

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

# 8 GPUs x 2 images = 16 (paper).
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
auto_scale_lr = dict(enable=False, base_batch_size=16)
