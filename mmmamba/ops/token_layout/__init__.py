# Copyright (c) mmmamba contributors. All rights reserved.
"""Vim's patch tokens (B, T, D) as a feature map (B, D, Hp, Wp), dropping
the middle class token's row::

    patches = cat(feat[:, :c], feat[:, c + 1:])   # without the class token
    featmap = patches.reshape(B, Hp, Wp, D).permute(0, 3, 1, 2)

made contiguous: a transpose of every image's (M, D) tokens.

Backends:

* ``'reference'`` (:func:`tokens_to_featmap_ref`): that composition in
  PyTorch (a ``cat`` copy with a class token, and the permuted copy). The
  oracle, differentiable.
* ``'triton'`` (:mod:`.triton_kernels`): one tiled transpose kernel that
  reads the tokens around the class token's row and writes the map once.
  Forward only: ``VisionMamba`` runs it for inference on CUDA
  (``vision_mamba.FUSED_TOKENS``).

``backend='auto'`` picks ``'triton'`` for CUDA tensors (or CPU tensors under
``TRITON_INTERPRET=1``) with channel stride 1 when triton imports and no
gradient is needed, ``'reference'`` otherwise.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .._utils import is_triton_available, triton_interpret

__all__ = ['tokens_to_featmap', 'tokens_to_featmap_ref']

_BACKENDS = ('auto', 'reference', 'triton')


def _check(feat: Tensor, grid: Tuple[int, int],
           cls_index: Optional[int]) -> None:
    n_tok = grid[0] * grid[1] + int(cls_index is not None)
    if feat.dim() != 3 or feat.shape[1] != n_tok:
        cls = '' if cls_index is None else ' and a class token'
        raise ValueError(f'tokens_to_featmap: feat must be (B, {n_tok}, D) '
                         f'for grid {tuple(grid)}{cls}, got '
                         f'{tuple(feat.shape)}')


def tokens_to_featmap_ref(feat: Tensor, grid: Tuple[int, int],
                          cls_index: Optional[int] = None) -> Tensor:
    """The PyTorch composition (module docstring); arguments as
    :func:`tokens_to_featmap`."""
    _check(feat, grid, cls_index)
    if cls_index is not None:
        feat = torch.cat([feat[:, :cls_index], feat[:, cls_index + 1:]],
                         dim=1)
    return feat.reshape(feat.shape[0], grid[0], grid[1],
                        -1).permute(0, 3, 1, 2).contiguous()


def tokens_to_featmap(feat: Tensor, grid: Tuple[int, int],
                      cls_index: Optional[int] = None,
                      backend: str = 'auto') -> Tensor:
    """Tokens (B, T, D) to a contiguous map (B, D, Hp, Wp).

    Args:
        feat (Tensor): (B, T, D) with T = Hp * Wp, or Hp * Wp + 1 with the
            class token at ``cls_index``; channel stride 1 for the Triton
            backend (any batch and token strides).
        grid (tuple[int, int]): (Hp, Wp), tokens in row-major order.
        cls_index (int, optional): the class token's row, dropped.
        backend (str): 'auto', 'reference' or 'triton'.

    Returns:
        Tensor: (B, D, Hp, Wp) contiguous, ``feat``'s dtype.
    """
    if backend not in _BACKENDS:
        raise ValueError(f'tokens_to_featmap: unknown backend {backend!r}; '
                         f'choose one of {_BACKENDS}')
    runs = ((feat.device.type == 'cuda' or triton_interpret())
            and is_triton_available())
    if backend == 'auto':
        backend = 'triton' if runs and feat.stride(-1) == 1 and not (
            torch.is_grad_enabled() and feat.requires_grad) else 'reference'
    if backend == 'reference':
        return tokens_to_featmap_ref(feat, grid, cls_index)
    if not runs:
        raise ValueError("tokens_to_featmap: backend 'triton' needs triton "
                         'and a CUDA tensor (or TRITON_INTERPRET=1 on CPU); '
                         f"got a {feat.device.type} tensor; use 'reference'")
    _check(feat, grid, cls_index)
    from .triton_kernels import tokens_to_featmap_fwd
    return tokens_to_featmap_fwd(feat, grid, cls_index)
