# Copyright (c) mmmamba contributors. All rights reserved.
"""The selective scan (S6) with one signature and several backends.

Backends (one file each, same signature as :func:`selective_scan`):

* ``'reference'`` (:mod:`.reference`): pure PyTorch, CPU and GPU, fp32
  accumulation, chunked scan with a reverse-scan backward. The oracle.
* ``'triton'`` (:mod:`.triton`): Triton forward and backward kernels.
* ``'mamba_ssm'`` (:mod:`.mamba_ssm`): mamba-ssm's CUDA ``selective_scan_fn``,
  available only when its compiled extension imports.

``backend='auto'`` resolves per call: CPU tensors use ``'reference'``; CUDA
tensors use the first available backend of :func:`auto_order` for the state
size and for whether a gradient is needed, an order set by
``tools/analysis_tools/benchmark_scan.py`` on an H200
(``benchmarks/selective_scan_h200.md``). Triton comes first everywhere:
with one state per channel (VMamba) our kernels are faster than mamba-ssm's
forward and forward+backward; with 16 (Vim) the time-major Triton forward is
faster at every measured shape (1.0-2.6x), and forward+backward at 5 of 8
(shape, dtype) rows (mamba-ssm's is 3-10% faster at 224² batch 128 and at
1248² batch 8 in bf16). The environment variable
``MMMAMBA_SCAN_BACKEND`` replaces ``'auto'`` everywhere.

Under ``torch.compile`` each backend runs as ``torch.library`` custom ops
(``mmmamba::selective_scan_{ref,triton,mamba_ssm}_{fwd,bwd}``) with shape
functions and a registered backward: ``fullgraph=True`` traces through
:func:`selective_scan`, forward and backward, and the scan is one opaque node
of the graph (also under CUDA-graph capture). The dispatcher itself
(validation, the environment variable, the cached probes) is plain Python to
Dynamo and is resolved at trace time: Dynamo does not guard on the
environment, so after changing ``MMMAMBA_SCAN_BACKEND`` in a process that
has compiled a model, call ``torch._dynamo.reset()``. Eager calls keep the
backends' autograd Functions (:func:`mmmamba.ops._utils.use_custom_ops` says
why); both paths run the same forward and backward code.

:func:`bidir_selective_scan` is Vim's two directions in one call,
``out_scale * (scan_f + scan_b)`` with the second scanning from the last
position to the first; the Triton backend fuses the sum into its kernels.

Layouts: every backend takes u, delta, z with any strides. The Triton
kernels read contiguous and channel-last (stride 1 along dim, e.g. a
transposed (batch, L, dim) tensor) ones without a copy and return ``out``
(and du, ddelta, dz) in the layout of u (delta, z); the other backends may
copy and return contiguous tensors.
"""
import os
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from .._utils import (grad_needed, is_mamba_ssm_cuda_available,
                      is_triton_available, triton_interpret)
from .reference import gate_sum_, selective_scan_ref

__all__ = [
    'selective_scan', 'selective_scan_ref', 'bidir_selective_scan',
    'selective_scan_into', 'selective_scan_into_launcher', 'check_backend',
    'triton_prefers_fp32_bc', 'triton_bidir_fused_pays',
    'bidir_fused_launcher', 'resolve_backend', 'available_backends',
    'auto_order', 'AUTO_ORDER', 'BACKENDS'
]

BACKENDS = ('reference', 'triton', 'mamba_ssm')
# The orders 'auto' tries for CUDA tensors, by state size and by whether a
# gradient is needed (module docstring).
AUTO_ORDER = {
    'dstate<=4': ('triton', 'mamba_ssm', 'reference'),
    'dstate>4,grad': ('triton', 'mamba_ssm', 'reference'),
    'dstate>4,no_grad': ('triton', 'mamba_ssm', 'reference'),
}
ENV_VAR = 'MMMAMBA_SCAN_BACKEND'

