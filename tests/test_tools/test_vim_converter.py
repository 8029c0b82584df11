# Copyright (c) mmmamba contributors. All rights reserved.
"""Official Vim checkpoint -> mmmamba: mapping, CLI and numerical parity.

The parity data is ``vim_tiny_depth2.pt`` (official hustvl/Vim model, depth
2, img 64, 10 classes, seeded random weights; see its README). It is read
from ``$MMMAMBA_FIXTURES`` or the shared fixture folder.
"""
import os
import os.path as osp
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from mmmamba.models.backbones import VisionMamba
from mmmamba.models.utils import (convert_vim_state_dict,
                                  convert_vim_state_dict_inplace)
from mmmamba.testing import load_parity_fixture, load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(ROOT, 'tools', 'model_converters', 'vim_to_mmmamba.py')


@pytest.fixture(scope='module')
def fixture():
    return load_parity_fixture('vim_tiny_depth2.pt')


def _official_tiny(depth: int = 2,
                   dims: int = 8,
                   n: int = 4,
                   classes: int = 3) -> 'OrderedDict[str, torch.Tensor]':
    """An official-layout state dict (A.9 key names) with tiny shapes."""
    e, r = 2 * dims, 1
    sd = OrderedDict()
    sd['cls_token'] = torch.randn(1, 1, dims)
    sd['pos_embed'] = torch.randn(1, 5, dims)
    sd['patch_embed.proj.weight'] = torch.randn(dims, 3, 16, 16)
    sd['patch_embed.proj.bias'] = torch.randn(dims)
    sd['head.weight'] = torch.randn(classes, dims)
    sd['head.bias'] = torch.randn(classes)
    for i in range(depth):
        p = f'layers.{i}.mixer.'
        for name in ('A_log', 'A_b_log'):
            sd[p + name] = torch.randn(e, n)
        for name in ('D', 'D_b'):
            sd[p + name] = torch.randn(e)
        sd[p + 'in_proj.weight'] = torch.randn(2 * e, dims)
        for b in ('', '_b'):
            sd[p + f'conv1d{b}.weight'] = torch.randn(e, 1, 4)
            sd[p + f'conv1d{b}.bias'] = torch.randn(e)
            sd[p + f'x_proj{b}.weight'] = torch.randn(r + 2 * n, e)
            sd[p + f'dt_proj{b}.weight'] = torch.randn(e, r)
            sd[p + f'dt_proj{b}.bias'] = torch.randn(e)
        sd[p + 'out_proj.weight'] = torch.randn(dims, e)
        sd[f'layers.{i}.norm.weight'] = torch.randn(dims)
    sd['norm_f.weight'] = torch.randn(dims)
    return sd


def _build_classifier(num_classes: int = 10):
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import MODELS
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='mmmamba.VisionMamba',
                arch=dict(embed_dims=192, num_layers=2),
                img_size=64,
                out_type='cls_token'),
            neck=None,
            head=dict(
                type='LinearClsHead', num_classes=num_classes,
                in_channels=192)))


