# Copyright (c) mmmamba contributors. All rights reserved.
"""VimPatchEmbed's GEMM path against its conv."""
import pytest
import torch

from mmmamba.models.layers.embed import VimPatchEmbed
from mmmamba.testing import requires_cuda


def _embed_and_image(device='cpu', patch=16, stride=16):
    torch.manual_seed(0)
    embed = VimPatchEmbed(3, 24, patch, stride).to(device)
    x = torch.randn(2, 3, 4 * patch, 3 * patch, device=device)
    return embed, x


def _conv_tokens(embed, x):
    return embed.projection(x).flatten(2).transpose(1, 2)


def test_gemm_equals_conv_with_gradients():
    """Same tokens (grid order, channels) and the same gradients for the
    image and the conv's weight and bias, fp32, up to summation order."""
    embed, x = _embed_and_image()
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    ref = _conv_tokens(embed, x1)
    got = embed.embed_as_gemm(x2)
    assert got.shape == (2, 12, 24)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(ref)
    want = torch.autograd.grad(ref, [x1, *embed.parameters()], grad)
    have = torch.autograd.grad(got, [x2, *embed.parameters()], grad)
    for w, h in zip(want, have):
        torch.testing.assert_close(h, w, rtol=1e-5, atol=1e-4)


def test_gemm_under_autocast_takes_the_autocast_dtype():
    """Under autocast the tokens come out in its dtype and match the conv
    run under the same autocast to bf16 rounding."""
    embed, x = _embed_and_image()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        ref = _conv_tokens(embed, x)
        got = embed.embed_as_gemm(x)
    assert got.dtype == ref.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), ref.float(), rtol=2e-2,
                               atol=2e-2)


def test_forward_picks_the_gemm_on_cuda_only():
    embed, x = _embed_and_image()
    assert not embed.uses_gemm(x)  # CPU: the conv, as before
    overlapping = VimPatchEmbed(3, 24, 16, 8)
    with pytest.raises(ValueError, match='non-overlapping'):
        overlapping.embed_as_gemm(x)


@pytest.mark.gpu
@requires_cuda
def test_cuda_forward_runs_the_gemm_and_matches_the_conv(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda.matmul, 'allow_tf32', False)
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    embed, x = _embed_and_image('cuda')
    assert embed.uses_gemm(x)
    tokens, grid = embed(x)
    assert grid == (4, 3)
    torch.testing.assert_close(tokens, _conv_tokens(embed, x), rtol=1e-5,
                               atol=1e-5)
    with torch.autocast('cuda', dtype=torch.bfloat16):
        tokens, _ = embed(x)
        ref = _conv_tokens(embed, x)
    assert tokens.dtype == torch.bfloat16
    torch.testing.assert_close(tokens.float(), ref.float(), rtol=2e-2,
                               atol=2e-2)


def test_gemm_compiles_without_graph_breaks():
    """torch.compile(fullgraph=True) traces the GEMM path, autocast's
    dtype query included (the backbone's compiled mode needs it)."""
    embed, x = _embed_and_image()
    compiled = torch.compile(embed.embed_as_gemm, fullgraph=True,
                             backend='aot_eager')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got, want = compiled(x), embed.embed_as_gemm(x)
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, want)
