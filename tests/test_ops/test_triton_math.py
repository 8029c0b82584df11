# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.triton_math``'s exp2 on the FMA pipe.

CPU (CI): the interpreter runs the polynomial for every value; it is
checked bit for bit against a float32 simulation of the algorithm written
here from its constants, and against float64 ``exp2``. GPU: the compiled
inline PTX (one value in every EVERY on the FMA pipe, the others on the
special-function unit) against float64 ``exp2``.
"""
import numpy as np
import pytest
import torch

from mmmamba.testing import requires_cuda, requires_triton_interpreter

triton = pytest.importorskip('triton')
tl = pytest.importorskip('triton.language')

from mmmamba.ops import triton_math  # noqa: E402


@triton.jit
def _exp2_kernel(x_ptr, y_ptr, n, EVERY: tl.constexpr,
                 BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    tl.store(y_ptr + offs, triton_math.exp2_fma_mix(x, EVERY), mask=mask)


def _exp2(x: torch.Tensor, every: int) -> torch.Tensor:
    y = torch.empty_like(x)
    _exp2_kernel[(triton.cdiv(x.numel(), 256), )](x, y, x.numel(),
                                                  EVERY=every, BLOCK=256)
    return y


def _inputs(device: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.cat([
        -130 * torch.rand(20000, generator=g),  # decays, some below -126
        -torch.rand(4000, generator=g),  # steps near 0 (decays near 1)
        127 * torch.rand(1000, generator=g),
        torch.tensor([0.0, -0.5, 0.5, -125.5, -126.0, -126.4, -300.0,
                      -1e-30, 126.9]),
    ])
    return x.to(device)


def _simulate(x: np.ndarray) -> np.ndarray:
    """The interpreter's algorithm in float32 numpy, from the module's
    coefficients: clamp, magic-number rounding, Horner steps (a product
    and a sum, each rounded, as the interpreter computes ``p * r + c``),
    the exponent added to the bits."""
    f32 = np.float32
    c = [f32(v) for v in triton_math._EXP2_C]
    r = np.maximum(x, f32(-126.0))
    t = r + f32(12582912.0)
    r = r - (t - f32(12582912.0))
    p = c[5] * r + c[4]
    for k in (3, 2, 1, 0):
        p = p * r + c[k]
    bits = p.view(np.int32) + (t.view(np.int32) << np.int32(23))
    return bits.view(np.float32)


def _rel_err_vs_exp2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    want = torch.exp2(x.double().clamp_min(-126.0))
    return ((y.double() - want).abs() / want)


@requires_triton_interpreter
def test_interpreter_polynomial_is_the_algorithm_and_close_to_exp2():
    x = _inputs('cpu')
    y = _exp2(x, 8)  # the interpreter: the polynomial for every value
    np.testing.assert_array_equal(y.numpy().view(np.int32),
                                  _simulate(x.numpy()).view(np.int32))
    assert _rel_err_vs_exp2(y, x).max().item() < 2.5e-7
    # below -126 the polynomial clamps (2^-126), where ex2.approx.ftz
    # flushes to 0: both negligible against any state they multiply
    assert (y[x < -126] == 2.0**-126).all()
    # NaN stays NaN (no silent finite decay)
    nan = _exp2(torch.tensor([float('nan'), -1.0]), 8)
    assert torch.isnan(nan[0]) and not torch.isnan(nan[1])


@requires_triton_interpreter
def test_every_zero_is_exp2():
    """EVERY = 0 is ``tl.exp2`` itself (the interpreter's, within a few
    ulps of float64 exp2), not the polynomial."""
    x = _inputs('cpu')
    y = _exp2(x, 0)
    ok = x >= -126
    assert _rel_err_vs_exp2(y[ok], x[ok]).max().item() < 4e-6
    assert (y.numpy().view(np.int32)
            != _simulate(x.numpy()).view(np.int32)).any()


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('every', [2, 4, 8, 16])
def test_gpu_mix_is_close_to_exp2(every):
    x = _inputs('cuda')
    y = _exp2(x, every)
    ok = x >= -126
    assert _rel_err_vs_exp2(y[ok], x[ok]).max().item() < 4e-7
    # below -126 each value is 2^-126 (polynomial) or 0 (the unit's ftz)
    low = y[~ok]
    assert ((low == 0) | (low == 2.0**-126)).all()
    # both paths occur: some values are bit-different from the unit's
    plain = _exp2(x, 0)
    assert (y[ok] != plain[ok]).any()
    nan = _exp2(torch.tensor([float('nan')] * 32, device='cuda'), every)
    assert torch.isnan(nan).all()
