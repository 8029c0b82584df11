# Copyright (c) mmmamba contributors. All rights reserved.
"""Operators. Importing this package needs only torch: Triton and mamba-ssm are
probed lazily when a backend that needs them is asked for."""
from .causal_conv1d import (bidir_conv1d_silu, bidir_conv1d_silu_ref,
                            check_conv1d_backend, conv1d_silu)
from .conv_proj import conv1d_silu_proj, conv1d_silu_proj_ref
from .cross_scan import (check_cross_scan_backend, cross_merge,
                         cross_merge_ref, cross_scan, cross_scan_ref)
from .layer_norm2d import layer_norm_2d, layer_norm_2d_ref
from .patch_tokens import patch_tokens, patch_tokens_ref
from .selective_scan import (AUTO_ORDER, auto_order, available_backends,
                             bidir_selective_scan, check_backend,
                             resolve_backend, selective_scan,
                             selective_scan_into, selective_scan_ref)
from .ss2d_scan import scan_positions, ss2d_scan, ss2d_scan_ref
from .token_layout import tokens_to_featmap, tokens_to_featmap_ref

__all__ = [
    'selective_scan', 'selective_scan_ref', 'bidir_selective_scan',
    'selective_scan_into', 'conv1d_silu', 'check_backend', 'resolve_backend',
    'available_backends', 'AUTO_ORDER', 'auto_order', 'cross_scan',
    'cross_merge', 'cross_scan_ref', 'cross_merge_ref',
    'check_cross_scan_backend', 'ss2d_scan', 'ss2d_scan_ref',
    'scan_positions', 'bidir_conv1d_silu', 'bidir_conv1d_silu_ref',
    'check_conv1d_backend', 'conv1d_silu_proj', 'conv1d_silu_proj_ref',
    'layer_norm_2d', 'layer_norm_2d_ref', 'patch_tokens', 'patch_tokens_ref',
    'tokens_to_featmap', 'tokens_to_featmap_ref'
]
