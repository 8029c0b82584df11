# Copyright (c) mmmamba contributors. All rights reserved.
"""Vim's two scan directions in one launch (inference, N > 1).

Why: at batch 64 the unsplit inference scan is latency-bound. The
one-lane-per-channel tile (32 channels per warp, a channel's 16 states
in one thread, 8-step chunks pipelined through ``cp.async``) issues 17%
fewer instructions per state update than the 16-channel tile, but one
direction has only ``batch * dim / 32`` one-warp programs (768 at Vim-Ti,
batch 64): 1.45 warps per scheduler on an H100 against 2.9
(``benchmarks/NOTES.md``, 2026-12-06). Here a program holds *both*
directions of its 32 channels, one warp each, so one launch runs twice
the warps of a one-direction launch on that tile.

**Tile.** ``(BLOCK_T, BLOCK_N, 2, BLOCK_D)``, the direction an axis of
its own: with two warps Triton's default layout puts one warp on each
direction and the lanes on channels, all T x N values of a channel in
its thread. Per-channel tensors (u, delta, A, D) come stacked by
direction, so a direction is only an offset; B and C are (T, N, 2)
tiles broadcast over channels. (With the directions as one axis of
``2 * BLOCK_D`` columns, B and C had to be picked per column: two
selects per state update, 9.8 instead of 7.0 instructions per update,
offline Triton 3.6 sm_90.) Chunks are 4 or 8 steps
(:data:`BIDIR_BLOCK_T`), pipelined through ``cp.async`` in 4 stages;
each chunk's steps (and in the second half its gate) are formed in the
loop iteration before its own (:data:`BIDIR_AHEAD`).

**Time.** Loop step ``s`` (chunk ``c``, step ``t`` in it, ``s = c T +
t``) is position ``s`` in the forward direction and ``P - 1 - s`` in the
reverse one, where ``P = 2 H T`` pads the sequence to an even number
``2 H`` of chunks (steps at positions ``>= L`` carry the state: delta 0,
u 0). So in the first ``H`` chunks the forward warp visits positions
``[0, P/2)`` and the reverse warp ``[P/2, P)``: disjoint, each writes
its own ungated ``y`` there. After a barrier each warp visits the half
the other one wrote, reads that partial sum back and writes the gated
output ``out_scale * (y_f + y_b) * silu(z)`` (Vim's ``bimamba_type='v2'``
sum with a shared z, as the accumulating two-launch path computes it).
Every output position is written twice and read once, as in the two
launches (the first writes y_f, the second reads it and writes the
sum); z is read once.

**Delta.** Stored for both directions, delta would be two more (B, L,
E) tensors alive at once than the one-direction-at-a-time path holds:
above DeiT-Ti's peak memory at Vim-Ti 1248² and 2048² b64 (H100,
``benchmarks/NOTES.md``, 2026-12-06, third part). So Vim's core passes
dt_proj's *input* instead (R values per position, from the conv +
projection kernel's ``dt_low``) with dt_proj's weight and bias, and the
kernel forms each step's delta (``DT_LOW``): 16 FMAs for the rank
padded to 16, the rounding to the activations' dtype, the bias and a
two-MUFU softplus per (step, channel), +28% of the scan's time, against
a third of the conv kernel's bytes and no delta in memory.

Inputs (no autograd, no saved states): u (2, batch, L, dim) 16-bit or
fp32, channel stride 1; delta with u's shape and strides (the step
itself), or dt_proj's input (2, batch, L, P) fp32 with its weight (2,
dim, P) and bias (2, dim); A (2, dim, N) fp32; B, C (2, batch, L, N)
fp32 contiguous; D (2, dim) fp32; z and out (batch, L, dim) views with
channel stride 1 (out may be the x half of Vim's ``xz``, dead by then).
"""
import re
from typing import Optional

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, triton_interpret
from ..conv_proj.triton_kernels import _round_to
from ..triton_math import silu, softplus, softplus_16bit
from .triton_kernels import (_combine, _first, _rows_tile, _second,
                             _strides)

__all__ = ['BidirFwdLaunch', 'bidir_fwd_fused', 'BIDIR_BLOCK_D',
           'BIDIR_FUSED']

