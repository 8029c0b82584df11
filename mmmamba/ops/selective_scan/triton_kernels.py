# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernels of the selective scan and their launchers (no autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily, when
the ``'triton'`` backend is asked for.

Work split: one program owns ``BLOCK_D`` channels of one batch element (all in
one B/C group, so the B and C tiles are loaded once for all of them) and walks
the sequence in chunks of ``BLOCK_L`` steps; the batch index varies fastest
over program ids. Inside a chunk the recurrence
``h_t = a_t h_{t-1} + b_t`` is a ``tl.associative_scan`` over
``(BLOCK_D, BLOCK_N, BLOCK_L)`` register tiles (time fastest: coalesced loads,
scan across a warp's lanes); the state crossing chunks stays in registers.
Every input is read once and ``y`` written once in the forward; with
``prefetch`` the loads of chunk c+1 are issued before the math of chunk c.
Launch parameters come from :func:`default_config` (sweeps on an H100, see
``benchmarks/NOTES.md``).

The backward walks the chunks from the end. It recomputes ``h`` from the state
saved at each chunk start (``states``, (batch, dim, n_chunks, N) fp32, written
by the forward), runs the adjoint recurrence ``g_t = a_{t+1} g_{t+1} +
C_t gy_t`` as a reverse associative scan, and forms every gradient in
registers. dB and dC are sums over the channels of a group: each program
reduces its ``BLOCK_D`` channels and adds the result into fp32 buffers with
*relaxed* atomics (Triton's default acq_rel ordering made these adds half of
the backward's time; addition needs no ordering); dA, dD and d(delta_bias)
are accumulated over the whole sequence in registers and added once per
program.
"""
import math
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

__all__ = [
    'selective_scan_fwd', 'selective_scan_bwd', 'ScanConfig', 'default_config'
]

LOG2E = math.log2(math.e)


@triton.jit
def _combine(a1, b1, a2, b2):
    # (a1, b1) is the earlier segment, (a2, b2) the later one:
    # h = a2 * (a1 * h0 + b1) + b2.
    return a1 * a2, b1 * a2 + b2


@triton.jit
def _softplus(x):
    # Same threshold as torch.nn.functional.softplus (beta=1, threshold=20).
    return tl.where(x > 20.0, x,
                    tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x))))


@triton.jit
def _program_rows(pid, dim, n_batch, BLOCK_D: tl.constexpr):
    """(batch index, first channel) of a program. The batch index varies
    fastest, so programs running at the same time touch different batch
    elements (and different dB/dC addresses in the backward)."""
    bidx = pid % n_batch
    d0 = (pid // n_batch) * BLOCK_D
    return bidx, d0


@triton.jit
def _seq_pos(offs_l, seqlen, REVERSE: tl.constexpr):
    """Memory position of scan step ``offs_l``: the scan over the reversed
    sequence reads (and writes) index L-1-t instead of a flipped copy."""
    if REVERSE:
        return seqlen - 1 - offs_l
    return offs_l


@triton.jit
def _load_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, row, bc_base, offs_d, offs_n,
                offs_t, mask_n, dim, seqlen, c, BLOCK_L: tl.constexpr,
                REVERSE: tl.constexpr):
    """u, delta (BLOCK_D, BLOCK_L) and B, C (BLOCK_N, BLOCK_L) of chunk
    ``c`` (in scan order) as fp32; zeros past the end of the sequence."""
    offs_l = c * BLOCK_L + offs_t
    mask_l = offs_l < seqlen
    pos = _seq_pos(offs_l, seqlen, REVERSE)
    ptr_dl = row[:, None] + pos[None, :]
    m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
    u = tl.load(u_ptr + ptr_dl, mask=m_dl, other=0.0).to(tl.float32)
    dt = tl.load(delta_ptr + ptr_dl, mask=m_dl, other=0.0).to(tl.float32)
    ptr_nl = bc_base + offs_n[:, None] * seqlen + pos[None, :]
    m_nl = mask_n[:, None] & mask_l[None, :]
    Bt = tl.load(B_ptr + ptr_nl, mask=m_nl, other=0.0).to(tl.float32)
    Ct = tl.load(C_ptr + ptr_nl, mask=m_nl, other=0.0).to(tl.float32)
    return u, dt, Bt, Ct


@triton.jit
def _selective_scan_fwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    out_ptr, states_ptr, last_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_chunks,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    PREFETCH: tl.constexpr, REVERSE: tl.constexpr,
):
    # Tiles are (BLOCK_D, BLOCK_N, BLOCK_L): time is the fastest axis, so
    # loads are coalesced and the scan runs across the lanes of a warp.
    pid = tl.program_id(0)
    bidx, d0 = _program_rows(pid, dim, n_batch, BLOCK_D)
    gidx = d0 // dim_per_group

    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_L)
    mask_n = offs_n < dstate
    # Full-shape masks: a broadcast (1, N) mask drops rows of atomics and
    # stores when N == 1 (seen in the interpreter).
    mask_dn = (offs_d[:, None] < dim) & mask_n[None, :]

    # A pre-multiplied by log2(e): exp(dt * A) == exp2(dt * A2).
    A2 = tl.load(A_ptr + offs_d[:, None] * dstate + offs_n[None, :],
                 mask=mask_dn, other=0.0) * 1.4426950408889634
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d)

    row = (bidx * dim + offs_d) * seqlen  # (BLOCK_D,)
    bc_base = (bidx * n_groups + gidx) * dstate * seqlen
    st_base = ((bidx * dim + offs_d[:, None]) * n_chunks) * dstate \
        + offs_n[None, :]
    h = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    if PREFETCH:
        u_n, dt_n, B_n, C_n = _load_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, row,
                                          bc_base, offs_d, offs_n, offs_t,
                                          mask_n, dim, seqlen, 0, BLOCK_L,
                                          REVERSE)
    for c in range(n_chunks):
        offs_l = c * BLOCK_L + offs_t
        mask_l = offs_l < seqlen
        ptr_dl = row[:, None] + _seq_pos(offs_l, seqlen, REVERSE)[None, :]
        m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
        if PREFETCH:
            # Issue the next chunk's loads before this chunk's math: their
            # latency overlaps the scan instead of stalling the next step.
            u, dt, Bt, Ct = u_n, dt_n, B_n, C_n
            u_n, dt_n, B_n, C_n = _load_chunk(
                u_ptr, delta_ptr, B_ptr, C_ptr, row, bc_base, offs_d,
                offs_n, offs_t, mask_n, dim, seqlen, c + 1, BLOCK_L,
                REVERSE)
        else:
            u, dt, Bt, Ct = _load_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, row,
                                        bc_base, offs_d, offs_n, offs_t,
                                        mask_n, dim, seqlen, c, BLOCK_L,
                                        REVERSE)
        if HAS_BIAS:
            dt = dt + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(dt)

        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        b = (dt * u)[:, None, :] * Bt[None, :, :]
        # Padded steps carry the state through unchanged.
        a = tl.where(mask_l[None, None, :], a, 1.0)
        if SAVE_STATES:
            tl.store(states_ptr + st_base + c * dstate, h, mask=mask_dn)
        acum, hloc = tl.associative_scan((a, b), 2, _combine)
        hh = hloc + acum * h[:, :, None]
        y = tl.sum(hh * Ct[None, :, :], axis=1)
        if HAS_D:
            y += Dv[:, None] * u
        if HAS_Z:
            zz = tl.load(z_ptr + ptr_dl, mask=m_dl, other=0.0).to(tl.float32)
            y = y * zz * tl.sigmoid(zz)
        tl.store(out_ptr + ptr_dl, y.to(out_ptr.dtype.element_ty), mask=m_dl)
        is_last = (offs_t == BLOCK_L - 1)[None, None, :]
        h = tl.sum(tl.where(is_last, hh, 0.0), axis=2)
    tl.store(last_ptr + (bidx * dim + offs_d[:, None]) * dstate
             + offs_n[None, :], h, mask=mask_dn)


@triton.jit
def _selective_scan_bwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    states_ptr, gout_ptr,
    du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dz_ptr, dbias_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_chunks,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    REVERSE: tl.constexpr,
):
    pid = tl.program_id(0)
    bidx, d0 = _program_rows(pid, dim, n_batch, BLOCK_D)
    gidx = d0 // dim_per_group

    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_L)
    mask_n = offs_n < dstate
    mask_dn = (offs_d[:, None] < dim) & mask_n[None, :]

    Av = tl.load(A_ptr + offs_d[:, None] * dstate + offs_n[None, :],
                 mask=mask_dn, other=0.0)
    A2 = Av * 1.4426950408889634
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d)

    row = (bidx * dim + offs_d) * seqlen
    bc_base = (bidx * n_groups + gidx) * dstate * seqlen
    st_base = ((bidx * dim + offs_d[:, None]) * n_chunks) * dstate \
        + offs_n[None, :]
    g_carry = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dA_acc = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dD_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    dbias_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    for ci in range(n_chunks):
        c = n_chunks - 1 - ci
        offs_l = c * BLOCK_L + offs_t
        mask_l = offs_l < seqlen
        pos = _seq_pos(offs_l, seqlen, REVERSE)
        ptr_dl = row[:, None] + pos[None, :]
        m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
        u = tl.load(u_ptr + ptr_dl, mask=m_dl, other=0.0).to(tl.float32)
        dt_raw = tl.load(delta_ptr + ptr_dl, mask=m_dl,
                         other=0.0).to(tl.float32)
        # delta one step ahead, for a_{t+1} of the adjoint recurrence.
        mask_next = offs_l + 1 < seqlen
        m_next = (offs_d[:, None] < dim) & mask_next[None, :]
        step = -1 if REVERSE else 1  # memory offset of scan step t+1
        dt_next = tl.load(delta_ptr + ptr_dl + step, mask=m_next,
                          other=0.0).to(tl.float32)
        if HAS_BIAS:
            dt_raw = dt_raw + bias[:, None]
            dt_next = dt_next + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(dt_raw)
            dt_next = _softplus(dt_next)
        else:
            dt = dt_raw
        ptr_nl = bc_base + offs_n[:, None] * seqlen + pos[None, :]
        m_nl = mask_n[:, None] & mask_l[None, :]
        Bt = tl.load(B_ptr + ptr_nl, mask=m_nl, other=0.0).to(tl.float32)
        Ct = tl.load(C_ptr + ptr_nl, mask=m_nl, other=0.0).to(tl.float32)
        gout = tl.load(gout_ptr + ptr_dl, mask=m_dl, other=0.0).to(tl.float32)

        # Recompute h inside the chunk from the saved chunk-start state.
        h0 = tl.load(states_ptr + st_base + c * dstate, mask=mask_dn,
                     other=0.0)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        a = tl.where(mask_l[None, None, :], a, 1.0)
        b = (dt * u)[:, None, :] * Bt[None, :, :]
        acum, hloc = tl.associative_scan((a, b), 2, _combine)
        h = hloc + acum * h0[:, :, None]

        if HAS_Z:
            zz = tl.load(z_ptr + ptr_dl, mask=m_dl, other=0.0).to(tl.float32)
            sz = tl.sigmoid(zz)
            y = tl.sum(h * Ct[None, :, :], axis=1)
            if HAS_D:
                y += Dv[:, None] * u
            dz = gout * y * sz * (1.0 + zz * (1.0 - sz))
            tl.store(dz_ptr + ptr_dl, dz.to(dz_ptr.dtype.element_ty),
                     mask=m_dl)
            gy = gout * zz * sz
        else:
            gy = gout

        # Adjoint: g_t = a_{t+1} g_{t+1} + C_t gy_t, from the chunk's end.
        a_next = tl.exp2(dt_next[:, None, :] * A2[:, :, None])
        a_next = tl.where(mask_next[None, None, :], a_next, 0.0)
        cterm = gy[:, None, :] * Ct[None, :, :]
        gcum, gloc = tl.associative_scan((a_next, cterm), 2, _combine,
                                         reverse=True)
        g = gloc + gcum * g_carry[:, :, None]

        gB_term = tl.sum(g * Bt[None, :, :], axis=1)  # <g_t, B_t>
        # a_t h_{t-1} = h_t - b_t, so dL/d(dt * A) = g_t (h_t - b_t).
        g_dA = g * (h - b)
        ddt = tl.sum(g_dA * Av[:, :, None], axis=1) + gB_term * u
        du = gB_term * dt
        if HAS_D:
            du += gy * Dv[:, None]
            dD_acc += tl.sum(gy * u, axis=1)
        dA_acc += tl.sum(g_dA * dt[:, None, :], axis=2)
        dB_part = tl.sum(g * (dt * u)[:, None, :], axis=0)  # (N, BLOCK_L)
        dC_part = tl.sum(h * gy[:, None, :], axis=0)
        # relaxed: a sum needs no ordering (acq_rel cost ~half the kernel)
        tl.atomic_add(dB_ptr + ptr_nl, dB_part, mask=m_nl, sem='relaxed')
        tl.atomic_add(dC_ptr + ptr_nl, dC_part, mask=m_nl, sem='relaxed')
        if SOFTPLUS:
            ddt = ddt * tl.sigmoid(dt_raw)
        ddt = tl.where(m_dl, ddt, 0.0)
        if HAS_BIAS:
            dbias_acc += tl.sum(ddt, axis=1)
        tl.store(du_ptr + ptr_dl, du.to(du_ptr.dtype.element_ty), mask=m_dl)
        tl.store(ddelta_ptr + ptr_dl, ddt.to(ddelta_ptr.dtype.element_ty),
                 mask=m_dl)
        is_first = (offs_t == 0)[None, None, :]
        g_carry = tl.sum(tl.where(is_first, g, 0.0), axis=2)

    tl.atomic_add(dA_ptr + offs_d[:, None] * dstate + offs_n[None, :],
                  dA_acc, mask=mask_dn, sem='relaxed')
    if HAS_D:
        tl.atomic_add(dD_ptr + offs_d, dD_acc, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + offs_d, dbias_acc, sem='relaxed')


class ScanConfig(NamedTuple):
    """Launch configuration: channels per program, steps per chunk, warps;
    ``prefetch`` (forward) loads chunk c+1 during chunk c."""
    block_d: int
    block_l: int
    num_warps: int
    prefetch: bool = False


def _largest_divisor_block(n: int, cap: int) -> int:
    """The largest power of two <= ``cap`` that divides ``n``."""
    block = 1
    while block * 2 <= cap and n % (block * 2) == 0:
        block *= 2
    return block


def default_config(seqlen: int, dstate: int, dim_per_group: int,
                   backward: bool, save_states: bool = True,
                   n_rows: int = 1 << 30, itemsize: int = 4) -> ScanConfig:
    """Launch configuration for a problem size, from sweeps on an H100
    (``benchmarks/NOTES.md``, attempts 4-6).

    Args:
        backward: the backward kernel's configuration (else the forward's).
        save_states: the forward keeps chunk states for a backward.
        n_rows: batch * dim, the number of independent sequences.
        itemsize: bytes per element of ``u``.

    Forward and backward share BLOCK_L (it defines the saved chunk states,
    which cost 4·N/BLOCK_L bytes per input element).
    """
    if dstate == 1:  # VMamba: (BLOCK_D, 1, 128) tiles
        if backward:
            return ScanConfig(_largest_divisor_block(dim_per_group, 4), 128, 4)
        return ScanConfig(
            _largest_divisor_block(dim_per_group, 2), 128, 2, prefetch=True)
    # N = 16 (Vim): one warp, two channels per program, 16-step chunks, in
    # both directions. Prefetching the next chunk pays off only when few
    # programs share the GPU (long sequences at small batch); for
    # inference in 16-bit it did not.
    block_d = _largest_divisor_block(dim_per_group, 2)
    if backward:
        return ScanConfig(block_d, 16, 1)
    few_programs = n_rows // block_d < 4096
    prefetch = few_programs and (save_states or itemsize >= 4)
    return ScanConfig(block_d, 16, 1, prefetch=prefetch)


def selective_scan_fwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], z: Optional[Tensor], delta_bias: Optional[Tensor],
        delta_softplus: bool,
        save_states: bool,
        config: Optional[ScanConfig] = None,
        reverse: bool = False
) -> Tuple[Tensor, Tensor, Optional[Tensor], ScanConfig]:
    """Run the forward kernel.

    Args:
        u, delta, z: (batch, dim, L), contiguous, any float dtype.
        A: (dim, N) fp32 contiguous; D, delta_bias: (dim,) fp32 or None.
        B, C: (batch, G, N, L), contiguous.
        save_states: keep the state at every chunk start for the backward.
        config: launch configuration; :func:`default_config` if None.
        reverse: scan from the last position to the first (the result is
            that of the flipped inputs, flipped back), by index arithmetic.

    Returns:
        out (batch, dim, L) in ``u.dtype``; last_state (batch, dim, N) fp32;
        states (batch, dim, n_chunks, N) fp32 or None; the configuration
        used (the backward needs its ``block_l``).
    """
    batch, dim, seqlen = u.shape
    n_groups, dstate = B.shape[1], B.shape[2]
    dpg = dim // n_groups
    if config is None:
        config = default_config(seqlen, dstate, dpg, backward=False,
                                save_states=save_states, n_rows=batch * dim,
                                itemsize=u.element_size())
    block_d, block_l, num_warps, prefetch = config
    block_n = triton.next_power_of_2(max(dstate, 1))
    n_chunks = triton.cdiv(seqlen, block_l)
    out = torch.empty_like(u)
    last = torch.empty(batch, dim, dstate, device=u.device,
                       dtype=torch.float32)
    states = (torch.empty(batch, dim, n_chunks, dstate, device=u.device,
                          dtype=torch.float32) if save_states else None)
    dummy = out  # never read: the matching HAS_* flag is off
    grid = (batch * (dim // block_d), )
    _selective_scan_fwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        z if z is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        out, states if states is not None else dummy, last,
        batch, dim, seqlen, dstate, dpg, n_groups, n_chunks,
        HAS_D=D is not None, HAS_Z=z is not None,
        HAS_BIAS=delta_bias is not None, SOFTPLUS=delta_softplus,
        SAVE_STATES=save_states,
        BLOCK_D=block_d, BLOCK_L=block_l, BLOCK_N=block_n, PREFETCH=prefetch,
        REVERSE=reverse, num_warps=num_warps)
    return out, last, states, config


def selective_scan_bwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], z: Optional[Tensor], delta_bias: Optional[Tensor],
        delta_softplus: bool, states: Tensor, block_l: int, grad_out: Tensor,
        config: Optional[ScanConfig] = None, reverse: bool = False
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Optional[Tensor],
           Optional[Tensor], Optional[Tensor]]:
    """Run the backward kernel (inputs as in :func:`selective_scan_fwd`).

    ``block_l`` must be the forward's (it defines the saved ``states``);
    ``config`` may choose other channels-per-program and warps.

    Returns:
        du, ddelta (input dtypes), dA (fp32), dB, dC (fp32, (batch, G, N, L)),
        dD, dz, d(delta_bias) (None where the input was None).
    """
    batch, dim, seqlen = u.shape
    n_groups, dstate = B.shape[1], B.shape[2]
    dpg = dim // n_groups
    if config is None:
        config = default_config(seqlen, dstate, dpg, backward=True,
                                n_rows=batch * dim, itemsize=u.element_size())
    block_d, _, num_warps, _ = config
    block_n = triton.next_power_of_2(max(dstate, 1))
    n_chunks = states.shape[2]
    du = torch.empty_like(u)
    ddelta = torch.empty_like(delta)
    dz = torch.empty_like(z) if z is not None else None
    dA = torch.zeros_like(A, dtype=torch.float32)
    dB = torch.zeros(B.shape, device=u.device, dtype=torch.float32)
    dC = torch.zeros(C.shape, device=u.device, dtype=torch.float32)
    dD = torch.zeros(dim, device=u.device,
                     dtype=torch.float32) if D is not None else None
    dbias = torch.zeros(dim, device=u.device,
                        dtype=torch.float32) if delta_bias is not None else None
    dummy = du
    grid = (batch * (dim // block_d), )
    _selective_scan_bwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        z if z is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        states, grad_out,
        du, ddelta, dA, dB, dC,
        dD if dD is not None else dummy,
        dz if dz is not None else dummy,
        dbias if dbias is not None else dummy,
        batch, dim, seqlen, dstate, dpg, n_groups, n_chunks,
        HAS_D=D is not None, HAS_Z=z is not None,
        HAS_BIAS=delta_bias is not None, SOFTPLUS=delta_softplus,
        BLOCK_D=block_d, BLOCK_L=block_l, BLOCK_N=block_n,
        REVERSE=reverse, num_warps=num_warps)
    return du, ddelta, dA, dB, dC, dD, dz, dbias
