# Copyright (c) mmmamba contributors. All rights reserved.
"""Patch embedding and position-embedding resizing for plain (Vim) backbones.

Vim keeps its class token in the *middle* of the sequence: for ``M`` patch
tokens the class token sits at index ``M // 2`` (``docs/official-models.md``
A.3). The helpers below therefore split and re-insert the class position at
the middle, not at index 0 as ViT/DeiT code does. The official fine-tune
resize (A.6), which treats index 0 as the class position, is available
separately as :func:`resize_pos_embed_vim_finetune` for reproducing the
released stride-8 (†) fine-tunes only.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmmamba.registry import MODELS


def to_2tuple(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """Return ``(value, value)`` for an int, or the validated pair."""
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f'{name} must be an int or a pair of ints, '
                         f'got {value!r}')
    return value  # type: ignore[return-value]


@MODELS.register_module()
class VimPatchEmbed(nn.Module):
    """Image to patch tokens with a single (possibly overlapping) conv.

    ``Conv2d(in_channels, embed_dims, kernel_size=patch_size, stride=stride)``
    followed by flattening, no norm: the official Vim ``PatchEmbed``. With
    ``stride < patch_size`` patches overlap (Vim's stride-8 † models).

    The image must be covered exactly by the patch grid:
    ``(H - patch_size) % stride == 0`` and the same for W, so that no pixel
    is silently dropped. Pad the input (e.g. ``pad_size_divisor`` of the data
    preprocessor) otherwise.

    Args:
        in_channels (int): Input channels. Defaults to 3.
        embed_dims (int): Output channels D. Defaults to 192.
        patch_size (int): Conv kernel size. Defaults to 16.
        stride (int): Conv stride. Defaults to 16.
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dims: int = 192,
                 patch_size: int = 16,
                 stride: int = 16) -> None:
        super().__init__()
        if patch_size <= 0 or stride <= 0:
            raise ValueError('patch_size and stride must be positive, got '
                             f'{patch_size} and {stride}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.stride = stride
        self.projection = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size, stride=stride)

    def grid_shape(self, img_shape: Tuple[int, int]) -> Tuple[int, int]:
        """Patch grid (Hp, Wp) of an (H, W) image; raises if not covered."""
        out = []
        for side, size in zip(('height', 'width'), img_shape):
            if size < self.patch_size:
                raise ValueError(
                    f'Input {side} {size} is smaller than one patch '
                    f'(patch_size={self.patch_size}); resize or pad the '
                    'image to at least one patch.')
            if (size - self.patch_size) % self.stride != 0:
                raise ValueError(
                    f'Input {side} {size} is not covered by the patch grid: '
                    f'(size - patch_size) % stride must be 0 for '
                    f'patch_size={self.patch_size}, stride={self.stride}. '
                    'Pad the input (e.g. pad_size_divisor in the data '
                    'preprocessor) or resize it.')
            out.append((size - self.patch_size) // self.stride + 1)
        return out[0], out[1]

    def check_input(self, x: Tensor) -> Tuple[int, int]:
        """The patch grid (Hp, Wp) of an image batch (B, C, H, W); raises
        on another rank, channel count or an uncovered size."""
        if x.dim() != 4:
            raise ValueError('Expected an image batch (B, C, H, W), got a '
                             f'tensor of shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'Expected {self.in_channels} input channels, got '
                f'{x.shape[1]} (input shape {tuple(x.shape)}); set '
                '`in_channels` of the backbone to match the data.')
        return self.grid_shape((x.shape[2], x.shape[3]))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Embed an image batch.

        Args:
            x (Tensor): (B, C, H, W).

        Returns:
            tuple: tokens (B, Hp * Wp, D) in row-major grid order and the
            grid shape (Hp, Wp).
        """
        grid = self.check_input(x)
        if self.uses_gemm(x):
            return self.embed_as_gemm(x), grid
        x = self.projection(x)
        return x.flatten(2).transpose(1, 2), grid

    def uses_gemm(self, x: Tensor) -> bool:
        """Whether :meth:`forward` runs :meth:`embed_as_gemm`: for
        non-overlapping patches on CUDA, where cuDNN runs this conv (3 input
        channels, 16x16 kernel) with a slow implicit GEMM (an H200 profile
        in ``benchmarks/NOTES.md``). Not under ``torch.jit`` tracing, which
        FLOP counting uses: it records the conv."""
        return (self.stride == self.patch_size and x.device.type == 'cuda'
                and not torch.jit.is_tracing())

    def embed_as_gemm(self, x: Tensor) -> Tensor:
        """The non-overlapping patch conv as one GEMM.

        Every patch's C * p * p pixels are gathered in the conv weight's
        (C, p, p) order by one copy, cast on the way to autocast's dtype
        (what the conv's input cast gives), and multiplied by the flattened
        weight: the conv's products, summed in another order.

        Args:
            x (Tensor): (B, C, Hp * p, Wp * p), p = ``patch_size`` =
                ``stride``.

        Returns:
            Tensor: tokens (B, Hp * Wp, D).
        """
        if self.stride != self.patch_size:
            raise ValueError('embed_as_gemm needs non-overlapping patches '
                             f'(stride {self.stride} == patch_size '
                             f'{self.patch_size}); use forward()')
        b, c, h, w = x.shape
        p = self.patch_size
        hp, wp = h // p, w // p
        dtype = x.dtype
        if torch.is_autocast_enabled(x.device.type):
            dtype = torch.get_autocast_dtype(x.device.type)
        patches = x.reshape(b, c, hp, p, wp, p).permute(0, 2, 4, 1, 3, 5)
        patches = patches.to(dtype, memory_format=torch.contiguous_format)
        weight = self.projection.weight.reshape(self.embed_dims, c * p * p)
        return F.linear(patches.reshape(b, hp * wp, c * p * p), weight,
                        self.projection.bias)


def split_cls_pos_embed(pos_embed: Tensor,
                        num_patches: int) -> Tuple[Optional[Tensor], Tensor]:
    """Split a Vim position embedding into the class and grid parts.

    Args:
        pos_embed (Tensor): (1, num_patches + 1, D) with the class position at
            index ``num_patches // 2``, or (1, num_patches, D) without one.
        num_patches (int): Number of grid positions M.

    Returns:
        tuple: the class position (1, 1, D) or None, and the grid positions
        (1, M, D) in row-major order.
    """
    n = pos_embed.shape[1]
    if n == num_patches:
        return None, pos_embed
    if n != num_patches + 1:
        raise ValueError(f'pos_embed has {n} tokens, expected {num_patches} '
                         f'or {num_patches + 1} for {num_patches} patches')
    c = num_patches // 2
    return pos_embed[:, c:c + 1], torch.cat(
        [pos_embed[:, :c], pos_embed[:, c + 1:]], dim=1)


def merge_cls_pos_embed(cls_pos: Optional[Tensor], grid_pos: Tensor) -> Tensor:
    """Insert the class position (1, 1, D) at the middle of (1, M, D)."""
    if cls_pos is None:
        return grid_pos
    c = grid_pos.shape[1] // 2
    return torch.cat([grid_pos[:, :c], cls_pos, grid_pos[:, c:]], dim=1)


def resize_grid_pos_embed(grid_pos: Tensor,
                          src_shape: Tuple[int, int],
                          dst_shape: Tuple[int, int],
                          mode: str = 'bicubic') -> Tensor:
    """Resize grid position embeddings (1, Hs * Ws, D) to (1, Hd * Wd, D).

    Interpolation runs in fp32 with ``align_corners=False`` (as the official
    fine-tune code) and the result has the input dtype. Same-shape input is
    returned unchanged.
    """
    src_shape, dst_shape = tuple(src_shape), tuple(dst_shape)
    if grid_pos.shape[1] != src_shape[0] * src_shape[1]:
        raise ValueError(f'grid_pos has {grid_pos.shape[1]} tokens, which '
                         f'is not the source grid {src_shape}')
    if src_shape == dst_shape:
        return grid_pos
    dim = grid_pos.shape[2]
    x = grid_pos.float().reshape(1, src_shape[0], src_shape[1], dim)
    x = x.permute(0, 3, 1, 2)
    align = False if mode in ('bilinear', 'bicubic', 'linear') else None
    x = F.interpolate(x, size=dst_shape, mode=mode, align_corners=align)
    return x.flatten(2).transpose(1, 2).to(grid_pos.dtype)


def resize_pos_embed(pos_embed: Tensor,
                     src_shape: Tuple[int, int],
                     dst_shape: Tuple[int, int],
                     mode: str = 'bicubic',
                     with_cls_token: bool = True) -> Tensor:
    """Resize a Vim position embedding, keeping the class position intact.

    The class position is taken from the middle of the source
    (``Ms // 2``), the grid part is resized, and the class position is put
    back, unchanged, at the middle of the destination (``Md // 2``), where
    the backbone inserts its class token.

    Args:
        pos_embed (Tensor): (1, Ms + 1, D) if ``with_cls_token`` else
            (1, Ms, D), with Ms = Hs * Ws.
        src_shape (tuple[int, int]): Source grid (Hs, Ws).
        dst_shape (tuple[int, int]): Destination grid (Hd, Wd).
        mode (str): Interpolation mode. Defaults to 'bicubic'.
        with_cls_token (bool): Whether ``pos_embed`` holds a class position.
            Defaults to True.

    Returns:
        Tensor: (1, Md + 1, D) or (1, Md, D).
    """
    num_src = src_shape[0] * src_shape[1]
    expected = num_src + int(with_cls_token)
    if pos_embed.shape[1] != expected:
        raise ValueError(f'pos_embed has {pos_embed.shape[1]} tokens, '
                         f'expected {expected} for a {tuple(src_shape)} grid '
                         f'(with_cls_token={with_cls_token})')
    cls_pos, grid_pos = split_cls_pos_embed(pos_embed, num_src)
    grid_pos = resize_grid_pos_embed(grid_pos, src_shape, dst_shape, mode)
    return merge_cls_pos_embed(cls_pos, grid_pos)


def resize_pos_embed_vim_finetune(pos_embed: Tensor,
                                  src_shape: Tuple[int, int],
                                  dst_shape: Tuple[int, int],
                                  mode: str = 'bicubic') -> Tensor:
    """The official Vim fine-tune resize, quirk included (A.6).

    The official ``--finetune`` code treats ``pos_embed[:, :1]`` as the class
    position and the remaining ``Ms`` entries as the grid. With Vim's
    middle class token this is wrong: index 0 is really patch (0, 0), and
    the true class position (index ``Ms // 2``) is folded into the grid.
    The released stride-8 (†) checkpoints were fine-tuned from weights
    resized this way. Use this only to reproduce that fine-tune; otherwise
    use :func:`resize_pos_embed`.

    Args:
        pos_embed (Tensor): (1, Ms + 1, D), Ms = Hs * Ws.
        src_shape (tuple[int, int]): Source grid (Hs, Ws).
        dst_shape (tuple[int, int]): Destination grid (Hd, Wd).
        mode (str): Interpolation mode. Defaults to 'bicubic'.

    Returns:
        Tensor: (1, Md + 1, D): ``pos_embed[:, :1]`` followed by the resized
        ``pos_embed[:, 1:]``.
    """
    num_src = src_shape[0] * src_shape[1]
    if pos_embed.shape[1] != num_src + 1:
        raise ValueError(f'pos_embed has {pos_embed.shape[1]} tokens, '
                         f'expected {num_src + 1} for a {tuple(src_shape)} '
                         'grid plus the class position')
    grid_pos = resize_grid_pos_embed(pos_embed[:, 1:], src_shape, dst_shape,
                                     mode)
    return torch.cat([pos_embed[:, :1], grid_pos], dim=1)


def infer_square_grid(num_tokens: int, name: str = 'pos_embed') -> \
        Tuple[int, int]:
    """Side of a square grid of ``num_tokens`` tokens; raises otherwise."""
    side = math.isqrt(num_tokens)
    if side * side != num_tokens:
        raise ValueError(
            f'Cannot infer the grid of a checkpoint {name} with '
            f'{num_tokens} grid tokens: it is not a square. Resize it '
            'explicitly with mmmamba.models.layers.resize_pos_embed.')
    return side, side
