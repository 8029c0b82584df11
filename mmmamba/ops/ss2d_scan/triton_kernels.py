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

Memory access (a prediction, except where timings are quoted). Row
directions read contiguous runs of ``BLOCK_L`` positions, as the plain
kernel does. Column directions have two layouts (``SS2DScanConfig.col_w``):

* ``col_w=0`` (the default except at 33-64 rows): chunks of ``BLOCK_L``
  steps, positions ``W`` apart: a warp's loads touch one 32-byte sector
  per step instead of one per 8 (fp32) or 16 (bf16) steps, so L1/L2
  transactions grow up to 8-16x for those two directions. DRAM traffic
  should not: a column's sectors are reused by the next column ``H``
  steps later (~2 KB per tile row per tensor at H=56), which should stay
  in L1.
* ``col_w>0``: column tiles. A chunk is ``col_w`` whole columns, loaded as
  (BLOCK_D, H_PAD, col_w) tiles (``H_PAD = next_pow2(H)``) whose fastest
  axis runs along a map row, so loads are coalesced, then permuted and
  reshaped in registers to (BLOCK_D, col_w * H_PAD) in scan order (a
  layout conversion through shared memory). The ``H_PAD - H`` padding
  rows are identity steps (a=1, b=0) that carry ``h`` (and, backward,
  ``g``) through; the backward masks them out of dA. Costs: 12.5% idle
  lanes at VMamba's H = 56/28/14/7, the conversions, and larger register
  tiles (tiles over :data:`MAX_TILE_ELEMENTS` fall back to ``col_w=0``).

At VMamba-T's stage 1 (56², bf16, H200) tiles of 4 columns made the
forward 1.14x and the backward 1.05x faster than the best step-by-step
configuration (:func:`default_config` has the numbers); other sizes are
for ``tools/analysis_tools/benchmark_ss2d.py --sweep`` to say. Against
the unfused path the fused one saves the four-copy cross scan, the x
projection over four copies, the four-direction output tensor and the
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

from mmmamba.ops.selective_scan.triton_kernels import _combine

from .._utils import cdiv, next_power_of_2

__all__ = ['ss2d_scan_fwd', 'ss2d_scan_bwd', 'SS2DScanConfig',
           'default_config', 'forward_config', 'num_state_chunks']

NUM_DIRECTIONS = 4


@triton.jit
def _softplus(x):
    """softplus(x), torch's beta 1 and threshold 20, with ``tl.log`` (a
    software log). The selective scan's kernels moved to a series / MUFU
    form (``mmmamba.ops.triton_math.softplus``, 6-20% faster there);
    here it spills (VMamba-T stage-1 backward, bf16: 128 registers and 8
    bytes of stack, ``test_kernels_compile_for_sm90``) and it has not been
    timed on the GPU, so these kernels keep this form."""
    return tl.where(x > 20.0, x,
                    tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x))))


@triton.jit
def _direction_pos(steps, seqlen, height, width, K_DIR: tl.constexpr):
    """Row-major grid position of scan step ``steps`` of direction
    ``K_DIR`` (0 rows, 1 columns, 2 and 3 the same reversed)."""
    if K_DIR >= 2:
        s = seqlen - 1 - steps
    else:
        s = steps
    if K_DIR % 2 == 1:
        pos = (s % height) * width + s // height
    else:
        pos = s
    return pos


@triton.jit
def _tile_pos(rows, cols, height, width, K_DIR: tl.constexpr):
    """Grid position of scan row ``rows`` of scan column ``cols`` of a
    column direction (K_DIR 3 walks both backwards)."""
    if K_DIR >= 2:
        pos = (height - 1 - rows) * width + (width - 1 - cols)
    else:
        pos = rows * width + cols
    return pos


