# Copyright (c) mmmamba contributors. All rights reserved.
"""Pure-PyTorch selective scan: the oracle for every other backend.

The recurrence ``h_t = a_t * h_{t-1} + b_t`` (``a = exp(delta * A)``,
``b = delta * u * B``) is evaluated in chunks of :data:`CHUNK` steps: a
sequential pass inside every chunk at once (vectorised over chunks), a short
sequential pass over chunk boundaries for the carried state, and one
correction ``h += cumprod(a) * carry``. Only products of decays appear, never
their inverses, so the result is as stable as the step-by-step loop: no
``exp(-cumsum)`` terms that overflow for long sequences or strong decays.

The backward is written out (:class:`SelectiveScanRefFn`): the adjoint state
obeys the same recurrence run backwards, ``g_t = a_{t+1} g_{t+1} + C_t gy_t``,
which reuses the chunked scan; every input gradient is then element-wise. This
is several times faster on CPU than autograd through a scan, whose graph has
one node per time step.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['selective_scan_ref', 'SelectiveScanRefFn', 'linear_scan']

#: Steps per chunk. Python-level iterations per scan are ``CHUNK + L / CHUNK``;
#: the arithmetic is the same for any value.
CHUNK = 32


def linear_scan(a: Tensor,
                b: Tensor,
                reverse: bool = False,
                chunk: int = CHUNK) -> Tensor:
    """Solve ``h_t = a_t * h_{t-1} + b_t`` (``h_{-1} = 0``) along dim -2.

    With ``reverse=True`` solves ``h_t = a_t * h_{t+1} + b_t``
    (``h_L = 0``) instead.

    Args:
        a, b: (..., L, N), same shape and dtype.
        reverse: scan from the end.
        chunk: steps per chunk.

    Returns:
        h: (..., L, N), a new tensor.
    """
    if reverse:
        return linear_scan(a.flip(-2), b.flip(-2), chunk=chunk).flip(-2)
    *lead, length, n = a.shape
    t_len = max(1, min(chunk, length))
    n_chunks = -(-length // t_len)
    pad = n_chunks * t_len - length
    if pad:
        # Padding at the end with a=1, b=0 leaves every real step unchanged.
        a = F.pad(a, (0, 0, 0, pad), value=1.0)
        b = F.pad(b, (0, 0, 0, pad))
    a = a.reshape(*lead, n_chunks, t_len, n)
    h = b.reshape(*lead, n_chunks, t_len, n).clone()
    # 1. Scan inside every chunk from a zero state, all chunks at once.
    for t in range(1, t_len):
        h[..., t, :].addcmul_(a[..., t, :], h[..., t - 1, :])
    if n_chunks > 1:
        # 2. The state entering each chunk, carried across chunk boundaries.
        decay = torch.cumprod(a, dim=-2)
        chunk_decay = decay[..., -1, :]
        chunk_end = h[..., -1, :]
        carry = torch.zeros_like(chunk_end)
        for c in range(1, n_chunks):
            torch.addcmul(
                chunk_end[..., c - 1, :],
                chunk_decay[..., c - 1, :],
                carry[..., c - 1, :],
                out=carry[..., c, :])
        # 3. Add the decayed carry to every step of its chunk.
        h.addcmul_(decay, carry.unsqueeze(-2))
    h = h.reshape(*lead, n_chunks * t_len, n)
    return h[..., :length, :] if pad else h


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _expand_groups(x: Tensor, dim: int) -> Tensor:
    """(batch, G, N, L) -> (batch, G, 1, L, N), ready to broadcast over the
    ``dim // G`` channels of each group."""
    return x.transpose(-1, -2).unsqueeze(2)


