# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernels of the selective scan and their launchers (no autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily, when
the ``'triton'`` backend is asked for.

Two tile layouts, chosen per call by :func:`default_config`:

* **Time-major** (forward and backward for N > 1, the Vim case):
  tiles are ``(BLOCK_T, BLOCK_N, BLOCK_D)`` with time the *slowest* axis, so
  Triton's default layout gives each thread ``BLOCK_T`` consecutive steps of
  its (state, channel) pairs in registers, lanes over channels then states.
  The recurrence is an in-thread sequential FMA chain (an associative scan
  along an axis that lives in one thread) with the carried state folded into
  step 0; the only shuffles are the sum over a few state lanes for
  ``<C_t, h_t>``. Loads of u, delta, B, C go through shared-memory layout
  conversions per chunk; tiles that are N-contiguous in memory (A, the
  segment states) are loaded as N rows of (D,), so that the loop-carried
  state keeps the math's layout (a 2D load gave it lanes on N and two
  shared-memory round trips per chunk). The forward can issue chunk c+1's
  loads before chunk c's math (``prefetch``). At small batch a long
  sequence is split into segments that run in parallel: a pre-pass
  computes each segment's end state from zero and its total decay, and
  each segment folds those of the segments before it into its incoming
  state (``n_seg``). Compared with the lane-major forward this
  cut the forward 1.4-2.5x on an H200 (``benchmarks/NOTES.md``, attempt 9).
* **Lane-major** (forward and backward for N = 1, the VMamba case; the
  N > 1 backward of states saved at another spacing): one program owns
  ``BLOCK_D`` channels of one batch element and walks the sequence in
  chunks of ``BLOCK_L`` steps; inside a chunk ``h_t = a_t h_{t-1} + b_t``
  is a ``tl.associative_scan`` over ``(BLOCK_D, BLOCK_N, BLOCK_L)`` tiles
  (time fastest: coalesced loads, scan across a warp's lanes); with
  ``prefetch`` the loads of the next chunk are issued before the math of
  the current one.

In both, the batch index varies fastest over program ids, every input is
read once and ``y`` written once in the forward.

The backward walks the chunks from the end. It recomputes ``h`` from the state
saved every ``BLOCK_L`` steps (``states``, (batch, dim, n_chunks, N) fp32,
written by either forward; for N > 1 every 8 steps, one time-major chunk,
whose loads are issued during the previous chunk's math), runs the adjoint
recurrence ``g_t = a_{t+1} g_{t+1} + C_t gy_t`` as a reverse associative
scan (time-major: a forward scan between two in-register flips, with
``a_{t+1}`` the chunk's own decays one step on; Triton's ``reverse=True``
scan shuffles even along an in-thread axis), and forms every gradient in
registers. Like the forward, a time-major backward at small batch splits
the sequence into segments; a pre-pass runs each segment's adjoint from
zero, and each segment folds those of the later ones into the adjoint
entering its last step. dB and dC are sums over the
channels of a group: each program reduces its ``BLOCK_D`` channels and adds
the result into fp32 buffers with *relaxed* atomics (Triton's default
acq_rel ordering made these adds half of the backward's time; addition
needs no ordering); dA, dD and d(delta_bias) are accumulated over the whole
sequence in registers and added once per program.

**Layouts.** u, delta, z (and grad_out, du, ddelta, dz, out) are (batch,
dim, L) views with any element strides, passed as runtime ints
``s<tensor>_{b,d,l}``; every address is ``bidx * s_b + d * s_d + t * s_l``
in int32 (the launchers refuse tensors spanning 2**31 elements or more).
Triton specialises a stride of 1 to a constant at launch, so the two
layouts that matter compile to unit-stride code: *contiguous* (s_l == 1)
and *channel-last* (s_d == 1: a transposed (batch, L, dim) tensor, or the
z half of a (batch, L, 2 dim) one, as Vim produces them). B and C stay
contiguous (batch, G, N, L). Which layout each kernel reads best:

* time-major kernels (forward, its pre-pass, backward): **channel-last**.
  Lanes hold channels, so a (T, D) tile's channels are adjacent in memory
  and load as vectors without a shared-memory transpose (offline sm_90a
  compile: 19 global loads per chunk, 9 of them vectors, vs 34 / 4 for
  contiguous tensors, at the same 168 / 128 registers fp32 / bf16).
  Contiguous tensors work as before.
* lane-major kernels (forward, backward): **contiguous**. Lanes hold time
  steps; with channel-last tensors each lane reads its own row, the loads
  are not coalesced, and the N=16 backward takes 219 registers in bf16
  instead of 168 (offline sm_90a). Vim's default backward is time-major.

Outputs take the layout of their input (:func:`_like_layout`): out and du
that of u, ddelta that of delta, dz that of z. A tensor whose strides
equal u's shares u's offsets (``*_AS_U`` constexprs, set by the
launchers): with separate offset tiles for u and delta the time-major
forward took 165 registers in bf16 instead of 128.

**Epilogue flags** (for a bidirectional scan, Vim's two directions summed
into one tensor): the forward kernels write ``out_scale * y``, or add it
to ``out`` (ACCUMULATE); the backward kernels read ``gout_scale *
grad_out`` and add dz to the tensor given (ACCUMULATE_DZ) instead of
overwriting it.
"""
import math
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, next_power_of_2, triton_interpret
from ..triton_math import silu, softplus, widen
from .reference import gate_sum_

__all__ = [
    'selective_scan_fwd', 'selective_scan_bwd', 'ScanConfig', 'default_config',
    'scan_layout', 'is_channel_last', 'TmajorFwdLaunch'
]

LOG2E = math.log2(math.e)
# Time-major forward: sequences are split (default_config) only below this
# many programs, then until at least TMAJOR_PROGRAMS run, into segments of
# at least TMAJOR_MIN_SEGMENT steps.
TMAJOR_SPLIT_BELOW = 1024
TMAJOR_PROGRAMS = 1536
TMAJOR_MIN_SEGMENT = 128
# Time-major backward: sequences are split (default_config) only below this
# many programs, then until at least TMAJOR_BWD_SEG_PROGRAMS run, into
# segments of at least TMAJOR_BWD_MIN_SEGMENT steps.
TMAJOR_BWD_SPLIT_BELOW = 1024
TMAJOR_BWD_SEG_PROGRAMS = 6144
TMAJOR_BWD_MIN_SEGMENT = 256
# Spacing of the states the N > 1 forward saves for the backward, and the
# backward's chunk (one chunk per saved state: nothing recomputed twice).
# Saved states cost 4·N/8 bytes per input element (8 for N = 16), twice
# those of a spacing of 16, for a 1.3x faster backward (NOTES.md).
TMAJOR_STATE_L = 8
# Register cap of the unsplit time-major inference forward (default_config).
TMAJOR_FWD_MAXNREG = 168
# Unsplit inference with fp32 B and C at sequence lengths in
# [TMAJOR_PIPELINE_MIN_L, TMAJOR_PIPELINE_MAX_L): the pipelined
# one-lane-per-channel tile (default_config). Faster in Vim-Ti at L = 6085
# (1248² b64), slower at L = 16385 (2048² b64): NOTES.md, 2026-12-06.
TMAJOR_PIPELINE_MIN_L = 4096
TMAJOR_PIPELINE_MAX_L = 8192


@triton.jit
def _combine(a1, b1, a2, b2):
    # (a1, b1) is the earlier segment, (a2, b2) the later one:
    # h = a2 * (a1 * h0 + b1) + b2.
    return a1 * a2, b1 * a2 + b2


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
def _rows(bidx, offs_d, stride_b, stride_d):
    """Element offsets of step 0 of channels ``offs_d`` of batch element
    ``bidx`` in a (batch, dim, L) tensor with these strides (int32, as
    every offset here: the launchers check that the tensors fit)."""
    return bidx * stride_b + offs_d * stride_d


@triton.jit
def _rows_as(AS_U: tl.constexpr, row_u, su_l, bidx, offs_d, stride_b,
             stride_d, stride_l):
    """(rows, time stride) of a tensor: those of u when the launcher found
    the same strides (AS_U), so that the compiler computes one set of
    offsets for both (separate ones for u and delta cost the time-major
    kernels 30+ registers with contiguous tensors)."""
    if AS_U:
        return row_u, su_l
    return _rows(bidx, offs_d, stride_b, stride_d), stride_l


@triton.jit
def _load_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, row_u, su_l, row_dt, sdt_l,
                bc_base, offs_d, offs_n, offs_t, mask_n, dim, seqlen, c,
                BLOCK_L: tl.constexpr, REVERSE: tl.constexpr):
    """u, delta (BLOCK_D, BLOCK_L) and B, C (BLOCK_N, BLOCK_L) of chunk
    ``c`` (in scan order) as fp32; zeros past the end of the sequence.
    ``row_*`` are the tensors' :func:`_rows`, ``s*_l`` their time strides."""
    offs_l = c * BLOCK_L + offs_t
    mask_l = offs_l < seqlen
    pos = _seq_pos(offs_l, seqlen, REVERSE)
    m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
    u = tl.load(u_ptr + (row_u[:, None] + pos[None, :] * su_l), mask=m_dl,
                other=0.0).to(tl.float32)
    dt = tl.load(delta_ptr + (row_dt[:, None] + pos[None, :] * sdt_l),
                 mask=m_dl, other=0.0).to(tl.float32)
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
    su_b, su_d, su_l, sdt_b, sdt_d, sdt_l, sz_b, sz_d, sz_l,
    so_b, so_d, so_l, out_scale,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    PREFETCH: tl.constexpr, REVERSE: tl.constexpr,
    ACCUMULATE: tl.constexpr, DT_AS_U: tl.constexpr, Z_AS_U: tl.constexpr,
    OUT_AS_U: tl.constexpr,
):
    # Tiles are (BLOCK_D, BLOCK_N, BLOCK_L): time is the fastest axis, so
    # the scan runs across the lanes of a warp, and loads are coalesced
    # when the tensors are contiguous (s*_l == 1, the preferred layout).
    # Epilogue: out = out_scale * y, or out += out_scale * y (ACCUMULATE).
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

    row_u = _rows(bidx, offs_d, su_b, su_d)  # (BLOCK_D,)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    row_z, sz_l = _rows_as(Z_AS_U, row_u, su_l, bidx, offs_d, sz_b, sz_d,
                           sz_l)
    row_o, so_l = _rows_as(OUT_AS_U, row_u, su_l, bidx, offs_d, so_b, so_d,
                           so_l)
    bc_base = (bidx * n_groups + gidx) * dstate * seqlen
    st_base = ((bidx * dim + offs_d[:, None]) * n_chunks) * dstate \
        + offs_n[None, :]
    h = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    if PREFETCH:
        u_n, dt_n, B_n, C_n = _load_chunk(u_ptr, delta_ptr, B_ptr, C_ptr,
                                          row_u, su_l, row_dt, sdt_l,
                                          bc_base, offs_d, offs_n, offs_t,
                                          mask_n, dim, seqlen, 0, BLOCK_L,
                                          REVERSE)
    for c in range(n_chunks):
        offs_l = c * BLOCK_L + offs_t
        mask_l = offs_l < seqlen
        pos = _seq_pos(offs_l, seqlen, REVERSE)
        m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
        if PREFETCH:
            # Issue the next chunk's loads before this chunk's math: their
            # latency overlaps the scan instead of stalling the next step.
            u, dt, Bt, Ct = u_n, dt_n, B_n, C_n
            u_n, dt_n, B_n, C_n = _load_chunk(
                u_ptr, delta_ptr, B_ptr, C_ptr, row_u, su_l, row_dt, sdt_l,
                bc_base, offs_d, offs_n, offs_t, mask_n, dim, seqlen, c + 1,
                BLOCK_L, REVERSE)
        else:
            u, dt, Bt, Ct = _load_chunk(u_ptr, delta_ptr, B_ptr, C_ptr,
                                        row_u, su_l, row_dt, sdt_l, bc_base,
                                        offs_d, offs_n, offs_t, mask_n, dim,
                                        seqlen, c, BLOCK_L, REVERSE)
        if HAS_BIAS:
            dt = dt + bias[:, None]
        if SOFTPLUS:
            dt = softplus(dt)

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
            zz = tl.load(z_ptr + (row_z[:, None] + pos[None, :] * sz_l),
                         mask=m_dl, other=0.0).to(tl.float32)
            y = y * silu(zz)
        y = y * out_scale
        ptr_o = out_ptr + (row_o[:, None] + pos[None, :] * so_l)
        if ACCUMULATE:
            y += tl.load(ptr_o, mask=m_dl, other=0.0).to(tl.float32)
        tl.store(ptr_o, y.to(out_ptr.dtype.element_ty), mask=m_dl)
        is_last = (offs_t == BLOCK_L - 1)[None, None, :]
        h = tl.sum(tl.where(is_last, hh, 0.0), axis=2)
    tl.store(last_ptr + (bidx * dim + offs_d[:, None]) * dstate
             + offs_n[None, :], h, mask=mask_dn)


@triton.jit
def _first(a, b):
    return a


@triton.jit
def _second(a, b):
    return b


@triton.jit
def _step_first(x, offs_t, T_IN_THREAD: tl.constexpr):
    """``x[0]`` of a (T, N, D) tile. With every thread holding all T steps
    of its elements (``T_IN_THREAD``) a reduce that keeps its first
    operand; otherwise (small tiles: Triton spreads T over lanes, and its
    cross-lane reduce does not keep operand order) a masked sum."""
    if T_IN_THREAD:
        return tl.reduce(x, 0, _first)
    return tl.sum(tl.where((offs_t == 0)[:, None, None], x, 0.0), axis=0)


@triton.jit
def _step_last(x, offs_t, BLOCK_T: tl.constexpr, T_IN_THREAD: tl.constexpr):
    """``x[BLOCK_T - 1]`` of a (T, N, D) tile (see :func:`_step_first`)."""
    if T_IN_THREAD:
        return tl.reduce(x, 0, _second)
    return tl.sum(tl.where((offs_t == BLOCK_T - 1)[:, None, None], x, 0.0),
                  axis=0)


@triton.jit
def _next_combine(x1, p1, n1, x2, p2, n2):
    """Scan state (value, the value one step before, steps so far) of
    :func:`_next_step`: associative, the previous value is the right
    operand's own when it spans two or more steps, else the left's."""
    return x2, tl.where(n2 >= 2, p2, x1), n1 + n2


