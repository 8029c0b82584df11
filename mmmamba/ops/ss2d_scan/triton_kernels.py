# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernels of the fused four-direction SS2D scan (no autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily.

What is fused. VMamba's SS2D scans one (B, D, H, W) map in K=4 orders and
sums the four outputs. Instead of materialising the four reordered copies
(cross scan), scanning them and folding the four outputs back (cross
merge), every kernel here reads and writes the *row-major* tensors and
walks each direction by index arithmetic: scan step ``t`` of direction ``k``
is at grid position

* k=0 (rows):    ``t``
* k=1 (columns): ``(t % H) * W + t // H``
* k=2, k=3:      those of k=0, k=1 at step ``L - 1 - t``.

Work split. One program owns ``BLOCK_D`` channels of one batch element and
runs the four directions one after the other (order 0, 2, 1, 3: each
direction starts where the previous one ended, so its first chunks are
still in cache). Inside a direction the tiles and the chunked
``tl.associative_scan`` are those of the selective-scan kernels
(:mod:`mmmamba.ops.selective_scan.triton_kernels`): (BLOCK_D, BLOCK_N,
BLOCK_L) register tiles, time fastest, the state crossing chunks kept in
registers. Per-direction parameters are the rows ``k * D + d`` of A, D and
the delta bias.

The merged output. ``out[b, d, pos] = sum_k y_k`` is accumulated in place:
the first direction stores its ``y`` into an fp32 accumulator, the next two
load, add and store, the last one adds and writes ``out`` in its dtype (for
fp32 outputs the accumulator *is* ``out``). Between directions a
``tl.debug_barrier()`` (bar.sync, which orders the program's global memory
accesses) separates one direction's stores from the next one's loads of the
same positions by other threads; those loads use ``.cg`` (L2, not L1) unless
``SS2DScanConfig.acc_cg`` is off (the barrier suffices; a knob to time). The
sum is deterministic (no atomics): ``((y0 + y2) + y1) + y3`` in fp32. The
backward accumulates ``dx = sum_k du_k`` the same way.

Memory access (a prediction; no GPU was available to measure it). Row
directions read contiguous runs of ``BLOCK_L`` positions, as the plain
kernel does. Column directions read positions ``W`` apart: a warp's loads
of one chunk touch one 32-byte sector per step instead of one per 8 (fp32)
or 16 (bf16) steps, so L1/L2 transactions grow up to 8-16x for those two
directions. DRAM traffic should not: the sectors of one column are reused
by the next column ``H`` steps later, a reuse distance of about ``H``
sectors per row of the tile (~2 KB per tensor at H=56), which stays in L1.
Against the unfused path the fused one saves the four-copy cross scan, the
x projection over four copies, the four-direction output tensor and the
merge pass, at the price of re-reading ``x`` once per direction and of the
accumulator's read-modify-write (``benchmarks/NOTES.md`` gives the byte
counts per VMamba-T stage).

The backward walks each direction's chunks from the end, recomputes ``h``
from the chunk-start states saved by the forward ((B, K, D, n_chunks, N)
fp32), runs the adjoint scan and forms the gradients in registers: ddelta
per direction (row-major, no reorder), dB and dC with relaxed atomics over
channel blocks, dA, dD and d(bias) once per program with relaxed atomics.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from mmmamba.ops.selective_scan.triton_kernels import _combine, _softplus

__all__ = ['ss2d_scan_fwd', 'ss2d_scan_bwd', 'SS2DScanConfig',
           'default_config']

NUM_DIRECTIONS = 4


@triton.jit
def _direction_pos(steps, seqlen, height, width, K_DIR: tl.constexpr):
    """Row-major grid position of scan step ``steps`` of direction
    ``K_DIR`` (0 rows, 1 columns, 2 and 3 the same reversed)."""
    if K_DIR >= 2:
        s = seqlen - 1 - steps
    else:
        s = steps
    if K_DIR % 2 == 1:
        return (s % height) * width + s // height
    return s


@triton.jit
def _load_acc(ptr, mask, ACC_CG: tl.constexpr):
    """Load the fp32 accumulator: from L2 (``.cg``, the point of
    coherence) or with the default caching (the bar.sync between
    directions orders the accesses either way)."""
    if ACC_CG:
        return tl.load(ptr, mask=mask, other=0.0, cache_modifier='.cg')
    return tl.load(ptr, mask=mask, other=0.0)


