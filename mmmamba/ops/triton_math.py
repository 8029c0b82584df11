# Copyright (c) mmmamba contributors. All rights reserved.
"""Element-wise Triton helpers shared by the kernels of several ops.

Importing this module imports triton: only the ``triton_kernels`` modules
do, lazily, when a Triton backend is asked for.
"""
import struct

import triton
import triton.language as tl
from triton.language.extra import libdevice

from ._utils import triton_interpret

__all__ = ['exp2_fma_mix', 'exp2_fma_poly', 'log2_1p', 'silu', 'softplus',
           'softplus_16bit', 'widen']

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


# exp2 on the FMA pipe (:func:`exp2_fma_poly`): 2^x = 2^j 2^r with j the
# nearest integer to x (the magic-number rounding: x + 1.5 * 2^23 keeps j
# in its low mantissa bits) and r = x - j in [-0.5, 0.5], 2^r by a
# degree-5 polynomial fitted to the relative error on that interval
# (Lawson-weighted least squares, p(0) = 1; max relative error 9.1e-8 in
# exact arithmetic, 1.7e-7 in fp32 Horner steps, against 2^-22 for the
# special-function unit's ex2.approx), and 2^j added to the exponent
# field as j << 23 (the magic number's own bits shift out of the word).
# x is clamped below at -126 (the result then 2^-126 where ex2.approx.ftz
# flushes to 0); valid for x < 128.
_EXP2_C = (1.0, 0.6931470036506653, 0.24022242426872253,
           0.05550733581185341, 0.009671512991189957,
           0.001326472731307149)


def _ptx_f32(v: float) -> str:
    """A PTX fp32 immediate (``0f`` and the IEEE bits in hex)."""
    return '0f%08X' % struct.unpack('<I', struct.pack('<f', v))[0]


def _exp2_mix_ptx(every: int) -> str:
    """PTX of one :func:`exp2_fma_mix` instance of ``every`` values
    (outputs $0 .. $every-1, inputs after them, all 32-bit): the special
    function unit's ex2 for the first ``every - 1``, the FMA-pipe
    polynomial for the last."""
    n = every
    c = [_ptx_f32(v) for v in _EXP2_C]
    lines = ['{', f'.reg .f32 x<{n}>, y<{n}>, r, t, j, p;',
             '.reg .b32 tb, pb;']
    lines += [f'mov.b32 x{k}, ${n + k};' for k in range(n)]
    lines += [f'ex2.approx.ftz.f32 y{k}, x{k};' for k in range(n - 1)]
    last = n - 1
    lines += [
        f'max.NaN.f32 r, x{last}, 0fC2FC0000;',
        'add.rn.f32 t, r, 0f4B400000;',
        'sub.rn.f32 j, t, 0f4B400000;',
        'sub.rn.f32 r, r, j;',
        f'fma.rn.f32 p, r, {c[5]}, {c[4]};',
        f'fma.rn.f32 p, p, r, {c[3]};',
        f'fma.rn.f32 p, p, r, {c[2]};',
        f'fma.rn.f32 p, p, r, {c[1]};',
        f'fma.rn.f32 p, p, r, {c[0]};',
        'mov.b32 tb, t;', 'mov.b32 pb, p;', 'shl.b32 tb, tb, 23;',
        'add.s32 pb, pb, tb;', f'mov.b32 y{last}, pb;']
    lines += [f'mov.b32 ${k}, y{k};' for k in range(n)]
    lines.append('}')
    return ' '.join(lines)


EXP2_MIX_PTX_2 = tl.constexpr(_exp2_mix_ptx(2))
EXP2_MIX_PTX_4 = tl.constexpr(_exp2_mix_ptx(4))
EXP2_MIX_PTX_8 = tl.constexpr(_exp2_mix_ptx(8))
EXP2_MIX_PTX_16 = tl.constexpr(_exp2_mix_ptx(16))


def _constraints(every: int) -> str:
    return ','.join(['=r'] * every + ['r'] * every)


EXP2_MIX_CONS_2 = tl.constexpr(_constraints(2))
EXP2_MIX_CONS_4 = tl.constexpr(_constraints(4))
EXP2_MIX_CONS_8 = tl.constexpr(_constraints(8))
EXP2_MIX_CONS_16 = tl.constexpr(_constraints(16))


@triton.jit
def exp2_fma_poly(x):
    """2^x for fp32 ``x`` < 128 on the FMA pipe (no special-function
    unit): the algorithm of :func:`exp2_fma_mix`'s polynomial lane in
    Triton operations, which is what the interpreter runs for every value
    (so CPU tests cover the polynomial). Relative error below 2e-7; x
    clamped below at -126."""
    r = tl.maximum(x, -126.0, propagate_nan=tl.PropagateNan.ALL)
    t = r + 12582912.0
    j = t - 12582912.0
    r = r - j
    p = 0.001326472731307149 * r + 0.009671512991189957
    p = p * r + 0.05550733581185341
    p = p * r + 0.24022242426872253
    p = p * r + 0.6931470036506653
    p = p * r + 1.0
    bits = p.to(tl.int32, bitcast=True) + (t.to(tl.int32, bitcast=True)
                                            << 23)
    return bits.to(tl.float32, bitcast=True)


@triton.jit
def exp2_fma_mix(x, EVERY: tl.constexpr):
    """``tl.exp2(x)`` (fp32) with one value in every ``EVERY`` (2, 4, 8
    or 16) computed by a polynomial on the FMA pipe instead of the
    special-function unit (0: all on the unit, ``tl.exp2``).

    Why: a warp's MUFU op takes 8 issue cycles of an H100 scheduler's
    quarter of the unit; the batch-8 scans issue ~5-8 other instructions
    per exp2, so the unit bounds them, while the polynomial (~10 FMA-pipe
    instructions) only adds issue slots. Moving a fraction of the exp2
    from the saturated pipe to the idle one balances the two
    (``benchmarks/NOTES.md``, 2026-12-06, fifth part). Compiled: inline
    PTX over ``EVERY`` of a thread's values at once (``pack``), the last
    one polynomial; which value of the thread's that is does not matter.
    Interpreter (no PTX): the polynomial for every value
    (:func:`exp2_fma_poly`). Both agree with ``exp2`` to ~2e-7
    relative."""
    # one return at the end: Triton 3.6 compiles the statements after a
    # return inside a compile-time branch too
    if EVERY == 0:
        y = tl.exp2(x)
    elif not _COMPILED:
        y = exp2_fma_poly(x)
    elif EVERY == 2:
        y = tl.inline_asm_elementwise(
            EXP2_MIX_PTX_2, EXP2_MIX_CONS_2, [x.to(tl.int32, bitcast=True)],
            dtype=tl.float32, is_pure=True, pack=2)
    elif EVERY == 4:
        y = tl.inline_asm_elementwise(
            EXP2_MIX_PTX_4, EXP2_MIX_CONS_4, [x.to(tl.int32, bitcast=True)],
            dtype=tl.float32, is_pure=True, pack=4)
    elif EVERY == 8:
        y = tl.inline_asm_elementwise(
            EXP2_MIX_PTX_8, EXP2_MIX_CONS_8, [x.to(tl.int32, bitcast=True)],
            dtype=tl.float32, is_pure=True, pack=8)
    else:
        tl.static_assert(EVERY == 16,
                         'exp2_fma_mix: EVERY in 0, 2, 4, 8, 16')
        y = tl.inline_asm_elementwise(
            EXP2_MIX_PTX_16, EXP2_MIX_CONS_16,
            [x.to(tl.int32, bitcast=True)], dtype=tl.float32, is_pure=True,
            pack=16)
    return y
