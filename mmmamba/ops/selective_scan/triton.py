# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of the selective scan: autograd wrapper over the kernels of
:mod:`.triton_kernels`. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite).

Two wrappers over the same two launchers: the autograd Function
:class:`SelectiveScanTritonFn` (eager calls) and, while ``torch.compile``
traces, the custom ops ``mmmamba::selective_scan_triton_fwd`` / ``_bwd``
with shape functions and a registered backward (one opaque node each in the
graph, no graph break; see :func:`mmmamba.ops._utils.use_custom_ops`).

Layouts: u, delta, z and grad_out are passed to the kernels as they are
when they have stride 1 along L (contiguous) or along dim (channel-last,
e.g. a transposed (batch, L, dim) tensor or the z half of a (batch, L,
2 dim) one); only a tensor with neither is copied (:func:`scan_layout`).
``out`` is allocated in the layout of u, du / ddelta / dz in those of u /
delta / z (:func:`_like_layout`, which the shape functions use too, so that
compiled graphs see the strides the kernels produce). B and C are made
contiguous (small).
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from .._utils import (custom_op, register_autograd, register_fake,
                      use_custom_ops)
from .triton_kernels import (_like_layout, default_config, scan_layout,
                             selective_scan_bwd, selective_scan_fwd)

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
        u, delta, z = map(scan_layout, (u, delta, z))
        B, C = _contig(B), _contig(C)
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
            ctx.block_l, scan_layout(grad_out), reverse=ctx.reverse)
        a_dtype, d_dtype, bias_dtype = ctx.dtypes
        return (du, ddelta, dA.to(a_dtype), dB.to(B.dtype), dC.to(C.dtype),
                None if dD is None else dD.to(d_dtype), dz,
                None if dbias is None else dbias.to(bias_dtype), None, None,
                None)


# ---------------------------------------------------------------------------
# Custom ops for torch.compile
# ---------------------------------------------------------------------------
# The forward op returns the chunk states for the backward; their shape
# (batch, dim, ceil(L / block_l), N) depends on the forward's chunk length,
# so the caller computes ``block_l`` (:func:`_forward_block_l`, from the
# same configuration the launcher picks) and passes it in: the shape function
# needs it, and the op checks that the launcher used it. A custom op cannot
# return None or a NamedTuple: absent tensors are empty placeholders.


def _forward_block_l(u: Tensor, B: Tensor, save_states: bool) -> int:
    """The chunk length that :func:`selective_scan_fwd` picks with
    ``config=None`` for these inputs (``default_config`` of the forward)."""
    batch, dim, seqlen = u.shape
    n_groups, dstate = B.shape[1], B.shape[2]
    return default_config(
        seqlen,
        dstate,
        dim // n_groups,
        backward=False,
        save_states=save_states,
        n_rows=batch * dim,
        itemsize=u.element_size()).block_l


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0, dtype=torch.float32)


def _dense(shape: Tuple[int, ...], like: Tensor,
           dtype: Optional[torch.dtype] = None) -> Tensor:
    return torch.empty(
        shape, dtype=like.dtype if dtype is None else dtype,
        device=like.device)