@triton.jit
def _next_step(x):
    """``x`` (T, N, D) one step on along time: ``out[t] = x[t + 1]`` for
    t < T-1, ``out[T-1] = x[T-1]``. A scan over the flipped tile whose
    state carries the previous element; with every thread holding all T
    steps it compiles to register renaming (no instructions)."""
    xf = tl.flip(x, 0)
    steps = tl.full(x.shape, 1, tl.int32)
    _, prev, _ = tl.associative_scan((xf, xf, steps), 0, _next_combine)
    return tl.flip(prev, 0)


@triton.jit
def _reverse_scan_t(a, b, T_IN_THREAD: tl.constexpr):
    """``g_t = a_t g_{t+1} + b_t`` over axis 0 (time) of (T, N, D) tiles,
    from the last step. With every thread holding all T steps, a forward
    scan between two flips: a flip along an in-register axis is register
    renaming (no instructions), where Triton's ``reverse=True`` scan
    shuffles (460 SHFL per 8-step chunk in the time-major backward,
    offline sm_90). Otherwise (T over lanes) the reverse scan itself."""
    if T_IN_THREAD:
        _, g = tl.associative_scan((tl.flip(a, 0), tl.flip(b, 0)), 0,
                                   _combine)
        return tl.flip(g, 0)
    _, g = tl.associative_scan((a, b), 0, _combine, reverse=True)
    return g


@triton.jit
def _adjoint_chunk(a, gy, Ct, q_in, offs_t, BLOCK_T: tl.constexpr,
                   T_IN_THREAD: tl.constexpr):
    """The adjoint ``g_t = a_{t+1} g_{t+1} + C_t gy_t`` over one chunk of
    (T, N, D) tiles, from its last step: ``a`` the chunk's decays, ``gy``
    (T, D) the gradient reaching y, ``Ct`` (T, N), ``q_in`` (N, D) the
    adjoint a_t g_t at the first step of the later chunk. a_{t+1} for
    t < T-1 is the chunk's own decays one step on (:func:`_next_step`);
    the last step's is not needed, as its adjoint takes ``q_in``.

    Returns:
        g (T, N, D) and ``a_t g_t`` at the chunk's first step (N, D), the
        adjoint that reaches the state before the chunk.
    """
    cterm = gy[:, None, :] * Ct[:, :, None]
    c_last = q_in + _step_last(cterm, offs_t, BLOCK_T, T_IN_THREAD)
    cterm = tl.where((offs_t == BLOCK_T - 1)[:, None, None],
                     c_last[None, :, :], cterm)
    g = _reverse_scan_t(_next_step(a), cterm, T_IN_THREAD)
    return g, (_step_first(a, offs_t, T_IN_THREAD)
               * _step_first(g, offs_t, T_IN_THREAD))


@triton.jit
def _td(row, pos, stride_l):
    """(T, D) element offsets of a (batch, dim, L) tensor: channel rows
    ``row`` (:func:`_rows`) at memory positions ``pos``."""
    return row[None, :] + pos[:, None] * stride_l


@triton.jit
def _tmajor_chunk(u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt, sdt_l,
                  bc_base, offs_t, offs_n, mask_d, bias, A2, h, dstate,
                  seqlen, c, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
                  BLOCK_T: tl.constexpr, REVERSE: tl.constexpr,
                  T_IN_THREAD: tl.constexpr):
    """One chunk of the time-major scan: ``BLOCK_T`` steps from state ``h``.

    Tiles are (BLOCK_T, BLOCK_N, BLOCK_D) with time the *slowest* axis, so
    Triton's default layout keeps a thread's time steps in its registers
    (lanes over channels, then states): the associative scan over axis 0 is
    a sequential FMA chain inside each thread, with no shuffles, and the
    carried state enters by folding it into step 0.

    u and delta are read at :func:`_td` offsets (their own strides).

    Returns:
        u, dt (T, D) fp32 (dt after bias/softplus, 0 on padded steps, so
        that a = 1 and b = 0 carry the state through them); hh (T, N, D)
        the states after every step; the memory positions ``pos`` (T,) of
        the chunk's steps (for :func:`_td`), the (T, D) mask, the offsets
        ``ptr_tn`` (T, N) of B and C and their mask; delta + bias before
        the softplus (T, D), B (T, N) and the decays a (T, N, D) for the
        backward.
    """
    u, dt, Bt = _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt,
                              sdt_l, bc_base, offs_t, offs_n, mask_d, dstate,
                              seqlen, c, BLOCK_T, REVERSE)
    return _tmajor_math(u, dt, Bt, bc_base, offs_t, offs_n, mask_d, bias, A2,
                        h, dstate, seqlen, c, HAS_BIAS, SOFTPLUS, BLOCK_T,
                        REVERSE, T_IN_THREAD)


@triton.jit
def _tmajor_index(bc_base, offs_t, offs_n, mask_d, dstate, seqlen, c,
                  BLOCK_T: tl.constexpr, REVERSE: tl.constexpr,
                  BC_NL: tl.constexpr = False):
    """Chunk ``c`` of the time-major kernels: memory positions ``pos``
    (T,), the (T, D) mask, offsets ``ptr_tn`` (T, N) of B and C and their
    mask, and the (T,) mask of steps inside the sequence. B and C are
    contiguous (batch, G, N, L) tensors, or with ``BC_NL`` transposed views
    of contiguous (batch, G, L, N) ones (stride 1 along N)."""
    offs_l = c * BLOCK_T + offs_t
    mask_l = offs_l < seqlen
    pos = _seq_pos(offs_l, seqlen, REVERSE)
    m_td = mask_l[:, None] & mask_d[None, :]
    if BC_NL:
        ptr_tn = bc_base + offs_n[None, :] + pos[:, None] * dstate
    else:
        ptr_tn = bc_base + offs_n[None, :] * seqlen + pos[:, None]
    m_tn = mask_l[:, None] & (offs_n[None, :] < dstate)
    return pos, m_td, ptr_tn, m_tn


@triton.jit
def _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt, sdt_l,
                  bc_base, offs_t, offs_n, mask_d, dstate, seqlen, c,
                  BLOCK_T: tl.constexpr, REVERSE: tl.constexpr,
                  BC_NL: tl.constexpr = False, WIDEN_BC: tl.constexpr = False,
                  WIDEN_UD: tl.constexpr = False):
    """u, delta (T, D) and B (T, N) of chunk ``c``, in their own dtypes
    (zeros past the end; B in fp32 with WIDEN_BC, u and delta with
    WIDEN_UD, :func:`widen`); B's layout as :func:`_tmajor_index`."""
    pos, m_td, ptr_tn, m_tn = _tmajor_index(bc_base, offs_t, offs_n, mask_d,
                                            dstate, seqlen, c, BLOCK_T,
                                            REVERSE, BC_NL)
    u = tl.load(u_ptr + _td(row_u, pos, su_l), mask=m_td, other=0.0)
    dt = tl.load(delta_ptr + _td(row_dt, pos, sdt_l), mask=m_td, other=0.0)
    Bt = tl.load(B_ptr + ptr_tn, mask=m_tn, other=0.0)
    if WIDEN_BC:
        Bt = widen(Bt)
    if WIDEN_UD:
        u = widen(u)
        dt = widen(dt)
    return u, dt, Bt


@triton.jit
def _tmajor_loads_bc(u_ptr, delta_ptr, B_ptr, C_ptr, row_u, su_l, row_dt,
                     sdt_l, bc_base, offs_t, offs_n, mask_d, dstate, seqlen, c,
                     BLOCK_T: tl.constexpr, REVERSE: tl.constexpr,
                     BC_NL: tl.constexpr = False,
                     WIDEN_BC: tl.constexpr = False,
                     WIDEN_UD: tl.constexpr = False):
    """:func:`_tmajor_loads` plus C (T, N), and the chunk's memory
    positions ``pos`` (T,) and (T, D) mask for the other (T, D) loads."""
    u, dt, Bt = _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt,
                              sdt_l, bc_base, offs_t, offs_n, mask_d, dstate,
                              seqlen, c, BLOCK_T, REVERSE, BC_NL, WIDEN_BC,
                              WIDEN_UD)
    pos, m_td, ptr_tn, m_tn = _tmajor_index(bc_base, offs_t, offs_n, mask_d,
                                            dstate, seqlen, c, BLOCK_T,
                                            REVERSE, BC_NL)
    Ct = tl.load(C_ptr + ptr_tn, mask=m_tn, other=0.0)
    if WIDEN_BC:
        Ct = widen(Ct)
    return u, dt, Bt, Ct, pos, m_td


@triton.jit
def _tmajor_fwd_loads(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u,
                      su_l, row_dt, sdt_l, row_z, sz_l, row_o, so_l, bc_base,
                      offs_t, offs_n, mask_d, dstate, seqlen, c,
                      HAS_Z: tl.constexpr, ACCUMULATE: tl.constexpr,
                      BLOCK_T: tl.constexpr, REVERSE: tl.constexpr,
                      BC_NL: tl.constexpr, WIDEN_BC: tl.constexpr = False,
                      WIDEN_UD: tl.constexpr = False):
    """Every load of chunk ``c`` of the time-major forward, in the tensors'
    own dtypes (zeros past the end; B and C in fp32 with WIDEN_BC, u and
    delta with WIDEN_UD): u, delta (T, D), B, C (T, N), z and the output
    to accumulate onto (T, D) (u when absent, never used)."""
    u, dt, Bt, Ct, pos, m_td = _tmajor_loads_bc(
        u_ptr, delta_ptr, B_ptr, C_ptr, row_u, su_l, row_dt, sdt_l, bc_base,
        offs_t, offs_n, mask_d, dstate, seqlen, c, BLOCK_T, REVERSE, BC_NL,
        WIDEN_BC, WIDEN_UD)
    zz = u
    if HAS_Z:
        zz = tl.load(z_ptr + _td(row_z, pos, sz_l), mask=m_td, other=0.0)
    prev = u
    if ACCUMULATE:
        prev = tl.load(out_ptr + _td(row_o, pos, so_l), mask=m_td, other=0.0)
    return u, dt, Bt, Ct, zz, prev


@triton.jit
def _step_dt(dt, bias, m_td, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr):
    """From loaded delta (T, D), any float dtype: delta + bias before the
    softplus, and the step dt (0 outside ``m_td``, so that a = 1 carries
    the state through padded steps), fp32."""
    dt = dt.to(tl.float32)
    if HAS_BIAS:
        dt = dt + bias[None, :]
    dt_in = dt
    if SOFTPLUS:
        dt = softplus(dt)
    return dt_in, tl.where(m_td, dt, 0.0)


@triton.jit
def _tmajor_decays(dt, bias, A2, m_td, HAS_BIAS: tl.constexpr,
                   SOFTPLUS: tl.constexpr):
    """:func:`_step_dt`'s two, and the decays a = exp(dt A), (T, N, D)
    (``A2`` is A * log2(e), (N, D))."""
    dt_in, dt = _step_dt(dt, bias, m_td, HAS_BIAS, SOFTPLUS)
    return dt_in, dt, tl.exp2(dt[:, None, :] * A2[None, :, :])


@triton.jit
def _tmajor_math(u, dt, Bt, bc_base, offs_t, offs_n, mask_d, bias, A2, h,
                 dstate, seqlen, c, HAS_BIAS: tl.constexpr,
                 SOFTPLUS: tl.constexpr, BLOCK_T: tl.constexpr,
                 REVERSE: tl.constexpr, T_IN_THREAD: tl.constexpr):
    """The scan of :func:`_tmajor_chunk` over loaded u, delta, B (any
    float dtype); same returns."""
    pos, m_td, ptr_tn, m_tn = _tmajor_index(bc_base, offs_t, offs_n, mask_d,
                                            dstate, seqlen, c, BLOCK_T,
                                            REVERSE)
    u = u.to(tl.float32)
    Bt = Bt.to(tl.float32)
    dt_in, dt, a = _tmajor_decays(dt, bias, A2, m_td, HAS_BIAS, SOFTPLUS)
    b = (dt * u)[:, None, :] * Bt[:, :, None]
    hh = _states(a, b, h, offs_t, T_IN_THREAD)
    return u, dt, hh, pos, m_td, ptr_tn, m_tn, dt_in, Bt, a


@triton.jit
def _states(a, b, h, offs_t, T_IN_THREAD: tl.constexpr):
    """The states hh (T, N, D) of a chunk with decays ``a`` and inputs
    ``b`` (T, N, D) from the carried state ``h`` (N, D): h folded into
    step 0 (b_0 <- a_0 h + b_0), then the scan over T."""
    first = (offs_t == 0)[:, None, None]
    b0 = (_step_first(a, offs_t, T_IN_THREAD) * h
          + _step_first(b, offs_t, T_IN_THREAD))
    b = tl.where(first, b0[None, :, :], b)
    _, hh = tl.associative_scan((a, b), 0, _combine)
    return hh


@triton.jit
def _td_steps(u, dt, offs_t, mask_d, bias, seqlen, c, HAS_BIAS: tl.constexpr,
              SOFTPLUS: tl.constexpr, BLOCK_T: tl.constexpr):
    """Chunk ``c``'s steps dt (bias, softplus; 0 past the end) and dt * u,
    (T, D) fp32, from its loaded u and delta, in their layout."""
    m_td = ((c * BLOCK_T + offs_t) < seqlen)[:, None] & mask_d[None, :]
    _, dt = _step_dt(dt, bias, m_td, HAS_BIAS, SOFTPLUS)
    return dt, dt * u.to(tl.float32)


@triton.jit
def _tmajor_scan_steps(dt, dtu, Bt, offs_t, A2, h,
                       T_IN_THREAD: tl.constexpr):
    """The states hh (T, N, D) of a chunk from state ``h`` given its steps
    dt, dt * u (T, D) and B (T, N)."""
    a = tl.exp2(dt[:, None, :] * A2[None, :, :])
    b = dtu[:, None, :] * Bt.to(tl.float32)[:, :, None]
    return _states(a, b, h, offs_t, T_IN_THREAD)