_INSTALL_HINTS = {
    'triton': ('the triton backend needs the `triton` package: '
               'pip install "mmmamba[triton]" (it comes with CUDA builds of '
               'torch)'),
    'mamba_ssm': ('the mamba_ssm backend needs mamba-ssm with its compiled '
                  'CUDA extension `selective_scan_cuda`: on a CUDA machine run '
                  'MAMBA_FORCE_BUILD=TRUE MAMBA_KEEP_CUDA_BUILD=TRUE pip install '
                  '--no-build-isolation mamba-ssm'),
}

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _is_available(name: str) -> bool:
    if name == 'reference':
        return True
    if name == 'triton':
        return is_triton_available()
    if name == 'mamba_ssm':
        return is_mamba_ssm_cuda_available()
    return False


def available_backends() -> Tuple[str, ...]:
    """Names of the backends whose dependencies import on this machine."""
    return tuple(name for name in BACKENDS if _is_available(name))


def check_backend(name: str) -> str:
    """Validate a backend name and that it can run here; return it.

    Modules call this at construction so that a missing dependency fails at
    build time, not in the middle of training.

    Raises:
        ValueError: ``name`` is not ``'auto'`` or one of :data:`BACKENDS`.
        RuntimeError: the backend's dependency is not installed (the message
            says how to install it).
    """
    if not isinstance(name, str) or name not in ('auto', ) + BACKENDS:
        raise ValueError(f'unknown selective-scan backend {name!r}; expected '
                         f"'auto' or one of {BACKENDS}")
    if name != 'auto' and not _is_available(name):
        raise RuntimeError(f'selective-scan backend {name!r} is not '
                           f'available: {_INSTALL_HINTS[name]}')
    return name


def auto_order(dstate: int, grad: bool = True) -> Tuple[str, ...]:
    """The order in which ``'auto'`` tries backends on CUDA tensors, for a
    state size and for calls that do (``grad``) or do not need a
    gradient."""
    if dstate <= 4:
        return AUTO_ORDER['dstate<=4']
    return AUTO_ORDER['dstate>4,grad' if grad else 'dstate>4,no_grad']


def resolve_backend(name: str,
                    device: torch.device,
                    dstate: int = 16,
                    grad: bool = True) -> str:
    """The concrete backend that runs for tensors on ``device``.

    ``MMMAMBA_SCAN_BACKEND`` (if set) replaces ``'auto'``. ``'auto'`` picks
    ``'reference'`` on CPU (``'triton'`` under ``TRITON_INTERPRET=1`` only if
    asked for explicitly) and the first available entry of
    :func:`auto_order` for ``dstate`` and ``grad`` on CUDA.
    """
    if name == 'auto':
        name = os.environ.get(ENV_VAR, '') or 'auto'
    check_backend(name)
    if name == 'auto':
        if device.type != 'cuda':
            return 'reference'
        return next(n for n in auto_order(dstate, grad)
                    if _is_available(n))
    if name == 'triton' and device.type != 'cuda' and not triton_interpret():
        raise RuntimeError(
            'the triton backend needs CUDA tensors (or TRITON_INTERPRET=1 to '
            f'run its kernels in the CPU interpreter); got {device.type} '
            "tensors: use backend='reference' or 'auto' on CPU")
    if name == 'mamba_ssm' and device.type != 'cuda':
        raise RuntimeError('the mamba_ssm backend needs CUDA tensors; got '
                           f"{device.type} tensors: use backend='reference'")
    return name


def _check_tensor(name: str, t: Optional[Tensor], ndims: Tuple[int, ...],
                  optional: bool) -> None:
    if t is None:
        if optional:
            return
        raise TypeError(f'selective_scan: {name} is required, got None')
    if not isinstance(t, Tensor):
        raise TypeError(f'selective_scan: {name} must be a torch.Tensor, got '
                        f'{type(t).__name__}')
    if t.is_complex():
        raise TypeError(f'selective_scan: {name} is complex ({t.dtype}); only '
                        'real floating-point tensors are supported')
    if t.dtype not in _FLOAT_DTYPES:
        raise TypeError(f'selective_scan: {name} must be a floating-point '
                        f'tensor (float16/bfloat16/float32/float64), got '
                        f'{t.dtype}')
    if t.dim() not in ndims:
        expected = ' or '.join(f'{n}-D' for n in ndims)
        raise ValueError(f'selective_scan: {name} must be {expected}, got '
                         f'shape {tuple(t.shape)}')


