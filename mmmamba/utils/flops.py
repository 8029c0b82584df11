# Copyright (c) mmmamba contributors. All rights reserved.
"""FLOP counting for mmmamba models with the papers' convention.

Convention (that of the VMamba release, ``analyze/utils.py`` and
``csms6s.flops_selective_scan_fn`` of MzeroMiko/VMamba, following
@albertgu in state-spaces/mamba issue #110):

* Everything but the scan is counted by fvcore's default handles (or
  mmengine's identical ``mmengine.analysis`` ones): one multiply-add is one
  FLOP for ``linear`` / ``matmul`` / ``conv`` / ``einsum``; a LayerNorm /
  GroupNorm costs 5 FLOPs per element (4 without affine), BatchNorm 1 per
  element at inference, adaptive average pooling 1 per input element,
  bilinear upsampling 4 per output element. Element-wise ops (add, mul,
  activations, softplus, exp, RMSNorm's pow/rsqrt) count 0.
* One selective scan over ``u`` (batch B, channels D, length L) with state
  size N costs ``9 * B * L * D * N``, plus ``B * D * L`` for the ``D * u``
  skip when ``D`` is given, plus ``B * D * L`` for the ``silu(z)`` gate when
  ``z`` is given (:func:`selective_scan_flops`). VMamba's four directions are
  one scan with ``D = 4 * d_inner`` (``u`` is (B, 4 * d_inner, L)); Vim's two
  directions are two scans of ``D = d_inner`` each, both gated by z.
* The cross scan and cross merge count 0: they are copies (flip, transpose,
  stack) plus the merge's three additions per element, which the official
  counter never sees (its Triton ``CrossScan`` / ``CrossMerge`` ops have no
  handle). Our reference implementation is built from ``flip`` /
  ``transpose`` / ``stack`` / ``add``, all zero under this convention too.

How the scan is hooked: :func:`mmmamba.ops.selective_scan` runs an
``autograd.Function`` on every backend, which the JIT tracer used by fvcore
and mmengine records as one ``prim::PythonOp.<class name>`` node.
:data:`SCAN_OP_NAMES` lists those names for our three backends;
:func:`selective_scan_flop_jit` is the handle for them. It reads the shapes
of ``u`` and ``A`` and, from the node's calling convention, whether ``D``
and ``z`` were given. The Triton backend's fused bidirectional scan
(:func:`mmmamba.ops.bidir_selective_scan`, one Function for Vim's two
directions) is counted as the two scans it is (:data:`BIDIR_SCAN_OP_NAMES`,
:func:`bidir_selective_scan_flop_jit`); on the other backends that op is
two ``selective_scan`` calls anyway. While counting,
:func:`untraced_scan_internals` pauses the tracer inside those Functions,
so the backends' Python code need not be traceable. :func:`flop_handles`
returns the complete handle dict (scan ops plus the ops the official
counter marks as zero) for
``FlopCountAnalysis(...).set_op_handle(**flop_handles())``;
:func:`count_flops` does the whole analysis.

Only torch is imported at module level; fvcore is imported when counting.
"""
import importlib
from collections import Counter
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterator, List, NamedTuple, Optional,
                    Tuple)

import torch.nn as nn

__all__ = [
    'SCAN_OP_NAMES', 'BIDIR_SCAN_OP_NAMES', 'ZERO_FLOP_OPS',
    'selective_scan_flops', 'selective_scan_flop_jit',
    'bidir_selective_scan_flop_jit', 'flop_handles', 'count_flops',
    'count_params', 'FlopsResult'
]

#: Traced names of the selective-scan autograd Functions: our reference,
#: Triton and mamba-ssm backends (``SelectiveScanFn`` is mamba-ssm's).
SCAN_OP_NAMES = (
    'prim::PythonOp.SelectiveScanRefFn',
    'prim::PythonOp.SelectiveScanTritonFn',
    'prim::PythonOp.SelectiveScanFn',
    # selective_scan_into (Vim's inference, one direction per call): the
    # same argument positions as SelectiveScanTritonFn
    'prim::PythonOp.SelectiveScanIntoTritonFn',
)

#: Traced names of the fused bidirectional scan's autograd Functions.
BIDIR_SCAN_OP_NAMES = ('prim::PythonOp.BidirSelectiveScanTritonFn', )

#: Ops the official counter maps to "no FLOPs" explicitly (as fvcore already
#: ignores relu and permute); registering them silences fvcore's warnings.
ZERO_FLOP_OPS = ('aten::gelu', 'aten::silu', 'aten::neg', 'aten::exp',
                 'aten::flip')