def _reduce_groups(x: Tensor, groups: int) -> Tensor:
    """(batch, dim, L, N) -> (batch, G, N, L), summing the channels of each
    group."""
    batch, dim, length, n = x.shape
    x = x.reshape(batch, groups, dim // groups, length, n).sum(2)
    return x.transpose(-1, -2)


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
        cdt = _compute_dtype(u.dtype)
        batch, dim, length = u.shape
        groups = B.shape[1]
        dt_raw = delta.to(cdt)
        if delta_bias is not None:
            dt_raw = dt_raw + delta_bias.to(cdt)[:, None]
        dt = F.softplus(dt_raw) if delta_softplus else dt_raw
        uf = u.to(cdt)
        Af = A.to(cdt)
        a = torch.exp(dt.unsqueeze(-1) * Af[:, None, :])  # (b, d, L, N)
        b = (dt * uf).reshape(batch, groups, dim // groups, length, 1) \
            * _expand_groups(B.to(cdt), dim)
        b = b.reshape(batch, dim, length, -1)
        h = linear_scan(a, b)
        Cg = _expand_groups(C.to(cdt), dim)
        y = (h.reshape(batch, groups, dim // groups, length, -1) *
             Cg).sum(-1).reshape(batch, dim, length)
        if D is not None:
            y = y + D.to(cdt)[:, None] * uf
        out = y
        if z is not None:
            out = y * F.silu(z.to(cdt))
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, h)
        ctx.delta_softplus = delta_softplus
        out = out.to(u.dtype)
        if return_last_state:
            last = h[:, :, -1, :].clone()
            ctx.mark_non_differentiable(last)
            return out, last
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor, *unused):
        u, delta, A, B, C, D, z, delta_bias, h = ctx.saved_tensors
        cdt = h.dtype
        batch, dim, length = u.shape
        groups = B.shape[1]
        dg = dim // groups
        dt_raw = delta.to(cdt)
        if delta_bias is not None:
            dt_raw = dt_raw + delta_bias.to(cdt)[:, None]
        dt = F.softplus(dt_raw) if ctx.delta_softplus else dt_raw
        uf = u.to(cdt)
        Af = A.to(cdt)
        Bg = _expand_groups(B.to(cdt), dim)
        Cg = _expand_groups(C.to(cdt), dim)
        gout = grad_out.to(cdt)

        grad_z = None
        if z is not None:
            zf = z.to(cdt)
            sig = torch.sigmoid(zf)
            y = (h.reshape(batch, groups, dg, length, -1) *
                 Cg).sum(-1).reshape(batch, dim, length)
            if D is not None:
                y = y + D.to(cdt)[:, None] * uf
            grad_z = gout * y * sig * (1 + zf * (1 - sig))
            gy = gout * zf * sig
        else:
            gy = gout

        # Adjoint state: g_t = a_{t+1} g_{t+1} + C_t gy_t.
        a = torch.exp(dt.unsqueeze(-1) * Af[:, None, :])
        a_next = F.pad(a[:, :, 1:, :], (0, 0, 0, 1))
        c = (gy.reshape(batch, groups, dg, length, 1) * Cg).reshape(
            batch, dim, length, -1)
        g = linear_scan(a_next, c, reverse=True)
        del a, a_next, c

        g5 = g.reshape(batch, groups, dg, length, -1)
        gB_term = (g5 * Bg).sum(-1).reshape(batch, dim, length)  # <g_t, B_t>
        # a_t * h_{t-1} = h_t - b_t, so dL/d(dt*A) = g_t * (h_t - b_t).
        b = ((dt * uf).reshape(batch, groups, dg, length, 1) * Bg).reshape(
            batch, dim, length, -1)
        g_dA = g * (h - b)
        del b
        grad_dt = (g_dA * Af[:, None, :]).sum(-1) + gB_term * uf
        grad_A = (g_dA * dt.unsqueeze(-1)).sum((0, 2))
        grad_u = gB_term * dt
        grad_D = None
        if D is not None:
            grad_u = grad_u + gy * D.to(cdt)[:, None]
            grad_D = (gy * uf).sum((0, 2))
        grad_B = _reduce_groups(g * (dt * uf).unsqueeze(-1), groups)
        grad_C = _reduce_groups(h * gy.unsqueeze(-1), groups)
        if ctx.delta_softplus:
            grad_dt = grad_dt * torch.sigmoid(dt_raw)
        grad_bias = grad_dt.sum((0, 2)) if delta_bias is not None else None

        def cast(g_: Optional[Tensor], ref: Optional[Tensor]):
            return None if g_ is None or ref is None else g_.to(ref.dtype)

        return (cast(grad_u, u), cast(grad_dt, delta), cast(grad_A, A),
                cast(grad_B, B), cast(grad_C, C), cast(grad_D, D),
                cast(grad_z, z), cast(grad_bias, delta_bias), None, None)


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
    return SelectiveScanRefFn.apply(u, delta, A, B, C, D, z, delta_bias,
                                    delta_softplus, return_last_state)
