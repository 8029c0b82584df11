# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of add + RMSNorm: autograd wrappers over the kernels of
:mod:`.triton_kernels`. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite).

Two wrappers over the same two launchers: the autograd Function
:class:`AddRMSNormTritonFn` (eager calls) and, while ``torch.compile``
traces, the custom ops ``mmmamba::add_rms_norm_triton_fwd`` / ``_bwd`` with
shape functions and a registered backward (one opaque node each, no graph
break; see :func:`mmmamba.ops._utils.use_custom_ops`). An eager call with
nothing to differentiate (and no ``torch.jit`` trace, which records the
Function as one node) runs the forward launcher without the Function: its
~20 µs per call mattered where Vim inference is bound by the host.

When there is no residual and the new residual needs no cast (``x`` fp32
with ``residual_in_fp32``, or ``residual_in_fp32=False``), the new residual
is ``x`` itself, as in the reference: the kernels store no copy and the
gradient that reaches it flows to ``x`` through autograd.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .._utils import (custom_op, grad_needed, register_autograd,
                      register_fake, use_custom_ops)
from .reference import residual_dtype as _residual_dtype
from .triton_kernels import add_rms_norm_bwd, add_rms_norm_fwd

__all__ = ['AddRMSNormTritonFn', 'add_rms_norm_triton']


def _second_dtype(x_dtype: torch.dtype,
                  res_dtype: Optional[torch.dtype]) -> Optional[torch.dtype]:
    """dtype in which the backward writes d(residual) separately, or None
    when there is no residual or d(residual) is dx (same dtype)."""
    return None if res_dtype in (None, x_dtype) else res_dtype


class AddRMSNormTritonFn(torch.autograd.Function):
    """Forward and backward kernels. Returns ``y`` alone when
    ``residual_dtype`` is None (no new residual stored), else ``(y,
    new_residual)``."""

    @staticmethod
    def forward(ctx, x: Tensor, residual: Optional[Tensor], weight: Tensor,
                eps: float, residual_dtype: Optional[torch.dtype],
                out_dtype: Optional[torch.dtype] = None):
        y, res_out = add_rms_norm_fwd(x, residual, weight, eps,
                                      residual_dtype, out_dtype=out_dtype)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x if res_out is None else res_out, weight)
        ctx.eps = eps
        ctx.x_dtype = x.dtype
        ctx.res_dtype = None if residual is None else residual.dtype
        if res_out is None:
            return y
        return y, res_out

    @staticmethod
    def backward(ctx, dy: Optional[Tensor], *rest: Optional[Tensor]):
        dres_out = rest[0] if rest else None
        if dy is None and dres_out is None:
            return None, None, None, None, None, None
        r, weight = ctx.saved_tensors
        need_x, need_res, need_w = ctx.needs_input_grad[:3]
        second = _second_dtype(ctx.x_dtype, ctx.res_dtype) if need_res \
            else None
        dx, dres, dw = add_rms_norm_bwd(
            dy, dres_out, r, weight, ctx.eps, ctx.x_dtype, second,
            compute_dw=need_w)
        if need_res and dres is None:
            dres = dx  # r = residual + x: one gradient, one dtype
        return (dx if need_x else None, dres if need_res else None, dw, None,
                None, None)


# ---------------------------------------------------------------------------
# Custom ops for torch.compile
# ---------------------------------------------------------------------------
# A custom op may not return None nor alias an input or another output:
# absent tensors are empty fp32 placeholders, and the wrappers put back the
# new residual that is ``x`` and the d(residual) that is dx.


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0, dtype=torch.float32)


@custom_op('mmmamba::add_rms_norm_triton_fwd')
def _triton_fwd_op(x: Tensor, residual: Optional[Tensor], weight: Tensor,
                   eps: float, residual_dtype: Optional[torch.dtype],
                   out_dtype: Optional[torch.dtype]
                   ) -> Tuple[Tensor, Tensor]:
    """The forward kernel (arguments as :func:`add_rms_norm_fwd`).

    Returns:
        y (shape of ``x``, ``out_dtype`` or x's, contiguous); the new
        residual (shape of ``x``, ``residual_dtype``, contiguous) or, with
        ``residual_dtype`` None, an empty fp32 tensor.
    """
    y, res_out = add_rms_norm_fwd(x, residual, weight, eps, residual_dtype,
                                  out_dtype=out_dtype)
    return y, _placeholder(x) if res_out is None else res_out


@register_fake(_triton_fwd_op)
def _triton_fwd_fake(x: Tensor, residual: Optional[Tensor], weight: Tensor,
                     eps: float, residual_dtype: Optional[torch.dtype],
                     out_dtype: Optional[torch.dtype]
                     ) -> Tuple[Tensor, Tensor]:
    y = torch.empty(x.shape, dtype=out_dtype or x.dtype, device=x.device)
    if residual_dtype is None:
        return y, _placeholder(x)
    return y, torch.empty(x.shape, dtype=residual_dtype, device=x.device)


