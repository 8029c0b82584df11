# Copyright (c) mmmamba contributors. All rights reserved.
"""RECORD, NOT USED: the fast Triton launch path that callB and callC ran as
``mmmamba/ops/_launch.py`` (every ``kernel[grid](...)`` in the launchers was
``launch(kernel, grid, ...)``). It made no measurable end-to-end difference
(``benchmarks/NOTES.md``, 2026-12-04) and relied on Triton internals, so it
was removed before commit. Reconstructed from the session's edits; kept so
that a later attempt starts from it.

Idea: keep, per kernel, the compiled kernel Triton returned for each
*specialisation key* and on a repeat call the compiled kernel's launcher
directly, as ``JITFunction.run`` does after its cache lookup. The key is
finer than Triton's specialisation: a tensor's dtype and 16-byte alignment;
an int's == 1, % 16 and range; floats, bools, None by type/value; keyword
arguments by value; the current device. Under cProfile its launches cost
half of Triton's (0.128 s against 0.256 s for 2420 launches); the Python
key over ~25 arguments cost most of what Triton's binder did.
"""
import os
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from mmmamba.ops._utils import triton_interpret

ENABLED = os.environ.get('MMMAMBA_FAST_LAUNCH', '1') not in ('', '0')
_I32 = 2**31
_I64 = 2**63


class _Uncacheable(Exception):
    """An argument whose specialisation the key does not model."""


def _arg_key(a: Any) -> Any:
    cls = a.__class__
    if cls is int:
        return (a == 1, a % 16 == 0, -_I32 <= a < _I32, a < _I64)
    if cls is float:
        return 'fp32'
    if cls is bool or a is None:
        return a
    if isinstance(a, torch.Tensor):
        return (a.dtype, a.data_ptr() % 16 == 0)
    raise _Uncacheable


class _Launcher:
    """The compiled kernels of one ``@triton.jit`` function, by key."""

    def __init__(self, fn: Any, knobs: Any = None,
                 driver: Any = None) -> None:
        if knobs is None:
            from triton import knobs
        if driver is None:
            from triton.runtime import driver
        self.fn = fn
        self.knobs, self.driver = knobs, driver
        self.names = tuple(fn.arg_names)
        self.cache: Dict[Tuple, Tuple[Any, Tuple[str, ...]]] = {}

    def __call__(self, grid: Tuple[int, ...], args: tuple,
                 kwargs: Dict[str, Any]) -> None:
        knobs, driver = self.knobs, self.driver
        device = driver.active.get_current_device()
        try:
            key = (device, tuple(map(_arg_key, args)),
                   tuple(kwargs.items()))
            hit = self.cache.get(key)
        except (_Uncacheable, TypeError):
            self.fn[grid](*args, **kwargs)
            return
        if hit is None:
            self._miss(key, grid, args, kwargs)
            return
        compiled, by_name = hit
        values = args + tuple(kwargs[n] for n in by_name)
        stream = driver.active.get_current_stream(device)
        enter = knobs.runtime.launch_enter_hook
        exit_ = knobs.runtime.launch_exit_hook
        meta = (compiled.launch_metadata(grid, stream, *values)
                if _hooked(enter) or _hooked(exit_) else None)
        g = tuple(grid) + (1, 1)
        compiled.run(g[0], g[1], g[2], stream, compiled.function,
                     compiled.packed_metadata, meta, enter, exit_, *values)

    def _miss(self, key: Tuple, grid: Tuple[int, ...], args: tuple,
              kwargs: Dict[str, Any]) -> None:
        compiled = self.fn[grid](*args, **kwargs)
        if hasattr(compiled, 'result'):
            compiled = compiled.result()
        by_name = self.names[len(args):]
        if (compiled is not None and all(n in kwargs for n in by_name)
                and all(hasattr(compiled, a) for a in (
                    'run', 'function', 'packed_metadata',
                    'launch_metadata'))):
            self.cache[key] = (compiled, by_name)


def _hooked(hook: Optional[Callable]) -> bool:
    if hook is None:
        return False
    calls = getattr(hook, 'calls', None)
    return calls is None or bool(calls)


_LAUNCHERS: Dict[int, _Launcher] = {}


def launch(kernel: Any, grid: Tuple[int, ...], *args: Any,
           **kwargs: Any) -> None:
    """``kernel[grid](*args, **kwargs)``, on the fast path when possible
    (Triton >= 3.4, not interpreting, ENABLED)."""
    import triton
    major, minor = (int(p) for p in triton.__version__.split('.')[:2])
    if not ENABLED or triton_interpret() or (major, minor) < (3, 4):
        kernel[grid](*args, **kwargs)
        return
    launcher = _LAUNCHERS.get(id(kernel))
    if launcher is None or launcher.fn is not kernel:
        launcher = _LAUNCHERS[id(kernel)] = _Launcher(kernel)
    launcher(grid, args, kwargs)
