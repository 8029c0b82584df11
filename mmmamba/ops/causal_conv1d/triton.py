# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of :func:`~mmmamba.ops.causal_conv1d.bidir_conv1d_silu`:
autograd wrappers over the kernels of :mod:`.triton_kernels`. Runs on CUDA
tensors, or on CPU tensors in Triton's interpreter (``TRITON_INTERPRET=1``,
used by the CPU test-suite).

Two wrappers over the same two launchers, as the selective scan has: the
autograd Function :class:`BidirConv1dSiluTritonFn` (eager calls) and,
while ``torch.compile`` traces, the custom ops
``mmmamba::bidir_conv1d_silu_triton_fwd`` / ``_bwd`` with shape functions
and a registered backward (one opaque node each in the graph, no graph
break; see :func:`mmmamba.ops._utils.use_custom_ops`).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .._utils import (custom_op, grad_needed, register_autograd,
                      register_fake, use_custom_ops)
from .triton_kernels import bidir_conv1d_bwd, bidir_conv1d_fwd

__all__ = [
    'BidirConv1dSiluTritonFn', 'bidir_conv1d_silu_triton',
    'conv1d_silu_triton'
]

Grads = Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor],
              Optional[Tensor], Optional[Tensor]]


def _to(g: Optional[Tensor], like: Optional[Tensor]) -> Optional[Tensor]:
    """``g`` (fp32) in the dtype of the input it is the gradient of."""
    return None if g is None or like is None else g.to(like.dtype)


def _unit_channel_stride(x: Tensor) -> Tensor:
    return x if x.stride(2) == 1 or x.shape[2] == 1 else x.contiguous()


def _grads(ctx, grad_f: Optional[Tensor], grad_b: Optional[Tensor],
           x: Tensor, weight_f: Tensor, bias_f: Optional[Tensor],
           weight_b: Tensor, bias_b: Optional[Tensor]) -> Grads:
    """Run the backward kernel for the inputs that need a gradient."""
    need = ctx.needs_input_grad
    if grad_f is None:  # an output that did not reach the loss
        grad_f = torch.zeros_like(x)
    if grad_b is None:
        grad_b = torch.zeros_like(x)
    dx, dwf, dbf, dwb, dbb = bidir_conv1d_bwd(
        grad_f, grad_b, x, weight_f, bias_f, weight_b, bias_b,
        need_dx=need[0], need_dw=any(need[1:5]))
    return (dx, _to(dwf, weight_f), _to(dbf, bias_f), _to(dwb, weight_b),
            _to(dbb, bias_b))


class BidirConv1dSiluTritonFn(torch.autograd.Function):
    """Forward and backward Triton kernels; weights (E, K)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight_f: Tensor, bias_f: Optional[Tensor],
                weight_b: Tensor,
                bias_b: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        x = _unit_channel_stride(x)
        u_f, u_b = bidir_conv1d_fwd(x, weight_f, bias_f, weight_b, bias_b)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(x, weight_f, bias_f, weight_b, bias_b)
        return u_f, u_b

    @staticmethod
    @once_differentiable  # the kernels are opaque: no double backward
    def backward(ctx, grad_f: Tensor, grad_b: Tensor) -> Grads:
        return _grads(ctx, grad_f, grad_b, *ctx.saved_tensors)


# ---------------------------------------------------------------------------
# Custom ops for torch.compile
# ---------------------------------------------------------------------------
# A custom op cannot return None: absent gradients are empty fp32
# placeholders.


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0, dtype=torch.float32)


@custom_op('mmmamba::bidir_conv1d_silu_triton_fwd')
def _triton_fwd_op(x: Tensor, weight_f: Tensor, bias_f: Optional[Tensor],
                   weight_b: Tensor,
                   bias_b: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """The forward kernel (inputs as :func:`bidir_conv1d_fwd`).

    Returns:
        u_f, u_b: (B, L, E) contiguous in ``x.dtype``.
    """
    return bidir_conv1d_fwd(
        _unit_channel_stride(x), weight_f, bias_f, weight_b, bias_b)


@register_fake(_triton_fwd_op)
def _triton_fwd_fake(x: Tensor, weight_f: Tensor, bias_f: Optional[Tensor],
                     weight_b: Tensor,
                     bias_b: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    return x.new_empty(x.shape), x.new_empty(x.shape)


@custom_op('mmmamba::bidir_conv1d_silu_triton_bwd')
def _triton_bwd_op(grad_f: Tensor, grad_b: Tensor, x: Tensor,
                   weight_f: Tensor, bias_f: Optional[Tensor],
                   weight_b: Tensor, bias_b: Optional[Tensor], need_dx: bool,
                   need_dw: bool
                   ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The backward kernel (inputs as :func:`bidir_conv1d_bwd`).

    Returns:
        dx (B, L, E) contiguous in ``x.dtype``; dweight_f, dbias_f,
        dweight_b, dbias_b fp32, (E, K) and (E,); an empty fp32 tensor for
        each gradient not asked for (or of an absent bias).
    """
    grads = bidir_conv1d_bwd(grad_f, grad_b, _unit_channel_stride(x),
                             weight_f, bias_f, weight_b, bias_b, need_dx,
                             need_dw)
    return tuple(_placeholder(x) if g is None else g for g in grads)


