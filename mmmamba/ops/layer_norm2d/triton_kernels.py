# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernels of the channel LayerNorm of (B, C, H, W) maps and their
launchers (no autograd).

Importing this module imports triton: only :mod:`.triton` does, lazily, when
the ``'triton'`` backend is asked for.

Layout. A (B, C, H, W) tensor is viewed as (B, C, P), P = H * W, with any
strides for which (H, W) flatten to one position stride: NCHW-contiguous
(positions adjacent in memory) and channels-last (channels adjacent) both
do, and are read in place; others are copied by the launcher. A program
owns ``BLOCK_P`` positions of one image and all C channels as one
(BLOCK_C, BLOCK_P) register tile, ``BLOCK_C = next_pow2(C)``, so the
statistics over C are in-register reductions and every element is read and
written once. Triton lays out each load and store for its own memory order
(lanes along the contiguous axis), so an NCHW input written channels-last
(what the reference returns, and what this op returns) is a transpose
through shared memory inside the kernel instead of a copy in memory.

Forward: ``mean = sum(x) / C``, ``var = sum((x - mean)²) / C`` (two passes
over the registers: no cancellation), ``y = (x - mean) rsqrt(var + eps) w +
b`` in fp32, stored in the output's dtype. Nothing is saved: the backward
re-reads ``x`` (which autograd keeps anyway) and recomputes the statistics,
one in-register reduction of a tile it loads regardless, instead of two
(B, P) fp32 tensors written, saved and read.

Backward: with ``x̂ = (x - mean) rstd`` and ``g = dy w``, ``dx = rstd (g -
mean(g) - x̂ mean(g x̂))``. The affine gradients ``sum dy x̂`` and ``sum dy``
over every position are summed in fp32 registers per program, each program
walking a contiguous range of tiles, and written as one partial row per
program; the launcher reduces the (programs, C) partials with ``sum(0)``:
deterministic, no atomics.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv, next_power_of_2, persistent_programs

__all__ = [
    'layer_norm_2d_fwd', 'layer_norm_2d_bwd', 'LayerNorm2dConfig',
    'default_config', 'as_bcp', 'channels_last_empty', 'empty_grad_like'
]

#: Largest C the kernels take (a whole channel column is in one tile).
MAX_CHANNELS = 4096
# Elements of a (BLOCK_C, BLOCK_P) tile the default configuration aims at.
TILE_ELEMENTS = 4096


class LayerNorm2dConfig(NamedTuple):
    """Launch configuration of either kernel.

    Attributes:
        block_p: positions per tile (a power of two).
        num_warps: warps per program.
        programs_per_sm: backward only: at most this many programs per SM
            (each walks ``ceil(tiles / programs)`` tiles and writes one
            partial row of each affine gradient).
    """
    block_p: int
    num_warps: int
    programs_per_sm: int = 4


