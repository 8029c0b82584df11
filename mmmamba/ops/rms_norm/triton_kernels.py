# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernels of the fused add + RMSNorm and their launchers (no
autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily, when
the ``'triton'`` backend is asked for.

Layout. The inputs are viewed as (rows, C): all leading dimensions
flattened, the last one contiguous (stride 1); each 2-D view may have any
row stride (e.g. a slice of a wider last dimension), and the outputs are
contiguous. A program owns ``BLOCK_M`` whole rows as one
(BLOCK_M, BLOCK_C) register tile, ``BLOCK_C = next_pow2(C)`` (columns past
C are masked), so the mean over a row is an in-register reduction and every
element is read and written once.

Forward (one pass): load ``x`` (and ``residual``), ``r = residual + x`` in
fp32, store ``r`` in the new residual's dtype and continue with that
rounded value (a no-op for the fp32 residual stream), ``rstd = rsqrt(
sum(r²) / C + eps)``, ``y = (r * rstd) * w`` stored in ``x``'s dtype.
Nothing else is saved: the backward re-reads the new residual (which
autograd keeps anyway, the next layer consumes it) and recomputes ``rstd``
from it, which costs one in-register reduction of a row it has to load
regardless, instead of a (rows,) fp32 tensor written, saved and read.

Backward (one pass): with ``x̂ = r * rstd`` and ``g = dy * w``,
``dr = rstd * (g - x̂ * mean(g * x̂))``, plus the gradient that arrives on
the new residual directly; ``dr`` is d(x) and d(residual) at once
(``r = residual + x``): it is stored once in ``x``'s dtype and, only when
the residual's dtype differs (bf16 hidden states with the fp32 stream), a
second time in the residual's. The weight gradient ``sum_rows dy * x̂`` is
summed in fp32 registers per program, each program walking a contiguous
range of row blocks, and written as one partial row per program; the
launcher reduces the (programs, C) partials with one ``sum(0)``:
deterministic, no atomics.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, next_power_of_2, persistent_programs

__all__ = [
    'add_rms_norm_fwd', 'add_rms_norm_bwd', 'RMSNormConfig', 'default_config'
]

# The dispatcher (``mmmamba.ops.rms_norm``) sends only fp16/bf16/fp32 x and
# residual and C <= its MAX_COLS here (weight: any float dtype).
# Elements of a (BLOCK_M, BLOCK_C) tile the default configuration aims at.
TILE_ELEMENTS = 2048


class RMSNormConfig(NamedTuple):
    """Launch configuration of either kernel.

    Attributes:
        block_m: rows per tile.
        num_warps: warps per program.
        programs_per_sm: backward only: at most this many programs per SM
            (each walks ``ceil(row_blocks / programs)`` tiles and writes one
            partial weight-gradient row).
    """
    block_m: int
    num_warps: int
    programs_per_sm: int = 8


