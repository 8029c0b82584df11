# Copyright (c) mmmamba contributors. All rights reserved.
"""Pure-PyTorch selective scan: the oracle for every other backend.

The recurrence ``h_t = a_t * h_{t-1} + b_t`` (``a = exp(delta * A)``,
``b = delta * u * B``) is evaluated by :func:`chunked_scan_`: a sequential
pass inside every chunk of :data:`CHUNK` steps, all chunks at once, with the
running product of ``a`` beside it; a short pass over chunk boundaries for the
carried state; and one correction ``h += prod(a) * carry``. Only products of
decays appear, never their inverses, so the result is as stable as the
step-by-step loop (no ``exp(-cumsum)`` terms that overflow for long sequences
or strong decays). Python-level iterations per scan: about ``CHUNK + L/CHUNK``
instead of ``L``.

The work runs time-major, ``(L, batch, channels, N)``, so every in-chunk
step touches contiguous memory, and in blocks of channels sized to stay in
cache (:data:`BLOCK_ELEMENTS`).

The backward is written out (:class:`SelectiveScanRefFn`): the adjoint state
obeys the same recurrence run backwards, ``g_t = a_{t+1} g_{t+1} + C_t gy_t``,
which reuses the chunked scan; every input gradient is then element-wise. It
recomputes ``h`` block by block instead of storing it, and is several times
faster on CPU than autograd through a scan, whose graph has one node per step.

Under ``torch.compile`` the same forward and backward run as the custom ops
``mmmamba::selective_scan_ref_fwd`` / ``_bwd``: Dynamo could trace the
Function, but Inductor would then unroll every Python loop of the chunked
scan into the graph (about a minute of CPU compilation for one 40-step
scan, against seconds for the op).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .._utils import (custom_op, register_autograd, register_fake,
                      use_custom_ops)

__all__ = ['selective_scan_ref', 'SelectiveScanRefFn', 'chunked_scan_',
           'gate_sum_']

#: Steps per chunk.
CHUNK = 32
#: About this many (L, batch, channels, N) elements per channel block.
BLOCK_ELEMENTS = 1 << 20


def chunked_scan_(a: Tensor, b: Tensor, reverse: bool = False,
                  chunk: int = CHUNK) -> Tensor:
    """Solve ``h_t = a_t * h_{t-1} + b_t`` (``h_{-1} = 0``) along dim 0, in
    place: ``b`` becomes ``h`` and ``a`` is overwritten (with running
    products inside each chunk).

    With ``reverse=True`` solves ``h_t = a_t * h_{t+1} + b_t``
    (``h_L = 0``) instead.

    Args:
        a, b: (L, ...), same shape and dtype, contiguous.
        reverse: scan from the end.
        chunk: steps per chunk.

    Returns:
        ``b``, now holding h.
    """
    # int(): under torch.jit.trace (FLOP counting) sizes are traced values.
    length = int(a.shape[0])
    t_len = max(1, min(chunk, length))
    n_full, rem = divmod(length, t_len)
    rest = tuple(int(s) for s in a.shape[1:])
    # Chunk views: full chunks stacked (n_full, T, ...), plus a remainder.
    parts = []
    if n_full:
        parts.append((a[:n_full * t_len].view(n_full, t_len, *rest),
                      b[:n_full * t_len].view(n_full, t_len, *rest)))
    if rem:
        parts.append((a[n_full * t_len:].unsqueeze(0),
                      b[n_full * t_len:].unsqueeze(0)))
    # 1. Inside every chunk from a zero state; ``a`` becomes the product of
    #    the decays from the chunk's start (end, if reverse) to each step.
    steps = range(1, t_len) if not reverse else range(t_len - 2, -1, -1)
    for t in steps:
        prev = t - 1 if not reverse else t + 1
        for pa, pb in parts:
            size = pa.shape[1]
            if t >= size or prev >= size:
                continue
            pb[:, t].addcmul_(pa[:, t], pb[:, prev])
            pa[:, t].mul_(pa[:, prev])
    n_chunks = n_full + (1 if rem else 0)
    if n_chunks == 1:
        return b

    # 2. The state entering each chunk, carried across boundaries.
    def chunk_view(x: Tensor, c: int) -> Tensor:
        return x[c * t_len:min((c + 1) * t_len, length)]

    carry = torch.zeros((n_chunks, ) + rest, dtype=b.dtype,
                        device=b.device)
    order = range(1, n_chunks) if not reverse else range(n_chunks - 2, -1, -1)
    for c in order:
        src = c - 1 if not reverse else c + 1
        edge = -1 if not reverse else 0  # the step that hands over the state
        torch.addcmul(chunk_view(b, src)[edge], chunk_view(a, src)[edge],
                      carry[src], out=carry[c])
    # 3. Add the decayed carry to every step of its chunk.
    for (pa, pb), carry_part in zip(
            parts, (carry[:n_full], carry[n_full:]) if n_full else
            (carry, )):
        pb.addcmul_(pa, carry_part.unsqueeze(1))
    return b


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _channel_block(batch: int, dim_per_group: int, length: int,
                   dstate: int) -> int:
    """Channels per block: a divisor of the group size whose (L, batch,
    channels, N) tensors hold about :data:`BLOCK_ELEMENTS` values."""
    want = max(1, BLOCK_ELEMENTS // max(1, batch * length * dstate))
    best = 1
    for cand in range(1, dim_per_group + 1):
        if dim_per_group % cand == 0 and cand <= want:
            best = cand
    return best


class _Prepared:
    """Time-major inputs in the compute dtype, shared by forward/backward."""

    def __init__(self, u, delta, A, B, C, D, delta_bias, softplus):
        cdt = _compute_dtype(u.dtype)
        self.cdt = cdt
        self.batch, self.dim, self.length = (int(s) for s in u.shape)
        self.groups, self.dstate = int(B.shape[1]), int(B.shape[2])
        self.per_group = self.dim // self.groups
        # (L, batch, dim): small tensors, made contiguous time-major once.
        self.u = u.to(cdt).permute(2, 0, 1).contiguous()
        dt_raw = delta.to(cdt).permute(2, 0, 1)
        if delta_bias is not None:
            dt_raw = dt_raw + delta_bias.to(cdt)
        self.dt_raw = dt_raw.contiguous()
        self.dt = F.softplus(self.dt_raw) if softplus else self.dt_raw
        self.A = A.to(cdt)
        # (L, batch, G, N)
        self.B = B.to(cdt).permute(3, 0, 1, 2).contiguous()
        self.C = C.to(cdt).permute(3, 0, 1, 2).contiguous()
        self.D = None if D is None else D.to(cdt)
        self.block = _channel_block(self.batch, self.per_group, self.length,
                                    self.dstate)

    def blocks(self):
        """(channel slice, group index) of every channel block."""
        for d0 in range(0, self.dim, self.block):
            yield slice(d0, d0 + self.block), d0 // self.per_group

    def decay(self, sl: slice, dt: Optional[Tensor] = None) -> Tensor:
        """exp(dt * A): (L, batch, channels, N)."""
        dt = self.dt[:, :, sl] if dt is None else dt
        return torch.exp(dt.unsqueeze(-1) * self.A[sl])

    def drive(self, sl: slice, g: int) -> Tensor:
        """dt * u * B: (L, batch, channels, N)."""
        dtu = self.dt[:, :, sl] * self.u[:, :, sl]
        return dtu.unsqueeze(-1) * self.B[:, :, g:g + 1]

    def states(self, sl: slice, g: int) -> Tensor:
        """h for a channel block: (L, batch, channels, N)."""
        return chunked_scan_(self.decay(sl), self.drive(sl, g))


def _ref_forward(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                 D: Optional[Tensor], z: Optional[Tensor],
                 delta_bias: Optional[Tensor],
                 delta_softplus: bool) -> Tuple[Tensor, Tensor]:
    """The forward of :class:`SelectiveScanRefFn` (B and C 4-D).

    Returns:
        out (batch, dim, L) in ``u.dtype`` (not necessarily contiguous) and
        the last state (batch, dim, N) in the compute dtype.
    """
    p = _Prepared(u, delta, A, B, C, D, delta_bias, delta_softplus)
    y = torch.empty_like(p.u)  # (L, batch, dim)
    last = torch.empty(p.batch, p.dim, p.dstate, dtype=p.cdt, device=u.device)
    for sl, g in p.blocks():
        h = p.states(sl, g)
        torch.sum(h * p.C[:, :, g:g + 1], dim=-1, out=y[:, :, sl])
        last[:, sl] = h[-1]
    if p.D is not None:
        y.addcmul_(p.u, p.D)
    y = y.permute(1, 2, 0)
    if z is not None:
        y = y * F.silu(z.to(p.cdt))
    return y.to(u.dtype), last


def _ref_backward(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], delta_softplus: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Optional[Tensor],
           Optional[Tensor], Optional[Tensor]]:
    """The backward of :class:`SelectiveScanRefFn` (B and C 4-D).

    Returns:
        du, ddelta, dA, dB, dC, dD, dz, d(delta_bias), each in the dtype and
        shape of its input (not necessarily contiguous); None where the
        input is None.
    """
    p = _Prepared(u, delta, A, B, C, D, delta_bias, delta_softplus)
    cdt = p.cdt
    gout = grad_out.to(cdt).permute(2, 0, 1)  # (L, batch, dim)
    if z is not None:
        zt = z.to(cdt).permute(2, 0, 1)
        sig = torch.sigmoid(zt)
        gy = (gout * zt * sig).contiguous()
        y = torch.empty_like(p.u)
    else:
        gy = gout.contiguous()
    # dt one step ahead, for the adjoint decay a_{t+1}; a_L = 0.
    dt_next = torch.zeros_like(p.dt)
    dt_next[:-1] = p.dt[1:]

    grad_dt = torch.empty_like(p.u)
    grad_u = torch.empty_like(p.u)
    grad_A = torch.empty_like(p.A)
    grad_B = torch.zeros_like(p.B)
    grad_C = torch.zeros_like(p.C)
    for sl, g in p.blocks():
        h = p.states(sl, g)
        if z is not None:
            torch.sum(h * p.C[:, :, g:g + 1], dim=-1, out=y[:, :, sl])
        # Adjoint state: g_t = a_{t+1} g_{t+1} + C_t gy_t.
        a_next = p.decay(sl, dt_next[:, :, sl])
        a_next[-1] = 0
        gh = chunked_scan_(a_next,
                           gy[:, :, sl].unsqueeze(-1) * p.C[:, :, g:g + 1],
                           reverse=True)
        del a_next
        grad_C[:, :, g] += (h * gy[:, :, sl].unsqueeze(-1)).sum(2)
        # a_t h_{t-1} = h_t - b_t, so dL/d(dt*A) = g_t (h_t - b_t).
        h.sub_(p.drive(sl, g))
        h.mul_(gh)  # now dL/d(dt*A)
        gB_term = (gh * p.B[:, :, g:g + 1]).sum(-1)  # <g_t, B_t>
        grad_A[sl] = (h * p.dt[:, :, sl].unsqueeze(-1)).sum((0, 1))
        torch.sum(h * p.A[sl], dim=-1, out=grad_dt[:, :, sl])
        grad_dt[:, :, sl].addcmul_(gB_term, p.u[:, :, sl])
        torch.mul(gB_term, p.dt[:, :, sl], out=grad_u[:, :, sl])
        dtu = p.dt[:, :, sl] * p.u[:, :, sl]
        grad_B[:, :, g] += (gh * dtu.unsqueeze(-1)).sum(2)
    grad_z = None
    if z is not None:
        if p.D is not None:
            y.addcmul_(p.u, p.D)
        grad_z = gout * y * sig * (1 + zt * (1 - sig))
    grad_D = None
    if p.D is not None:
        grad_u.addcmul_(gy, p.D)
        grad_D = (gy * p.u).sum((0, 1))
    if delta_softplus:
        grad_dt.mul_(torch.sigmoid(p.dt_raw))
    grad_bias = grad_dt.sum((0, 1)) if delta_bias is not None else None

    def back(t: Optional[Tensor], ref: Optional[Tensor],
             perm: Tuple[int, ...]) -> Optional[Tensor]:
        if t is None or ref is None:
            return None
        return t.permute(*perm).to(ref.dtype) if perm else t.to(ref.dtype)

    return (back(grad_u, u, (1, 2, 0)), back(grad_dt, delta, (1, 2, 0)),
            back(grad_A, A, ()), back(grad_B, B, (1, 2, 3, 0)),
            back(grad_C, C, (1, 2, 3, 0)), back(grad_D, D, ()),
            back(grad_z, z, (1, 2, 0)), back(grad_bias, delta_bias, ()))


class SelectiveScanRefFn(torch.autograd.Function):
    """Chunked selective scan with a hand-written reverse-scan backward.

    Inputs are the normalised ones of :func:`selective_scan_ref`: B and C are
    4-D; ``D`` and ``delta_bias`` may be None.
    """

    @staticmethod
    def forward(ctx, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                delta_bias: Optional[Tensor], delta_softplus: bool,
                return_last_state: bool):
        out, last = _ref_forward(u, delta, A, B, C, D, z, delta_bias,
                                 delta_softplus)
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias)
        ctx.delta_softplus = delta_softplus
        if return_last_state:
            ctx.mark_non_differentiable(last)
            return out, last
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor, *unused):
        u, delta, A, B, C, D, z, delta_bias = ctx.saved_tensors
        return _ref_backward(grad_out, u, delta, A, B, C, D, z, delta_bias,
                             ctx.delta_softplus) + (None, None)


# Custom ops: the same forward and backward as single opaque graph nodes for
# torch.compile (see mmmamba.ops._utils.use_custom_ops). Inductor would
# otherwise unroll the chunked scan's Python loops into a very long graph.
# Absent optional gradients come back as empty tensors (a custom op cannot
# return None), and every output is contiguous, as the shape functions say.


def _placeholder(like: Tensor) -> Tensor:
    return like.new_empty(0)


def _dense(t: Tensor) -> Tensor:
    return torch.empty(t.shape, dtype=t.dtype, device=t.device)


@custom_op('mmmamba::selective_scan_ref_fwd')
def _ref_fwd_op(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                D: Optional[Tensor], z: Optional[Tensor],
                delta_bias: Optional[Tensor],
                delta_softplus: bool) -> Tuple[Tensor, Tensor]:
    """Shapes as :func:`selective_scan_ref` (B and C 4-D); returns out
    (batch, dim, L) contiguous in ``u.dtype`` and the last state (batch,
    dim, N) in the compute dtype."""
    out, last = _ref_forward(u, delta, A, B, C, D, z, delta_bias,
                             delta_softplus)
    return out.contiguous(), last


@register_fake(_ref_fwd_op)
def _ref_fwd_fake(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                  D: Optional[Tensor], z: Optional[Tensor],
                  delta_bias: Optional[Tensor],
                  delta_softplus: bool) -> Tuple[Tensor, Tensor]:
    batch, dim, _ = u.shape
    last = u.new_empty((batch, dim, A.shape[1]),
                       dtype=_compute_dtype(u.dtype))
    return _dense(u), last


@custom_op('mmmamba::selective_scan_ref_bwd')
def _ref_bwd_op(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], delta_softplus: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """du, ddelta, dA, dB, dC, dD, dz, d(delta_bias), contiguous, in their
    inputs' dtypes; an empty tensor where the input is None."""
    grads = _ref_backward(grad_out, u, delta, A, B, C, D, z, delta_bias,
                          delta_softplus)
    return tuple(
        _placeholder(u) if g is None else g.contiguous() for g in grads)


