# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of the cross scan / cross merge ops (VMamba SS2D unfold/fold)."""
import pytest
import torch

from mmmamba.ops import (check_cross_scan_backend, cross_merge,
                         cross_merge_ref, cross_scan, cross_scan_ref)
from mmmamba.testing import requires_cuda

SIZES = [(1, 1), (1, 5), (4, 1), (3, 5), (6, 4), (7, 7)]


def _scan_by_index(x: torch.Tensor) -> torch.Tensor:
    """Independent oracle: build the 4 sequences element by element."""
    B, C, H, W = x.shape
    L = H * W
    out = x.new_zeros(B, 4, C, L)
    for h in range(H):
        for w in range(W):
            out[:, 0, :, h * W + w] = x[:, :, h, w]
            out[:, 1, :, w * H + h] = x[:, :, h, w]
            out[:, 2, :, L - 1 - (h * W + w)] = x[:, :, h, w]
            out[:, 3, :, L - 1 - (w * H + h)] = x[:, :, h, w]
    return out


def _merge_by_index(y: torch.Tensor, H: int, W: int) -> torch.Tensor:
    B, _, C, L = y.shape
    out = y.new_zeros(B, C, H, W)
    for h in range(H):
        for w in range(W):
            out[:, :, h, w] = (
                y[:, 0, :, h * W + w] + y[:, 1, :, w * H + h] +
                y[:, 2, :, L - 1 - (h * W + w)] + y[:, 3, :, L - 1 -
                                                    (w * H + h)])
    return out.flatten(2)


@pytest.mark.parametrize('H,W', SIZES)
def test_cross_scan_matches_index_oracle(H, W):
    x = torch.randn(2, 3, H, W)
    y = cross_scan(x)
    assert y.shape == (2, 4, 3, H * W)
    assert torch.equal(y, _scan_by_index(x))


@pytest.mark.parametrize('H,W', SIZES)
def test_cross_merge_matches_index_oracle(H, W):
    y = torch.randn(2, 4, 3, H * W, dtype=torch.float64)
    out = cross_merge(y, H, W)
    assert out.shape == (2, 3, H * W)
    torch.testing.assert_close(out, _merge_by_index(y, H, W))
    # the 5-D form needs no H, W
    torch.testing.assert_close(
        cross_merge(y.view(2, 4, 3, H, W)), _merge_by_index(y, H, W))


@pytest.mark.parametrize('H,W', [(3, 5), (4, 4)])
def test_merge_is_adjoint_of_scan(H, W):
    # <scan(x), y> == <x, merge(y)>: merge is the transpose of scan, which
    # is what their gradients must be
    x = torch.randn(2, 3, H, W, dtype=torch.float64)
    y = torch.randn(2, 4, 3, H * W, dtype=torch.float64)
    lhs = (cross_scan(x) * y).sum()
    rhs = (x.flatten(2) * cross_merge(y, H, W)).sum()
    torch.testing.assert_close(lhs, rhs)
    # and merging a scan sums 4 copies of every pixel
    torch.testing.assert_close(
        cross_merge(cross_scan(x), H, W), 4 * x.flatten(2))


def test_gradcheck():
    x = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 4, 2, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(cross_scan_ref, (x, ))
    assert torch.autograd.gradcheck(lambda t: cross_merge_ref(t, 3, 4), (y, ))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_dtype_preserved(dtype):
    x = torch.randn(1, 2, 3, 4).to(dtype)
    assert cross_scan(x).dtype == dtype
    assert cross_merge(cross_scan(x), 3, 4).dtype == dtype


def test_errors():
    with pytest.raises(ValueError, match='unknown cross-scan backend'):
        check_cross_scan_backend('fused')
    with pytest.raises(ValueError, match='unknown cross-scan backend'):
        cross_scan(torch.randn(1, 2, 3, 4), backend='triton')
    assert check_cross_scan_backend('reference') == 'reference'
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        cross_scan(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match='needs H and W'):
        cross_merge(torch.randn(1, 4, 2, 12))
    with pytest.raises(ValueError, match='H\\*W'):
        cross_merge(torch.randn(1, 4, 2, 12), 3, 5)
    with pytest.raises(ValueError, match='4 directions'):
        cross_merge(torch.randn(1, 2, 2, 12), 3, 4)
    with pytest.raises(ValueError, match='disagree'):
        cross_merge(torch.randn(1, 4, 2, 3, 4), 4, 3)


@requires_cuda
@pytest.mark.gpu
def test_auto_on_cuda_matches_cpu():
    x = torch.randn(2, 3, 5, 7)
    y = cross_scan(x.cuda())
    assert torch.equal(y.cpu(), cross_scan_ref(x))
    torch.testing.assert_close(
        cross_merge(y, 5, 7).cpu(), cross_merge_ref(cross_scan_ref(x), 5, 7))