@triton.jit
def _chunk(c, seqlen, height, width, K_DIR: tl.constexpr,
           TILE: tl.constexpr, BLOCK_L: tl.constexpr, COL_W: tl.constexpr,
           H_PAD: tl.constexpr, NEXT: tl.constexpr):
    """Positions and validity of chunk ``c`` (or, with ``NEXT``, of the
    scan step after each of its steps) in the layout it is loaded in:
    (BLOCK_L,) steps, or for column tiles (H_PAD, COL_W): scan rows by
    ``COL_W`` whole columns, consecutive in memory along the columns."""
    if TILE:
        rows = tl.arange(0, H_PAD)[:, None]
        cols = c * COL_W + tl.arange(0, COL_W)[None, :]
        if NEXT:  # the step after row r is row r+1, after the last row 0
            wrap = rows + 1 == H_PAD
            cols = tl.where(wrap, cols + 1, cols)
            rows = tl.where(wrap, 0, rows + 1)
        valid = (rows < height) & (cols < width)
        pos = _tile_pos(rows, cols, height, width, K_DIR)
    else:
        steps = c * BLOCK_L + tl.arange(0, BLOCK_L)
        if NEXT:
            steps = steps + 1
        valid = steps < seqlen
        pos = _direction_pos(steps, seqlen, height, width, K_DIR)
    return pos, valid


@triton.jit
def _to_seq(v, R: tl.constexpr, TILE: tl.constexpr, COL_W: tl.constexpr,
            H_PAD: tl.constexpr):
    """(R, H_PAD, COL_W) tile -> (R, COL_W * H_PAD) in scan order."""
    if TILE:
        out = tl.reshape(tl.permute(v, (0, 2, 1)), (R, COL_W * H_PAD))
    else:
        out = v
    return out


@triton.jit
def _from_seq(v, R: tl.constexpr, TILE: tl.constexpr, COL_W: tl.constexpr,
              H_PAD: tl.constexpr):
    """Inverse of :func:`_to_seq`."""
    if TILE:
        out = tl.permute(tl.reshape(v, (R, COL_W, H_PAD)), (0, 2, 1))
    else:
        out = v
    return out


@triton.jit
def _addr(base, rows, rmask, pos, valid, TILE: tl.constexpr):
    """Pointers and mask of ``rows`` (R,) x ``pos`` (either layout).
    The int32 offsets are summed before the base pointer is added: adding
    the base first makes a 64-bit pointer tile per term (the N=1 forward
    then took 88-92 registers instead of 70 on sm_90)."""
    if TILE:
        ptr = base + (rows[:, None, None] + pos[None, :, :])
        mask = rmask[:, None, None] & valid[None, :, :]
    else:
        ptr = base + (rows[:, None] + pos[None, :])
        mask = rmask[:, None] & valid[None, :]
    return ptr, mask


@triton.jit
def _load_seq(base, rows, rmask, pos, valid, R: tl.constexpr,
              TILE: tl.constexpr, COL_W: tl.constexpr, H_PAD: tl.constexpr,
              CG: tl.constexpr):
    """Rows of a (.., L) tensor at a chunk's positions, as fp32
    (R, chunk length) in scan order; 0 where invalid. ``CG``: load from
    L2 (``.cg``), for the accumulator (the bar.sync between directions
    orders the accesses either way)."""
    ptr, mask = _addr(base, rows, rmask, pos, valid, TILE)
    if CG:
        v = tl.load(ptr, mask=mask, other=0.0, cache_modifier='.cg')
    else:
        v = tl.load(ptr, mask=mask, other=0.0)
    return _to_seq(v.to(tl.float32), R, TILE, COL_W, H_PAD)


@triton.jit
def _store_seq(base, rows, rmask, pos, valid, val, R: tl.constexpr,
               TILE: tl.constexpr, COL_W: tl.constexpr, H_PAD: tl.constexpr,
               ATOMIC: tl.constexpr):
    """Store (or, ``ATOMIC``, add with relaxed atomics) ``val`` (R, chunk
    length, scan order) at a chunk's positions."""
    ptr, mask = _addr(base, rows, rmask, pos, valid, TILE)
    val = _from_seq(val, R, TILE, COL_W, H_PAD)
    if ATOMIC:
        tl.atomic_add(ptr, val, mask=mask, sem='relaxed')
    else:
        tl.store(ptr, val.to(base.dtype.element_ty), mask=mask)


