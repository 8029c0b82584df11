# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of the channel LayerNorm of (B, C, H, W) maps: autograd
wrappers over the kernels of :mod:`.triton_kernels`. Runs on CUDA tensors,
or on CPU tensors in Triton's interpreter (``TRITON_INTERPRET=1``, used by
the CPU test-suite).

Two wrappers over the same two launchers, as in
:mod:`mmmamba.ops.rms_norm.triton`: the autograd Function
:class:`LayerNorm2dTritonFn` (eager calls) and, while ``torch.compile``
traces, the custom ops ``mmmamba::layer_norm_2d_triton_fwd`` / ``_bwd``
with shape functions and a registered backward (one opaque node each, no
graph break). An eager call with nothing to differentiate runs the forward
launcher without the Function.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .._utils import (custom_op, grad_needed, register_autograd,
                      register_fake, use_custom_ops)
from .triton_kernels import (channels_last_empty, empty_grad_like,
                             layer_norm_2d_bwd, layer_norm_2d_fwd)

__all__ = ['LayerNorm2dTritonFn', 'layer_norm_2d_triton']


def _affine_grads(dw: Optional[Tensor], db: Optional[Tensor],
                  bias: Optional[Tensor], need_w: bool,
                  need_b: bool) -> Tuple[Optional[Tensor], ...]:
    """The affine gradients in their parameters' dtypes (dw comes in its
    own; None where not asked for)."""
    return (dw if need_w else None,
            db.to(bias.dtype) if need_b and db is not None else None)


class LayerNorm2dTritonFn(torch.autograd.Function):
    """Forward and backward kernels; saves ``x`` and ``weight``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Optional[Tensor],
                bias: Optional[Tensor], eps: float,
                out_dtype: torch.dtype) -> Tensor:
        y = layer_norm_2d_fwd(x, weight, bias, eps, out_dtype)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, weight, bias)
        ctx.eps = eps
        return y

    @staticmethod
    def backward(ctx, dy: Optional[Tensor]):
        if dy is None:
            return None, None, None, None, None
        x, weight, bias = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx, dw, db = layer_norm_2d_bwd(dy, x, weight, ctx.eps,
                                       compute_dw=need_w, compute_db=need_b)
        dw, db = _affine_grads(dw, db, bias, need_w, need_b)
        return dx if need_x else None, dw, db, None, None


# ---------------------------------------------------------------------------
# Custom ops for torch.compile
# ---------------------------------------------------------------------------
# A custom op may not return None: absent gradients are empty fp32
# placeholders.


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0, dtype=torch.float32)


@custom_op('mmmamba::layer_norm_2d_triton_fwd')
def _triton_fwd_op(x: Tensor, weight: Optional[Tensor],
                   bias: Optional[Tensor], eps: float,
                   out_dtype: torch.dtype) -> Tensor:
    """The forward kernel (arguments as :func:`layer_norm_2d_fwd`)."""
    return layer_norm_2d_fwd(x, weight, bias, eps, out_dtype)


@register_fake(_triton_fwd_op)
def _triton_fwd_fake(x: Tensor, weight: Optional[Tensor],
                     bias: Optional[Tensor], eps: float,
                     out_dtype: torch.dtype) -> Tensor:
    return channels_last_empty(x.shape, out_dtype, x.device)


@custom_op('mmmamba::layer_norm_2d_triton_bwd')
def _triton_bwd_op(dy: Tensor, x: Tensor, weight: Optional[Tensor],
                   eps: float, compute_dw: bool,
                   compute_db: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """The backward kernel (arguments as :func:`layer_norm_2d_bwd`).

    Returns:
        dx (shape and memory format of ``x``); d(weight) in ``weight``'s
        dtype and d(bias) in fp32, each an empty fp32 tensor when not
        computed.
    """
    dx, dw, db = layer_norm_2d_bwd(dy, x, weight, eps, compute_dw,
                                   compute_db)
    return (dx, _placeholder(x) if dw is None else dw,
            _placeholder(x) if db is None else db)


@register_fake(_triton_bwd_op)
def _triton_bwd_fake(dy: Tensor, x: Tensor, weight: Optional[Tensor],
                     eps: float, compute_dw: bool,
                     compute_db: bool) -> Tuple[Tensor, Tensor, Tensor]:
    dw = torch.empty_like(weight) if compute_dw and weight is not None \
        else _placeholder(x)
    db = x.new_empty(x.shape[1], dtype=torch.float32) if compute_db \
        else _placeholder(x)
    return empty_grad_like(x), dw, db


def _triton_setup_context(ctx, inputs: tuple, output: Tensor) -> None:
    x, weight, bias, eps, _ = inputs
    ctx.save_for_backward(x, weight, bias)
    ctx.eps = eps


def _triton_op_backward(ctx, dy: Optional[Tensor]) -> tuple:
    if dy is None:
        return None, None, None, None, None
    x, weight, bias = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    need_w = need_w and weight is not None
    need_b = need_b and bias is not None
    dx, dw, db = _triton_bwd_op(dy, x, weight, ctx.eps, need_w, need_b)
    dw, db = _affine_grads(dw, db, bias, need_w, need_b)
    return dx if need_x else None, dw, db, None, None


register_autograd(_triton_fwd_op, _triton_op_backward,
                  setup_context=_triton_setup_context)


def layer_norm_2d_triton(x: Tensor, weight: Optional[Tensor],
                         bias: Optional[Tensor], eps: float,
                         out_dtype: torch.dtype) -> Tensor:
    """Triton channel LayerNorm; the contract of
    :func:`mmmamba.ops.layer_norm2d.layer_norm_2d` with the output dtype
    resolved (x and ``out_dtype``: fp16/bf16/fp32, C <=
    :data:`~.triton_kernels.MAX_CHANNELS`)."""
    if use_custom_ops():
        return _triton_fwd_op(x, weight, bias, eps, out_dtype)
    if not grad_needed(x, weight, bias) and not torch.jit.is_tracing():
        return layer_norm_2d_fwd(x, weight, bias, eps, out_dtype)
    return LayerNorm2dTritonFn.apply(x, weight, bias, eps, out_dtype)