@custom_op('mmmamba::selective_scan_triton_fwd')
def _triton_fwd_op(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                   D: Optional[Tensor], z: Optional[Tensor],
                   delta_bias: Optional[Tensor], delta_softplus: bool,
                   save_states: bool, block_l: int,
                   reverse: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """The forward kernel (inputs as :func:`selective_scan_fwd`).

    Args:
        block_l: the chunk length the launcher picks
            (:func:`_forward_block_l`); it fixes the shape of ``states``.

    Returns:
        out (batch, dim, L) in ``u.dtype``, in the layout of u
        (:func:`_like_layout`); last state (batch, dim, N) fp32; states
        (batch, dim, ceil(L / block_l), N) fp32 if ``save_states``, else an
        empty fp32 tensor.
    """
    out, last, states, config = selective_scan_fwd(
        scan_layout(u), scan_layout(delta), A.contiguous(), B.contiguous(),
        C.contiguous(), _contig(D), scan_layout(z), _contig(delta_bias),
        delta_softplus, save_states, reverse=reverse)
    if config.block_l != block_l:
        raise RuntimeError(
            f'selective_scan (triton custom op): the forward kernel ran with '
            f'block_l={config.block_l}, but the shape function assumed '
            f'{block_l}; _forward_block_l must follow selective_scan_fwd')
    return out, last, _placeholder(u) if states is None else states


@register_fake(_triton_fwd_op)
def _triton_fwd_fake(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                     C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                     delta_bias: Optional[Tensor], delta_softplus: bool,
                     save_states: bool, block_l: int,
                     reverse: bool) -> Tuple[Tensor, Tensor, Tensor]:
    batch, dim, seqlen = u.shape
    dstate = B.shape[2]
    last = _dense((batch, dim, dstate), u, torch.float32)
    if save_states:
        n_chunks = (seqlen + block_l - 1) // block_l
        states = _dense((batch, dim, n_chunks, dstate), u, torch.float32)
    else:
        states = _placeholder(u)
    return _like_layout(u), last, states


@custom_op('mmmamba::selective_scan_triton_bwd')
def _triton_bwd_op(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], states: Tensor, delta_softplus: bool,
    block_l: int, reverse: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The backward kernel (inputs as :func:`selective_scan_bwd`).

    Returns:
        du, ddelta (input dtypes and layouts); dA, dB, dC (fp32); dD
        (fp32), dz (dtype and layout of z), d(delta_bias) (fp32), or an
        empty fp32 tensor where the input is None.
    """
    grads = selective_scan_bwd(
        scan_layout(u), scan_layout(delta), A.contiguous(), B.contiguous(),
        C.contiguous(), _contig(D), scan_layout(z), _contig(delta_bias),
        delta_softplus, states.contiguous(), block_l, scan_layout(grad_out),
        reverse=reverse)
    return tuple(_placeholder(u) if g is None else g for g in grads)


@register_fake(_triton_bwd_op)
def _triton_bwd_fake(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], states: Tensor, delta_softplus: bool,
    block_l: int, reverse: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    f32 = torch.float32

    def opt(t: Optional[Tensor], dtype: Optional[torch.dtype]) -> Tensor:
        return _placeholder(u) if t is None else _dense(t.shape, t, dtype)

    return (_like_layout(u), _like_layout(delta), _dense(A.shape, A, f32),
            _dense(B.shape, B, f32), _dense(C.shape, C, f32), opt(D, f32),
            _placeholder(u) if z is None else _like_layout(z),
            opt(delta_bias, f32))


def _triton_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    (u, delta, A, B, C, D, z, delta_bias, delta_softplus, save_states,
     block_l, reverse) = inputs
    ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, output[2])
    ctx.delta_softplus = delta_softplus
    ctx.save_states = save_states
    ctx.block_l = block_l
    ctx.reverse = reverse
    ctx.mark_non_differentiable(output[1], output[2])


def _triton_op_backward(ctx, grad_out: Tensor, grad_last: Tensor,
                        grad_states: Tensor) -> tuple:
    if not ctx.save_states:
        raise RuntimeError(
            'selective_scan (triton custom op): backward through a forward '
            'that did not save the chunk states (save_states=False)')
    u, delta, A, B, C, D, z, delta_bias, states = ctx.saved_tensors
    grads = _triton_bwd_op(grad_out, u, delta, A, B, C, D, z, delta_bias,
                           states, ctx.delta_softplus, ctx.block_l,
                           ctx.reverse)
    inputs = (u, delta, A, B, C, D, z, delta_bias)
    return tuple(None if t is None else g.to(t.dtype)
                 for g, t in zip(grads, inputs)) + (None, ) * 4


register_autograd(_triton_fwd_op, _triton_op_backward,
                  setup_context=_triton_setup_context)


def _selective_scan_triton_op(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], z: Optional[Tensor],
        delta_bias: Optional[Tensor], delta_softplus: bool,
        return_last_state: bool,
        reverse: bool) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """:func:`selective_scan_triton` through the custom ops (B, C 4-D)."""
    save_states = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad
        for t in (u, delta, A, B, C, D, z, delta_bias))
    u, delta, z = map(scan_layout, (u, delta, z))
    B, C = _contig(B), _contig(C)
    A32, D32, bias32 = _fp32(A), _fp32(D), _fp32(delta_bias)
    out, last, _ = _triton_fwd_op(u, delta, A32, B, C, D32, z, bias32,
                                  delta_softplus, save_states,
                                  _forward_block_l(u, B, save_states),
                                  reverse)
    return (out, last) if return_last_state else out


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
        u, delta, z: (batch, dim, L), fp32/fp16/bf16; contiguous or
            channel-last (stride 1 along dim) without a copy.
        A: (dim, N); D, delta_bias: (dim,).
        B, C: (batch, G, N, L) or (batch, N, L).

        reverse: scan from position L-1 down to 0 by index arithmetic (no
            flipped copies); ``out`` stays in input order.

    Returns:
        out (batch, dim, L) in ``u.dtype``, channel-last if u is (module
        docstring); with ``return_last_state`` also last_state
        (batch, dim, N) fp32 (no gradient).
    """
    if B.dim() == 3:
        B = B.unsqueeze(1)
    if C.dim() == 3:
        C = C.unsqueeze(1)
    if use_custom_ops():
        return _selective_scan_triton_op(u, delta, A, B, C, D, z, delta_bias,
                                         delta_softplus, return_last_state,
                                         reverse)
    return SelectiveScanTritonFn.apply(u, delta, A, B, C, D, z, delta_bias,
                                       delta_softplus, return_last_state,
                                       reverse)