@triton.jit
def _rows_tile(ptr, row, mask_d, dstate, BLOCK_N: tl.constexpr,
               BLOCK_D: tl.constexpr, stride_n=1):
    """An (N, D) fp32 tile whose element (n, d) is at ``ptr + row[d] + n *
    stride_n`` (0 for n >= dstate or where ``mask_d``, a (D,) mask or
    True, is False), from N loads of (D,) rows (the time-major and step-loop
    kernels' A and state tiles). A 2D
    load of this N-contiguous tile makes Triton lay it out for its own
    coalescing (lanes on N) and then convert every tile that meets it,
    the scan state among them, through shared memory in every chunk; rows
    leave the layout to the math."""
    offs_n = tl.arange(0, BLOCK_N)
    x = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    for n in tl.static_range(BLOCK_N):
        v = tl.load(ptr + row + n * stride_n, mask=mask_d & (n < dstate),
                    other=0.0)
        x = tl.where(offs_n[:, None] == n, v[None, :], x)
    return x


@triton.jit
def _rows_tile_store(ptr, row, x, mask_d, dstate, BLOCK_N: tl.constexpr):
    """Store an (N, D) tile at ``ptr + row[d] + n`` as N rows of (D,)
    (:func:`_rows_tile` says why). A row is picked with a sum whose other
    terms are -0.0 (x + -0.0 == x), which the compiler folds away."""
    offs_n = tl.arange(0, BLOCK_N)
    for n in tl.static_range(BLOCK_N):
        v = tl.sum(tl.where(offs_n[:, None] == n, x, -0.0), axis=0)
        tl.store(ptr + row + n, v, mask=mask_d & (n < dstate))


@triton.jit
def _tmajor_setup(pid, A_ptr, bias_ptr, n_batch, dim, dstate,
                  dim_per_group, n_groups, seqlen, HAS_BIAS: tl.constexpr,
                  BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """Per-program constants of the time-major kernels."""
    bidx, d0 = _program_rows(pid, dim, n_batch, BLOCK_D)
    gidx = d0 // dim_per_group
    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_d = offs_d < dim
    mask_nd = (offs_n[:, None] < dstate) & mask_d[None, :]
    A2 = _rows_tile(A_ptr, offs_d * dstate, mask_d, dstate, BLOCK_N,
                    BLOCK_D) * 1.4426950408889634
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0)
    else:
        bias = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    bc_base = (bidx * n_groups + gidx) * dstate * seqlen
    return bidx, offs_d, offs_n, mask_d, mask_nd, A2, bias, bc_base


@triton.jit
def _seg_buffers_at(bidx, seg, offs_d, n_seg, dim, dstate):
    """Where segment ``seg``'s pre-pass results for channels ``offs_d``
    lie: hend (batch, n_seg, N, dim) holds state n of channel d at
    ``hend_row[d] + n * dim``, dtsum (batch, n_seg, dim) at
    ``dtsum_at[d]``. A segment's channels side by side, so that the
    pre-pass's stores and the main kernel's loads of them are coalesced
    (:class:`TmajorFwdLaunch` allocates these shapes)."""
    seg_at = bidx * n_seg + seg
    return seg_at * dstate * dim + offs_d, seg_at * dim + offs_d


@triton.jit
def _selective_scan_fwd_seg_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, bias_ptr, hend_ptr, dtsum_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_seg,
    chunks_per_seg, su_b, su_d, su_l, sdt_b, sdt_d, sdt_l,
    HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
    REVERSE: tl.constexpr, DT_AS_U: tl.constexpr, T_IN_THREAD: tl.constexpr,
    PREFETCH: tl.constexpr, BC_NL: tl.constexpr,
    WIDEN_BC: tl.constexpr = False, WIDEN_UD: tl.constexpr = False,
    STAGES: tl.constexpr = 1, TD_FIRST: tl.constexpr = False,
):
    """Pass 1 of a sequence split: the state at the end of segment ``s``
    started from zero (hend, (batch, n_seg, N, dim)), and the sum of delta
    over it (dtsum, (batch, n_seg, dim)), whose exp2(A2 * dtsum) carries an
    incoming state across the segment. Segments 0 .. n_seg-2 only (full
    ones). PREFETCH issues chunk c+1's loads before chunk c's math;
    WIDEN_BC widens B where it is loaded, WIDEN_UD u and delta
    (:func:`widen`); STAGES > 1 software-pipelines the chunk loop (Triton's
    pipeliner: the loads as asynchronous copies to shared memory, STAGES -
    1 chunks ahead; ``ScanConfig.pre_stages``). TD_FIRST does the per-step
    (T, D) math in the loads' layout (``ScanConfig.pre_td_first``; with
    the register prefetch, whatever PREFETCH and STAGES say)."""
    pid = tl.program_id(0)
    seg = tl.program_id(1)
    bidx, offs_d, offs_n, mask_d, mask_nd, A2, bias, bc_base = \
        _tmajor_setup(pid, A_ptr, bias_ptr, n_batch, dim, dstate,
                      dim_per_group, n_groups, seqlen, HAS_BIAS, BLOCK_D,
                      BLOCK_N)
    row_u = _rows(bidx, offs_d, su_b, su_d)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    offs_t = tl.arange(0, BLOCK_T)
    h = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    dsum = tl.zeros((BLOCK_T, BLOCK_D), dtype=tl.float32)
    c0 = seg * chunks_per_seg
    if TD_FIRST:
        # The per-step (T, D) math of chunk c + 1 at the end of chunk c's
        # iteration, in the loads' layout (each value on one lane), carried
        # to the next: Triton 3.6's layout pass does not move the
        # conversion to the scan's tile (two lanes per value at 16 x 8,
        # four at 8 x 16) back over the loop's carried values, so that
        # math runs once per value (offline sm_90 SASS of Vim's inference
        # pre-pass, instructions per state update: 16 x 8 6.28 -> 5.33,
        # 8 x 16 7.75 -> 5.58; timed, only 16 x 8 is faster:
        # benchmarks/NOTES.md, 2026-12-05, seventh part).
        u, dt, Bt = _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u, su_l,
                                  row_dt, sdt_l, bc_base, offs_t, offs_n,
                                  mask_d, dstate, seqlen, c0, BLOCK_T,
                                  REVERSE, BC_NL, WIDEN_BC, WIDEN_UD)
        dt, dtu = _td_steps(u, dt, offs_t, mask_d, bias, seqlen, c0,
                            HAS_BIAS, SOFTPLUS, BLOCK_T)
        for c in tl.range(c0, c0 + chunks_per_seg):
            u1, dt1, Bt1 = _tmajor_loads(
                u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt, sdt_l,
                bc_base, offs_t, offs_n, mask_d, dstate, seqlen, c + 1,
                BLOCK_T, REVERSE, BC_NL, WIDEN_BC, WIDEN_UD)
            hh = _tmajor_scan_steps(dt, dtu, Bt, offs_t, A2, h, T_IN_THREAD)
            dsum += dt
            h = _step_last(hh, offs_t, BLOCK_T, T_IN_THREAD)
            Bt = Bt1
            dt, dtu = _td_steps(u1, dt1, offs_t, mask_d, bias, seqlen, c + 1,
                                HAS_BIAS, SOFTPLUS, BLOCK_T)
    else:
        if PREFETCH:
            nxt = _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt,
                                sdt_l, bc_base, offs_t, offs_n, mask_d,
                                dstate, seqlen, c0, BLOCK_T, REVERSE, BC_NL,
                                WIDEN_BC, WIDEN_UD)
        for c in tl.range(c0, c0 + chunks_per_seg, num_stages=STAGES):
            if PREFETCH:  # chunk c + 1's loads in flight during c's math
                u, dt, Bt = nxt
                nxt = _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u, su_l,
                                    row_dt, sdt_l, bc_base, offs_t, offs_n,
                                    mask_d, dstate, seqlen, c + 1, BLOCK_T,
                                    REVERSE, BC_NL, WIDEN_BC, WIDEN_UD)
            else:
                u, dt, Bt = _tmajor_loads(u_ptr, delta_ptr, B_ptr, row_u,
                                          su_l, row_dt, sdt_l, bc_base,
                                          offs_t, offs_n, mask_d, dstate,
                                          seqlen, c, BLOCK_T, REVERSE, BC_NL,
                                          WIDEN_BC, WIDEN_UD)
            _, dt, hh, _, _, _, _, _, _, _ = _tmajor_math(
                u, dt, Bt, bc_base, offs_t, offs_n, mask_d, bias, A2, h,
                dstate, seqlen, c, HAS_BIAS, SOFTPLUS, BLOCK_T, REVERSE,
                T_IN_THREAD)
            dsum += dt
            h = _step_last(hh, offs_t, BLOCK_T, T_IN_THREAD)
    hend_row, dtsum_at = _seg_buffers_at(bidx, seg, offs_d, n_seg, dim,
                                         dstate)
    tl.store(hend_ptr + hend_row[None, :] + offs_n[:, None] * dim, h,
             mask=mask_nd)
    tl.store(dtsum_ptr + dtsum_at, tl.sum(dsum, axis=0), mask=mask_d)


