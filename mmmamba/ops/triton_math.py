# Copyright (c) mmmamba contributors. All rights reserved.
"""Element-wise Triton helpers shared by the kernels of several ops.

Importing this module imports triton: only the ``triton_kernels`` modules
do, lazily, when a Triton backend is asked for.
"""
import triton
import triton.language as tl
from triton.language.extra import libdevice

from ._utils import triton_interpret

__all__ = ['silu']

# Compiled kernels take the special-function unit's approximate reciprocal;
# Triton's interpreter has no libdevice.
_COMPILED = tl.constexpr(not triton_interpret())


@triton.jit
def silu(a):
    """silu(a) = a / (1 + exp(-a)) in fp32, with the special-function
    unit's exp2 and reciprocal: ~5 instructions where ``a *
    tl.sigmoid(a)``, whose division is IEEE-rounded, takes ~12 (offline
    Triton 3.6 sm_90 SASS, ``benchmarks/NOTES.md``, session of 2026-12-04,
    sixth part). Relative error a few fp32 ulps (the approximate
    reciprocal's 2 ulps on top of the exp2 both versions use), below a
    16-bit rounding and inside the fp32 paths' test tolerances; for ``a``
    below about -87 the result is 0 (``1 + exp(-a)`` beyond 2^126),
    where the true value is below 1e-36 in magnitude. The interpreter
    computes ``a * tl.sigmoid(a)``."""
    if _COMPILED:
        e = tl.exp2(a * -1.4426950408889634)
        return libdevice.fast_dividef(a, 1.0 + e)
    return a * tl.sigmoid(a)
