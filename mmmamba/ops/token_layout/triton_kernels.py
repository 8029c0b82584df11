# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernel of :func:`mmmamba.ops.token_layout.tokens_to_featmap`: a
tiled transpose of each image's (M, D) tokens into its (D, M) map, skipping
the class token's row. Loads are coalesced along D and stores along M
(Triton converts the tile's layout through shared memory between them).
"""
from typing import Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv

__all__ = ['tokens_to_featmap_fwd', 'TRANSPOSE_CONFIG']

#: (BLOCK_M tokens, BLOCK_D channels, warps).
TRANSPOSE_CONFIG = (64, 64, 4)


@triton.jit
def _tokens_to_featmap_kernel(feat_ptr, out_ptr, n_patches, dim, cls_index,
                              sf_b, sf_t, HAS_CLS: tl.constexpr,
                              BLOCK_M: tl.constexpr,
                              BLOCK_D: tl.constexpr):
    """``out[b, d, m] = feat[b, t(m), d]`` for ``BLOCK_M`` patches ``m``
    and ``BLOCK_D`` channels ``d`` of image ``b``; ``t(m)`` is ``m``, or
    ``m + 1`` from the class token's index on."""
    pid_m = tl.program_id(0)
    pid_d = tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = pid_d * BLOCK_D + tl.arange(0, BLOCK_D)
    mask = (offs_m[:, None] < n_patches) & (offs_d[None, :] < dim)
    tok = offs_m
    if HAS_CLS:
        tok = offs_m + (offs_m >= cls_index).to(tl.int32)
    x = tl.load(feat_ptr + b * sf_b + tok[:, None].to(tl.int64) * sf_t
                + offs_d[None, :], mask=mask)
    tl.store(out_ptr + b * dim * n_patches
             + offs_d[None, :].to(tl.int64) * n_patches + offs_m[:, None],
             x, mask=mask)


def tokens_to_featmap_fwd(feat: Tensor, grid: Tuple[int, int],
                          cls_index: Optional[int]) -> Tensor:
    """The kernel's launch (arguments as ``tokens_to_featmap``; ``feat``
    needs channel stride 1)."""
    if feat.stride(2) != 1:
        raise ValueError('tokens_to_featmap: the Triton backend needs '
                         f'channel stride 1, got strides {feat.stride()}')
    batch, _, dim = feat.shape
    n_patches = grid[0] * grid[1]
    out = torch.empty((batch, dim, grid[0], grid[1]), dtype=feat.dtype,
                      device=feat.device)
    if out.numel() == 0:
        return out
    bm, bd, warps = TRANSPOSE_CONFIG
    launch = (cdiv(n_patches, bm), cdiv(dim, bd), batch)
    _tokens_to_featmap_kernel[launch](
        feat, out, n_patches, dim, -1 if cls_index is None else cls_index,
        feat.stride(0), feat.stride(1), HAS_CLS=cls_index is not None,
        BLOCK_M=bm, BLOCK_D=bd, num_warps=warps)
    return out
