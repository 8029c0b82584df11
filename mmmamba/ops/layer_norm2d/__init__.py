# Copyright (c) mmmamba contributors. All rights reserved.
"""LayerNorm over the channels of (B, C, H, W) maps (VMamba's channel-first
``LayerNorm2d``), with one signature and several backends.

The official module permutes to (B, H, W, C), runs ``F.layer_norm`` and
permutes back. Under autocast ``layer_norm`` runs in fp32, so on a bf16 map
a GPU runs a cast to fp32, a layout copy (unless the map is already
channels-last), the norm, and later its consumer's cast back to bf16:
about 20 bytes of traffic per element for an op that needs 4 (read bf16,
write bf16), in each of a VSS block's three norms.

Backends (one file each):

* ``'reference'`` (:mod:`.reference`): that composition in plain PyTorch.
  The oracle.
* ``'triton'`` (:mod:`.triton`): one forward kernel and one backward
  kernel (plus a ``sum(0)`` over per-program partials for the affine
  gradients), each reading and writing every element once, NCHW or
  channels-last input in place (:mod:`.triton_kernels`).

``backend='auto'`` resolves per call to ``'triton'`` on CUDA when triton
imports, ``x`` is fp16/bf16/fp32 and ``C <=`` :data:`MAX_CHANNELS`, else
to ``'reference'`` (:data:`AUTO_TRITON`). On an H100 (2026-12-05,
``benchmarks/session_1205e_h100/call3``) the Triton norms took VMamba-T's
eager AMP training step at 224² batch 128 from 122.5 to 103.6 ms and its
inference forward from 43.6 to 36.5 ms; per op they are 2-12x faster
forward at stages 1-2, slower on the small maps of stages 3-4 in some
layouts (``tools/analysis_tools/benchmark_layer_norm2d.py``). Choose one
with ``backend=`` (``LayerNorm2d(..., backend=...)``) or
``MMMAMBA_NORM_BACKEND``, which replaces ``'auto'`` (as for
:mod:`mmmamba.ops.rms_norm`).

Both backends return a channels-last (B, C, H, W) tensor (what the
permuted ``F.layer_norm`` returns for a contiguous map) in the dtype
``F.layer_norm`` gives (fp32 under autocast, else ``x``'s), or in
``out_dtype``: the fp32 result rounded once, the same values a consumer's
autocast cast would make, half the bytes of an fp32 output.

Under ``torch.compile`` the Triton backend runs as the custom ops
``mmmamba::layer_norm_2d_triton_{fwd,bwd}`` (no graph break).
"""
import os
from typing import Optional

import torch
from torch import Tensor

from .._utils import is_triton_available, triton_interpret
from ..rms_norm import ENV_VAR, NORM_BACKENDS, TRITON_DTYPES
from .reference import layer_norm_2d_ref

__all__ = [
    'layer_norm_2d', 'layer_norm_2d_ref', 'resolve_layer_norm_2d_backend',
    'output_dtype', 'MAX_CHANNELS', 'AUTO_TRITON'
]

#: Whether ``'auto'`` picks the Triton kernels for CUDA tensors (module
#: docstring; ``benchmarks/NOTES.md``, 2026-12-05, fifth part).
AUTO_TRITON = True

#: Largest C the Triton kernels take (mirrors ``triton_kernels``, which
#: this module does not import: it imports triton).
MAX_CHANNELS = 4096
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_NAME = 'layer_norm_2d'
_TRITON_HINT = ('the triton backend needs the `triton` package: pip install '
                '"mmmamba[triton]" (it comes with CUDA builds of torch)')


def _triton_takes(x: Tensor, out_dtype: torch.dtype) -> bool:
    return (x.dtype in TRITON_DTYPES and out_dtype in TRITON_DTYPES
            and x.shape[1] <= MAX_CHANNELS)


def resolve_layer_norm_2d_backend(name: str, x: Tensor,
                                  out_dtype: torch.dtype) -> str:
    """The concrete backend that runs for ``x`` (module docstring).

    Raises:
        ValueError: an unknown name; ``'triton'`` for ``C >``
            :data:`MAX_CHANNELS`.
        RuntimeError: ``'triton'`` without triton, or for CPU tensors
            without ``TRITON_INTERPRET=1``.
        TypeError: ``'triton'`` for fp64 ``x`` or ``out_dtype``.
    """
    if name == 'auto':
        name = os.environ.get(ENV_VAR, '') or 'auto'
    if not isinstance(name, str) or name not in ('auto', ) + NORM_BACKENDS:
        raise ValueError(f'{_NAME}: unknown backend {name!r}; expected '
                         f"'auto' or one of {NORM_BACKENDS}")
    if name == 'auto':
        if (AUTO_TRITON and x.device.type == 'cuda' and is_triton_available()
                and _triton_takes(x, out_dtype)):
            return 'triton'
        return 'reference'
    if name == 'triton':
        if not is_triton_available():
            raise RuntimeError(f'{_NAME}: {_TRITON_HINT}')
        if x.device.type != 'cuda' and not triton_interpret():
            raise RuntimeError(
                f'{_NAME}: the triton backend needs CUDA tensors (or '
                'TRITON_INTERPRET=1 to run its kernels in the CPU '
                f'interpreter); got {x.device.type} tensors: use '
                "backend='reference' or 'auto' on CPU")
        for arg, dtype in (('x', x.dtype), ('out_dtype', out_dtype)):
            if dtype not in TRITON_DTYPES:
                raise TypeError(
                    f'{_NAME}: the triton backend takes float16/bfloat16/'
                    f'float32, got {arg} of {dtype}: use '
                    "backend='reference' (or 'auto')")
        if x.shape[1] > MAX_CHANNELS:
            raise ValueError(
                f'{_NAME}: the triton backend takes at most {MAX_CHANNELS} '
                f"channels, got {x.shape[1]}: use backend='reference' (or "
                "'auto')")
    return name