@triton.jit
def _seq_valid(c, seqlen, height, width, TILE: tl.constexpr,
               BLOCK_L: tl.constexpr, COL_W: tl.constexpr,
               H_PAD: tl.constexpr):
    """Validity of each step of chunk ``c`` (``BLOCK_L`` steps; with
    ``TILE`` ``BLOCK_L == COL_W * H_PAD``) in scan order."""
    t = tl.arange(0, BLOCK_L)
    if TILE:
        valid = ((t % H_PAD) < height) & (c * COL_W + t // H_PAD < width)
    else:
        valid = c * BLOCK_L + t < seqlen
    return valid


@triton.jit
def _fwd_direction(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    acc_ptr, out_ptr, states_ptr,
    bidx, offs_d, offs_n, mask_d, mask_n, mask_dn,
    dim, seqlen, height, width, dstate, n_chunks, n_chunks_max,
    K_DIR: tl.constexpr, FIRST: tl.constexpr, LAST: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    SAVE_STATES: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
    ACC_CG: tl.constexpr, TILE: tl.constexpr, CHUNK: tl.constexpr,
    COL_W: tl.constexpr, H_PAD: tl.constexpr,
):
    """Scan direction ``K_DIR`` over the whole sequence in ``n_chunks``
    chunks of ``CHUNK`` steps (``TILE``: column tiles of ``COL_W`` columns
    of ``H_PAD`` rows) and add its output into the accumulator
    (``FIRST``: store; ``LAST``: write ``out``)."""
    ch = K_DIR * dim + offs_d  # per-direction parameter rows
    A2 = tl.load(A_ptr + ch[:, None] * dstate + offs_n[None, :],
                 mask=mask_dn, other=0.0) * 1.4426950408889634
    if HAS_D:
        Dv = tl.load(D_ptr + ch)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + ch)
    row_u = (bidx * dim + offs_d) * seqlen  # (BLOCK_D,) into x / out
    row_k = ((bidx * 4 + K_DIR) * dim + offs_d) * seqlen  # into delta
    row_bc = ((bidx * 4 + K_DIR) * dstate + offs_n) * seqlen
    st_base = (((bidx * 4 + K_DIR) * dim + offs_d[:, None]) * n_chunks_max) \
        * dstate + offs_n[None, :]
    offs_t = tl.arange(0, CHUNK)
    h = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    for c in range(n_chunks):
        pos, valid = _chunk(c, seqlen, height, width, K_DIR, TILE, CHUNK,
                            COL_W, H_PAD, False)
        mask_l = _seq_valid(c, seqlen, height, width, TILE, CHUNK, COL_W,
                            H_PAD)
        u = _load_seq(u_ptr, row_u, mask_d, pos, valid, BLOCK_D, TILE,
                      COL_W, H_PAD, False)
        dt = _load_seq(delta_ptr, row_k, mask_d, pos, valid, BLOCK_D, TILE,
                       COL_W, H_PAD, False)
        Bt = _load_seq(B_ptr, row_bc, mask_n, pos, valid, BLOCK_N, TILE,
                       COL_W, H_PAD, False)
        Ct = _load_seq(C_ptr, row_bc, mask_n, pos, valid, BLOCK_N, TILE,
                       COL_W, H_PAD, False)
        if HAS_BIAS:
            dt = dt + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(dt)
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        b = (dt * u)[:, None, :] * Bt[None, :, :]  # 0 where invalid (u = 0)
        a = tl.where(mask_l[None, None, :], a, 1.0)  # padding keeps h
        if SAVE_STATES:
            tl.store(states_ptr + st_base + c * dstate, h, mask=mask_dn)
        acum, hloc = tl.associative_scan((a, b), 2, _combine)
        hh = hloc + acum * h[:, :, None]
        y = tl.sum(hh * Ct[None, :, :], axis=1)
        if HAS_D:
            y += Dv[:, None] * u
        if not FIRST:
            y += _load_seq(acc_ptr, row_u, mask_d, pos, valid, BLOCK_D,
                           TILE, COL_W, H_PAD, ACC_CG)
        if LAST:
            _store_seq(out_ptr, row_u, mask_d, pos, valid, y, BLOCK_D, TILE,
                       COL_W, H_PAD, False)
        else:
            _store_seq(acc_ptr, row_u, mask_d, pos, valid, y, BLOCK_D, TILE,
                       COL_W, H_PAD, False)
        is_last = (offs_t == CHUNK - 1)[None, None, :]
        h = tl.sum(tl.where(is_last, hh, 0.0), axis=2)
    # the next direction reads what other threads of this program stored
    tl.debug_barrier()


