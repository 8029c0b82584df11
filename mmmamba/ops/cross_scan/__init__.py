# Copyright (c) mmmamba contributors. All rights reserved.
"""Cross scan / cross merge: the four-direction unfold and fold of VMamba's
SS2D, with one signature for every backend.

Backends:

* ``'reference'`` (:mod:`.reference`): flip/transpose in PyTorch, any device,
  autograd by construction. The oracle.

A fused GPU path (e.g. a Triton kernel pair in ``triton.py``) plugs in by
adding an entry to :data:`_BACKENDS` with a probe and a pair of functions of
the same signature; ``'auto'`` then picks it for CUDA tensors through
:data:`AUTO_ORDER`. Until one exists, ``'auto'`` always resolves to
``'reference'``.
"""
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from .reference import cross_merge_ref, cross_scan_ref

__all__ = [
    'cross_scan', 'cross_merge', 'cross_scan_ref', 'cross_merge_ref',
    'check_cross_scan_backend', 'available_cross_scan_backends'
]


class _Backend(NamedTuple):
    scan: Callable[[Tensor], Tensor]
    merge: Callable[[Tensor, int, int], Tensor]
    is_available: Callable[[], bool]
    devices: Tuple[str, ...]  # device types it runs on


_BACKENDS: Dict[str, _Backend] = {
    'reference':
    _Backend(cross_scan_ref, cross_merge_ref, lambda: True, ('cpu', 'cuda')),
}
# The order 'auto' tries for CUDA tensors (first available wins).
AUTO_ORDER: Tuple[str, ...] = ('reference', )


def available_cross_scan_backends() -> Tuple[str, ...]:
    """Names of the cross-scan backends that can run on this machine."""
    return tuple(n for n, b in _BACKENDS.items() if b.is_available())


def check_cross_scan_backend(name: str) -> str:
    """Validate a cross-scan backend name; return it.

    Raises:
        ValueError: ``name`` is not ``'auto'`` or a known backend.
        RuntimeError: the backend is known but cannot run here.
    """
    if not isinstance(name, str) or (name != 'auto' and name not in _BACKENDS):
        raise ValueError(f'unknown cross-scan backend {name!r}; expected '
                         f"'auto' or one of {tuple(_BACKENDS)}")
    if name != 'auto' and not _BACKENDS[name].is_available():
        raise RuntimeError(f'cross-scan backend {name!r} is not available on '
                           "this machine; use 'reference' or 'auto'")
    return name


def _resolve(name: str, device: torch.device) -> _Backend:
    check_cross_scan_backend(name)
    if name == 'auto':
        if device.type != 'cuda':
            return _BACKENDS['reference']
        name = next(n for n in AUTO_ORDER if _BACKENDS[n].is_available())
    backend = _BACKENDS[name]
    if device.type not in backend.devices:
        raise RuntimeError(f'cross-scan backend {name!r} does not run on '
                           f"{device.type} tensors; use 'reference' or "
                           "'auto'")
    return backend


def cross_scan(x: Tensor, *, backend: str = 'auto') -> Tensor:
    """Unfold a feature map into the four VMamba scan directions.

    Args:
        x (Tensor): (B, C, H, W).
        backend (str): ``'auto'`` or one of
            :func:`available_cross_scan_backends`. Defaults to ``'auto'``.

    Returns:
        Tensor: (B, 4, C, H*W): row-major, column-major, and both reversed.
        Differentiable with respect to ``x``.
    """
    if not isinstance(x, Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f'cross_scan expects a (B, C, H, W) tensor, got '
                         f'{shape}')
    return _resolve(backend, x.device).scan(x)


def cross_merge(y: Tensor,
                H: Optional[int] = None,
                W: Optional[int] = None,
                *,
                backend: str = 'auto') -> Tensor:
    """Fold the four scan directions back to row-major order and sum them.

    Args:
        y (Tensor): (B, 4, C, H, W), or (B, 4, C, H*W) together with ``H``
            and ``W``.
        H (int, optional): grid height; required for 4-D ``y``.
        W (int, optional): grid width; required for 4-D ``y``.
        backend (str): ``'auto'`` or one of
            :func:`available_cross_scan_backends`. Defaults to ``'auto'``.

    Returns:
        Tensor: (B, C, H*W), the sum of the four directions. Differentiable
        with respect to ``y``.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f'cross_merge expects a tensor, got '
                        f'{type(y).__name__}')
    if y.dim() == 5:
        if (H is not None and H != y.shape[3]) or (W is not None
                                                   and W != y.shape[4]):
            raise ValueError(f'cross_merge: H={H}, W={W} disagree with y of '
                             f'shape {tuple(y.shape)}')
        H, W = y.shape[3], y.shape[4]
        y = y.flatten(3)
    elif y.dim() == 4:
        if H is None or W is None:
            raise ValueError('cross_merge: a (B, 4, C, L) input needs H and W')
        if H * W != y.shape[3]:
            raise ValueError(f'cross_merge: H*W = {H}*{W} != L = '
                             f'{y.shape[3]}')
    else:
        raise ValueError('cross_merge expects (B, 4, C, H, W) or '
                         f'(B, 4, C, L), got shape {tuple(y.shape)}')
    if y.shape[1] != 4:
        raise ValueError('cross_merge expects 4 directions in dim 1, got '
                         f'shape {tuple(y.shape)}')
    return _resolve(backend, y.device).merge(y, int(H), int(W))
