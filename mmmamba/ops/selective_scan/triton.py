# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton backend of the selective scan: autograd wrapper over the kernels of
:mod:`.triton_kernels`. Runs on CUDA tensors, or on CPU tensors in Triton's
interpreter (``TRITON_INTERPRET=1``, used by the CPU test-suite).

Two wrappers over the same two launchers: the autograd Function
:class:`SelectiveScanTritonFn` (eager calls) and, while ``torch.compile``
traces, the custom ops ``mmmamba::selective_scan_triton_fwd`` / ``_bwd``
with shape functions and a registered backward (one opaque node each in the
graph, no graph break; see :func:`mmmamba.ops._utils.use_custom_ops`). The
bidirectional scan (:func:`bidir_selective_scan_triton`) has the same pair:
:class:`BidirSelectiveScanTritonFn` and ``mmmamba::bidir_selective_scan_
triton_fwd`` / ``_bwd``.

Layouts: u, delta, z and grad_out are passed to the kernels as they are
when they have stride 1 along L (contiguous) or along dim (channel-last,
e.g. a transposed (batch, L, dim) tensor or the z half of a (batch, L,
2 dim) one); only a tensor with neither is copied (:func:`scan_layout`).
``out`` is allocated in the layout of u, du / ddelta / dz in those of u /
delta / z (:func:`_like_layout`, which the shape functions use too, so that
compiled graphs see the strides the kernels produce). B and C are passed
as they are: the forward launcher reads contiguous (batch, G, N, L) ones
and transposed views of contiguous (batch, G, L, N) ones (the layout of
the x projection's output) in place and copies anything else; the
backward launcher copies the latter to (batch, G, N, L) (small). The
tensors saved for the backward are the caller's.
"""
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from .._utils import (custom_op, grad_needed, register_autograd,
                      register_fake, use_custom_ops)
from .triton_kernels import (TmajorFwdLaunch, _like_layout, fwd_config,
                             scan_layout, selective_scan_bwd,
                             selective_scan_fwd)

__all__ = [
    'SelectiveScanTritonFn', 'selective_scan_triton',
    'BidirSelectiveScanTritonFn', 'bidir_selective_scan_triton',
    'SelectiveScanIntoTritonFn', 'selective_scan_into_triton',
    'selective_scan_into_triton_launcher'
]


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
                return_last_state: bool, reverse: bool, need_grad: bool):
        """``need_grad``: the caller's :func:`grad_needed` of the inputs.
        ``ctx.needs_input_grad`` cannot tell: it follows requires_grad
        alone, also under ``torch.no_grad`` / ``inference_mode``, and
        grad mode is off inside ``forward``."""
        u, delta, z = map(scan_layout, (u, delta, z))
        A32, D32, bias32 = _fp32(A), _fp32(D), _fp32(delta_bias)
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
                None, None)


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
    return fwd_config(u, B, save_states).block_l


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
        scan_layout(u), scan_layout(delta), A.contiguous(), B, C,
        _contig(D), scan_layout(z), _contig(delta_bias), delta_softplus,
        save_states, reverse=reverse)
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
    save_states = grad_needed(u, delta, A, B, C, D, z, delta_bias)
    u, delta, z = map(scan_layout, (u, delta, z))
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
    return SelectiveScanTritonFn.apply(
        u, delta, A, B, C, D, z, delta_bias, delta_softplus,
        return_last_state, reverse,
        grad_needed(u, delta, A, B, C, D, z, delta_bias))


# ---------------------------------------------------------------------------
# Bidirectional scan with the fused sum
# ---------------------------------------------------------------------------
# out = out_scale * (scan(u_f, ..., z) + scan(u_b, ..., z, reverse=True)):
# the forward-direction kernel writes out_scale * y_f into ``out``, the
# reverse-direction kernel adds out_scale * y_b to it in its epilogue
# (ACCUMULATE); the backward reads out_scale * grad_out in both kernels and
# the second adds its dz to the first's (ACCUMULATE_DZ). One output tensor,
# one dz, no separate add / scale / copy pass. Arguments are ordered
# (u, delta, A, B, C, D, delta_bias) per direction, then z.

_DIR_ARGS = 7  # tensors per direction


def _bidir_prepare(args: tuple) -> tuple:
    """The 15 tensors as the launchers take them: u, delta, z in a layout
    the kernels read (:func:`scan_layout`), B, C 4-D in their layout (module
    docstring), A, D, delta_bias fp32 contiguous."""
    prepared = []
    for i in range(2):
        u, delta, A, B, C, D, bias = args[i * _DIR_ARGS:(i + 1) * _DIR_ARGS]
        B = B.unsqueeze(1) if B.dim() == 3 else B
        C = C.unsqueeze(1) if C.dim() == 3 else C
        prepared += [scan_layout(u), scan_layout(delta), _fp32(A), B, C,
                     _fp32(D), _fp32(bias)]
    return tuple(prepared) + (scan_layout(args[2 * _DIR_ARGS]), )


def _bidir_fwd(args: tuple, delta_softplus: bool, out_scale: float,
               save_states: bool) -> Tuple[Tensor, Optional[Tensor],
                                           Optional[Tensor], int, int]:
    """Both forward kernels on prepared tensors: (out, states_f, states_b,
    block_l_f, block_l_b)."""
    f, b, z = args[:_DIR_ARGS], args[_DIR_ARGS:2 * _DIR_ARGS], args[-1]

    def call(d, **kw):
        u, delta, A, B, C, D, bias = d
        return selective_scan_fwd(u, delta, A, B, C, D, z, bias,
                                  delta_softplus, save_states,
                                  out_scale=out_scale, **kw)

    out, _, states_f, config_f = call(f)
    _, _, states_b, config_b = call(b, reverse=True, out=out)
    return out, states_f, states_b, config_f.block_l, config_b.block_l


def _bidir_bwd(args: tuple, states_f: Tensor, states_b: Tensor,
               block_l_f: int, block_l_b: int, grad_out: Tensor,
               delta_softplus: bool, out_scale: float) -> tuple:
    """Both backward kernels: the 7 gradients of each direction
    (du, ddelta, dA, dB, dC, dD, d(delta_bias); fp32 for the last five,
    None where the input is None), then dz (None without z)."""
    f, b, z = args[:_DIR_ARGS], args[_DIR_ARGS:2 * _DIR_ARGS], args[-1]
    grad_out = scan_layout(grad_out)

    def call(d, states, block_l, **kw):
        u, delta, A, B, C, D, bias = d
        return selective_scan_bwd(u, delta, A, B, C, D, z, bias,
                                  delta_softplus, states, block_l, grad_out,
                                  grad_scale=out_scale, **kw)

    du, ddt, dA, dB, dC, dD, dz, dbias = call(f, states_f, block_l_f)
    grads_f = (du, ddt, dA, dB, dC, dD, dbias)
    du, ddt, dA, dB, dC, dD, dz, dbias = call(b, states_b, block_l_b,
                                              reverse=True, dz=dz)
    return grads_f + (du, ddt, dA, dB, dC, dD, dbias, dz)


def _specs(tensors: tuple) -> tuple:
    """(dtype, ndim) of each tensor (None for None), for :func:`_cast_grads`
    without keeping the inputs alive."""
    return tuple(None if t is None else (t.dtype, t.dim()) for t in tensors)


def _cast_grads(grads: tuple, specs: tuple) -> tuple:
    """Gradients in the dtypes (and B/C in the 3-D shapes) of the inputs
    described by :func:`_specs`; None where the input was None."""
    out = []
    for g, spec in zip(grads, specs):
        if spec is None:
            out.append(None)
            continue
        dtype, ndim = spec
        if g.dim() == 4 and ndim == 3:  # B, C given as (batch, N, L)
            g = g.squeeze(1)
        out.append(g.to(dtype))
    return tuple(out)


class BidirSelectiveScanTritonFn(torch.autograd.Function):
    """``out_scale * (scan_f + scan_b)`` with the sum fused into the
    kernels (see :func:`bidir_selective_scan_triton`)."""

    @staticmethod
    def forward(ctx, *args):
        """``args``: the 15 tensors, delta_softplus, out_scale and the
        caller's :func:`grad_needed` of the tensors (as
        :class:`SelectiveScanTritonFn`'s ``need_grad``)."""
        tensors, (delta_softplus, out_scale, need_grad) = (args[:-3],
                                                           args[-3:])
        prepared = _bidir_prepare(tensors)
        out, states_f, states_b, block_l_f, block_l_b = _bidir_fwd(
            prepared, delta_softplus, out_scale, need_grad)
        if need_grad:
            ctx.save_for_backward(*prepared, states_f, states_b)
            ctx.meta = (block_l_f, block_l_b, delta_softplus, out_scale)
            ctx.specs = _specs(tensors)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        saved = ctx.saved_tensors
        prepared, (states_f, states_b) = saved[:-2], saved[-2:]
        block_l_f, block_l_b, delta_softplus, out_scale = ctx.meta
        grads = _bidir_bwd(prepared, states_f, states_b, block_l_f,
                           block_l_b, grad_out, delta_softplus, out_scale)
        return _cast_grads(grads, ctx.specs) + (None, None, None)


@custom_op('mmmamba::bidir_selective_scan_triton_fwd')
def _bidir_fwd_op(
        u_f: Tensor, delta_f: Tensor, A_f: Tensor, B_f: Tensor, C_f: Tensor,
        D_f: Optional[Tensor], delta_bias_f: Optional[Tensor], u_b: Tensor,
        delta_b: Tensor, A_b: Tensor, B_b: Tensor, C_b: Tensor,
        D_b: Optional[Tensor], delta_bias_b: Optional[Tensor],
        z: Optional[Tensor], delta_softplus: bool, out_scale: float,
        save_states: bool, block_l_f: int,
        block_l_b: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Both forward kernels on tensors prepared by
    :func:`_bidir_prepare` (B, C 4-D).

    Returns:
        out (batch, dim, L) in the dtype and layout of ``u_f``; the chunk
        states of each direction (as :func:`_triton_fwd_op`'s).
    """
    args = _bidir_prepare(
        (u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b, delta_b, A_b,
         B_b, C_b, D_b, delta_bias_b, z))
    out, states_f, states_b, got_f, got_b = _bidir_fwd(
        args, delta_softplus, out_scale, save_states)
    if (got_f, got_b) != (block_l_f, block_l_b):
        raise RuntimeError(
            f'bidir_selective_scan (triton custom op): the kernels ran with '
            f'block_l={got_f, got_b}, the shape function assumed '
            f'{block_l_f, block_l_b}')
    return (out, _placeholder(u_f) if states_f is None else states_f,
            _placeholder(u_f) if states_b is None else states_b)


def _states_fake(u: Tensor, B: Tensor, save_states: bool,
                 block_l: int) -> Tensor:
    if not save_states:
        return _placeholder(u)
    batch, dim, seqlen = u.shape
    n_chunks = (seqlen + block_l - 1) // block_l
    return _dense((batch, dim, n_chunks, B.shape[2]), u, torch.float32)


@register_fake(_bidir_fwd_op)
def _bidir_fwd_fake(u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b,
                    delta_b, A_b, B_b, C_b, D_b, delta_bias_b, z,
                    delta_softplus, out_scale, save_states, block_l_f,
                    block_l_b):
    return (_like_layout(u_f),
            _states_fake(u_f, B_f, save_states, block_l_f),
            _states_fake(u_b, B_b, save_states, block_l_b))


@custom_op('mmmamba::bidir_selective_scan_triton_bwd')
def _bidir_bwd_op(
    grad_out: Tensor, u_f: Tensor, delta_f: Tensor, A_f: Tensor,
    B_f: Tensor, C_f: Tensor, D_f: Optional[Tensor],
    delta_bias_f: Optional[Tensor], u_b: Tensor, delta_b: Tensor,
    A_b: Tensor, B_b: Tensor, C_b: Tensor, D_b: Optional[Tensor],
    delta_bias_b: Optional[Tensor], z: Optional[Tensor], states_f: Tensor,
    states_b: Tensor, delta_softplus: bool, out_scale: float,
    block_l_f: int, block_l_b: int
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
           Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Both backward kernels: du, ddelta (dtypes and layouts of the
    inputs), dA, dB, dC, dD, d(delta_bias) (fp32) per direction, then dz
    (dtype and layout of z); an empty fp32 tensor where the input is None.
    """
    args = _bidir_prepare(
        (u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b, delta_b, A_b,
         B_b, C_b, D_b, delta_bias_b, z))
    grads = _bidir_bwd(args, states_f.contiguous(), states_b.contiguous(),
                       block_l_f, block_l_b, grad_out, delta_softplus,
                       out_scale)
    return tuple(_placeholder(u_f) if g is None else g for g in grads)


@register_fake(_bidir_bwd_op)
def _bidir_bwd_fake(grad_out, u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f,
                    u_b, delta_b, A_b, B_b, C_b, D_b, delta_bias_b, z,
                    states_f, states_b, delta_softplus, out_scale, block_l_f,
                    block_l_b):
    f32 = torch.float32

    def opt(t: Optional[Tensor]) -> Tensor:
        return _placeholder(u_f) if t is None else _dense(t.shape, t, f32)

    grads = ()
    for u, delta, A, B, C, D, bias in ((u_f, delta_f, A_f, B_f, C_f, D_f,
                                        delta_bias_f),
                                       (u_b, delta_b, A_b, B_b, C_b, D_b,
                                        delta_bias_b)):
        grads += (_like_layout(u), _like_layout(delta), _dense(A.shape, A,
                                                               f32),
                  _dense(B.shape, B, f32), _dense(C.shape, C, f32), opt(D),
                  opt(bias))
    return grads + (_placeholder(u_f) if z is None else _like_layout(z), )


def _bidir_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    tensors = inputs[:2 * _DIR_ARGS + 1]
    (delta_softplus, out_scale, save_states, block_l_f,
     block_l_b) = inputs[2 * _DIR_ARGS + 1:]
    ctx.save_for_backward(*tensors, output[1], output[2])
    ctx.meta = (delta_softplus, out_scale, save_states, block_l_f, block_l_b)
    ctx.mark_non_differentiable(output[1], output[2])


def _bidir_op_backward(ctx, grad_out: Tensor, grad_states_f: Tensor,
                       grad_states_b: Tensor) -> tuple:
    delta_softplus, out_scale, save_states, block_l_f, block_l_b = ctx.meta
    if not save_states:
        raise RuntimeError(
            'bidir_selective_scan (triton custom op): backward through a '
            'forward that did not save the chunk states')
    saved = ctx.saved_tensors
    tensors, states_f, states_b = saved[:-2], saved[-2], saved[-1]
    grads = _bidir_bwd_op(grad_out, *tensors, states_f, states_b,
                          delta_softplus, out_scale, block_l_f, block_l_b)
    return _cast_grads(grads, _specs(tensors)) + (None, ) * 5


register_autograd(_bidir_fwd_op, _bidir_op_backward,
                  setup_context=_bidir_setup_context)


def bidir_selective_scan_triton(
        u_f: Tensor, delta_f: Tensor, A_f: Tensor, B_f: Tensor, C_f: Tensor,
        D_f: Optional[Tensor], delta_bias_f: Optional[Tensor], u_b: Tensor,
        delta_b: Tensor, A_b: Tensor, B_b: Tensor, C_b: Tensor,
        D_b: Optional[Tensor], delta_bias_b: Optional[Tensor],
        z: Optional[Tensor], delta_softplus: bool = True,
        out_scale: float = 0.5) -> Tensor:
    """``out_scale * (scan(u_f, ...) + scan(u_b, ..., reverse=True))``, both
    gated by ``z``, on the Triton kernels with the sum fused (no separate
    add, scale or copy; see the comment above :data:`_DIR_ARGS`).

    Shapes and layouts as :func:`selective_scan_triton` (B, C 3-D or 4-D
    per direction). ``out`` is in the dtype and layout of ``u_f``.
    """
    args = (u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b, delta_b,
            A_b, B_b, C_b, D_b, delta_bias_b, z)
    out_scale = float(out_scale)
    if use_custom_ops():
        save_states = grad_needed(*args)
        # 4-D B, C here: the ops' gradients then have the inputs' shapes
        args = tuple(
            t.unsqueeze(1) if i % _DIR_ARGS in (3, 4) and i < 2 * _DIR_ARGS
            and t.dim() == 3 else t for i, t in enumerate(args))
        out, _, _ = _bidir_fwd_op(
            *args, delta_softplus, out_scale, save_states,
            _forward_block_l(u_f, args[3], save_states),
            _forward_block_l(u_b, args[_DIR_ARGS + 3], save_states))
        return out
    return BidirSelectiveScanTritonFn.apply(*args, delta_softplus, out_scale,
                                            grad_needed(*args))


# ---------------------------------------------------------------------------
# Forward only, into a given output (inference)
# ---------------------------------------------------------------------------
# out (=|+=) out_scale * scan(...): the forward kernel writes or adds into the
# caller's tensor (ACCUMULATE), as the bidirectional forward does for its
# second direction, so a caller can run the two directions one after the
# other and free each direction's inputs in between. No states are saved
# and there is no backward; eager calls run the launcher directly, except
# under torch.jit tracing (FLOP counting reads the Function's node).


def _into(out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
          C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
          delta_bias: Optional[Tensor], delta_softplus: bool, reverse: bool,
          out_scale: float, accumulate: bool, gate_sum: bool) -> None:
    B = B.unsqueeze(1) if B.dim() == 3 else B
    C = C.unsqueeze(1) if C.dim() == 3 else C
    selective_scan_fwd(  # B, C as given: the launcher copies if it must
        scan_layout(u), scan_layout(delta), _fp32(A), B, C, _fp32(D),
        scan_layout(z), _fp32(delta_bias),
        delta_softplus, False, reverse=reverse, out=out,
        out_scale=out_scale, accumulate=accumulate, gate_sum=gate_sum)


class SelectiveScanIntoTritonFn(torch.autograd.Function):
    """The forward kernel into a given ``out`` (forward only). Arguments
    ``(u, delta, A, B, C, D, z, delta_bias, out, delta_softplus, reverse,
    out_scale, accumulate, gate_sum)``: the first eight at the positions of
    :class:`SelectiveScanTritonFn`'s, which FLOP counting reads."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, out,
                delta_softplus, reverse, out_scale, accumulate, gate_sum):
        _into(out, u, delta, A, B, C, D, z, delta_bias, delta_softplus,
              reverse, out_scale, accumulate, gate_sum)
        ctx.mark_dirty(out)
        return out

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError('selective_scan_into has no backward')


@custom_op('mmmamba::selective_scan_triton_fwd_into', mutates_args=('out', ))
def _into_op(out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
             C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
             delta_bias: Optional[Tensor], delta_softplus: bool,
             reverse: bool, out_scale: float, accumulate: bool,
             gate_sum: bool) -> None:
    """:func:`_into` as an op that mutates ``out``."""
    _into(out, u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse,
          out_scale, accumulate, gate_sum)


def selective_scan_into_triton(out: Tensor, u: Tensor, delta: Tensor,
                               A: Tensor, B: Tensor, C: Tensor,
                               D: Optional[Tensor], z: Optional[Tensor],
                               delta_bias: Optional[Tensor],
                               delta_softplus: bool, reverse: bool,
                               out_scale: float,
                               accumulate: bool,
                               gate_sum: bool = False) -> Tensor:
    """``out = out_scale * scan(...)`` (or ``+=`` with ``accumulate``) on
    the Triton forward kernel; same inputs as :func:`selective_scan_triton`
    (u, delta, z without a copy when contiguous or channel-last; B, C
    when contiguous or transposed views of contiguous (batch, L, N) ones,
    as :func:`~mmmamba.ops.conv1d_silu_proj` returns them), ``out``
    (batch, dim, L) any strides and float dtype; ``gate_sum`` as
    :func:`~mmmamba.ops.selective_scan_into`. Forward only (the caller
    checks that no gradient is needed). Returns ``out``."""
    out_scale = float(out_scale)
    if use_custom_ops():
        _into_op(out, u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                 reverse, out_scale, accumulate, gate_sum)
        return out
    if torch.jit.is_tracing():  # FLOP counting reads the Function's node
        return SelectiveScanIntoTritonFn.apply(
            u, delta, A, B, C, D, z, delta_bias, out, delta_softplus,
            reverse, out_scale, accumulate, gate_sum)
    # no autograd node to record (no gradient, checked by the caller):
    # the launcher itself, without the Function's host cost
    _into(out, u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse,
          out_scale, accumulate, gate_sum)
    return out


def _fp32_contiguous(t: Optional[Tensor]) -> bool:
    return t is None or (t.dtype == torch.float32 and t.is_contiguous())


def selective_scan_into_triton_launcher(
        out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
        C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
        delta_bias: Optional[Tensor], delta_softplus: bool, reverse: bool,
        out_scale: float, accumulate: bool,
        gate_sum: bool) -> Optional[Callable[..., Tensor]]:
    """The launcher of
    :func:`~mmmamba.ops.selective_scan.selective_scan_into_launcher`
    (arguments checked by the caller): :func:`_into`'s launches, or None
    where a call would convert an input or take another kernel."""
    if any(t is not None and scan_layout(t) is not t for t in (u, delta, z)):
        return None
    if not all(_fp32_contiguous(t) for t in (A, D, delta_bias)):
        return None
    B4 = B.unsqueeze(1) if B.dim() == 3 else B
    C4 = C.unsqueeze(1) if C.dim() == 3 else C
    config = fwd_config(u, B4, False)
    if config.steps or not config.block_t:
        return None
    kernels = TmajorFwdLaunch(u, delta, A, B4, C4, D, z, delta_bias,
                              delta_softplus, False, config, reverse, out,
                              out_scale, accumulate, gate_sum)

    def launch(out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
               C: Tensor, D: Optional[Tensor] = None,
               z: Optional[Tensor] = None,
               delta_bias: Optional[Tensor] = None) -> Tensor:
        kernels(u, delta, A, B, C, D, z, delta_bias, out)
        return out

    return launch