@triton.jit
def _ss2d_scan_fwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    acc_ptr, out_ptr, states_ptr,
    n_batch, dim, seqlen, height, width, dstate, n_chunks_row, n_chunks_col,
    n_chunks_max,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    ACC_CG: tl.constexpr, COL_TILE: tl.constexpr, COL_W: tl.constexpr,
    H_PAD: tl.constexpr, TILE_L: tl.constexpr,
):
    pid = tl.program_id(0)
    bidx = pid % n_batch  # batch fastest, as in the selective-scan kernels
    d0 = (pid // n_batch) * BLOCK_D
    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_d = offs_d < dim
    mask_n = offs_n < dstate
    mask_dn = mask_d[:, None] & mask_n[None, :]
    # order 0, 2, 1, 3: each direction starts where the previous one ended
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   mask_d, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks_row, n_chunks_max, 0, True, False, HAS_D,
                   HAS_BIAS, SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_N, ACC_CG,
                   False, BLOCK_L, COL_W, H_PAD)
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   mask_d, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks_row, n_chunks_max, 2, False, False,
                   HAS_D, HAS_BIAS, SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_N,
                   ACC_CG, False, BLOCK_L, COL_W, H_PAD)
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   mask_d, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks_col, n_chunks_max, 1, False, False,
                   HAS_D, HAS_BIAS, SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_N,
                   ACC_CG, COL_TILE, TILE_L, COL_W, H_PAD)
    _fwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   acc_ptr, out_ptr, states_ptr, bidx, offs_d, offs_n,
                   mask_d, mask_n, mask_dn, dim, seqlen, height, width,
                   dstate, n_chunks_col, n_chunks_max, 3, False, True, HAS_D,
                   HAS_BIAS, SOFTPLUS, SAVE_STATES, BLOCK_D, BLOCK_N, ACC_CG,
                   COL_TILE, TILE_L, COL_W, H_PAD)