@triton.jit
def _fwd_direction(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    acc_ptr, out_ptr, states_ptr,
    bidx, offs_d, offs_n, offs_t, mask_n, mask_dn,
    dim, seqlen, height, width, dstate, n_chunks,
    K_DIR: tl.constexpr, FIRST: tl.constexpr, LAST: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    SAVE_STATES: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr,
    BLOCK_N: tl.constexpr, ACC_CG: tl.constexpr,
):
    """Scan direction ``K_DIR`` over the whole sequence and add its output
    into the accumulator (``FIRST``: store; ``LAST``: write ``out``)."""
    ch = K_DIR * dim + offs_d  # per-direction parameter rows
    A2 = tl.load(A_ptr + ch[:, None] * dstate + offs_n[None, :],
                 mask=mask_dn, other=0.0) * 1.4426950408889634
    if HAS_D:
        Dv = tl.load(D_ptr + ch)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + ch)
    row_u = (bidx * dim + offs_d) * seqlen  # (BLOCK_D,) into x / out
    row_k = ((bidx * 4 + K_DIR) * dim + offs_d) * seqlen  # into delta
    bc_base = (bidx * 4 + K_DIR) * dstate * seqlen
    st_base = (((bidx * 4 + K_DIR) * dim + offs_d[:, None]) * n_chunks) \
        * dstate + offs_n[None, :]
    h = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    for c in range(n_chunks):
        steps = c * BLOCK_L + offs_t
        mask_l = steps < seqlen
        pos = _direction_pos(steps, seqlen, height, width, K_DIR)
        m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
        u = tl.load(u_ptr + row_u[:, None] + pos[None, :], mask=m_dl,
                    other=0.0).to(tl.float32)
        dt = tl.load(delta_ptr + row_k[:, None] + pos[None, :], mask=m_dl,
                     other=0.0).to(tl.float32)
        ptr_nl = bc_base + offs_n[:, None] * seqlen + pos[None, :]
        m_nl = mask_n[:, None] & mask_l[None, :]
        Bt = tl.load(B_ptr + ptr_nl, mask=m_nl, other=0.0).to(tl.float32)
        Ct = tl.load(C_ptr + ptr_nl, mask=m_nl, other=0.0).to(tl.float32)
        if HAS_BIAS:
            dt = dt + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(dt)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        b = (dt * u)[:, None, :] * Bt[None, :, :]
        a = tl.where(mask_l[None, None, :], a, 1.0)  # padding keeps h
        if SAVE_STATES:
            tl.store(states_ptr + st_base + c * dstate, h, mask=mask_dn)
        acum, hloc = tl.associative_scan((a, b), 2, _combine)
        hh = hloc + acum * h[:, :, None]
        y = tl.sum(hh * Ct[None, :, :], axis=1)
        if HAS_D:
            y += Dv[:, None] * u
        ptr_out = row_u[:, None] + pos[None, :]
        if not FIRST:
            y += _load_acc(acc_ptr + ptr_out, m_dl, ACC_CG)
        if LAST:
            tl.store(out_ptr + ptr_out, y.to(out_ptr.dtype.element_ty),
                     mask=m_dl)
        else:
            tl.store(acc_ptr + ptr_out, y, mask=m_dl)
        is_last = (offs_t == BLOCK_L - 1)[None, None, :]
        h = tl.sum(tl.where(is_last, hh, 0.0), axis=2)
    # the next direction reads what other threads of this program stored
    tl.debug_barrier()


@triton.jit
def _ss2d_scan_fwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    acc_ptr, out_ptr, states_ptr,
    n_batch, dim, seqlen, height, width, dstate, n_chunks,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    ACC_CG: tl.constexpr,
):
    pid = tl.program_id(0)
    bidx = pid % n_batch  # batch fastest, as in the selective-scan kernels
    d0 = (pid // n_batch) * BLOCK_D
    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_L)
    mask_n = offs_n < dstate
    mask_dn = (offs_d[:, None] < dim) & mask_n[None, :]
    # order 0, 2, 1, 3: each direction starts where the previous one ended
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   offs_t, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks, 0, True, False, HAS_D, HAS_BIAS,
                   SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   offs_t, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks, 2, False, False, HAS_D, HAS_BIAS,
                   SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   offs_t, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks, 1, False, False, HAS_D, HAS_BIAS,
                   SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   offs_t, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks, 3, False, True, HAS_D, HAS_BIAS,
                   SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)