def default_config(n_cols: int, backward: bool = False) -> RMSNormConfig:
    """The configuration the launchers use when given none (a prediction
    for Hopper, to be checked with ``benchmark_rms_norm.py --sweep``):
    tiles of about :data:`TILE_ELEMENTS` elements, 4 warps (8 and 16 for
    the one-row tiles of C > 2048 and > 4096)."""
    block_c = next_power_of_2(n_cols)
    block_m = max(1, TILE_ELEMENTS // block_c)
    num_warps = 4 if block_c <= 2048 else (8 if block_c <= 4096 else 16)
    return RMSNormConfig(block_m=block_m, num_warps=num_warps)


@triton.jit
def _add_rms_norm_fwd_kernel(x_ptr, res_ptr, w_ptr, y_ptr, res_out_ptr,
                             n_rows, n_cols, stride_x, stride_res, eps,
                             HAS_RES: tl.constexpr, STORE_RES: tl.constexpr,
                             BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr):
    pid = tl.program_id(0)
    rows = (pid * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    cols = tl.arange(0, BLOCK_C)
    cmask = cols < n_cols
    mask = (rows < n_rows)[:, None] & cmask[None, :]
    r = tl.load(
        x_ptr + rows[:, None] * stride_x + cols[None, :], mask=mask,
        other=0.).to(tl.float32)
    if HAS_RES:
        res = tl.load(
            res_ptr + rows[:, None] * stride_res + cols[None, :], mask=mask,
            other=0.).to(tl.float32)
        r = res + r
    out_offs = rows[:, None] * n_cols + cols[None, :]
    if STORE_RES:
        r_out = r.to(res_out_ptr.dtype.element_ty)
        tl.store(res_out_ptr + out_offs, r_out, mask=mask)
        # normalise the stored (rounded) residual, as the reference does
        r = r_out.to(tl.float32)
    rstd = tl.math.rsqrt(tl.sum(r * r, axis=1) / n_cols + eps)
    w = tl.load(w_ptr + cols, mask=cmask, other=0.).to(tl.float32)
    y = (r * rstd[:, None]) * w[None, :]
    tl.store(y_ptr + out_offs, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _add_rms_norm_bwd_kernel(r_ptr, w_ptr, dy_ptr, dres_out_ptr, dx_ptr,
                             dres_ptr, dw_ptr, n_rows, n_cols, stride_r,
                             stride_dy, stride_dres_out, eps, rows_per_prog,
                             HAS_DY: tl.constexpr,
                             HAS_DRES_OUT: tl.constexpr,
                             STORE_DRES: tl.constexpr,
                             COMPUTE_DW: tl.constexpr, BLOCK_M: tl.constexpr,
                             BLOCK_C: tl.constexpr):
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_C)
    cmask = cols < n_cols
    w = tl.load(w_ptr + cols, mask=cmask, other=0.).to(tl.float32)
    dw_acc = tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32)
    row_start = pid.to(tl.int64) * rows_per_prog
    # rows_per_prog is a multiple of BLOCK_M: tiles never cross programs
    for i in range(0, rows_per_prog, BLOCK_M):
        rows = row_start + i + tl.arange(0, BLOCK_M)
        mask = (rows < n_rows)[:, None] & cmask[None, :]
        out_offs = rows[:, None] * n_cols + cols[None, :]
        dr = tl.zeros((BLOCK_M, BLOCK_C), dtype=tl.float32)
        if HAS_DY:
            r = tl.load(
                r_ptr + rows[:, None] * stride_r + cols[None, :], mask=mask,
                other=0.).to(tl.float32)
            rstd = tl.math.rsqrt(tl.sum(r * r, axis=1) / n_cols + eps)
            xhat = r * rstd[:, None]
            dy = tl.load(
                dy_ptr + rows[:, None] * stride_dy + cols[None, :],
                mask=mask, other=0.).to(tl.float32)
            if COMPUTE_DW:
                dw_acc += dy * xhat
            g = dy * w[None, :]
            c = tl.sum(g * xhat, axis=1) / n_cols
            dr = (g - xhat * c[:, None]) * rstd[:, None]
        if HAS_DRES_OUT:
            dr += tl.load(
                dres_out_ptr + rows[:, None] * stride_dres_out +
                cols[None, :], mask=mask, other=0.).to(tl.float32)
        tl.store(dx_ptr + out_offs, dr.to(dx_ptr.dtype.element_ty), mask=mask)
        if STORE_DRES:
            tl.store(
                dres_ptr + out_offs, dr.to(dres_ptr.dtype.element_ty),
                mask=mask)
    if COMPUTE_DW:
        tl.store(dw_ptr + pid * n_cols + cols, tl.sum(dw_acc, axis=0),
                 mask=cmask)


def as_rows(t: Tensor) -> Tensor:
    """``t`` as (rows, C) with a unit column stride: a view when the
    leading dimensions flatten to one row stride, else a contiguous copy."""
    t2 = t.reshape(-1, t.shape[-1])
    if t2.shape[1] > 1 and t2.stride(1) != 1:
        t2 = t2.contiguous()
    return t2


def _row_stride(t: Tensor) -> int:
    # a single row (or C == 1) may report any stride; the kernels need one
    # that addresses the rows they visit, which for one row is irrelevant
    return t.stride(0) if t.shape[0] > 1 else t.shape[1]


def add_rms_norm_fwd(x: Tensor,
                     residual: Optional[Tensor],
                     weight: Tensor,
                     eps: float,
                     residual_dtype: Optional[torch.dtype],
                     config: Optional[RMSNormConfig] = None,
                     out_dtype: Optional[torch.dtype] = None
                     ) -> Tuple[Tensor, Optional[Tensor]]:
    """Launch the forward kernel.

    Args:
        x: (..., C), fp16/bf16/fp32, last dim contiguous or copied.
        residual: same shape as ``x`` (any supported dtype), or None.
        weight: (C,), any float dtype.
        residual_dtype: dtype of the new residual to store, or None to store
            none (only valid without ``residual``: the new residual is
            ``x`` itself).
        out_dtype: dtype of ``y`` (fp16/bf16/fp32; None: that of ``x``),
            rounded once from the fp32 result.

    Returns:
        y (contiguous, shape of ``x``, ``out_dtype``) and the new residual
        (contiguous, shape of ``x``, ``residual_dtype``) or None.
    """
    n_cols = x.shape[-1]
    if residual is not None and residual_dtype is None:
        raise ValueError('add_rms_norm_fwd: a residual needs residual_dtype')
    x2 = as_rows(x)
    n_rows = x2.shape[0]
    res2 = None if residual is None else as_rows(residual)
    y = torch.empty(x.shape, dtype=out_dtype or x.dtype, device=x.device)
    res_out = None if residual_dtype is None else torch.empty(
        x.shape, dtype=residual_dtype, device=x.device)
    if n_rows == 0 or n_cols == 0:
        return y, res_out
    config = config or default_config(n_cols)
    grid = (cdiv(n_rows, config.block_m), )
    _add_rms_norm_fwd_kernel[grid](
        x2, x2 if res2 is None else res2, weight.contiguous(), y,
        y if res_out is None else res_out, n_rows, n_cols, _row_stride(x2),
        0 if res2 is None else _row_stride(res2), float(eps),
        HAS_RES=res2 is not None, STORE_RES=res_out is not None,
        BLOCK_M=config.block_m, BLOCK_C=next_power_of_2(n_cols),
        num_warps=config.num_warps)
    return y, res_out


def add_rms_norm_bwd(dy: Optional[Tensor],
                     dres_out: Optional[Tensor],
                     r: Tensor,
                     weight: Tensor,
                     eps: float,
                     x_dtype: torch.dtype,
                     residual_dtype: Optional[torch.dtype],
                     compute_dw: bool = True,
                     config: Optional[RMSNormConfig] = None
                     ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Launch the backward kernel.

    Args:
        dy: gradient of ``y`` (shape of ``r``), or None.
        dres_out: gradient of the new residual, or None.
        r: the normalised tensor, i.e. the new residual (``x`` itself when
            the forward stored none).
        weight: (C,).
        x_dtype: dtype of ``dx``.
        residual_dtype: dtype of d(residual), or None when there is no
            residual or when it is ``x_dtype`` (then d(residual) *is* dx and
            is not written twice).
        compute_dw: also compute the weight gradient (needs ``dy``).

    Returns:
        dx (contiguous, ``x_dtype``); d(residual) in ``residual_dtype`` or
        None; d(weight) in ``weight.dtype`` or None (no ``dy`` or not
        ``compute_dw``).
    """
    n_cols = r.shape[-1]
    r2 = as_rows(r)
    n_rows = r2.shape[0]
    dy2 = None if dy is None else as_rows(dy)
    dro2 = None if dres_out is None else as_rows(dres_out)
    compute_dw = compute_dw and dy is not None
    dx = torch.empty(r.shape, dtype=x_dtype, device=r.device)
    dres = None if residual_dtype is None else torch.empty(
        r.shape, dtype=residual_dtype, device=r.device)
    if (dy is None and dres_out is None) or n_rows == 0 or n_cols == 0:
        dx.zero_()
        if dres is not None:
            dres.zero_()
        dw = torch.zeros_like(weight) if compute_dw else None
        return dx, dres, dw
    config = config or default_config(n_cols, backward=True)
    n_blocks = cdiv(n_rows, config.block_m)
    n_prog = persistent_programs(r.device, n_blocks, config.programs_per_sm)
    rows_per_prog = cdiv(n_blocks, n_prog) * config.block_m
    n_prog = cdiv(n_rows, rows_per_prog)
    partial = torch.empty((n_prog, n_cols), dtype=torch.float32,
                          device=r.device) if compute_dw else dx
    _add_rms_norm_bwd_kernel[(n_prog, )](
        r2, weight.contiguous(), r2 if dy2 is None else dy2,
        r2 if dro2 is None else dro2, dx, dx if dres is None else dres,
        partial, n_rows, n_cols, _row_stride(r2),
        0 if dy2 is None else _row_stride(dy2),
        0 if dro2 is None else _row_stride(dro2), float(eps), rows_per_prog,
        HAS_DY=dy2 is not None, HAS_DRES_OUT=dro2 is not None,
        STORE_DRES=dres is not None, COMPUTE_DW=compute_dw,
        BLOCK_M=config.block_m, BLOCK_C=next_power_of_2(n_cols),
        num_warps=config.num_warps)
    dw = partial.sum(0).to(weight.dtype) if compute_dw else None
    return dx, dres, dw
