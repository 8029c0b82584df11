# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.patch_tokens``: Vim's input tokens (patch conv,
middle class token, position embedding) in one Triton kernel.

The oracle: the patch conv of the 16-bit inputs in float64, plus the bias,
rounded once to the 16-bit dtype (what a GEMM with fp32 accumulation
gives up to its summation order), the class token inserted and the fp32
position embedding added. Tokens may differ from it by one 16-bit ulp
where the exact sum lies next to a rounding boundary, in a small share of
elements.
Tier 1 (CPU): the kernel in the interpreter (TRITON_INTERPRET=1, set by
conftest) at small sizes; the reference backend; the argument checks;
VisionMamba's use of it (when it runs, and its tokens against the unfused
path). Tier 2 (marked ``gpu``): Vim-Ti's sizes against the unfused path.
"""
import pytest
import torch
import torch.nn.functional as F

from mmmamba.models.backbones import vision_mamba as vm
from mmmamba.ops.patch_tokens import patch_tokens, patch_tokens_ref
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter)


def make_inputs(batch, grid, dim, *, channels=3, patch=16, cls=True,
                bias=True, dtype=torch.bfloat16, device='cpu', seed=0):
    g = torch.Generator().manual_seed(seed)
    gh, gw = grid
    n_tok = gh * gw + int(cls)
    return dict(
        x=torch.randn(batch, channels, gh * patch, gw * patch, generator=g),
        weight=(torch.randn(dim, channels, patch, patch, generator=g)
                * 0.05).to(dtype),
        bias=torch.randn(dim, generator=g) * 0.5 if bias else None,
        pos_embed=torch.randn(1, n_tok, dim, generator=g) * 0.02,
        cls_token=torch.randn(1, 1, dim, generator=g) if cls else None,
        patch_size=patch)


def oracle(ins):
    """Float64 conv of the 16-bit values, rounded once (module
    docstring)."""
    dtype = ins['weight'].dtype
    x = ins['x'].to(dtype).double()
    bias = ins['bias']
    tok = F.conv2d(x, ins['weight'].double(),
                   None if bias is None else bias.to(dtype).double(),
                   stride=ins['patch_size'])
    tok = tok.flatten(2).transpose(1, 2).to(dtype).float()
    if ins['cls_token'] is not None:
        c = tok.shape[1] // 2
        tok = torch.cat([tok[:, :c], ins['cls_token'].expand(
            tok.shape[0], -1, -1), tok[:, c:]], dim=1)
    return tok + ins['pos_embed']


def assert_rounding_close(got, want, dtype, pos, max_share=0.01):
    """Equal but for one ``dtype`` ulp of the conv's output (``want``
    less the position embedding ``pos``) in at most ``max_share`` of the
    elements."""
    assert got.dtype == torch.float32 and got.shape == want.shape
    diff = (got - want).abs()
    ulp = torch.finfo(dtype).eps * ((want - pos.to(want.device)).abs()
                                    + 1e-30)
    assert (diff <= 2 * ulp + 1e-6).all(), diff.max()
    assert (diff > 0).float().mean().item() <= max_share


@requires_triton_interpreter
@pytest.mark.parametrize('grid,cls,bias,dtype,channels', [
    ((3, 5), True, True, torch.bfloat16, 3),
    ((4, 4), False, True, torch.float16, 3),
    ((5, 3), True, False, torch.bfloat16, 2),
    ((9, 9), True, True, torch.bfloat16, 3),  # 81 patches: two m tiles
])
def test_kernel_matches_oracle(grid, cls, bias, dtype, channels):
    """Grids that end inside an m tile, with and without the class token
    (odd and even patch counts) and bias, bf16 and fp16, a channel count
    whose pixels end inside a k chunk (2 x 16 x 16 = 512)."""
    ins = make_inputs(2, grid, 96, cls=cls, bias=bias, dtype=dtype,
                      channels=channels)
    got = patch_tokens(**ins, backend='triton')
    assert_rounding_close(got, oracle(ins), dtype, ins['pos_embed'])
    ref = patch_tokens_ref(**ins)
    assert_rounding_close(ref, oracle(ins), dtype, ins['pos_embed'])


@requires_triton_interpreter
def test_kernel_reads_strided_images():
    """A channels-last image and a column-sliced one: the gather follows
    the strides (no copy needed)."""
    ins = make_inputs(2, (3, 4), 64)
    want = oracle(ins)
    x = ins.pop('x')
    got = patch_tokens(x.to(memory_format=torch.channels_last), **ins,
                       backend='triton')
    assert_rounding_close(got, want, torch.bfloat16, ins['pos_embed'])
    wide = torch.cat([x, torch.randn_like(x[..., :16])], dim=-1)
    got = patch_tokens(wide[..., :x.shape[-1]], **ins, backend='triton')
    assert_rounding_close(got, want, torch.bfloat16, ins['pos_embed'])


@requires_triton
def test_argument_checks():
    ins = make_inputs(1, (2, 2), 32)
    with pytest.raises(ValueError, match='unknown backend'):
        patch_tokens(**ins, backend='cuda')
    bad = dict(ins, weight=ins['weight'].float())
    with pytest.raises(ValueError, match='bf16 or fp16'):
        from mmmamba.ops.patch_tokens.triton_kernels import \
            patch_tokens_fwd
        patch_tokens_fwd(**bad)
    # auto falls back to the reference for an fp32 weight
    torch.testing.assert_close(patch_tokens(**bad),
                               patch_tokens_ref(**bad))
    if torch.cuda.is_available():
        return  # the remaining checks run the interpreter on CPU tensors
    with pytest.raises(ValueError, match='multiple of the patch size'):
        patch_tokens(**dict(ins, x=ins['x'][..., :31]), backend='triton')
    with pytest.raises(ValueError, match='pos_embed must be fp32'):
        patch_tokens(**dict(ins, pos_embed=ins['pos_embed'][:, 1:]),
                     backend='triton')
    with pytest.raises(ValueError, match='contiguous'):
        patch_tokens(**dict(ins, weight=ins['weight'][:, :2]),
                     backend='triton')


def _vim(**kwargs):
    model = vm.VisionMamba(arch='tiny', img_size=64, out_type='featmap',
                           **kwargs)
    model.init_weights()
    return model.eval()


@requires_triton_interpreter
@pytest.mark.parametrize('cls,shape', [(True, (64, 80)), (True, (80, 80)),
                                       (False, (48, 64))])
def test_vision_mamba_tokens_fused_and_unfused(cls, shape):
    """VisionMamba's input tokens for inference under bf16 autocast: the
    kernel (with the position embedding resized for another grid) against
    the unfused patch embedding and ``_tokens``."""
    model = _vim(with_cls_token=cls)
    x = torch.randn(2, 3, *shape)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        assert model._fused_tokens_run(x)
        got, grid = model._input_tokens(x)
        try:
            vm.FUSED_TOKENS = False
            assert not model._fused_tokens_run(x)
            want, want_grid = model._input_tokens(x)
        finally:
            vm.FUSED_TOKENS = True
    assert grid == want_grid == (shape[0] // 16, shape[1] // 16)
    assert_rounding_close(got, want, torch.bfloat16,
                          model._pos_embed_for(grid))


@requires_triton_interpreter
def test_vision_mamba_runs_the_kernel_for_inference_only():
    """Not with autograd, not without 16-bit autocast, not for overlapping
    patches; the input checks of the patch embedding still apply."""
    model = _vim()
    x = torch.randn(1, 3, 64, 64)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not model._fused_tokens_run(x)  # grad enabled
        with torch.no_grad():
            assert model._fused_tokens_run(x)
            with pytest.raises(ValueError, match='input channels'):
                model._input_tokens(torch.randn(1, 4, 64, 64))
            with pytest.raises(ValueError, match='not covered'):
                model._input_tokens(torch.randn(1, 3, 64, 70))
    with torch.no_grad():
        assert not model._fused_tokens_run(x)  # no autocast
    overlapping = vm.VisionMamba(arch='tiny', img_size=64, stride=8).eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        assert not overlapping._fused_tokens_run(x)


# ---------------------------------------------------------------- GPU

@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('res,batch', [(1248, 2), (224, 16)])
def test_gpu_vim_ti_tokens(res, batch):
    """Vim-Ti's tokens on the GPU against the unfused path (the patch
    GEMM of ``embed_as_gemm`` and ``_tokens``) and the oracle."""
    model = vm.VisionMamba(arch='tiny', img_size=224).cuda()
    model.init_weights()
    model.eval()
    x = torch.randn(batch, 3, res, res, device='cuda')
    with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16):
        assert model._fused_tokens_run(x)
        got, _ = model._input_tokens(x)
        try:
            vm.FUSED_TOKENS = False
            want, _ = model._input_tokens(x)
        finally:
            vm.FUSED_TOKENS = True
    pos = model._pos_embed_for((res // 16, res // 16))
    assert_rounding_close(got, want, torch.bfloat16, pos)
    proj = model.patch_embed.projection
    ins = dict(x=x[:1].cpu(), weight=proj.weight.bfloat16().cpu(),
               bias=proj.bias.cpu(),
               pos_embed=pos.cpu(),
               cls_token=model.cls_token.cpu(), patch_size=16)
    assert_rounding_close(got[:1].cpu(), oracle(ins), torch.bfloat16, pos)