@custom_op('mmmamba::add_rms_norm_triton_bwd')
def _triton_bwd_op(dy: Optional[Tensor], dres_out: Optional[Tensor],
                   r: Tensor, weight: Tensor, eps: float,
                   x_dtype: torch.dtype,
                   residual_dtype: Optional[torch.dtype],
                   compute_dw: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """The backward kernel (arguments as :func:`add_rms_norm_bwd`).

    Returns:
        dx (shape of ``r``, ``x_dtype``); d(residual) in ``residual_dtype``
        (None: an empty fp32 tensor); d(weight) in ``weight.dtype`` (an
        empty fp32 tensor when not computed).
    """
    dx, dres, dw = add_rms_norm_bwd(dy, dres_out, r, weight, eps, x_dtype,
                                    residual_dtype, compute_dw)
    return (dx, _placeholder(r) if dres is None else dres,
            _placeholder(r) if dw is None else dw)


@register_fake(_triton_bwd_op)
def _triton_bwd_fake(dy: Optional[Tensor], dres_out: Optional[Tensor],
                     r: Tensor, weight: Tensor, eps: float,
                     x_dtype: torch.dtype,
                     residual_dtype: Optional[torch.dtype],
                     compute_dw: bool) -> Tuple[Tensor, Tensor, Tensor]:
    dx = torch.empty(r.shape, dtype=x_dtype, device=r.device)
    dres = _placeholder(r) if residual_dtype is None else torch.empty(
        r.shape, dtype=residual_dtype, device=r.device)
    dw = torch.empty(weight.shape, dtype=weight.dtype, device=r.device) \
        if compute_dw and dy is not None else _placeholder(r)
    return dx, dres, dw


def _triton_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    x, residual, weight, eps, residual_dtype, _ = inputs
    stored = residual_dtype is not None
    ctx.save_for_backward(output[1] if stored else x, weight)
    ctx.eps = eps
    ctx.stored = stored
    ctx.x_dtype = x.dtype
    ctx.res_dtype = None if residual is None else residual.dtype
    if not stored:
        ctx.mark_non_differentiable(output[1])


def _triton_op_backward(ctx, dy: Optional[Tensor],
                        dres_out: Optional[Tensor]) -> tuple:
    if not ctx.stored:
        dres_out = None  # the placeholder's (empty or absent) gradient
    if dy is None and dres_out is None:
        return None, None, None, None, None, None
    r, weight = ctx.saved_tensors
    need_x, need_res, need_w = ctx.needs_input_grad[:3]
    second = _second_dtype(ctx.x_dtype, ctx.res_dtype) if need_res else None
    dx, dres, dw = _triton_bwd_op(dy, dres_out, r, weight, ctx.eps,
                                  ctx.x_dtype, second, need_w)
    if second is None:
        dres = dx
    return (dx if need_x else None, dres if need_res else None,
            dw if need_w and dy is not None else None, None, None, None)


register_autograd(_triton_fwd_op, _triton_op_backward,
                  setup_context=_triton_setup_context)


def add_rms_norm_triton(x: Tensor,
                        residual: Optional[Tensor],
                        weight: Tensor,
                        eps: float = 1e-5,
                        residual_in_fp32: bool = True,
                        out_dtype: Optional[torch.dtype] = None
                        ) -> Tuple[Tensor, Tensor]:
    """Triton add + RMSNorm; same contract as
    :func:`mmmamba.ops.add_rms_norm` (x, residual, ``out_dtype``:
    fp16/bf16/fp32, C <= :data:`~.triton_kernels.MAX_COLS`).

    Returns:
        y (contiguous, ``out_dtype`` or x's) and the new residual
        (contiguous; or ``x`` itself when there is no residual and no
        cast).
    """
    rdt = _residual_dtype(x, residual, residual_in_fp32)
    store = residual is not None or rdt != x.dtype
    stored_dtype = rdt if store else None
    if use_custom_ops():
        y, res_out = _triton_fwd_op(x, residual, weight, float(eps),
                                    stored_dtype, out_dtype)
    elif not grad_needed(x, residual, weight) and not torch.jit.is_tracing():
        # nothing to differentiate: the launcher without the Function's
        # host cost (Vim inference at small batch is host-bound)
        y, res_out = add_rms_norm_fwd(x, residual, weight, float(eps),
                                      stored_dtype, out_dtype=out_dtype)
    elif store:
        y, res_out = AddRMSNormTritonFn.apply(x, residual, weight,
                                              float(eps), stored_dtype,
                                              out_dtype)
    else:
        y = AddRMSNormTritonFn.apply(x, residual, weight, float(eps), None,
                                     out_dtype)
    return (y, res_out) if store else (y, x)