@triton.jit
def _selective_scan_fwd_tmajor_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    out_ptr, states_ptr, last_ptr, hend_ptr, dtsum_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_chunks,
    n_state_chunks, n_seg, chunks_per_seg,
    su_b, su_d, su_l, sdt_b, sdt_d, sdt_l, sz_b, sz_d, sz_l,
    so_b, so_d, so_l, out_scale,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
    STATE_L: tl.constexpr, REVERSE: tl.constexpr, ACCUMULATE: tl.constexpr,
    DT_AS_U: tl.constexpr, Z_AS_U: tl.constexpr, OUT_AS_U: tl.constexpr,
    T_IN_THREAD: tl.constexpr, PREFETCH: tl.constexpr, BC_NL: tl.constexpr,
    GATE_SUM: tl.constexpr, WIDEN_BC: tl.constexpr = False,
    WIDEN_UD: tl.constexpr = False, STAGES: tl.constexpr = 1,
):
    """Forward, time-major tiles (see :func:`_tmajor_chunk`). Program
    (pid, seg) runs segment ``seg`` of ``chunks_per_seg`` chunks; its
    incoming state is folded from pass 1's per-segment results. States for
    the backward are saved every ``STATE_L`` steps (the backward's chunk).
    Epilogue (y gated by z when HAS_Z): out = out_scale * y, or out +=
    out_scale * y (ACCUMULATE); with GATE_SUM (and ACCUMULATE) the gate is
    on the sum, out = out_scale * (out + y) silu(z), y ungated. WIDEN_BC
    widens B and C where they are loaded, WIDEN_UD u and delta
    (:func:`widen`); STAGES > 1 software-pipelines the chunk loop as in
    :func:`_selective_scan_fwd_seg_kernel` (``ScanConfig.stages``; PREFETCH
    off then)."""
    pid = tl.program_id(0)
    seg = tl.program_id(1)
    bidx, offs_d, offs_n, mask_d, mask_nd, A2, bias, bc_base = \
        _tmajor_setup(pid, A_ptr, bias_ptr, n_batch, dim, dstate,
                      dim_per_group, n_groups, seqlen, HAS_BIAS, BLOCK_D,
                      BLOCK_N)
    row_u = _rows(bidx, offs_d, su_b, su_d)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    row_z, sz_l = _rows_as(Z_AS_U, row_u, su_l, bidx, offs_d, sz_b, sz_d,
                           sz_l)
    row_o, so_l = _rows_as(OUT_AS_U, row_u, su_l, bidx, offs_d, so_b, so_d,
                           so_l)
    offs_t = tl.arange(0, BLOCK_T)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
    h = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    for s in range(0, seg):  # incoming state: fold segments 0 .. seg-1
        hend_row, dtsum_at = _seg_buffers_at(bidx, s, offs_d, n_seg, dim,
                                             dstate)
        dts = tl.load(dtsum_ptr + dtsum_at, mask=mask_d, other=0.0)
        he = _rows_tile(hend_ptr, hend_row, mask_d, dstate, BLOCK_N, BLOCK_D,
                        dim)
        h = tl.exp2(A2 * dts[None, :]) * h + he
    st_base = (bidx * dim + offs_d[None, :]) * n_state_chunks * dstate \
        + offs_n[:, None]
    c0 = seg * chunks_per_seg
    c1 = tl.minimum(c0 + chunks_per_seg, n_chunks)
    if PREFETCH:
        nxt = _tmajor_fwd_loads(
            u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u, su_l,
            row_dt, sdt_l, row_z, sz_l, row_o, so_l, bc_base, offs_t, offs_n,
            mask_d, dstate, seqlen, c0, HAS_Z, ACCUMULATE, BLOCK_T, REVERSE,
            BC_NL, WIDEN_BC, WIDEN_UD)
    for c in tl.range(c0, c1, num_stages=STAGES):
        if SAVE_STATES:
            tl.store(states_ptr + st_base + (c * BLOCK_T // STATE_L) * dstate,
                     h, mask=mask_nd & ((c * BLOCK_T) % STATE_L == 0))
        if PREFETCH:  # chunk c + 1's loads in flight during c's math
            u, dt, Bt, Ct, zz, prev = nxt
            nxt = _tmajor_fwd_loads(
                u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u, su_l,
                row_dt, sdt_l, row_z, sz_l, row_o, so_l, bc_base, offs_t,
                offs_n, mask_d, dstate, seqlen, c + 1, HAS_Z, ACCUMULATE,
                BLOCK_T, REVERSE, BC_NL, WIDEN_BC, WIDEN_UD)
        else:
            u, dt, Bt, Ct, zz, prev = _tmajor_fwd_loads(
                u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u, su_l,
                row_dt, sdt_l, row_z, sz_l, row_o, so_l, bc_base, offs_t,
                offs_n, mask_d, dstate, seqlen, c, HAS_Z, ACCUMULATE,
                BLOCK_T, REVERSE, BC_NL, WIDEN_BC, WIDEN_UD)
        u, dt, hh, pos, m_td, ptr_tn, m_tn, _, _, _ = _tmajor_math(
            u, dt, Bt, bc_base, offs_t, offs_n, mask_d, bias, A2, h, dstate,
            seqlen, c, HAS_BIAS, SOFTPLUS, BLOCK_T, REVERSE, T_IN_THREAD)
        y = tl.sum(hh * Ct.to(tl.float32)[:, :, None], axis=1)  # (T, D)
        if HAS_D:
            y += Dv[None, :] * u
        if GATE_SUM:  # the gate on the sum: (prev + y) silu(z) out_scale
            y += prev.to(tl.float32)
        if HAS_Z:
            zz = zz.to(tl.float32)
            y = y * silu(zz)
        y = y * out_scale
        if ACCUMULATE:
            if not GATE_SUM:
                y += prev.to(tl.float32)
        tl.store(out_ptr + _td(row_o, pos, so_l),
                 y.to(out_ptr.dtype.element_ty), mask=m_td)
        h = _step_last(hh, offs_t, BLOCK_T, T_IN_THREAD)
    if c1 == n_chunks:  # the segment that holds the final step
        _rows_tile_store(last_ptr, (bidx * dim + offs_d) * dstate, h, mask_d,
                         dstate, BLOCK_N)


@triton.jit
def _tmajor_bwd_loads(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, gout_ptr, row_u,
                      su_l, row_dt, sdt_l, row_z, sz_l, row_g, sg_l, bc_base,
                      offs_t, offs_n, mask_d, dstate, seqlen, c,
                      HAS_Z: tl.constexpr, BLOCK_T: tl.constexpr,
                      REVERSE: tl.constexpr):
    """Every load of chunk ``c`` of the time-major backward, in the
    tensors' own dtypes (zeros past the end): u, delta (T, D), B, C (T, N),
    grad_out and z (u when HAS_Z is off, never used)."""
    u, dt, Bt, Ct, pos, m_td = _tmajor_loads_bc(
        u_ptr, delta_ptr, B_ptr, C_ptr, row_u, su_l, row_dt, sdt_l, bc_base,
        offs_t, offs_n, mask_d, dstate, seqlen, c, BLOCK_T, REVERSE)
    gout = tl.load(gout_ptr + _td(row_g, pos, sg_l), mask=m_td, other=0.0)
    if HAS_Z:
        zz = tl.load(z_ptr + _td(row_z, pos, sz_l), mask=m_td, other=0.0)
    else:
        zz = u
    return u, dt, Bt, Ct, gout, zz


@triton.jit
def _selective_scan_bwd_tmajor_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    states_ptr, gout_ptr, qend_ptr, dtsum_ptr,
    du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dz_ptr, dbias_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_state_chunks,
    n_seg, blocks_per_seg, su_b, su_d, su_l, sdt_b, sdt_d, sdt_l,
    sz_b, sz_d, sz_l, sg_b, sg_d, sg_l, sdu_b, sdu_d, sdu_l,
    sddt_b, sddt_d, sddt_l, sdz_b, sdz_d, sdz_l, gout_scale,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
    STATE_L: tl.constexpr, REVERSE: tl.constexpr,
    ACCUMULATE_DZ: tl.constexpr, DT_AS_U: tl.constexpr, Z_AS_U: tl.constexpr,
    G_AS_U: tl.constexpr, DU_AS_U: tl.constexpr, DDT_AS_U: tl.constexpr,
    DZ_AS_U: tl.constexpr, PREFETCH: tl.constexpr, T_IN_THREAD: tl.constexpr,
):
    """Backward on time-major tiles (the layout of :func:`_tmajor_chunk`).

    Walks the saved-state blocks (``STATE_L`` steps) from the end; a block
    of R = STATE_L / BLOCK_T chunks is done chunk by chunk from its last,
    each chunk's incoming state recomputed from the block's saved state.
    Per chunk: h by the in-thread forward scan, the adjoint
    ``g_t = a_{t+1} g_{t+1} + C_t gy_t`` by an in-thread reverse scan
    (:func:`_reverse_scan_t`; the carry from the later chunk folded into
    the last step; a_{t+1} the chunk's own decays one step on,
    :func:`_next_step`), then every gradient in registers. Sums over the
    states (du, ddelta, dz) reduce over a thread's states and a few lanes;
    sums over the channels (dB, dC) over the lanes that hold channels, then
    relaxed atomics, as in the lane-major backward.

    Program (pid, seg) runs segment ``seg`` of ``blocks_per_seg``
    saved-state blocks; the adjoint entering it from the later segments is
    folded from the pre-pass's per-segment results
    (:func:`_selective_scan_bwd_seg_kernel`).

    grad_out is read as ``gout_scale * grad_out``; with ACCUMULATE_DZ the
    kernel adds its dz to the one in ``dz_ptr`` (the other direction's of a
    bidirectional scan) instead of overwriting it.
    """
    pid = tl.program_id(0)
    seg = tl.program_id(1)
    bidx, offs_d, offs_n, mask_d, mask_nd, A2, bias, bc_base = \
        _tmajor_setup(pid, A_ptr, bias_ptr, n_batch, dim, dstate,
                      dim_per_group, n_groups, seqlen, HAS_BIAS, BLOCK_D,
                      BLOCK_N)
    row_u = _rows(bidx, offs_d, su_b, su_d)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    row_z, sz_l = _rows_as(Z_AS_U, row_u, su_l, bidx, offs_d, sz_b, sz_d,
                           sz_l)
    row_g, sg_l = _rows_as(G_AS_U, row_u, su_l, bidx, offs_d, sg_b, sg_d,
                           sg_l)
    row_du, sdu_l = _rows_as(DU_AS_U, row_u, su_l, bidx, offs_d, sdu_b,
                             sdu_d, sdu_l)
    row_ddt, sddt_l = _rows_as(DDT_AS_U, row_u, su_l, bidx, offs_d, sddt_b,
                               sddt_d, sddt_l)
    row_dz, sdz_l = _rows_as(DZ_AS_U, row_u, su_l, bidx, offs_d, sdz_b,
                             sdz_d, sdz_l)
    Av = A2 * 0.6931471805599453  # A itself, (N, D)
    offs_t = tl.arange(0, BLOCK_T)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0)
    st_base = (bidx * dim + offs_d[None, :]) * n_state_chunks * dstate \
        + offs_n[:, None]
    # a_t g_t at the first step t of the later chunk (done before this
    # one): the adjoint that reaches the state before that step. Entering
    # the segment: fold the later segments' (last first).
    q_carry = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    seg_row = (bidx * dim + offs_d) * n_seg
    for i in range(n_seg - 1 - seg):
        s_later = n_seg - 1 - i
        dts = tl.load(dtsum_ptr + seg_row + s_later, mask=mask_d, other=0.0)
        q_seg = _rows_tile(qend_ptr, (seg_row + s_later) * dstate, mask_d,
                           dstate, BLOCK_N, BLOCK_D)
        q_carry = tl.exp2(A2 * dts[None, :]) * q_carry + q_seg
    kb0 = seg * blocks_per_seg
    kb1 = tl.minimum(kb0 + blocks_per_seg, n_state_chunks)
    dA_acc = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    dD_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    dbias_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    R: tl.constexpr = STATE_L // BLOCK_T
    if PREFETCH:  # R == 1 (the launcher checks): chunk == state block
        u_n, dt_n, B_n, C_n, g_n, z_n = _tmajor_bwd_loads(
            u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, gout_ptr, row_u, su_l,
            row_dt, sdt_l, row_z, sz_l, row_g, sg_l, bc_base, offs_t, offs_n,
            mask_d, dstate, seqlen, kb1 - 1, HAS_Z, BLOCK_T, REVERSE)
        h_n = tl.load(states_ptr + st_base + (kb1 - 1) * dstate,
                      mask=mask_nd, other=0.0)
    for kb_i in range(kb1 - kb0):
        kb = kb1 - 1 - kb_i
        if PREFETCH:
            # Chunk kb-1's loads are issued before chunk kb's math, in raw
            # dtypes (a conversion would wait for them); the last
            # iteration reloads the segment's first chunk, unused.
            u_r, dt_r, B_r, C_r, g_r, z_r, h_blk = (
                u_n, dt_n, B_n, C_n, g_n, z_n, h_n)
            kp = tl.maximum(kb - 1, kb0)
            u_n, dt_n, B_n, C_n, g_n, z_n = _tmajor_bwd_loads(
                u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, gout_ptr, row_u, su_l,
                row_dt, sdt_l, row_z, sz_l, row_g, sg_l, bc_base, offs_t,
                offs_n, mask_d, dstate, seqlen, kp, HAS_Z, BLOCK_T, REVERSE)
            h_n = tl.load(states_ptr + st_base + kp * dstate, mask=mask_nd,
                          other=0.0)
        else:
            h_blk = tl.load(states_ptr + st_base + kb * dstate,
                            mask=mask_nd, other=0.0)
        for k in tl.static_range(R - 1, -1, -1):
            c = kb * R + k
            h0 = h_blk
            for j in tl.static_range(k):  # state at this chunk's start
                _, _, hj, _, _, _, _, _, _, _ = _tmajor_chunk(
                    u_ptr, delta_ptr, B_ptr, row_u, su_l, row_dt, sdt_l,
                    bc_base, offs_t, offs_n, mask_d, bias, A2, h0, dstate,
                    seqlen, kb * R + j, HAS_BIAS, SOFTPLUS, BLOCK_T, REVERSE,
                    T_IN_THREAD)
                h0 = _step_last(hj, offs_t, BLOCK_T, T_IN_THREAD)
            if not PREFETCH:  # else issued during the previous chunk
                u_r, dt_r, B_r, C_r, g_r, z_r = _tmajor_bwd_loads(
                    u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, gout_ptr, row_u,
                    su_l, row_dt, sdt_l, row_z, sz_l, row_g, sg_l, bc_base,
                    offs_t, offs_n, mask_d, dstate, seqlen, c, HAS_Z,
                    BLOCK_T, REVERSE)
            u, dt, hh, pos, m_td, ptr_tn, m_tn, dt_in, Bt, a = _tmajor_math(
                u_r, dt_r, B_r, bc_base, offs_t, offs_n, mask_d, bias, A2,
                h0, dstate, seqlen, c, HAS_BIAS, SOFTPLUS, BLOCK_T, REVERSE,
                T_IN_THREAD)
            # Ordered to keep few (T, N, D) tiles alive at once (register
            # pressure, not arithmetic, limits this kernel).
            Ct = C_r.to(tl.float32)
            gout = g_r.to(tl.float32) * gout_scale
            if HAS_Z:
                zz = z_r.to(tl.float32)
                sz = tl.sigmoid(zz)
                y = tl.sum(hh * Ct[:, :, None], axis=1)
                if HAS_D:
                    y += Dv[None, :] * u
                dz = gout * y * sz * (1.0 + zz * (1.0 - sz))
                ptr_dz = dz_ptr + _td(row_dz, pos, sdz_l)
                if ACCUMULATE_DZ:
                    dz += tl.load(ptr_dz, mask=m_td, other=0.0).to(tl.float32)
                tl.store(ptr_dz, dz.to(dz_ptr.dtype.element_ty), mask=m_td)
                gy = gout * zz * sz
            else:
                gy = gout
            dC_part = tl.sum(hh * gy[:, None, :], axis=2)  # (T, N)
            tl.atomic_add(dC_ptr + ptr_tn, dC_part, mask=m_tn, sem='relaxed')
            dtu = dt * u
            # a_t h_{t-1} = h_t - b_t: dL/d(dt * A) = g_t (h_t - b_t).
            hb = hh - dtu[:, None, :] * Bt[:, :, None]
            g, q_carry = _adjoint_chunk(a, gy, Ct, q_carry, offs_t, BLOCK_T,
                                        T_IN_THREAD)
            gB = tl.sum(g * Bt[:, :, None], axis=1)  # <g_t, B_t>, (T, D)
            g_dA = g * hb
            dA_acc += tl.sum(g_dA * dt[:, None, :], axis=0)
            ddt = tl.sum(g_dA * Av[None, :, :], axis=1) + gB * u
            du = gB * dt
            if HAS_D:
                du += gy * Dv[None, :]
                dD_acc += tl.sum(gy * u, axis=0)
            tl.store(du_ptr + _td(row_du, pos, sdu_l),
                     du.to(du_ptr.dtype.element_ty), mask=m_td)
            if SOFTPLUS:
                ddt = ddt * tl.sigmoid(dt_in)
            ddt = tl.where(m_td, ddt, 0.0)
            if HAS_BIAS:
                dbias_acc += tl.sum(ddt, axis=0)
            tl.store(ddelta_ptr + _td(row_ddt, pos, sddt_l),
                     ddt.to(ddelta_ptr.dtype.element_ty), mask=m_td)
            dB_part = tl.sum(g * dtu[:, None, :], axis=2)  # (T, N)
            tl.atomic_add(dB_ptr + ptr_tn, dB_part, mask=m_tn, sem='relaxed')

    tl.atomic_add(dA_ptr + offs_d[None, :] * dstate + offs_n[:, None],
                  dA_acc, mask=mask_nd, sem='relaxed')
    if HAS_D:
        tl.atomic_add(dD_ptr + offs_d, dD_acc, mask=mask_d, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + offs_d, dbias_acc, mask=mask_d,
                      sem='relaxed')


@triton.jit
def _tmajor_adjoint_loads(delta_ptr, C_ptr, z_ptr, gout_ptr, row_dt, sdt_l,
                          row_z, sz_l, row_g, sg_l, bc_base, offs_t, offs_n,
                          mask_d, dstate, seqlen, c, HAS_Z: tl.constexpr,
                          BLOCK_T: tl.constexpr, REVERSE: tl.constexpr):
    """The loads of chunk ``c`` of the backward's adjoint pre-pass, in the
    tensors' own dtypes (zeros past the end): delta, grad_out (T, D), C
    (T, N) and z (T, D; delta when HAS_Z is off, never used)."""
    pos, m_td, ptr_tn, m_tn = _tmajor_index(bc_base, offs_t, offs_n, mask_d,
                                            dstate, seqlen, c, BLOCK_T,
                                            REVERSE)
    dt = tl.load(delta_ptr + _td(row_dt, pos, sdt_l), mask=m_td, other=0.0)
    gout = tl.load(gout_ptr + _td(row_g, pos, sg_l), mask=m_td, other=0.0)
    Ct = tl.load(C_ptr + ptr_tn, mask=m_tn, other=0.0)
    zz = dt
    if HAS_Z:
        zz = tl.load(z_ptr + _td(row_z, pos, sz_l), mask=m_td, other=0.0)
    return dt, gout, Ct, zz


