# Copyright (c) mmmamba contributors. All rights reserved.
"""Reference (plain PyTorch) add + RMSNorm: the math of
:class:`mmmamba.models.layers.AddRMSNorm` before the fused kernels, and the
oracle of the Triton backend.

Every op is an ordinary PyTorch op, so autograd, ``torch.compile`` (traced
and fused by Inductor like any elementwise code) and FLOP counting see the
same graph as before. Compute dtype: fp32 for fp16/bf16/fp32 inputs (the
ops are exactly ``x.float()``, ``pow``, ``mean``, ``rsqrt``, two muls and
the cast of the original code), fp64 for fp64 inputs (the original code
computed in fp32 there; fp64 end to end is what makes the op checkable by
``torch.autograd.gradcheck``).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['add_rms_norm_ref', 'rms_norm_ref', 'residual_dtype']


def _fp32(t: Tensor) -> Tensor:
    """``t.float()``, except that fp64 stays fp64."""
    return t if t.dtype == torch.float64 else t.float()


def residual_dtype(x: Tensor, residual: Optional[Tensor],
                   residual_in_fp32: bool) -> torch.dtype:
    """dtype of the new residual stream that :func:`add_rms_norm_ref`
    returns: fp32 (fp64 if an input is fp64) with ``residual_in_fp32``,
    else that of ``residual + x`` (``x``'s when ``residual`` is None)."""
    dtype = x.dtype if residual is None else torch.promote_types(
        residual.dtype, x.dtype)
    if residual_in_fp32 and dtype != torch.float64:
        return torch.float32
    return dtype


def rms_norm_ref(x: Tensor, weight: Tensor, eps: float = 1e-5) -> Tensor:
    """``x * rsqrt(mean(x ** 2, -1) + eps) * weight`` over the last dim,
    computed in fp32 (fp64 for fp64 ``x``), returned in ``x.dtype``."""
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    x32 = x.to(dtype)
    rstd = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + eps)
    return (x32 * rstd * weight.to(dtype)).to(x.dtype)


def add_rms_norm_ref(x: Tensor,
                     residual: Optional[Tensor],
                     weight: Tensor,
                     eps: float = 1e-5,
                     residual_in_fp32: bool = True,
                     out_dtype: Optional[torch.dtype] = None
                     ) -> Tuple[Tensor, Tensor]:
    """``new_residual = residual + x`` (``x`` if ``residual`` is None), then
    ``(rms_norm(new_residual) in out_dtype, new_residual)``; ``out_dtype``
    None means ``x.dtype``.

    With ``residual_in_fp32`` the sum is formed in fp32 from fp32 copies of
    both terms and returned in fp32; otherwise it is ``residual + x`` with
    PyTorch's type promotion. With ``residual=None`` and no cast needed the
    new residual *is* ``x`` (the same tensor).
    """
    if residual is None:
        new_residual = _fp32(x) if residual_in_fp32 else x
    elif residual_in_fp32:
        new_residual = _fp32(residual) + _fp32(x)
    else:
        new_residual = residual + x
    y = rms_norm_ref(new_residual, weight, eps).to(out_dtype or x.dtype)
    return y, new_residual