def validate_inputs(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                    C: Tensor, D: Optional[Tensor], z: Optional[Tensor],
                    delta_bias: Optional[Tensor]) -> None:
    """Check types, shapes and devices; raise ``TypeError``/``ValueError``
    naming the offending argument."""
    _check_tensor('u', u, (3, ), False)
    _check_tensor('delta', delta, (3, ), False)
    _check_tensor('A', A, (2, ), False)
    _check_tensor('B', B, (3, 4), False)
    _check_tensor('C', C, (3, 4), False)
    _check_tensor('D', D, (1, ), True)
    _check_tensor('z', z, (3, ), True)
    _check_tensor('delta_bias', delta_bias, (1, ), True)
    batch, dim, seqlen = u.shape
    if delta.shape != u.shape:
        raise ValueError(f'selective_scan: delta must have the shape of u '
                         f'{tuple(u.shape)}, got {tuple(delta.shape)}')
    if z is not None and z.shape != u.shape:
        raise ValueError(f'selective_scan: z must have the shape of u '
                         f'{tuple(u.shape)}, got {tuple(z.shape)}')
    if A.shape[0] != dim:
        raise ValueError(f'selective_scan: A must be (dim={dim}, dstate), got '
                         f'{tuple(A.shape)}')
    dstate = A.shape[1]
    groups = []
    for name, t in (('B', B), ('C', C)):
        if t.dim() == 3:
            expected, g = (batch, dstate, seqlen), 1
        else:
            g = t.shape[1]
            expected = (batch, g, dstate, seqlen)
        if tuple(t.shape) != expected:
            raise ValueError(
                f'selective_scan: {name} must be (batch={batch}, groups, '
                f'dstate={dstate}, seqlen={seqlen}) or (batch, dstate, '
                f'seqlen), got {tuple(t.shape)}')
        if g < 1 or dim % g != 0:
            raise ValueError(f'selective_scan: dim={dim} is not divisible by '
                             f'the number of groups of {name} ({g})')
        groups.append(g)
    if groups[0] != groups[1]:
        raise ValueError(f'selective_scan: B and C must have the same number '
                         f'of groups, got {groups[0]} and {groups[1]}')
    for name, t in (('D', D), ('delta_bias', delta_bias)):
        if t is not None and t.shape != (dim, ):
            raise ValueError(f'selective_scan: {name} must be (dim={dim},), '
                             f'got {tuple(t.shape)}')
    devices = {
        name: t.device
        for name, t in (('u', u), ('delta', delta), ('A', A), ('B', B),
                        ('C', C), ('D', D), ('z', z), ('delta_bias',
                                                       delta_bias))
        if t is not None
    }
    if len(set(devices.values())) > 1:
        listing = ', '.join(f'{k}: {v}' for k, v in devices.items())
        raise ValueError('selective_scan: all tensors must be on one device, '
                         f'got {listing}')


def _get_impl(name: str) -> Callable:
    if name == 'reference':
        return selective_scan_ref
    if name == 'triton':
        from .triton import selective_scan_triton
        return selective_scan_triton
    from .mamba_ssm import selective_scan_mamba_ssm
    return selective_scan_mamba_ssm