@triton.jit
def _bwd_direction(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    states_ptr, gout_ptr,
    du_acc_ptr, du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr,
    dbias_ptr,
    bidx, offs_d, offs_n, offs_t, mask_n, mask_dn,
    dim, seqlen, height, width, dstate, n_chunks,
    K_DIR: tl.constexpr, FIRST: tl.constexpr, LAST: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    ACC_CG: tl.constexpr,
):
    """Backward of direction ``K_DIR``; ``du`` is accumulated into ``dx``
    as the forward accumulates ``y``."""
    ch = K_DIR * dim + offs_d
    Av = tl.load(A_ptr + ch[:, None] * dstate + offs_n[None, :],
                 mask=mask_dn, other=0.0)
    A2 = Av * 1.4426950408889634
    if HAS_D:
        Dv = tl.load(D_ptr + ch)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + ch)
    row_u = (bidx * dim + offs_d) * seqlen
    row_k = ((bidx * 4 + K_DIR) * dim + offs_d) * seqlen
    bc_base = (bidx * 4 + K_DIR) * dstate * seqlen
    st_base = (((bidx * 4 + K_DIR) * dim + offs_d[:, None]) * n_chunks) \
        * dstate + offs_n[None, :]
    g_carry = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dA_acc = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dD_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    dbias_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    for ci in range(n_chunks):
        c = n_chunks - 1 - ci
        steps = c * BLOCK_L + offs_t
        mask_l = steps < seqlen
        pos = _direction_pos(steps, seqlen, height, width, K_DIR)
        m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
        ptr_u = row_u[:, None] + pos[None, :]
        ptr_k = row_k[:, None] + pos[None, :]
        u = tl.load(u_ptr + ptr_u, mask=m_dl, other=0.0).to(tl.float32)
        dt_raw = tl.load(delta_ptr + ptr_k, mask=m_dl,
                         other=0.0).to(tl.float32)
        # delta of scan step t+1, for a_{t+1} of the adjoint recurrence
        mask_next = steps + 1 < seqlen
        m_next = (offs_d[:, None] < dim) & mask_next[None, :]
        pos_next = _direction_pos(steps + 1, seqlen, height, width, K_DIR)
        dt_next = tl.load(delta_ptr + row_k[:, None] + pos_next[None, :],
                          mask=m_next, other=0.0).to(tl.float32)
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
        gy = tl.load(gout_ptr + ptr_u, mask=m_dl, other=0.0).to(tl.float32)

        # h inside the chunk from the saved chunk-start state
        h0 = tl.load(states_ptr + st_base + c * dstate, mask=mask_dn,
                     other=0.0)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        a = tl.where(mask_l[None, None, :], a, 1.0)
        b = (dt * u)[:, None, :] * Bt[None, :, :]
        acum, hloc = tl.associative_scan((a, b), 2, _combine)
        h = hloc + acum * h0[:, :, None]

        # adjoint: g_t = a_{t+1} g_{t+1} + C_t gy_t, from the chunk's end
        a_next = tl.exp2(dt_next[:, None, :] * A2[:, :, None])
        a_next = tl.where(mask_next[None, None, :], a_next, 0.0)
        cterm = gy[:, None, :] * Ct[None, :, :]
        gcum, gloc = tl.associative_scan((a_next, cterm), 2, _combine,
                                         reverse=True)
        g = gloc + gcum * g_carry[:, :, None]

        gB_term = tl.sum(g * Bt[None, :, :], axis=1)  # <g_t, B_t>
        # a_t h_{t-1} = h_t - b_t, so dL/d(dt * A) = g_t (h_t - b_t)
        g_dA = g * (h - b)
        ddt = tl.sum(g_dA * Av[:, :, None], axis=1) + gB_term * u
        du = gB_term * dt
        if HAS_D:
            du += gy * Dv[:, None]
            dD_acc += tl.sum(tl.where(m_dl, gy * u, 0.0), axis=1)
        dA_acc += tl.sum(g_dA * dt[:, None, :], axis=2)
        dB_part = tl.sum(g * (dt * u)[:, None, :], axis=0)  # (N, BLOCK_L)
        dC_part = tl.sum(h * gy[:, None, :], axis=0)
        tl.atomic_add(dB_ptr + ptr_nl, dB_part, mask=m_nl, sem='relaxed')
        tl.atomic_add(dC_ptr + ptr_nl, dC_part, mask=m_nl, sem='relaxed')
        if SOFTPLUS:
            ddt = ddt * tl.sigmoid(dt_raw)
        ddt = tl.where(m_dl, ddt, 0.0)
        if HAS_BIAS:
            dbias_acc += tl.sum(ddt, axis=1)
        tl.store(ddelta_ptr + ptr_k, ddt.to(ddelta_ptr.dtype.element_ty),
                 mask=m_dl)
        if not FIRST:
            du += _load_acc(du_acc_ptr + ptr_u, m_dl, ACC_CG)
        if LAST:
            tl.store(du_ptr + ptr_u, du.to(du_ptr.dtype.element_ty),
                     mask=m_dl)
        else:
            tl.store(du_acc_ptr + ptr_u, du, mask=m_dl)
        is_first = (offs_t == 0)[None, None, :]
        g_carry = tl.sum(tl.where(is_first, g, 0.0), axis=2)

    tl.atomic_add(dA_ptr + ch[:, None] * dstate + offs_n[None, :], dA_acc,
                  mask=mask_dn, sem='relaxed')
    if HAS_D:
        tl.atomic_add(dD_ptr + ch, dD_acc, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + ch, dbias_acc, sem='relaxed')
    tl.debug_barrier()


