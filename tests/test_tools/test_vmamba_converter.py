# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of the official VMamba checkpoint converter and its CLI."""
import argparse
import math
import os.path as osp
import sys
from collections import OrderedDict

import pytest
import torch

from mmmamba.models.backbones import VMamba
from mmmamba.models.utils import (is_official_vmamba_state_dict,
                                  vmamba_converter)
from mmmamba.testing import load_parity_fixture, load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS_FIXTURE = 'vmamba_s1l8_reduced.pt'
BACKBONE_FIXTURE = 'vmamba_backbone_s1l8_reduced.pt'
CLI = osp.join(ROOT, 'tools', 'model_converters', 'vmamba_to_mmmamba.py')

S1L8_REDUCED = dict(
    dims=16,
    depths=[1, 1, 2, 1],
    ssm_d_state=1,
    ssm_ratio=1.0,
    ssm_conv_bias=False,
    forward_type='v05_noz',
    mlp_ratio=4.0,
    norm_layer='ln2d',
    downsample_version='v3',
    patchembed_version='v2')
V0_REDUCED = dict(
    dims=8,
    depths=[1, 1, 1, 1],
    ssm_d_state=2,
    ssm_ratio=2.0,
    forward_type='v0',
    mlp_ratio=0.0,
    norm_layer='ln',
    downsample_version='v1',
    patchembed_version='v1')


def _strip(sd, prefix='backbone.'):
    return OrderedDict(
        (k[len(prefix):], v) for k, v in sd.items() if k.startswith(prefix))


def _official_v0_state_dict(legacy=False, merge_2025=False, seed=0):
    """A vanilla (v0) classification state dict with the official names and
    shapes, written from the spec (B.4, B.5, B.7) for V0_REDUCED."""
    g = torch.Generator().manual_seed(seed)
    C0, depths, N, ratio, ncls = 8, [1, 1, 1, 1], 2, 2.0, 5
    sd = OrderedDict()

    def add(k, *shape):
        sd[k] = torch.randn(*shape, generator=g)

    pe = 'patch_embed.proj' if legacy else 'patch_embed.0'
    pn = 'patch_embed.norm' if legacy else 'patch_embed.2'
    add(f'{pe}.weight', C0, 3, 4, 4)
    add(f'{pe}.bias', C0)
    add(f'{pn}.weight', C0)
    add(f'{pn}.bias', C0)
    for i, depth in enumerate(depths):
        C = C0 * 2**i
        D, R = int(ratio * C), math.ceil(C / 16)
        for j in range(depth):
            b = f'layers.{i}.blocks.{j}.'
            n, op = ('ln_1', 'self_attention') if legacy else ('norm', 'op')
            add(f'{b}{n}.weight', C)
            add(f'{b}{n}.bias', C)
            add(f'{b}{op}.x_proj_weight', 4, R + 2 * N, D)
            add(f'{b}{op}.dt_projs_weight', 4, D, R)
            add(f'{b}{op}.dt_projs_bias', 4, D)
            add(f'{b}{op}.A_logs', 4 * D, N)
            add(f'{b}{op}.Ds', 4 * D)
            add(f'{b}{op}.in_proj.weight', 2 * D, C)
            add(f'{b}{op}.conv2d.weight', D, 1, 3, 3)
            add(f'{b}{op}.conv2d.bias', D)
            add(f'{b}{op}.out_norm.weight', D)
            add(f'{b}{op}.out_norm.bias', D)
            add(f'{b}{op}.out_proj.weight', C, D)
        if i < len(depths) - 1:
            d = f'layers.{i}.downsample.'
            norm, red = ('1', '2') if merge_2025 else ('norm', 'reduction')
            add(f'{d}{norm}.weight', 4 * C)
            add(f'{d}{norm}.bias', 4 * C)
            add(f'{d}{red}.weight', 2 * C, 4 * C)
    Cl = C0 * 2**(len(depths) - 1)
    n, h = ('norm', 'head') if legacy else ('classifier.norm',
                                            'classifier.head')
    add(f'{n}.weight', Cl)
    add(f'{n}.bias', Cl)
    add(f'{h}.weight', ncls, Cl)
    add(f'{h}.bias', ncls)
    return sd


