# Copyright (c) mmmamba contributors. All rights reserved.
"""Probes for optional backends, and the ``torch.compile`` helpers of the ops.

Importing this module imports neither triton nor mamba-ssm; each probe imports
on first use and caches the answer.

The probes run their imports once, in plain Python, and are marked as
``torch.compiler.assume_constant_result`` marks functions: under
``torch.compile`` Dynamo calls them instead of tracing ``importlib`` (which
would break the graph) and uses their answer as a constant, which it is for
the life of the process.

:func:`custom_op`, :func:`register_fake` and :func:`register_autograd` wrap
the ``torch.library`` functions of the same names (torch >= 2.4); on older
torch they do nothing and :func:`use_custom_ops` is always False, so the ops
run as plain autograd Functions (with graph breaks under ``torch.compile``).
"""
import functools
import importlib
import os
from typing import Callable, Iterable, Optional

import torch

__all__ = [
    'is_triton_available', 'is_mamba_ssm_cuda_available', 'triton_interpret',
    'HAS_CUSTOM_OPS', 'custom_op', 'register_fake', 'register_autograd',
    'is_compiling', 'use_custom_ops', 'grad_needed', 'cdiv', 'next_power_of_2',
    'persistent_programs'
]

#: Whether ``torch.library.custom_op`` and its companions exist (torch 2.4+).
HAS_CUSTOM_OPS = all(
    hasattr(torch.library, name)
    for name in ('custom_op', 'register_fake', 'register_autograd'))


def _constant_result(fn: Callable) -> Callable:
    """Mark ``fn`` as ``torch.compiler.assume_constant_result`` does.

    That function only sets this attribute, but it imports ``torch._dynamo``
    first (over a second, and triton with it); setting the attribute here
    keeps ``import mmmamba`` light. Torch without Dynamo ignores it.
    """
    fn._dynamo_marked_constant = True
    return fn


@functools.lru_cache(maxsize=None)
def _imports(*modules: str) -> bool:
    """Whether all ``modules`` import (the answer is cached)."""
    try:
        for module in modules:
            importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True


@_constant_result
def is_triton_available() -> bool:
    """Whether ``triton`` imports (it may still have no active GPU driver)."""
    return _imports('triton', 'triton.language')


@_constant_result
def is_mamba_ssm_cuda_available() -> bool:
    """Whether mamba-ssm's compiled selective scan imports.

    ``import mamba_ssm`` alone is not enough: since mamba-ssm made its CUDA build
    opt-in, the Python package installs without ``selective_scan_cuda``.
    """
    return _imports('selective_scan_cuda',
                    'mamba_ssm.ops.selective_scan_interface')


def cdiv(a: int, b: int) -> int:
    """``ceil(a / b)`` for ints, as ``triton.cdiv``, for the launchers'
    host code: in Triton 3.6 ``triton.cdiv`` is a constexpr function, and
    each host call goes through its argument unwrapping (20 Vim-Ti
    forwards made ~10000 such calls, ~7% of their profiled host time;
    ``benchmarks/NOTES.md``, 2026-12-04)."""
    return -(-a // b)


def next_power_of_2(n: int) -> int:
    """The smallest power of two >= ``n`` (n >= 1), as
    ``triton.next_power_of_2`` (see :func:`cdiv` for why not that)."""
    return 1 << max(n - 1, 0).bit_length()


@functools.lru_cache(maxsize=None)
def _sm_count(index: int) -> int:
    return torch.cuda.get_device_properties(index).multi_processor_count


def persistent_programs(device: torch.device, n_items: int,
                        per_sm: int) -> int:
    """How many programs a kernel that walks ``n_items`` work items in a
    loop (each program a contiguous range, one partial result per program)
    launches: at most ``per_sm`` per SM of ``device`` and at most one per
    item; a few in Triton's CPU interpreter."""
    if device.type == 'cuda':
        index = device.index if device.index is not None else \
            torch.cuda.current_device()
        return max(1, min(n_items, _sm_count(index) * per_sm))
    return max(1, min(n_items, 4))


def triton_interpret() -> bool:
    """Whether Triton kernels run in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get('TRITON_INTERPRET', '0') not in ('', '0')


def is_compiling() -> bool:
    """Whether ``torch.compile`` (Dynamo) is tracing the caller."""
    compiler = getattr(torch, 'compiler', None)
    if compiler is not None and hasattr(compiler, 'is_compiling'):
        return compiler.is_compiling()
    dynamo = getattr(torch, '_dynamo', None)
    if dynamo is not None and hasattr(dynamo, 'is_compiling'):
        return dynamo.is_compiling()
    return False


def use_custom_ops() -> bool:
    """Whether the scan should go through its ``torch.library`` custom ops.

    True while ``torch.compile`` traces (on torch >= 2.4): the ops are then
    single opaque nodes of the graph, with shape functions for tracing and a
    registered backward. Eager calls keep using the backends' autograd
    Functions, whose single ``prim::PythonOp`` node FLOP counting relies on
    (:mod:`mmmamba.utils.flops`); both paths run the same forward and
    backward code.
    """
    return HAS_CUSTOM_OPS and is_compiling()


def custom_op(name: str,
              mutates_args: Iterable[str] = ()) -> Callable[[Callable],
                                                            Callable]:
    """``torch.library.custom_op(name, mutates_args=...)`` as a decorator;
    returns the function unchanged on torch without custom ops."""
    if not HAS_CUSTOM_OPS:
        return lambda fn: fn
    return torch.library.custom_op(name, mutates_args=tuple(mutates_args))


def register_fake(op: Callable) -> Callable[[Callable], Callable]:
    """``torch.library.register_fake(op)`` as a decorator (a no-op without
    custom ops)."""
    if not HAS_CUSTOM_OPS:
        return lambda fn: fn
    return torch.library.register_fake(op)


def register_autograd(op: Callable,
                      backward: Callable,
                      setup_context: Optional[Callable] = None) -> None:
    """``torch.library.register_autograd`` (a no-op without custom ops)."""
    if HAS_CUSTOM_OPS:
        torch.library.register_autograd(
            op, backward, setup_context=setup_context)


def grad_needed(*tensors: Optional[torch.Tensor]) -> bool:
    """Whether a differentiable op on ``tensors`` must record a backward:
    grad mode is on and one of them (``None`` ignored) requires grad. The
    ops use it to decide whether to save what their backward reads, and
    the forward-only ops to refuse a call that would need one."""
    return torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in tensors)
