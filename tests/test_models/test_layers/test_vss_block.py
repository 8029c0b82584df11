# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of VSSBlock built alone from config dicts (CPU)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mmmamba.models.layers import SS2D, VSSBlock
from mmmamba.registry import MODELS

CFG = dict(
    type='mmmamba.VSSBlock',
    embed_dims=16,
    ssm_cfg=dict(d_state=2, ssm_ratio=2.0),
    mlp_ratio=2.0,
    drop_path=0.1)


def _randomize(module, seed=0, scale=0.1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize('channel_first', [True, False])
def test_build_from_config_forward_backward(channel_first):
    torch.manual_seed(0)
    blk = MODELS.build(dict(CFG, channel_first=channel_first))
    blk.init_weights()
    assert isinstance(blk, VSSBlock) and isinstance(blk.op, SS2D)
    assert blk.op.channel_first is channel_first
    shape = (2, 16, 5, 7) if channel_first else (2, 5, 7, 16)
    x = torch.randn(shape, requires_grad=True)
    blk.train()
    y = blk(x)
    assert y.shape == shape and torch.isfinite(y).all()
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for name, p in blk.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_layouts_give_the_same_result():
    torch.manual_seed(0)
    cf = MODELS.build(dict(CFG, channel_first=True)).eval()
    _randomize(cf)
    cl = MODELS.build(dict(CFG, channel_first=False)).eval()
    cl.load_state_dict(cf.state_dict(), strict=True)
    x = torch.randn(2, 16, 4, 6)
    torch.testing.assert_close(
        cl(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2),
        cf(x),
        atol=1e-5,
        rtol=1e-5)


def test_pre_norm_residual_structure():
    torch.manual_seed(0)
    blk = MODELS.build(CFG).eval()
    _randomize(blk)
    x = torch.randn(1, 16, 3, 4)
    # recompute the two residual branches by hand from the sub-modules
    h = x + blk.op(blk.norm(x))
    expected = h + blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.norm2(h))))
    torch.testing.assert_close(blk(x), expected)
    # zeroing both output projections makes the block the identity
    with torch.no_grad():
        blk.op.out_proj.weight.zero_()
        blk.mlp.fc2.weight.zero_()
        blk.mlp.fc2.bias.zero_()
    torch.testing.assert_close(blk(x), x)


def test_no_mlp_branch_for_vanilla():
    blk = MODELS.build(
        dict(
            type='mmmamba.VSSBlock',
            embed_dims=8,
            mlp_ratio=0.,
            channel_first=False,
            ssm_cfg=dict(
                d_state=4,
                ssm_ratio=2.0,
                use_z_gate=True,
                conv_bias=True,
                force_fp32=True)))
    keys = set(blk.state_dict())
    assert not any(k.startswith(('mlp.', 'norm2.')) for k in keys)
    assert blk.op.in_proj.weight.shape == (32, 8)
    assert blk(torch.randn(1, 3, 3, 8)).shape == (1, 3, 3, 8)


def test_drop_path_train_vs_eval():
    torch.manual_seed(0)
    blk = MODELS.build(dict(CFG, drop_path=0.5))
    _randomize(blk)
    x = torch.randn(64, 16, 2, 2)
    blk.eval()
    torch.testing.assert_close(blk(x), blk(x))
    blk.train()
    torch.manual_seed(1)
    y_train = blk(x)
    blk.eval()
    y_eval = blk(x)
    # some samples had a branch dropped: they differ from eval mode
    per_sample = (y_train - y_eval).flatten(1).abs().amax(1)
    assert (per_sample > 1e-4).any()


def test_with_cp_same_values_and_grads():
    torch.manual_seed(0)
    ref = MODELS.build(dict(CFG, drop_path=0.))
    _randomize(ref)
    ckpt = copy.deepcopy(ref)
    ckpt.with_cp = True
    x = torch.randn(2, 16, 3, 5)
    out = []
    for m in (ref, ckpt):
        m.train()
        y = m(x)
        y.square().sum().backward()
        out.append((y.detach(), [p.grad.clone() for p in m.parameters()]))
    torch.testing.assert_close(out[0][0], out[1][0])
    for g0, g1 in zip(out[0][1], out[1][1]):
        torch.testing.assert_close(g0, g1)


def test_errors():
    with pytest.raises(ValueError, match='ssm_cfg'):
        VSSBlock(8, ssm_cfg=dict(embed_dims=8))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        VSSBlock(8)(torch.randn(1, 4, 4, 8))


def test_builds_under_a_foreign_default_scope():
    # mmpretrain / mmdet / mmseg runners set their own default scope; the
    # inner SS2D must still resolve (scoped type name)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmengine'):
        blk = MODELS.build(dict(CFG))
    assert isinstance(blk.op, SS2D)