def default_config(n_channels: int, n_pos: int,
                   backward: bool = False) -> LayerNorm2dConfig:
    """The configuration the launchers use when given none: tiles of about
    :data:`TILE_ELEMENTS` elements in the forward and half that in the
    backward (which holds four tiles: x, dy, x̂, dy w), 32 per thread (4
    warps; 8 from 1024 channels up), at most the next power of two of P
    positions. Offline (Triton 3.6, sm_90, bf16) the forward takes 95-128
    registers and the backward 100-130 without spills at VMamba's
    widths (``benchmarks/NOTES.md``). A prediction, not yet a sweep
    (``tools/analysis_tools/benchmark_layer_norm2d.py`` times others)."""
    block_c = next_power_of_2(n_channels)
    tile = TILE_ELEMENTS // 2 if backward else TILE_ELEMENTS
    warps = 4
    if block_c >= 1024:
        tile, warps = 2 * tile, 8
    block_p = max(1, min(tile // block_c, next_power_of_2(max(n_pos, 1))))
    return LayerNorm2dConfig(block_p=block_p, num_warps=warps)


@triton.jit
def _tile(b, pb, n_pos, n_ch, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr):
    """Channel offsets (C,), position offsets (P,) and the (C, P) mask of
    tile ``pb`` of image ``b``, and the image's int64 index."""
    offs_c = tl.arange(0, BLOCK_C)
    offs_p = pb * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (offs_c < n_ch)[:, None] & (offs_p < n_pos)[None, :]
    return offs_c, offs_p, mask, b.to(tl.int64)


@triton.jit
def _at(ptr, b64, offs_c, offs_p, s_b, s_c, s_p):
    """(C, P) addresses of a (B, C, P) tensor with strides s_*."""
    return ptr + b64 * s_b + offs_c[:, None] * s_c + offs_p[None, :] * s_p


@triton.jit
def _normalised(x, mask, n_ch, eps):
    """x̂ = (x - mean) rstd over axis 0 of a (C, P) fp32 tile whose masked
    elements are 0 (they stay 0), and rstd (P,)."""
    mean = tl.sum(x, axis=0) / n_ch
    xc = tl.where(mask, x - mean[None, :], 0.)
    rstd = tl.math.rsqrt(tl.sum(xc * xc, axis=0) / n_ch + eps)
    return xc * rstd[None, :], rstd


@triton.jit
def _layer_norm_2d_fwd_kernel(x_ptr, w_ptr, b_ptr, y_ptr, n_pos, n_ch,
                              n_pblocks, sx_b, sx_c, sx_p, sy_b, sy_c, sy_p,
                              eps, HAS_W: tl.constexpr, HAS_B: tl.constexpr,
                              BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr):
    pid = tl.program_id(0)
    offs_c, offs_p, mask, b64 = _tile(pid // n_pblocks, pid % n_pblocks,
                                      n_pos, n_ch, BLOCK_C, BLOCK_P)
    x = tl.load(_at(x_ptr, b64, offs_c, offs_p, sx_b, sx_c, sx_p), mask=mask,
                other=0.).to(tl.float32)
    y, _ = _normalised(x, mask, n_ch, eps)
    cmask = offs_c < n_ch
    if HAS_W:
        w = tl.load(w_ptr + offs_c, mask=cmask, other=0.).to(tl.float32)
        y = y * w[:, None]
    if HAS_B:
        bias = tl.load(b_ptr + offs_c, mask=cmask, other=0.).to(tl.float32)
        y = y + bias[:, None]
    tl.store(_at(y_ptr, b64, offs_c, offs_p, sy_b, sy_c, sy_p),
             y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _layer_norm_2d_bwd_kernel(x_ptr, w_ptr, dy_ptr, dx_ptr, dw_ptr, db_ptr,
                              n_pos, n_ch, n_pblocks, n_tiles,
                              tiles_per_prog, sx_b, sx_c, sx_p, sdy_b, sdy_c,
                              sdy_p, sdx_b, sdx_c, sdx_p, eps,
                              HAS_W: tl.constexpr, COMPUTE_DW: tl.constexpr,
                              COMPUTE_DB: tl.constexpr,
                              BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr):
    pid = tl.program_id(0)
    offs_c0 = tl.arange(0, BLOCK_C)
    cmask = offs_c0 < n_ch
    if HAS_W:
        w = tl.load(w_ptr + offs_c0, mask=cmask, other=0.).to(tl.float32)
    dw_acc = tl.zeros((BLOCK_C, ), dtype=tl.float32)
    db_acc = tl.zeros((BLOCK_C, ), dtype=tl.float32)
    t0 = pid * tiles_per_prog
    for i in range(0, tiles_per_prog):
        t = t0 + i
        offs_c, offs_p, mask, b64 = _tile(t // n_pblocks, t % n_pblocks,
                                          n_pos, n_ch, BLOCK_C, BLOCK_P)
        mask = mask & (t < n_tiles)  # the last program's spare tiles
        x = tl.load(_at(x_ptr, b64, offs_c, offs_p, sx_b, sx_c, sx_p),
                    mask=mask, other=0.).to(tl.float32)
        xhat, rstd = _normalised(x, mask, n_ch, eps)
        dy = tl.load(_at(dy_ptr, b64, offs_c, offs_p, sdy_b, sdy_c, sdy_p),
                     mask=mask, other=0.).to(tl.float32)
        if COMPUTE_DW:
            dw_acc += tl.sum(dy * xhat, axis=1)
        if COMPUTE_DB:
            db_acc += tl.sum(dy, axis=1)
        g = dy
        if HAS_W:
            g = dy * w[:, None]
        c1 = tl.sum(g, axis=0) / n_ch
        c2 = tl.sum(g * xhat, axis=0) / n_ch
        dx = (g - c1[None, :] - xhat * c2[None, :]) * rstd[None, :]
        tl.store(_at(dx_ptr, b64, offs_c, offs_p, sdx_b, sdx_c, sdx_p),
                 dx.to(dx_ptr.dtype.element_ty), mask=mask)
    if COMPUTE_DW:
        tl.store(dw_ptr + pid * n_ch + offs_c0, dw_acc, mask=cmask)
    if COMPUTE_DB:
        tl.store(db_ptr + pid * n_ch + offs_c0, db_acc, mask=cmask)


def _flattens(t: Tensor) -> bool:
    """Whether the (H, W) axes of a (B, C, H, W) tensor flatten to one
    position stride."""
    H, W = t.shape[2:]
    return H <= 1 or W <= 1 or t.stride(2) == W * t.stride(3)


def as_bcp(t: Tensor) -> Tensor:
    """A (B, C, H, W) tensor as a (B, C, H * W) view: in place when its
    (H, W) strides flatten to one (NCHW-contiguous and channels-last
    tensors do), else a view of a contiguous copy."""
    if not _flattens(t):
        t = t.contiguous()
    B, C, H, W = t.shape
    return t.reshape(B, C, H * W)


def empty_grad_like(x: Tensor) -> Tensor:
    """An uninitialised tensor for dx: ``x``'s memory format when ``x`` is
    dense and its (H, W) flatten, else contiguous (``as_bcp`` must view
    it, not copy it)."""
    dx = torch.empty_like(x)
    if not _flattens(dx):
        dx = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    return dx


def _strides(t: Tensor) -> Tuple[int, int, int]:
    """Strides of a (B, C, P) view. A size-1 axis may report any stride;
    the kernels then only ever use index 0 there."""
    return tuple(s if n > 1 else 0 for n, s in zip(t.shape, t.stride()))


def channels_last_empty(shape: Tuple[int, ...], dtype: torch.dtype,
                        device: torch.device) -> Tensor:
    """An uninitialised (B, C, H, W) tensor in channels-last memory (the
    layout ``F.layer_norm`` over a permuted map returns)."""
    B, C, H, W = shape
    return torch.empty((B, H, W, C), dtype=dtype,
                       device=device).permute(0, 3, 1, 2)


def _check_size(t: Tensor) -> None:
    """The kernels address one image in int32."""
    per_image = t.numel() // max(t.shape[0], 1)
    if per_image >= 2**31:
        raise ValueError(
            f'layer_norm_2d (triton): an image of {per_image} elements '
            'exceeds the kernels\' int32 offsets (2**31); use '
            "backend='reference'")


def layer_norm_2d_fwd(x: Tensor,
                      weight: Optional[Tensor],
                      bias: Optional[Tensor],
                      eps: float,
                      out_dtype: torch.dtype,
                      config: Optional[LayerNorm2dConfig] = None) -> Tensor:
    """Launch the forward kernel.

    Args:
        x: (B, C, H, W), fp16/bf16/fp32, any strides (copied when (H, W)
            do not flatten).
        weight, bias: (C,) any float dtype, or None.
        out_dtype: dtype of ``y`` (fp16/bf16/fp32), rounded once from the
            fp32 result.

    Returns:
        y: (B, C, H, W) in channels-last memory, ``out_dtype``.
    """
    B, C, H, W = x.shape
    y = channels_last_empty(x.shape, out_dtype, x.device)
    if y.numel() == 0:
        return y
    _check_size(x)
    x3, y3 = as_bcp(x), as_bcp(y)
    n_pos = H * W
    config = config or default_config(C, n_pos)
    n_pblocks = cdiv(n_pos, config.block_p)
    _layer_norm_2d_fwd_kernel[(B * n_pblocks, )](
        x3, x3 if weight is None else weight.contiguous(),
        x3 if bias is None else bias.contiguous(), y3, n_pos, C, n_pblocks,
        *_strides(x3), *_strides(y3), float(eps), HAS_W=weight is not None,
        HAS_B=bias is not None, BLOCK_C=next_power_of_2(C),
        BLOCK_P=config.block_p, num_warps=config.num_warps)
    return y


def layer_norm_2d_bwd(dy: Tensor,
                      x: Tensor,
                      weight: Optional[Tensor],
                      eps: float,
                      compute_dw: bool = True,
                      compute_db: bool = True,
                      config: Optional[LayerNorm2dConfig] = None
                      ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
    """Launch the backward kernel.

    Args:
        dy: gradient of ``y`` (shape of ``x``, any float dtype Triton
            takes, any strides).
        x: the forward's input.
        weight: (C,) or None (then ``compute_dw`` is ignored).
        compute_dw, compute_db: also return the affine gradients.

    Returns:
        dx (``x``'s dtype and memory format); d(weight) in ``weight``'s
        dtype or None; d(bias) fp32 (the caller casts it to the bias's
        dtype) or None.
    """
    B, C, H, W = x.shape
    compute_dw = compute_dw and weight is not None
    dx = empty_grad_like(x)
    if x.numel() == 0:
        dw = torch.zeros_like(weight) if compute_dw else None
        db = x.new_zeros(C, dtype=torch.float32) if compute_db else None
        return dx, dw, db
    _check_size(x)
    x3, dy3, dx3 = as_bcp(x), as_bcp(dy), as_bcp(dx)  # dx3: a view
    n_pos = H * W
    config = config or default_config(C, n_pos, backward=True)
    n_pblocks = cdiv(n_pos, config.block_p)
    n_tiles = B * n_pblocks
    n_prog = persistent_programs(x.device, n_tiles, config.programs_per_sm)
    tiles_per_prog = cdiv(n_tiles, n_prog)
    n_prog = cdiv(n_tiles, tiles_per_prog)
    partial = x.new_empty((2 if compute_dw and compute_db else 1, n_prog, C),
                          dtype=torch.float32)
    dw_part = partial[0]
    db_part = partial[-1]
    _layer_norm_2d_bwd_kernel[(n_prog, )](
        x3, x3 if weight is None else weight.contiguous(), dy3, dx3, dw_part,
        db_part, n_pos, C, n_pblocks, n_tiles, tiles_per_prog,
        *_strides(x3), *_strides(dy3), *_strides(dx3), float(eps),
        HAS_W=weight is not None, COMPUTE_DW=compute_dw,
        COMPUTE_DB=compute_db, BLOCK_C=next_power_of_2(C),
        BLOCK_P=config.block_p, num_warps=config.num_warps)
    dw = dw_part.sum(0).to(weight.dtype) if compute_dw else None
    db = db_part.sum(0) if compute_db else None
    return dx, dw, db
