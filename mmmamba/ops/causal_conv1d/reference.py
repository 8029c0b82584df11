# Copyright (c) mmmamba contributors. All rights reserved.
"""Reference backend of :func:`~mmmamba.ops.causal_conv1d.bidir_conv1d_silu`:
pure PyTorch (CPU and GPU), differentiable by autograd.

Both directions read one zero-padded copy of ``x`` in the (B, E, L) layout
that ``F.conv1d`` wants: the causal conv takes its first L + K - 1
positions, the anti-causal twin its last L + K - 1 with the taps reversed
(``flip(conv(flip(x)))`` without the flips). Arithmetic is in fp32 (fp64
for fp64 inputs) with autocast off, so that it means the same as the
Triton kernels' fp32 accumulation; outputs are cast back to ``x.dtype``.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['bidir_conv1d_silu_ref', 'conv1d_silu_ref']


def bidir_conv1d_silu_ref(x: Tensor, weight_f: Tensor,
                          bias_f: Optional[Tensor], weight_b: Tensor,
                          bias_b: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """Causal and anti-causal depthwise conv1d, each followed by SiLU.

    Args:
        x: (B, L, E), any float dtype and strides.
        weight_f, weight_b: (E, K).
        bias_f, bias_b: (E,) or None.

    Returns:
        u_f, u_b: (B, L, E) contiguous, dtype of ``x``::

            u_f[b, t, e] = silu(bias_f[e] + sum_k weight_f[e, k]
                                * x[b, t - (K-1) + k, e])
            u_b[b, t, e] = silu(bias_b[e] + sum_k weight_b[e, k]
                                * x[b, t + (K-1) - k, e])

        with ``x`` zero outside [0, L).
    """
    seqlen, dim = x.shape[1], x.shape[2]
    K = weight_f.shape[-1]
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32

    def cast(t: Optional[Tensor]) -> Optional[Tensor]:
        return None if t is None else t.to(acc)

    with torch.autocast(x.device.type, enabled=False):
        xp = F.pad(x.transpose(1, 2).to(acc), (K - 1, K - 1))
        a_f = F.conv1d(xp[..., :seqlen + K - 1],
                       cast(weight_f).reshape(dim, 1, K), cast(bias_f),
                       groups=dim)
        a_b = F.conv1d(xp[..., K - 1:],
                       cast(weight_b).flip(-1).reshape(dim, 1, K),
                       cast(bias_b), groups=dim)
        u_f = F.silu(a_f).transpose(1, 2).to(x.dtype).contiguous()
        u_b = F.silu(a_b).transpose(1, 2).to(x.dtype).contiguous()
    return u_f, u_b


def conv1d_silu_ref(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                    reverse: bool) -> Tensor:
    """One direction of :func:`bidir_conv1d_silu_ref`: ``u_f`` (causal) or,
    with ``reverse``, ``u_b`` (anti-causal), from ``weight`` (E, K) and
    ``bias`` (E,) or None; (B, L, E) contiguous in ``x.dtype``."""
    if reverse:
        return bidir_conv1d_silu_ref(x, weight, None, weight, bias)[1]
    return bidir_conv1d_silu_ref(x, weight, bias, weight, None)[0]
