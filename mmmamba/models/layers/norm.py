# Copyright (c) mmmamba contributors. All rights reserved.
"""RMSNorm and the add + RMSNorm with an fp32 residual stream used by Vim.

Semantics follow the fused ``rms_norm_fn(..., prenorm=True,
residual_in_fp32=True)`` of the official Vim code (hustvl/Vim commit
dd0358a, see ``docs/official-models.md`` A.3), written here from that spec in
plain PyTorch:

- ``RMSNorm``: ``y = x * rsqrt(mean(x ** 2, -1) + eps) * weight``, computed in
  fp32, returned in the input dtype; a weight only, no bias.
- ``AddRMSNorm``: ``residual = residual + x`` (or ``x`` for the first block),
  kept in fp32, then ``y = RMSNorm(residual)`` in the dtype of ``x``.

The math lives in :mod:`mmmamba.ops.rms_norm`: ``backend='auto'`` (the
default) runs the plain-PyTorch reference on CPU (these ops, unchanged) and
one fused Triton kernel forward and one backward on CUDA.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmmamba.ops.rms_norm import (add_rms_norm, check_norm_backend,
                                  linear_add_rms_norm)
from mmmamba.ops.rms_norm import rms_norm as _rms_norm_op
from mmmamba.registry import MODELS


def rms_norm(x: Tensor,
             weight: Tensor,
             eps: float = 1e-5,
             *,
             backend: str = 'auto') -> Tensor:
    """Root-mean-square normalisation over the last dimension.

    Args:
        x (Tensor): (..., C), any float dtype.
        weight (Tensor): (C,).
        eps (float): Added to the mean square. Defaults to 1e-5.
        backend (str): ``'auto'``, ``'reference'`` or ``'triton'``
            (:mod:`mmmamba.ops.rms_norm`). Defaults to ``'auto'``.

    Returns:
        Tensor: (..., C), computed in fp32, returned in the dtype of ``x``.
    """
    return _rms_norm_op(x, weight, eps, backend=backend)


@MODELS.register_module()
class RMSNorm(nn.Module):
    """RMSNorm with a learnable scale and no bias.

    Args:
        num_features (int): Size C of the last dimension.
        eps (float): Added to the mean square. Defaults to 1e-5.
        backend (str): ``'auto'``, ``'reference'`` or ``'triton'``
            (:mod:`mmmamba.ops.rms_norm`); not part of the state dict.
            Defaults to ``'auto'``.
    """

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 backend: str = 'auto') -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.backend = check_norm_backend(backend)
        self.weight = nn.Parameter(torch.ones(num_features))

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` (..., C); returns the same shape and dtype."""
        return rms_norm(x, self.weight, self.eps, backend=self.backend)

    def _backend_repr(self) -> str:
        return '' if self.backend == 'auto' else \
            f', backend={self.backend!r}'

    def extra_repr(self) -> str:
        return f'{self.num_features}, eps={self.eps}' + self._backend_repr()


@MODELS.register_module()
class AddRMSNorm(RMSNorm):
    """Residual add followed by RMSNorm (Vim's pre-norm with deferred add).

    ``forward(x, residual)`` returns ``(RMSNorm(residual + x), residual + x)``
    where the sum is computed and returned in fp32 when ``residual_in_fp32``
    (the released Vim setting) and the normalised output has the dtype of
    ``x``. With ``residual=None`` (first block) the new residual is ``x``
    itself. The state dict holds only ``weight``, as the official RMSNorm.

    Args:
        num_features (int): Size C of the last dimension.
        eps (float): Added to the mean square. Defaults to 1e-5.
        residual_in_fp32 (bool): Keep the residual stream in fp32.
            Defaults to True.
        backend (str): ``'auto'``, ``'reference'`` or ``'triton'``
            (:func:`mmmamba.ops.rms_norm.add_rms_norm`); not part of the
            state dict. Defaults to ``'auto'``.
    """

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 residual_in_fp32: bool = True,
                 backend: str = 'auto') -> None:
        super().__init__(num_features, eps, backend)
        self.residual_in_fp32 = residual_in_fp32

    def forward(  # type: ignore[override]
            self,
            x: Tensor,
            residual: Optional[Tensor] = None,
            out_dtype: Optional[torch.dtype] = None
    ) -> Tuple[Tensor, Tensor]:
        """Add and normalise.

        Args:
            x (Tensor): (B, L, C), the incoming hidden states.
            residual (Tensor, optional): (B, L, C), the residual stream.
            out_dtype (torch.dtype, optional): dtype of the normalised sum
                (default: that of ``x``; see
                :func:`~mmmamba.ops.add_rms_norm`).

        Returns:
            tuple[Tensor, Tensor]: the normalised sum (B, L, C) in
            ``out_dtype`` or the dtype of ``x``, and the new residual stream
            (B, L, C), fp32 if ``residual_in_fp32``.
        """
        return add_rms_norm(
            x,
            residual,
            self.weight,
            self.eps,
            self.residual_in_fp32,
            backend=self.backend,
            out_dtype=out_dtype)

    def add_projected(self, linear, y: Tensor,
                      residual: Tensor) -> Tuple[Tensor, Tensor]:
        """:meth:`forward` of ``x = linear(y)`` with the linear layer in
        the same kernel (:func:`~mmmamba.ops.rms_norm.linear_add_rms_norm`
        on this module's backend): ``x`` never goes to memory. Vim's
        ``out_proj`` and the next add + RMSNorm, at inference.

        Args:
            linear: anything with ``weight`` (C, K) and ``bias`` (C,) or
                None (``nn.Linear``, Vim's cached ``out_proj``).
            y (Tensor): (B, L, K), the linear layer's input.
            residual (Tensor): (B, L, C), the residual stream.

        Returns:
            tuple[Tensor, Tensor]: as :meth:`forward`, up to the linear
            layer's summation order.

        Raises:
            ValueError: without ``residual_in_fp32`` (the op keeps the
                stream in fp32).
        """
        if not self.residual_in_fp32:
            raise ValueError('AddRMSNorm.add_projected keeps the residual '
                             'stream in fp32: it needs '
                             'residual_in_fp32=True')
        return linear_add_rms_norm(y, linear.weight, linear.bias, residual,
                                   self.weight, self.eps,
                                   backend=self.backend)

    def extra_repr(self) -> str:
        return (f'{self.num_features}, eps={self.eps}, '
                f'residual_in_fp32={self.residual_in_fp32}' +
                self._backend_repr())
