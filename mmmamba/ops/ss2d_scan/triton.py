# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of the fused SS2D scan: autograd wrapper over
:mod:`.triton_kernels`. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite).

Two wrappers over the same two launchers, as for the selective scan
(:mod:`mmmamba.ops.selective_scan.triton`): the autograd Function
:class:`SS2DScanTritonFn` (eager calls) and, while ``torch.compile`` traces,
the custom ops ``mmmamba::ss2d_scan_triton_fwd`` / ``_bwd`` with shape
functions and a registered backward (one opaque node each in the graph, no
graph break; see :func:`mmmamba.ops._utils.use_custom_ops`).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .._utils import (custom_op, grad_needed, register_autograd,
                      register_fake, use_custom_ops)
from .triton_kernels import (NUM_DIRECTIONS, SS2DScanConfig, forward_config,
                             num_state_chunks, ss2d_scan_bwd, ss2d_scan_fwd)

__all__ = ['SS2DScanTritonFn', 'ss2d_scan_triton']


def _contig(t: Optional[Tensor]) -> Optional[Tensor]:
    return None if t is None else t.contiguous()


def _fp32(t: Optional[Tensor]) -> Optional[Tensor]:
    return None if t is None else t.float().contiguous()


class SS2DScanTritonFn(torch.autograd.Function):
    """Forward and backward Triton kernels of :func:`ss2d_scan_triton`."""

    @staticmethod
    def forward(ctx, x: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                C: Tensor, D: Optional[Tensor], delta_bias: Optional[Tensor],
                delta_softplus: bool, need_grad: bool) -> Tensor:
        """``need_grad``: the caller's ``grad_needed`` of the inputs
        (``ctx.needs_input_grad`` follows requires_grad alone, also under
        ``torch.no_grad`` / ``inference_mode``)."""
        batch, dim, height, width = x.shape
        u = x.reshape(batch, dim, height * width).contiguous()
        delta, B, C = delta.contiguous(), B.contiguous(), C.contiguous()
        A32, D32, bias32 = _fp32(A), _fp32(D), _fp32(delta_bias)
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
                None if dbias is None else dbias.to(bias_dtype), None, None)


# ---------------------------------------------------------------------------
# Custom ops for torch.compile
# ---------------------------------------------------------------------------
# The forward op returns the chunk states for the backward; their shape
# (batch, 4, dim, n_chunks, N) depends on the launch configuration (block_l,
# and col_w after the fit check), so the caller resolves the configuration
# (:func:`forward_config`, pure Python on the shapes) and passes all of its
# fields in: the shape function needs block_l and col_w, and the op runs
# exactly that configuration (it checks that the launcher kept it). The
# backward op gets block_l and col_w back and picks its own block_d and
# warps, as the eager backward does. A custom op cannot return None: absent
# tensors are empty fp32 placeholders. ``u`` is x flattened to (batch, dim,
# H*W) outside the op, so the op's output and du have that shape.


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0, dtype=torch.float32)


def _dense(shape: Tuple[int, ...], like: Tensor,
           dtype: Optional[torch.dtype] = None) -> Tensor:
    return torch.empty(
        shape, dtype=like.dtype if dtype is None else dtype,
        device=like.device)


@custom_op('mmmamba::ss2d_scan_triton_fwd')
def _ss2d_fwd_op(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                 D: Optional[Tensor], delta_bias: Optional[Tensor],
                 height: int, width: int, delta_softplus: bool,
                 save_states: bool, block_d: int, block_l: int,
                 num_warps: int, acc_cg: bool,
                 col_w: int) -> Tuple[Tensor, Tensor]:
    """The forward kernel (inputs as :func:`ss2d_scan_fwd`, ``u`` (batch,
    dim, H*W)), run with ``SS2DScanConfig(block_d, block_l, num_warps,
    acc_cg, col_w)`` as :func:`forward_config` resolved it.

    Returns:
        out (batch, dim, L) in ``u.dtype``; states (batch, 4, dim,
        :func:`num_state_chunks`, N) fp32 if ``save_states``, else an empty
        fp32 tensor.
    """
    config = SS2DScanConfig(block_d, block_l, num_warps, acc_cg, col_w)
    out, states, used = ss2d_scan_fwd(
        u.contiguous(), delta.contiguous(), A.contiguous(), B.contiguous(),
        C.contiguous(), _contig(D), _contig(delta_bias), height, width,
        delta_softplus, save_states, config=config)
    if used != config:
        raise RuntimeError(
            f'ss2d_scan (triton custom op): the forward kernel ran with '
            f'{used}, but the shape function assumed {config}; the caller '
            f'must pass forward_config(...)')
    return out, _placeholder(u) if states is None else states


