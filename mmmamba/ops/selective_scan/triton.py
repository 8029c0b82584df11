# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of the selective scan: autograd wrapper over the kernels of
:mod:`.triton_kernels`. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite)."""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from .triton_kernels import selective_scan_bwd, selective_scan_fwd

__all__ = ['SelectiveScanTritonFn', 'selective_scan_triton']


def _contig(t: Optional[Tensor]) -> Optional[Tensor]:
    return None if t is None else t.contiguous()


def _fp32(t: Optional[Tensor]) -> Optional[Tensor]:
    return None if t is None else t.float().contiguous()


class SelectiveScanTritonFn(torch.autograd.Function):
    """Forward and backward Triton kernels; B and C must be 4-D."""

    @staticmethod
    def forward(ctx, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                delta_bias: Optional[Tensor], delta_softplus: bool,
                return_last_state: bool, reverse: bool = False):
        u, delta, B, C, z = map(_contig, (u, delta, B, C, z))
        A32, D32, bias32 = _fp32(A), _fp32(D), _fp32(delta_bias)
        need_grad = any(ctx.needs_input_grad[:8])
        out, last, states, config = selective_scan_fwd(
            u, delta, A32, B, C, D32, z, bias32, delta_softplus, need_grad,
            reverse=reverse)
        if need_grad:
            ctx.save_for_backward(u, delta, A32, B, C, D32, z, bias32, states)
            ctx.block_l = config.block_l
            ctx.delta_softplus = delta_softplus
            ctx.reverse = reverse
            ctx.dtypes = tuple(None if t is None else t.dtype
                               for t in (A, D, delta_bias))
        if return_last_state:
            ctx.mark_non_differentiable(last)
            return out, last
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor, *unused):
        u, delta, A, B, C, D, z, bias, states = ctx.saved_tensors
        du, ddelta, dA, dB, dC, dD, dz, dbias = selective_scan_bwd(
            u, delta, A, B, C, D, z, bias, ctx.delta_softplus, states,
            ctx.block_l, grad_out.contiguous(), reverse=ctx.reverse)
        a_dtype, d_dtype, bias_dtype = ctx.dtypes
        return (du, ddelta, dA.to(a_dtype), dB.to(B.dtype), dC.to(C.dtype),
                None if dD is None else dD.to(d_dtype), dz,
                None if dbias is None else dbias.to(bias_dtype), None, None,
                None)


def selective_scan_triton(
        u: Tensor,
        delta: Tensor,
        A: Tensor,
        B: Tensor,
        C: Tensor,
        D: Optional[Tensor] = None,
        z: Optional[Tensor] = None,
        delta_bias: Optional[Tensor] = None,
        delta_softplus: bool = False,
        return_last_state: bool = False,
        reverse: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Triton selective scan; same contract as
    :func:`mmmamba.ops.selective_scan`.

    Args:
        u, delta, z: (batch, dim, L), fp32/fp16/bf16.
        A: (dim, N); D, delta_bias: (dim,).
        B, C: (batch, G, N, L) or (batch, N, L).

        reverse: scan from position L-1 down to 0 by index arithmetic (no
            flipped copies); ``out`` stays in input order.

    Returns:
        out (batch, dim, L) in ``u.dtype``; with ``return_last_state`` also
        last_state (batch, dim, N) fp32 (no gradient).
    """
    if B.dim() == 3:
        B = B.unsqueeze(1)
    if C.dim() == 3:
        C = C.unsqueeze(1)
    return SelectiveScanTritonFn.apply(u, delta, A, B, C, D, z, delta_bias,
                                       delta_softplus, return_last_state,
                                       reverse)
