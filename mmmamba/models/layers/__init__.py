# Copyright (c) mmmamba contributors. All rights reserved.
from .bimamba import BiMamba
from .embed import (VimPatchEmbed, merge_cls_pos_embed, resize_grid_pos_embed,
                    resize_pos_embed, resize_pos_embed_vim_finetune,
                    split_cls_pos_embed)
from .norm import AddRMSNorm, RMSNorm, rms_norm
from .ss2d import SS2D
from .vmamba_layers import (ConvDownsample, LayerNorm2d, Linear2d,
                            PatchEmbedV1, PatchEmbedV2, PatchMerging2D,
                            VMambaMlp)
from .vss_block import VSSBlock

__all__ = [
    'BiMamba', 'VimPatchEmbed', 'merge_cls_pos_embed',
    'resize_grid_pos_embed', 'resize_pos_embed',
    'resize_pos_embed_vim_finetune', 'split_cls_pos_embed', 'AddRMSNorm',
    'RMSNorm', 'rms_norm',
    'SS2D', 'VSSBlock', 'ConvDownsample', 'LayerNorm2d', 'Linear2d',
    'PatchEmbedV1', 'PatchEmbedV2', 'PatchMerging2D', 'VMambaMlp'
]
