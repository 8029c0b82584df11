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

:func:`linear_add_rms_norm` puts a linear layer in front (Vim's ``out_proj``
and the next layer's add + RMSNorm): on the Triton backend one kernel
(:mod:`.linear_kernels`, forward only) whose epilogue is the norm, so the
linear layer's output never goes to memory.
"""
import os
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .._utils import is_triton_available, triton_interpret
from .reference import add_rms_norm_ref, residual_dtype, rms_norm_ref

__all__ = [
    'add_rms_norm', 'rms_norm', 'linear_add_rms_norm', 'add_rms_norm_ref',
    'rms_norm_ref',
    'residual_dtype', 'check_norm_backend', 'resolve_norm_backend',
    'available_norm_backends', 'NORM_BACKENDS', 'MAX_COLS',
    'LINEAR_MAX_OUT_FEATURES',
    'TRITON_DTYPES'
]

NORM_BACKENDS = ('reference', 'triton')
ENV_VAR = 'MMMAMBA_NORM_BACKEND'
#: Largest C the Triton kernels take (a whole row is one register tile).
MAX_COLS = 8192
#: Largest output width D :func:`linear_add_rms_norm`'s Triton kernel
#: takes (a program holds block_m x D fp32 accumulators, in sub-tiles).
LINEAR_MAX_OUT_FEATURES = 1024
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


def linear_add_rms_norm(y: Tensor,
                        weight: Tensor,
                        bias: Optional[Tensor],
                        residual: Tensor,
                        norm_weight: Tensor,
                        eps: float = 1e-5,
                        *,
                        out_dtype: Optional[torch.dtype] = None,
                        backend: str = 'auto') -> Tuple[Tensor, Tensor]:
    """``add_rms_norm(F.linear(y, weight, bias), residual, norm_weight,
    eps)`` with the fp32 residual stream, the linear layer run as autocast
    runs it: ``weight`` and ``bias`` rounded to ``y``'s dtype, fp32
    accumulation, the output rounded to ``y``'s dtype.

    Args:
        y (Tensor): (..., K), fp16/bf16/fp32 (the reference also takes
            fp64), unit last-dim stride on the Triton backend (else
            copied).
        weight (Tensor): (D, K); bias (Tensor, optional): (D,).
        residual (Tensor): (..., D), the residual stream (any float
            dtype; the new one is fp32).
        norm_weight (Tensor): (D,); eps (float): as :func:`add_rms_norm`.
        out_dtype (torch.dtype, optional): dtype of the normalised output
            (None: ``y``'s).
        backend (str): ``'auto'`` (Triton for CUDA tensors when triton
            imports, fp16/bf16/fp32 ``y`` and D <= 1024; else the
            reference), ``'reference'`` (``F.linear`` then
            :func:`add_rms_norm`'s reference; differentiable) or
            ``'triton'`` (one kernel, forward only).

    Returns:
        tuple[Tensor, Tensor]: the normalised (..., D) and the new fp32
        residual (..., D), as :func:`add_rms_norm` returns them for the
        linear layer's output.

    Raises:
        TypeError / ValueError: wrong types, shapes or devices (naming the
            argument); the Triton backend with fp64 or D > 1024.
        RuntimeError: the Triton backend where it cannot run, or with an
            input that requires grad in grad mode (no backward).
    """
    for name, t in (('y', y), ('weight', weight), ('residual', residual),
                    ('norm_weight', norm_weight)) + (
                        (('bias', bias), ) if bias is not None else ()):
        _check_tensor(name, t)
    if y.dim() < 1 or weight.dim() != 2 or weight.shape[1] != y.shape[-1]:
        raise ValueError(
            'linear_add_rms_norm: weight must be (D, K) with K = '
            f'y.shape[-1] = {y.shape[-1] if y.dim() else None}, got '
            f'{tuple(weight.shape)}')
    n_out = weight.shape[0]
    if bias is not None and tuple(bias.shape) != (n_out, ):
        raise ValueError(f'linear_add_rms_norm: bias must be ({n_out},), '
                         f'got {tuple(bias.shape)}')
    want = tuple(y.shape[:-1]) + (n_out, )
    if tuple(residual.shape) != want:
        raise ValueError(f'linear_add_rms_norm: residual must be {want}, '
                         f'got {tuple(residual.shape)}')
    validate_inputs(residual, None, norm_weight, out_dtype)
    devices = {t.device for t in (y, weight, bias, residual, norm_weight)
               if t is not None}
    if len(devices) > 1:
        raise ValueError('linear_add_rms_norm: all tensors must be on one '
                         f'device, got {sorted(map(str, devices))}')
    name = _resolve_linear_backend(backend, y, residual, n_out, out_dtype)
    if name == 'triton':
        from .._utils import grad_needed
        if grad_needed(y, weight, bias, residual, norm_weight):
            raise RuntimeError(
                'linear_add_rms_norm (triton) is forward-only: it has no '
                'backward. Call it under torch.no_grad()/inference_mode(), '
                "or use backend='reference' (differentiable) for training")
        from .linear_kernels import linear_add_rms_norm_fwd
        # autocast's casts (no-ops for weights already in y's dtype)
        out, res = linear_add_rms_norm_fwd(
            _rows(y), weight.to(y.dtype),
            None if bias is None else bias.to(y.dtype), _rows(residual),
            norm_weight, eps, out_dtype)
        return out.reshape(want), res.reshape(want)
    hidden = F.linear(y, weight.to(y.dtype),
                      None if bias is None else bias.to(y.dtype))
    return add_rms_norm_ref(hidden, residual, norm_weight, eps, True,
                            out_dtype)


def _rows(t: Tensor) -> Tensor:
    """``t`` as (rows, C) with a unit column stride (a view when possible,
    else a contiguous copy)."""
    t2 = t.reshape(-1, t.shape[-1])
    if t2.shape[1] > 1 and t2.stride(1) != 1:
        t2 = t2.contiguous()
    return t2


def _resolve_linear_backend(name: str, y: Tensor, residual: Tensor,
                            n_out: int,
                            out_dtype: Optional[torch.dtype]) -> str:
    """The backend :func:`linear_add_rms_norm` runs (its docstring), with
    the errors of :func:`resolve_norm_backend` and its own width limit."""
    if name == 'auto':
        name = os.environ.get(ENV_VAR, '') or 'auto'
    check_norm_backend(name)
    takes = (_triton_takes(y, residual, out_dtype)
             and n_out <= LINEAR_MAX_OUT_FEATURES)
    if name == 'auto':
        return ('triton' if y.device.type == 'cuda'
                and _is_available('triton') and takes else 'reference')
    if name == 'triton':
        resolve_norm_backend('triton', y, residual, out_dtype)
        if n_out > LINEAR_MAX_OUT_FEATURES:
            raise ValueError(
                'linear_add_rms_norm: the triton backend takes at most '
                f'{LINEAR_MAX_OUT_FEATURES} output features, got {n_out}: '
                "use backend='reference' (or 'auto')")
    return name
