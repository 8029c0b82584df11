# Copyright (c) mmmamba contributors. All rights reserved.
"""Vim's per-direction prologue in one op: the depthwise conv1d + SiLU and
the x / dt projections that feed the selective scan.

For ``x`` the first half of ``in_proj``'s output (B, L, E), one direction
of the Vim mixer computes::

    u            = silu(causal depthwise conv1d(x))   # anti-causal if reverse
    dt, B, C     = split(x_proj(u), [R, N, N])
    delta        = dt_proj.weight @ dt                 # dt_proj's bias goes
                                                       # to the scan
    y            = selective_scan(u, delta, A, B, C, D, z, dt_proj.bias, ...)

or, with ``delta_bias=dt_proj.bias, delta_softplus=True``, the scan's step
``softplus(dt_proj.weight @ dt + dt_proj.bias)`` as delta, and the scan
without its bias and softplus (Vim's inference).

:func:`conv1d_silu_proj` returns ``u``, ``delta``, ``B`` and ``C`` in the
layouts the Triton scan reads without a copy (u, delta (B, L, E); B, C
(B, N, L) views of (B, L, N) tensors, the layout its time-major forward
reads fastest at small batch).

Backends (one file each):

* ``'reference'`` (:mod:`.reference`): the unfused composition in PyTorch,
  CPU and GPU, differentiable. The oracle.
* ``'triton'`` (:mod:`.triton`, kernel in :mod:`.triton_kernels`): one
  kernel for all four outputs, forward only (Vim's inference path).

``backend='auto'`` picks ``'triton'`` for CUDA tensors when triton imports
(and ``x`` is not fp64), ``'reference'`` otherwise. Under
``torch.compile`` the Triton backend runs as the custom op
``mmmamba::conv1d_silu_proj_triton_fwd`` (no graph break).

:func:`conv1d_silu_proj_launcher` checks a call's arguments once and
returns a callable that runs the Triton kernel for tensors laid out as
those, with no per-call checks or dispatch: the host time of an eager
caller that runs the op many times on one layout (Vim's inference).
:func:`conv1d_silu_proj_bidir_launcher` does the same for both directions
in one launch, into stacked outputs.
"""
from typing import Callable, Optional, Sequence, Tuple

from torch import Tensor

from ..causal_conv1d import (CONV1D_BACKENDS, _check_float, check_tokens,
                             resolve_conv1d_backend)
from .reference import conv1d_silu_proj_ref

__all__ = [
    'conv1d_silu_proj', 'conv1d_silu_proj_bidir_launcher',
    'conv1d_silu_proj_launcher', 'conv1d_silu_proj_ref', 'dt_low_width',
    'CONV_PROJ_BACKENDS'
]

CONV_PROJ_BACKENDS = CONV1D_BACKENDS
_NAME = 'conv1d_silu_proj'


def _resolve_backend(name: str, x: Tensor) -> str:
    """The backend that runs for ``x`` (module docstring): the rules and
    errors of :func:`~mmmamba.ops.causal_conv1d.resolve_conv1d_backend`,
    whose backends these are."""
    return resolve_conv1d_backend(name, x.device, x.dtype, op=_NAME)


def _check_tensor(name: str, t: Tensor, shape: tuple) -> None:
    """A real floating tensor (the conv's check) of ``shape`` (None: any
    size there)."""
    _check_float(name, t, _NAME)
    if t.dim() != len(shape) or any(
            s is not None and s != n for s, n in zip(shape, t.shape)):
        want = ', '.join('*' if s is None else str(s) for s in shape)
        raise ValueError(f'{_NAME}: {name} must have shape ({want}), got '
                         f'{tuple(t.shape)}')


def _validate(x: Tensor, weight: Tensor, bias: Optional[Tensor],
              x_proj_weight: Tensor, dt_proj_weight: Tensor, dt_rank: int,
              d_state: int, delta_bias: Optional[Tensor] = None) -> Tensor:
    """Check types, shapes, strides and devices (errors name the argument);
    return the conv weight as an (E, K) view."""
    check_tokens(x, _NAME)
    dim = x.shape[2]
    for name, n in (('dt_rank', dt_rank), ('d_state', d_state)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f'{_NAME}: {name} must be a positive int, got '
                             f'{n!r}')
    if isinstance(weight, Tensor) and weight.dim() == 3 \
            and weight.shape[1] == 1:
        weight = weight.squeeze(1)  # nn.Conv1d's (E, 1, K)
    _check_tensor('weight', weight, (dim, None))
    if bias is not None:
        _check_tensor('bias', bias, (dim, ))
    _check_tensor('x_proj_weight', x_proj_weight,
                  (dt_rank + 2 * d_state, dim))
    _check_tensor('dt_proj_weight', dt_proj_weight, (dim, dt_rank))
    if delta_bias is not None:
        _check_tensor('delta_bias', delta_bias, (dim, ))
    devices = {
        name: t.device
        for name, t in (('x', x), ('weight', weight), ('bias', bias),
                        ('x_proj_weight', x_proj_weight),
                        ('dt_proj_weight', dt_proj_weight),
                        ('delta_bias', delta_bias))
        if t is not None
    }
    if len(set(devices.values())) > 1:
        listing = ', '.join(f'{k}: {v}' for k, v in devices.items())
        raise ValueError(f'{_NAME}: all tensors must be on one device, got '
                         f'{listing}')
    return weight