@register_fake(_ref_bwd_op)
def _ref_bwd_fake(
    grad_out: Tensor, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
    delta_bias: Optional[Tensor], delta_softplus: bool
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    return tuple(
        _placeholder(u) if t is None else _dense(t)
        for t in (u, delta, A, B, C, D, z, delta_bias))


def _ref_setup_context(ctx, inputs: tuple, output: tuple) -> None:
    ctx.save_for_backward(*inputs[:8])
    ctx.delta_softplus = inputs[8]
    ctx.mark_non_differentiable(output[1])


def _ref_op_backward(ctx, grad_out: Tensor, grad_last: Tensor) -> tuple:
    saved = ctx.saved_tensors
    grads = _ref_bwd_op(grad_out, *saved, ctx.delta_softplus)
    return tuple(None if t is None else g
                 for g, t in zip(grads, saved)) + (None, )


register_autograd(_ref_fwd_op, _ref_op_backward,
                  setup_context=_ref_setup_context)


def selective_scan_ref(
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
    """Pure-PyTorch selective scan; see :func:`mmmamba.ops.selective_scan`.

    Args:
        u: (batch, dim, L), any float dtype.
        delta: (batch, dim, L).
        A: (dim, N), real.
        B, C: (batch, G, N, L) or (batch, N, L).
        D, delta_bias: (dim,), optional.
        z: (batch, dim, L), optional.

    Returns:
        out (batch, dim, L) in ``u.dtype``; with ``return_last_state`` also
        last_state (batch, dim, N) in fp32 (fp64 for fp64 inputs), without
        gradient.
    """
    if B.dim() == 3:
        B = B.unsqueeze(1)
    if C.dim() == 3:
        C = C.unsqueeze(1)
    if use_custom_ops():
        out, last = _ref_fwd_op(u, delta, A, B, C, D, z, delta_bias,
                                delta_softplus)
        return (out, last) if return_last_state else out
    return SelectiveScanRefFn.apply(u, delta, A, B, C, D, z, delta_bias,
                                    delta_softplus, return_last_state)


def gate_sum_(out: Tensor, y: Tensor, z: Tensor, out_scale: float) -> Tensor:
    """``out = out_scale * (out + y) * silu(z)`` in place, computed in fp32:
    the gated sum of ``selective_scan_into(..., gate_sum=True)`` wherever
    the time-major kernel's epilogue does not compute it (the other
    backends and kernels). Returns ``out``."""
    return out.copy_((out.float() + y.float()) * F.silu(z.float())
                     * out_scale)
