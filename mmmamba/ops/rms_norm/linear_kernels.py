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
    'LinearNormConfig', 'default_linear_config', 'linear_add_rms_norm_fwd'
]
#: Accumulator elements per program the default configuration aims at.
TILE_ELEMENTS = 16384


class LinearNormConfig(NamedTuple):
    """Launch configuration.

    Attributes:
        block_m: output rows per program (power of two, >= 16).
        block_k: K per main-loop step (power of two, >= 16).
        num_warps, num_stages: Triton's launch options.
    """
    block_m: int
    block_k: int
    num_warps: int = 4
    num_stages: int = 3


def default_linear_config(out_features: int,
                          in_features: int) -> LinearNormConfig:
    """About :data:`TILE_ELEMENTS` accumulators per program (64 rows at
    Vim-Ti's D = 192, padded to 256), at most 64 rows and at least 16;
    K steps of 64 (less for a narrow K)."""
    block_n = max(16, next_power_of_2(out_features))
    block_m = max(16, min(64, TILE_ELEMENTS // block_n))
    block_k = max(16, min(64, next_power_of_2(in_features)))
    return LinearNormConfig(block_m, block_k)


@triton.jit
def _linear_add_rms_norm_kernel(
        y_ptr, w_ptr, b_ptr, res_ptr, nw_ptr, out_ptr, res_out_ptr,
        n_rows, n_in, n_out, stride_y, stride_wn, stride_wk, stride_res,
        eps, HAS_BIAS: tl.constexpr, IEEE: tl.constexpr,
        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
        BLOCK_K: tl.constexpr, STAGES: tl.constexpr):
    """Rows ``[m0, m0 + BLOCK_M)``: ``hidden = round(y W^T + b)``, ``r =
    residual + hidden`` (stored, fp32), ``out = (r * rstd) * w``."""
    pid = tl.program_id(0)
    rows = (pid * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    mask_m = rows < n_rows
    cols = tl.arange(0, BLOCK_N)
    mask_n = cols < n_out
    dtype = y_ptr.dtype.element_ty
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in tl.range(0, n_in, BLOCK_K, num_stages=STAGES):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask_k = ks < n_in
        a = tl.load(y_ptr + rows[:, None] * stride_y + ks[None, :],
                    mask=mask_m[:, None] & mask_k[None, :], other=0.0)
        wt = tl.load(w_ptr + cols[None, :] * stride_wn
                     + ks[:, None] * stride_wk,
                     mask=mask_k[:, None] & mask_n[None, :], other=0.0)
        acc += _dot(a, wt, IEEE)
    if HAS_BIAS:
        acc += tl.load(b_ptr + cols, mask=mask_n,
                       other=0.0).to(tl.float32)[None, :]
    # the linear layer's output in the activations' dtype
    hidden = _round_to(acc, dtype)
    mask = mask_m[:, None] & mask_n[None, :]
    r = tl.load(res_ptr + rows[:, None] * stride_res + cols[None, :],
                mask=mask, other=0.0).to(tl.float32) + hidden
    out_offs = rows[:, None] * n_out + cols[None, :]
    tl.store(res_out_ptr + out_offs, r, mask=mask)
    rstd = tl.math.rsqrt(tl.sum(r * r, axis=1) / n_out + eps)
    w = tl.load(nw_ptr + cols, mask=mask_n, other=0.).to(tl.float32)
    out = (r * rstd[:, None]) * w[None, :]
    tl.store(out_ptr + out_offs, out.to(out_ptr.dtype.element_ty), mask=mask)


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
    _linear_add_rms_norm_kernel[(cdiv(n_rows, cfg.block_m), )](
        y, weight, weight if bias is None else bias, residual,
        norm_weight, out, res_out, n_rows, n_in, n_out,
        y.stride(0) if n_rows > 1 else n_in, weight.stride(0),
        weight.stride(1), residual.stride(0) if n_rows > 1 else n_out,
        float(eps), HAS_BIAS=bias is not None,
        IEEE=y.dtype == torch.float32, BLOCK_M=cfg.block_m,
        BLOCK_N=max(16, next_power_of_2(n_out)), BLOCK_K=cfg.block_k,
        STAGES=cfg.num_stages, num_warps=cfg.num_warps)
    return out, res_out