@triton.jit
def _ss2d_scan_bwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    states_ptr, gout_ptr,
    du_acc_ptr, du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr,
    dbias_ptr,
    n_batch, dim, seqlen, height, width, dstate, n_chunks,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    ACC_CG: tl.constexpr,
):
    pid = tl.program_id(0)
    bidx = pid % n_batch
    d0 = (pid // n_batch) * BLOCK_D
    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_L)
    mask_n = offs_n < dstate
    mask_dn = (offs_d[:, None] < dim) & mask_n[None, :]
    # the backward of direction k walks it from its end: in the order
    # 0, 2, 1, 3 each one again starts where the previous one ended
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, offs_t, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks, 0, True, False, HAS_D, HAS_BIAS,
                   SOFTPLUS, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, offs_t, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks, 2, False, False, HAS_D,
                   HAS_BIAS, SOFTPLUS, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, offs_t, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks, 1, False, False, HAS_D,
                   HAS_BIAS, SOFTPLUS, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, offs_t, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks, 3, False, True, HAS_D, HAS_BIAS,
                   SOFTPLUS, BLOCK_D, BLOCK_L, BLOCK_N, ACC_CG)


class SS2DScanConfig(NamedTuple):
    """Launch configuration: channels per program, steps per chunk, warps;
    ``acc_cg`` loads the accumulator with ``.cg`` (L2 only). Forward and
    backward must share ``block_l`` (it defines the saved chunk states)."""
    block_d: int
    block_l: int
    num_warps: int
    acc_cg: bool = True


def _largest_divisor_block(n: int, cap: int) -> int:
    """The largest power of two <= ``cap`` that divides ``n``."""
    block = 1
    while block * 2 <= cap and n % (block * 2) == 0:
        block *= 2
    return block


def default_config(dim: int, dstate: int, backward: bool) -> SS2DScanConfig:
    """Launch configuration, taken from the plain selective-scan kernels'
    H100 sweeps (``benchmarks/NOTES.md`` attempts 4-7), not yet swept for
    the fused kernels: N=1 uses (2, 128) tiles with 2 warps forward and
    (4, 128) with 4 warps backward; N>1 (2, 16) with one warp."""
    if dstate == 1:
        if backward:
            return SS2DScanConfig(_largest_divisor_block(dim, 4), 128, 4)
        return SS2DScanConfig(_largest_divisor_block(dim, 2), 128, 2)
    return SS2DScanConfig(_largest_divisor_block(dim, 2), 16, 1)