# --------------------------------------------------------------------------
# the pure mapping
# --------------------------------------------------------------------------
def test_classification_checkpoint_names():
    official = load_parity_fixture(CLS_FIXTURE)['checkpoint']['model']
    assert is_official_vmamba_state_dict(official)
    sd = vmamba_converter(official)
    assert len(sd) == len(official) == 114
    # classifier.norm becomes the last output norm, the linear the head
    assert sd['backbone.outnorm3.weight'] is official['classifier.norm.weight']
    assert sd['head.fc.weight'] is official['classifier.head.weight']
    assert 'backbone.layers.2.blocks.1.op.x_proj_weight' in sd
    model = VMamba(arch=dict(S1L8_REDUCED), out_indices=(3, ))
    model.load_state_dict(_strip(sd), strict=True)


def test_2025_single_file_names_give_identical_weights():
    official = load_parity_fixture(CLS_FIXTURE)['checkpoint']['model']
    renamed = OrderedDict()
    for k, v in official.items():
        if k.endswith('op.x_proj_weight'):  # grouped Linear (4(R+2N), D)
            renamed[k.replace('x_proj_weight', 'x_proj.weight')] = \
                v.reshape(-1, v.shape[-1]).clone()
        elif k.endswith('op.dt_projs_weight'):  # grouped Linear (4D, R)
            renamed[k.replace('dt_projs_weight', 'dt_projs.weight')] = \
                v.reshape(-1, v.shape[-1]).clone()
        else:
            renamed[k] = v
    assert is_official_vmamba_state_dict(renamed)
    ref = vmamba_converter(official)
    out = vmamba_converter(renamed)
    assert list(out) == list(ref)
    for k in ref:
        assert torch.equal(out[k], ref[k]), k


def test_mm_vssm_detection_checkpoint():
    d = load_parity_fixture(BACKBONE_FIXTURE)
    official = d['checkpoint']['model']
    det = OrderedDict(('backbone.' + k, v) for k, v in official.items())
    det['neck.lateral_convs.0.conv.weight'] = torch.randn(4, 16, 1, 1)
    det['roi_head.bbox_head.fc_cls.bias'] = torch.randn(81)
    sd = vmamba_converter(det)
    assert sd['neck.lateral_convs.0.conv.weight'] is \
        det['neck.lateral_convs.0.conv.weight']
    assert 'roi_head.bbox_head.fc_cls.bias' in sd
    backbone = VMamba(arch=dict(S1L8_REDUCED)).eval()
    backbone.load_state_dict(_strip(sd), strict=True)
    with torch.no_grad():
        outs = backbone(d['inputs'])
    for out, ref in zip(outs, d['outputs']):
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('legacy,merge_2025', [(False, False), (True, False),
                                               (False, True)])
def test_vanilla_v0_checkpoints(legacy, merge_2025):
    official = _official_v0_state_dict(legacy, merge_2025)
    sd = vmamba_converter(official)
    model = VMamba(arch=dict(V0_REDUCED), out_indices=(3, ))
    model.load_state_dict(_strip(sd), strict=True)
    assert set(_strip(sd, 'head.fc.')) == {'weight', 'bias'}
    # values pass through unchanged
    op = 'self_attention' if legacy else 'op'
    torch.testing.assert_close(
        model.layers[1].blocks[0].op.in_proj.weight,
        official[f'layers.1.blocks.0.{op}.in_proj.weight'])
    red = 'layers.0.downsample.' + ('2' if merge_2025 else 'reduction')
    torch.testing.assert_close(model.layers[0].downsample.reduction.weight,
                               official[red + '.weight'])
    norm = 'norm' if legacy else 'classifier.norm'
    torch.testing.assert_close(model.outnorm3.weight,
                               official[norm + '.weight'])
    # legacy and current names convert to the same thing
    if legacy:
        current = vmamba_converter(_official_v0_state_dict())
        assert list(sd) == list(current)