@register_fake(_ss2d_fwd_op)
def _ss2d_fwd_fake(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                   C: Tensor, D: Optional[Tensor],
                   delta_bias: Optional[Tensor], height: int, width: int,
                   delta_softplus: bool, save_states: bool, block_d: int,
                   block_l: int, num_warps: int, acc_cg: bool,
                   col_w: int) -> Tuple[Tensor, Tensor]:
    batch, dim, _ = u.shape
    if save_states:
        states = _dense((batch, NUM_DIRECTIONS, dim,
                         num_state_chunks(height, width, block_l, col_w),
                         B.shape[2]), u, torch.float32)
    else:
        states = _placeholder(u)
    return _dense(u.shape, u), states


@custom_op('mmmamba::ss2d_scan_triton_bwd')
def _ss2d_bwd_op(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], delta_bias: Optional[Tensor],
    states: Tensor, height: int, width: int, delta_softplus: bool,
    block_l: int, col_w: int
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The backward kernel (inputs as :func:`ss2d_scan_bwd`; ``block_l``
    and ``col_w`` those of the forward that saved ``states``).

    Returns:
        du (batch, dim, L) and ddelta in the input dtypes; dA, dB, dC fp32;
        dD and d(delta_bias) fp32, or empty fp32 tensors where the input is
        None.
    """
    fwd_config = SS2DScanConfig(1, block_l, 1, col_w=col_w)
    grads = ss2d_scan_bwd(
        u.contiguous(), delta.contiguous(), A.contiguous(), B.contiguous(),
        C.contiguous(), _contig(D), _contig(delta_bias), height, width,
        delta_softplus, states.contiguous(), fwd_config,
        grad_out.contiguous())
    return tuple(_placeholder(u) if g is None else g for g in grads)


@register_fake(_ss2d_bwd_op)
def _ss2d_bwd_fake(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], delta_bias: Optional[Tensor],
    states: Tensor, height: int, width: int, delta_softplus: bool,
    block_l: int, col_w: int
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    f32 = torch.float32

    def opt(t: Optional[Tensor]) -> Tensor:
        return _placeholder(u) if t is None else _dense(t.shape, t, f32)

    return (_dense(u.shape, u), _dense(delta.shape, delta),
            _dense(A.shape, A, f32), _dense(B.shape, B, f32),
            _dense(C.shape, C, f32), opt(D), opt(delta_bias))


def _ss2d_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    (u, delta, A, B, C, D, delta_bias, height, width, delta_softplus,
     save_states, _, block_l, _, _, col_w) = inputs
    ctx.save_for_backward(u, delta, A, B, C, D, delta_bias, output[1])
    ctx.grid = (height, width)
    ctx.delta_softplus = delta_softplus
    ctx.save_states = save_states
    ctx.block_l = block_l
    ctx.col_w = col_w
    ctx.mark_non_differentiable(output[1])


def _ss2d_op_backward(ctx, grad_out: Tensor, grad_states: Tensor) -> tuple:
    if not ctx.save_states:
        raise RuntimeError(
            'ss2d_scan (triton custom op): backward through a forward that '
            'did not save the chunk states (save_states=False)')
    u, delta, A, B, C, D, delta_bias, states = ctx.saved_tensors
    height, width = ctx.grid
    grads = _ss2d_bwd_op(grad_out, u, delta, A, B, C, D, delta_bias, states,
                         height, width, ctx.delta_softplus, ctx.block_l,
                         ctx.col_w)
    inputs = (u, delta, A, B, C, D, delta_bias)
    return tuple(None if t is None else g.to(t.dtype)
                 for g, t in zip(grads, inputs)) + (None, ) * 9


register_autograd(_ss2d_fwd_op, _ss2d_op_backward,
                  setup_context=_ss2d_setup_context)


def _ss2d_scan_triton_op(x: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                         C: Tensor, D: Optional[Tensor],
                         delta_bias: Optional[Tensor],
                         delta_softplus: bool) -> Tensor:
    """:func:`ss2d_scan_triton` through the custom ops."""
    batch, dim, height, width = x.shape
    save_states = grad_needed(x, delta, A, B, C, D, delta_bias)
    u = x.reshape(batch, dim, height * width).contiguous()
    delta, B, C = delta.contiguous(), B.contiguous(), C.contiguous()
    A32, D32, bias32 = _fp32(A), _fp32(D), _fp32(delta_bias)
    config = forward_config(dim, B.shape[2], height, width)
    out, _ = _ss2d_fwd_op(u, delta, A32, B, C, D32, bias32, height, width,
                          delta_softplus, save_states, config.block_d,
                          config.block_l, config.num_warps, config.acc_cg,
                          config.col_w)
    return out


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
    if use_custom_ops():
        return _ss2d_scan_triton_op(x, delta, A, B, C, D, delta_bias,
                                    delta_softplus)
    return SS2DScanTritonFn.apply(
        x, delta, A, B, C, D, delta_bias, delta_softplus,
        grad_needed(x, delta, A, B, C, D, delta_bias))
