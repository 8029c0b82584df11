# Copyright (c) mmmamba contributors. All rights reserved.
"""Reference (plain PyTorch) channel LayerNorm of (B, C, H, W) maps: the
math of :class:`mmmamba.models.layers.LayerNorm2d` before the fused kernels
(the official VMamba ``LayerNorm2d``: permute to (B, H, W, C),
``F.layer_norm`` over C, permute back), and the oracle of the Triton
backend.

Every op is an ordinary PyTorch op, so autograd, autocast (``layer_norm``
runs in fp32 under it), ``torch.compile`` and FLOP counting see the same
graph as before.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['layer_norm_2d_ref']


def layer_norm_2d_ref(x: Tensor,
                      weight: Optional[Tensor],
                      bias: Optional[Tensor],
                      eps: float = 1e-5,
                      out_dtype: Optional[torch.dtype] = None) -> Tensor:
    """LayerNorm over the channels of ``x`` (B, C, H, W).

    Returns:
        Tensor: (B, C, H, W), a permuted view of a (B, H, W, C) result
        (channels-last memory for a contiguous ``x``); dtype as
        ``F.layer_norm`` gives it (fp32 under autocast; else ``x``'s, also
        for a weight or bias of another dtype, normalised in fp32 as
        CPU's ``layer_norm`` does), or ``out_dtype``.
    """
    xp = x.permute(0, 2, 3, 1)
    mixed = _mixed_outside_autocast(x, weight, bias)
    if mixed:
        # CUDA's layer_norm takes a weight or bias of another dtype only
        # under autocast (CPU's computes in fp32 and returns x's dtype): the
        # same fp32 math, spelled out
        ct = torch.promote_types(x.dtype, torch.float32)
        xp, weight, bias = (None if t is None else t.to(ct)
                            for t in (xp, weight, bias))
    y = F.layer_norm(xp, (x.shape[1], ), weight, bias, eps)
    if mixed:
        y = y.to(x.dtype)
    y = y.permute(0, 3, 1, 2)
    if out_dtype is not None:
        y = y.to(out_dtype)
    return y


def _mixed_outside_autocast(x: Tensor, weight: Optional[Tensor],
                            bias: Optional[Tensor]) -> bool:
    """Whether a weight or bias dtype differs from ``x``'s where CUDA
    autocast does not cast them (a CUDA ``x`` under it runs in fp32)."""
    if x.device.type == 'cuda' and torch.is_autocast_enabled('cuda'):
        return False
    return any(t is not None and t.dtype != x.dtype for t in (weight, bias))
