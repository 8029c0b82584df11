# Copyright (c) mmmamba contributors. All rights reserved.
"""Reference backend of :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj`:
the unfused composition in pure PyTorch (CPU and GPU), differentiable by
autograd.

The conv is :func:`~mmmamba.ops.causal_conv1d.conv1d_silu_ref` (fp32
accumulation, output in the dtype of ``x``) with its taps and bias rounded
to the dtype of ``x`` first, as autocast casts them; the two projections are
``F.linear`` in the dtype of ``x`` with the weights cast to it and autocast
off, which is what they compute under autocast (or without it, when the
weights already have that dtype).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..causal_conv1d import conv1d_silu_ref

__all__ = ['conv1d_silu_proj_ref']


def conv1d_silu_proj_ref(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                         x_proj_weight: Tensor, dt_proj_weight: Tensor,
                         dt_rank: int, d_state: int, reverse: bool,
                         delta_bias: Optional[Tensor] = None,
                         delta_softplus: bool = False, bc_fp32: bool = False
                         ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """u, delta (B, L, E) contiguous and B, C (B, N, L) transposed views of
    contiguous (B, L, N) tensors, all in ``x.dtype`` (arguments as
    :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj`). With ``delta_bias``
    or ``delta_softplus``, delta is the scan's step computed as the scan
    computes it from the projection's output: in fp32, rounded to
    ``x.dtype`` at the end. With ``bc_fp32`` B and C are then widened to
    fp32 (the same values)."""
    u = conv1d_silu_ref(x, weight.to(x.dtype),
                        None if bias is None else bias.to(x.dtype), reverse)
    with torch.autocast(x.device.type, enabled=False):
        x_dbl = F.linear(u, x_proj_weight.to(u.dtype))  # (B, L, R + 2N)
        dt, Bm, Cm = torch.split(x_dbl, [dt_rank, d_state, d_state], dim=-1)
        delta = F.linear(dt, dt_proj_weight.to(u.dtype))  # (B, L, E)
    if delta_bias is not None or delta_softplus:
        step = delta.float()
        if delta_bias is not None:
            step = step + delta_bias.float()
        if delta_softplus:
            step = F.softplus(step)
        delta = step.to(delta.dtype)
    if bc_fp32:
        Bm, Cm = Bm.float(), Cm.float()
    return (u, delta.contiguous(), Bm.contiguous().transpose(1, 2),
            Cm.contiguous().transpose(1, 2))