def selective_scan(u: Tensor,
                   delta: Tensor,
                   A: Tensor,
                   B: Tensor,
                   C: Tensor,
                   D: Optional[Tensor] = None,
                   z: Optional[Tensor] = None,
                   delta_bias: Optional[Tensor] = None,
                   delta_softplus: bool = False,
                   return_last_state: bool = False,
                   *,
                   reverse: bool = False,
                   backend: str = 'auto') -> Union[Tensor, Tuple[Tensor,
                                                                 Tensor]]:
    """Selective scan, the semantics of mamba-ssm's ``selective_scan_fn``.

    ``delta <- softplus(delta + delta_bias)`` if ``delta_softplus``;
    ``h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t`` (h_{-1} = 0);
    ``y_t = <C_t, h_t> + D * u_t``; ``y <- y * silu(z)`` if ``z`` is given.
    Channel ``d`` uses B/C group ``d // (dim // groups)``. All accumulation
    is in fp32 (fp64 for fp64 inputs).

    Args:
        u: (batch, dim, seqlen), any float dtype.
        delta: (batch, dim, seqlen).
        A: (dim, dstate), real.
        B, C: (batch, groups, dstate, seqlen) with ``dim % groups == 0``, or
            (batch, dstate, seqlen) (one group).
        D: (dim,), optional skip weight.
        z: (batch, dim, seqlen), optional gate.
        delta_bias: (dim,), optional, added to delta before the softplus.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        return_last_state: also return ``h_{seqlen-1}`` (with ``reverse``,
            the state after position 0).
        reverse: scan from position ``seqlen - 1`` down to 0, i.e. the scan
            of the flipped inputs, flipped back; ``out`` is in input order.
            The Triton kernels do it by index arithmetic (no flipped
            copies); the other backends flip.
        backend: ``'auto'``, ``'reference'``, ``'triton'`` or
            ``'mamba_ssm'`` (see the module docstring).

    Returns:
        out: (batch, dim, seqlen), dtype of ``u``; differentiable w.r.t. every
        tensor input. With ``return_last_state``, also last_state
        (batch, dim, dstate), fp32, through which no gradient flows.
    """
    validate_inputs(u, delta, A, B, C, D, z, delta_bias)
    grad = grad_needed(u, delta, A, B, C, D, z, delta_bias)
    name = resolve_backend(backend, u.device, A.shape[1], grad)
    impl = _get_impl(name)
    kwargs = dict(
        D=D,
        delta_bias=delta_bias,
        delta_softplus=delta_softplus,
        return_last_state=return_last_state)
    if not reverse:
        return impl(u, delta, A, B, C, z=z, **kwargs)
    if name == 'triton':
        return impl(u, delta, A, B, C, z=z, reverse=True, **kwargs)

    def flip(t: Optional[Tensor]) -> Optional[Tensor]:
        return None if t is None else t.flip(-1)

    res = impl(flip(u), flip(delta), A, flip(B), flip(C), z=flip(z),
               **kwargs)
    if return_last_state:
        return res[0].flip(-1), res[1]
    return res.flip(-1)


def bidir_selective_scan(u_f: Tensor,
                         delta_f: Tensor,
                         A_f: Tensor,
                         B_f: Tensor,
                         C_f: Tensor,
                         D_f: Optional[Tensor],
                         delta_bias_f: Optional[Tensor],
                         u_b: Tensor,
                         delta_b: Tensor,
                         A_b: Tensor,
                         B_b: Tensor,
                         C_b: Tensor,
                         D_b: Optional[Tensor],
                         delta_bias_b: Optional[Tensor],
                         z: Optional[Tensor] = None,
                         delta_softplus: bool = True,
                         out_scale: float = 0.5,
                         *,
                         backend: str = 'auto') -> Tensor:
    """Two selective scans over one sequence, one in each direction, summed:
    ``out_scale * (selective_scan(u_f, delta_f, A_f, B_f, C_f, D_f, z=z,
    delta_bias=delta_bias_f) + selective_scan(u_b, ..., z=z, reverse=True))``
    (Vim's bidirectional mixer, ``out_scale=0.5`` for its "div2").

    Each direction's tensors are shaped as :func:`selective_scan`'s (B and
    C 3-D or 4-D, each direction its own groups); both directions share
    ``z`` (optional) and the shape of u. The backward direction reads its
    inputs in token order and scans from position L-1 down to 0 (as
    ``reverse=True``); the output is in token order.

    On the Triton backend the sum is fused: one output tensor (in the dtype
    and layout of ``u_f``), the backward direction's kernel adds its scaled
    output in its epilogue, and the backward kernels read ``out_scale *
    grad_out`` and accumulate z's gradient in one tensor. Other backends
    compose two :func:`selective_scan` calls (mamba_ssm flips the second
    direction's inputs, as :func:`selective_scan` does with ``reverse``).

    Args:
        backend: as :func:`selective_scan`; resolved once for both
            directions (with the larger state size of the two).

    Returns:
        out: (batch, dim, seqlen), dtype of ``u_f``; differentiable w.r.t.
        every tensor input.
    """
    for label, args in (('forward direction (u_f, delta_f, ...)',
                         (u_f, delta_f, A_f, B_f, C_f, D_f, z,
                          delta_bias_f)),
                        ('backward direction (u_b, delta_b, ...)',
                         (u_b, delta_b, A_b, B_b, C_b, D_b, z,
                          delta_bias_b))):
        try:
            validate_inputs(*args)
        except (TypeError, ValueError) as err:
            raise type(err)(f'bidir_selective_scan, {label}: {err}') from None
    if u_b.shape != u_f.shape:
        raise ValueError('bidir_selective_scan: u_b must have the shape of '
                         f'u_f {tuple(u_f.shape)}, got {tuple(u_b.shape)}')
    if u_b.device != u_f.device:
        raise ValueError('bidir_selective_scan: both directions must be on '
                         f'one device, got {u_f.device} and {u_b.device}')
    tensors = (u_f, delta_f, A_f, B_f, C_f, D_f, delta_bias_f, u_b, delta_b,
               A_b, B_b, C_b, D_b, delta_bias_b, z)
    grad = grad_needed(*tensors)
    name = resolve_backend(backend, u_f.device,
                           max(A_f.shape[1], A_b.shape[1]), grad)
    if name == 'triton':
        from .triton import bidir_selective_scan_triton
        return bidir_selective_scan_triton(*tensors, delta_softplus,
                                           out_scale)
    y_f = selective_scan(u_f, delta_f, A_f, B_f, C_f, D_f, z, delta_bias_f,
                         delta_softplus, backend=name)
    y_b = selective_scan(u_b, delta_b, A_b, B_b, C_b, D_b, z, delta_bias_b,
                         delta_softplus, reverse=True, backend=name)
    out = y_f + y_b
    return out if out_scale == 1 else out * out_scale


