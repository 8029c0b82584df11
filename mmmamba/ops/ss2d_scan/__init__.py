# Copyright (c) mmmamba contributors. All rights reserved.
"""The four-direction selective scan of VMamba's SS2D, fused.

:func:`ss2d_scan` computes what SS2D's core computes after its projections:
cross scan of ``x`` into the K=4 orders (rows, columns, both reversed), one
selective scan per direction with that direction's parameters, and cross
merge (the plain sum of the four outputs on the row-major grid). All
sequence inputs are given in the *row-major* layout, so the per-position
projections that produce ``delta``, ``B`` and ``C`` can run on ``x`` itself
instead of on four reordered copies.

Backends (the names of :func:`mmmamba.ops.selective_scan`):

* ``'triton'`` (:mod:`.triton`): one forward and one backward kernel that
  walk each direction by index arithmetic over the row-major grid and
  accumulate the merged output (and ``dx``) in place; no (B, 4, D, L) copy
  of ``x``, of the output or of their gradients exists.
* every other backend: :func:`ss2d_scan_ref`'s composition, cross scan +
  :func:`~mmmamba.ops.selective_scan` with that backend + cross merge, with
  ``delta``, ``B`` and ``C`` reordered per direction. With ``'reference'``
  this is the oracle.

``'auto'`` resolves as :func:`mmmamba.ops.resolve_backend` does for the
plain scan (Triton on CUDA at d_state <= 4, the reference on CPU).
"""
from typing import Optional

import torch
from torch import Tensor

from .._utils import grad_needed
from ..cross_scan import cross_merge_ref, cross_scan_ref
from ..selective_scan import resolve_backend, selective_scan

__all__ = ['ss2d_scan', 'ss2d_scan_ref', 'scan_positions', 'K']

#: Number of scan directions.
K = 4


def scan_positions(height: int, width: int,
                   device: Optional[torch.device] = None) -> Tensor:
    """Row-major grid position visited at each step of each direction.

    Returns:
        Tensor: (4, H*W) int64; row k, column t is the position
        (``h * W + w``) of scan step t of direction k: 0 row-major, 1
        column-major, 2 and 3 those two reversed.
    """
    L = height * width
    rows = torch.arange(L, device=device)
    t = torch.arange(L, device=device)
    cols = (t % height) * width + t // height
    return torch.stack([rows, cols, rows.flip(0), cols.flip(0)])


def _to_scan_order(t: Tensor, height: int, width: int) -> Tensor:
    """(batch, 4, C, L) row-major -> direction k's sequence in slice k,
    through :func:`cross_scan_ref` (the same reordering SS2D applies)."""
    batch, _, chans, _ = t.shape
    return torch.stack([
        cross_scan_ref(t[:, k].reshape(batch, chans, height, width))[:, k]
        for k in range(K)
    ], dim=1)


def _validate(x: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
              D: Optional[Tensor], delta_bias: Optional[Tensor]) -> None:
    if x.dim() != 4:
        raise ValueError('ss2d_scan: x must be (batch, dim, H, W), got shape '
                         f'{tuple(x.shape)}')
    batch, dim, height, width = x.shape
    L = height * width
    if tuple(delta.shape) != (batch, K, dim, L):
        raise ValueError(f'ss2d_scan: delta must be (batch, 4, dim, H*W) = '
                         f'{(batch, K, dim, L)}, got {tuple(delta.shape)}')
    if A.dim() != 2 or A.shape[0] != K * dim:
        raise ValueError(f'ss2d_scan: A must be (4 * dim, N) with dim={dim}, '
                         f'got {tuple(A.shape)}')
    N = A.shape[1]
    for name, t in (('B', B), ('C', C)):
        if tuple(t.shape) != (batch, K, N, L):
            raise ValueError(f'ss2d_scan: {name} must be (batch, 4, N, H*W) '
                             f'= {(batch, K, N, L)}, got {tuple(t.shape)}')
    for name, t in (('D', D), ('delta_bias', delta_bias)):
        if t is not None and tuple(t.shape) != (K * dim, ):
            raise ValueError(f'ss2d_scan: {name} must be (4 * dim,) = '
                             f'{(K * dim, )}, got {tuple(t.shape)}')


def ss2d_scan_ref(x: Tensor,
                  delta: Tensor,
                  A: Tensor,
                  B: Tensor,
                  C: Tensor,
                  D: Optional[Tensor] = None,
                  delta_bias: Optional[Tensor] = None,
                  delta_softplus: bool = True,
                  *,
                  scan_backend: str = 'reference') -> Tensor:
    """The unfused composition (SS2D's original path): cross scan, one
    selective scan over the (batch, 4 * dim, L) sequences, cross merge.

    Arguments as :func:`ss2d_scan`; ``scan_backend`` is the backend of the
    selective scan ('reference': the oracle of the fused kernels).
    """
    batch, dim, height, width = x.shape
    L = height * width
    xs = cross_scan_ref(x).reshape(batch, K * dim, L)
    ys = selective_scan(
        xs,
        _to_scan_order(delta, height, width).reshape(batch, K * dim, L),
        A,
        _to_scan_order(B, height, width),
        _to_scan_order(C, height, width),
        D=D,
        delta_bias=delta_bias,
        delta_softplus=delta_softplus,
        backend=scan_backend)
    return cross_merge_ref(ys.view(batch, K, dim, L), height, width)


def ss2d_scan(x: Tensor,
              delta: Tensor,
              A: Tensor,
              B: Tensor,
              C: Tensor,
              D: Optional[Tensor] = None,
              delta_bias: Optional[Tensor] = None,
              delta_softplus: bool = True,
              *,
              backend: str = 'auto') -> Tensor:
    """Four-direction selective scan summed over directions (SS2D's core).

    For each direction k (0 rows, 1 columns, 2 and 3 those reversed; see
    :func:`scan_positions`), the selective scan of
    :func:`mmmamba.ops.selective_scan` runs over ``x`` in that order with
    ``delta[:, k]``, ``B[:, k]``, ``C[:, k]`` (read at the same positions)
    and the parameter rows ``k * dim + d`` of ``A``, ``D`` and
    ``delta_bias``; ``out[b, d, p]`` is the sum over k of the four outputs
    at grid position p. Accumulation is in fp32.

    Args:
        x: (batch, dim, H, W), any float dtype; shared by the directions.
        delta: (batch, 4, dim, H*W), row-major positions.
        A: (4 * dim, N), real (``-exp(A_logs)``).
        B, C: (batch, 4, N, H*W), row-major positions.
        D: (4 * dim,), optional skip weight.
        delta_bias: (4 * dim,), optional, added to delta before the softplus.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        backend: ``'auto'`` or a selective-scan backend (module docstring).

    Returns:
        out: (batch, dim, H*W), row-major, dtype of ``x``; differentiable
        with respect to every tensor input.
    """
    _validate(x, delta, A, B, C, D, delta_bias)
    grad = grad_needed(x, delta, A, B, C, D, delta_bias)
    name = resolve_backend(backend, x.device, A.shape[1], grad)
    if name == 'triton':
        from .triton import ss2d_scan_triton
        return ss2d_scan_triton(x, delta, A, B, C, D, delta_bias,
                                delta_softplus)
    return ss2d_scan_ref(x, delta, A, B, C, D, delta_bias, delta_softplus,
                         scan_backend=name)