def test_parity_with_official_outputs(fixture):
    """Converted official weights reproduce the official logits and the
    pre-head class feature within 1e-4 (fp32, CPU)."""
    meta = fixture['meta']
    assert meta['derived']['cls_token_position'] == 8
    state_dict = convert_vim_state_dict(fixture['checkpoint']['model'])
    model = _build_classifier(num_classes=10)
    result = model.load_state_dict(state_dict, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(fixture['inputs'])
        logits = model(fixture['inputs'], mode='tensor')
    assert isinstance(feats, tuple) and len(feats) == 1
    torch.testing.assert_close(
        feats[0], fixture['features'], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        logits, fixture['outputs'], atol=1e-4, rtol=1e-4)


def test_parity_without_mmpretrain(fixture):
    """The same check with the bare backbone and the head applied by hand
    (runs even where mmpretrain is not installed)."""
    state_dict = convert_vim_state_dict(
        fixture['checkpoint']['model'], backbone_prefix='', head_prefix='h.')
    head_w, head_b = state_dict.pop('h.weight'), state_dict.pop('h.bias')
    model = VisionMamba(arch=dict(embed_dims=192, num_layers=2), img_size=64)
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        feat = model(fixture['inputs'])[0]
    torch.testing.assert_close(feat, fixture['features'], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        feat @ head_w.t() + head_b, fixture['outputs'], atol=1e-4, rtol=1e-4)


def test_bare_official_state_dict_loads_through_hook(fixture):
    model = VisionMamba(arch=dict(embed_dims=192, num_layers=2), img_size=64)
    official = dict(fixture['checkpoint']['model'])
    official.pop('head.weight')
    official.pop('head.bias')
    model.load_state_dict(official, strict=True)
    model.eval()
    with torch.no_grad():
        feat = model(fixture['inputs'])[0]
    torch.testing.assert_close(feat, fixture['features'], atol=1e-4, rtol=1e-4)


def test_mapping_table():
    sd = _official_tiny(depth=1)
    out = convert_vim_state_dict(sd)
    assert len(out) == len(sd)
    assert out['backbone.patch_embed.projection.weight'] is \
        sd['patch_embed.proj.weight']
    assert out['backbone.layers.0.mixer.A_b_log'] is \
        sd['layers.0.mixer.A_b_log']
    assert out['backbone.norm_f.weight'] is sd['norm_f.weight']
    assert out['head.fc.weight'] is sd['head.weight']
    assert out['head.fc.bias'] is sd['head.bias']
    assert all(k.startswith(('backbone.', 'head.fc.')) for k in out)
    no_head = convert_vim_state_dict(sd, head_prefix=None)
    assert not any(k.startswith('head') for k in no_head)


@pytest.mark.parametrize('extra_key', [
    'rope.freqs_cos', 'layers.0.mixer.gamma', 'dist_token', 'norm_f.bias',
    'layers.0.mixer.bogus.weight', 'something_else'
])
def test_unmapped_key_is_an_error(extra_key):
    sd = _official_tiny(depth=1)
    sd[extra_key] = torch.zeros(1)
    with pytest.raises(KeyError, match='without a mapping'):
        convert_vim_state_dict(sd)


@pytest.mark.parametrize('missing_key', [
    'layers.1.mixer.conv1d_b.weight', 'layers.0.mixer.A_b_log',
    'norm_f.weight', 'cls_token', 'head.bias'
])
def test_missing_key_is_an_error(missing_key):
    sd = _official_tiny(depth=2)
    del sd[missing_key]
    with pytest.raises(KeyError, match='missing keys'):
        convert_vim_state_dict(sd)


def test_gap_in_layer_indices_is_an_error():
    sd = _official_tiny(depth=3)
    for key in [k for k in sd if k.startswith('layers.1.')]:
        del sd[key]
    with pytest.raises(KeyError, match='0..n-1'):
        convert_vim_state_dict(sd)


def test_inplace_conversion_respects_prefix():
    sd = {f'backbone.{k}': v for k, v in _official_tiny(depth=1).items()}
    sd['head.other'] = torch.zeros(1)
    assert convert_vim_state_dict_inplace(sd, 'backbone.')
    assert 'backbone.patch_embed.projection.weight' in sd
    assert 'backbone.head.weight' not in sd  # official head dropped
    assert 'head.other' in sd  # outside the prefix: untouched
    assert not convert_vim_state_dict_inplace(sd, 'backbone.')


@pytest.mark.parametrize('layout', ['model', 'bare', 'ema', 'ddp'])
def test_cli_round_trip(tmp_path, fixture, layout):
    official = fixture['checkpoint']['model']
    if layout == 'model':
        payload = {'model': official, 'epoch': 3}
    elif layout == 'bare':
        payload = dict(official)
    elif layout == 'ema':
        payload = {
            'model': _official_tiny(),
            'model_ema': official,
        }
    else:
        payload = {'model': {f'module.{k}': v for k, v in official.items()}}
    src, dst = tmp_path / 'official.pth', tmp_path / 'out' / 'mm.pth'
    torch.save(payload, src)
    cli = load_script(CLI)
    out = cli.convert_file(str(src), str(dst), ema=layout == 'ema')
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}
    assert saved['meta']['source_entry'] == ('model_ema'
                                             if layout == 'ema' else 'model')
    assert saved['meta']['num_params'] == 717_322
    expected = convert_vim_state_dict(official)
    assert list(saved['state_dict']) == list(expected)
    for key, value in expected.items():
        assert torch.equal(saved['state_dict'][key], value), key
    assert out['meta'] == saved['meta']


def test_cli_subprocess_and_errors(tmp_path):
    sd = _official_tiny()
    src, dst = tmp_path / 'official.pth', tmp_path / 'mm.pth'
    torch.save({'model': sd}, src)
    env = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, CLI,
                           str(src), str(dst)],
                          capture_output=True,
                          text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert 'Saved' in proc.stdout
    assert set(torch.load(dst, weights_only=True)['state_dict']) == set(
        convert_vim_state_dict(sd))
    cli = load_script(CLI)
    with pytest.raises(KeyError, match='model_ema'):
        cli.convert_file(str(src), str(dst), ema=True)
    sd['rope.freqs_cos'] = torch.zeros(2)
    torch.save({'model': sd}, src)
    with pytest.raises(KeyError, match='RoPE'):
        cli.convert_file(str(src), str(dst))


def test_converted_checkpoint_loads_with_init_cfg(tmp_path, fixture):
    """The converted file loads through init_cfg Pretrained into a backbone
    built for a larger image (the position embedding is resized)."""
    cli = load_script(CLI)
    src, dst = tmp_path / 'official.pth', tmp_path / 'mm.pth'
    torch.save({'model': fixture['checkpoint']['model']}, src)
    cli.convert_file(str(src), str(dst))
    model = VisionMamba(
        arch=dict(embed_dims=192, num_layers=2),
        img_size=96,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    model.init_weights()
    official = fixture['checkpoint']['model']
    torch.testing.assert_close(model.layers[1].mixer.x_proj_b.weight,
                               official['layers.1.mixer.x_proj_b.weight'])
    assert model.pos_embed.shape == (1, 37, 192)
    torch.testing.assert_close(model.pos_embed[:, 18],
                               official['pos_embed'][:, 8])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
@pytest.mark.parametrize('backend', ['auto', 'reference'])
def test_parity_cuda(fixture, backend):
    """Official parity on the GPU (fp32, TF32 off) with the CUDA backend that
    'auto' picks and with the reference scan."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    state_dict = convert_vim_state_dict(
        fixture['checkpoint']['model'], backbone_prefix='', head_prefix='h.')
    head_w, head_b = state_dict.pop('h.weight'), state_dict.pop('h.bias')
    model = VisionMamba(
        arch=dict(embed_dims=192, num_layers=2),
        img_size=64,
        scan_backend=backend)
    model.load_state_dict(state_dict, strict=True)
    model = model.cuda().eval()
    with torch.no_grad():
        feat = model(fixture['inputs'].cuda())[0].cpu()
    torch.testing.assert_close(feat, fixture['features'], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        feat @ head_w.t() + head_b, fixture['outputs'], atol=1e-4, rtol=1e-4)
