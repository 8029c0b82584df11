# Copyright (c) mmmamba contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmmamba.models.necks import DeconvFeaturePyramid
from mmmamba.registry import MODELS


def _inputs(batch=2, channels=8, size=(6, 10), num=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, channels, *size, generator=g) for _ in range(num)
    ]


def test_official_pyramid_shapes_and_layers():
    neck = MODELS.build(
        dict(
            type='mmmamba.DeconvFeaturePyramid',
            in_channels=8,
            norm_cfg=dict(type='BN')))
    outs = neck(_inputs())
    # stride-16 maps (6x10) -> strides 4, 8, 16, 32; channels unchanged.
    assert [tuple(o.shape) for o in outs] == [(2, 8, 24, 40), (2, 8, 12, 20),
                                              (2, 8, 6, 10), (2, 8, 3, 5)]
    fpn1, fpn2, fpn3, fpn4 = neck.branches
    assert [type(m) for m in fpn1] == [
        nn.ConvTranspose2d, nn.BatchNorm2d, nn.GELU, nn.ConvTranspose2d
    ]
    for deconv in (fpn1[0], fpn1[3], fpn2):
        assert deconv.kernel_size == (2, 2) and deconv.stride == (2, 2)
        assert deconv.in_channels == deconv.out_channels == 8
    assert isinstance(fpn3, nn.Identity)
    assert isinstance(fpn4, nn.MaxPool2d)
    # Per official layer shapes: deconv C*C*2*2 + C, norm 2C.
    deconv = 8 * 8 * 4 + 8
    assert sum(p.numel() for p in neck.parameters()) == 3 * deconv + 2 * 8


def test_identity_and_pool_branches_are_exact():
    neck = DeconvFeaturePyramid(in_channels=8, norm_cfg=dict(type='BN'))
    inputs = _inputs()
    outs = neck(inputs)
    assert torch.equal(outs[2], inputs[2])
    assert torch.equal(outs[3], F.max_pool2d(inputs[3], 2, 2))


def test_upsampling_branches_match_hand_computation():
    neck = DeconvFeaturePyramid(in_channels=4, norm_cfg=dict(type='BN'))
    neck.eval()
    x = _inputs(batch=1, channels=4, size=(3, 3), num=4, seed=1)
    outs = neck(x)
    fpn1, fpn2 = neck.branches[0], neck.branches[1]

    def deconv(inp, m):
        # A 2x2 stride-2 transposed conv writes weight[c_in, c_out, i, j]
        # * x[c_in] into output pixel (2h + i, 2w + j).
        out = torch.einsum('bchw,cdij->bdhiwj', inp, m.weight)
        b, d, h, _, w, _ = out.shape
        return out.reshape(b, d, 2 * h, 2 * w) + m.bias.view(1, -1, 1, 1)

    torch.testing.assert_close(outs[1], deconv(x[1], fpn2))
    bn = fpn1[1]
    mid = deconv(x[0], fpn1[0])
    mid = (mid - bn.running_mean.view(
        1, -1, 1, 1)) / torch.sqrt(bn.running_var.view(1, -1, 1, 1) + bn.eps)
    mid = mid * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(outs[0], deconv(F.gelu(mid), fpn1[3]))


def test_gradients_reach_every_parameter():
    neck = DeconvFeaturePyramid(in_channels=8, norm_cfg=dict(type='BN'))
    inputs = [x.requires_grad_() for x in _inputs()]
    loss = sum(o.square().mean() for o in neck(inputs))
    loss.backward()
    for name, param in neck.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    for x in inputs:
        assert x.grad is not None and x.grad.abs().sum() > 0


def test_default_norm_is_syncbn_and_runs_in_one_process():
    neck = DeconvFeaturePyramid(in_channels=8)
    assert isinstance(neck.branches[0][1], nn.SyncBatchNorm)
    outs = neck(_inputs())
    assert outs[0].shape == (2, 8, 24, 40)


def test_patch8_layout():
    # Official patch-8 layout: stride-8 maps -> 4, 8, 16, 32.
    neck = DeconvFeaturePyramid(
        in_channels=8,
        scale_factors=(2, 1, 0.5, 0.25),
        norm_cfg=dict(type='BN'))
    outs = neck(_inputs(size=(8, 12)))
    assert [o.shape[-2:] for o in outs] == [(16, 24), (8, 12), (4, 6), (2, 3)]


def test_bad_inputs_raise():
    neck = DeconvFeaturePyramid(in_channels=8, norm_cfg=dict(type='BN'))
    with pytest.raises(ValueError, match='out_indices'):
        neck(_inputs(num=3))
    with pytest.raises(ValueError, match=r'\(B, 8, H, W\)'):
        neck(_inputs(channels=6))
    with pytest.raises(ValueError, match='scale factor'):
        DeconvFeaturePyramid(in_channels=8, scale_factors=(8, 2, 1, 0.5))
    with pytest.raises(TypeError, match='in_channels'):
        DeconvFeaturePyramid(in_channels=[8, 8, 8, 8])