def _check_into(out: Tensor, u: Tensor, delta: Tensor, A: Tensor,
                B: Tensor, C: Tensor, D: Optional[Tensor],
                z: Optional[Tensor], delta_bias: Optional[Tensor],
                accumulate: bool, gate_sum: bool) -> None:
    """:func:`selective_scan_into`'s argument checks."""
    validate_inputs(u, delta, A, B, C, D, z, delta_bias)
    _check_tensor('out', out, (3, ), False)
    if out.shape != u.shape or out.device != u.device:
        raise ValueError(
            f'selective_scan_into: out must have the shape and device of u '
            f'{tuple(u.shape)} on {u.device}, got {tuple(out.shape)} on '
            f'{out.device}')
    if grad_needed(out, u, delta, A, B, C, D, z, delta_bias):
        raise RuntimeError(
            'selective_scan_into is forward-only: call it under '
            'torch.no_grad()/inference_mode(), or use selective_scan / '
            'bidir_selective_scan (which have a backward) for training')
    if gate_sum and not (accumulate and z is not None):
        raise ValueError('selective_scan_into: gate_sum=True needs '
                         'accumulate=True and z')


def selective_scan_into(out: Tensor,
                        u: Tensor,
                        delta: Tensor,
                        A: Tensor,
                        B: Tensor,
                        C: Tensor,
                        D: Optional[Tensor] = None,
                        z: Optional[Tensor] = None,
                        delta_bias: Optional[Tensor] = None,
                        delta_softplus: bool = False,
                        *,
                        reverse: bool = False,
                        out_scale: float = 1.0,
                        accumulate: bool = False,
                        gate_sum: bool = False,
                        backend: str = 'auto') -> Tensor:
    """``out = out_scale * selective_scan(u, ...)`` in place, or ``out +=``
    it with ``accumulate``; forward only (inference).

    What :func:`bidir_selective_scan` does inside, exposed so that a caller
    can run the two directions one after the other and free the first
    direction's inputs before making the second's (Vim's low-memory
    inference): the Triton kernel writes or adds into ``out`` in its
    epilogue, with the same arithmetic as the bidirectional forward, so
    ``into(out, f..., accumulate=False)`` then ``into(out, b...,
    reverse=True, accumulate=True)`` equals ``bidir_selective_scan``'s
    output. Other backends compute :func:`selective_scan` and copy or add
    (in ``out``'s dtype).

    Args:
        out: (batch, dim, seqlen), floating point, any strides (Vim passes
            the (B, E, L) view of a (B, L, E) tensor).
        u, ..., delta_softplus, reverse, backend: as :func:`selective_scan`.
        out_scale: factor applied to the scan's output.
        accumulate: add into ``out`` instead of overwriting it.
        gate_sum: (with ``accumulate`` and ``z``) gate the sum instead of
            the scan's output: ``out = out_scale * (out + y) * silu(z)``
            with y the ungated scan. A bidirectional caller whose first
            direction wrote its ungated y (``z=None``) so computes the
            gate once (Vim's inference: the two directions share z).

    Returns:
        ``out``.

    Raises:
        TypeError, ValueError: as :func:`selective_scan`, or ``out`` of
            the wrong type, shape or device.
        RuntimeError: an input (or ``out``) requires grad in grad mode
            (use :func:`selective_scan` / :func:`bidir_selective_scan` to
            train); the backend cannot run here.
    """
    _check_into(out, u, delta, A, B, C, D, z, delta_bias, accumulate,
                gate_sum)
    name = resolve_backend(backend, u.device, A.shape[1], False)
    if name == 'triton':
        from .triton import selective_scan_into_triton
        return selective_scan_into_triton(out, u, delta, A, B, C, D, z,
                                          delta_bias, delta_softplus,
                                          reverse, out_scale, accumulate,
                                          bool(gate_sum))
    if gate_sum:
        y = selective_scan(u, delta, A, B, C, D, None, delta_bias,
                           delta_softplus, reverse=reverse, backend=name)
        return gate_sum_(out, y, z, out_scale)
    y = selective_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                       reverse=reverse, backend=name)
    if accumulate:
        return out.add_(y.to(out.dtype), alpha=out_scale)
    return out.copy_(y.mul_(out_scale) if out_scale != 1 else y)