@register_fake(_triton_bwd_op)
def _triton_bwd_fake(grad_f: Tensor, grad_b: Tensor, x: Tensor,
                     weight_f: Tensor, bias_f: Optional[Tensor],
                     weight_b: Tensor, bias_b: Optional[Tensor],
                     need_dx: bool, need_dw: bool
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    f32 = torch.float32

    def grad(t: Optional[Tensor], wanted: bool) -> Tensor:
        if t is None or not wanted:
            return _placeholder(x)
        return t.new_empty(t.shape, dtype=f32)

    return (x.new_empty(x.shape) if need_dx else _placeholder(x),
            grad(weight_f, need_dw), grad(bias_f, need_dw),
            grad(weight_b, need_dw), grad(bias_b, need_dw))


def _triton_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    ctx.save_for_backward(*inputs)


def _triton_op_backward(ctx, grad_f: Optional[Tensor],
                        grad_b: Optional[Tensor]) -> Grads:
    x, weight_f, bias_f, weight_b, bias_b = ctx.saved_tensors
    need = ctx.needs_input_grad
    if grad_f is None:
        grad_f = torch.zeros_like(x)
    if grad_b is None:
        grad_b = torch.zeros_like(x)
    need_dx, need_dw = need[0], any(need[1:5])
    dx, dwf, dbf, dwb, dbb = _triton_bwd_op(grad_f, grad_b, x, weight_f,
                                            bias_f, weight_b, bias_b,
                                            need_dx, need_dw)
    return (dx if need_dx else None,
            _to(dwf if need_dw else None, weight_f),
            _to(dbf if need_dw else None, bias_f),
            _to(dwb if need_dw else None, weight_b),
            _to(dbb if need_dw else None, bias_b))


register_autograd(_triton_fwd_op, _triton_op_backward,
                  setup_context=_triton_setup_context)


def bidir_conv1d_silu_triton(x: Tensor, weight_f: Tensor,
                             bias_f: Optional[Tensor], weight_b: Tensor,
                             bias_b: Optional[Tensor]
                             ) -> Tuple[Tensor, Tensor]:
    """Triton bidirectional conv1d + SiLU; same contract as
    :func:`mmmamba.ops.causal_conv1d.bidir_conv1d_silu` (weights (E, K)).

    Returns:
        u_f, u_b: (B, L, E) contiguous in ``x.dtype``.
    """
    if use_custom_ops():
        return _triton_fwd_op(x, weight_f, bias_f, weight_b, bias_b)
    return BidirConv1dSiluTritonFn.apply(x, weight_f, bias_f, weight_b,
                                         bias_b)


# ---------------------------------------------------------------------------
# One direction, forward only (inference)
# ---------------------------------------------------------------------------


def _one_direction(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                   reverse: bool) -> Tensor:
    """The forward kernel with one direction compiled in.

    Returns:
        u: (B, L, E) contiguous in ``x.dtype``.
    """
    x = _unit_channel_stride(x)
    if reverse:
        return bidir_conv1d_fwd(x, weight, None, weight, bias,
                                directions='backward')[1]
    return bidir_conv1d_fwd(x, weight, bias, weight, None,
                            directions='forward')[0]


@custom_op('mmmamba::conv1d_silu_triton_fwd')
def _one_direction_op(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                      reverse: bool) -> Tensor:
    """:func:`_one_direction` as an op for ``torch.compile``."""
    return _one_direction(x, weight, bias, reverse)


@register_fake(_one_direction_op)
def _one_direction_fake(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                        reverse: bool) -> Tensor:
    return x.new_empty(x.shape)


def conv1d_silu_triton(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                       reverse: bool) -> Tensor:
    """One direction of :func:`bidir_conv1d_silu_triton` (weights (E, K)),
    forward only: the same kernel and arithmetic, the other direction
    compiled out. Registered as the custom op
    ``mmmamba::conv1d_silu_triton_fwd`` (no autograd formula).

    Raises:
        RuntimeError: an input requires grad while grad mode is on.
    """
    if grad_needed(x, weight, bias):
        raise RuntimeError(
            'conv1d_silu (triton) is forward-only: it has no backward. Call '
            'it under torch.no_grad()/inference_mode(), or use '
            'bidir_conv1d_silu (which has one) for training')
    if use_custom_ops():
        return _one_direction_op(x, weight, bias, reverse)
    # eager: the launcher itself, as the autograd Functions of the other
    # ops run it (a custom op's dispatch adds host time, and inference at
    # small batches is host-bound: NOTES.md)
    return _one_direction(x, weight, bias, reverse)