def conv1d_silu_proj(x: Tensor,
                     weight: Tensor,
                     bias: Optional[Tensor],
                     x_proj_weight: Tensor,
                     dt_proj_weight: Tensor,
                     *,
                     dt_rank: int,
                     d_state: int,
                     reverse: bool = False,
                     delta_bias: Optional[Tensor] = None,
                     delta_softplus: bool = False,
                     bc_fp32: bool = False,
                     backend: str = 'auto'
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Conv1d + SiLU, then the x and dt projections (module docstring).

    Computes, with ``u`` as :func:`~mmmamba.ops.conv1d_silu` (causal, or the
    anti-causal twin with ``reverse``)::

        dt, B, C = split(u @ x_proj_weight.T, [dt_rank, d_state, d_state])
        delta    = dt @ dt_proj_weight.T

    in the dtype of ``x`` as autocast runs the two linear layers (weights
    cast to it, fp32 accumulation, each result rounded to it). With
    ``delta_bias`` / ``delta_softplus``, delta then becomes the scan's step
    ``softplus(delta + delta_bias)`` (fp32, rounded to ``x.dtype``), so
    that the scan runs without its own bias and softplus: they are
    computed once per (position, channel) here instead of in every scan
    thread that holds part of the channel's states.

    Args:
        x: (B, L, E), fp32/fp16/bf16 (fp64: reference only), non-empty,
            channel stride 1 (Vim passes ``xz[..., :E]``).
        weight: conv taps (E, K) or ``nn.Conv1d``'s (E, 1, K), any float
            dtype: rounded to the dtype of ``x`` first, as autocast casts
            a conv's weights (so fp32 parameters need no cast per call).
        bias: conv bias (E,) or None, rounded as ``weight``.
        x_proj_weight: (R + 2N, E), ``x_proj.weight`` (no bias).
        dt_proj_weight: (E, R), ``dt_proj.weight`` (its bias is the scan's
            ``delta_bias``).
        dt_rank, d_state: R and N.
        reverse: the anti-causal conv (Vim's backward direction).
        delta_bias: (E,) or None, ``dt_proj.bias`` (the scan's
            ``delta_bias``), added to delta in fp32.
        delta_softplus: apply softplus to delta (after the bias).
        bc_fp32: return B and C in fp32, their values rounded to the dtype
            of ``x`` all the same (the scan's batch-8 time-major forward
            pipelines its loads best from fp32 B and C:
            ``ScanConfig.stages``).
        backend: ``'auto'``, ``'reference'`` or ``'triton'``.

    Returns:
        u, delta: (B, L, E) contiguous (``.transpose(1, 2)`` is the scan's
        channel-last (B, E, L)); B, C: (B, N, L) transposed views of
        contiguous (B, L, N) tensors (stride 1 along N); all in
        ``x.dtype`` (B and C in fp32 with ``bc_fp32``). The reference
        backend is differentiable; the Triton one is forward only.

    Raises:
        TypeError: a non-tensor or non-float argument; fp64 with
            ``backend='triton'``.
        ValueError: a wrong shape or stride, tensors on several devices, an
            unknown backend.
        RuntimeError: the backend cannot run here; the Triton backend with
            an input that requires grad in grad mode.
    """
    weight = _validate(x, weight, bias, x_proj_weight, dt_proj_weight,
                       dt_rank, d_state, delta_bias)
    name = _resolve_backend(backend, x)
    if name == 'triton':
        from .triton import conv1d_silu_proj_triton
        return conv1d_silu_proj_triton(x, weight, bias, x_proj_weight,
                                       dt_proj_weight, dt_rank, d_state,
                                       reverse, delta_bias,
                                       bool(delta_softplus), bool(bc_fp32))
    return conv1d_silu_proj_ref(x, weight, bias, x_proj_weight,
                                dt_proj_weight, dt_rank, d_state, reverse,
                                delta_bias, bool(delta_softplus),
                                bool(bc_fp32))


def dt_low_width(dt_rank: int) -> int:
    """The last size of the ``dt_low`` output of
    :func:`conv1d_silu_proj_launcher`: ``dt_rank`` rounded up to a power
    of two, at least 16 (the Triton kernel's dot tile)."""
    return max(16, 1 << max(dt_rank - 1, 0).bit_length())


def conv1d_silu_proj_launcher(
        x: Tensor,
        weight: Tensor,
        bias: Optional[Tensor],
        x_proj_weight: Tensor,
        dt_proj_weight: Tensor,
        *,
        dt_rank: int,
        d_state: int,
        reverse: bool = False,
        delta_bias: Optional[Tensor] = None,
        delta_softplus: bool = False,
        bc_fp32: bool = False,
        dt_low: bool = False
) -> Callable[..., Tuple[Tensor, Tensor, Tensor, Tensor]]:
    """:func:`conv1d_silu_proj` on the Triton backend, checked once for
    many calls.

    Checks the arguments as the op does (``backend='triton'``) and returns
    ``launch(x, weight, bias, x_proj_weight, dt_proj_weight,
    delta_bias=None, outs=None)``, which returns the op's ``(u, delta, B,
    C)`` for tensors with the shapes, strides, dtypes and device of these
    (``bias`` and ``delta_bias`` given or None as here). Each call
    allocates the outputs (or writes them into ``outs``: contiguous u,
    delta (B, L, E) and B, C (B, L, N) in the op's dtypes, not checked;
    B and C are returned as their (B, N, L) views) and launches the same
    kernel with the same arguments as the op (the same results bit for
    bit), and does nothing else: no checks, no
    backend dispatch, no ``torch.compile`` custom op, no gradient. For an
    eager caller that runs the op on one layout many times (Vim's
    inference core keeps one per input layout), where the op's per-call
    checks and dispatch are most of the host's time.

    With ``dt_low`` the launch returns dt_proj's *input* in place of delta:
    (B, L, P) fp32, P = R rounded up to a power of two (zeros beyond R),
    the values rounded to the dtype of ``x`` (x_proj's output dtype), for
    a scan that forms delta itself (Vim's one-launch inference scan,
    :func:`~mmmamba.ops.selective_scan.bidir_fused_launcher`); then
    ``delta_bias`` must be None and ``delta_softplus`` False.

    Raises:
        As :func:`conv1d_silu_proj` with ``backend='triton'``.
    """
    weight = _validate(x, weight, bias, x_proj_weight, dt_proj_weight,
                       dt_rank, d_state, delta_bias)
    _resolve_backend('triton', x)
    from .triton import conv1d_silu_proj_triton_launcher
    return conv1d_silu_proj_triton_launcher(
        x, weight, bias, x_proj_weight, dt_proj_weight, dt_rank, d_state,
        reverse, delta_bias, bool(delta_softplus), bool(bc_fp32),
        bool(dt_low))


def conv1d_silu_proj_bidir_launcher(
        x: Tensor,
        fwd: Sequence[Optional[Tensor]],
        bwd: Sequence[Optional[Tensor]],
        *,
        dt_rank: int,
        d_state: int,
        delta_biases: Tuple[Optional[Tensor], Optional[Tensor]] = (None,
                                                                   None),
        delta_softplus: bool = False,
        bc_fp32: bool = False,
        dt_low: bool = False
) -> Callable[..., Tuple[Tensor, Tensor, Tensor, Tensor]]:
    """:func:`conv1d_silu_proj_launcher` for both of Vim's directions in
    one launch: ``fwd`` = (weight, bias, x_proj_weight, dt_proj_weight)
    runs causal (``reverse=False``), ``bwd`` anti-causal, on the same
    ``x``.

    Returns ``launch(x, fwd, bwd, delta_biases=(None, None), outs=None)``,
    which returns stacked ``(u, delta, B, C)``, direction first: u, delta
    (2, B, L, E) (delta (2, B, L, P) fp32 with ``dt_low``) and B, C
    (2, B, L, N), contiguous (B and C not transposed: direction d's
    ``B[d].transpose(1, 2)`` is the op's B). Each direction's outputs are
    the one-direction launcher's with the same arguments, bit for bit.
    The kernel runs the two directions of a block of positions in
    neighbouring programs, so the second read of those rows of ``x`` can
    come from L2 instead of memory (H100, bf16 Vim-Ti batch 64: 8% less
    kernel time than the two launches, 7% more with its own launch
    configuration; ``benchmarks/session_1206d_h100``).

    Args:
        x: as :func:`conv1d_silu_proj`.
        fwd, bwd: each direction's (weight, bias, x_proj_weight,
            dt_proj_weight), as :func:`conv1d_silu_proj` takes them, with
            the same strides in both directions and a bias in both or in
            neither.
        delta_biases: each direction's ``delta_bias``, both or neither.
        dt_rank, d_state, delta_softplus, bc_fp32, dt_low: as
            :func:`conv1d_silu_proj_launcher`.

    Raises:
        As :func:`conv1d_silu_proj` with ``backend='triton'``; ValueError
        when the directions' weights differ in strides or in which are
        given.
    """
    if len(delta_biases) != 2:
        raise ValueError(f'{_NAME}: delta_biases must be a pair (forward, '
                         f'backward), got {len(delta_biases)} items')
    dirs = []
    for weights, delta_bias in zip((fwd, bwd), delta_biases):
        if len(weights) != 4:
            raise ValueError(
                f'{_NAME}: fwd and bwd must each be (weight, bias, '
                f'x_proj_weight, dt_proj_weight), got {len(weights)} '
                'items')
        weight = _validate(x, *weights, dt_rank, d_state, delta_bias)
        dirs.append((weight, *weights[1:]))
    _resolve_backend('triton', x)
    from .triton import conv1d_silu_proj_bidir_triton_launcher
    return conv1d_silu_proj_bidir_triton_launcher(
        x, *dirs, dt_rank, d_state, tuple(delta_biases),
        bool(delta_softplus), bool(bc_fp32), bool(dt_low))
