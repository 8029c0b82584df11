# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernel of :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj` and its
launcher (forward only, no autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily, when
the ``'triton'`` backend is asked for.

Notation: ``x`` (B, L, E) with channel stride 1, K conv taps (P = K - 1),
``W_x`` (R + 2N, E) the x projection, ``W_dt`` (E, R) the dt projection::

    u[t]          = silu(bias + sum_k w[k] x[t - P + k])  (causal; reverse:
                                                           x[t + P - k])
    dt, B, C [t]  = split(W_x u[t], [R, N, N])
    delta[t]      = W_dt dt[t]        (optionally softplus(W_dt dt[t] + b):
                                       the scan's delta bias and softplus)

**Why one kernel.** Vim's unfused inference runs, per direction and layer,
a conv kernel (reads x, writes u), the x_proj GEMM (reads u again; its
R + 2N = 44 output columns are too few for a GEMM to reach bandwidth),
the dt_proj GEMM (K = R = 12) and two copies that put B and C in the
(B, N, L) layout the scan reads. At Vim-Ti 1248² batch 64 (H200 profile,
``benchmarks/NOTES.md``) the GEMMs took 16 ms and the conv 12-15 ms of
Vim's 131-150 ms of kernels; the five launches also cost host time at
small batches.

**Design.** A program owns ``BLOCK_L`` positions of one batch element and
*all* E channels, which the x projection reduces over. Pass 1 walks the
channels in chunks of ``BLOCK_E``: conv + SiLU in registers (the K
row-shifted loads of a chunk overlap; beyond the first they come from
L1/L2), u stored. Pass 2 reads u back (from L2: the program just wrote
it) and accumulates the transposed projections (R or N, BLOCK_L) on the
tensor cores (``tl.dot``, u^T the second operand), the main loop of a GEMM
that Triton pipelines; B and C are stored from them, states contiguous
((B, L, N) memory: the layout the time-major scan reads fastest at small
batch, ``benchmarks/NOTES.md``, session of 2026-12-04, second part).
Pass 3 computes delta = dt W_dt^T chunk by chunk. Why u goes through
memory: when the dots consumed the conv's registers directly, Triton's
layout propagation moved the conv itself into the dot-operand layout
(every x tile converted through shared memory), which took 255 registers
with spills and ran 1.8x slower than the unfused path at 1248² b64
(offline SASS and the H200 calls in ``benchmarks/NOTES.md``). Measured
there (bf16, ms per direction, unfused -> this kernel): 0.66 -> 0.545 at
Vim-Ti 1248² b64 and ~0.33 -> 0.19 at 2048² b8.

**Both directions in one launch** (:class:`ConvProjBidirLaunch`, Vim's
batch-64 inference core): programs 2i and 2i + 1 run this kernel's code
on the same block of positions, causal with the forward weights and
anti-causal with the backward ones, into stacked outputs. With one launch
per direction each reads all of x from memory; here the second read of a
block's rows follows the first closely enough to hit L2. H100, bf16
Vim-Ti ``dt_low``, kernel ms per layer (both directions): 1.68 -> 1.55
at 2048² b64, 0.643 -> 0.591 at 1248² b64 (22% fewer bytes by the
arithmetic, 8% less time), then 1.43 / 0.547 with 4 warps under a
128-register cap (:data:`BIDIR_CONFIG`; ``benchmarks/session_1206d_h100``
callA, callC).

**Rounding** follows the unfused path under autocast: u is rounded to the
dtype of ``x`` before it enters the projection (the conv's output dtype),
dt, B and C are rounded to it (the GEMM's output dtype) and dt enters the
second projection rounded; products accumulate in fp32. fp32 inputs use
IEEE fp32 dots (``input_precision='ieee'``), not TF32, as PyTorch's
default fp32 matmul does. Only the summation order differs from cuBLAS.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, next_power_of_2, triton_interpret
from ..triton_math import silu, softplus, softplus_16bit

__all__ = [
    'BIDIR_CONFIG', 'ConvProjBidirLaunch', 'ConvProjConfig',
    'ConvProjLaunch', 'DirectionWeights', 'conv_proj_fwd', 'default_config'
]


class ConvProjConfig(NamedTuple):
    """Launch configuration.

    Attributes:
        block_l: positions per program (power of two, >= 16: the dots' N).
        block_e: channels per chunk (power of two, >= 16).
        num_warps: warps per program.
        num_stages: software-pipelining stages of the channel loops
            (Triton's; 1 = none).
        two_pass: the projections in a second loop over the stored u
            (else chunk by chunk, u read back after each store: at every
            shape of the H200 sweep its best configuration was slower
            than the two-pass best; kept for sweeps).
        block_ec: channels per chunk of the conv pass when two-pass (0:
            ``block_e``); smaller chunks hold fewer x taps in registers.
        maxnreg: cap on registers per thread (ptxas ``.maxnreg``; 0: none)
            for 16-bit activations; fp32 ones, whose tiles take twice the
            registers, would spill heavily under it (offline ptxas: 2.5 KB
            per thread at 128) and run uncapped.
        row_group: output rows per group G of the conv pass (power of
            two, <= ``block_l``; 1: the tile at once). The G + K - 1 row
            sets a group's outputs read are each loaded and widened once
            (:func:`_row_sets`), not K times per output: offline
            Triton 3.6 sm_90, Vim-Ti's bf16 inference call, the conv
            pass's loop 755 -> 578 instructions per 32 outputs a thread
            (G = 4) or 554 (G = 8), 168 registers either way, no stack
            (``benchmarks/NOTES.md``, session of 2026-12-05). The same u
            bit for bit (interpreter; compiled on the H200).
        prefetch: the conv pass loads the next channel chunk's row sets
            of x before the current chunk's conv, SiLU and stores (ncu,
            H100, 1248² b8: 45% of the kernel's warp samples wait on
            global loads, most on the conv pass's x). The same u bit for
            bit. Not the default: kernel time -1.7% / -0.8% at 1248² b8
            (forward / reverse), -0.6% / -0.8% at 1248² b64, +0.2% /
            +0.3% at 2048² b8 (H100, ``benchmarks/session_1205h_h100/
            callU``; ``benchmarks/NOTES.md``, 2026-12-05, eighth part).
    """
    block_l: int
    block_e: int
    num_warps: int
    num_stages: int = 1
    two_pass: bool = True
    block_ec: int = 0
    maxnreg: int = 0
    row_group: int = 1
    prefetch: bool = False


#: Default (:func:`default_config`): the lowest mean time relative to each
#: shape's best in the H200 sweeps of 2026-12-04
#: (``benchmarks/session_1204d_h200/callC/sweep.log``: the conv pass on
#: 32-channel chunks under a register cap, against the previous default's
#: 255 registers, 8 warps per SM; ``session_1204f_h200/callB``, with the
#: special-function SiLU: the cap at 168 instead of 128, which spilled 144
#: bytes, bf16 Vim-Ti 224² b128, 1248² b8 / b64, 2048² b8: 0.0544, 0.0705,
#: 0.497, 0.186 ms against 0.0599, 0.0773, 0.515, 0.181; uncapped 0.0551,
#: 0.1029, 0.597, 0.206). Row groups of 4 (8 since, below): the fastest
#: of 1, 2, 4, 8 at
#: each of 224² b128, 1248² b8 / b64, 2048² b8 / b64 and both directions
#: (``benchmarks/session_1205b_h200/callD``, 2026-12-05: 0.0447,
#: 0.0606, 0.4489, 0.1642, 1.1901 ms -> 0.0439, 0.0590, 0.4418, 0.1597,
#: 1.1684 forward; 8 within 0.001 ms of 4, below it only at 2048² b64
#: forward, by 0.0003). Conv chunks of 64 channels for 16-bit
#: activations with contiguous (E, K) taps (fp32 keeps 32, not timed
#: with 64): H100, kernel ms per call, bf16 Vim-Ti, 32 -> 64, with delta
#: (the batch-8 path) 1248² b8 0.0729 -> 0.0667, 2048² b8 0.1951 ->
#: 0.1821; with ``dt_low`` (the batch-64 one-launch core) 2048² b64
#: 0.9861 -> 0.8410, 1248² b64 0.3721 -> 0.3198; outputs bit for bit the
#: same (``benchmarks/session_1206c_h100/callE``, ``callF``). With taps
#: given as the transposed view of a (K, E) tensor, 64 is slower than 32
#: (2048² b64 ``dt_low`` 1.0232 against 0.9804, ``callH``), so Vim's core
#: passes them contiguous (``BiMamba._inference_params``, ``callI``).
#: Three software-pipelining stages and row groups of 8 (2026-12-07, H100,
#: bf16 Vim-Ti, kernel ms per call, both directions; outputs bit for bit
#: the same): this one-direction kernel with the scan's step (the batch-8
#: path) 0.3493 / 0.3485 -> 0.3387 / 0.3375 at 2048² b8 and 0.1356 ->
#: 0.1319 at 1248² b8 (second pass; the first is host-noisy there); the
#: one-launch kernel (:data:`BIDIR_CONFIG`, ``dt_low``) 1.4233 / 1.4151 ->
#: 1.3554 / 1.3501 at 2048² b64 and 0.5531 / 0.5575 -> 0.5151 / 0.5156 at
#: 1248² b64 (``benchmarks/session_1207c/callB``). With 4 stages the
#: one-launch kernel is 20-25% slower.
FWD_CONFIG = ConvProjConfig(64, 64, 2, 3, True, block_ec=64, maxnreg=168,
                            row_group=8)
#: :data:`FWD_CONFIG`'s conv chunk for fp32 activations.
FP32_BLOCK_EC = 32
#: Default of the one-launch kernel (:class:`ConvProjBidirLaunch`):
#: :data:`FWD_CONFIG` with 4 warps under a cap of 128 registers (141
#: uncapped; no stack under the cap, offline Triton 3.6 and 3.8 sm_90):
#: 16 warps per SM instead of 12. The fastest of seven configurations
#: in the model's layouts (H100, bf16 Vim-Ti ``dt_low``, kernel ms per
#: call, default -> this: 1248² b64 0.5896 / 0.5856 -> 0.5484 / 0.5469,
#: 2048² b64 1.5536 / 1.5428 -> 1.4344 / 1.4292, outputs bit for bit the
#: same; ``benchmarks/session_1206d_h100/callC``). Row groups of 8, as
#: :data:`FWD_CONFIG`: 1-2% faster in the kernel than 4
#: (``benchmarks/session_1207c/callB``) and ahead in both rounds end to
#: end though they take 16 bytes of stack under the cap (offline Triton
#: 3.6 and 3.8 sm_90; none with 4): H100, CUDA graphs, Vim-Ti bf16 with
#: 8-step scan chunks, img/s, row groups 4 -> 8, two rounds: 2048² b64
#: 307.9 / 307.8 -> 308.3 / 308.5, 1248² b64 828.0 / 827.1 -> 831.0 /
#: 829.8 (``benchmarks/session_1207f/callG``).
BIDIR_CONFIG = FWD_CONFIG._replace(num_warps=4, maxnreg=128)


def default_config(seqlen: int, dim: int, itemsize: int = 2,
                   bidir: bool = False) -> ConvProjConfig:
    """Launch configuration for a (B, L, E) input with ``itemsize``-byte
    elements: :data:`FWD_CONFIG` (:data:`BIDIR_CONFIG` with ``bidir``,
    the one-launch kernel's; conv chunks of :data:`FP32_BLOCK_EC`
    channels for fp32), with a narrower channel chunk for narrow E and
    fewer positions for short L (never below 16, the smallest ``tl.dot``
    dimension)."""
    base = BIDIR_CONFIG if bidir else FWD_CONFIG
    block_e = min(base.block_e, max(16, next_power_of_2(max(dim, 1))))
    block_l = min(base.block_l, max(16, next_power_of_2(max(seqlen, 1))))
    block_ec = base.block_ec if itemsize <= 2 else FP32_BLOCK_EC
    return base._replace(block_l=block_l, block_e=block_e,
                         block_ec=min(block_ec, block_e),
                         row_group=min(base.row_group, block_l))


def _pad(n: int) -> int:
    """A dot dimension: the next power of two, at least 16."""
    return max(16, next_power_of_2(n))


# Triton's CPU interpreter multiplies bf16 tiles as raw bits: it gets the
# same products from their fp32 values (exact), summed in fp32.
_INTERPRET = tl.constexpr(triton_interpret())


@triton.jit
def _dot(a, b, IEEE: tl.constexpr):
    """a @ b accumulated in fp32; IEEE fp32 products for fp32 inputs."""
    if _INTERPRET:
        return tl.dot(a.to(tl.float32), b.to(tl.float32),
                      input_precision='ieee')
    if IEEE:
        return tl.dot(a, b, input_precision='ieee')
    return tl.dot(a, b)


@triton.jit
def _weight_rows(w_ptr, row0, n_rows, offs_e, mask_e, stride_r, stride_e,
                 BLOCK_R: tl.constexpr):
    """(BLOCK_R, BLOCK_E) tile of a (rows, E) weight: element (r, e) is
    ``w[row0 + r, e]`` (0 for r >= n_rows or a masked e)."""
    offs_r = tl.arange(0, BLOCK_R)
    return tl.load(w_ptr + (row0 + offs_r[:, None]) * stride_r
                   + offs_e[None, :] * stride_e,
                   mask=(offs_r[:, None] < n_rows) & mask_e[None, :],
                   other=0.0)


@triton.jit
def _round_to(w, dtype: tl.constexpr):
    """fp32 ``w`` rounded to ``dtype`` to nearest even, as fp32 (what
    ``.to(dtype)`` gives on the GPU; bf16 by bit arithmetic in Triton's
    interpreter, which truncates in its fp32 -> bf16 cast)."""
    if _INTERPRET and dtype == tl.bfloat16:
        bits = w.to(tl.int32, bitcast=True)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & -65536
        return bits.to(tl.float32, bitcast=True)
    return w.to(dtype).to(tl.float32)


@triton.jit
def _conv_silu(x_base, w_ptr, bias_ptr, offs_l, offs_e, mask_e, seqlen,
               stride_xl, stride_we, stride_wk, K: tl.constexpr,
               HAS_BIAS: tl.constexpr, REVERSE: tl.constexpr):
    """silu(conv) of positions ``offs_l`` and channels ``offs_e``, fp32
    (BLOCK_L, BLOCK_E). Taps in the order of the conv kernel's (causal:
    rows t - P .. t; anti-causal: rows t .. t + P), bias last: the same
    fp32 sum, so the same u. Taps and bias are first rounded to the dtype
    of x, as autocast casts a conv's weights (a no-op when they have it)."""
    P: tl.constexpr = K - 1
    xdt = x_base.dtype.element_ty
    a = tl.zeros((offs_l.shape[0], offs_e.shape[0]), dtype=tl.float32)
    for i in tl.static_range(K):
        if REVERSE:  # anti-causal twin: tap P - i reads x[t + i]
            k = P - i
            rows = offs_l + i
        else:  # tap i reads x[t - P + i]
            k = i
            rows = offs_l - (P - i)
        xk = tl.load(
            x_base + (rows[:, None] * stride_xl + offs_e[None, :]),
            mask=((rows >= 0) & (rows < seqlen))[:, None] & mask_e[None, :],
            other=0.0).to(tl.float32)
        wk = tl.load(w_ptr + offs_e * stride_we + k * stride_wk,
                     mask=mask_e, other=0.0).to(tl.float32)
        wk = _round_to(wk, xdt)
        a += wk[None, :] * xk
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_e, mask=mask_e,
                       other=0.0).to(tl.float32)
        a += _round_to(bias, xdt)[None, :]
    return silu(a)


@triton.jit
def _row_sets(x_base, offs_g, offs_e, mask_e, seqlen, stride_xl,
              K: tl.constexpr, REVERSE: tl.constexpr, G: tl.constexpr):
    """The G + K - 1 row sets the outputs ``offs_g + j`` (j < G) read, as
    loaded (x's dtype): row set m is x[offs_g + m - P] (causal) or
    x[offs_g + m] (reverse), (NG, BLOCK_E) each, 0 outside the sequence
    and beyond the channels."""
    P: tl.constexpr = K - 1
    xs = ()
    for m in tl.static_range(G + P):
        if REVERSE:
            rows = offs_g + m
        else:
            rows = offs_g + (m - P)
        xs = xs + (tl.load(
            x_base + (rows[:, None] * stride_xl + offs_e[None, :]),
            mask=((rows >= 0) & (rows < seqlen))[:, None] & mask_e[None, :],
            other=0.0), )
    return xs


@triton.jit
def _conv_silu_sets(xs, w_ptr, bias_ptr, offs_e, mask_e, stride_we,
                    stride_wk, K: tl.constexpr, HAS_BIAS: tl.constexpr,
                    REVERSE: tl.constexpr, G: tl.constexpr):
    """:func:`_conv_silu` of G rows from their row sets ``xs``
    (:func:`_row_sets`): a tuple of G fp32 (NG, BLOCK_E) tiles. Each row
    set is widened once and shared by the outputs that need it. Each
    output sums the same taps in the same order, then the bias, as
    :func:`_conv_silu`: the same u bit for bit."""
    P: tl.constexpr = K - 1
    xdt = xs[0].dtype
    xf = ()
    for m in tl.static_range(G + P):
        xf = xf + (xs[m].to(tl.float32), )
    ws = ()
    for k in tl.static_range(K):
        wk = tl.load(w_ptr + offs_e * stride_we + k * stride_wk,
                     mask=mask_e, other=0.0).to(tl.float32)
        ws = ws + (_round_to(wk, xdt), )
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_e, mask=mask_e,
                       other=0.0).to(tl.float32)
        bias = _round_to(bias, xdt)
    outs = ()
    for j in tl.static_range(G):
        a = tl.zeros(xf[0].shape, dtype=tl.float32)
        for i in tl.static_range(K):
            # causal: tap i reads x[t - P + i] = row set j + i; reverse:
            # tap P - i reads x[t + i] = row set j + i
            if REVERSE:
                a += ws[P - i][None, :] * xf[j + i]
            else:
                a += ws[i][None, :] * xf[j + i]
        if HAS_BIAS:
            a += bias[None, :]
        outs = outs + (silu(a), )
    return outs


@triton.jit
def _project(u, acc_dt, acc_B, acc_C, wx_ptr, offs_e, mask_e, dt_rank,
             dstate, stride_wxr, stride_wxe, IEEE: tl.constexpr,
             BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr):
    """Add one channel chunk's share of the x projection, transposed:
    acc_dt (R, BLOCK_L) += W_x[:R, chunk] u^T, acc_B / acc_C (N, BLOCK_L)
    likewise. u^T is the dots' second operand, which the tensor cores read
    from shared memory; the padded rows (e >= dim) have zero weights."""
    u_t = tl.trans(u)
    dtype = u.dtype
    w_dt = _weight_rows(wx_ptr, 0, dt_rank, offs_e, mask_e, stride_wxr,
                        stride_wxe, BLOCK_R)
    w_B = _weight_rows(wx_ptr, dt_rank, dstate, offs_e, mask_e, stride_wxr,
                       stride_wxe, BLOCK_N)
    w_C = _weight_rows(wx_ptr, dt_rank + dstate, dstate, offs_e, mask_e,
                       stride_wxr, stride_wxe, BLOCK_N)
    acc_dt += _dot(w_dt.to(dtype), u_t, IEEE)
    acc_B += _dot(w_B.to(dtype), u_t, IEEE)
    acc_C += _dot(w_C.to(dtype), u_t, IEEE)
    return acc_dt, acc_B, acc_C


@triton.jit
def _project_store(pid_b, offs_l, mask_l, u_ptr, wx_ptr, wdt_ptr, dtb_ptr,
                   delta_ptr, B_ptr, C_ptr, acc_dt, acc_B, acc_C, seqlen,
                   dim, dt_rank, dstate, stride_wxr, stride_wxe,
                   stride_wdte, stride_wdtr, IEEE: tl.constexpr,
                   BLOCK_L: tl.constexpr, BLOCK_E: tl.constexpr,
                   BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
                   TWO_PASS: tl.constexpr, HAS_DT_BIAS: tl.constexpr,
                   DT_SOFTPLUS: tl.constexpr, DT_LOW: tl.constexpr):
    """After a block's conv pass (positions ``offs_l`` of batch element
    ``pid_b``, one direction): with TWO_PASS the projections as a second
    loop over its stored u, added to ``acc_*`` (zeros; without TWO_PASS
    they hold the projections already), then B, C and delta (or dt_proj's
    input with DT_LOW) stored (:func:`_conv_proj_tile`)."""
    dtype = u_ptr.dtype.element_ty
    out_off = pid_b.to(tl.int64) * seqlen * dim
    if TWO_PASS:
        # the projections as a second loop over u (from L2), the loads of
        # a GEMM's main loop, which Triton pipelines
        tl.debug_barrier()
        for e0 in range(0, dim, BLOCK_E):
            offs_e = e0 + tl.arange(0, BLOCK_E)
            mask_e = offs_e < dim
            u = tl.load(u_ptr + out_off + offs_l[:, None] * dim
                        + offs_e[None, :],
                        mask=mask_l[:, None] & mask_e[None, :], other=0.0)
            acc_dt, acc_B, acc_C = _project(
                u, acc_dt, acc_B, acc_C, wx_ptr, offs_e, mask_e, dt_rank,
                dstate, stride_wxr, stride_wxe, IEEE, BLOCK_R, BLOCK_N)
    # B, C: (B, L, N) memory, states contiguous
    offs_n = tl.arange(0, BLOCK_N)
    bc_off = pid_b.to(tl.int64) * dstate * seqlen \
        + offs_n[:, None] + offs_l[None, :] * dstate
    bc_mask = (offs_n[:, None] < dstate) & mask_l[None, :]
    # rounded to x's dtype (x_proj's output dtype), stored in B's: x's or
    # fp32 (bc_fp32), the same values
    bc_dtype = B_ptr.dtype.element_ty
    tl.store(B_ptr + bc_off, _round_to(acc_B, dtype).to(bc_dtype),
             mask=bc_mask)
    tl.store(C_ptr + bc_off, _round_to(acc_C, dtype).to(bc_dtype),
             mask=bc_mask)
    dt = tl.trans(acc_dt.to(dtype))  # (BLOCK_L, R): x_proj's output dtype
    offs_r = tl.arange(0, BLOCK_R)
    if DT_LOW:  # dt for the scan (rows of W_x beyond R were loaded as 0)
        tl.store(delta_ptr + pid_b.to(tl.int64) * seqlen * BLOCK_R
                 + offs_l[:, None] * BLOCK_R + offs_r[None, :],
                 _round_to(tl.trans(acc_dt), dtype), mask=mask_l[:, None])
    else:
        for e0 in range(0, dim, BLOCK_E):
            offs_e = e0 + tl.arange(0, BLOCK_E)
            mask_e = offs_e < dim
            wdt = tl.load(wdt_ptr + offs_e[None, :] * stride_wdte
                          + offs_r[:, None] * stride_wdtr,
                          mask=(offs_r[:, None] < dt_rank) & mask_e[None, :],
                          other=0.0).to(dtype)  # (BLOCK_R, BLOCK_E)
            delta = _dot(dt, wdt, IEEE)
            if HAS_DT_BIAS or DT_SOFTPLUS:
                delta = _round_to(delta, dtype)
                if HAS_DT_BIAS:
                    delta += tl.load(dtb_ptr + offs_e, mask=mask_e,
                                     other=0.0).to(tl.float32)[None, :]
                if DT_SOFTPLUS:
                    if IEEE:  # fp32 activations: fp32 accuracy
                        delta = softplus(delta)
                    else:
                        delta = softplus_16bit(delta)
            tl.store(delta_ptr + out_off + offs_l[:, None] * dim
                     + offs_e[None, :], delta.to(dtype),
                     mask=mask_l[:, None] & mask_e[None, :])


@triton.jit
def _conv_proj_tile(
        pid_l, pid_b, x_ptr, w_ptr, bias_ptr, wx_ptr, wdt_ptr, dtb_ptr,
        u_ptr, delta_ptr, B_ptr, C_ptr, seqlen, dim, dt_rank, dstate,
        stride_xb, stride_xl, stride_we, stride_wk,
        stride_wxr, stride_wxe, stride_wdte, stride_wdtr,
        K: tl.constexpr, HAS_BIAS: tl.constexpr, REVERSE: tl.constexpr,
        IEEE: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_E: tl.constexpr,
        BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
        TWO_PASS: tl.constexpr, BLOCK_EC: tl.constexpr,
        HAS_DT_BIAS: tl.constexpr, DT_SOFTPLUS: tl.constexpr,
        ROW_GROUP: tl.constexpr, PREFETCH: tl.constexpr,
        DT_LOW: tl.constexpr):
    """Positions ``[l0, l0 + BLOCK_L)`` (block ``pid_l``) of batch element
    ``pid_b``, all channels, one direction (module docstring). u, delta, B
    and C (B, L, E / N) contiguous, in the dtype of x. With HAS_DT_BIAS /
    DT_SOFTPLUS, delta is softplus(W_dt dt + b) with W_dt dt first rounded
    to the dtype of x (the dt_proj GEMM's output, which the unfused scan
    reads) and the rest in fp32, as the scan computes it from that input.
    With DT_LOW no delta: dt itself (rounded to the dtype of x) is stored
    at ``delta_ptr``, (B, L, BLOCK_R) fp32 with zeros beyond R, for a scan
    that forms delta from it (the third pass is skipped)."""
    dtype = u_ptr.dtype.element_ty
    offs_l = pid_l * BLOCK_L + tl.arange(0, BLOCK_L)
    mask_l = offs_l < seqlen
    x_base = x_ptr + pid_b.to(tl.int64) * stride_xb
    out_off = pid_b.to(tl.int64) * seqlen * dim
    acc_dt = tl.zeros((BLOCK_R, BLOCK_L), dtype=tl.float32)
    acc_B = tl.zeros((BLOCK_N, BLOCK_L), dtype=tl.float32)
    acc_C = tl.zeros((BLOCK_N, BLOCK_L), dtype=tl.float32)
    # ROW_GROUP > 1: output rows in G interleaved sets, l0 + G g + j
    offs_g = pid_l * BLOCK_L \
        + ROW_GROUP * tl.arange(0, BLOCK_L // ROW_GROUP)
    if PREFETCH:  # the first chunk's row sets of x
        offs_first = tl.arange(0, BLOCK_EC)
        xs = _row_sets(x_base, offs_g, offs_first, offs_first < dim,
                       seqlen, stride_xl, K, REVERSE, ROW_GROUP)
    for e0 in range(0, dim, BLOCK_EC):
        offs_e = e0 + tl.arange(0, BLOCK_EC)
        mask_e = offs_e < dim
        u_ptrs = u_ptr + out_off + offs_l[:, None] * dim + offs_e[None, :]
        u_mask = mask_l[:, None] & mask_e[None, :]
        # G = 1 keeps the timed tile code: row sets with G = 1 (the
        # same values) compiles to 8-10 more instructions a chunk and 8-24
        # more bytes of stack (offline sm_90)
        if ROW_GROUP == 1 and not PREFETCH:
            u = _conv_silu(x_base, w_ptr, bias_ptr, offs_l, offs_e, mask_e,
                           seqlen, stride_xl, stride_we, stride_wk, K,
                           HAS_BIAS, REVERSE).to(dtype)  # the conv's dtype
            tl.store(u_ptrs, u, mask=u_mask)
        else:
            if PREFETCH:
                # this chunk's row sets were loaded during the last
                # chunk's math; the next chunk's are issued before it
                cur = xs
                offs_next = offs_e + BLOCK_EC
                xs = _row_sets(x_base, offs_g, offs_next, offs_next < dim,
                               seqlen, stride_xl, K, REVERSE, ROW_GROUP)
            else:
                cur = _row_sets(x_base, offs_g, offs_e, mask_e, seqlen,
                                stride_xl, K, REVERSE, ROW_GROUP)
            us = _conv_silu_sets(cur, w_ptr, bias_ptr, offs_e, mask_e,
                                 stride_we, stride_wk, K, HAS_BIAS, REVERSE,
                                 ROW_GROUP)
            for j in tl.static_range(ROW_GROUP):
                rows = offs_g + j
                tl.store(u_ptr + out_off + rows[:, None] * dim
                         + offs_e[None, :], us[j].to(dtype),
                         mask=(rows < seqlen)[:, None] & mask_e[None, :])
        if not TWO_PASS:
            # read u back (L2) in whatever layout the dots want: otherwise
            # Triton moves the conv itself into the dot-operand layout
            # (every x tile through shared memory, 255 registers, spills)
            tl.debug_barrier()
            u = tl.load(u_ptrs, mask=u_mask, other=0.0)
            acc_dt, acc_B, acc_C = _project(
                u, acc_dt, acc_B, acc_C, wx_ptr, offs_e, mask_e, dt_rank,
                dstate, stride_wxr, stride_wxe, IEEE, BLOCK_R, BLOCK_N)
    _project_store(pid_b, offs_l, mask_l, u_ptr, wx_ptr, wdt_ptr, dtb_ptr,
                   delta_ptr, B_ptr, C_ptr, acc_dt, acc_B, acc_C, seqlen,
                   dim, dt_rank, dstate, stride_wxr, stride_wxe,
                   stride_wdte, stride_wdtr, IEEE, BLOCK_L, BLOCK_E,
                   BLOCK_R, BLOCK_N, TWO_PASS, HAS_DT_BIAS, DT_SOFTPLUS,
                   DT_LOW)


@triton.jit
def _conv_proj_fwd_kernel(
        x_ptr, w_ptr, bias_ptr, wx_ptr, wdt_ptr, dtb_ptr, u_ptr, delta_ptr,
        B_ptr, C_ptr, seqlen, dim, dt_rank, dstate, n_lblocks,
        stride_xb, stride_xl, stride_we, stride_wk,
        stride_wxr, stride_wxe, stride_wdte, stride_wdtr,
        K: tl.constexpr, HAS_BIAS: tl.constexpr, REVERSE: tl.constexpr,
        IEEE: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_E: tl.constexpr,
        BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
        TWO_PASS: tl.constexpr, BLOCK_EC: tl.constexpr,
        HAS_DT_BIAS: tl.constexpr, DT_SOFTPLUS: tl.constexpr,
        ROW_GROUP: tl.constexpr, PREFETCH: tl.constexpr,
        DT_LOW: tl.constexpr = False):
    """One direction: program ``pid`` runs :func:`_conv_proj_tile` on
    position block ``pid % n_lblocks`` of batch element
    ``pid // n_lblocks``."""
    pid = tl.program_id(0)
    _conv_proj_tile(
        pid % n_lblocks, pid // n_lblocks, x_ptr, w_ptr, bias_ptr, wx_ptr,
        wdt_ptr, dtb_ptr, u_ptr, delta_ptr, B_ptr, C_ptr, seqlen, dim,
        dt_rank, dstate, stride_xb, stride_xl, stride_we, stride_wk,
        stride_wxr, stride_wxe, stride_wdte, stride_wdtr, K, HAS_BIAS,
        REVERSE, IEEE, BLOCK_L, BLOCK_E, BLOCK_R, BLOCK_N, TWO_PASS,
        BLOCK_EC, HAS_DT_BIAS, DT_SOFTPLUS, ROW_GROUP, PREFETCH, DT_LOW)


@triton.jit
def _conv_proj_bidir_kernel(
        x_ptr, w_ptr, bias_ptr, wx_ptr, wdt_ptr, dtb_ptr, w_b_ptr,
        bias_b_ptr, wx_b_ptr, wdt_b_ptr, dtb_b_ptr, u_ptr, delta_ptr,
        B_ptr, C_ptr, dir_stride_u, dir_stride_delta, dir_stride_n,
        seqlen, dim, dt_rank, dstate, n_lblocks,
        stride_xb, stride_xl, stride_we, stride_wk,
        stride_wxr, stride_wxe, stride_wdte, stride_wdtr,
        K: tl.constexpr, HAS_BIAS: tl.constexpr, IEEE: tl.constexpr,
        BLOCK_L: tl.constexpr, BLOCK_E: tl.constexpr,
        BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
        TWO_PASS: tl.constexpr, BLOCK_EC: tl.constexpr,
        HAS_DT_BIAS: tl.constexpr, DT_SOFTPLUS: tl.constexpr,
        ROW_GROUP: tl.constexpr, PREFETCH: tl.constexpr,
        DT_LOW: tl.constexpr):
    """Both directions in one launch: programs ``2 i`` and ``2 i + 1`` run
    :func:`_conv_proj_tile` on the same position block (``i %
    n_lblocks`` of batch element ``i // n_lblocks``), the first causal
    with the first set of weights, the second anti-causal with the
    ``_b`` set, writing the second half of the stacked outputs (offset
    ``dir_stride_*`` elements). Neighbouring programs run at the same
    time, so the second read of a block's rows of x can come from L2
    instead of memory (with one launch per direction it comes a whole
    launch later). The weights of both directions share their strides;
    the pointers are selected before the branch (one set live: with a
    call per branch on its own pointers the kernel took 8 bytes of stack
    under Triton 3.6, none this way; offline sm_90)."""
    pid = tl.program_id(0)
    tile = pid // 2
    pid_l = tile % n_lblocks
    pid_b = tile // n_lblocks
    rev = pid % 2 == 1
    # one set of pointers, selected here, for both branches
    w_ptr = tl.where(rev, w_b_ptr, w_ptr)
    bias_ptr = tl.where(rev, bias_b_ptr, bias_ptr)
    wx_ptr = tl.where(rev, wx_b_ptr, wx_ptr)
    wdt_ptr = tl.where(rev, wdt_b_ptr, wdt_ptr)
    dtb_ptr = tl.where(rev, dtb_b_ptr, dtb_ptr)
    u_ptr += rev * dir_stride_u
    delta_ptr += rev * dir_stride_delta
    B_ptr += rev * dir_stride_n
    C_ptr += rev * dir_stride_n
    if rev:
        _conv_proj_tile(
            pid_l, pid_b, x_ptr, w_ptr, bias_ptr, wx_ptr, wdt_ptr, dtb_ptr,
            u_ptr, delta_ptr, B_ptr, C_ptr, seqlen, dim, dt_rank, dstate,
            stride_xb, stride_xl, stride_we, stride_wk, stride_wxr,
            stride_wxe, stride_wdte, stride_wdtr, K, HAS_BIAS, True, IEEE,
            BLOCK_L, BLOCK_E, BLOCK_R, BLOCK_N, TWO_PASS, BLOCK_EC,
            HAS_DT_BIAS, DT_SOFTPLUS, ROW_GROUP, PREFETCH, DT_LOW)
    else:
        _conv_proj_tile(
            pid_l, pid_b, x_ptr, w_ptr, bias_ptr, wx_ptr, wdt_ptr, dtb_ptr,
            u_ptr, delta_ptr, B_ptr, C_ptr, seqlen, dim, dt_rank, dstate,
            stride_xb, stride_xl, stride_we, stride_wk, stride_wxr,
            stride_wxe, stride_wdte, stride_wdtr, K, HAS_BIAS, False, IEEE,
            BLOCK_L, BLOCK_E, BLOCK_R, BLOCK_N, TWO_PASS, BLOCK_EC,
            HAS_DT_BIAS, DT_SOFTPLUS, ROW_GROUP, PREFETCH, DT_LOW)


def _plan(x: Tensor, weight: Tensor, bias: Optional[Tensor],
          x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
          d_state: int, config: Optional[ConvProjConfig],
          delta_bias: Optional[Tensor], delta_softplus: bool,
          dt_low: bool, bidir: bool = False) -> Tuple[int, tuple, dict]:
    """A launch's position blocks per batch element, its integer arguments
    after ``n_lblocks`` and its compile-time ones (all but ``REVERSE``),
    after the checks the kernel needs (``bidir``: the one-launch kernel's
    default configuration)."""
    seqlen, dim = x.shape[1:]
    if dt_low and (delta_bias is not None or delta_softplus):
        raise ValueError('conv_proj_fwd: dt_low stores dt_proj\'s '
                         'input; its bias and softplus are the '
                         'scan\'s (pass delta_bias=None, '
                         'delta_softplus=False)')
    if x.stride(2) != 1 and dim > 1:
        raise ValueError('conv_proj_fwd: x needs channel stride 1, got '
                         f'strides {tuple(x.stride())}')
    cfg = config or default_config(seqlen, dim, x.element_size(), bidir)
    g = cfg.row_group
    if g < 1 or g & (g - 1) or g > cfg.block_l:
        raise ValueError('conv_proj_fwd: row_group must be a power of '
                         f'two <= block_l ({cfg.block_l}), got {g}')
    ints = (seqlen, dim, dt_rank, d_state, x.stride(0), x.stride(1),
            weight.stride(0), weight.stride(1), x_proj_weight.stride(0),
            x_proj_weight.stride(1), dt_proj_weight.stride(0),
            dt_proj_weight.stride(1))
    kwargs = dict(
        K=weight.shape[1], HAS_BIAS=bias is not None,
        IEEE=x.dtype == torch.float32, BLOCK_L=cfg.block_l,
        BLOCK_E=cfg.block_e, BLOCK_R=_pad(dt_rank), BLOCK_N=_pad(d_state),
        TWO_PASS=cfg.two_pass,
        BLOCK_EC=cfg.block_ec if cfg.two_pass and cfg.block_ec else
        cfg.block_e, HAS_DT_BIAS=delta_bias is not None,
        DT_SOFTPLUS=delta_softplus, ROW_GROUP=cfg.row_group,
        PREFETCH=cfg.prefetch, DT_LOW=dt_low, num_warps=cfg.num_warps,
        num_stages=cfg.num_stages,
        **({'maxnreg': cfg.maxnreg}
           if cfg.maxnreg and x.element_size() <= 2 else {}))
    return cdiv(seqlen, cfg.block_l), ints, kwargs


class _Outputs:
    """Shapes and dtypes of a launch's outputs, with a leading ``lead``
    (e.g. (2, ) for stacked directions), and their allocation."""
    __slots__ = ('_shape_e', '_shape_n', '_shape_dt', '_dtype',
                 '_bc_dtype', '_device')

    def __init__(self, x: Tensor, d_state: int, block_r: int,
                 bc_fp32: bool, dt_low: bool, lead: tuple = ()) -> None:
        batch, seqlen, dim = x.shape
        self._shape_e = lead + (batch, seqlen, dim)
        self._shape_n = lead + (batch, seqlen, d_state)
        self._shape_dt = lead + (batch, seqlen, block_r) if dt_low else None
        self._dtype, self._device = x.dtype, x.device
        self._bc_dtype = torch.float32 if bc_fp32 else x.dtype

    def new(self) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Empty u, delta (or dt_proj's input), B and C."""
        u = torch.empty(self._shape_e, device=self._device,
                        dtype=self._dtype)
        delta = (torch.empty(self._shape_e, device=self._device,
                             dtype=self._dtype)
                 if self._shape_dt is None else
                 torch.empty(self._shape_dt, device=self._device,
                             dtype=torch.float32))
        Bm = torch.empty(self._shape_n, device=self._device,
                         dtype=self._bc_dtype)
        Cm = torch.empty(self._shape_n, device=self._device,
                         dtype=self._bc_dtype)
        return u, delta, Bm, Cm


class ConvProjLaunch:
    """The kernel's launch for inputs with the shapes, strides, dtypes and
    device of the ones it was made from, every integer and compile-time
    argument computed once (:func:`conv_proj_fwd` runs one per call;
    a caller that calls it many times with the same layouts keeps one).

    Calling it allocates u, delta, B and C and launches the kernel: no
    checks, no conversions (``x`` must have channel stride 1, as when the
    launch was made).

    Args: those of :func:`conv_proj_fwd`.
    """
    __slots__ = ('_kernel', '_ints', '_kwargs', '_outs')

    def __init__(self, x: Tensor, weight: Tensor, bias: Optional[Tensor],
                 x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
                 d_state: int, reverse: bool,
                 config: Optional[ConvProjConfig] = None,
                 delta_bias: Optional[Tensor] = None,
                 delta_softplus: bool = False,
                 bc_fp32: bool = False, dt_low: bool = False) -> None:
        n_lblocks, ints, kwargs = _plan(
            x, weight, bias, x_proj_weight, dt_proj_weight, dt_rank,
            d_state, config, delta_bias, delta_softplus, dt_low)
        self._kernel = _conv_proj_fwd_kernel[(n_lblocks * x.shape[0], )]
        self._ints = ints[:4] + (n_lblocks, ) + ints[4:]
        self._kwargs = dict(kwargs, REVERSE=reverse)
        self._outs = _Outputs(x, d_state, kwargs['BLOCK_R'], bc_fp32,
                              dt_low)

    def __call__(self, x: Tensor, weight: Tensor, bias: Optional[Tensor],
                 x_proj_weight: Tensor, dt_proj_weight: Tensor,
                 delta_bias: Optional[Tensor] = None,
                 outs: Optional[Tuple[Tensor, ...]] = None
                 ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """u, delta (B, L, E) and B, C (B, L, N), contiguous, in the dtype
        of ``x`` (B and C in fp32 with ``bc_fp32``); written into
        ``outs`` = (u, delta, B, C) when given (contiguous, those shapes
        and dtypes: unchecked, e.g. one direction's slices of stacked
        buffers)."""
        u, delta, Bm, Cm = outs if outs is not None else self._outs.new()
        self._kernel(
            x, weight, bias if bias is not None else weight, x_proj_weight,
            dt_proj_weight, delta_bias if delta_bias is not None else weight,
            u, delta, Bm, Cm, *self._ints, **self._kwargs)
        return u, delta, Bm, Cm


#: One direction's weights as :class:`ConvProjBidirLaunch` takes them:
#: (conv taps (E, K), conv bias or None, x_proj weight, dt_proj weight).
DirectionWeights = Tuple[Tensor, Optional[Tensor], Tensor, Tensor]


class ConvProjBidirLaunch:
    """Both directions of :class:`ConvProjLaunch` in one launch
    (:func:`_conv_proj_bidir_kernel`): the causal conv with ``fwd``'s
    weights and the anti-causal one with ``bwd``'s, on the same ``x``,
    into stacked outputs (direction first). Per direction the same
    outputs bit for bit as :class:`ConvProjLaunch` with the same
    arguments: each program runs the one-direction kernel's code.

    Args:
        x: (B, L, E), channel stride 1.
        fwd, bwd: each direction's (taps, bias, x_proj weight, dt_proj
            weight), with the same strides in both, and a bias in both or
            in neither.
        delta_biases: each direction's delta bias, both or neither given.
        The rest: as :func:`conv_proj_fwd`.

    Raises:
        ValueError: the directions' weights differ in strides or in which
            are given; as :func:`conv_proj_fwd`.
    """
    __slots__ = ('_kernel', '_ints', '_kwargs', '_outs')

    def __init__(self, x: Tensor, fwd: DirectionWeights,
                 bwd: DirectionWeights, dt_rank: int, d_state: int,
                 config: Optional[ConvProjConfig] = None,
                 delta_biases: Tuple[Optional[Tensor],
                                     Optional[Tensor]] = (None, None),
                 delta_softplus: bool = False, bc_fp32: bool = False,
                 dt_low: bool = False) -> None:
        for name, a, b in zip(
                ('weight', 'bias', 'x_proj_weight', 'dt_proj_weight',
                 'delta_bias'), (*fwd, delta_biases[0]),
                (*bwd, delta_biases[1])):
            if (a is None) != (b is None) or (
                    a is not None and a.stride() != b.stride()):
                raise ValueError(
                    f'conv_proj_fwd (both directions): {name} must be '
                    'given for both directions or neither, with the same '
                    'strides, got '
                    f'{None if a is None else tuple(a.stride())} and '
                    f'{None if b is None else tuple(b.stride())}')
        n_lblocks, ints, kwargs = _plan(
            x, *fwd, dt_rank, d_state, config, delta_biases[0],
            delta_softplus, dt_low, bidir=True)
        batch, seqlen, dim = x.shape
        width = kwargs['BLOCK_R'] if dt_low else dim
        self._kernel = _conv_proj_bidir_kernel[(2 * n_lblocks * batch, )]
        self._ints = (batch * seqlen * dim, batch * seqlen * width,
                      batch * seqlen * d_state) + ints[:4] + (
                          n_lblocks, ) + ints[4:]
        self._kwargs = kwargs
        self._outs = _Outputs(x, d_state, kwargs['BLOCK_R'], bc_fp32,
                              dt_low, lead=(2, ))

    def __call__(self, x: Tensor, fwd: DirectionWeights,
                 bwd: DirectionWeights,
                 delta_biases: Tuple[Optional[Tensor],
                                     Optional[Tensor]] = (None, None),
                 outs: Optional[Tuple[Tensor, ...]] = None
                 ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """u, delta (2, B, L, E) and B, C (2, B, L, N) (direction first,
        contiguous; delta is (2, B, L, P) fp32 with ``dt_low``), written
        into ``outs`` when given (unchecked)."""
        u, delta, Bm, Cm = outs if outs is not None else self._outs.new()
        w, b, wx, wdt = fwd
        w_b, b_b, wx_b, wdt_b = bwd
        dtb, dtb_b = delta_biases
        self._kernel(
            x, w, b if b is not None else w, wx, wdt,
            dtb if dtb is not None else w, w_b,
            b_b if b_b is not None else w_b, wx_b, wdt_b,
            dtb_b if dtb_b is not None else w_b, u, delta, Bm, Cm,
            *self._ints, **self._kwargs)
        return u, delta, Bm, Cm


def conv_proj_fwd(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                  x_proj_weight: Tensor, dt_proj_weight: Tensor,
                  dt_rank: int, d_state: int, reverse: bool,
                  config: Optional[ConvProjConfig] = None,
                  delta_bias: Optional[Tensor] = None,
                  delta_softplus: bool = False, bc_fp32: bool = False,
                  dt_low: bool = False
                  ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Launch the kernel (inputs checked by the caller).

    Args:
        x: (B, L, E), channel stride 1, fp32/fp16/bf16.
        weight: (E, K) conv taps; bias: (E,) or None; any float dtype,
            rounded in the kernel to the dtype of ``x``.
        x_proj_weight: (R + 2N, E); dt_proj_weight: (E, R).
        dt_rank, d_state: R and N.
        reverse: the anti-causal conv (Vim's backward direction).
        config: launch configuration (default :func:`default_config`).
        delta_bias: (E,) or None, added to delta (in fp32, after delta is
            rounded to the dtype of ``x``); delta_softplus: softplus of
            that sum (both as the scan's own ``delta_bias`` and
            ``delta_softplus``; delta is then the scan's step, stored in
            the dtype of ``x``).
        bc_fp32: B and C stored in fp32 (their values rounded to the dtype
            of ``x`` all the same).
        dt_low: return dt_proj's input in place of delta: (B, L, P) fp32
            with P = R rounded up to a power of two (zeros beyond R), the
            values rounded to the dtype of ``x``; no delta is formed
            (``delta_bias`` None and ``delta_softplus`` False).

    Returns:
        u, delta: (B, L, E) and B, C: (B, L, N), all contiguous, in
        ``x.dtype`` (B and C fp32 with ``bc_fp32``; the caller takes B and
        C's (B, N, L) views).
    """
    launch = ConvProjLaunch(x, weight, bias, x_proj_weight, dt_proj_weight,
                            dt_rank, d_state, reverse, config, delta_bias,
                            delta_softplus, bc_fp32, dt_low)
    return launch(x, weight, bias, x_proj_weight, dt_proj_weight, delta_bias)
