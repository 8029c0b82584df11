# Copyright (c) mmmamba contributors. All rights reserved.
"""Triton kernel of Vim's token preparation for inference: the
non-overlapping patch conv as a GEMM whose A operand is gathered from the
image by index arithmetic, with the conv bias, the rounding of autocast's
output, the middle class token's gap and the position embedding in the
epilogue (:func:`patch_tokens_fwd`).

The unfused path (:meth:`VimPatchEmbed.embed_as_gemm` and
``VisionMamba._tokens``) runs a gather-and-cast copy of the image into a
(B, M, C p p) bf16 tensor, the GEMM, and the add of the position embedding
into a (B, M + 1, D) fp32 tensor. Vim-Ti 2048² batch 64 on an H100
(``benchmarks/session_1206f_h100/callE``): 4.95 -> 2.42 ms per call of
``VisionMamba._input_tokens``, 223.7 -> 221.6 ms per batch end to end.
"""
from typing import Optional

import torch
import triton
import triton.language as tl
from torch import Tensor

from .._utils import cdiv
from ..conv_proj.triton_kernels import _INTERPRET, _dot, _round_to

__all__ = ['patch_tokens_fwd', 'PATCH_TOKENS_CONFIG']

#: (BLOCK_M patches, BLOCK_N channels, BLOCK_K pixels, warps, stages):
#: the fastest or within 0.4% of it of eight at Vim-Ti's 2048² and 1248²,
#: batch 64 and 8 (H100, ``benchmarks/session_1206f_h100/callE``).
PATCH_TOKENS_CONFIG = (128, 64, 64, 4, 3)


@triton.jit
def _patch_tokens_kernel(
    x_ptr, w_ptr, bias_ptr, pos_ptr, out_ptr,
    n_patches, grid_w, cls_index, dim,
    sx_b, sx_c, sx_h, sx_w, so_b, so_t, sp_t,
    C: tl.constexpr, P: tl.constexpr, HAS_CLS: tl.constexpr,
    HAS_BIAS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr, STAGES: tl.constexpr,
):
    """Tokens ``out[b, t(m), n]`` of ``BLOCK_M`` patches ``m`` and
    ``BLOCK_N`` channels ``n`` of image ``b``: the patch's C * P * P pixels
    (in the conv weight's (C, P, P) order) cast to the weight's dtype, times
    the weight (dim, C * P * P), plus the bias, rounded to the weight's
    dtype, plus the fp32 position embedding of token ``t(m)`` (``m``, or
    ``m + 1`` from the class token's index on)."""
    pid_n = tl.program_id(0)  # fastest: an m tile's programs share x in L2
    pid_m = tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    mask_m = offs_m < n_patches
    hp = offs_m // grid_w
    wp = offs_m % grid_w
    row_x = b * sx_b + (hp * P).to(tl.int64) * sx_h + wp * (P * sx_w)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_n = offs_n < dim
    K: tl.constexpr = C * P * P
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in tl.range(0, K, BLOCK_K, num_stages=STAGES):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        mask_k = offs_k < K
        ch = offs_k // (P * P)
        py = (offs_k // P) % P
        px = offs_k % P
        col_x = ch * sx_c + py * sx_h + px * sx_w  # (K,)
        a = tl.load(x_ptr + row_x[:, None] + col_x[None, :],
                    mask=mask_m[:, None] & mask_k[None, :], other=0.0)
        w = tl.load(w_ptr + offs_n[None, :] * K + offs_k[:, None],
                    mask=mask_n[None, :] & mask_k[:, None], other=0.0)
        if _INTERPRET:  # its fp32 -> bf16 cast truncates
            a = _round_to(a, w_ptr.dtype.element_ty)
        acc += _dot(a.to(w_ptr.dtype.element_ty), w, False)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + offs_n, mask=mask_n,
                       other=0.0).to(tl.float32)[None, :]
    y = _round_to(acc, w_ptr.dtype.element_ty)
    tok = offs_m
    if HAS_CLS:
        tok = offs_m + (offs_m >= cls_index).to(tl.int32)
    mask = mask_m[:, None] & mask_n[None, :]
    pos = tl.load(pos_ptr + tok[:, None] * sp_t + offs_n[None, :],
                  mask=mask, other=0.0)
    tl.store(out_ptr + b * so_b + tok[:, None].to(tl.int64) * so_t
             + offs_n[None, :], y + pos, mask=mask)


