# Copyright (c) mmmamba contributors. All rights reserved.
"""Vision Mamba's two depthwise convolutions + SiLU, fused.

The Vim mixer (:class:`mmmamba.models.layers.BiMamba`) runs, for ``x`` the
first half of ``in_proj``'s output, a causal depthwise conv1d + SiLU for
the forward direction and its anti-causal twin (right padding, taps
reversed: ``flip(conv(flip(x)))``) for the backward direction, each with
its own weight and bias. :func:`bidir_conv1d_silu` computes both from one
read of ``x``, in the (B, L, E) layout that ``in_proj`` produces and
``x_proj`` consumes, without the transposes, pads and copies around
``F.conv1d``.

Backends (one file each):

* ``'reference'`` (:mod:`.reference`): pure PyTorch, CPU and GPU, autograd
  by construction. The oracle.
* ``'triton'`` (:mod:`.triton`, kernels in :mod:`.triton_kernels`): one
  forward kernel for both directions, one backward kernel that produces
  ``dx`` and the weight/bias gradients.

``backend='auto'`` picks ``'triton'`` for CUDA tensors when triton imports
(and ``x`` is not fp64), ``'reference'`` otherwise. Under ``torch.compile``
the Triton backend runs as the custom ops
``mmmamba::bidir_conv1d_silu_triton_{fwd,bwd}`` (no graph break); the
reference is plain PyTorch and traces as such.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .._utils import is_triton_available, triton_interpret
from ..selective_scan import _FLOAT_DTYPES, _INSTALL_HINTS
from .reference import bidir_conv1d_silu_ref, conv1d_silu_ref

__all__ = [
    'bidir_conv1d_silu', 'bidir_conv1d_silu_ref', 'conv1d_silu',
    'conv1d_silu_ref', 'check_conv1d_backend',
    'resolve_conv1d_backend', 'CONV1D_BACKENDS'
]

CONV1D_BACKENDS = ('reference', 'triton')
_NAME = 'bidir_conv1d_silu'


def check_conv1d_backend(name: str, op: str = _NAME) -> str:
    """Validate a backend name and that it can run here; return it
    (``op``: the op named in the errors; :mod:`~mmmamba.ops.conv_proj`
    shares these backends).

    Raises:
        ValueError: ``name`` is not ``'auto'`` or one of
            :data:`CONV1D_BACKENDS`.
        RuntimeError: the backend's dependency is not installed (the message
            says how to install it).
    """
    if not isinstance(name, str) or name not in ('auto', ) + CONV1D_BACKENDS:
        raise ValueError(f'unknown {op} backend {name!r}; expected '
                         f"'auto' or one of {CONV1D_BACKENDS}")
    if name == 'triton' and not is_triton_available():
        raise RuntimeError(f"{op} backend 'triton' is not available: "
                           f"{_INSTALL_HINTS['triton']}")
    return name


def resolve_conv1d_backend(name: str, device: torch.device,
                           dtype: torch.dtype = torch.float32,
                           op: str = _NAME) -> str:
    """The concrete backend that runs for ``x`` on ``device`` of ``dtype``.

    ``'auto'``: ``'triton'`` on CUDA when triton imports and ``dtype`` is
    not fp64, else ``'reference'`` (also on CPU under ``TRITON_INTERPRET=1``:
    the interpreter runs only when asked for by name).

    Raises:
        ValueError, RuntimeError: as :func:`check_conv1d_backend`; also
            RuntimeError for ``'triton'`` with CPU tensors outside the
            interpreter.
        TypeError: ``'triton'`` with fp64 ``x`` (the kernels accumulate in
            fp32).
    """
    check_conv1d_backend(name, op)
    if name == 'auto':
        if (device.type == 'cuda' and dtype != torch.float64
                and is_triton_available()):
            return 'triton'
        return 'reference'
    if name == 'triton':
        if device.type != 'cuda' and not triton_interpret():
            raise RuntimeError(
                f'the triton backend of {op} needs CUDA tensors (or '
                'TRITON_INTERPRET=1 to run its kernels in the CPU '
                f"interpreter); got {device.type} tensors: use "
                "backend='reference' or 'auto' on CPU")
        if dtype == torch.float64:
            raise TypeError(
                f'the triton backend of {op} accumulates in fp32 and '
                "takes fp32/fp16/bf16 x, got float64: use "
                "backend='reference' (or 'auto') for float64")
    return name


def _check_float(name: str, t: Tensor, op: str = _NAME) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f'{op}: {name} must be a torch.Tensor, got '
                        f'{type(t).__name__}')
    if t.dtype not in _FLOAT_DTYPES:
        raise TypeError(f'{op}: {name} must be a real floating-point '
                        'tensor (float16/bfloat16/float32/float64), got '
                        f'{t.dtype}')


def check_tokens(x: Tensor, op: str = _NAME) -> None:
    """``x`` must be a non-empty float (B, L, E) tensor with channel stride
    1 (errors name ``op``)."""
    _check_float('x', x, op)
    if x.dim() != 3:
        raise ValueError(f'{op}: x must be (B, L, E), got shape '
                         f'{tuple(x.shape)}')
    if 0 in x.shape:
        raise ValueError(f'{op}: x must be non-empty, got shape '
                         f'{tuple(x.shape)}')
    if x.stride(2) != 1 and x.shape[2] > 1:
        raise ValueError(
            f'{op}: x must have unit stride along channels (its last '
            f'dim); got strides {tuple(x.stride())}: pass a (B, L, E) slice '
            'of a channels-last tensor (e.g. xz[..., :E]) or x.contiguous()')


def _weight(name: str, w: Tensor, dim: int) -> Tensor:
    """(E, K) view of an (E, K) or nn.Conv1d-style (E, 1, K) weight."""
    _check_float(name, w)
    if w.dim() == 3 and w.shape[1] == 1:
        w = w.squeeze(1)
    if w.dim() != 2 or w.shape[0] != dim or w.shape[1] < 1:
        raise ValueError(f'{_NAME}: {name} must be (E={dim}, K) or '
                         f'(E={dim}, 1, K) with K >= 1, got '
                         f'{tuple(w.shape)}')
    return w


def _validate(x: Tensor, weight_f: Tensor, bias_f: Optional[Tensor],
              weight_b: Tensor,
              bias_b: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """Check types, shapes, strides and devices (raising ``TypeError`` /
    ``ValueError`` that name the argument); return the weights as (E, K)
    views."""
    check_tokens(x)
    dim = x.shape[2]
    weight_f = _weight('weight_f', weight_f, dim)
    weight_b = _weight('weight_b', weight_b, dim)
    if weight_f.shape[1] != weight_b.shape[1]:
        raise ValueError(f'{_NAME}: weight_f and weight_b must have the '
                         f'same kernel size, got {weight_f.shape[1]} and '
                         f'{weight_b.shape[1]}')
    for name, b in (('bias_f', bias_f), ('bias_b', bias_b)):
        if b is None:
            continue
        _check_float(name, b)
        if tuple(b.shape) != (dim, ):
            raise ValueError(f'{_NAME}: {name} must be (E={dim},) or None, '
                             f'got {tuple(b.shape)}')
    devices = {
        name: t.device
        for name, t in (('x', x), ('weight_f', weight_f), ('bias_f', bias_f),
                        ('weight_b', weight_b), ('bias_b', bias_b))
        if t is not None
    }
    if len(set(devices.values())) > 1:
        listing = ', '.join(f'{k}: {v}' for k, v in devices.items())
        raise ValueError(f'{_NAME}: all tensors must be on one device, got '
                         f'{listing}')
    return weight_f, weight_b


def bidir_conv1d_silu(x: Tensor,
                      weight_f: Tensor,
                      bias_f: Optional[Tensor],
                      weight_b: Tensor,
                      bias_b: Optional[Tensor],
                      *,
                      backend: str = 'auto') -> Tuple[Tensor, Tensor]:
    """Causal and anti-causal depthwise conv1d + SiLU of the same input.

    For K taps (``weight_*[e, k]``)::

        u_f[b, t, e] = silu(bias_f[e] + sum_k weight_f[e, k]
                            * x[b, t - (K-1) + k, e])
        u_b[b, t, e] = silu(bias_b[e] + sum_k weight_b[e, k]
                            * x[b, t + (K-1) - k, e])

    with ``x`` zero outside [0, L): ``u_f`` is ``nn.Conv1d(E, E, K,
    groups=E)`` on ``x`` left-padded by K-1, then SiLU; ``u_b`` equals
    ``flip(u_f-style conv with weight_b of flip(x))`` along L. Accumulation
    is in fp32 (fp64 for fp64 ``x`` on the reference backend).

    Args:
        x: (B, L, E), fp32/fp16/bf16 (fp64: reference only), non-empty.
            The channel stride must be 1; the others are arbitrary (Vim
            passes ``xz[..., :E]`` of a contiguous (B, L, 2E) tensor).
        weight_f, weight_b: (E, K) or (E, 1, K) (``nn.Conv1d.weight``), any
            float dtype; the same K.
        bias_f, bias_b: (E,) or None.
        backend: ``'auto'``, ``'reference'`` or ``'triton'`` (module
            docstring).

    Returns:
        u_f, u_b: (B, L, E) contiguous, dtype of ``x``; ``.transpose(1, 2)``
        is the (B, E, L) view a scan reads. Differentiable with respect to
        every tensor input: gradients of ``x`` in ``x.dtype`` (both
        directions summed), of weights and biases in their dtypes
        (accumulated in fp32); the output gradients may have any strides.

    Raises:
        TypeError: a non-tensor or non-float argument; fp64 with
            ``backend='triton'``.
        ValueError: a wrong shape, a channel stride other than 1, tensors
            on several devices, an unknown backend.
        RuntimeError: the backend cannot run here (the message says why).
    """
    weight_f, weight_b = _validate(x, weight_f, bias_f, weight_b, bias_b)
    name = resolve_conv1d_backend(backend, x.device, x.dtype)
    if name == 'triton':
        from .triton import bidir_conv1d_silu_triton
        return bidir_conv1d_silu_triton(x, weight_f, bias_f, weight_b,
                                        bias_b)
    return bidir_conv1d_silu_ref(x, weight_f, bias_f, weight_b, bias_b)


def conv1d_silu(x: Tensor,
                weight: Tensor,
                bias: Optional[Tensor],
                *,
                reverse: bool = False,
                backend: str = 'auto') -> Tensor:
    """One direction of :func:`bidir_conv1d_silu`: ``u_f`` with
    ``(weight, bias)`` as ``(weight_f, bias_f)``, or with ``reverse`` the
    anti-causal ``u_b`` with them as ``(weight_b, bias_b)``; the same
    arithmetic, so the result equals that output of the two-direction call.

    Reads ``x`` once for one direction: Vim's low-memory inference runs the
    two directions one after the other, so only one (B, L, E) conv output
    is alive at a time.

    Args:
        x, weight, bias: as ``x``, ``weight_f``, ``bias_f`` of
            :func:`bidir_conv1d_silu`.
        reverse: the anti-causal direction.
        backend: ``'auto'``, ``'reference'`` or ``'triton'``.

    Returns:
        u: (B, L, E) contiguous, dtype of ``x``.

    Raises:
        TypeError, ValueError, RuntimeError: as :func:`bidir_conv1d_silu`;
            RuntimeError also for the ``'triton'`` backend with an input
            that requires grad in grad mode (forward only: train with
            :func:`bidir_conv1d_silu`). The reference backend is
            differentiable.
    """
    weight, _ = _validate(x, weight, bias, weight, None)
    name = resolve_conv1d_backend(backend, x.device, x.dtype)
    if name == 'triton':
        from .triton import conv1d_silu_triton
        return conv1d_silu_triton(x, weight, bias, reverse)
    return conv1d_silu_ref(x, weight, bias, reverse)