def selective_scan_into_launcher(
        out: Tensor,
        u: Tensor,
        delta: Tensor,
        A: Tensor,
        B: Tensor,
        C: Tensor,
        D: Optional[Tensor] = None,
        z: Optional[Tensor] = None,
        delta_bias: Optional[Tensor] = None,
        delta_softplus: bool = False,
        *,
        reverse: bool = False,
        out_scale: float = 1.0,
        accumulate: bool = False,
        gate_sum: bool = False) -> Optional[Callable[..., Tensor]]:
    """:func:`selective_scan_into` on the Triton backend, checked once for
    many calls.

    Checks the arguments as the op does (``backend='triton'``) and returns
    ``launch(out, u, delta, A, B, C, D=None, z=None, delta_bias=None)``,
    which computes the op into ``out`` (and returns it) for tensors with
    the shapes, strides, dtypes and device of these (``D``, ``z``,
    ``delta_bias`` given or None as here); with the same launches and
    arguments as the op, so the same results bit for bit, and nothing else
    per call: no checks, no conversions, no backend dispatch, no
    ``torch.compile`` custom op, no gradient. For an eager caller that
    runs the op on one layout many times (Vim's inference core).

    Returns None when these tensors would take conversions on every call
    (u, delta or z with neither the L nor the channel stride 1; A, D or
    ``delta_bias`` not contiguous fp32) or another kernel than the
    time-major forward (the configuration :func:`default_config` gives for
    this shape): call :func:`selective_scan_into` then.

    Raises:
        As :func:`selective_scan_into` with ``backend='triton'``.
    """
    _check_into(out, u, delta, A, B, C, D, z, delta_bias, accumulate,
                gate_sum)
    resolve_backend('triton', u.device, A.shape[1], False)
    from .triton import selective_scan_into_triton_launcher
    return selective_scan_into_triton_launcher(
        out, u, delta, A, B, C, D, z, delta_bias, bool(delta_softplus),
        reverse, float(out_scale), bool(accumulate), bool(gate_sum))


def triton_prefers_fp32_bc(batch: int, dim: int, seqlen: int, d_state: int,
                           itemsize: int) -> bool:
    """Whether the Triton forward without saved states (inference) runs
    these sizes faster with B and C in fp32 than in 16 bits: where its
    default configuration software-pipelines the main kernel
    (``ScanConfig.stages``), which then reads B and C from shared memory
    without widening them per thread: the split batch-8 tile (H100: main
    kernel -12 to -15% at 1248² and 2048², batch 8, against -4% in bf16;
    ``benchmarks/NOTES.md``, 2026-12-05, sixth part) and, with 16-bit u,
    the unsplit tile of sequences of 4096 to 8191 steps (batch 64 at
    1248²: Vim-Ti's scan kernels -3.8% against the 16-bit
    register-prefetch tile; 2026-12-06, second part). A caller
    that makes B and C (:func:`~mmmamba.ops.conv1d_silu_proj`'s
    ``bc_fp32``) asks this; the values are the same either way.

    Args:
        batch, dim, seqlen, d_state: the scan's sizes (one B/C group).
        itemsize: bytes per element of u (2 for fp16/bf16).
    """
    from .triton_kernels import default_config
    return default_config(seqlen, d_state, dim, backward=False,
                          save_states=False, n_rows=batch * dim,
                          itemsize=itemsize, bc_itemsize=4).stages > 1


