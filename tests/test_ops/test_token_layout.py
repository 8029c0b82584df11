# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.token_layout.tokens_to_featmap``: Vim's tokens
(B, T, D) as a contiguous (B, D, Hp, Wp) map without the class token's row.

The oracle is the PyTorch composition (``cat`` and a permuted copy); a
transpose moves values, so the kernel must equal it bit for bit.
Tier 1 (CPU): the kernel in the interpreter (TRITON_INTERPRET=1, set by
conftest) over sizes that end inside its tiles, strided inputs, the checks,
the backend rule, VisionMamba's featmap outputs with and without it.
Tier 2 (marked ``gpu``): Vim-Ti's size on the GPU.
"""
import pytest
import torch

from mmmamba.models.backbones import vision_mamba as vm
from mmmamba.ops.token_layout import tokens_to_featmap, tokens_to_featmap_ref
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter)


@requires_triton_interpreter
@pytest.mark.parametrize('grid,dim,cls', [((3, 5), 100, True),
                                          ((9, 9), 64, True),
                                          ((4, 4), 130, False),
                                          ((1, 1), 8, True)])
def test_kernel_equals_reference(grid, dim, cls):
    """Patch counts and widths that end inside the 64 x 64 tiles, with
    and without a class token (also a grid of one patch)."""
    n = grid[0] * grid[1]
    cls_index = n // 2 if cls else None
    feat = torch.randn(2, n + int(cls), dim).bfloat16()
    got = tokens_to_featmap(feat, grid, cls_index, backend='triton')
    want = tokens_to_featmap_ref(feat, grid, cls_index)
    assert got.shape == (2, dim, *grid) and got.is_contiguous()
    assert torch.equal(got, want)
    if cls:  # the class token's values appear nowhere in the map
        assert not torch.isin(feat[:, cls_index], got).all()


@requires_triton_interpreter
def test_kernel_reads_strided_tokens():
    """A batch- and token-strided view (channel stride 1) and a
    channel-strided one (the auto backend takes the reference there)."""
    big = torch.randn(4, 40, 48)
    feat = big[::2, 3:3 + 21, :32]
    want = tokens_to_featmap_ref(feat, (4, 5), 10)
    assert torch.equal(tokens_to_featmap(feat, (4, 5), 10,
                                         backend='triton'), want)
    strided = big[:, :21, ::2]
    assert torch.equal(tokens_to_featmap(strided, (4, 5), 10),
                       tokens_to_featmap_ref(strided, (4, 5), 10))
    with pytest.raises(ValueError, match='channel stride 1'):
        tokens_to_featmap(strided, (4, 5), 10, backend='triton')


@requires_triton
def test_checks_and_gradients():
    feat = torch.randn(1, 12, 8)
    with pytest.raises(ValueError, match=r'\(B, 13, D\)'):
        tokens_to_featmap(feat, (3, 4), 6)
    with pytest.raises(ValueError, match='unknown backend'):
        tokens_to_featmap(feat, (3, 4), backend='cuda')
    # a tensor that needs a gradient takes the differentiable reference
    leaf = torch.randn(1, 13, 8, requires_grad=True)
    out = tokens_to_featmap(leaf, (3, 4), 6)
    out.sum().backward()
    want = torch.ones(1, 13, 8)
    want[:, 6] = 0
    assert torch.equal(leaf.grad, want)


@requires_triton_interpreter
@pytest.mark.parametrize('cls,source', [(True, 'residual'),
                                        (False, 'mixer')])
def test_vision_mamba_featmap_outputs(cls, source):
    """VisionMamba's 'featmap' outputs (the final norm's and an inner
    layer's) are the same tensors with the kernel as without it."""
    model = vm.VisionMamba(arch=dict(embed_dims=192, num_layers=2),
                           img_size=64, out_type='featmap',
                           with_cls_token=cls,
                           out_indices=(0, 1), feat_source=source).eval()
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        got = model(x)
        try:
            vm.FUSED_TOKENS = False
            want = model(x)
        finally:
            vm.FUSED_TOKENS = True
    assert len(got) == 2
    for g, w in zip(got, want):
        assert g.shape == (2, 192, 4, 3) and g.is_contiguous()
        assert torch.equal(g, w)


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('cls', [True, False])
def test_gpu_vim_ti_featmap(cls):
    n = 78 * 78
    feat = torch.randn(8, n + int(cls), 192, device='cuda').bfloat16()
    idx = n // 2 if cls else None
    got = tokens_to_featmap(feat, (78, 78), idx)
    assert torch.equal(got, tokens_to_featmap_ref(feat, (78, 78), idx))
