# Copyright (c) mmmamba contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmmamba.models.necks import LN2d, SimpleFPN
from mmmamba.registry import MODELS


def _map(batch=2, channels=32, size=(8, 12), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, *size, generator=g)


def test_ln2d_normalises_channels():
    norm = LN2d(6)
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 1.5, 6))
        norm.bias.copy_(torch.linspace(-1, 1, 6))
    x = _map(channels=6, size=(3, 5)) * 3 + 1
    mean = x.mean(1, keepdim=True)
    var = (x - mean).square().mean(1, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-6)
    expected = expected * norm.weight.view(1, -1, 1, 1) + norm.bias.view(
        1, -1, 1, 1)
    torch.testing.assert_close(norm(x), expected)
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        norm(torch.randn(2, 6))


def test_pyramid_shapes_and_strides():
    neck = MODELS.build(
        dict(type='mmmamba.SimpleFPN', in_channels=32, out_channels=16))
    outs = neck((_map(), ))
    # stride 16 (8x12) -> strides 4, 8, 16, 32 and the extra 64.
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 48), (2, 16, 16, 24),
                                              (2, 16, 8, 12), (2, 16, 4, 6),
                                              (2, 16, 2, 3)]
    # The extra level is LastLevelMaxPool: kernel 1, stride 2.
    torch.testing.assert_close(outs[4], outs[3][:, :, ::2, ::2])


def test_vitdet_layers():
    neck = SimpleFPN(in_channels=32, out_channels=16)
    up4, up2, same, down2 = neck.stages
    assert [type(m) for m in up4
            ] == [nn.ConvTranspose2d, LN2d, nn.GELU, nn.ConvTranspose2d]
    assert (up4[0].out_channels, up4[3].out_channels) == (16, 8)
    assert up2.out_channels == 16
    assert isinstance(same, nn.Identity)
    assert isinstance(down2, nn.MaxPool2d)
    assert [m.conv.in_channels for m in neck.lateral_convs] == [8, 16, 32, 32]
    for m in list(neck.lateral_convs) + list(neck.output_convs):
        # conv without bias followed by a channel LayerNorm (eps 1e-6)
        assert m.conv.bias is None
        assert isinstance(m.norm, LN2d) and m.norm.eps == 1e-6
        assert not m.with_activation
    assert [m.conv.kernel_size for m in neck.output_convs] == [(3, 3)] * 4


def test_single_tensor_input_and_in_index():
    neck = SimpleFPN(in_channels=32, out_channels=16, in_index=0)
    x = _map()
    a = neck(x)
    b = neck((x, _map(seed=1)))
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)


def test_no_norm_uses_biased_convs():
    neck = SimpleFPN(in_channels=32, out_channels=16, norm_cfg=None)
    assert all(m.conv.bias is not None for m in neck.lateral_convs)
    assert [type(m) for m in neck.stages[0]
            ] == [nn.ConvTranspose2d, nn.GELU, nn.ConvTranspose2d]


def test_gradients_reach_every_parameter():
    neck = SimpleFPN(in_channels=32, out_channels=16)
    x = _map().requires_grad_()
    loss = sum(o.square().mean() for o in neck(x))
    loss.backward()
    for name, param in neck.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='scale factor'):
        SimpleFPN(in_channels=32, scale_factors=(8.0, 1.0))
    with pytest.raises(ValueError, match='divisible by 4'):
        SimpleFPN(in_channels=30)
    with pytest.raises(ValueError, match='num_outs'):
        SimpleFPN(in_channels=32, num_outs=3)
    neck = SimpleFPN(in_channels=32, out_channels=16)
    with pytest.raises(ValueError, match=r'\(B, 32, H, W\)'):
        neck(_map(channels=16))
