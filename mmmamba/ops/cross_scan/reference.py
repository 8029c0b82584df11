# Copyright (c) mmmamba contributors. All rights reserved.
"""Pure-PyTorch cross scan and cross merge (VMamba SS2D, ``cross2d`` order).

Both functions are built from ``flatten``/``transpose``/``flip``/``stack`` and
additions only, so autograd differentiates them by construction; the backward
of :func:`cross_scan_ref` is (up to summation order) :func:`cross_merge_ref`
and vice versa. They are the oracle for every fused cross-scan backend.
"""
import torch
from torch import Tensor

__all__ = ['cross_scan_ref', 'cross_merge_ref']


def cross_scan_ref(x: Tensor) -> Tensor:
    """Unfold a feature map into the four VMamba scan sequences.

    Args:
        x (Tensor): (B, C, H, W), any dtype.

    Returns:
        Tensor: (B, 4, C, H*W), dtype of ``x``. Direction 0 is the row-major
        flatten, 1 the column-major flatten (H and W transposed), 2 and 3 are
        0 and 1 reversed along the sequence.
    """
    if x.dim() != 4:
        raise ValueError('cross_scan expects a (B, C, H, W) tensor, got shape '
                         f'{tuple(x.shape)}')
    rows = x.flatten(2)  # (B, C, L), index h * W + w
    cols = x.transpose(2, 3).flatten(2)  # (B, C, L), index w * H + h
    fwd = torch.stack([rows, cols], dim=1)  # (B, 2, C, L)
    return torch.cat([fwd, fwd.flip(-1)], dim=1)


def cross_merge_ref(y: Tensor, H: int, W: int) -> Tensor:
    """Fold four scan sequences back onto the row-major grid and sum them.

    Args:
        y (Tensor): (B, 4, C, H*W) in the order of :func:`cross_scan_ref`.
        H (int): height of the grid the sequences came from.
        W (int): width of the grid the sequences came from.

    Returns:
        Tensor: (B, C, H*W), row-major, dtype of ``y``. The sum (not the
        mean) of the four directions, as in the official ``cross_merge``:
        ``(y0 + flip(y2)) + transpose_back(y1 + flip(y3))``.
    """
    B, K, C, L = y.shape
    # reverse directions 2 and 3 and add them to 0 and 1
    pair = y[:, 0:2] + y[:, 2:4].flip(-1)  # (B, 2, C, L)
    col = pair[:, 1].reshape(B, C, W, H).transpose(2, 3).reshape(B, C, L)
    return pair[:, 0] + col
