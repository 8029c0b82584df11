# Copyright (c) mmmamba contributors. All rights reserved.
"""Adapter over mamba-ssm's CUDA ``selective_scan_fn``.

Available only when mamba-ssm's compiled extension ``selective_scan_cuda``
imports (``mmmamba.ops.check_backend('mamba_ssm')`` says how to build it).
mamba-ssm takes (batch, dim, L) / (batch, G, N, L) exactly as we do; its last
state comes back in the input dtype, so it is cast to fp32 here to keep one
contract across backends.

Eager calls go through mamba-ssm's own autograd Function. While
``torch.compile`` traces (:func:`mmmamba.ops._utils.use_custom_ops`), the
scan instead runs as the custom ops ``mmmamba::selective_scan_mamba_ssm_fwd``
/ ``_bwd`` over the extension's ``fwd`` / ``bwd`` entry points, with shape
functions and a registered backward, so that Dynamo does not break the graph
at the Function's C++ calls.
"""
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from .._utils import (custom_op, register_autograd, register_fake,
                      use_custom_ops)

__all__ = ['selective_scan_mamba_ssm']

# selective_scan_cuda.fwd / bwd keep their chunk states in
# (batch, dim, ceil(L / _CUDA_CHUNK), 2 * N) fp32; the state after the last
# position is ``x[:, :, -1, 1::2]``.
_CUDA_CHUNK = 2048

# Newer mamba-ssm releases append optional arguments (e.g. ``cu_seqlens``) to
# the extension's fwd / bwd; how many None to append, found on first call.
_EXTRA_NONES = {}


def _call_extension(name: str, *args) -> list:
    """``selective_scan_cuda.<name>(*args)``, with as many trailing None as
    this build's signature wants (pybind rejects a wrong count with a
    TypeError before doing any work)."""
    import selective_scan_cuda
    fn: Callable = getattr(selective_scan_cuda, name)
    if name in _EXTRA_NONES:
        return fn(*args, *([None] * _EXTRA_NONES[name]))
    error = None
    for extra in range(3):
        try:
            res = fn(*args, *([None] * extra))
        except TypeError as err:  # wrong number of arguments
            error = err
            continue
        _EXTRA_NONES[name] = extra
        return res
    raise error


def _contiguous(*tensors: Optional[Tensor]) -> Tuple[Optional[Tensor], ...]:
    """The extension's layout (and the one the shape functions assume)."""
    return tuple(None if t is None else t.contiguous() for t in tensors)


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0, dtype=torch.float32)


def _dense(t: Tensor, dtype: Optional[torch.dtype] = None) -> Tensor:
    return torch.empty(
        t.shape, dtype=t.dtype if dtype is None else dtype, device=t.device)


@custom_op('mmmamba::selective_scan_mamba_ssm_fwd')
def _mamba_fwd_op(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                  D: Optional[Tensor], z: Optional[Tensor],
                  delta_bias: Optional[Tensor],
                  delta_softplus: bool) -> Tuple[Tensor, Tensor, Tensor]:
    """``selective_scan_cuda.fwd`` on contiguous inputs: u, delta, z
    (batch, dim, L); A (dim, N) fp32; B, C (batch, G, N, L) in u's dtype;
    D, delta_bias (dim,) fp32.

    Returns:
        out (batch, dim, L) before the z gate; the chunk states x
        (batch, dim, ceil(L / 2048), 2 * N) fp32; the gated output
        ``out * silu(z)`` (batch, dim, L), or an empty tensor without z.
    """
    u, delta, A, B, C, D, z, delta_bias = _contiguous(u, delta, A, B, C, D,
                                                      z, delta_bias)
    res = _call_extension('fwd', u, delta, A, B, C, D, z, delta_bias,
                          delta_softplus)
    out_z = res[2] if z is not None else _placeholder(u)
    return res[0], res[1], out_z


@register_fake(_mamba_fwd_op)
def _mamba_fwd_fake(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                    delta_bias: Optional[Tensor],
                    delta_softplus: bool) -> Tuple[Tensor, Tensor, Tensor]:
    batch, dim, seqlen = u.shape
    n_chunks = (seqlen + _CUDA_CHUNK - 1) // _CUDA_CHUNK
    x = u.new_empty((batch, dim, n_chunks, 2 * A.shape[1]), dtype=A.dtype)
    out_z = _dense(z) if z is not None else _placeholder(u)
    return _dense(delta), x, out_z