@triton.jit
def _bwd_direction(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    states_ptr, gout_ptr,
    du_acc_ptr, du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr,
    dbias_ptr,
    bidx, offs_d, offs_n, mask_d, mask_n, mask_dn,
    dim, seqlen, height, width, dstate, n_chunks, n_chunks_max,
    K_DIR: tl.constexpr, FIRST: tl.constexpr, LAST: tl.constexpr,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, ACC_CG: tl.constexpr,
    TILE: tl.constexpr, CHUNK: tl.constexpr, COL_W: tl.constexpr,
    H_PAD: tl.constexpr,
):
    """Backward of direction ``K_DIR`` (chunks as in
    :func:`_fwd_direction`); ``du`` is accumulated into ``dx`` as the
    forward accumulates ``y``."""
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
    row_bc = ((bidx * 4 + K_DIR) * dstate + offs_n) * seqlen
    st_base = (((bidx * 4 + K_DIR) * dim + offs_d[:, None]) * n_chunks_max) \
        * dstate + offs_n[None, :]
    offs_t = tl.arange(0, CHUNK)
    g_carry = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dA_acc = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dD_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    dbias_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    for ci in range(n_chunks):
        c = n_chunks - 1 - ci
        pos, valid = _chunk(c, seqlen, height, width, K_DIR, TILE, CHUNK,
                            COL_W, H_PAD, False)
        mask_l = _seq_valid(c, seqlen, height, width, TILE, CHUNK, COL_W,
                            H_PAD)
        m_dl = mask_d[:, None] & mask_l[None, :]
        u = _load_seq(u_ptr, row_u, mask_d, pos, valid, BLOCK_D, TILE,
                      COL_W, H_PAD, False)
        dt_raw = _load_seq(delta_ptr, row_k, mask_d, pos, valid, BLOCK_D,
                           TILE, COL_W, H_PAD, False)
        # delta of the scan step after each step, for a_{t+1} of the
        # adjoint recurrence; padding steps between columns of a tile
        # carry g through (a = 1), past the end of the sequence g is 0
        pos_n, valid_n = _chunk(c, seqlen, height, width, K_DIR, TILE, CHUNK,
                                COL_W, H_PAD, True)
        dt_next = _load_seq(delta_ptr, row_k, mask_d, pos_n, valid_n,
                            BLOCK_D, TILE, COL_W, H_PAD, False)
        mask_next = _to_seq(valid_n[None], 1, TILE, COL_W, H_PAD)
        if HAS_BIAS:
            dt_raw = dt_raw + bias[:, None]
            dt_next = dt_next + bias[:, None]
        if SOFTPLUS:
            dt = _softplus(dt_raw)
            dt_next = _softplus(dt_next)
        else:
            dt = dt_raw
        Bt = _load_seq(B_ptr, row_bc, mask_n, pos, valid, BLOCK_N, TILE,
                       COL_W, H_PAD, False)
        Ct = _load_seq(C_ptr, row_bc, mask_n, pos, valid, BLOCK_N, TILE,
                       COL_W, H_PAD, False)
        gy = _load_seq(gout_ptr, row_u, mask_d, pos, valid, BLOCK_D, TILE,
                       COL_W, H_PAD, False)

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
        if TILE:
            a_next = tl.where(mask_next[:, None, :], a_next, 1.0)
        else:
            a_next = tl.where(mask_next[:, None, :], a_next, 0.0)
        cterm = gy[:, None, :] * Ct[None, :, :]
        gcum, gloc = tl.associative_scan((a_next, cterm), 2, _combine,
                                         reverse=True)
        g = gloc + gcum * g_carry[:, :, None]

        gB_term = tl.sum(g * Bt[None, :, :], axis=1)  # <g_t, B_t>
        # a_t h_{t-1} = h_t - b_t, so dL/d(dt * A) = g_t (h_t - b_t);
        # padding steps inside a tile carry h and g: mask them out
        g_dA = tl.where(mask_l[None, None, :], g * (h - b), 0.0)
        ddt = tl.sum(g_dA * Av[:, :, None], axis=1) + gB_term * u
        du = gB_term * dt
        if HAS_D:
            du += gy * Dv[:, None]
            dD_acc += tl.sum(gy * u, axis=1)
        dA_acc += tl.sum(g_dA * dt[:, None, :], axis=2)
        dB_part = tl.sum(g * (dt * u)[:, None, :], axis=0)  # (N, CHUNK)
        dC_part = tl.sum(h * gy[:, None, :], axis=0)
        _store_seq(dB_ptr, row_bc, mask_n, pos, valid, dB_part, BLOCK_N,
                   TILE, COL_W, H_PAD, True)
        _store_seq(dC_ptr, row_bc, mask_n, pos, valid, dC_part, BLOCK_N,
                   TILE, COL_W, H_PAD, True)
        if SOFTPLUS:
            ddt = ddt * tl.sigmoid(dt_raw)
        ddt = tl.where(m_dl, ddt, 0.0)
        if HAS_BIAS:
            dbias_acc += tl.sum(ddt, axis=1)
        _store_seq(ddelta_ptr, row_k, mask_d, pos, valid, ddt, BLOCK_D, TILE,
                   COL_W, H_PAD, False)
        if not FIRST:
            du += _load_seq(du_acc_ptr, row_u, mask_d, pos, valid, BLOCK_D,
                            TILE, COL_W, H_PAD, ACC_CG)
        if LAST:
            _store_seq(du_ptr, row_u, mask_d, pos, valid, du, BLOCK_D, TILE,
                       COL_W, H_PAD, False)
        else:
            _store_seq(du_acc_ptr, row_u, mask_d, pos, valid, du, BLOCK_D,
                       TILE, COL_W, H_PAD, False)
        is_first = (offs_t == 0)[None, None, :]
        g_carry = tl.sum(tl.where(is_first, g, 0.0), axis=2)

    tl.atomic_add(dA_ptr + ch[:, None] * dstate + offs_n[None, :], dA_acc,
                  mask=mask_dn, sem='relaxed')
    if HAS_D:
        tl.atomic_add(dD_ptr + ch, dD_acc, mask=mask_d, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + ch, dbias_acc, mask=mask_d, sem='relaxed')
    tl.debug_barrier()


