# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj`:
forward only. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite). While
``torch.compile`` traces it is the custom op
``mmmamba::conv1d_silu_proj_triton_fwd`` (one opaque node, no graph
break); eager calls run the launcher directly (a custom op's dispatch adds
host time, and Vim inference at small batches is host-bound).
"""
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from .._utils import custom_op, grad_needed, register_fake, use_custom_ops
from ..causal_conv1d.triton import _unit_channel_stride
from .triton_kernels import (ConvProjBidirLaunch, ConvProjLaunch,
                             DirectionWeights, conv_proj_fwd)

__all__ = [
    'conv1d_silu_proj_triton', 'conv1d_silu_proj_triton_launcher',
    'conv1d_silu_proj_bidir_triton_launcher'
]

Outputs = Tuple[Tensor, Tensor, Tensor, Tensor]


def _launch(x: Tensor, weight: Tensor, bias: Optional[Tensor],
            x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
            d_state: int, reverse: bool, delta_bias: Optional[Tensor],
            delta_softplus: bool, bc_fp32: bool) -> Outputs:
    return conv_proj_fwd(_unit_channel_stride(x), weight, bias,
                         x_proj_weight, dt_proj_weight, dt_rank, d_state,
                         reverse, delta_bias=delta_bias,
                         delta_softplus=delta_softplus, bc_fp32=bc_fp32)


@custom_op('mmmamba::conv1d_silu_proj_triton_fwd')
def _fwd_op(x: Tensor, weight: Tensor, bias: Optional[Tensor],
            x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
            d_state: int, reverse: bool, delta_bias: Optional[Tensor],
            delta_softplus: bool, bc_fp32: bool) -> Outputs:
    """:func:`_launch` as an op for ``torch.compile``: B and C as their
    contiguous (B, L, N) tensors (an op's outputs must have its fake's
    strides; the caller takes the (B, N, L) views)."""
    return _launch(x, weight, bias, x_proj_weight, dt_proj_weight, dt_rank,
                   d_state, reverse, delta_bias, delta_softplus, bc_fp32)


@register_fake(_fwd_op)
def _fwd_fake(x: Tensor, weight: Tensor, bias: Optional[Tensor],
              x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
              d_state: int, reverse: bool, delta_bias: Optional[Tensor],
              delta_softplus: bool, bc_fp32: bool) -> Outputs:
    batch, seqlen, dim = x.shape
    bc_dtype = torch.float32 if bc_fp32 else x.dtype
    return (x.new_empty((batch, seqlen, dim)),
            x.new_empty((batch, seqlen, dim)),
            x.new_empty((batch, seqlen, d_state), dtype=bc_dtype),
            x.new_empty((batch, seqlen, d_state), dtype=bc_dtype))


def _check_no_grad(*tensors: Optional[Tensor]) -> None:
    if grad_needed(*tensors):
        raise RuntimeError(
            'conv1d_silu_proj (triton) is forward-only: it has no backward. '
            'Call it under torch.no_grad()/inference_mode(), or use '
            "backend='reference' (differentiable) for training")


def conv1d_silu_proj_triton(x: Tensor, weight: Tensor,
                            bias: Optional[Tensor], x_proj_weight: Tensor,
                            dt_proj_weight: Tensor, dt_rank: int,
                            d_state: int, reverse: bool,
                            delta_bias: Optional[Tensor] = None,
                            delta_softplus: bool = False,
                            bc_fp32: bool = False) -> Outputs:
    """The Triton op (weight (E, K)); contract of
    :func:`mmmamba.ops.conv_proj.conv1d_silu_proj`.

    Raises:
        RuntimeError: an input requires grad while grad mode is on (the
            kernel has no backward).
    """
    _check_no_grad(x, weight, bias, x_proj_weight, dt_proj_weight,
                   delta_bias)
    fwd = _fwd_op if use_custom_ops() else _launch
    u, delta, Bm, Cm = fwd(x, weight, bias, x_proj_weight, dt_proj_weight,
                           dt_rank, d_state, reverse, delta_bias,
                           delta_softplus, bc_fp32)
    return u, delta, Bm.transpose(1, 2), Cm.transpose(1, 2)


def conv1d_silu_proj_triton_launcher(
        x: Tensor, weight: Tensor, bias: Optional[Tensor],
        x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
        d_state: int, reverse: bool, delta_bias: Optional[Tensor] = None,
        delta_softplus: bool = False, bc_fp32: bool = False,
        dt_low: bool = False) -> Callable[..., Outputs]:
    """The launcher of :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj_launcher`
    (weight (E, K), arguments checked by the caller).

    Raises:
        RuntimeError: as :func:`conv1d_silu_proj_triton`.
    """
    _check_no_grad(x, weight, bias, x_proj_weight, dt_proj_weight,
                   delta_bias)
    kernel = ConvProjLaunch(x, weight, bias, x_proj_weight, dt_proj_weight,
                            dt_rank, d_state, reverse, delta_bias=delta_bias,
                            delta_softplus=bool(delta_softplus),
                            bc_fp32=bool(bc_fp32), dt_low=bool(dt_low))

    def launch(x: Tensor, weight: Tensor, bias: Optional[Tensor],
               x_proj_weight: Tensor, dt_proj_weight: Tensor,
               delta_bias: Optional[Tensor] = None,
               outs: Optional[Tuple[Tensor, ...]] = None) -> Outputs:
        u, delta, Bm, Cm = kernel(x, weight, bias, x_proj_weight,
                                  dt_proj_weight, delta_bias, outs)
        return u, delta, Bm.transpose(1, 2), Cm.transpose(1, 2)

    return launch


def conv1d_silu_proj_bidir_triton_launcher(
        x: Tensor, fwd: DirectionWeights, bwd: DirectionWeights,
        dt_rank: int, d_state: int,
        delta_biases: Tuple[Optional[Tensor], Optional[Tensor]] = (None,
                                                                   None),
        delta_softplus: bool = False, bc_fp32: bool = False,
        dt_low: bool = False) -> Callable[..., Outputs]:
    """The launcher of
    :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj_bidir_launcher`
    (weights (E, K), arguments checked by the caller).

    Raises:
        RuntimeError: as :func:`conv1d_silu_proj_triton`.
    """
    _check_no_grad(x, *fwd, *bwd, *delta_biases)
    return ConvProjBidirLaunch(x, fwd, bwd, dt_rank, d_state,
                               delta_biases=delta_biases,
                               delta_softplus=bool(delta_softplus),
                               bc_fp32=bool(bc_fp32), dt_low=bool(dt_low))