@custom_op('mmmamba::selective_scan_mamba_ssm_bwd')
def _mamba_bwd_op(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], x: Tensor, out: Tensor,
    delta_softplus: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``selective_scan_cuda.bwd``: du, ddelta, dA, dB, dC, dD, dz,
    d(delta_bias) in their inputs' dtypes (an empty tensor where the input
    is None). ``out`` is the forward's ungated output (read only with z)."""
    u, delta, A, B, C, D, z, delta_bias, x, out = _contiguous(
        u, delta, A, B, C, D, z, delta_bias, x, out)
    res = _call_extension('bwd', u, delta, A, B, C, D, z, delta_bias,
                          grad_out.contiguous(), x,
                          out if z is not None else None, None,
                          delta_softplus, False)
    du, ddelta, dA, dB, dC, dD, dbias = res[:7]
    dz = res[7] if z is not None else None
    return tuple(
        _placeholder(u) if g is None else g
        for g in (du, ddelta, dA, dB, dC, dD, dz, dbias))


@register_fake(_mamba_bwd_op)
def _mamba_bwd_fake(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], x: Tensor, out: Tensor,
    delta_softplus: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    return tuple(
        _placeholder(u) if t is None else _dense(t)
        for t in (u, delta, A, B, C, D, z, delta_bias))


def _mamba_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    u, delta, A, B, C, D, z, delta_bias, delta_softplus = inputs
    out, x, out_z = output
    ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, x, out)
    ctx.delta_softplus = delta_softplus
    ctx.has_z = z is not None
    # the differentiable output is out_z with a gate, out without
    ctx.mark_non_differentiable(x, out if ctx.has_z else out_z)


def _mamba_op_backward(ctx, grad_out: Tensor, grad_x: Tensor,
                       grad_out_z: Tensor) -> tuple:
    u, delta, A, B, C, D, z, delta_bias, x, out = ctx.saved_tensors
    grads = _mamba_bwd_op(grad_out_z if ctx.has_z else grad_out, u, delta, A,
                          B, C, D, z, delta_bias, x, out, ctx.delta_softplus)
    inputs = (u, delta, A, B, C, D, z, delta_bias)
    return tuple(None if t is None else g
                 for g, t in zip(grads, inputs)) + (None, )


register_autograd(_mamba_fwd_op, _mamba_op_backward,
                  setup_context=_mamba_setup_context)


def _selective_scan_mamba_ssm_op(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], z: Optional[Tensor],
        delta_bias: Optional[Tensor], delta_softplus: bool,
        return_last_state: bool) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """:func:`selective_scan_mamba_ssm` through the custom ops."""
    if B.dim() == 3:
        B = B.unsqueeze(1)
    if C.dim() == 3:
        C = C.unsqueeze(1)
    out, x, out_z = _mamba_fwd_op(
        u.contiguous(), delta.contiguous(),
        A.float().contiguous(), B.contiguous(), C.contiguous(),
        None if D is None else D.float().contiguous(),
        None if z is None else z.contiguous(),
        None if delta_bias is None else delta_bias.float().contiguous(),
        delta_softplus)
    if z is not None:
        out = out_z
    if return_last_state:
        return out, x[:, :, -1, 1::2].float()
    return out


def selective_scan_mamba_ssm(
        u: Tensor,
        delta: Tensor,
        A: Tensor,
        B: Tensor,
        C: Tensor,
        D: Optional[Tensor] = None,
        z: Optional[Tensor] = None,
        delta_bias: Optional[Tensor] = None,
        delta_softplus: bool = False,
        return_last_state: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """mamba-ssm's CUDA selective scan; same contract as
    :func:`mmmamba.ops.selective_scan` (CUDA tensors only)."""
    if use_custom_ops():
        return _selective_scan_mamba_ssm_op(u, delta, A, B, C, D, z,
                                            delta_bias, delta_softplus,
                                            return_last_state)
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    if D is not None:
        D = D.float()
    if delta_bias is not None:
        delta_bias = delta_bias.float()
    res = selective_scan_fn(
        u.contiguous(),
        delta.contiguous(),
        A.float().contiguous(),
        B.contiguous(),
        C.contiguous(),
        D=D,
        z=None if z is None else z.contiguous(),
        delta_bias=delta_bias,
        delta_softplus=delta_softplus,
        return_last_state=return_last_state)
    if return_last_state:
        out, last = res
        return out, last.float()
    return res