def test_linear_weights_stored_as_1x1_convs_are_squeezed():
    official = _official_v0_state_dict()
    k = 'layers.0.blocks.0.op.out_proj.weight'
    official[k] = official[k][:, :, None, None]
    assert vmamba_converter(official)['backbone.' + k].dim() == 2


def test_bare_backbone_prefix():
    sd = vmamba_converter(_official_v0_state_dict(), backbone_prefix='')
    assert 'patch_embed.0.weight' in sd and 'outnorm3.weight' in sd


@pytest.mark.parametrize('extra,match', [
    ('layers.0.blocks.0.op.x_proj_bias', 'no mmmamba equivalent'),
    ('pos_embed', 'posembed'),
    ('classifier.fc.weight', 'no mmmamba equivalent'),
    ('layers.0.blocks.0.op.out_norm.1.weight', 'no mmmamba equivalent'),
])
def test_unmapped_keys_are_errors(extra, match):
    official = _official_v0_state_dict()
    official[extra] = torch.zeros(1)
    with pytest.raises(KeyError, match=match):
        vmamba_converter(official)


def test_not_a_vmamba_checkpoint():
    with pytest.raises(KeyError, match='not a VMamba'):
        vmamba_converter({'conv1.weight': torch.zeros(1)})
    assert not is_official_vmamba_state_dict({'conv1.weight': 0})


# --------------------------------------------------------------------------
# the CLI
# --------------------------------------------------------------------------
def _run_cli(monkeypatch, *argv):
    mod = load_script(CLI)
    monkeypatch.setattr(sys, 'argv', ['vmamba_to_mmmamba.py', *argv])
    mod.main()


def test_cli_writes_mmengine_checkpoint(tmp_path, monkeypatch):
    d = load_parity_fixture(CLS_FIXTURE)
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'o' / 'c.pth')
    torch.save(
        dict(model=d['checkpoint']['model'], epoch=264, max_accuracy=82.6),
        src)
    _run_cli(monkeypatch, src, dst)
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert ckpt['meta']['converted_from'] == 'official.pth'
    assert 'head.fc.bias' in ckpt['state_dict']

    mmpretrain_models = pytest.importorskip('mmpretrain.models')
    from mmengine.runner import load_checkpoint
    model = mmpretrain_models.ImageClassifier(
        backbone=dict(
            type='mmmamba.VMamba', arch=dict(S1L8_REDUCED), out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=128))
    load_checkpoint(model, dst, map_location='cpu', strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(d['inputs'], mode='tensor')
    torch.testing.assert_close(logits, d['outputs'], atol=1e-4, rtol=1e-4)


def test_cli_refuses_pickled_objects_unless_unsafe(tmp_path, monkeypatch):
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'c.pth')
    torch.save(
        dict(model=_official_v0_state_dict(), config=argparse.Namespace()),
        src)
    with pytest.raises(RuntimeError, match='--unsafe-load'):
        _run_cli(monkeypatch, src, dst)
    _run_cli(monkeypatch, src, dst, '--unsafe-load')
    assert 'backbone.patch_embed.0.weight' in torch.load(
        dst, weights_only=True)['state_dict']


def test_cli_ema_and_ddp_prefix(tmp_path, monkeypatch):
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'c.pth')
    sd = _official_v0_state_dict()
    torch.save(dict(model=sd), src)
    with pytest.raises(KeyError, match='model_ema'):
        _run_cli(monkeypatch, src, dst, '--ema')
    ema = OrderedDict(('module.' + k, v + 1) for k, v in sd.items())
    torch.save(dict(model=sd, model_ema=ema), src)
    _run_cli(monkeypatch, src, dst, '--ema')
    out = torch.load(dst, weights_only=True)['state_dict']
    torch.testing.assert_close(out['backbone.patch_embed.0.weight'],
                               sd['patch_embed.0.weight'] + 1)
