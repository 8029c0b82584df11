# Copyright (c) mmmamba contributors. All rights reserved.
"""Element-wise Triton helpers shared by the kernels of several ops.

Importing this module imports triton: only the ``triton_kernels`` modules
do, lazily, when a Triton backend is asked for.
"""
import triton
import triton.language as tl
from triton.language.extra import libdevice

from ._utils import triton_interpret

__all__ = ['log2_1p', 'silu', 'softplus', 'softplus_16bit', 'widen']

# Compiled kernels take log2 and the reciprocal from the special-function
# unit (lg2.approx, div.approx: one MUFU op each); Triton's interpreter has
# no libdevice and uses tl.log2 and IEEE division.
_COMPILED = tl.constexpr(not triton_interpret())


@triton.jit
def log2_1p(e):
    """log2(1 + e) for e in (0, 1]."""
    if _COMPILED:
        return libdevice.fast_log2f(1.0 + e)
    return tl.log2(1.0 + e)


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


@triton.jit
def softplus(x):
    """softplus(x) with torch's beta 1 and threshold 20, in ~15
    instructions instead of ``tl.log``'s ~45 (a software log):
    ``max(x, 0) + log1p(e)`` with ``e = exp(-|x|)``, where ``log1p(e)`` is
    the series ``e - e^2/2 + e^3/3 - e^4/4 + e^5/5`` for ``e < 1/16``
    (relative error below ``e^5 / 6``, 2e-7) and ``ln 2 * log2(1 + e)``
    above, whose MUFU log2 (absolute error about 2^-22) is at least
    ``log2(17/16) = 0.087`` there: relative error below 3e-6 everywhere,
    also for the small deltas (x << 0) where ``log2(1 + e)`` alone would
    lose most of its digits. Offline Triton 3.6 / sm_90 SASS of the
    time-major forward at Vim's tile: 15.8 instead of 18.8 instructions per
    state update (``benchmarks/NOTES.md``)."""
    e = tl.exp2(-tl.abs(x) * 1.4426950408889634)
    series = e * (1.0 + e * (-0.5 + e * (0.3333333333333333 + e * (
        -0.25 + e * 0.2))))
    log1p = tl.where(e < 0.0625, series, log2_1p(e) * 0.6931471805599453)
    return tl.where(x > 20.0, x, tl.maximum(x, 0.0) + log1p)


@triton.jit
def softplus_16bit(x):
    """softplus(x) for a result stored in 16 bits: ``max(x, 0) + ln 2 *
    log2(1 + 2^(-|x| log2 e))`` on the special-function unit, ~6
    instructions instead of :func:`softplus`'s ~15 (which keeps fp32
    accuracy where ``e`` is small). Absolute error below ~2e-7 (the
    hardware log2's), below a bf16 rounding of any result above ~1e-4;
    below that (x < -9) the step is too small to move the scan's state
    by more than that error times ``B u``."""
    e = tl.exp2(-tl.abs(x) * 1.4426950408889634)
    return tl.maximum(x, 0.0) + log2_1p(e) * 0.6931471805599453


#: PTX of the opaque widenings :func:`widen` uses (valid from sm_80 on):
#: the bf16 bits as the high half of an fp32 word, and fp16's conversion.
BF16_TO_F32_PTX = tl.constexpr(
    '{ .reg .b16 z; mov.b16 z, 0; mov.b32 $0, {z, $1}; }')
F16_TO_F32_PTX = tl.constexpr('cvt.f32.f16 $0, $1;')


@triton.jit
def widen(x):
    """``x`` (fp16, bf16 or fp32) as fp32, exactly, by an inline-asm
    conversion in compiled kernels (``x.to(tl.float32)`` in the
    interpreter, which runs no PTX).

    Why not ``.to``: Triton 3.6's layout pass moves a layout conversion
    above an extension op (the narrower type costs fewer bytes to move).
    For a (T, N) tile every thread of a wider tile needs all of (the
    scans' B and C: each thread reads 64-128 of them per chunk), that
    leaves every thread widening all of them itself, ~1.9 integer ops per
    value. The pass does not move a conversion over an opaque element-wise
    op, so after this one the few values each thread loaded are widened
    and the conversion moves fp32 (Triton 3.8 compiles ``.to`` that way by
    itself). Offline sm_90 SASS of the batch-64 time-major scan: 11.12 ->
    8.31 instructions per state update at 165 instead of 168 registers
    (``benchmarks/NOTES.md``, 2026-12-04, seventh part)."""
    if _COMPILED:
        if x.dtype == tl.bfloat16:
            return tl.inline_asm_elementwise(
                BF16_TO_F32_PTX, '=r,h', [x.to(tl.int16, bitcast=True)],
                dtype=tl.float32, is_pure=True, pack=1)
        if x.dtype == tl.float16:
            return tl.inline_asm_elementwise(
                F16_TO_F32_PTX, '=r,h', [x.to(tl.int16, bitcast=True)],
                dtype=tl.float32, is_pure=True, pack=1)
    return x.to(tl.float32)