def output_dtype(x: Tensor,
                 out_dtype: Optional[torch.dtype] = None) -> torch.dtype:
    """The dtype :func:`layer_norm_2d` returns: ``out_dtype`` if given,
    else what ``F.layer_norm`` returns: fp32 for CUDA tensors under CUDA
    autocast (whose policy runs ``layer_norm`` in fp32; fp64 stays fp64),
    else the dtype of ``x`` (CPU autocast leaves ``layer_norm`` alone)."""
    if out_dtype is not None:
        return out_dtype
    if (x.device.type == 'cuda' and x.dtype != torch.float64
            and torch.is_autocast_enabled('cuda')):
        return torch.float32
    return x.dtype


def _validate(x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
              out_dtype: Optional[torch.dtype]) -> None:
    """Check types, shapes and devices; errors name the argument."""
    if not isinstance(x, Tensor) or x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f'{_NAME}: x must be a floating-point tensor, got '
                        f'{getattr(x, "dtype", type(x).__name__)}')
    if x.dim() != 4:
        raise ValueError(f'{_NAME}: x must be (B, C, H, W), got shape '
                         f'{tuple(x.shape)}')
    if out_dtype is not None and out_dtype not in _FLOAT_DTYPES:
        raise TypeError(f'{_NAME}: out_dtype must be a floating-point dtype, '
                        f'got {out_dtype!r}')
    for name, t in (('weight', weight), ('bias', bias)):
        if t is None:
            continue
        if not isinstance(t, Tensor) or t.dtype not in _FLOAT_DTYPES:
            raise TypeError(f'{_NAME}: {name} must be a floating-point '
                            f'tensor or None, got '
                            f'{getattr(t, "dtype", type(t).__name__)}')
        if tuple(t.shape) != (x.shape[1], ):
            raise ValueError(f'{_NAME}: {name} must be (C={x.shape[1]},), '
                             f'got {tuple(t.shape)}')
        if t.device != x.device:
            raise ValueError(f'{_NAME}: {name} is on {t.device}, x on '
                             f'{x.device}: put them on one device')


def layer_norm_2d(x: Tensor,
                  weight: Optional[Tensor],
                  bias: Optional[Tensor],
                  eps: float = 1e-5,
                  *,
                  out_dtype: Optional[torch.dtype] = None,
                  backend: str = 'auto') -> Tensor:
    """LayerNorm over the channels (dim 1) of a (B, C, H, W) map.

    ``y = (x - mean_C(x)) / sqrt(var_C(x) + eps) * weight + bias`` (biased
    variance), computed in fp32 (fp64 for fp64 inputs, reference only).

    Args:
        x (Tensor): (B, C, H, W), any float dtype and strides.
        weight (Tensor, optional): (C,), or None (no scale).
        bias (Tensor, optional): (C,), or None (no shift).
        eps (float): Added to the variance. Defaults to 1e-5.
        out_dtype (torch.dtype, optional): dtype of ``y``, rounded once
            from the fp32 result. None: as ``F.layer_norm``
            (:func:`output_dtype`: fp32 under CUDA autocast, else that of
            ``x``).
        backend (str): ``'auto'``, ``'reference'`` or ``'triton'`` (module
            docstring).

    Returns:
        Tensor: (B, C, H, W) in channels-last memory (a permuted view of a
        contiguous (B, H, W, C) tensor; the reference returns that for any
        input whose permute is contiguous or copied by ``F.layer_norm``).
        Differentiable w.r.t. ``x``, ``weight`` and ``bias``.

    Raises:
        TypeError, ValueError: a bad argument (named in the message).
        RuntimeError: the backend cannot run here.
    """
    _validate(x, weight, bias, out_dtype)
    dtype = output_dtype(x, out_dtype)
    name = resolve_layer_norm_2d_backend(backend, x, dtype)
    if name == 'triton':
        from .triton import layer_norm_2d_triton
        return layer_norm_2d_triton(x, weight, bias, float(eps), dtype)
    return layer_norm_2d_ref(x, weight, bias, eps, out_dtype)