@triton.jit
def _selective_scan_bwd_seg_kernel(
    delta_ptr, A_ptr, C_ptr, z_ptr, bias_ptr, gout_ptr, qend_ptr, dtsum_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_seg,
    chunks_per_seg, sdt_b, sdt_d, sdt_l, sz_b, sz_d, sz_l, sg_b, sg_d, sg_l,
    gout_scale,
    HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
    REVERSE: tl.constexpr, Z_AS_DT: tl.constexpr, G_AS_DT: tl.constexpr,
    T_IN_THREAD: tl.constexpr, PREFETCH: tl.constexpr,
):
    """Pass 1 of a split backward (the forward pre-pass's mirror): for
    segment ``s`` >= 1, run the adjoint ``g_t = a_{t+1} g_{t+1} + C_t
    gy_t`` from the segment's last step with nothing from later segments,
    and store ``a_t g_t`` at its first step (qend, (batch, dim, n_seg,
    N)) and the sum of delta over it (dtsum, (batch, dim, n_seg)):
    ``q_in(s) = qend[s+1] + exp2(A2 dtsum[s+1]) q_in(s+1)`` is the
    adjoint entering segment s from the later ones. Needs delta, C, z
    and grad_out only (no states, no u, no B). PREFETCH issues chunk
    c-1's loads before chunk c's math."""
    pid = tl.program_id(0)
    seg = tl.program_id(1) + 1
    bidx, offs_d, offs_n, mask_d, mask_nd, A2, bias, bc_base = \
        _tmajor_setup(pid, A_ptr, bias_ptr, n_batch, dim, dstate,
                      dim_per_group, n_groups, seqlen, HAS_BIAS, BLOCK_D,
                      BLOCK_N)
    row_dt = _rows(bidx, offs_d, sdt_b, sdt_d)
    row_z, sz_l = _rows_as(Z_AS_DT, row_dt, sdt_l, bidx, offs_d, sz_b, sz_d,
                           sz_l)
    row_g, sg_l = _rows_as(G_AS_DT, row_dt, sdt_l, bidx, offs_d, sg_b, sg_d,
                           sg_l)
    offs_t = tl.arange(0, BLOCK_T)
    q = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    dsum = tl.zeros((BLOCK_T, BLOCK_D), dtype=tl.float32)
    c0 = seg * chunks_per_seg
    c1 = tl.minimum(c0 + chunks_per_seg, tl.cdiv(seqlen, BLOCK_T))
    if PREFETCH:
        nxt = _tmajor_adjoint_loads(delta_ptr, C_ptr, z_ptr, gout_ptr, row_dt,
                                    sdt_l, row_z, sz_l, row_g, sg_l, bc_base,
                                    offs_t, offs_n, mask_d, dstate, seqlen,
                                    c1 - 1, HAS_Z, BLOCK_T, REVERSE)
    for i in range(c1 - c0):
        c = c1 - 1 - i
        if PREFETCH:  # chunk c-1's loads in flight during c's math
            dt, gout, Ct, zz = nxt
            nxt = _tmajor_adjoint_loads(
                delta_ptr, C_ptr, z_ptr, gout_ptr, row_dt, sdt_l, row_z,
                sz_l, row_g, sg_l, bc_base, offs_t, offs_n, mask_d, dstate,
                seqlen, tl.maximum(c - 1, c0), HAS_Z, BLOCK_T, REVERSE)
        else:
            dt, gout, Ct, zz = _tmajor_adjoint_loads(
                delta_ptr, C_ptr, z_ptr, gout_ptr, row_dt, sdt_l, row_z,
                sz_l, row_g, sg_l, bc_base, offs_t, offs_n, mask_d, dstate,
                seqlen, c, HAS_Z, BLOCK_T, REVERSE)
        m_td = (((c * BLOCK_T + offs_t) < seqlen)[:, None]
                & mask_d[None, :])
        gy = gout.to(tl.float32) * gout_scale
        Ct = Ct.to(tl.float32)
        if HAS_Z:
            zz = zz.to(tl.float32)
            gy = gy * zz * tl.sigmoid(zz)
        _, dt, a = _tmajor_decays(dt, bias, A2, m_td, HAS_BIAS, SOFTPLUS)
        _, q = _adjoint_chunk(a, gy, Ct, q, offs_t, BLOCK_T, T_IN_THREAD)
        dsum += dt
    seg_row = (bidx * dim + offs_d) * n_seg + seg
    _rows_tile_store(qend_ptr, seg_row * dstate, q, mask_d, dstate, BLOCK_N)
    tl.store(dtsum_ptr + seg_row, tl.sum(dsum, axis=0), mask=mask_d)


@triton.jit
def _lane_bwd_loads(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, states_ptr,
                    gout_ptr, row_u, su_l, row_dt, sdt_l, row_z, sz_l, row_g,
                    sg_l, bc_base, st_base, offs_d, offs_n, offs_t, mask_n,
                    mask_dn, dim, seqlen, dstate, c, step,
                    HAS_Z: tl.constexpr, BLOCK_L: tl.constexpr,
                    REVERSE: tl.constexpr):
    """Every load of chunk ``c`` of the lane-major backward, in the
    tensors' own dtypes (zeros past the end): u, delta, delta one step
    ahead (D, L); B, C (N, L); grad_out (D, L); z (D, L; u when HAS_Z is
    off, never used); the saved chunk-start state (D, N) fp32."""
    offs_l = c * BLOCK_L + offs_t
    mask_l = offs_l < seqlen
    pos = _seq_pos(offs_l, seqlen, REVERSE)
    m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
    u = tl.load(u_ptr + (row_u[:, None] + pos[None, :] * su_l), mask=m_dl,
                other=0.0)
    ptr_dt = row_dt[:, None] + pos[None, :] * sdt_l
    dt = tl.load(delta_ptr + ptr_dt, mask=m_dl, other=0.0)
    m_next = (offs_d[:, None] < dim) & (offs_l + 1 < seqlen)[None, :]
    dt_next = tl.load(delta_ptr + (ptr_dt + step * sdt_l), mask=m_next,
                      other=0.0)
    ptr_nl = bc_base + offs_n[:, None] * seqlen + pos[None, :]
    m_nl = mask_n[:, None] & mask_l[None, :]
    Bt = tl.load(B_ptr + ptr_nl, mask=m_nl, other=0.0)
    Ct = tl.load(C_ptr + ptr_nl, mask=m_nl, other=0.0)
    gout = tl.load(gout_ptr + (row_g[:, None] + pos[None, :] * sg_l),
                   mask=m_dl, other=0.0)
    if HAS_Z:
        zz = tl.load(z_ptr + (row_z[:, None] + pos[None, :] * sz_l),
                     mask=m_dl, other=0.0)
    else:
        zz = u
    h0 = tl.load(states_ptr + st_base + c * dstate, mask=mask_dn, other=0.0)
    return u, dt, dt_next, Bt, Ct, gout, zz, h0


@triton.jit
def _selective_scan_bwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    states_ptr, gout_ptr,
    du_ptr, ddelta_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dz_ptr, dbias_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_groups, n_chunks,
    su_b, su_d, su_l, sdt_b, sdt_d, sdt_l, sz_b, sz_d, sz_l,
    sg_b, sg_d, sg_l, sdu_b, sdu_d, sdu_l, sddt_b, sddt_d, sddt_l,
    sdz_b, sdz_d, sdz_l, gout_scale,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr,
    REVERSE: tl.constexpr, ACCUMULATE_DZ: tl.constexpr,
    DT_AS_U: tl.constexpr, Z_AS_U: tl.constexpr, G_AS_U: tl.constexpr,
    DU_AS_U: tl.constexpr, DDT_AS_U: tl.constexpr, DZ_AS_U: tl.constexpr,
    PREFETCH: tl.constexpr,
):
    """Backward on (BLOCK_D, BLOCK_N, BLOCK_L) tiles, time fastest (loads
    coalesced for contiguous tensors, s*_l == 1). grad_out is read as
    ``gout_scale * grad_out``; ACCUMULATE_DZ adds dz to ``dz_ptr``'s."""
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

    row_u = _rows(bidx, offs_d, su_b, su_d)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    row_z, sz_l = _rows_as(Z_AS_U, row_u, su_l, bidx, offs_d, sz_b, sz_d,
                           sz_l)
    row_g, sg_l = _rows_as(G_AS_U, row_u, su_l, bidx, offs_d, sg_b, sg_d,
                           sg_l)
    row_du, sdu_l = _rows_as(DU_AS_U, row_u, su_l, bidx, offs_d, sdu_b,
                             sdu_d, sdu_l)
    row_ddt, sddt_l = _rows_as(DDT_AS_U, row_u, su_l, bidx, offs_d, sddt_b,
                               sddt_d, sddt_l)
    row_dz, sdz_l = _rows_as(DZ_AS_U, row_u, su_l, bidx, offs_d, sdz_b,
                             sdz_d, sdz_l)
    bc_base = (bidx * n_groups + gidx) * dstate * seqlen
    st_base = ((bidx * dim + offs_d[:, None]) * n_chunks) * dstate \
        + offs_n[None, :]
    g_carry = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dA_acc = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    dD_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    dbias_acc = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    step = -1 if REVERSE else 1  # memory offset of scan step t+1
    if PREFETCH:
        (u_n, dt_n, dtx_n, B_n, C_n, g_n, z_n, h0_n) = _lane_bwd_loads(
            u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, states_ptr, gout_ptr,
            row_u, su_l, row_dt, sdt_l, row_z, sz_l, row_g, sg_l, bc_base,
            st_base, offs_d, offs_n, offs_t, mask_n, mask_dn, dim, seqlen,
            dstate, n_chunks - 1, step, HAS_Z, BLOCK_L, REVERSE)
    for ci in range(n_chunks):
        c = n_chunks - 1 - ci
        offs_l = c * BLOCK_L + offs_t
        mask_l = offs_l < seqlen
        pos = _seq_pos(offs_l, seqlen, REVERSE)
        m_dl = (offs_d[:, None] < dim) & mask_l[None, :]
        mask_next = offs_l + 1 < seqlen
        if PREFETCH:
            # Issue chunk c-1's loads (raw dtypes, converted when used)
            # before chunk c's math: their latency overlaps it. The last
            # iteration reloads chunk 0, unused.
            u, dt_raw, dt_next, Bt, Ct, gout, zz, h0 = (
                u_n, dt_n, dtx_n, B_n, C_n, g_n, z_n, h0_n)
            (u_n, dt_n, dtx_n, B_n, C_n, g_n, z_n, h0_n) = _lane_bwd_loads(
                u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, states_ptr, gout_ptr,
                row_u, su_l, row_dt, sdt_l, row_z, sz_l, row_g, sg_l,
                bc_base, st_base, offs_d, offs_n, offs_t, mask_n, mask_dn,
                dim, seqlen, dstate, tl.maximum(c - 1, 0), step, HAS_Z,
                BLOCK_L, REVERSE)
        else:
            u, dt_raw, dt_next, Bt, Ct, gout, zz, h0 = _lane_bwd_loads(
                u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, states_ptr, gout_ptr,
                row_u, su_l, row_dt, sdt_l, row_z, sz_l, row_g, sg_l,
                bc_base, st_base, offs_d, offs_n, offs_t, mask_n, mask_dn,
                dim, seqlen, dstate, c, step, HAS_Z, BLOCK_L, REVERSE)
        u = u.to(tl.float32)
        dt_raw = dt_raw.to(tl.float32)
        dt_next = dt_next.to(tl.float32)
        Bt = Bt.to(tl.float32)
        Ct = Ct.to(tl.float32)
        gout = gout.to(tl.float32) * gout_scale
        if HAS_BIAS:
            dt_raw = dt_raw + bias[:, None]
            dt_next = dt_next + bias[:, None]
        if SOFTPLUS:
            dt = softplus(dt_raw)
            dt_next = softplus(dt_next)
        else:
            dt = dt_raw
        ptr_nl = bc_base + offs_n[:, None] * seqlen + pos[None, :]
        m_nl = mask_n[:, None] & mask_l[None, :]

        # Recompute h inside the chunk from the saved chunk-start state.
        a = tl.exp2(dt[:, None, :] * A2[:, :, None])
        a = tl.where(mask_l[None, None, :], a, 1.0)
        b = (dt * u)[:, None, :] * Bt[None, :, :]
        acum, hloc = tl.associative_scan((a, b), 2, _combine)
        h = hloc + acum * h0[:, :, None]

        if HAS_Z:
            zz = zz.to(tl.float32)
            sz = tl.sigmoid(zz)
            y = tl.sum(h * Ct[None, :, :], axis=1)
            if HAS_D:
                y += Dv[:, None] * u
            dz = gout * y * sz * (1.0 + zz * (1.0 - sz))
            ptr_dz = dz_ptr + (row_dz[:, None] + pos[None, :] * sdz_l)
            if ACCUMULATE_DZ:
                dz += tl.load(ptr_dz, mask=m_dl, other=0.0).to(tl.float32)
            tl.store(ptr_dz, dz.to(dz_ptr.dtype.element_ty), mask=m_dl)
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
        tl.store(du_ptr + (row_du[:, None] + pos[None, :] * sdu_l),
                 du.to(du_ptr.dtype.element_ty), mask=m_dl)
        tl.store(ddelta_ptr + (row_ddt[:, None] + pos[None, :] * sddt_l),
                 ddt.to(ddelta_ptr.dtype.element_ty), mask=m_dl)
        is_first = (offs_t == 0)[None, None, :]
        g_carry = tl.sum(tl.where(is_first, g, 0.0), axis=2)

    tl.atomic_add(dA_ptr + offs_d[:, None] * dstate + offs_n[None, :],
                  dA_acc, mask=mask_dn, sem='relaxed')
    if HAS_D:
        tl.atomic_add(dD_ptr + offs_d, dD_acc, sem='relaxed')
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + offs_d, dbias_acc, sem='relaxed')


