# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernel of :func:`~mmmamba.ops.rms_norm.linear_add_rms_norm`: a
linear layer whose epilogue is the next residual add + RMSNorm (forward
only, no autograd).

Importing this module imports triton: only the op does, lazily, when the
``'triton'`` backend runs.

**Why.** In Vim's layer loop the mixer's ``out_proj`` writes its output
(rows, D) in the activations' dtype and the next layer's add + RMSNorm
reads it back: at Vim-Ti 2048² batch 64 that is 0.8 GB of memory traffic
per layer around kernels at their byte floors (the out_proj GEMM and the
add + RMSNorm kernel together ~1.2 ms per layer, H100 profile in
``benchmarks/NOTES.md``, 2026-12-06, fourth part). A program here owns
``BLOCK_M`` whole output rows: it runs the GEMM's main loop over K on the
tensor cores, rounds the result to the activations' dtype (what the linear
layer returns under autocast), adds it to the fp32 residual, stores the
new residual and normalises the row in registers: the hidden never goes
to memory.

**Layout.** The D output columns are up to four sub-tiles of ``SUB_N``
columns (a power of two: D = 192 is three of 64), each its own
accumulator, so a width of three powers of two is not padded to the next
one (the first version padded 192 to 256, a quarter of its MMAs on zeros,
and staged 256-wide weight tiles: twice as slow as cuBLAS + the norm
kernel, ``benchmarks/NOTES.md`` 2026-12-06, fourth part, callE).
``prefetch_res`` loads the residual rows before the main loop, so their
latency hides behind it; ``reload`` normalises the stored residual read
back, in one layout (:class:`LinearNormConfig`).

The epilogue is :mod:`.triton_kernels`' forward kernel line for line
(``r = residual + hidden`` in fp32, ``rstd = rsqrt(sum(r²) / C + eps)``,
``y = (r * rstd) * w``); only the GEMM's summation order differs from
cuBLAS's.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, next_power_of_2
from ..conv_proj.triton_kernels import _dot, _round_to

__all__ = [
    'LinearNormConfig', 'default_linear_config', 'linear_add_rms_norm_fwd',
    'sub_tiles'
]
#: Most accumulator sub-tiles a program holds.
MAX_SUB_TILES = 4


class LinearNormConfig(NamedTuple):
    """Launch configuration.

    Attributes:
        block_m: output rows per program (power of two, >= 16).
        block_k: K per main-loop step (power of two, >= 16).
        num_warps: Triton's launch option.
        num_stages: the main loop's software pipeline depth (its
            ``tl.range``'s ``num_stages``).
        prefetch_res: load the residual rows before the main loop.
        maxnreg: cap on registers per thread (ptxas ``.maxnreg``; 0: none),
            for more programs per SM.
        reload: store the new residual, then read it back (after a
            barrier) for the norm. Without it Triton computes the residual
            twice, in the accumulators' layout for the row sums and in the
            loads' for its store, and converts each residual sub-tile to
            both (12 layout conversions at D = 192 against 6; offline
            Triton 3.6 sm_90, 8 warps x 64 rows: 172 registers against
            102, so two programs fit on an SM).
    """
    block_m: int
    block_k: int
    num_warps: int = 4
    num_stages: int = 3
    prefetch_res: bool = False
    maxnreg: int = 0
    reload: bool = False


def sub_tiles(out_features: int) -> Tuple[int, int]:
    """``(SUB_N, N_SUB)``: the narrowest power of two (>= 16) of which at
    most :data:`MAX_SUB_TILES` cover ``out_features``, and how many do
    (Vim-Ti's D = 192: (64, 3); 384: (128, 3); 256: (64, 4))."""
    sub_n = max(16, next_power_of_2(cdiv(out_features, MAX_SUB_TILES)))
    return sub_n, cdiv(out_features, sub_n)


