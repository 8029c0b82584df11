# Copyright (c) mmmamba contributors. All rights reserved.
"""Adapter over mamba-ssm's CUDA ``selective_scan_fn``.

Available only when mamba-ssm's compiled extension ``selective_scan_cuda``
imports (``mmmamba.ops.check_backend('mamba_ssm')`` says how to build it).
mamba-ssm takes (batch, dim, L) / (batch, G, N, L) exactly as we do; its last
state comes back in the input dtype, so it is cast to fp32 here to keep one
contract across backends.
"""
from typing import Optional, Tuple, Union

from torch import Tensor

__all__ = ['selective_scan_mamba_ssm']


def selective_scan_mamba_ssm(
        u: Tensor,
        delta: Tensor,
        A: Tensor,
        B: Tensor,
        C: Tensor,
        D: Optional[Tensor] = None,
        z: Optional[Tensor] = None,
        delta_bias: Optional[Tensor] = None,
        delta_softplus: bool = False,
        return_last_state: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """mamba-ssm's CUDA selective scan; same contract as
    :func:`mmmamba.ops.selective_scan` (CUDA tensors only)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    if D is not None:
        D = D.float()
    if delta_bias is not None:
        delta_bias = delta_bias.float()
    res = selective_scan_fn(
        u.contiguous(),
        delta.contiguous(),
        A.float().contiguous(),
        B.contiguous(),
        C.contiguous(),
        D=D,
        z=None if z is None else z.contiguous(),
        delta_bias=delta_bias,
        delta_softplus=delta_softplus,
        return_last_state=return_last_state)
    if return_last_state:
        out, last = res
        return out, last.float()
    return res