class ScanConfig(NamedTuple):
    """Launch configuration.

    ``block_d`` channels per program, ``block_l`` steps per chunk of the
    backward (and the spacing of the states the forward saves for it),
    ``num_warps``; ``prefetch`` issues the loads of the next chunk before
    the math of the current one (forward kernels; the time-major backward
    when ``block_t`` equals the saved-state spacing).
    ``block_t > 0`` runs the forward on the time-major kernel with chunks
    of ``block_t`` steps, split into ``n_seg`` sequence segments that run
    in parallel (a state-passing pre-pass joins them); in a backward config
    it selects the time-major backward, whose ``n_seg`` segments (of whole
    saved-state blocks) are joined by an adjoint pre-pass. ``maxnreg > 0``
    caps the registers of the time-major kernels (ptxas ``.maxnreg``; in
    the forward the main kernel's, not the pre-pass's).
    ``widen_bc`` widens B and C to fp32 where the time-major forward
    kernels load them, by an opaque conversion
    (:func:`~mmmamba.ops.triton_math.widen`): the same values in, and in
    Triton 3.6 about a quarter fewer instructions per state update (offline
    sm_90 SASS, ``benchmarks/NOTES.md``, 2026-12-04, seventh part). The
    compiled kernel then sums in another order: outputs equal to rounding,
    not bit for bit (H200). On by default for inference (N = 16).
    ``widen_ud`` does the same for u and delta (fewer still, with spills
    in the gated direction's loop; not faster on the H200, off).
    ``pre_block_d`` / ``pre_block_t`` (0: the main kernel's) give a split
    forward's pre-pass its own tile: it writes only per-segment states, so
    a channel's states over more lanes cost it no reductions; segments
    then hold a multiple of ``pre_block_t`` steps. Its dtsum sums per
    tile slot, so a different tile changes outputs by rounding.
    ``stages > 1`` has Triton's software pipeliner run the time-major
    forward's chunk loop (the main kernel's; a split's pre-pass keeps
    ``prefetch``): every load of a chunk becomes an asynchronous copy to
    shared memory (``cp.async``) issued ``stages - 1`` chunks ahead, read
    back in the layout the math needs, instead of ``prefetch``'s loads
    into registers, which ptxas had waited for early, on a scoreboard it
    shares with exp2 results (``benchmarks/NOTES.md``, 2026-12-05, sixth
    part). It pays most with fp32 B and C: in 16 bits every thread widens
    the whole chunk of B and C it reads. ``pre_stages`` does the same for
    the pre-pass. ``pre_td_first`` has the pre-pass do its per-step (T, D)
    math (delta's bias and softplus, the mask, dt * u) in the layout u and
    delta are loaded in, where each value is on one lane, one chunk ahead
    (with the register prefetch; not with ``pre_stages``), instead of on
    every lane of the scan's tile that holds a copy (four at 8 x 16, two
    at 16 x 8). ``pre_maxnreg`` caps the pre-pass's registers (no gain
    without spills, slower with them: ``benchmarks/NOTES.md``, 2026-12-05,
    seventh part).
    """
    block_d: int
    block_l: int
    num_warps: int
    prefetch: bool = False
    block_t: int = 0
    n_seg: int = 1
    maxnreg: int = 0  # >0: cap registers per thread (more resident warps)
    steps: bool = False  # forward: the step-loop kernel (triton_steps)
    widen_bc: bool = False  # time-major forward: B, C widened where loaded
    widen_ud: bool = False  # time-major forward: u, delta widened likewise
    pre_block_d: int = 0  # split forward's pre-pass tile (0: block_d)
    pre_block_t: int = 0  # (0: block_t)
    stages: int = 1  # time-major forward: software-pipeline stages
    pre_stages: int = 1  # the same for a split forward's pre-pass
    pre_td_first: bool = False  # pre-pass: per-step math before relayout
    pre_maxnreg: int = 0  # >0: the pre-pass's register cap (``maxnreg``'s)


def _largest_divisor_block(n: int, cap: int) -> int:
    """The largest power of two <= ``cap`` that divides ``n``."""
    block = 1
    while block * 2 <= cap and n % (block * 2) == 0:
        block *= 2
    return block