#: Whether :func:`~mmmamba.ops.selective_scan.triton_bidir_fused_pays` may
#: pick this kernel (benchmarks switch it off for A/B runs).
BIDIR_FUSED = True

#: Channels per direction of a program (one warp per direction).
BIDIR_BLOCK_D = 32


def _default_block_t() -> int:
    """Steps per chunk (:data:`BIDIR_BLOCK_T`): 8 under Triton 3.6, 4
    otherwise. With the look-ahead (:data:`BIDIR_AHEAD`) under the
    168-register cap, 8-step chunks compile without stack under Triton
    3.6 (offline sm_90, 168 registers; 4-6 stages) and are 3.7% faster
    than 4-step ones (H200, Vim-Ti batch 64, kernel ms per call at 2048²
    / 1248²: 5.18 / 1.93 against 5.38 / 2.00; Vim-Ti under CUDA graphs
    -1.9% / -2.2% per batch; ``benchmarks/NOTES.md``, 2026-12-07, fifth
    part). Under Triton 3.8 they spill 224 bytes at the cap (249
    registers uncapped: two waves at batch 64), so 4 steps there; other
    versions (and version strings that do not parse) keep 4. The chunk
    size moves the boundary between the loops' halves (the walk is
    padded to an even number of chunks), so at the positions between the
    two boundaries the other direction's partial sum is the one rounded
    to the output's dtype: 16-bit outputs differ there by that rounding,
    fp32 outputs not at all."""
    return 8 if re.match(r'3\.6(\.|$)', triton.__version__) else 4


#: Steps per chunk (:func:`_default_block_t`).
BIDIR_BLOCK_T = _default_block_t()
#: Triton software-pipelining stages of each half's chunk loop (H100,
#: kernel ms per Vim-Ti mixer core at 2048² b64: 2 stages 5.97, 3 4.72,
#: 4 4.57).
BIDIR_STAGES = 4
#: What the loops form one chunk ahead (DT_LOW only): 0 nothing, 1 the
#: steps delta, 2 also the second loop's gate silu(z). H100, Vim-Ti
#: batch 64, kernel ms per call at 2048² / 1248² (outputs bit for bit
#: the same): 0 5.60 / 2.09, 1 5.42 / 2.02, 2 5.44 / 2.03; 2 under
#: :data:`BIDIR_MAXNREG`'s 168 5.34 / 1.99 (``benchmarks/NOTES.md``,
#: 2026-12-07, fourth part).
BIDIR_AHEAD = 2
#: ptxas register cap (0: none). 168 keeps 6 two-warp programs per SM
#: (12 x 32 x 168 registers of 64K), so batch 64's 768 programs at
#: Vim-Ti's width run in one wave on a 132-SM H100. With the look-ahead
#: (:data:`BIDIR_AHEAD` 2) the kernel as Vim runs it takes 150 registers
#: under the cap with Triton 3.6 (128 uncapped, 2% slower: ptxas
#: schedules tighter) and 166 with 3.8 (165 uncapped), no stack (offline
#: sm_90); without it 137 / 134. A cap of 128 spills 32-40 bytes under
#: Triton 3.8.
BIDIR_MAXNREG = 168


@triton.jit
def _states4(a, b, h, offs_t):
    """The states (T, N, 2, D) of a chunk with decays ``a`` and inputs
    ``b`` from the carried state ``h`` (N, 2, D): ``_states`` of the
    one-direction kernels on four axes (h folded into step 0, then the
    scan over T, which the tile's layout keeps in each thread, so the
    reduces that take steps 0 and T-1 keep operand order)."""
    first = (offs_t == 0)[:, None, None, None]
    b0 = tl.reduce(a, 0, _first) * h + tl.reduce(b, 0, _first)
    b = tl.where(first, b0[None, :, :, :], b)
    _, hh = tl.associative_scan((a, b), 0, _combine)
    return hh