def patch_tokens_fwd(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                     pos_embed: Tensor, cls_token: Optional[Tensor],
                     patch_size: int) -> Tensor:
    """Vim's input tokens from an image batch in one kernel (plus one tiny
    add for the class token).

    Args:
        x (Tensor): (B, C, Hp * p, Wp * p) images, any float dtype and
            strides, p = ``patch_size``.
        weight (Tensor): the patch conv's weight (D, C, p, p) in the
            compute dtype (bf16 or fp16: autocast's), contiguous.
        bias (Tensor | None): (D,) conv bias (in any float dtype; cast to the
            weight's as autocast's GEMM does).
        pos_embed (Tensor): (1, T, D) fp32 position embedding, T = Hp * Wp
            + 1 with a class token (its position at ``Hp * Wp // 2``), else
            Hp * Wp; channel stride 1.
        cls_token (Tensor | None): (1, 1, D) fp32 class token.
        patch_size (int): p, the conv's kernel and stride.

    Returns:
        Tensor: (B, T, D) fp32, ``cat(patches[:c], cls, patches[c:]) + pos``
        with patches = the conv's output rounded to the weight's dtype.
    """
    if weight.dtype not in (torch.bfloat16, torch.float16):
        raise ValueError('patch_tokens_fwd runs the GEMM in 16 bits: the '
                         'weight must be bf16 or fp16 (autocast\'s dtype), '
                         f'got {weight.dtype}')
    b, c, h, w = x.shape
    p = patch_size
    dim = weight.shape[0]
    if weight.shape != (dim, c, p, p) or not weight.is_contiguous():
        raise ValueError(f'weight must be a contiguous ({dim}, {c}, {p}, '
                         f'{p}) conv weight, got {tuple(weight.shape)}')
    if h % p or w % p:
        raise ValueError(f'image size {h}x{w} is not a multiple of the '
                         f'patch size {p}')
    grid_h, grid_w = h // p, w // p
    n_patches = grid_h * grid_w
    n_tok = n_patches + int(cls_token is not None)
    if (pos_embed.shape != (1, n_tok, dim) or pos_embed.stride(2) != 1
            or pos_embed.dtype != torch.float32):
        raise ValueError(f'pos_embed must be fp32 (1, {n_tok}, {dim}) with '
                         f'channel stride 1, got {pos_embed.dtype} '
                         f'{tuple(pos_embed.shape)}')
    out = torch.empty((b, n_tok, dim), device=x.device, dtype=torch.float32)
    cls_index = n_patches // 2
    if bias is not None:
        bias = bias.to(weight.dtype).contiguous()
    bm, bn, bk, warps, stages = PATCH_TOKENS_CONFIG
    grid = (cdiv(dim, bn), cdiv(n_patches, bm), b)
    _patch_tokens_kernel[grid](
        x, weight, bias if bias is not None else weight, pos_embed, out,
        n_patches, grid_w, cls_index, dim, *x.stride(), out.stride(0),
        out.stride(1), pos_embed.stride(1), C=c, P=p,
        HAS_CLS=cls_token is not None, HAS_BIAS=bias is not None,
        BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, STAGES=stages,
        num_warps=warps)
    if cls_token is not None:
        torch.add(cls_token.expand(b, -1, -1),
                  pos_embed[:, cls_index:cls_index + 1],
                  out=out[:, cls_index:cls_index + 1])
    return out
