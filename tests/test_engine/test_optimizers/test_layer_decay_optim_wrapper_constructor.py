# Copyright (c) mmmamba contributors. All rights reserved.
import pytest
import torch.nn as nn

from mmmamba.engine import LayerDecayOptimWrapperConstructor


class ToyBackbone(nn.Module):
    """embed (layer 0) -> layers.0..2 (layers 1..3) -> norm (layer 4)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(2, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        self.norm = nn.LayerNorm(4)

    def get_layer_depth(self, param_name, prefix=''):
        num_layers = len(self.layers) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith('embed'):
            return 0, num_layers
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers


class ToyDetector(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = ToyBackbone()
        self.head = nn.Linear(4, 3)


def _groups(model, **paramwise):
    constructor = LayerDecayOptimWrapperConstructor(
        dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1)), paramwise)
    optim_wrapper = constructor(model)
    return {
        g['param_name']: g
        for g in optim_wrapper.param_groups if 'param_name' in g
    }


def test_rates_from_backbone_get_layer_depth():
    model = ToyDetector()
    groups = _groups(model, layer_decay_rate=0.5)
    assert set(groups) == {n for n, _ in model.named_parameters()}
    expected = {
        'backbone.embed.weight': 0.5**4,
        'backbone.layers.0.weight': 0.5**3,
        'backbone.layers.1.bias': 0.5**2,
        'backbone.layers.2.weight': 0.5,
        'backbone.norm.weight': 1.0,
        'head.weight': 1.0,
    }
    for name, lr in expected.items():
        assert groups[name]['lr'] == pytest.approx(lr), name
        assert groups[name]['lr_scale'] == pytest.approx(lr), name
    assert groups['backbone.layers.1.bias']['layer_id'] == 2


def test_model_level_get_layer_depth_is_preferred():
    model = ToyDetector()
    model.get_layer_depth = lambda name: (0, 3)  # everything at layer 0
    groups = _groups(model, layer_decay_rate=0.5)
    assert all(g['lr'] == pytest.approx(0.25) for g in groups.values())


def test_mmengine_rules_are_kept_and_combined():
    model = ToyDetector()
    groups = _groups(
        model,
        layer_decay_rate=0.5,
        norm_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={'layers.0': dict(lr_mult=0.1, decay_mult=2.0)})
    assert groups['backbone.norm.weight']['weight_decay'] == 0.0
    assert groups['backbone.layers.1.bias']['weight_decay'] == 0.0
    assert groups['backbone.layers.1.weight']['weight_decay'] == 0.1
    # custom lr_mult and the layer decay multiply
    assert groups['backbone.layers.0.weight']['lr'] == pytest.approx(0.1 *
                                                                     0.5**3)
    assert groups['backbone.layers.0.weight']['weight_decay'] == \
        pytest.approx(0.2)


def test_frozen_parameters_are_left_out():
    model = ToyDetector()
    model.backbone.embed.weight.requires_grad = False
    groups = _groups(model, layer_decay_rate=0.5)
    assert 'backbone.embed.weight' not in groups
    assert 'backbone.embed.bias' in groups


def test_errors_are_explicit():
    with pytest.raises(NotImplementedError, match='get_layer_depth'):
        _groups(nn.Sequential(nn.Linear(2, 2)), layer_decay_rate=0.5)
    for rate in (None, 0.0, 1.5):
        with pytest.raises(ValueError, match='layer_decay_rate'):
            _groups(ToyDetector(), layer_decay_rate=rate)
    with pytest.raises(ValueError, match='lr'):
        LayerDecayOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW')), dict(layer_decay_rate=0.5))