@triton.jit
def _dt_proj(delta_ptr, row_dl, pos, W, BLOCK_R: tl.constexpr):
    """``W_dt dt``: (T, 2, D) from dt_proj's input at positions ``pos``
    (T, 2) and its weight ``W`` (R, 2, D), the rank padded with zeros to
    ``BLOCK_R`` (summing over a rank split as 8 + 4 for Vim's 12 took
    more instructions, not fewer: smaller, less vectorised loads;
    offline Triton 3.6 sm_90, 659 against 592 per chunk). Summed as two
    independent halves (:func:`_sum_halves`)."""
    offs_r = tl.arange(0, BLOCK_R)
    off = (row_dl[None, None, :] + pos[:, None, :] * BLOCK_R
           + offs_r[None, :, None])  # (T, R, 2)
    dtl = tl.load(delta_ptr + off)
    return _sum_halves(W[None, :, :, :] * dtl[:, :, :, None])


@triton.jit
def _sum_halves(p):
    """``tl.sum(p, axis=1)`` of a (T, K, 2, D) tile whose axis 1 each
    thread holds whole, as two sums over its halves added: two independent
    FFMA chains instead of one (Triton 3.6 sums an in-thread axis in one
    sequential chain, and ncu's largest stall of this kernel was waiting
    on fixed-latency dependencies). H100, Vim-Ti b64 bf16, the scan's
    kernel ms with both of its sums so: 5.80 -> 5.73 at 2048², 2.159 ->
    2.134 at 1248² (``benchmarks/session_1206d_h100/callG``, ``callH``);
    100 -> 128 registers (offline Triton 3.6; the same code under 3.8)."""
    p = tl.reshape(p, (p.shape[0], 2, p.shape[1] // 2, 2, p.shape[3]))
    return tl.sum(tl.sum(p, axis=2), axis=1)


@triton.jit
def _bidir_pos(rdir, offs_t, seqlen, n_pad, c, BLOCK_T: tl.constexpr):
    """Chunk ``c``'s memory positions (T, 2), loop step ``s = c T + t``
    at ``s`` forward and ``n_pad - 1 - s`` reverse, clamped into the
    sequence, and whether each is inside it."""
    s = c * BLOCK_T + offs_t
    pos = tl.where(rdir[None, :] == 1, n_pad - 1 - s[:, None], s[:, None])
    ok = pos < seqlen
    return tl.minimum(pos, seqlen - 1), ok


@triton.jit
def _steps_from_low(u_ptr, delta_ptr, row_dl, pos, m_td, Wdt, dtb,
                    BLOCK_R: tl.constexpr):
    """The steps (T, 2, D) at positions ``pos`` (T, 2) from dt_proj's
    input: ``softplus(round(W_dt dt) + bias)``, the product rounded to
    u's dtype as the dt_proj GEMM's output under autocast; 0 outside
    ``m_td`` (padded steps carry the state)."""
    dt = _dt_proj(delta_ptr, row_dl, pos, Wdt, BLOCK_R)
    dt = _round_to(dt, u_ptr.dtype.element_ty) + dtb[None, :, :]
    if u_ptr.dtype.element_ty == tl.float32:
        dt = softplus(dt)
    else:
        dt = softplus_16bit(dt)
    return tl.where(m_td, dt, 0.0)


@triton.jit
def _bidir_steps(u_ptr, delta_ptr, row_u, row_dl, rdir, offs_t, seqlen,
                 n_pad, c, Wdt, dtb, BLOCK_T: tl.constexpr,
                 BLOCK_R: tl.constexpr):
    """Chunk ``c``'s steps (T, 2, D) from dt_proj's input, for a
    :func:`_bidir_chunk` later in the loop."""
    pos, ok = _bidir_pos(rdir, offs_t, seqlen, n_pad, c, BLOCK_T)
    m_td = ok[:, :, None] & (row_u[None, :, :] >= 0)
    return _steps_from_low(u_ptr, delta_ptr, row_dl, pos, m_td, Wdt, dtb,
                           BLOCK_R)


@triton.jit
def _bidir_gate(z_ptr, row_z, sz_l, rdir, offs_t, seqlen, n_pad, c,
                BLOCK_T: tl.constexpr):
    """Chunk ``c``'s gate silu(z) (T, 2, D) in fp32."""
    pos, _ = _bidir_pos(rdir, offs_t, seqlen, n_pad, c, BLOCK_T)
    off = row_z[None, :, :] + pos[:, :, None] * sz_l
    return silu(tl.load(z_ptr + off).to(tl.float32))


@triton.jit
def _bidir_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u,
                 su_l, row_dl, row_bc, row_z, sz_l, row_o, so_l, rdir,
                 offs_t, offs_n, seqlen, n_pad, c, A2, Dv, Wdt, dtb, h,
                 out_scale, HAS_D: tl.constexpr, GATED: tl.constexpr,
                 DT_LOW: tl.constexpr, BLOCK_T: tl.constexpr,
                 BLOCK_N: tl.constexpr, BLOCK_R: tl.constexpr,
                 g_dt=None, g_sz=None, GIVEN: tl.constexpr = 0):
    """Chunk ``c`` of both directions from state ``h`` (N, 2, D): loads,
    the scan, the epilogue's store (ungated y, or with GATED the gated
    sum with the partial already at those positions). Returns the
    state after the chunk. With DT_LOW delta is formed here from
    dt_proj's input (T, R, 2): ``softplus(round(W_dt dt) + bias)``, the
    product rounded to the activations' dtype as the dt_proj GEMM's
    output under autocast.

    Tiles are (T, N, 2, D): Triton's default layout puts the lanes on D
    and the two warps on the direction axis, so B and C, (T, N, 2),
    broadcast over D without a per-column select (with the directions
    as one axis of 2D columns the selects made it 9.8 / 10.8
    instructions per state update instead of 7.0 / 7.9, ungated /
    gated: offline Triton 3.6 sm_90 SASS)."""
    # the loads read padded steps at the last position, unmasked (H100,
    # 2048² b64: 5.72 -> 5.60 ms per core, benchmarks/NOTES.md): their dt
    # is 0, which carries the state, and the stores are masked
    pos, ok = _bidir_pos(rdir, offs_t, seqlen, n_pad, c, BLOCK_T)
    pos3 = pos[:, :, None]
    m_td = ok[:, :, None] & (row_u[None, :, :] >= 0)  # (T, 2, D)
    off_u = row_u[None, :, :] + pos3 * su_l
    u = tl.load(u_ptr + off_u).to(tl.float32)
    if GIVEN >= 1:
        dt = g_dt
    elif DT_LOW:
        dt = _steps_from_low(u_ptr, delta_ptr, row_dl, pos, m_td, Wdt, dtb,
                             BLOCK_R)
    else:
        dt = tl.load(delta_ptr + off_u).to(tl.float32)
        dt = tl.where(m_td, dt, 0.0)
    # (T, N, 2): position pos[t, r] of direction r, state n
    off_bc = (row_bc[None, None, :] + pos[:, None, :] * BLOCK_N
              + offs_n[None, :, None])
    Bt = tl.load(B_ptr + off_bc)
    Ct = tl.load(C_ptr + off_bc)
    if GATED:
        off_z = row_z[None, :, :] + pos3 * sz_l
        off_o = row_o[None, :, :] + pos3 * so_l
        if GIVEN >= 2:
            zz = g_sz
        else:
            zz = tl.load(z_ptr + off_z).to(tl.float32)
        prev = tl.load(out_ptr + off_o).to(tl.float32)
    a = tl.exp2(dt[:, None, :, :] * A2[None, :, :, :])  # (T, N, 2, D)
    b = (dt * u)[:, None, :, :] * Bt[:, :, :, None]
    hh = _states4(a, b, h, offs_t)
    y = _sum_halves(hh * Ct[:, :, :, None])  # (T, 2, D)
    if HAS_D:
        y += Dv[None, :, :] * u
    if GATED:
        if GIVEN >= 2:
            y = (y + prev) * zz * out_scale  # zz: silu(z) already
        else:
            y = (y + prev) * silu(zz) * out_scale
        tl.store(out_ptr + off_o, y.to(out_ptr.dtype.element_ty), mask=m_td)
    else:
        tl.store(out_ptr + row_o[None, :, :] + pos3 * so_l,
                 y.to(out_ptr.dtype.element_ty), mask=m_td)
    return tl.reduce(hh, 0, _second)  # the state after the last step


@triton.jit
def _bidir_loops_ahead(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr,
                       row_u, su_l, row_dl, row_bc, row_z, sz_l, row_o,
                       so_l, rdir, offs_t, offs_n, seqlen, n_pad,
                       half_chunks, A2, Dv, Wdt, dtb, h, out_scale,
                       HAS_D: tl.constexpr, BLOCK_T: tl.constexpr,
                       BLOCK_N: tl.constexpr, BLOCK_R: tl.constexpr,
                       STAGES: tl.constexpr, AHEAD: tl.constexpr):
    """The kernel's two loops with each chunk's steps (AHEAD 1; with 2
    also the second loop's gate) formed in the iteration before its own
    (DT_LOW only): that chain (dt_proj's dot, the rounding, the bias,
    the softplus's two MUFU ops) then overlaps the previous chunk's
    state updates instead of holding up the decays. The last
    iteration forms its own chunk's again (never used)."""
    last = 2 * half_chunks - 1
    dt = _bidir_steps(u_ptr, delta_ptr, row_u, row_dl, rdir, offs_t,
                      seqlen, n_pad, 0, Wdt, dtb, BLOCK_T, BLOCK_R)
    for c in tl.range(0, half_chunks, num_stages=STAGES):
        dtn = _bidir_steps(u_ptr, delta_ptr, row_u, row_dl, rdir, offs_t,
                           seqlen, n_pad, c + 1, Wdt, dtb, BLOCK_T, BLOCK_R)
        h = _bidir_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr,
                         row_u, su_l, row_dl, row_bc, row_z, sz_l, row_o,
                         so_l, rdir, offs_t, offs_n, seqlen, n_pad, c, A2,
                         Dv, Wdt, dtb, h, out_scale, HAS_D, False, True,
                         BLOCK_T, BLOCK_N, BLOCK_R, dt, dt, 1)
        dt = dtn
    tl.debug_barrier()
    sz = dt  # the gate of the chunk (AHEAD 2)
    if AHEAD == 2:
        sz = _bidir_gate(z_ptr, row_z, sz_l, rdir, offs_t, seqlen, n_pad,
                         half_chunks, BLOCK_T)
    for c in tl.range(half_chunks, 2 * half_chunks, num_stages=STAGES):
        nxt = tl.minimum(c + 1, last)
        dtn = _bidir_steps(u_ptr, delta_ptr, row_u, row_dl, rdir, offs_t,
                           seqlen, n_pad, nxt, Wdt, dtb, BLOCK_T, BLOCK_R)
        szn = sz
        if AHEAD == 2:
            szn = _bidir_gate(z_ptr, row_z, sz_l, rdir, offs_t, seqlen,
                              n_pad, nxt, BLOCK_T)
        h = _bidir_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr,
                         row_u, su_l, row_dl, row_bc, row_z, sz_l, row_o,
                         so_l, rdir, offs_t, offs_n, seqlen, n_pad, c, A2,
                         Dv, Wdt, dtb, h, out_scale, HAS_D, True, True,
                         BLOCK_T, BLOCK_N, BLOCK_R, dt, sz, AHEAD)
        dt = dtn
        sz = szn


