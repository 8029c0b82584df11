# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of the fused SS2D scan: autograd wrapper over
:mod:`.triton_kernels`. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite)."""
from typing import Optional

import torch
from torch import Tensor

from .triton_kernels import ss2d_scan_bwd, ss2d_scan_fwd

__all__ = ['SS2DScanTritonFn', 'ss2d_scan_triton']


def _fp32(t: Optional[Tensor]) -> Optional[Tensor]:
    return None if t is None else t.float().contiguous()


class SS2DScanTritonFn(torch.autograd.Function):
    """Forward and backward Triton kernels of :func:`ss2d_scan_triton`."""

    @staticmethod
    def forward(ctx, x: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                C: Tensor, D: Optional[Tensor], delta_bias: Optional[Tensor],
                delta_softplus: bool) -> Tensor:
        batch, dim, height, width = x.shape
        u = x.reshape(batch, dim, height * width).contiguous()
        delta, B, C = delta.contiguous(), B.contiguous(), C.contiguous()
        A32, D32, bias32 = _fp32(A), _fp32(D), _fp32(delta_bias)
        need_grad = any(ctx.needs_input_grad[:7])
        out, states, config = ss2d_scan_fwd(u, delta, A32, B, C, D32, bias32,
                                            height, width, delta_softplus,
                                            need_grad)
        if need_grad:
            ctx.save_for_backward(u, delta, A32, B, C, D32, bias32, states)
            ctx.config = config
            ctx.grid = (height, width)
            ctx.delta_softplus = delta_softplus
            ctx.dtypes = tuple(None if t is None else t.dtype
                               for t in (A, D, delta_bias))
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        u, delta, A, B, C, D, bias, states = ctx.saved_tensors
        height, width = ctx.grid
        du, ddelta, dA, dB, dC, dD, dbias = ss2d_scan_bwd(
            u, delta, A, B, C, D, bias, height, width, ctx.delta_softplus,
            states, ctx.config, grad_out.contiguous())
        a_dtype, d_dtype, bias_dtype = ctx.dtypes
        return (du.view(u.shape[0], u.shape[1], height, width), ddelta,
                dA.to(a_dtype), dB.to(B.dtype), dC.to(C.dtype),
                None if dD is None else dD.to(d_dtype),
                None if dbias is None else dbias.to(bias_dtype), None)


def ss2d_scan_triton(x: Tensor,
                     delta: Tensor,
                     A: Tensor,
                     B: Tensor,
                     C: Tensor,
                     D: Optional[Tensor] = None,
                     delta_bias: Optional[Tensor] = None,
                     delta_softplus: bool = True) -> Tensor:
    """Fused four-direction SS2D scan in Triton; same contract as
    :func:`mmmamba.ops.ss2d_scan.ss2d_scan`.

    Returns:
        out (batch, dim, H*W) in ``x.dtype``.
    """
    return SS2DScanTritonFn.apply(x, delta, A, B, C, D, delta_bias,
                                  delta_softplus)
