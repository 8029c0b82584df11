# Copyright (c) mmmamba contributors. All rights reserved.
"""Residual add + RMSNorm (Vim's pre-norm with an fp32 residual stream),
with one signature and several backends.

Backends (one file each):

* ``'reference'`` (:mod:`.reference`): plain PyTorch, the math
  :class:`mmmamba.models.layers.AddRMSNorm` always had (``x.float()``,
  add, ``pow``, ``mean``, ``rsqrt``, two muls, cast: about 7 kernels
  forward and 12 backward on a GPU). The oracle.
* ``'triton'`` (:mod:`.triton`): one forward kernel and one backward kernel
  (plus a ``sum(0)`` over per-program partials for the weight gradient),
  each reading and writing every element once (:mod:`.triton_kernels`).

``backend='auto'`` resolves per call: ``'reference'`` on CPU; on CUDA
``'triton'`` when triton imports, the tensors are fp16/bf16/fp32 and
``C <= MAX_COLS``, else ``'reference'``. The environment variable
``MMMAMBA_NORM_BACKEND`` replaces ``'auto'`` everywhere (as
``MMMAMBA_SCAN_BACKEND`` does for the scan; under ``torch.compile`` it is
read at trace time, so call ``torch._dynamo.reset()`` after changing it).

Under ``torch.compile`` the Triton backend runs as the custom ops
``mmmamba::add_rms_norm_triton_{fwd,bwd}`` (no graph break); the reference
is ordinary PyTorch ops, which Dynamo traces (and Inductor fuses) as usual.
"""
import os
from typing import Optional, Tuple

import torch
from torch import Tensor

from .._utils import is_triton_available, triton_interpret
from .reference import add_rms_norm_ref, residual_dtype, rms_norm_ref

__all__ = [
    'add_rms_norm', 'rms_norm', 'add_rms_norm_ref', 'rms_norm_ref',
    'residual_dtype', 'check_norm_backend', 'resolve_norm_backend',
    'available_norm_backends', 'NORM_BACKENDS', 'MAX_COLS',
    'TRITON_DTYPES'
]

NORM_BACKENDS = ('reference', 'triton')
ENV_VAR = 'MMMAMBA_NORM_BACKEND'
#: Largest C the Triton kernels take (a whole row is one register tile).
MAX_COLS = 8192
#: dtypes of ``x`` and ``residual`` the Triton kernels take.
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TRITON_HINT = ('the triton backend needs the `triton` package: pip install '
                '"mmmamba[triton]" (it comes with CUDA builds of torch)')


def _is_available(name: str) -> bool:
    return name == 'reference' or (name == 'triton' and is_triton_available())


def available_norm_backends() -> Tuple[str, ...]:
    """Names of the add + RMSNorm backends that import on this machine."""
    return tuple(name for name in NORM_BACKENDS if _is_available(name))


def check_norm_backend(name: str) -> str:
    """Validate a backend name and that it can run here; return it.

    Raises:
        ValueError: ``name`` is not ``'auto'`` or one of
            :data:`NORM_BACKENDS`.
        RuntimeError: the backend's dependency is not installed.
    """
    if not isinstance(name, str) or name not in ('auto', ) + NORM_BACKENDS:
        raise ValueError(f'unknown rms-norm backend {name!r}; expected '
                         f"'auto' or one of {NORM_BACKENDS}")
    if name != 'auto' and not _is_available(name):
        raise RuntimeError(f'rms-norm backend {name!r} is not available: '
                           f'{_TRITON_HINT}')
    return name


def _triton_takes(x: Tensor, residual: Optional[Tensor],
                  out_dtype: Optional[torch.dtype]) -> bool:
    return (x.dtype in TRITON_DTYPES and x.shape[-1] <= MAX_COLS
            and (residual is None or residual.dtype in TRITON_DTYPES)
            and (out_dtype is None or out_dtype in TRITON_DTYPES))


def resolve_norm_backend(name: str, x: Tensor,
                         residual: Optional[Tensor] = None,
                         out_dtype: Optional[torch.dtype] = None) -> str:
    """The concrete backend that runs for these tensors (module docstring).

    Raises:
        RuntimeError: ``'triton'`` for CPU tensors without
            ``TRITON_INTERPRET=1``.
        TypeError: ``'triton'`` for fp64 tensors or ``out_dtype``.
        ValueError: ``'triton'`` for ``C > MAX_COLS``.
    """
    if name == 'auto':
        name = os.environ.get(ENV_VAR, '') or 'auto'
    check_norm_backend(name)
    if name == 'auto':
        if (x.device.type == 'cuda' and _is_available('triton')
                and _triton_takes(x, residual, out_dtype)):
            return 'triton'
        return 'reference'
    if name == 'triton':
        if x.device.type != 'cuda' and not triton_interpret():
            raise RuntimeError(
                'the triton rms-norm backend needs CUDA tensors (or '
                'TRITON_INTERPRET=1 to run its kernels in the CPU '
                f'interpreter); got {x.device.type} tensors: use '
                "backend='reference' or 'auto' on CPU")
        for arg, t in (('x', x), ('residual', residual)):
            if t is not None and t.dtype not in TRITON_DTYPES:
                raise TypeError(
                    f'the triton rms-norm backend takes float16/bfloat16/'
                    f'float32 tensors, got {arg} of {t.dtype}: use '
                    "backend='reference' (or 'auto')")
        if out_dtype is not None and out_dtype not in TRITON_DTYPES:
            raise TypeError(
                f'the triton rms-norm backend writes float16/bfloat16/'
                f'float32 outputs, got out_dtype={out_dtype}: use '
                "backend='reference' (or 'auto')")
        if x.shape[-1] > MAX_COLS:
            raise ValueError(
                f'the triton rms-norm backend takes at most {MAX_COLS} '
                f'channels, got {x.shape[-1]}: use backend=\'reference\' '
                "(or 'auto')")
    return name


