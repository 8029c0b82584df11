# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernels of the bidirectional depthwise conv1d + SiLU and their
launchers (no autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily, when
the ``'triton'`` backend is asked for.

Notation: ``x`` (B, L, E) with channel stride 1 (other strides arbitrary),
K taps, ``P = K - 1``. Forward (causal) and backward (anti-causal) direction::

    a_f[t] = bias_f + sum_k w_f[k] * x[t - P + k]     u_f = silu(a_f)
    a_b[t] = bias_b + sum_k w_b[k] * x[t + P - k]     u_b = silu(a_b)

with ``x`` zero outside [0, L).

**Tiles.** Programs cover (BLOCK_L positions, BLOCK_E channels, one batch
element); tiles are (BLOCK_L, BLOCK_E) with channels the fast axis, so every
row of a tile is one contiguous run of channels (coalesced, 16-byte vectors
when the row stride is a multiple of 8 elements, as ``2E`` is for Vim). The
1D grid enumerates L-blocks fastest, then channel blocks, then batch, so
neighbouring programs share their halo rows in L2.

**Forward** (:func:`_bidir_conv1d_fwd_kernel`): one pass over ``x`` for both
directions. The tile and its 2P halo rows are read as 2K-1 row-shifted,
masked loads of the same (BLOCK_L, BLOCK_E) shape (shift ``j`` in [-P, P];
the shifted tiles overlap, so beyond the first they come from L1/L2, and
DRAM sees ``x`` about once); shift ``j <= 0`` feeds the causal tap
``j + P``, shift ``j >= 0`` the anti-causal tap ``P - j``. Masks give the
zero padding at both ends and cut L and E at any length. fp32 accumulation;
``u_f`` and ``u_b`` are written once each, (B, L, E) contiguous.

**Backward** (:func:`_bidir_conv1d_bwd_kernel`): with ``g_f = gu_f *
silu'(a_f)`` and ``g_b`` likewise,

    dx[s]    = sum_k w_f[k] g_f[s + P - k] + sum_k w_b[k] g_b[s - P + k]
    dw_f[k]  = sum_s g_f[s + P - k] x[s],   dw_b[k] = sum_s g_b[s - P + k] x[s]
    dbias_f  = sum_t g_f[t],                dbias_b = sum_t g_b[t]

Both weight gradients are written as sums over the *input* position ``s``
(not the output position), so all of them multiply the program's own
unshifted ``x`` tile: a program needs ``g_f`` at the K shifts ``s + m`` and
``g_b`` at the K shifts ``s - m`` (m in [0, K)) of its rows, and nothing
else. Triton has no register shifts (and no handle on shared memory), so
the program *recomputes* the pre-activations at those shifts instead of
exchanging them with its neighbours. They live in (K_PAD, BLOCK_L,
BLOCK_E) tiles (K_PAD = next power of two of K), the shift on axis 0, which
the layout keeps inside each thread; each of the 2K-1 shifted ``x`` loads
(the forward's) is multiplied by the taps that read it and added into the
shift slot it feeds through ``tl.where(m == slot, ...)`` with a constant
slot, and taps are picked from one (K_PAD, 1, BLOCK_E) weight tile by a
select and a sum over axis 0. With axis 0 in-thread both fold at compile
time (the sm_90 PTX of the loop has no ``selp``, shuffle or barrier: only
the FMAs that the arithmetic needs). The ``gu`` rows are loaded one shift
at a time (any strides) and put in their slot the same way: a single 3D
load with rows ``s + m`` made Triton 3.6 spread the shift axis over warps
(its layout order ties the two row axes) and convert layouts through
shared memory in the loop. dx and the weight-gradient partials are then
sums over the shift axis, and ``dx`` is written once, in one pass.

The cost of the recomputation: 2K sigmoids per element instead of 2 (8 at
K=4), each an ``ex2`` and an approximate division, i.e. 16 MUFU ops per
element. An estimate, not a measurement: an H200 retires about
4e12 MUFU ops/s (16 per SM per clock), 16 ops per element take about as
long as moving bf16 ``x``, ``gu_f``, ``gu_b`` and ``dx`` (8 bytes per
element) twice over at 4.8 TB/s, and about as long as fp32's 16 bytes; so
the backward may be bound by the special-function units, not by memory, at
roughly 2x the bf16 memory floor. Exchanging ``g`` between neighbouring
rows (shared memory, or ``tl.gather``) would remove that; not done.

Each program walks up to ``tiles`` consecutive tiles along L (stopping at
the end of the sequence) and accumulates its weight/bias gradient partials
in (K_PAD, BLOCK_L, BLOCK_E) fp32 registers, reduced over L once at the end
and added to (E, K) / (E,) fp32 buffers with *relaxed* atomics (addition
needs no ordering; the selective scan measured acq_rel atomics as half of
its backward): no partial-sum buffer traffic, 2(K+1) atomics per channel
per program (one per 6 elements at the default 64 positions per program).
Atomic fp32 sums are not bitwise reproducible; when
``torch.are_deterministic_algorithms_enabled()`` the launcher instead has
every program store its partials to its own row of a (programs along
(batch, L), E, K) buffer that one ``torch.sum`` reduces in a fixed order
(``deterministic=True``): about 20% more bytes at Vim-Ti 224² batch 128.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, next_power_of_2
from ..triton_math import silu

__all__ = [
    'bidir_conv1d_fwd', 'bidir_conv1d_bwd', 'Conv1dConfig', 'default_config'
]


class Conv1dConfig(NamedTuple):
    """Launch configuration of one kernel.

    Attributes:
        block_l: positions per tile (power of two).
        block_e: channels per tile (power of two).
        num_warps: warps per program.
        tiles: most tiles per program along L (backward only: more tiles,
            fewer weight-gradient atomics; the forward does one).
        vec: most channels per thread (backward only; the forward lets
            Triton pick 16-byte vectors).
    """
    block_l: int
    block_e: int
    num_warps: int
    tiles: int = 1
    vec: int = 4


#: Defaults (:func:`default_config`), for a (B, L, E) problem with E >= 64.
FWD_CONFIG = Conv1dConfig(8, 64, 2, 1, 4)  # H200 sweep 2026-12-03
BWD_CONFIG = Conv1dConfig(2, 64, 2, 8, 2)  # H200 sweep 2026-12-03
# One direction (Vim inference), H200 sweep 2026-12-03
# (benchmarks/session_1203e_h200/callA/sweep_conv1.log), bf16 ms against
# FWD_CONFIG: 0.245 / 0.307 at 1248² b64, 0.098 / 0.106 at 2048² b8, equal
# within 1% at 1248² b8.
FWD_ONE_CONFIG = Conv1dConfig(16, 128, 2, 1, 4)


def default_config(backward: bool, seqlen: int, dim: int,
                   one_direction: bool = False) -> Conv1dConfig:
    """Launch configuration of the forward or backward kernel
    (``one_direction``: a forward that writes one of the two outputs).

    Timed on the H200 (``benchmark_conv1d.py --sweep --dtypes bf16``,
    2026-12-03, ``benchmarks/session_1203_h200/call4/sweep.log``): the
    lowest mean time relative to the former defaults over Vim-Ti 224² b128
    and 1248² b8. Forward (8, 64), 2 warps: 0.107 / 0.126 ms against
    0.164 / 0.248 for (16, 64), 4 warps. Backward (2, 64), 2 warps, 2
    channels per thread, 8 tiles per program: 0.234 / 0.398 ms against
    0.241 / 0.421 for (4, 64), 4 warps, 16 tiles.
    Narrow E gets a narrower channel block, short L fewer tiles.
    """
    if backward:
        base = BWD_CONFIG
    else:
        base = FWD_ONE_CONFIG if one_direction else FWD_CONFIG
    block_e = min(base.block_e, next_power_of_2(max(dim, 1)))
    tiles = max(1, min(base.tiles, cdiv(seqlen, base.block_l)))
    return base._replace(block_e=block_e, tiles=tiles if backward else 1)


@triton.jit
def _silu_grad(a):
    """d silu(a) / da = s (1 + a (1 - s)), s = sigmoid(a)."""
    s = tl.sigmoid(a)
    return s * (1.0 + a * (1.0 - s))


@triton.jit
def _bidir_conv1d_fwd_kernel(
        x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, uf_ptr, ub_ptr,
        seqlen, dim, n_lblocks, n_eblocks,
        stride_xb, stride_xl,
        stride_wfe, stride_wfk, stride_wbe, stride_wbk,
        K: tl.constexpr, HAS_BIAS_F: tl.constexpr, HAS_BIAS_B: tl.constexpr,
        BLOCK_L: tl.constexpr, BLOCK_E: tl.constexpr,
        WRITE_F: tl.constexpr = True, WRITE_B: tl.constexpr = True):
    """Both directions of one (BLOCK_L, BLOCK_E) tile (module docstring);
    ``WRITE_F`` / ``WRITE_B`` off compile one direction out (its taps,
    loads of the shifts only it reads, and its store)."""
    pid = tl.program_id(0)
    pid_l = pid % n_lblocks
    pid_e = (pid // n_lblocks) % n_eblocks
    pid_b = pid // (n_lblocks * n_eblocks)
    P: tl.constexpr = K - 1
    offs_l = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)
    offs_e = pid_e * BLOCK_E + tl.arange(0, BLOCK_E)
    mask_e = offs_e < dim
    x_base = x_ptr + pid_b.to(tl.int64) * stride_xb
    acc_f = tl.zeros((BLOCK_L, BLOCK_E), dtype=tl.float32)
    acc_b = tl.zeros((BLOCK_L, BLOCK_E), dtype=tl.float32)
    for i in tl.static_range(2 * K - 1):
        shift = i - P  # a constexpr (static_range)
        rows = offs_l + shift
        rmask = (rows >= 0) & (rows < seqlen)
        # (a shift that only a compiled-out direction reads: its load has
        # no use and the compiler drops it)
        xv = tl.load(
            x_base + (rows[:, None] * stride_xl + offs_e[None, :]),
            mask=rmask[:, None] & mask_e[None, :],
            other=0.0).to(tl.float32)
        if shift <= 0:  # causal tap shift + P
            if WRITE_F:
                w = tl.load(
                    wf_ptr + offs_e * stride_wfe + (shift + P) * stride_wfk,
                    mask=mask_e, other=0.0).to(tl.float32)
                acc_f += w[None, :] * xv
        if shift >= 0:  # anti-causal tap P - shift
            if WRITE_B:
                w = tl.load(
                    wb_ptr + offs_e * stride_wbe + (P - shift) * stride_wbk,
                    mask=mask_e, other=0.0).to(tl.float32)
                acc_b += w[None, :] * xv
    if HAS_BIAS_F:
        acc_f += tl.load(bf_ptr + offs_e, mask=mask_e,
                         other=0.0).to(tl.float32)[None, :]
    if HAS_BIAS_B:
        acc_b += tl.load(bb_ptr + offs_e, mask=mask_e,
                         other=0.0).to(tl.float32)[None, :]
    u_f = silu(acc_f)
    u_b = silu(acc_b)
    out_off = pid_b.to(tl.int64) * seqlen * dim
    ptrs = offs_l[:, None] * dim + offs_e[None, :]
    omask = (offs_l < seqlen)[:, None] & mask_e[None, :]
    if WRITE_F:
        tl.store(uf_ptr + out_off + ptrs, u_f.to(uf_ptr.dtype.element_ty),
                 mask=omask)
    if WRITE_B:
        tl.store(ub_ptr + out_off + ptrs, u_b.to(ub_ptr.dtype.element_ty),
                 mask=omask)


@triton.jit
def _bidir_conv1d_bwd_kernel(
        x_ptr, wf_ptr, bf_ptr, wb_ptr, bb_ptr, guf_ptr, gub_ptr, dx_ptr,
        dwf_ptr, dbf_ptr, dwb_ptr, dbb_ptr,
        seqlen, dim, n_lprogs, n_eblocks, tiles,
        stride_xb, stride_xl,
        stride_wfe, stride_wfk, stride_wbe, stride_wbk,
        stride_gfb, stride_gfl, stride_gfe,
        stride_gbb, stride_gbl, stride_gbe,
        K: tl.constexpr, K_PAD: tl.constexpr,
        HAS_BIAS_F: tl.constexpr, HAS_BIAS_B: tl.constexpr,
        NEED_DX: tl.constexpr, NEED_DW: tl.constexpr,
        DETERMINISTIC: tl.constexpr,
        BLOCK_L: tl.constexpr, BLOCK_E: tl.constexpr, VEC: tl.constexpr):
    """dx of ``tiles`` consecutive (BLOCK_L, BLOCK_E) tiles, and this program's
    share of the weight and bias gradients (module docstring).

    Every tile is 3D, (K_PAD or 1, BLOCK_L, BLOCK_E): axis 0 is the shift
    ``m`` (a_f, g_f at s + m; a_b, g_b at s - m) or the tap, and has to
    stay inside each thread: then sums over it are register adds and the
    ``m3 == constant`` selects fold at compile time. The blocked layout
    puts it there when the 32 * num_warps threads with VEC channels each
    cover a (BLOCK_L, BLOCK_E) slice, hence the contiguity cap VEC on the
    channel offsets: bf16 would otherwise get 8-wide vectors, which at
    these tile sizes leave warps over for axis 0 (cross-warp sums through
    shared memory; 255 registers and spills in an earlier version).
    """
    pid = tl.program_id(0)
    pid_l = pid % n_lprogs
    pid_e = (pid // n_lprogs) % n_eblocks
    pid_b = pid // (n_lprogs * n_eblocks)
    P: tl.constexpr = K - 1
    offs_e = tl.max_contiguous(pid_e * BLOCK_E + tl.arange(0, BLOCK_E), VEC)
    mask_e = offs_e < dim
    m3 = tl.arange(0, K_PAD)[:, None, None]
    e3 = offs_e[None, None, :]
    em3 = mask_e[None, None, :]
    me3 = (m3 < K) & em3
    # the taps on axis 0: w[m3] (m3 < K)
    w_f = tl.load(wf_ptr + e3 * stride_wfe + m3 * stride_wfk, mask=me3,
                  other=0.0).to(tl.float32)
    w_b = tl.load(wb_ptr + e3 * stride_wbe + m3 * stride_wbk, mask=me3,
                  other=0.0).to(tl.float32)
    bias_f = tl.zeros((1, 1, BLOCK_E), dtype=tl.float32)
    bias_b = tl.zeros((1, 1, BLOCK_E), dtype=tl.float32)
    if HAS_BIAS_F:
        bias_f += tl.load(bf_ptr + e3, mask=em3, other=0.0).to(tl.float32)
    if HAS_BIAS_B:
        bias_b += tl.load(bb_ptr + e3, mask=em3, other=0.0).to(tl.float32)
    x_base = x_ptr + pid_b.to(tl.int64) * stride_xb
    gf_base = guf_ptr + pid_b.to(tl.int64) * stride_gfb
    gb_base = gub_ptr + pid_b.to(tl.int64) * stride_gbb
    dx_base = dx_ptr + pid_b.to(tl.int64) * seqlen * dim
    # weight-gradient partials: axis 0 is the shift m, i.e. tap P - m
    acc_dwf = tl.zeros((K_PAD, BLOCK_L, BLOCK_E), dtype=tl.float32)
    acc_dwb = tl.zeros((K_PAD, BLOCK_L, BLOCK_E), dtype=tl.float32)
    acc_dbf = tl.zeros((1, BLOCK_L, BLOCK_E), dtype=tl.float32)
    acc_dbb = tl.zeros((1, BLOCK_L, BLOCK_E), dtype=tl.float32)
    # the last program along L stops at the end of the sequence
    start = pid_l * tiles * BLOCK_L
    n_tiles = tl.minimum(tiles, tl.cdiv(seqlen - start, BLOCK_L))
    for it in range(n_tiles):
        offs_l = start + it * BLOCK_L + tl.arange(0, BLOCK_L)
        l3 = offs_l[None, :, None]
        # pre-activations at the shifts: a_f[m] = a_f(s + m) uses
        # x[s + j] with j = m - P + k; a_b[m] = a_b(s - m) uses x[s + j]
        # with j = P - k - m. One load per row shift j, shared.
        a_f = tl.zeros((K_PAD, BLOCK_L, BLOCK_E), dtype=tl.float32) + bias_f
        a_b = tl.zeros((K_PAD, BLOCK_L, BLOCK_E), dtype=tl.float32) + bias_b
        x0 = tl.zeros((1, BLOCK_L, BLOCK_E), dtype=tl.float32)
        for i in tl.static_range(2 * K - 1):
            j = i - P  # row shift, a constexpr (static_range)
            rows = l3 + j
            xj = tl.load(x_base + (rows * stride_xl + e3),
                         mask=(rows >= 0) & (rows < seqlen) & em3,
                         other=0.0).to(tl.float32)
            if j == 0:
                x0 = xj
            for k in tl.static_range(K):
                # tap k as a (1, 1, BLOCK_E) slice of axis 0 of w_*: with
                # axis 0 in-thread the select folds and the sum adds -0.0
                # (exact: 0.0 would turn -0.0 into +0.0, so the compiler
                # could not drop it), i.e. a register pick
                mf = j + P - k  # causal shift slot fed by tap k
                if mf >= 0 and mf < K:
                    wk = tl.sum(tl.where(m3 == k, w_f, -0.0), axis=0,
                                keep_dims=True)
                    a_f = tl.where(m3 == mf, a_f + wk * xj, a_f)
                mb = P - k - j  # anti-causal shift slot fed by tap k
                if mb >= 0 and mb < K:
                    wk = tl.sum(tl.where(m3 == k, w_b, -0.0), axis=0,
                                keep_dims=True)
                    a_b = tl.where(m3 == mb, a_b + wk * xj, a_b)
        dx = tl.zeros((1, BLOCK_L, BLOCK_E), dtype=tl.float32)
        # causal direction: g_f(s + m), zero past the end (masked gu)
        g = tl.zeros((K_PAD, BLOCK_L, BLOCK_E), dtype=tl.float32)
        for m in tl.static_range(K):
            rows = l3 + m
            gm = tl.load(gf_base + (rows * stride_gfl + e3 * stride_gfe),
                         mask=(rows < seqlen) & em3, other=0.0)
            g = tl.where(m3 == m, gm.to(tl.float32), g)
        g = g * _silu_grad(a_f)
        if NEED_DX:  # dx(s) += w_f[k] g_f(s + P - k), picks as above
            for k in tl.static_range(K):
                wk = tl.sum(tl.where(m3 == k, w_f, -0.0), axis=0,
                            keep_dims=True)
                gk = tl.sum(tl.where(m3 == P - k, g, -0.0), axis=0,
                            keep_dims=True)
                dx += wk * gk
        if NEED_DW:  # rows past L have x0 = 0
            acc_dwf += g * x0
            if HAS_BIAS_F:
                acc_dbf += tl.sum(tl.where(m3 == 0, g, -0.0), axis=0,
                                  keep_dims=True)
        # anti-causal direction: g_b(s - m), zero before the start
        g = tl.zeros((K_PAD, BLOCK_L, BLOCK_E), dtype=tl.float32)
        for m in tl.static_range(K):
            rows = l3 - m
            gm = tl.load(gb_base + (rows * stride_gbl + e3 * stride_gbe),
                         mask=(rows >= 0) & (rows < seqlen) & em3,
                         other=0.0)
            g = tl.where(m3 == m, gm.to(tl.float32), g)
        g = g * _silu_grad(a_b)
        if NEED_DX:  # dx(s) += w_b[k] g_b(s - P + k)
            for k in tl.static_range(K):
                wk = tl.sum(tl.where(m3 == k, w_b, -0.0), axis=0,
                            keep_dims=True)
                gk = tl.sum(tl.where(m3 == P - k, g, -0.0), axis=0,
                            keep_dims=True)
                dx += wk * gk
            tl.store(dx_base + (l3 * dim + e3),
                     dx.to(dx_ptr.dtype.element_ty),
                     mask=(l3 < seqlen) & em3)
        if NEED_DW:
            acc_dwb += g * x0
            if HAS_BIAS_B:
                acc_dbb += tl.sum(tl.where(m3 == 0, g, -0.0), axis=0,
                                  keep_dims=True)
    if NEED_DW:
        # slot m holds tap P - m of both directions
        m2 = tl.arange(0, K_PAD)[:, None]
        me2 = (m2 < K) & mask_e[None, :]
        w_off = offs_e[None, :] * K + (P - m2)
        dwf = tl.sum(acc_dwf, axis=1)
        dwb = tl.sum(acc_dwb, axis=1)
        dbf = tl.sum(tl.sum(acc_dbf, axis=1), axis=0)
        dbb = tl.sum(tl.sum(acc_dbb, axis=1), axis=0)
        if DETERMINISTIC:
            row = pid_b * n_lprogs + pid_l
            tl.store(dwf_ptr + row * dim * K + w_off, dwf, mask=me2)
            tl.store(dwb_ptr + row * dim * K + w_off, dwb, mask=me2)
            if HAS_BIAS_F:
                tl.store(dbf_ptr + row * dim + offs_e, dbf, mask=mask_e)
            if HAS_BIAS_B:
                tl.store(dbb_ptr + row * dim + offs_e, dbb, mask=mask_e)
        else:
            tl.atomic_add(dwf_ptr + w_off, dwf, mask=me2, sem='relaxed')
            tl.atomic_add(dwb_ptr + w_off, dwb, mask=me2, sem='relaxed')
            if HAS_BIAS_F:
                tl.atomic_add(dbf_ptr + offs_e, dbf, mask=mask_e,
                              sem='relaxed')
            if HAS_BIAS_B:
                tl.atomic_add(dbb_ptr + offs_e, dbb, mask=mask_e,
                              sem='relaxed')


def _weight_strides(w: Tensor) -> Tuple[int, int]:
    return w.stride(0), w.stride(1)


def bidir_conv1d_fwd(x: Tensor,
                     weight_f: Tensor,
                     bias_f: Optional[Tensor],
                     weight_b: Tensor,
                     bias_b: Optional[Tensor],
                     config: Optional[Conv1dConfig] = None,
                     directions: str = 'both'
                     ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Run the forward kernel.

    Args:
        x: (B, L, E), channel stride 1, other strides arbitrary; fp32,
            fp16 or bf16.
        weight_f, weight_b: (E, K), any strides and float dtype.
        bias_f, bias_b: (E,) contiguous, or None.
        config: launch configuration; :func:`default_config` if None.
        directions: ``'both'``, ``'forward'`` or ``'backward'``: which
            outputs to compute (the other's weight and bias are not read).

    Returns:
        u_f, u_b: (B, L, E) contiguous, dtype of ``x``; None for a
        direction not asked for.
    """
    if directions not in ('both', 'forward', 'backward'):
        raise ValueError(f"directions must be 'both', 'forward' or "
                         f"'backward', got {directions!r}")
    write_f = directions in ('both', 'forward')
    write_b = directions in ('both', 'backward')
    batch, seqlen, dim = x.shape
    K = (weight_f if write_f else weight_b).shape[1]

    def alloc(wanted: bool) -> Optional[Tensor]:
        return (torch.empty(batch, seqlen, dim, device=x.device,
                            dtype=x.dtype) if wanted else None)

    u_f, u_b = alloc(write_f), alloc(write_b)
    if x.numel() == 0:
        return u_f, u_b
    some = u_f if write_f else u_b  # passed for the pointer never used
    if config is None:
        config = default_config(False, seqlen, dim,
                                one_direction=directions != 'both')
    n_l = cdiv(seqlen, config.block_l)
    n_e = cdiv(dim, config.block_e)
    grid = (n_l * n_e * batch, )
    w_f = weight_f if write_f else x.new_empty(0, K)
    w_b = weight_b if write_b else x.new_empty(0, K)
    _bidir_conv1d_fwd_kernel[grid](
        x, w_f, bias_f if bias_f is not None and write_f else x,
        w_b, bias_b if bias_b is not None and write_b else x,
        u_f if write_f else some, u_b if write_b else some,
        seqlen, dim, n_l, n_e,
        x.stride(0), x.stride(1),
        *_weight_strides(w_f), *_weight_strides(w_b),
        K=K, HAS_BIAS_F=bias_f is not None and write_f,
        HAS_BIAS_B=bias_b is not None and write_b,
        BLOCK_L=config.block_l, BLOCK_E=config.block_e,
        WRITE_F=write_f, WRITE_B=write_b,
        num_warps=config.num_warps)
    return u_f, u_b


def bidir_conv1d_bwd(
    grad_f: Tensor,
    grad_b: Tensor,
    x: Tensor,
    weight_f: Tensor,
    bias_f: Optional[Tensor],
    weight_b: Tensor,
    bias_b: Optional[Tensor],
    need_dx: bool = True,
    need_dw: bool = True,
    deterministic: Optional[bool] = None,
    config: Optional[Conv1dConfig] = None
) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor],
           Optional[Tensor], Optional[Tensor]]:
    """Run the backward kernel (inputs as :func:`bidir_conv1d_fwd`).

    Args:
        grad_f, grad_b: (B, L, E) gradients of ``u_f`` and ``u_b``, any
            strides and float dtype.
        need_dx: compute ``dx``; need_dw: compute the weight and bias
            gradients.
        deterministic: reduce the weight/bias partials with a fixed-order
            sum instead of atomics; None follows
            ``torch.are_deterministic_algorithms_enabled()``.
        config: launch configuration; :func:`default_config` if None.

    Returns:
        dx (B, L, E) contiguous in ``x.dtype`` (or None without
        ``need_dx``); dweight_f, dbias_f, dweight_b, dbias_b in fp32, shapes
        (E, K) and (E,) (None without ``need_dw`` or for an absent bias).
    """
    batch, seqlen, dim = x.shape
    K = weight_f.shape[1]
    dev = x.device
    if deterministic is None:
        deterministic = torch.are_deterministic_algorithms_enabled()
    if config is None:
        config = default_config(True, seqlen, dim)
    n_lp = cdiv(seqlen, config.block_l * config.tiles)
    n_e = cdiv(dim, config.block_e)
    rows = batch * n_lp if deterministic else 1
    dx = torch.empty(batch, seqlen, dim, device=dev,
                     dtype=x.dtype) if need_dx else None

    def buf(*shape: int) -> Tensor:
        alloc = torch.empty if deterministic else torch.zeros
        return alloc(rows, *shape, device=dev, dtype=torch.float32)

    dwf = dwb = dbf = dbb = None
    if need_dw:
        dwf, dwb = buf(dim, K), buf(dim, K)
        dbf = buf(dim) if bias_f is not None else None
        dbb = buf(dim) if bias_b is not None else None
    if x.numel() > 0:
        dummy = x
        _bidir_conv1d_bwd_kernel[(n_lp * n_e * batch, )](
            x, weight_f, bias_f if bias_f is not None else dummy,
            weight_b, bias_b if bias_b is not None else dummy,
            grad_f, grad_b, dx if dx is not None else dummy,
            dwf if dwf is not None else dummy,
            dbf if dbf is not None else dummy,
            dwb if dwb is not None else dummy,
            dbb if dbb is not None else dummy,
            seqlen, dim, n_lp, n_e, config.tiles,
            x.stride(0), x.stride(1),
            *_weight_strides(weight_f), *_weight_strides(weight_b),
            *grad_f.stride(), *grad_b.stride(),
            K=K, K_PAD=next_power_of_2(K),
            HAS_BIAS_F=bias_f is not None, HAS_BIAS_B=bias_b is not None,
            NEED_DX=need_dx, NEED_DW=need_dw, DETERMINISTIC=deterministic,
            BLOCK_L=config.block_l, BLOCK_E=config.block_e, VEC=config.vec,
            num_warps=config.num_warps)
    elif need_dw and deterministic:
        for t in (dwf, dwb, dbf, dbb):
            if t is not None:
                t.zero_()

    def reduce(t: Optional[Tensor]) -> Optional[Tensor]:
        if t is None:
            return None
        return t.sum(0) if deterministic else t[0]

    return (dx, reduce(dwf), reduce(dbf), reduce(dwb), reduce(dbb))