def default_linear_config(out_features: int,
                          in_features: int) -> LinearNormConfig:
    """64 rows (fewer where D is wide: about 12288 accumulators per
    program, at least 16 rows), K steps of 64 (less for a narrow K),
    3 stages, ``reload``; 4 warps up to 192 columns of sub-tiles, else 8.

    4 warps were the fastest of eleven configurations at Vim-Ti's 2048²
    and 1248² batch 64 (H100: 1.087 ms per layer at 2048² b64 against
    1.093 with 8 warps and 1.218 for cuBLAS + the norm kernel;
    ``benchmarks/NOTES.md``, 2026-12-07, eighth part; offline Triton 3.6
    sm_90 at D = 192, K = 384 in bf16: 186 registers, no stack, 96 KB of
    shared memory). Wider tiles with 4 warps spill (D = 384: 255
    registers and a stack; 8 warps: 146, none), and beyond 512 columns
    two stages, as three of a 1024-wide weight tile need more shared
    memory than an SM has (266 KB). Only D = 192 is measured on a GPU.
    """
    sub_n, n_sub = sub_tiles(out_features)
    width = sub_n * n_sub
    block_m = max(16, min(64, next_power_of_2(12288 // width)))
    block_k = max(16, min(64, next_power_of_2(in_features)))
    return LinearNormConfig(block_m, block_k,
                            num_warps=4 if width <= 192 else 8,
                            num_stages=3 if width <= 512 else 2,
                            reload=True)


@triton.jit
def _w_tile(w_ptr, j: tl.constexpr, ks, mask_k, n_out, stride_wn,
            stride_wk, SUB_N: tl.constexpr):
    """Sub-tile ``j`` of the transposed weight, (BLOCK_K, SUB_N)."""
    cols = j * SUB_N + tl.arange(0, SUB_N)
    return tl.load(w_ptr + cols[None, :] * stride_wn + ks[:, None] * stride_wk,
                   mask=mask_k[:, None] & (cols < n_out)[None, :], other=0.0)


@triton.jit
def _res_tile(res_ptr, rows, mask_m, j: tl.constexpr, n_out, stride_res,
              SUB_N: tl.constexpr):
    """Sub-tile ``j`` of the residual rows, (BLOCK_M, SUB_N) fp32."""
    cols = j * SUB_N + tl.arange(0, SUB_N)
    return tl.load(res_ptr + rows[:, None] * stride_res + cols[None, :],
                   mask=mask_m[:, None] & (cols < n_out)[None, :],
                   other=0.0).to(tl.float32)


@triton.jit
def _add_hidden(acc, res, b_ptr, j: tl.constexpr, n_out, dtype: tl.constexpr,
                HAS_BIAS: tl.constexpr, SUB_N: tl.constexpr):
    """``res + round(acc + bias)``: the new residual sub-tile (fp32)."""
    if HAS_BIAS:
        cols = j * SUB_N + tl.arange(0, SUB_N)
        acc += tl.load(b_ptr + cols, mask=cols < n_out,
                       other=0.0).to(tl.float32)[None, :]
    # the linear layer's output in the activations' dtype
    return res + _round_to(acc, dtype)


@triton.jit
def _store_res(r, res_out_ptr, rows, mask_m, j: tl.constexpr, n_out,
               SUB_N: tl.constexpr):
    """Store sub-tile ``j`` of the new residual."""
    cols = j * SUB_N + tl.arange(0, SUB_N)
    mask = mask_m[:, None] & (cols < n_out)[None, :]
    tl.store(res_out_ptr + rows[:, None] * n_out + cols[None, :], r,
             mask=mask)


@triton.jit
def _load_res_out(res_out_ptr, rows, mask_m, j: tl.constexpr, n_out,
                  SUB_N: tl.constexpr):
    """Sub-tile ``j`` of the new residual as stored (RELOAD)."""
    cols = j * SUB_N + tl.arange(0, SUB_N)
    mask = mask_m[:, None] & (cols < n_out)[None, :]
    return tl.load(res_out_ptr + rows[:, None] * n_out + cols[None, :],
                   mask=mask, other=0.0)


@triton.jit
def _store_out(r, rstd, nw_ptr, out_ptr, rows, mask_m, j: tl.constexpr,
               n_out, SUB_N: tl.constexpr):
    """Store sub-tile ``j`` of ``(r * rstd) * w``."""
    cols = j * SUB_N + tl.arange(0, SUB_N)
    mask_n = cols < n_out
    w = tl.load(nw_ptr + cols, mask=mask_n, other=0.).to(tl.float32)
    out = (r * rstd[:, None]) * w[None, :]
    tl.store(out_ptr + rows[:, None] * n_out + cols[None, :],
             out.to(out_ptr.dtype.element_ty),
             mask=mask_m[:, None] & mask_n[None, :])


@triton.jit
def _linear_add_rms_norm_kernel(
        y_ptr, w_ptr, b_ptr, res_ptr, nw_ptr, out_ptr, res_out_ptr,
        n_rows, n_in, n_out, stride_y, stride_wn, stride_wk, stride_res,
        eps, HAS_BIAS: tl.constexpr, IEEE: tl.constexpr,
        BLOCK_M: tl.constexpr, SUB_N: tl.constexpr, N_SUB: tl.constexpr,
        BLOCK_K: tl.constexpr, STAGES: tl.constexpr,
        PREFETCH_RES: tl.constexpr, RELOAD: tl.constexpr = False):
    """Rows ``[m0, m0 + BLOCK_M)``: ``hidden = round(y W^T + b)``, ``r =
    residual + hidden`` (stored, fp32), ``out = (r * rstd) * w``; the D
    columns as ``N_SUB`` sub-tiles of ``SUB_N``."""
    pid = tl.program_id(0)
    rows = (pid * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    mask_m = rows < n_rows
    dtype = y_ptr.dtype.element_ty
    # per-sub-tile values as tuples of N_SUB (BLOCK_M, SUB_N) tiles,
    # indexed by the unrolled static_range's constant j
    if PREFETCH_RES:
        res = ()
        for j in tl.static_range(N_SUB):
            res = res + (_res_tile(res_ptr, rows, mask_m, j, n_out,
                                   stride_res, SUB_N), )
    acc = (tl.zeros((BLOCK_M, SUB_N), dtype=tl.float32), ) * N_SUB
    for k0 in tl.range(0, n_in, BLOCK_K, num_stages=STAGES):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask_k = ks < n_in
        a = tl.load(y_ptr + rows[:, None] * stride_y + ks[None, :],
                    mask=mask_m[:, None] & mask_k[None, :], other=0.0)
        new = ()
        for j in tl.static_range(N_SUB):
            new = new + (acc[j] + _dot(
                a, _w_tile(w_ptr, j, ks, mask_k, n_out, stride_wn,
                           stride_wk, SUB_N), IEEE), )
        acc = new
    # the new residual, sub-tile by sub-tile (masked columns stay 0): each
    # residual sub-tile loaded where it is added (unless prefetched) and
    # the sum stored at once
    r = ()
    for j in tl.static_range(N_SUB):
        if PREFETCH_RES:
            res_j = res[j]
        else:
            res_j = _res_tile(res_ptr, rows, mask_m, j, n_out, stride_res,
                              SUB_N)
        r_j = _add_hidden(acc[j], res_j, b_ptr, j, n_out, dtype, HAS_BIAS,
                          SUB_N)
        _store_res(r_j, res_out_ptr, rows, mask_m, j, n_out, SUB_N)
        r = r + (r_j, )
    if RELOAD:
        # the norm on the stored residual, read back (from L2) after a
        # barrier (the program's stores are visible to its threads):
        # the row sums and the output in the loads' layout, instead of
        # the residual computed a second time in the accumulators'
        tl.debug_barrier()
        r = ()
        for j in tl.static_range(N_SUB):
            r = r + (_load_res_out(res_out_ptr, rows, mask_m, j, n_out,
                                   SUB_N), )
    sum_sq = tl.zeros((BLOCK_M, ), dtype=tl.float32)
    for j in tl.static_range(N_SUB):
        sum_sq += tl.sum(r[j] * r[j], axis=1)
    rstd = tl.math.rsqrt(sum_sq / n_out + eps)
    for j in tl.static_range(N_SUB):
        _store_out(r[j], rstd, nw_ptr, out_ptr, rows, mask_m, j, n_out,
                   SUB_N)


def linear_add_rms_norm_fwd(y: Tensor, weight: Tensor, bias: Optional[Tensor],
                            residual: Tensor, norm_weight: Tensor,
                            eps: float,
                            out_dtype: Optional[torch.dtype] = None,
                            config: Optional[LinearNormConfig] = None
                            ) -> Tuple[Tensor, Tensor]:
    """Launch the kernel (inputs checked by the caller).

    Args:
        y: (rows, K) with unit column stride, fp16/bf16/fp32.
        weight: (D, K), bias (D,) or None: in ``y``'s dtype (the op
            casts them, as autocast casts a linear layer's).
        residual: (rows, D) with unit column stride, any float dtype.
        norm_weight: (D,).
        out_dtype: the normalised output's dtype (None: ``y``'s).
        config: launch configuration (None: :func:`default_linear_config`).

    Returns:
        The normalised rows (rows, D) and the new fp32 residual (rows, D),
        contiguous.
    """
    n_rows, n_in = y.shape
    n_out = weight.shape[0]
    out = torch.empty((n_rows, n_out), dtype=out_dtype or y.dtype,
                      device=y.device)
    res_out = torch.empty((n_rows, n_out), dtype=torch.float32,
                          device=y.device)
    if n_rows == 0:
        return out, res_out
    cfg = config or default_linear_config(n_out, n_in)
    sub_n, n_sub = sub_tiles(n_out)
    _linear_add_rms_norm_kernel[(cdiv(n_rows, cfg.block_m), )](
        y, weight, weight if bias is None else bias, residual,
        norm_weight, out, res_out, n_rows, n_in, n_out,
        y.stride(0) if n_rows > 1 else n_in, weight.stride(0),
        weight.stride(1), residual.stride(0) if n_rows > 1 else n_out,
        float(eps), HAS_BIAS=bias is not None,
        IEEE=y.dtype == torch.float32, BLOCK_M=cfg.block_m, SUB_N=sub_n,
        N_SUB=n_sub, BLOCK_K=cfg.block_k, STAGES=cfg.num_stages,
        PREFETCH_RES=cfg.prefetch_res, RELOAD=cfg.reload,
        num_warps=cfg.num_warps,
        **({'maxnreg': cfg.maxnreg} if cfg.maxnreg else {}))
    return out, res_out