@triton.jit
def _bidir_fwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, out_ptr, W_ptr,
    dtb_ptr, n_batch, dim, seqlen, half_chunks,
    su_r, su_b, su_l, sdl_r, sdl_b, sbc_r, sbc_b, sz_b, sz_l, so_b, so_l,
    out_scale,
    HAS_D: tl.constexpr, DT_LOW: tl.constexpr, BLOCK_D: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_R: tl.constexpr,
    STAGES: tl.constexpr, AHEAD: tl.constexpr = 0,
):
    """Both directions of ``BLOCK_D`` channels of one batch element
    (module docstring): ``half_chunks`` chunks writing ungated partial
    sums, a barrier, ``half_chunks`` chunks writing the gated output.
    With DT_LOW, ``delta_ptr`` holds dt_proj's input (2, batch, L,
    BLOCK_R) fp32 (strides ``sdl_r``, ``sdl_b``), ``W_ptr`` dt_proj's
    weight (2, dim, BLOCK_R) fp32 and ``dtb_ptr`` its bias (2, dim)."""
    pid = tl.program_id(0)
    bidx = pid % n_batch  # batch fastest, as the one-direction kernels
    d0 = (pid // n_batch) * BLOCK_D
    rdir = tl.arange(0, 2)  # 0 forward, 1 reverse
    ch = d0 + tl.arange(0, BLOCK_D)
    row_u = rdir[:, None] * su_r + bidx * su_b + ch[None, :]  # (2, D)
    row_z = bidx * sz_b + ch[None, :] + 0 * rdir[:, None]
    row_o = bidx * so_b + ch[None, :] + 0 * rdir[:, None]
    row_bc = rdir * sbc_r + bidx * sbc_b  # (2,)
    A2 = tl.reshape(
        _rows_tile(A_ptr, (rdir[:, None] * dim + ch[None, :]).reshape(
            2 * BLOCK_D) * BLOCK_N, True, BLOCK_N, BLOCK_N, 2 * BLOCK_D),
        (BLOCK_N, 2, BLOCK_D)) * 1.4426950408889634
    Dv = A2  # placeholder when HAS_D is off (never read)
    if HAS_D:
        Dv = tl.load(D_ptr + rdir[:, None] * dim + ch[None, :])
    Wdt = A2  # placeholders when DT_LOW is off (never read)
    dtb = A2
    if DT_LOW:
        Wdt = tl.reshape(
            _rows_tile(W_ptr, (rdir[:, None] * dim + ch[None, :]).reshape(
                2 * BLOCK_D) * BLOCK_R, True, BLOCK_R, BLOCK_R,
                2 * BLOCK_D), (BLOCK_R, 2, BLOCK_D))
        dtb = tl.load(dtb_ptr + rdir[:, None] * dim + ch[None, :])
    row_dl = rdir * sdl_r + bidx * sdl_b  # (2,)
    offs_t = tl.arange(0, BLOCK_T)
    offs_n = tl.arange(0, BLOCK_N)
    n_pad = 2 * half_chunks * BLOCK_T
    h = tl.zeros((BLOCK_N, 2, BLOCK_D), dtype=tl.float32)
    if AHEAD:
        _bidir_loops_ahead(
            u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u, su_l,
            row_dl, row_bc, row_z, sz_l, row_o, so_l, rdir, offs_t, offs_n,
            seqlen, n_pad, half_chunks, A2, Dv, Wdt, dtb, h, out_scale,
            HAS_D, BLOCK_T, BLOCK_N, BLOCK_R, STAGES, AHEAD)
    else:
        _bidir_loops(
            u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr, row_u, su_l,
            row_dl, row_bc, row_z, sz_l, row_o, so_l, rdir, offs_t, offs_n,
            seqlen, n_pad, half_chunks, A2, Dv, Wdt, dtb, h, out_scale,
            HAS_D, DT_LOW, BLOCK_T, BLOCK_N, BLOCK_R, STAGES)


@triton.jit
def _bidir_loops(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr,
                 row_u, su_l, row_dl, row_bc, row_z, sz_l, row_o,
                 so_l, rdir, offs_t, offs_n, seqlen, n_pad,
                 half_chunks, A2, Dv, Wdt, dtb, h, out_scale,
                 HAS_D: tl.constexpr, DT_LOW: tl.constexpr,
                 BLOCK_T: tl.constexpr,
                 BLOCK_N: tl.constexpr, BLOCK_R: tl.constexpr,
                 STAGES: tl.constexpr):
    """The kernel's two loops: ``half_chunks`` chunks writing ungated
    partial sums, a barrier, ``half_chunks`` writing the gated output."""
    for c in tl.range(0, half_chunks, num_stages=STAGES):
        h = _bidir_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr,
                         row_u, su_l, row_dl, row_bc, row_z, sz_l, row_o,
                         so_l, rdir, offs_t, offs_n, seqlen, n_pad, c, A2,
                         Dv, Wdt, dtb, h, out_scale, HAS_D, False, DT_LOW,
                         BLOCK_T, BLOCK_N, BLOCK_R)
    # every partial sum of the first half is in memory before either warp
    # reads the other's (a CTA barrier orders the global accesses)
    tl.debug_barrier()
    for c in tl.range(half_chunks, 2 * half_chunks, num_stages=STAGES):
        h = _bidir_chunk(u_ptr, delta_ptr, B_ptr, C_ptr, z_ptr, out_ptr,
                         row_u, su_l, row_dl, row_bc, row_z, sz_l, row_o,
                         so_l, rdir, offs_t, offs_n, seqlen, n_pad, c, A2,
                         Dv, Wdt, dtb, h, out_scale, HAS_D, True, DT_LOW,
                         BLOCK_T, BLOCK_N, BLOCK_R)