# (module, class) of our scan autograd Functions, whose forward runs with the
# tracer paused while counting (see untraced_scan_internals).
_SCAN_FUNCTIONS = (
    ('mmmamba.ops.selective_scan.reference', 'SelectiveScanRefFn'),
    ('mmmamba.ops.selective_scan.triton', 'SelectiveScanTritonFn'),
    ('mmmamba.ops.selective_scan.triton', 'BidirSelectiveScanTritonFn'),
    ('mmmamba.ops.selective_scan.triton', 'SelectiveScanIntoTritonFn'),
)

# Argument positions of selective_scan's autograd Functions: (u, delta, A, B,
# C, D, z, delta_bias, delta_softplus, return_last_state).
_ARG_D, _ARG_Z = 5, 6
# Of the bidirectional Function: (u, delta, A, B, C, D, delta_bias) of each
# direction, then z, delta_softplus, out_scale.
_BIDIR_DIR_ARGS, _BIDIR_ARG_D, _BIDIR_ARG_Z = 7, 5, 14


def selective_scan_flops(batch: int,
                         dim: int,
                         seqlen: int,
                         d_state: int,
                         with_d: bool = True,
                         with_z: bool = False) -> int:
    """FLOPs of one selective scan (mamba issue #110 / VMamba convention).

    ``9 * B * L * D * N`` for the recurrence and the output contraction,
    ``+ B * D * L`` for the ``D * u`` skip, ``+ B * D * L`` for the z gate.

    Args:
        batch (int): B.
        dim (int): channels D of ``u`` (all directions of one call).
        seqlen (int): L.
        d_state (int): N.
        with_d (bool): the skip term ``D * u`` is computed.
        with_z (bool): the output is gated by ``silu(z)``.

    Returns:
        int: the FLOP count.
    """
    flops = 9 * batch * seqlen * dim * d_state
    if with_d:
        flops += batch * dim * seqlen
    if with_z:
        flops += batch * dim * seqlen
    return flops


def _sizes(value: Any) -> Optional[List[int]]:
    try:
        return list(value.type().sizes())
    except (AttributeError, RuntimeError):
        return None


def _given_args(outputs: List[Any], num_inputs: int) -> Optional[List[bool]]:
    """Which of the Function's arguments were tensors (``d`` in the traced
    calling convention) rather than constants such as None (``c``)."""
    try:
        cconv = outputs[0].node().cconv()
    except (AttributeError, IndexError, RuntimeError):
        return None
    if cconv.count('d') != num_inputs:
        return None
    return [c == 'd' for c in cconv]


def selective_scan_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """fvcore / mmengine op handle for the traced selective scan.

    ``inputs`` are the traced tensor arguments in order: ``u`` (B, D, L)
    first and ``A`` (D, N) third. Whether ``D`` and ``z`` were given is read
    from the node's calling convention; if that is unavailable, ``D`` is
    assumed given and ``z`` is detected as a further (B, D, L) input.

    Args:
        inputs (list): the node's input values (``torch._C.Value``).
        outputs (list): the node's output values.

    Returns:
        int: :func:`selective_scan_flops` of the call.
    """
    u_shape, a_shape = _sizes(inputs[0]), _sizes(inputs[2])
    if u_shape is None or len(u_shape) != 3 or a_shape is None:
        raise ValueError('selective_scan_flop_jit: expected u (B, D, L) and '
                         f'A (D, N) as inputs 0 and 2, got {u_shape} and '
                         f'{a_shape}')
    batch, dim, seqlen = u_shape
    d_state = a_shape[1]
    given = _given_args(outputs, len(inputs))
    if given is not None:
        with_d = len(given) > _ARG_D and given[_ARG_D]
        with_z = len(given) > _ARG_Z and given[_ARG_Z]
    else:
        with_d = True
        with_z = any(_sizes(v) == u_shape for v in inputs[5:])
    return selective_scan_flops(batch, dim, seqlen, d_state, with_d, with_z)


def bidir_selective_scan_flop_jit(inputs: List[Any],
                                  outputs: List[Any]) -> int:
    """fvcore / mmengine op handle for the traced bidirectional scan: the
    FLOPs of its two scans (:func:`selective_scan_flops` each, both gated
    by z when it is given), as two ``selective_scan`` calls would count.

    The node's tensor inputs are the given tensors among (u, delta, A, B,
    C, D, delta_bias) per direction and z; which were given is read from
    its calling convention (if unavailable: both D and z given).
    """
    given = _given_args(outputs, len(inputs))
    if given is None:  # assume every optional tensor was given
        given = [True] * (2 * _BIDIR_DIR_ARGS + 1)
    index = [sum(given[:i]) for i in range(len(given))]  # arg -> input
    with_z = len(given) > _BIDIR_ARG_Z and given[_BIDIR_ARG_Z]
    flops = 0
    for first in (0, _BIDIR_DIR_ARGS):
        u_shape = _sizes(inputs[index[first]])
        a_shape = _sizes(inputs[index[first + 2]])
        if u_shape is None or len(u_shape) != 3 or a_shape is None:
            raise ValueError('bidir_selective_scan_flop_jit: expected u '
                             f'(B, D, L) and A (D, N), got {u_shape} and '
                             f'{a_shape}')
        flops += selective_scan_flops(*u_shape, a_shape[1],
                                      given[first + _BIDIR_ARG_D], with_z)
    return flops