def _check_tensor(name: str, t: Optional[Tensor]) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f'add_rms_norm: {name} must be a torch.Tensor, got '
                        f'{type(t).__name__}')
    if t.dtype not in _FLOAT_DTYPES:
        raise TypeError(f'add_rms_norm: {name} must be a floating-point '
                        f'tensor (float16/bfloat16/float32/float64), got '
                        f'{t.dtype}')


def validate_inputs(x: Tensor, residual: Optional[Tensor],
                    weight: Tensor,
                    out_dtype: Optional[torch.dtype] = None) -> None:
    """Check types, shapes and devices; raise ``TypeError``/``ValueError``
    naming the offending argument."""
    if out_dtype is not None and out_dtype not in _FLOAT_DTYPES:
        raise TypeError(f'add_rms_norm: out_dtype must be a floating-point '
                        f'dtype (float16/bfloat16/float32/float64), got '
                        f'{out_dtype!r}')
    _check_tensor('x', x)
    _check_tensor('weight', weight)
    if residual is not None:
        _check_tensor('residual', residual)
    if x.dim() < 1:
        raise ValueError('add_rms_norm: x must have at least one dimension '
                         '(..., C), got a scalar')
    channels = x.shape[-1]
    if tuple(weight.shape) != (channels, ):
        raise ValueError(f'add_rms_norm: weight must be (C={channels},), got '
                         f'{tuple(weight.shape)}')
    if residual is not None and residual.shape != x.shape:
        raise ValueError(f'add_rms_norm: residual must have the shape of x '
                         f'{tuple(x.shape)}, got {tuple(residual.shape)}')
    devices = {x.device, weight.device}
    if residual is not None:
        devices.add(residual.device)
    if len(devices) > 1:
        raise ValueError('add_rms_norm: x, residual and weight must be on '
                         f'one device, got {sorted(map(str, devices))}')


def add_rms_norm(x: Tensor,
                 residual: Optional[Tensor],
                 weight: Tensor,
                 eps: float = 1e-5,
                 residual_in_fp32: bool = True,
                 *,
                 backend: str = 'auto',
                 out_dtype: Optional[torch.dtype] = None
                 ) -> Tuple[Tensor, Tensor]:
    """Residual add followed by RMSNorm over the last dimension.

    ``new_residual = residual + x`` (``x`` when ``residual`` is None);
    ``y = new_residual * rsqrt(mean(new_residual ** 2, -1) + eps) *
    weight``, computed in fp32 and returned in the dtype of ``x`` (or
    ``out_dtype``).

    Args:
        x (Tensor): (..., C), the incoming hidden states, any float dtype.
        residual (Tensor, optional): the residual stream, shape of ``x``.
        weight (Tensor): (C,).
        eps (float): Added to the mean square. Defaults to 1e-5.
        residual_in_fp32 (bool): form and return the new residual in fp32
            (``residual.float() + x.float()``; fp64 stays fp64); otherwise
            it is ``residual + x`` in PyTorch's promoted dtype. Defaults
            to True.
        backend (str): ``'auto'``, ``'reference'`` or ``'triton'`` (module
            docstring).
        out_dtype (torch.dtype, optional): dtype of ``y``, rounded once
            from the fp32 result (the same values as ``y.to(out_dtype)``
            from an fp32 ``x``, without the fp32 ``y``); None: that of
            ``x``. The gradient reaching ``y`` may have this dtype.

    Returns:
        tuple[Tensor, Tensor]: ``y`` (shape of ``x``, see ``out_dtype``)
        and the new residual (shape of ``x``, see ``residual_in_fp32``);
        with no residual and no cast the new residual is ``x`` itself.
        Differentiable w.r.t. ``x``, ``residual`` and ``weight``; gradients
        may arrive on either output or both. The Triton backend views
        the leading dimensions as rows with a unit last-dim stride
        (non-contiguous inputs whose leading dims do not flatten to one row
        stride are copied first) and returns contiguous outputs.
    """
    validate_inputs(x, residual, weight, out_dtype)
    name = resolve_norm_backend(backend, x, residual, out_dtype)
    if name == 'triton':
        from .triton import add_rms_norm_triton
        return add_rms_norm_triton(x, residual, weight, eps, residual_in_fp32,
                                   out_dtype)
    return add_rms_norm_ref(x, residual, weight, eps, residual_in_fp32,
                            out_dtype)


def rms_norm(x: Tensor,
             weight: Tensor,
             eps: float = 1e-5,
             *,
             backend: str = 'auto') -> Tensor:
    """RMSNorm over the last dimension, computed in fp32 and returned in the
    dtype of ``x``: :func:`add_rms_norm` without a residual (and without the
    residual output)."""
    validate_inputs(x, None, weight)
    name = resolve_norm_backend(backend, x)
    if name == 'triton':
        from .triton import add_rms_norm_triton
        return add_rms_norm_triton(x, None, weight, eps, False)[0]
    return rms_norm_ref(x, weight, eps)