def _check_fp32(t: Optional[Tensor], name: str, shape: tuple) -> None:
    if t is None or (tuple(t.shape) != shape or not t.is_contiguous()
                     or t.dtype != torch.float32):
        got = None if t is None else (tuple(t.shape), t.dtype)
        raise ValueError(f'bidir_fwd_fused: {name} must be contiguous fp32 '
                         f'{shape}, got {got}')


class BidirFwdLaunch:
    """The launch of :func:`_bidir_fwd_kernel` for inputs with the shapes,
    strides, dtypes and device of the ones it was made from (checked
    once, here); calling it launches with no further checks.

    Args: those of :func:`bidir_fwd_fused`; ``block_t``, ``stages``,
    ``maxnreg`` and ``ahead`` the tile and the loops' schedule (sweeps;
    None: :data:`BIDIR_BLOCK_T`, :data:`BIDIR_STAGES`,
    :data:`BIDIR_MAXNREG` and, with ``dt_proj_weight``,
    :data:`BIDIR_AHEAD`, as they are when the launch is made).
    ``ahead`` > 0 needs ``dt_proj_weight``.
    """
    __slots__ = ('_kernel', '_ints', '_kwargs')

    def __init__(self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                 C: Tensor, D: Optional[Tensor], z: Tensor, out: Tensor,
                 out_scale: float = 1.0,
                 dt_proj_weight: Optional[Tensor] = None,
                 delta_bias: Optional[Tensor] = None,
                 block_t: Optional[int] = None,
                 stages: Optional[int] = None,
                 maxnreg: Optional[int] = None,
                 ahead: Optional[int] = None) -> None:
        # None: the module's values when the launch is made (A/B runs)
        block_t = BIDIR_BLOCK_T if block_t is None else block_t
        stages = BIDIR_STAGES if stages is None else stages
        maxnreg = BIDIR_MAXNREG if maxnreg is None else maxnreg
        if u.dim() != 4 or u.shape[0] != 2:
            raise ValueError('bidir_fwd_fused: u must be (2, batch, L, dim)'
                             f' (the two directions stacked), got '
                             f'{tuple(u.shape)}')
        _, batch, seqlen, dim = u.shape
        dstate = A.shape[-1]
        if u.stride(3) != 1:
            raise ValueError('bidir_fwd_fused: u needs channel stride 1, '
                             f'got strides {tuple(u.stride())}')
        dt_low = dt_proj_weight is not None
        if dt_low:
            rank = delta.shape[-1]
            if rank & (rank - 1):
                raise ValueError('bidir_fwd_fused: dt_proj\'s input must be '
                                 'padded to a power of two, got '
                                 f'{tuple(delta.shape)}')
            _check_fp32(delta, 'delta (dt_proj\'s input)',
                        (2, batch, seqlen, rank))
            _check_fp32(dt_proj_weight, 'dt_proj_weight', (2, dim, rank))
            _check_fp32(delta_bias, 'delta_bias', (2, dim))
        else:
            rank = 1
            if delta_bias is not None:
                raise ValueError('bidir_fwd_fused: delta_bias is taken with '
                                 'dt_proj_weight only (a stored delta is '
                                 'the step itself)')
            if delta.shape != u.shape or delta.stride() != u.stride():
                raise ValueError('bidir_fwd_fused: delta must have the '
                                 'shape and strides of u')
        _check_fp32(A, 'A', (2, dim, dstate))
        if dstate & (dstate - 1) or dstate < 2:
            raise ValueError('bidir_fwd_fused: N must be a power of two '
                             f'>= 2, got {dstate}')
        _check_fp32(B, 'B', (2, batch, seqlen, dstate))
        _check_fp32(C, 'C', (2, batch, seqlen, dstate))
        if D is not None:
            _check_fp32(D, 'D', (2, dim))
        for name, t in (('z', z), ('out', out)):
            if tuple(t.shape) != (batch, seqlen, dim) or t.stride(2) != 1:
                raise ValueError(
                    f'bidir_fwd_fused: {name} must be ({batch}, {seqlen}, '
                    f'{dim}) with channel stride 1, got {tuple(t.shape)} '
                    f'strides {tuple(t.stride())}')
        if dim % BIDIR_BLOCK_D:
            raise ValueError(f'bidir_fwd_fused: dim={dim} must be a '
                             f'multiple of {BIDIR_BLOCK_D}')
        if block_t < 1 or block_t & (block_t - 1):
            raise ValueError('bidir_fwd_fused: block_t must be a power of '
                             f'two, got {block_t}')
        for t in (u, delta, B, z, out):
            _strides(t)  # raises beyond int32 offsets
        if ahead is None:  # the look-ahead forms delta from dt_proj's input
            ahead = BIDIR_AHEAD if dt_low else 0
        if ahead not in (0, 1, 2):
            raise ValueError('bidir_fwd_fused: ahead must be 0, 1 or 2, '
                             f'got {ahead}')
        if ahead and not dt_low:
            raise ValueError('bidir_fwd_fused: ahead forms delta from '
                             'dt_proj\'s input: pass dt_proj_weight')
        half_chunks = cdiv(cdiv(seqlen, block_t), 2)
        self._kernel = _bidir_fwd_kernel[(batch * (dim // BIDIR_BLOCK_D), )]
        self._ints = (batch, dim, seqlen, half_chunks, u.stride(0),
                      u.stride(1), u.stride(2), delta.stride(0),
                      delta.stride(1), B.stride(0), B.stride(1),
                      z.stride(0), z.stride(1), out.stride(0), out.stride(1),
                      float(out_scale))
        self._kwargs = dict(HAS_D=D is not None, DT_LOW=dt_low,
                            BLOCK_D=BIDIR_BLOCK_D, BLOCK_T=block_t,
                            BLOCK_N=dstate, BLOCK_R=rank, STAGES=stages,
                            AHEAD=int(ahead), num_warps=2)
        if maxnreg and not triton_interpret():  # interpreter: no ptxas
            self._kwargs['maxnreg'] = maxnreg

    def __call__(self, u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                 C: Tensor, D: Optional[Tensor], z: Tensor, out: Tensor,
                 dt_proj_weight: Optional[Tensor] = None,
                 delta_bias: Optional[Tensor] = None) -> Tensor:
        self._kernel(u, delta, A, B, C, D if D is not None else A, z, out,
                     A if dt_proj_weight is None else dt_proj_weight,
                     A if delta_bias is None else delta_bias,
                     *self._ints, **self._kwargs)
        return out


def bidir_fwd_fused(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                    C: Tensor, D: Optional[Tensor], z: Tensor, out: Tensor,
                    out_scale: float = 1.0,
                    dt_proj_weight: Optional[Tensor] = None,
                    delta_bias: Optional[Tensor] = None) -> Tensor:
    """``out = out_scale * (y_f + y_b) * silu(z)``: Vim's two scans
    (forward over positions 0..L-1, reverse over L-1..0) and their gated
    sum in one launch (module docstring).

    Args:
        u: (2, batch, L, dim), direction 0 forward, 1 reverse; channel
            stride 1, fp32/fp16/bf16.
        delta: the step itself (bias and softplus applied), with u's
            shape and strides; or, with ``dt_proj_weight``, dt_proj's
            input (2, batch, L, P) fp32 contiguous (P a power of two,
            zeros beyond the rank), from which the kernel forms
            ``softplus(round(dt_proj_weight @ dt) + delta_bias)``.
        A: (2, dim, N) fp32 (negative); N a power of two.
        B, C: (2, batch, L, N) fp32, contiguous.
        D: (2, dim) fp32 or None.
        z: (batch, L, dim), channel stride 1 (the gate, shared).
        out: (batch, L, dim), channel stride 1, written (any float dtype).
        dt_proj_weight: (2, dim, P) fp32 (zero columns beyond the rank)
            or None; delta_bias: (2, dim) fp32, with it.

    Returns:
        ``out``.
    """
    return BidirFwdLaunch(u, delta, A, B, C, D, z, out, out_scale,
                          dt_proj_weight, delta_bias)(
        u, delta, A, B, C, D, z, out, dt_proj_weight, delta_bias)