@triton.jit
def _ss2d_scan_bwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
    states_ptr, gout_ptr,
    du_acc_ptr, du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr,
    dbias_ptr,
    n_batch, dim, seqlen, height, width, dstate, n_chunks_row, n_chunks_col,
    n_chunks_max,
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    ACC_CG: tl.constexpr, COL_TILE: tl.constexpr, COL_W: tl.constexpr,
    H_PAD: tl.constexpr, TILE_L: tl.constexpr,
):
    pid = tl.program_id(0)
    bidx = pid % n_batch
    d0 = (pid // n_batch) * BLOCK_D
    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_d = offs_d < dim
    mask_n = offs_n < dstate
    mask_dn = mask_d[:, None] & mask_n[None, :]
    # the backward of direction k walks it from its end: in the order
    # 0, 2, 1, 3 each one again starts where the previous one ended
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, mask_d, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks_row, n_chunks_max, 0, True, False,
                   HAS_D, HAS_BIAS, SOFTPLUS, BLOCK_D, BLOCK_N, ACC_CG,
                   False, BLOCK_L, COL_W, H_PAD)
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, mask_d, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks_row, n_chunks_max, 2, False,
                   False, HAS_D, HAS_BIAS, SOFTPLUS, BLOCK_D, BLOCK_N,
                   ACC_CG, False, BLOCK_L, COL_W, H_PAD)
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, mask_d, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks_col, n_chunks_max, 1, False,
                   False, HAS_D, HAS_BIAS, SOFTPLUS, BLOCK_D, BLOCK_N,
                   ACC_CG, COL_TILE, TILE_L, COL_W, H_PAD)
    _bwd_direction(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   states_ptr, gout_ptr, du_acc_ptr, du_ptr, ddelta_ptr,
                   dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, bidx, offs_d,
                   offs_n, mask_d, mask_n, mask_dn, dim, seqlen, height,
                   width, dstate, n_chunks_col, n_chunks_max, 3, False, True,
                   HAS_D, HAS_BIAS, SOFTPLUS, BLOCK_D, BLOCK_N, ACC_CG,
                   COL_TILE, TILE_L, COL_W, H_PAD)


class SS2DScanConfig(NamedTuple):
    """Launch configuration: channels per program, steps per chunk, warps;
    ``acc_cg`` loads the accumulator with ``.cg`` (L2 only); ``col_w`` > 0
    runs the column directions in tiles of ``col_w`` whole columns (loads
    coalesced along the rows of the map; 0: step by step, W apart).
    Forward and backward must share ``block_l`` and ``col_w`` (they define
    the saved chunk states)."""
    block_d: int
    block_l: int
    num_warps: int
    acc_cg: bool = True
    col_w: int = 0


#: Largest (BLOCK_D x BLOCK_N x chunk) register tile of a column tile;
#: taller maps fall back to the step-by-step column walk.
MAX_TILE_ELEMENTS = 1 << 14


def _largest_divisor_block(n: int, cap: int) -> int:
    """The largest power of two <= ``cap`` that divides ``n``."""
    block = 1
    while block * 2 <= cap and n % (block * 2) == 0:
        block *= 2
    return block


def default_config(dim: int,
                   dstate: int,
                   backward: bool,
                   height: int = 0) -> SS2DScanConfig:
    """Launch configuration by problem size (``height``: rows of the map,
    0 if unknown).

    **N=1, 33 <= H <= 64** (column tiles padded to 64 rows; VMamba-T's
    stage 1 at 224², the one size swept so far): column tiles of 4
    columns, accumulator loads without ``.cg``, row chunks of 128 steps;
    forward (2 channels, 4 warps), backward (1 channel, 2 warps). Kernel
    times on an H200, ``benchmark_ss2d.py --sweep`` at stage 1 batch 128
    bf16, (block_d, block_l, warps, acc_cg, col_w): forward / backward ms

    ====================  =====  =====  ================================
    (2, 128, 2, cg, 0)    3.815  7.394  former forward default
    (4, 128, 4, cg, 0)    3.694  7.620  former backward default
    (2, 256, 2, cg, 0)    2.470  6.507  best step by step (both)
    (2, 128, 4, cg, 4)    2.212  7.354
    (2, 128, 4, nocg, 4)  2.159  7.282  **forward**
    (1, 128, 2, cg, 4)    2.912  6.290
    (1, 128, 2, nocg, 4)  2.713  6.171  **backward**
    (2, 128, 8, nocg, 4)  2.466  10.259
    (2, 128, 4, nocg, 8)  2.576  7.080
    (2, 128, 4, nocg, 16) 3.459  9.670
    ====================  =====  =====  ================================

    Forward and backward must share ``block_l`` and ``col_w``: the chosen
    pair costs 2.16 + 6.17 = 8.33 ms, against 3.82 + 7.62 = 11.43 ms for
    the former defaults (1.37x) and 2.47 + 6.51 = 8.98 ms for the best
    step-by-step pair. Without ``.cg`` each of the four kernels timed both
    ways was 1-7% faster; it is safe because the bar.sync between
    directions orders the program's global memory accesses. Registers on
    sm_90a (ptxas ``-v``, no spills), forward / backward, bf16 and fp32:
    Triton 3.8 77 / 128 and 80 / 153; Triton 3.6 89 / 163 and 94 / 163
    (former defaults: 70 / 168 both dtypes on 3.8; 79 / 189 and 72 / 158
    on 3.6).

    **Everywhere else** the former defaults, taken from the plain
    selective-scan kernels' H100 sweeps (``benchmarks/NOTES.md`` attempts
    4-7): N=1 (2, 128) tiles with 2 warps forward and (4, 128) with 4 warps
    backward, N>1 (2, 16) with one warp, ``.cg``, column directions step by
    step. Not swept there, so not changed: at H <= 32 (VMamba-T stages
    2-4) the fused core already beat the unfused one with them (bf16
    forward 1.20 / 0.76 / 0.87 ms against 1.64 / 1.38 / 1.18 at stages
    2 / 3 / 4), and taller maps would need tiles of 128+ padded rows, for
    which ptxas gives the pair above 148 / 237 registers (Triton 3.8);
    N>1 tiles are N times larger. ``benchmark_ss2d.py --sweep`` times both
    layouts at any shape.
    """
    if dstate == 1 and 32 < height <= 64:
        if backward:
            return SS2DScanConfig(1, 128, 2, acc_cg=False, col_w=4)
        return SS2DScanConfig(
            _largest_divisor_block(dim, 2), 128, 4, acc_cg=False, col_w=4)
    if dstate == 1:
        if backward:
            return SS2DScanConfig(_largest_divisor_block(dim, 4), 128, 4)
        return SS2DScanConfig(_largest_divisor_block(dim, 2), 128, 2)
    return SS2DScanConfig(_largest_divisor_block(dim, 2), 16, 1)