def default_config(seqlen: int, dstate: int, dim_per_group: int,
                   backward: bool, save_states: bool = True,
                   n_rows: int = 1 << 30, itemsize: int = 4,
                   block_l: int = 0, bc_itemsize: int = 0) -> ScanConfig:
    """Launch configuration for a problem size, from sweeps on an H100 and
    an H200 (``benchmarks/NOTES.md``).

    Args:
        backward: the backward kernel's configuration (else the forward's).
        save_states: the forward keeps chunk states for a backward.
        n_rows: batch * dim, the number of independent sequences.
        itemsize: bytes per element of ``u``.
        bc_itemsize: bytes per element of B and C (0: as ``u``'s).
        block_l: (backward) the spacing of the saved states, i.e. the
            forward's ``block_l``; 0 for the one the forward picks.

    The forward's ``block_l`` is the spacing of the states it saves (they
    cost 4·N/block_l bytes per input element); a backward must use it.
    """
    if dstate == 1:  # VMamba: (BLOCK_D, 1, 128) tiles
        if backward:
            return ScanConfig(_largest_divisor_block(dim_per_group, 4), 128, 4)
        return ScanConfig(
            _largest_divisor_block(dim_per_group, 2), 128, 2, prefetch=True)
    if backward:
        state_l = block_l or TMAJOR_STATE_L
        if state_l == TMAJOR_STATE_L:
            # Time-major, 8 steps per chunk = the state spacing (no chunk
            # recomputed twice), the next chunk's loads issued before this
            # one's math, 8 channels per program (at least 32 // N: a
            # warp's lanes on D x N, none on T, t_in_thread). Where fewer
            # than TMAJOR_BWD_SPLIT_BELOW programs would run (batch 8 at
            # 384 channels), the sequence is split into segments joined by
            # an adjoint pre-pass. H200 sweep of this session's start
            # (benchmarks/session_1203f_h200/callA/bwd_ab.log, bf16 ms):
            # 224² b128 d8 0.430 (d4 0.557); 1248² b64 d8 6.24 (d4 8.18);
            # 1248² b8 d8 s16 1.095 (d4 unsplit 1.224, d8 s8 1.142);
            # 2048² b8 d8 s16 2.84 (d4 unsplit 3.30), with a pre-pass
            # that did not yet prefetch.
            block_n = next_power_of_2(dstate)
            bd = _largest_divisor_block(dim_per_group, max(8, 32 // block_n))
            if not t_in_thread(bd, block_n, 1):
                return ScanConfig(_largest_divisor_block(dim_per_group, 2),
                                  state_l, 1, prefetch=True)
            n_prog = max(n_rows // bd, 1)
            n_seg = 1
            while (n_prog < TMAJOR_BWD_SPLIT_BELOW
                   and n_prog * n_seg < TMAJOR_BWD_SEG_PROGRAMS
                   and seqlen // (2 * n_seg) >= TMAJOR_BWD_MIN_SEGMENT):
                n_seg *= 2
            return ScanConfig(bd, state_l, 1, block_t=state_l, prefetch=True,
                              n_seg=n_seg)
        # States from a forward with another spacing: the lane-major kernel
        # (any spacing), as the defaults before prefetching.
        return ScanConfig(_largest_divisor_block(dim_per_group, 2), state_l, 1)
    # Forward: time-major tiles, 16 channels x 2 state lanes per warp, 8
    # steps per thread, chunk c+1's loads issued during chunk c's math;
    # states saved every TMAJOR_STATE_L steps for the backward. A sequence
    # is split into segments only when fewer than TMAJOR_SPLIT_BELOW
    # programs would run (a split costs a pre-pass over all but the last
    # segment), then until TMAJOR_PROGRAMS programs run, with segments of
    # at least TMAJOR_MIN_SEGMENT steps. Split and without saved states
    # (inference at small batch), N = 16 takes 32 channels per warp with a
    # channel's 16 states in one thread and 4 steps per chunk: half the
    # per-channel work (softplus, gate, loads) per state update, where the
    # many segments hide its latency (at 768 one-warp programs, 1248² b64,
    # it is slower with the register prefetch; pipelined, see below).
    # Chosen from the H200 sweep of 2026-12-03
    # (benchmarks/session_1203e_h200/callA, timed with the accumulating
    # epilogue); checked against the previous defaults in callB
    # (defaults_fwd.log), bf16 kernel ms, previous -> this: inference
    # 224² b128 0.134 -> 0.110, 1248² b8 0.368 -> 0.336, 1248² b64
    # 1.856 -> 1.596, 2048² b8 0.947 -> 0.834; saving states 0.151 ->
    # 0.122, 0.379 -> 0.385, 2.034 -> 1.715, 0.985 -> 1.003.
    block_n = next_power_of_2(dstate)
    block_d = _largest_divisor_block(dim_per_group, 16)
    if not t_in_thread(block_d, block_n, 1):
        # too few channels per group for a time-major tile
        return ScanConfig(_largest_divisor_block(dim_per_group, 2),
                          TMAJOR_STATE_L, 1)
    block_t = 8
    n_prog = max(n_rows // block_d, 1)
    if (n_prog < TMAJOR_SPLIT_BELOW and not save_states and block_n == 16
            and dim_per_group % 32 == 0):
        block_d, block_t = 32, 4
        n_prog = max(n_rows // block_d, 1)
    n_seg = 1
    while (n_prog < TMAJOR_SPLIT_BELOW and n_prog * n_seg < TMAJOR_PROGRAMS
           and seqlen // (2 * n_seg) >= TMAJOR_MIN_SEGMENT):
        n_seg *= 2
    # Inference (N = 16): B and C widened where they are loaded, and the
    # main kernel under a 168-register cap (the pre-pass runs uncapped).
    # The cap alone: ptxas schedules the unsplit 16-channel tile better
    # (H200, benchmarks/session_1204d_h200/callD: 1248² b64 1.654 -> 1.531
    # ms, 224² b128 0.1145 -> 0.1056), the split batch-8 tiles 1-5% worse.
    # With widen_bc the batch-8 main kernel takes 187-190 registers
    # uncapped and is slower than without; capped it is faster. H200,
    # benchmarks/session_1205b_h200/callC (session_1204g_h200/callC.sh),
    # Vim-Ti mixer core, bf16 kernel ms, off -> widened: main kernel 1248²
    # b64 2.452 -> 2.250, 224² b128 0.173 -> 0.160, 1248² b8 0.353 ->
    # 0.320 (uncapped 0.472), 2048² b8 0.849 -> 0.751 (1.180); pre-pass
    # 0.215 -> 0.206 (capped 0.214), 0.549 -> 0.527 (0.549). widen_ud as
    # well was no better (2048² b64 Vim-Ti 264.5 -> 261.0 img/s). The
    # training forward (save_states) is not timed with either and keeps
    # its defaults.
    infer = not save_states and block_n == 16
    # The split batch-8 tile's pre-pass on tiles of 8 channels x 16 steps
    # (a channel's 16 states over 4 lanes; it sums no outputs across
    # them): 5% less pre-pass time at 1248² and 2048² b8, H100 and H200
    # (benchmarks/session_1205e_h100/call2, call4: 0.202 -> 0.191, 0.521
    # -> 0.493 ms per mixer core; H200 0.206 -> 0.193, 0.527 -> 0.500).
    # Since then on 16 x 8 tiles (a channel's states over 2 lanes) with
    # the per-step math one chunk ahead in the loads' layout
    # (pre_td_first): H100, benchmarks/session_1205g_h100/callI, callK,
    # pre-pass ms per mixer core, 8 x 16 -> 16 x 8 td-first: 1248² b8
    # 0.1967, 0.1950 -> 0.1908; 0.1998, 0.1953 -> 0.1900; 2048² b8
    # 0.5102, 0.5089 -> 0.4939; 0.5097, 0.5066 -> 0.4938 (8 x 16
    # td-first is 8% slower, 16 x 8 plain 1-3% slower: callJ).
    split8 = infer and n_seg > 1 and block_d == 32
    pre_d, pre_t = (16, 8) if split8 else (0, 0)
    # The split batch-8 main kernel's loop software-pipelined by Triton
    # (cp.async) instead of the register prefetch: H100,
    # benchmarks/session_1205f_h100/callC, main kernel ms per Vim-Ti mixer
    # core, 1248² / 2048² b8: 0.2745 / 0.7148 -> fp32 B, C: 3 stages
    # 0.2417 / 0.6313, 4 stages 0.2363 / 0.6056; bf16 B, C, 3 stages
    # 0.2629 / 0.6859. Not at batch 64 (the unsplit d16 t8 tile: 2.287 ->
    # 2.300 ms, fp32, 3 stages), nor for the pre-pass (+0-4%, callE).
    # Pipelined with fp32 B and C it takes 8-step chunks: ~160 registers
    # as on 4-step ones (the register prefetch of 8 steps needed ~190),
    # 7-8% fewer instructions per state update, main kernel 0.2352 ->
    # 0.2224 / 0.6062 -> 0.5682 ms, outputs equal (callG).
    stages = 1
    bc_fp32 = (bc_itemsize or itemsize) == 4
    if split8:
        stages = 4 if bc_fp32 else 3
        if bc_fp32:
            block_t = 8
    elif (infer and n_seg == 1 and bc_fp32 and itemsize < 4
          and dim_per_group % 32 == 0
          and TMAJOR_PIPELINE_MIN_L <= seqlen < TMAJOR_PIPELINE_MAX_L):
        # Unsplit long sequences (batch 64 at 1248²), 16-bit u and
        # delta, fp32 B and C: the split tile's main kernel, one lane
        # per channel on 8-step chunks, pipelined (3 stages), over half as
        # many programs (768 per direction at 384 channels, batch 64) as
        # the d16 t8 register-prefetch tile. H100, Vim-Ti mixer core's
        # main kernel ms per call, d16 t8 -> d32 t8 3 stages: 1248² b64
        # 2.29 -> 2.19 (-4.4%), 2048² b64 6.22 -> 5.82 (-6.3%); 4 stages
        # 2.21 / 5.90, d16 t8 pipelined 2.43 / 6.97, d32 t4 with the
        # register prefetch 3.13 / 8.47
        # (benchmarks/session_1206_h100/callC). In Vim-Ti itself (callF,
        # torch.profiler, scan kernel ms per batch) only the first holds:
        # 1248² b64 55.0 -> 52.9, but 2048² b64 141.3 -> 154.8 (+9.6%;
        # CUDA graphs, callD: 100.0 -> 98.2 and 264.8 -> 277.3 ms per
        # batch), so long sequences from TMAJOR_PIPELINE_MAX_L on keep
        # d16 t8 (the bound lies between the two measured lengths). Not
        # timed on shorter sequences (224²: L = 197) or fp32 u and delta,
        # which keep d16 t8.
        block_d, block_t, stages = 32, 8, 3
    return ScanConfig(block_d, TMAJOR_STATE_L, 1, prefetch=True,
                      block_t=block_t, n_seg=n_seg,
                      maxnreg=TMAJOR_FWD_MAXNREG if infer else 0,
                      widen_bc=infer, pre_block_d=pre_d, pre_block_t=pre_t,
                      stages=stages, pre_td_first=split8)


def fwd_config(u: Tensor, B: Tensor, save_states: bool) -> ScanConfig:
    """The forward's :func:`default_config` for u (batch, dim, L) and B
    (batch, G, N, L): what :func:`selective_scan_fwd` runs with
    ``config=None``."""
    batch, dim, seqlen = u.shape
    return default_config(seqlen, B.shape[2], dim // B.shape[1],
                          backward=False, save_states=save_states,
                          n_rows=batch * dim, itemsize=u.element_size(),
                          bc_itemsize=B.element_size())


def fp32_bc_pays(config: ScanConfig, B: Tensor) -> bool:
    """Whether :func:`selective_scan_fwd` (``config=None``) widens 16-bit
    B and C to fp32 before it launches: where :func:`default_config`
    software-pipelines the main kernel for 16-bit B and C (the split
    batch-8 inference tile), which takes 8-step chunks only with fp32 B
    and C. (The unsplit pipelined tile of long sequences is chosen only
    for B and C that are fp32 already: not measured with the casts.) The
    same values in, so the same outputs bit for bit; the two casts read
    and write ~6 bytes per element of B and C. H100, the public op's
    kernel ms per call, Vim's layout, bf16 with D, z, bias and softplus,
    plain -> widened (copies included): 1248² b8 0.2656 -> 0.2513, 2048²
    b8 0.6926 -> 0.6489 (``benchmarks/session_1205h_h100/callV``)."""
    return B.element_size() < 4 and config.stages > 1


def t_in_thread(block_d: int, block_n: int, num_warps: int) -> bool:
    """Whether Triton's default layout of a time-major (BLOCK_T, BLOCK_N,
    BLOCK_D) tile keeps all T steps of an element in one thread: lanes,
    then warps, fill D and N before T, so exactly when the tile's D x N
    face holds a warp's lanes times the warps (checked against compiled
    layouts in the tests). Otherwise the kernels take the slower,
    layout-independent step reductions (:func:`_step_first`)."""
    return block_d * block_n >= 32 * num_warps


def _check_block_d(config: ScanConfig, dim_per_group: int) -> None:
    """A program's channels must lie in one B/C group."""
    for name in ('block_d', 'pre_block_d'):
        block_d = getattr(config, name)
        if block_d and dim_per_group % block_d:
            raise ValueError(f'scan config: {name}={block_d} must divide '
                             f'the channels per group ({dim_per_group})')


def is_channel_last(t: Tensor) -> bool:
    """Whether a (batch, dim, L) tensor is channel-last: stride 1 along dim
    (e.g. a (batch, L, dim) tensor transposed, or a channel slice of one)
    and not along L (a tensor with stride 1 on both is contiguous)."""
    return t.stride(1) == 1 and t.stride(2) != 1


def is_n_last(t: Tensor) -> bool:
    """Whether a (batch, G, N, L) B or C is a transposed view of a
    contiguous (batch, G, L, N) tensor (stride 1 along N), the layout of
    the x projection's output, which the time-major forward reads without
    a copy."""
    return t.transpose(2, 3).is_contiguous()


def scan_layout(t: Optional[Tensor]) -> Optional[Tensor]:
    """``t`` itself if the kernels read it well (stride 1 along L or along
    dim), else a contiguous copy: the kernels are correct for any strides,
    but with neither stride 1 no load is vectorised or coalesced."""
    if t is None or t.stride(2) == 1 or t.stride(1) == 1:
        return t
    return t.contiguous()


def _like_layout(t: Tensor, dtype: Optional[torch.dtype] = None) -> Tensor:
    """An empty (batch, dim, L) tensor in the layout of ``t`` (default: its
    dtype): channel-last (memory (batch, L, dim), returned as a transposed
    view) if ``t`` is (:func:`is_channel_last`), else contiguous. The
    outputs of the scan are allocated so (out like u; du, ddelta, dz like
    u, delta, z), and the custom ops' shape functions use it too."""
    batch, dim, seqlen = t.shape
    dtype = t.dtype if dtype is None else dtype
    if is_channel_last(t):
        return torch.empty(batch, seqlen, dim, dtype=dtype,
                           device=t.device).transpose(1, 2)
    return torch.empty(batch, dim, seqlen, dtype=dtype, device=t.device)


def _strides(t: Tensor) -> Tuple[int, ...]:
    """The strides of a tensor ((stride_b, stride_d, stride_l) of a (batch,
    dim, L) one), checked to keep every element offset in int32 (the
    kernels' offset arithmetic)."""
    if sum((n - 1) * st for n, st in zip(t.shape, t.stride())) >= 2**31:
        raise ValueError(
            'selective_scan (triton): a tensor of shape '
            f'{tuple(t.shape)} and strides {t.stride()} spans more than '
            '2**31 elements (int32 offsets); split the batch')
    return tuple(t.stride())


def selective_scan_fwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], z: Optional[Tensor], delta_bias: Optional[Tensor],
        delta_softplus: bool,
        save_states: bool,
        config: Optional[ScanConfig] = None,
        reverse: bool = False,
        out: Optional[Tensor] = None,
        out_scale: float = 1.0,
        accumulate: Optional[bool] = None,
        gate_sum: bool = False,
) -> Tuple[Tensor, Tensor, Optional[Tensor], ScanConfig]:
    """Run the forward kernel.

    Args:
        u, delta, z: (batch, dim, L), any strides, any float dtype. The
            lane-major kernel reads contiguous tensors (stride 1 along L)
            best, the time-major one channel-last tensors (stride 1 along
            dim, e.g. a transposed (batch, L, dim) tensor or the z half of
            a (batch, L, 2 dim) one), though contiguous ones are close
            (:func:`scan_layout` says which layouts are worth no copy).
        A: (dim, N) fp32 contiguous; D, delta_bias: (dim,) fp32 or None.
        B, C: (batch, G, N, L), any strides (the step-loop kernel reads
            fp32 with stride 1 along N best, :func:`bc_steps_layout`; the
            time-major kernels contiguous ones or transposed views of
            contiguous (batch, G, L, N) ones, :func:`is_n_last`, the latter
            faster at small batch; the lane-major kernels contiguous ones;
            each launcher copies what it needs).
        save_states: keep the state at every chunk start for the backward.
        config: launch configuration; :func:`default_config` if None.
        reverse: scan from the last position to the first (the result is
            that of the flipped inputs, flipped back), by index arithmetic.
        out: None to allocate the output in the layout of ``u``
            (:func:`_like_layout`) and write ``out_scale * y``; or a
            (batch, dim, L) tensor, any strides, to which ``out_scale * y``
            is *added* in the kernel's epilogue (ACCUMULATE: the second
            direction of a bidirectional scan).
        out_scale: factor applied to y before it is written or added.
        accumulate: whether ``out_scale * y`` is added to ``out`` (True) or
            overwrites it (False); None: add exactly when ``out`` is given.
        gate_sum: (with ``accumulate`` and ``z``) the gate applies to the
            sum: ``out = out_scale * (out + y) * silu(z)``, y ungated (the
            second direction of a bidirectional scan whose first wrote its
            ungated y: one gate instead of two). In the time-major kernel's
            epilogue; the other kernels run ungated into a temporary and
            the sum is gated in PyTorch.

    Returns:
        out (batch, dim, L) in ``u.dtype`` (or the given ``out``);
        last_state (batch, dim, N) fp32; states (batch, dim, n_chunks, N)
        fp32 or None; the configuration used (the backward needs its
        ``block_l``).
    """
    batch, dim, seqlen = u.shape
    n_groups, dstate = B.shape[1], B.shape[2]
    dpg = dim // n_groups
    if config is None:
        config = fwd_config(u, B, save_states)
        if fp32_bc_pays(config, B):
            B, C = B.float(), C.float()  # strides kept (N-last stays so)
            config = fwd_config(u, B, save_states)
    _check_block_d(config, dpg)
    if (config.pre_block_d or config.pre_block_t) and (
            config.steps or not config.block_t):
        raise ValueError('selective_scan_fwd: pre_block_d / pre_block_t '
                         'need the time-major forward (block_t > 0, '
                         'steps=False)')
    block_n = next_power_of_2(max(dstate, 1))
    n_state_chunks = cdiv(seqlen, config.block_l)
    if accumulate is None:
        accumulate = out is not None
    elif accumulate and out is None:
        raise ValueError('selective_scan_fwd: accumulate=True needs out')
    if gate_sum and not (accumulate and z is not None):
        raise ValueError('selective_scan_fwd: gate_sum=True needs '
                         'accumulate=True, out and z')
    if gate_sum and (config.steps or not config.block_t):
        # only the time-major kernel's epilogue gates the sum
        y, last, states, config = selective_scan_fwd(
            u, delta, A, B, C, D, None, delta_bias, delta_softplus,
            save_states, config, reverse)
        return gate_sum_(out, y, z, out_scale), last, states, config
    if out is None:
        out = _like_layout(u)
    if config.block_t and not config.steps:
        launch = TmajorFwdLaunch(u, delta, A, B, C, D, z, delta_bias,
                                 delta_softplus, save_states, config,
                                 reverse, out, out_scale, accumulate,
                                 gate_sum)
        last, states = launch(u, delta, A, B, C, D, z, delta_bias, out)
        return out, last, states, config
    last = torch.empty(batch, dim, dstate, device=u.device,
                       dtype=torch.float32)
    states = (torch.empty(batch, dim, n_state_chunks, dstate, device=u.device,
                          dtype=torch.float32) if save_states else None)
    dummy = out  # never read: the matching HAS_* flag is off
    bias_arg = delta_bias if delta_bias is not None else dummy
    flags, epi, z_as_u, out_as_u = _fwd_flags(
        u, delta, z, out, delta_bias, delta_softplus, config, block_n,
        reverse, out_scale)
    if config.steps:  # opt-in (module triton_steps says why)
        _launch_steps_fwd(u, delta, A, B, C, D, z, bias_arg, out, states,
                          last, config, save_states, n_state_chunks, flags,
                          epi, accumulate, z_as_u, out_as_u)
        return out, last, states, config
    B, C = B.contiguous(), C.contiguous()  # the other kernels' layout
    grid = (batch * (dim // config.block_d), )
    _selective_scan_fwd_kernel[grid](
        u, delta, A, B, C,
        D if D is not None else dummy,
        z if z is not None else dummy,
        bias_arg,
        out, states if states is not None else dummy, last,
        batch, dim, seqlen, dstate, dpg, n_groups, n_state_chunks, *epi,
        HAS_D=D is not None, HAS_Z=z is not None,
        SAVE_STATES=save_states, BLOCK_L=config.block_l,
        PREFETCH=config.prefetch, ACCUMULATE=accumulate, Z_AS_U=z_as_u,
        OUT_AS_U=out_as_u, **flags)
    return out, last, states, config


def _fwd_flags(u: Tensor, delta: Tensor, z: Optional[Tensor], out: Tensor,
               delta_bias: Optional[Tensor], delta_softplus: bool,
               config: ScanConfig, block_n: int, reverse: bool,
               out_scale: float) -> Tuple[dict, tuple, bool, bool]:
    """The forward kernels' shared compile-time flags and epilogue
    arguments: ``(flags, epi, z_as_u, out_as_u)`` with ``epi`` the strides
    of u, delta, z and out, then the output scale, and ``*_as_u`` whether z
    and out have the strides of u."""
    flags = dict(HAS_BIAS=delta_bias is not None, SOFTPLUS=delta_softplus,
                 BLOCK_D=config.block_d, BLOCK_N=block_n, REVERSE=reverse,
                 num_warps=config.num_warps)
    su, sdt = _strides(u), _strides(delta)
    sz = su if z is None else _strides(z)
    so = _strides(out)
    epi = (*su, *sdt, *sz, *so, float(out_scale))
    flags['DT_AS_U'] = sdt == su
    return flags, epi, sz == su, so == su


class TmajorFwdLaunch:
    """The time-major forward's launches (pass 1 over segments 0 .. n_seg-2
    when the sequence is split, then the main kernel over all segments) for
    inputs with the shapes, strides, dtypes and device of the ones it was
    made from, every integer and compile-time argument computed once
    (:func:`selective_scan_fwd` runs one per call; a caller that calls it
    many times with the same layouts keeps one).

    Calling it, ``launch(u, delta, A, B, C, D, z, delta_bias, out)`` with
    ``D`` / ``z`` / ``delta_bias`` present or None as when it was made,
    allocates the end state (and the saved states and segment buffers)
    and launches: B and C are copied when they are neither contiguous nor
    N-last views (as when made), nothing else is checked or converted. B
    and C may be passed 3-D (one group). Returns ``(last, states)``.

    Args: those of :func:`selective_scan_fwd`, with ``config`` and ``out``
    given and ``accumulate`` a bool.
    """
    __slots__ = ('_bc_nl', '_pre', '_pre_args', '_pre_kwargs', '_seg_shapes',
                 '_main', '_main_args', '_main_kwargs', '_last_shape',
                 '_states_shape', '_device')

    def __init__(self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                 C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                 delta_bias: Optional[Tensor], delta_softplus: bool,
                 save_states: bool, config: ScanConfig, reverse: bool,
                 out: Tensor, out_scale: float, accumulate: bool,
                 gate_sum: bool) -> None:
        batch, dim, seqlen = u.shape
        n_groups, dstate = B.shape[1], B.shape[2]
        dpg = dim // n_groups
        _check_block_d(config, dpg)
        block_t = config.block_t
        if config.block_l % block_t:
            raise ValueError(f'time-major forward: block_t={block_t} must '
                             f'divide block_l={config.block_l} (the '
                             'saved-state spacing)')
        pre_d = config.pre_block_d or config.block_d
        pre_t = config.pre_block_t or block_t
        if config.pre_td_first and config.pre_stages > 1:
            raise ValueError('time-major forward: pre_td_first runs the '
                             'pre-pass with the register prefetch; it '
                             'takes no pre_stages > 1')
        if pre_t & (pre_t - 1):
            raise ValueError(f'time-major forward: pre_block_t={pre_t} must '
                             'be a power of two')
        block_n = next_power_of_2(max(dstate, 1))
        flags, epi, z_as_u, out_as_u = _fwd_flags(
            u, delta, z, out, delta_bias, delta_softplus, config, block_n,
            reverse, out_scale)
        flags['WIDEN_BC'] = config.widen_bc
        flags['WIDEN_UD'] = config.widen_ud
        # B, C (batch, G, N, L) contiguous, or views of (batch, G, L, N)
        # ones as they are (BC_NL); anything else is copied
        self._bc_nl = (not (B.is_contiguous() and C.is_contiguous())
                       and is_n_last(B) and is_n_last(C))
        flags['BC_NL'] = self._bc_nl
        n_chunks = cdiv(seqlen, block_t)
        n_state_chunks = cdiv(seqlen, config.block_l)
        # segments of whole main chunks, saved-state blocks and pre-pass
        # chunks
        align = max(config.block_l, pre_t) // block_t
        n_seg, chunks_per_seg = _segments(n_chunks, config.n_seg, align)
        flags['T_IN_THREAD'] = t_in_thread(config.block_d, block_n,
                                           config.num_warps)
        self._pre = None
        if n_seg > 1:
            self._pre = _selective_scan_fwd_seg_kernel[
                (batch * (dim // pre_d), n_seg - 1)]
            self._pre_args = (batch, dim, seqlen, dstate, dpg, n_groups,
                              n_seg, chunks_per_seg * block_t // pre_t,
                              *epi[:6])
            self._pre_kwargs = dict(
                flags, BLOCK_D=pre_d, BLOCK_T=pre_t,
                T_IN_THREAD=t_in_thread(pre_d, block_n, config.num_warps),
                STAGES=config.pre_stages,
                PREFETCH=config.prefetch and config.pre_stages <= 1,
                TD_FIRST=config.pre_td_first)
            if config.pre_maxnreg:
                self._pre_kwargs['maxnreg'] = config.pre_maxnreg
            # the kernels' layouts (_seg_buffers_at)
            self._seg_shapes = ((batch, n_seg, dstate, dim),
                                (batch, n_seg, dim))
        # the register cap is the main kernel's: the pre-pass, with fewer
        # live values, ran faster without it (default_config)
        if config.maxnreg:
            flags['maxnreg'] = config.maxnreg
        self._main = _selective_scan_fwd_tmajor_kernel[
            (batch * (dim // config.block_d), n_seg)]
        self._main_args = (batch, dim, seqlen, dstate, dpg, n_groups,
                           n_chunks, n_state_chunks, n_seg, chunks_per_seg,
                           *epi)
        self._main_kwargs = dict(
            flags, HAS_D=D is not None, HAS_Z=z is not None,
            SAVE_STATES=save_states, BLOCK_T=block_t,
            STATE_L=config.block_l, ACCUMULATE=accumulate, Z_AS_U=z_as_u,
            OUT_AS_U=out_as_u, GATE_SUM=gate_sum, STAGES=config.stages,
            PREFETCH=config.prefetch and config.stages <= 1)
        self._last_shape = (batch, dim, dstate)
        self._states_shape = ((batch, dim, n_state_chunks, dstate)
                              if save_states else None)
        self._device = u.device

    def __call__(self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                 C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                 delta_bias: Optional[Tensor],
                 out: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        device = self._device
        last = torch.empty(self._last_shape, device=device,
                           dtype=torch.float32)
        states = (None if self._states_shape is None else torch.empty(
            self._states_shape, device=device, dtype=torch.float32))
        if not self._bc_nl:
            B, C = B.contiguous(), C.contiguous()
        bias_arg = delta_bias if delta_bias is not None else out
        hend = dtsum = out  # never read unless the sequence is split
        if self._pre is not None:
            hend = torch.empty(self._seg_shapes[0], device=device,
                               dtype=torch.float32)
            dtsum = torch.empty(self._seg_shapes[1], device=device,
                                dtype=torch.float32)
            self._pre(u, delta, A, B, bias_arg, hend, dtsum, *self._pre_args,
                      **self._pre_kwargs)
        self._main(u, delta, A, B, C, D if D is not None else out,
                   z if z is not None else out, bias_arg, out,
                   states if states is not None else out, last, hend, dtsum,
                   *self._main_args, **self._main_kwargs)
        return last, states


def bc_steps_layout(B: Tensor, C: Tensor) -> Tuple[Tensor, Tensor]:
    """B and C (batch, G, N, L) as the step-loop forward reads them best:
    fp32, stride 1 along N (memory (batch, G, L, N)), the same strides for
    both. Every thread reads a step's whole N-vector, so in bf16 it would
    convert 2N values per step itself (2 instructions per state update, a
    sixth of the kernel's, offline sm_90a); the copy costs 12 bytes per
    element of B and C, about 5% of the scan's bytes for Vim (N = 16,
    dim = 384). Returned as they are when they already are so (e.g. slices
    of one fp32 (batch, L, 2N) tensor), else as copies."""
    if (B.dtype == C.dtype == torch.float32 and B.stride(2) == 1
            and C.stride() == B.stride()):
        return B, C

    def n_last(t: Tensor) -> Tensor:
        return t.transpose(2, 3).to(
            torch.float32, memory_format=torch.contiguous_format).transpose(
                2, 3)

    return n_last(B), n_last(C)


def _launch_steps_fwd(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                      C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                      bias_arg: Tensor, out: Tensor,
                      states: Optional[Tensor], last: Tensor,
                      config: ScanConfig, save_states: bool,
                      n_state_chunks: int, flags: dict, epi: tuple,
                      accumulate: bool, z_as_u: bool,
                      out_as_u: bool) -> None:
    """The step-loop forward (:mod:`.triton_steps`): pass 1 over segments
    0 .. n_seg-2 when the sequence is split, then the main kernel.
    ``bias_arg``: the delta bias or a dummy; ``states`` / ``last``: the
    outputs; ``flags``, ``epi`` and ``*_as_u`` (z and out have the strides
    of u) from :func:`_fwd_flags`."""
    from .triton_steps import (_selective_scan_fwd_steps_kernel,
                               _selective_scan_fwd_steps_seg_kernel)
    batch, dim, seqlen = u.shape
    dstate = B.shape[2]
    dpg = dim // B.shape[1]
    block_t, state_l = config.block_t, config.block_l
    if block_t < 1 or (block_t % state_l and state_l % block_t):
        raise ValueError(f'step-loop forward: block_t={block_t} must be a '
                         f'multiple or a divisor of block_l={state_l} (the '
                         'saved-state spacing)')
    B, C = bc_steps_layout(B, C)
    sbc = _strides(B)  # (batch, group, N, L) strides, shared with C
    n_chunks = cdiv(seqlen, block_t)
    n_seg, chunks_per_seg = _segments(n_chunks, config.n_seg,
                                      max(state_l // block_t, 1))
    n_prog = batch * (dim // config.block_d)
    flags = dict(flags, EVEN_N=flags['BLOCK_N'] == dstate,
                 FAST_MATH=not triton_interpret())
    dummy = out
    hend, dtsum = _segment_buffers(u, n_seg, dstate, dummy)
    if n_seg > 1:
        _selective_scan_fwd_steps_seg_kernel[(n_prog, n_seg - 1)](
            u, delta, A, B, bias_arg, hend, dtsum,
            batch, dim, seqlen, dstate, dpg, n_seg, chunks_per_seg,
            *epi[:6], *sbc, BLOCK_T=block_t, **flags)
    _selective_scan_fwd_steps_kernel[(n_prog, n_seg)](
        u, delta, A, B, C,
        D if D is not None else dummy,
        z if z is not None else dummy,
        bias_arg, out, states if states is not None else dummy, last,
        hend, dtsum,
        batch, dim, seqlen, dstate, dpg, n_chunks, n_state_chunks,
        n_seg, chunks_per_seg, *epi[:12], *sbc, epi[12],
        HAS_D=D is not None, HAS_Z=z is not None, SAVE_STATES=save_states,
        BLOCK_T=block_t, STATE_L=state_l, ACCUMULATE=accumulate,
        Z_AS_U=z_as_u, OUT_AS_U=out_as_u, **flags)


def _segment_buffers(u: Tensor, n_seg: int, dstate: int,
                     dummy: Tensor) -> Tuple[Tensor, Tensor]:
    """((batch, dim, n_seg, N), (batch, dim, n_seg)) fp32 buffers for the
    pre-pass results of a split sequence (the forward's end states and the
    backward's entering adjoints, and the sums of delta): ``dummy`` for
    both when the sequence is not split."""
    if n_seg <= 1:
        return dummy, dummy
    batch, dim, _ = u.shape
    hend = torch.empty(batch, dim, n_seg, dstate, device=u.device,
                       dtype=torch.float32)
    dtsum = torch.empty(batch, dim, n_seg, device=u.device,
                        dtype=torch.float32)
    return hend, dtsum


def _segments(n_chunks: int, n_seg: int, align: int) -> Tuple[int, int]:
    """(segments, chunks per segment) for splitting ``n_chunks`` chunks into
    at most ``n_seg`` segments whose length is a multiple of ``align``
    chunks (so saved states fall on segment-local chunk starts); every
    segment but the last is full."""
    if n_seg <= 1:
        return 1, n_chunks
    per = cdiv(cdiv(n_chunks, n_seg), align) * align
    return cdiv(n_chunks, per), per


def selective_scan_bwd(
        u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
        D: Optional[Tensor], z: Optional[Tensor], delta_bias: Optional[Tensor],
        delta_softplus: bool, states: Tensor, block_l: int, grad_out: Tensor,
        config: Optional[ScanConfig] = None, reverse: bool = False,
        grad_scale: float = 1.0, dz: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Optional[Tensor],
           Optional[Tensor], Optional[Tensor]]:
    """Run the backward kernel (inputs as in :func:`selective_scan_fwd`;
    ``grad_out`` (batch, dim, L), any strides).

    ``block_l`` must be the forward's (it defines the saved ``states``);
    ``config`` may choose other channels-per-program and warps.
    ``grad_scale`` multiplies ``grad_out`` as the kernel reads it. ``dz``:
    None to allocate z's gradient in the layout of z, or a tensor (any
    strides) holding a gradient of z to which this one is *added*
    (ACCUMULATE_DZ: the second direction of a bidirectional scan).

    Returns:
        du, ddelta (input dtypes, in the layouts of u and delta,
        :func:`_like_layout`), dA (fp32), dB, dC (fp32, (batch, G, N, L)),
        dD, dz, d(delta_bias) (None where the input was None).
    """
    batch, dim, seqlen = u.shape
    n_groups, dstate = B.shape[1], B.shape[2]
    dpg = dim // n_groups
    B, C = B.contiguous(), C.contiguous()  # (batch, G, N, L)
    if config is None:
        config = default_config(seqlen, dstate, dpg, backward=True,
                                n_rows=batch * dim, itemsize=u.element_size(),
                                block_l=block_l)
    _check_block_d(config, dpg)
    block_d, num_warps = config.block_d, config.num_warps
    block_n = next_power_of_2(max(dstate, 1))
    n_chunks = states.shape[2]
    du = _like_layout(u)
    ddelta = _like_layout(delta)
    accumulate_dz = dz is not None
    if z is not None and dz is None:
        dz = _like_layout(z)
    dA = torch.zeros_like(A, dtype=torch.float32)
    dB = torch.zeros(B.shape, device=u.device, dtype=torch.float32)
    dC = torch.zeros(C.shape, device=u.device, dtype=torch.float32)
    dD = torch.zeros(dim, device=u.device,
                     dtype=torch.float32) if D is not None else None
    dbias = torch.zeros(dim, device=u.device,
                        dtype=torch.float32) if delta_bias is not None else None
    dummy = du
    n_prog = batch * (dim // block_d)
    if config.block_t and block_l % config.block_t:
        raise ValueError(f'time-major backward: block_t={config.block_t} '
                         f'must divide block_l={block_l} (the saved-state '
                         'spacing)')
    if config.block_t and config.prefetch and block_l != config.block_t:
        raise ValueError(f'time-major backward with prefetch: block_t='
                         f'{config.block_t} must equal block_l={block_l} '
                         '(one chunk per saved state)')
    if config.n_seg > 1 and not config.block_t:
        raise ValueError(f'backward: n_seg={config.n_seg} needs the '
                         'time-major kernel (block_t > 0)')
    su, sdt, sg = _strides(u), _strides(delta), _strides(grad_out)
    sz = su if z is None else _strides(z)
    sdz = su if dz is None else _strides(dz)
    sdu, sddt = _strides(du), _strides(ddelta)
    flags = dict(HAS_Z=z is not None, HAS_BIAS=delta_bias is not None,
                 SOFTPLUS=delta_softplus, BLOCK_D=block_d, BLOCK_N=block_n,
                 REVERSE=reverse, num_warps=num_warps)
    bias_arg = delta_bias if delta_bias is not None else dummy
    z_arg = z if z is not None else dummy
    if config.block_t:
        kernel = _selective_scan_bwd_tmajor_kernel
        t_flags = dict(BLOCK_T=config.block_t,
                       T_IN_THREAD=t_in_thread(block_d, block_n, num_warps))
        if config.maxnreg:
            t_flags['maxnreg'] = config.maxnreg
        n_seg, blocks_per_seg = _segments(n_chunks, config.n_seg, 1)
        qend, dtsum = _segment_buffers(u, n_seg, dstate, dummy)
        if n_seg > 1:
            _selective_scan_bwd_seg_kernel[(n_prog, n_seg - 1)](
                delta, A, C, z_arg, bias_arg, grad_out, qend, dtsum,
                batch, dim, seqlen, dstate, dpg, n_groups, n_seg,
                blocks_per_seg * (block_l // config.block_t), *sdt, *sz, *sg,
                float(grad_scale), Z_AS_DT=sz == sdt, G_AS_DT=sg == sdt,
                PREFETCH=config.prefetch, **flags, **t_flags)
        seg_args = (qend, dtsum)
        sizes = (n_chunks, n_seg, blocks_per_seg)
        blocks = dict(STATE_L=block_l, **t_flags)
    else:
        kernel = _selective_scan_bwd_kernel
        n_seg, seg_args, sizes = 1, (), (n_chunks, )
        blocks = dict(BLOCK_L=block_l)
    kernel[(n_prog, n_seg)](
        u, delta, A, B, C,
        D if D is not None else dummy, z_arg, bias_arg,
        states, grad_out, *seg_args,
        du, ddelta, dA, dB, dC,
        dD if dD is not None else dummy,
        dz if dz is not None else dummy,
        dbias if dbias is not None else dummy,
        batch, dim, seqlen, dstate, dpg, n_groups, *sizes,
        *su, *sdt, *sz, *sg, *sdu, *sddt, *sdz, float(grad_scale),
        HAS_D=D is not None, ACCUMULATE_DZ=accumulate_dz, DT_AS_U=sdt == su,
        Z_AS_U=sz == su, G_AS_U=sg == su, DU_AS_U=sdu == su,
        DDT_AS_U=sddt == su, DZ_AS_U=sdz == su, PREFETCH=config.prefetch,
        **flags, **blocks)
    return du, ddelta, dA, dB, dC, dD, dz, dbias