def triton_bidir_fused_pays(batch: int, dim: int, seqlen: int, d_state: int,
                            itemsize: int) -> bool:
    """Whether Vim's inference core runs its two scan directions as one
    launch (:func:`bidir_fused_launcher`) for these sizes: 16-bit
    activations, N = 16, channels a multiple of 32, and a batch large
    enough that one direction's scan runs unsplit (no sequence segments:
    :func:`~.triton_kernels.default_config`), where each one-direction
    launch is latency-bound (``benchmarks/NOTES.md``, 2026-12-06, third
    part). :data:`~.triton_bidir.BIDIR_FUSED` turns it off.

    Args:
        batch, dim, seqlen, d_state: one direction's scan sizes.
        itemsize: bytes per element of the activations.
    """
    from . import triton_bidir
    from .triton_kernels import default_config
    if not (triton_bidir.BIDIR_FUSED and itemsize <= 2 and d_state == 16
            and dim % triton_bidir.BIDIR_BLOCK_D == 0):
        return False
    return default_config(seqlen, d_state, dim, backward=False,
                          save_states=False, n_rows=batch * dim,
                          itemsize=itemsize, bc_itemsize=4).n_seg == 1


def bidir_fused_launcher(u: Tensor, delta: Tensor, A: Tensor, B: Tensor,
                         C: Tensor, D: Optional[Tensor], z: Tensor,
                         out: Tensor, out_scale: float = 1.0,
                         dt_proj_weight: Optional[Tensor] = None,
                         delta_bias: Optional[Tensor] = None
                         ) -> Callable[..., Tensor]:
    """Vim's two inference scans and their gated sum in one Triton launch,
    checked once for many calls: returns ``launch(u, delta, A, B, C, D, z,
    out, dt_proj_weight=None, delta_bias=None)`` for tensors with the
    shapes, strides and dtypes of these, which writes ``out = out_scale *
    (y_f + y_b) * silu(z)`` and returns it.

    Args:
        u: (2, batch, L, dim), the forward (0) and reverse (1)
            directions' inputs, channel stride 1.
        delta: the step (bias and softplus applied) with u's shape and
            strides; or, with ``dt_proj_weight``, dt_proj's input (2,
            batch, L, P) fp32 (P a power of two, zeros beyond the rank:
            :func:`~mmmamba.ops.conv_proj.conv1d_silu_proj_launcher`'s
            ``dt_low``), from which the kernel forms the step
            ``softplus(round(dt_proj_weight @ dt) + delta_bias)`` (the
            product rounded to u's dtype, as the dt_proj GEMM's output
            under autocast): no (batch, L, dim) delta in memory.
        A: (2, dim, N) fp32; B, C: (2, batch, L, N) fp32 contiguous; D:
            (2, dim) fp32 or None.
        z, out: (batch, L, dim), channel stride 1.
        dt_proj_weight: (2, dim, P) fp32 or None; delta_bias: (2, dim)
            fp32, given with it.

    Raises:
        ValueError: for any other shapes or layouts (the message names
            the tensor); RuntimeError: no Triton or no GPU, or inputs
            that need a gradient.
    """
    resolve_backend('triton', u.device, A.shape[-1], False)
    if grad_needed(u, delta, A, B, C, D, z, out, dt_proj_weight,
                   delta_bias):
        raise RuntimeError('bidir_fused_launcher computes no gradient; '
                           'call it under torch.no_grad() or use '
                           'bidir_selective_scan')
    from .triton_bidir import BidirFwdLaunch
    return BidirFwdLaunch(u, delta, A, B, C, D, z, out, out_scale,
                          dt_proj_weight, delta_bias)