def ss2d_scan_fwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], delta_bias: Optional[Tensor], height: int,
        width: int, delta_softplus: bool, save_states: bool,
        config: Optional[SS2DScanConfig] = None
) -> Tuple[Tensor, Optional[Tensor], SS2DScanConfig]:
    """Run the forward kernel.

    Args:
        u: (batch, dim, L) contiguous, row-major positions, any float dtype.
        delta: (batch, 4, dim, L) contiguous, row-major positions.
        A: (4 * dim, N) fp32 contiguous; D, delta_bias: (4 * dim,) fp32 or
            None. Row ``k * dim + d`` belongs to direction k, channel d.
        B, C: (batch, 4, N, L) contiguous, row-major positions.
        height, width: the grid, ``height * width == L``.
        save_states: keep the state at every chunk start for the backward.
        config: launch configuration; :func:`default_config` if None.

    Returns:
        out (batch, dim, L) in ``u.dtype``, the sum of the four directions;
        states (batch, 4, dim, n_chunks, N) fp32 or None; the configuration
        used.
    """
    batch, dim, seqlen = u.shape
    dstate = B.shape[2]
    if config is None:
        config = default_config(dim, dstate, backward=False)
    block_d, block_l, num_warps, acc_cg = config
    block_n = triton.next_power_of_2(max(dstate, 1))
    n_chunks = triton.cdiv(seqlen, block_l)
    out = torch.empty_like(u)
    acc = out if u.dtype == torch.float32 else torch.empty(
        u.shape, device=u.device, dtype=torch.float32)
    states = (torch.empty(batch, NUM_DIRECTIONS, dim, n_chunks, dstate,
                          device=u.device, dtype=torch.float32)
              if save_states else None)
    dummy = acc  # never read: the matching HAS_* flag is off
    grid = (batch * triton.cdiv(dim, block_d), )
    _ss2d_scan_fwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        acc, out, states if states is not None else dummy,
        batch, dim, seqlen, height, width, dstate, n_chunks,
        HAS_D=D is not None, HAS_BIAS=delta_bias is not None,
        SOFTPLUS=delta_softplus, SAVE_STATES=save_states,
        BLOCK_D=block_d, BLOCK_L=block_l, BLOCK_N=block_n, ACC_CG=acc_cg,
        num_warps=num_warps)
    return out, states, config


def ss2d_scan_bwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], delta_bias: Optional[Tensor], height: int,
        width: int, delta_softplus: bool, states: Tensor, block_l: int,
        grad_out: Tensor, config: Optional[SS2DScanConfig] = None
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Optional[Tensor],
           Optional[Tensor]]:
    """Run the backward kernel (inputs as in :func:`ss2d_scan_fwd`).

    Args:
        states: the forward's saved chunk states.
        block_l: the forward's chunk length (it defines ``states``).
        grad_out: (batch, dim, L) contiguous, gradient of ``out``.
        config: channels per program and warps; its ``block_l`` is ignored.

    Returns:
        du (dtype of ``u``), ddelta (dtype of ``delta``, (batch, 4, dim, L)),
        dA (fp32), dB, dC (fp32, (batch, 4, N, L)), dD and d(delta_bias)
        (fp32, None where the input was None).
    """
    batch, dim, seqlen = u.shape
    dstate = B.shape[2]
    if config is None:
        config = default_config(dim, dstate, backward=True)
    block_d, _, num_warps, acc_cg = config
    block_n = triton.next_power_of_2(max(dstate, 1))
    n_chunks = states.shape[3]
    du = torch.empty_like(u)
    du_acc = du if u.dtype == torch.float32 else torch.empty(
        u.shape, device=u.device, dtype=torch.float32)
    ddelta = torch.empty_like(delta)
    dA = torch.zeros_like(A, dtype=torch.float32)
    dB = torch.zeros(B.shape, device=u.device, dtype=torch.float32)
    dC = torch.zeros(C.shape, device=u.device, dtype=torch.float32)
    dD = (torch.zeros(A.shape[0], device=u.device, dtype=torch.float32)
          if D is not None else None)
    dbias = (torch.zeros(A.shape[0], device=u.device, dtype=torch.float32)
             if delta_bias is not None else None)
    dummy = dA
    grid = (batch * triton.cdiv(dim, block_d), )
    _ss2d_scan_bwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        states, grad_out,
        du_acc, du, ddelta, dA, dB, dC,
        dD if dD is not None else dummy,
        dbias if dbias is not None else dummy,
        batch, dim, seqlen, height, width, dstate, n_chunks,
        HAS_D=D is not None, HAS_BIAS=delta_bias is not None,
        SOFTPLUS=delta_softplus,
        BLOCK_D=block_d, BLOCK_L=block_l, BLOCK_N=block_n, ACC_CG=acc_cg,
        num_warps=num_warps)
    return du, ddelta, dA, dB, dC, dD, dbias