def _zero_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    return 0


def flop_handles() -> Dict[str, Optional[Callable]]:
    """Op handles to add to fvcore's / mmengine's defaults.

    Returns:
        dict: ``{traced op name: handle or None}``; None means "no FLOPs,
        known". Use as ``FlopCountAnalysis(model, inputs)
        .set_op_handle(**flop_handles())``.
    """
    handles: Dict[str, Optional[Callable]] = {
        name: None
        for name in ZERO_FLOP_OPS
    }
    for name in SCAN_OP_NAMES:
        handles[name] = selective_scan_flop_jit
    for name in BIDIR_SCAN_OP_NAMES:
        handles[name] = bidir_selective_scan_flop_jit
    return handles


def _paused_tracing(forward: Callable) -> Callable:

    def wrapper(*args, **kwargs):
        import torch
        state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            return forward(*args, **kwargs)
        finally:
            torch._C._set_tracing_state(state)

    return wrapper


@contextmanager
def untraced_scan_internals() -> Iterator[None]:
    """Run the scan autograd Functions' ``forward`` with the JIT tracer
    paused, for as long as the context is active.

    The tracer still records each call as one ``prim::PythonOp`` node with
    its input and output shapes, which is all the FLOP handle needs, but it
    no longer follows the backend's Python code, where tensor sizes would be
    traced values instead of ints (e.g. ``divmod(length, chunk)`` fails).
    FLOP counting therefore does not depend on how a backend is written.
    Backends that cannot be imported here (Triton without triton) are
    skipped.
    """
    patched = []
    for module_name, class_name in _SCAN_FUNCTIONS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        original = cls.__dict__['forward']
        cls.forward = staticmethod(_paused_tracing(original.__func__))
        patched.append((cls, original))
    try:
        yield
    finally:
        for cls, original in patched:
            cls.forward = original


def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model`` (shared ones counted once)."""
    return sum(p.numel() for p in model.parameters())


class FlopsResult(NamedTuple):
    """Result of :func:`count_flops`.

    Attributes:
        total (int): all counted FLOPs.
        scan (int): the part spent in selective scans.
        by_operator (dict): FLOPs per traced op name.
        by_module (dict): FLOPs per module name ('' is the whole model).
        uncounted (dict): ops the counter saw but has no handle for
            (counted as 0 by convention), with how often they occurred.
    """
    total: int
    scan: int
    by_operator: Dict[str, int]
    by_module: Dict[str, int]
    uncounted: Dict[str, int]


def count_flops(model: nn.Module, inputs: Tuple[Any, ...]) -> FlopsResult:
    """Count the FLOPs of ``model(*inputs)`` with the papers' convention.

    The model is traced once by fvcore (under ``torch.no_grad``); put it in
    eval mode first if that matters (dropout, BN).

    Args:
        model (nn.Module): the model; its ``forward`` must be traceable.
        inputs (tuple): positional inputs of ``forward``.

    Returns:
        FlopsResult: totals and breakdowns.
    """
    import torch
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, inputs)
    analysis.set_op_handle(**flop_handles())
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings('none')
    try:
        with torch.no_grad(), untraced_scan_internals():
            by_operator = dict(analysis.by_operator())
    except Exception as err:
        raise RuntimeError(
            'count_flops: torch.jit tracing of the model failed '
            f'({type(err).__name__}: {err}). Every op on the forward path, '
            'including the selective-scan backend that runs on this device, '
            'must be traceable (under tracing, tensor sizes are traced '
            'values: keep them out of divmod/range, or convert with int())'
        ) from err
    # fvcore reports 'prim::PythonOp.X' as 'PythonOp.X'
    scan_names = SCAN_OP_NAMES + BIDIR_SCAN_OP_NAMES
    scan_keys = set(scan_names) | {n.split('::', 1)[1] for n in scan_names}
    scan = sum(v for k, v in by_operator.items() if k in scan_keys)
    return FlopsResult(
        total=int(analysis.total()),
        scan=int(scan),
        by_operator={
            k: int(v)
            for k, v in by_operator.items()
        },
        by_module={
            k: int(v)
            for k, v in analysis.by_module().items()
        },
        uncounted=dict(Counter(analysis.unsupported_ops())))