class _Geometry(NamedTuple):
    """Chunking of the row and column directions (kernel arguments);
    ``tile_l`` is the column directions' chunk length."""
    n_chunks_row: int
    n_chunks_col: int
    n_chunks_max: int
    col_tile: bool
    col_w: int
    h_pad: int
    tile_l: int


def num_state_chunks(height: int, width: int, block_l: int,
                     col_w: int) -> int:
    """Chunk-start states saved per (batch, direction, channel), i.e.
    ``states.shape[3]``: the most chunks of any direction (row chunks of
    ``block_l`` steps, column chunks of ``col_w`` columns, or of
    ``block_l`` steps when ``col_w`` is 0). Plain integer arithmetic, so
    shape functions can call it."""
    n_row = -(-(height * width) // block_l)
    if not col_w:
        return n_row
    return max(n_row, -(-width // col_w))


def _geometry(seqlen: int, height: int, width: int, block_d: int,
              block_n: int, config: SS2DScanConfig) -> _Geometry:
    n_row = cdiv(seqlen, config.block_l)
    h_pad = next_power_of_2(height)
    col_w = config.col_w
    if col_w and block_d * block_n * h_pad * col_w > MAX_TILE_ELEMENTS:
        col_w = 0
    n_max = num_state_chunks(height, width, config.block_l, col_w)
    if not col_w:  # column directions chunked as the row ones
        return _Geometry(n_row, n_row, n_max, False, 0, 1, config.block_l)
    n_col = cdiv(width, col_w)
    return _Geometry(n_row, n_col, n_max, True, col_w, h_pad, h_pad * col_w)


def forward_config(
        dim: int, dstate: int, height: int, width: int,
        config: Optional[SS2DScanConfig] = None) -> SS2DScanConfig:
    """The configuration :func:`ss2d_scan_fwd` runs with: ``config`` or
    :func:`default_config`, with ``col_w`` 0 where its column tiles do not
    fit (what the forward returns, and what fixes the shape of the saved
    states: :func:`num_state_chunks`)."""
    if config is None:
        config = default_config(dim, dstate, backward=False, height=height)
    block_n = next_power_of_2(max(dstate, 1))
    geo = _geometry(height * width, height, width, config.block_d, block_n,
                    config)
    return config._replace(col_w=geo.col_w)


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
        used (``col_w`` 0 if column tiles did not fit), which the backward
        needs.
    """
    batch, dim, seqlen = u.shape
    dstate = B.shape[2]
    config = forward_config(dim, dstate, height, width, config)
    block_n = next_power_of_2(max(dstate, 1))
    geo = _geometry(seqlen, height, width, config.block_d, block_n, config)
    out = torch.empty_like(u)
    acc = out if u.dtype == torch.float32 else torch.empty(
        u.shape, device=u.device, dtype=torch.float32)
    # with column tiles the row and column directions have different chunk
    # counts: zero the slots the shorter ones leave unwritten, so that the
    # output is deterministic (the backward never reads them)
    alloc = (torch.empty if geo.n_chunks_row == geo.n_chunks_col else
             torch.zeros)
    states = (alloc(batch, NUM_DIRECTIONS, dim, geo.n_chunks_max, dstate,
                    device=u.device, dtype=torch.float32)
              if save_states else None)
    dummy = acc  # never read: the matching HAS_* flag is off
    grid = (batch * cdiv(dim, config.block_d), )
    _ss2d_scan_fwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        acc, out, states if states is not None else dummy,
        batch, dim, seqlen, height, width, dstate, geo.n_chunks_row,
        geo.n_chunks_col, geo.n_chunks_max,
        HAS_D=D is not None, HAS_BIAS=delta_bias is not None,
        SOFTPLUS=delta_softplus, SAVE_STATES=save_states,
        BLOCK_D=config.block_d, BLOCK_L=config.block_l, BLOCK_N=block_n,
        ACC_CG=config.acc_cg, COL_TILE=geo.col_tile, COL_W=geo.col_w,
        H_PAD=geo.h_pad, TILE_L=geo.tile_l, num_warps=config.num_warps)
    return out, states, config


def ss2d_scan_bwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], delta_bias: Optional[Tensor], height: int,
        width: int, delta_softplus: bool, states: Tensor,
        fwd_config: SS2DScanConfig, grad_out: Tensor,
        config: Optional[SS2DScanConfig] = None
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Optional[Tensor],
           Optional[Tensor]]:
    """Run the backward kernel (inputs as in :func:`ss2d_scan_fwd`).

    Args:
        states: the forward's saved chunk states.
        fwd_config: the configuration the forward returned (its
            ``block_l`` and ``col_w`` define ``states``).
        grad_out: (batch, dim, L) contiguous, gradient of ``out``.
        config: channels per program, warps and ``acc_cg``; its
            ``block_l`` and ``col_w`` are ignored, and ``block_d`` is
            halved until the forward's column tiles fit.

    Returns:
        du (dtype of ``u``), ddelta (dtype of ``delta``, (batch, 4, dim, L)),
        dA (fp32), dB, dC (fp32, (batch, 4, N, L)), dD and d(delta_bias)
        (fp32, None where the input was None).
    """
    batch, dim, seqlen = u.shape
    dstate = B.shape[2]
    if config is None:
        config = default_config(dim, dstate, backward=True, height=height)
    config = config._replace(block_l=fwd_config.block_l,
                             col_w=fwd_config.col_w)
    block_n = next_power_of_2(max(dstate, 1))
    geo = _geometry(seqlen, height, width, config.block_d, block_n, config)
    while geo.col_w != fwd_config.col_w:  # the forward's tiles must fit
        config = config._replace(block_d=config.block_d // 2)
        geo = _geometry(seqlen, height, width, config.block_d, block_n,
                        config)
    assert states.shape[3] == geo.n_chunks_max, 'states of another config'
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
    grid = (batch * cdiv(dim, config.block_d), )
    _ss2d_scan_bwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        delta_bias if delta_bias is not None else dummy,
        states, grad_out,
        du_acc, du, ddelta, dA, dB, dC,
        dD if dD is not None else dummy,
        dbias if dbias is not None else dummy,
        batch, dim, seqlen, height, width, dstate, geo.n_chunks_row,
        geo.n_chunks_col, geo.n_chunks_max,
        HAS_D=D is not None, HAS_BIAS=delta_bias is not None,
        SOFTPLUS=delta_softplus,
        BLOCK_D=config.block_d, BLOCK_L=config.block_l, BLOCK_N=block_n,
        ACC_CG=config.acc_cg, COL_TILE=geo.col_tile, COL_W=geo.col_w,
        H_PAD=geo.h_pad, TILE_L=geo.tile_l, num_warps=config.num_warps)
    return du, ddelta, dA, dB, dC, dD, dbias
