# Copyright (c) mmmamba contributors. All rights reserved.
"""Layer-wise lr decay of the Vim seg and det configs reaches every Mamba
layer: after one AdamW step, each parameter moved by its layer's lr.

AdamW's first step moves an element by ``lr * g / (|g| + eps)``, i.e. by
``lr`` wherever ``|g| >> eps`` (the tests make ``eps`` negligible); with
weight decay switched off the typical update of a layer is therefore that
layer's effective lr, whatever the optimizer wrapper recorded. Updates are
read on elements of magnitude < 0.5, where float32 rounding of ``p - lr``
stays below 0.1 % of ``lr``. Expected rates follow the layer-decay rule
``base_lr * rate ** (num_layers + 1 - layer_id)``, with embeddings at layer
0, ``layers.i`` at ``i + 1`` and everything outside the backbone at
``num_layers + 1`` (full lr).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

CONFIG_DIR = osp.abspath(
    osp.join(osp.dirname(__file__), '..', '..', 'configs'))
TINY_VIM = dict(embed_dims=32, num_layers=4, d_state=4)


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _update_size(model, before, prefix):
    """Median step of the moved, small-magnitude elements under prefix."""
    deltas = []
    for name, param in model.named_parameters():
        if name.startswith(prefix):
            old = before[name]
            delta = (param.detach() - old).abs()
            deltas.append(delta[(old.abs() < 0.5) & (delta > 0)])
    assert deltas, f'no parameter starts with {prefix!r}'
    deltas = torch.cat(deltas)
    assert deltas.numel() > 0, f'nothing under {prefix!r} moved'
    return float(deltas.median())


def _check_layer_rates(model, before, base_lr, rate):
    num_layers = TINY_VIM['num_layers']
    top = num_layers + 1

    def expected(layer_id):
        return base_lr * rate**(top - layer_id)

    lrs = []
    for i in range(num_layers):
        got = _update_size(model, before, f'backbone.layers.{i}.')
        assert got == pytest.approx(expected(i + 1), rel=2e-3), i
        # the Mamba-specific parameters of the layer move too
        got_a = _update_size(model, before, f'backbone.layers.{i}.mixer.A_')
        assert got_a == pytest.approx(expected(i + 1), rel=2e-3), i
        lrs.append(got)
    assert all(a < b for a, b in zip(lrs, lrs[1:])), lrs
    assert _update_size(model, before, 'backbone.patch_embed.') == \
        pytest.approx(expected(0), rel=2e-3)
    assert _update_size(model, before, 'backbone.pos_embed') == \
        pytest.approx(expected(0), rel=2e-3)
    assert _update_size(model, before, 'neck.') == pytest.approx(
        base_lr, rel=2e-3)


def test_seg_config_layer_decay_after_a_real_training_step():
    pytest.importorskip('mmseg')
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'vim/upernet_vim-s_8xb2-160k_ade20k-512x512.py'))
    size = (64, 64)
    cfg.model.data_preprocessor.size = size
    cfg.model.backbone.update(
        arch=TINY_VIM, img_size=size, out_indices=(0, 1, 2, 3), init_cfg=None)
    cfg.model.neck.in_channels = 32
    cfg.model.decode_head.update(in_channels=[32] * 4, channels=16)
    cfg.model.auxiliary_head.update(in_channels=32, channels=16)
    cfg.optim_wrapper.optimizer.update(weight_decay=0.0, eps=1e-30)
    base_lr = cfg.optim_wrapper.optimizer.lr
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    assert (base_lr, rate) == (6e-5, 0.95)

    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        samples = []
        for _ in range(2):
            sample = SegDataSample(
                gt_sem_seg=PixelData(data=torch.randint(0, 150, (1, *size))))
            sample.set_metainfo(
                dict(img_shape=size, ori_shape=size, pad_shape=size))
            samples.append(sample)
        data = dict(
            inputs=[
                torch.randint(0, 256, (3, *size), dtype=torch.uint8)
                for _ in range(2)
            ],
            data_samples=samples)
        before = _snapshot(model)
        model.train()
        losses = model.train_step(data, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    _check_layer_rates(model, before, base_lr, rate)
    assert _update_size(model, before, 'decode_head.') == pytest.approx(
        base_lr, rel=2e-3)


def test_det_config_layer_decay_reaches_every_layer():
    pytest.importorskip('mmdet')
    from mmdet.registry import MODELS

    cfg = Config.fromfile(
        osp.join(
            CONFIG_DIR,
            'vim/cascade-mask-rcnn_vim-t_simple-fpn_8xb8-lsj-380k_coco.py'))
    cfg.model.backbone.update(arch=TINY_VIM, img_size=(64, 64), init_cfg=None)
    cfg.model.neck.in_channels = 32
    cfg.optim_wrapper.optimizer.weight_decay = 0.0
    base_lr = cfg.optim_wrapper.optimizer.lr
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    assert (base_lr, rate) == (1e-4, 0.837)

    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    # The detector's forward is slow on CPU; a unit gradient on every
    # parameter checks what the optimizer does with its groups.
    before = _snapshot(model)
    for param in model.parameters():
        param.grad = torch.ones_like(param)
    optim_wrapper.step()
    _check_layer_rates(model, before, base_lr, rate)
    assert _update_size(model, before, 'roi_head.') == pytest.approx(
        base_lr, rel=2e-3)
    assert _update_size(model, before, 'rpn_head.') == pytest.approx(
        base_lr, rel=2e-3)


def test_seg_config_weight_decay_rules():
    """No decay for 1-D parameters and the position embedding; decay for
    the Mamba matrices, ``A_log`` included (as the official optimizer)."""
    pytest.importorskip('mmseg')
    from mmseg.registry import MODELS
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'vim/upernet_vim-t_8xb2-160k_ade20k-512x512.py'))
    cfg.model.backbone.update(
        arch=TINY_VIM,
        img_size=(64, 64),
        out_indices=(0, 1, 2, 3),
        init_cfg=None)
    cfg.model.neck.in_channels = 32
    cfg.model.decode_head.update(in_channels=[32] * 4, channels=16)
    cfg.model.auxiliary_head.update(in_channels=32, channels=16)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    wd = {
        g['param_name']: g['weight_decay']
        for g in optim_wrapper.param_groups if 'param_name' in g
    }
    assert len(wd) == len(list(model.parameters()))
    base_wd = cfg.optim_wrapper.optimizer.weight_decay
    assert wd['backbone.pos_embed'] == 0.0
    assert wd['backbone.layers.0.mixer.A_log'] == base_wd
    assert wd['backbone.layers.0.mixer.in_proj.weight'] == base_wd
    assert wd['backbone.layers.0.mixer.D'] == 0.0
    assert wd['backbone.layers.0.norm.weight'] == 0.0
    assert wd['decode_head.conv_seg.bias'] == 0.0
    assert wd['decode_head.conv_seg.weight'] == base_wd


@pytest.mark.parametrize('rel_path,scope', [
    ('vmamba/upernet_vmamba-t_8xb2-160k_ade20k-512x512.py', 'mmseg'),
    ('vmamba/mask-rcnn_vmamba-t_fpn_1x_coco.py', 'mmdet'),
])
def test_vmamba_configs_weight_decay_as_official(rel_path, scope):
    """The official VMamba det / seg configs: no layer decay, and no weight
    decay exactly for the parameters whose name contains 'norm' (so not for
    ``patch_embed.2/.7`` and ``downsample.3``, the other LayerNorms)."""
    pytest.importorskip(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    cfg = Config.fromfile(osp.join(CONFIG_DIR, rel_path))
    assert 'constructor' not in cfg.optim_wrapper
    cfg.model.backbone.update(
        arch=dict(
            embed_dims=16, depths=(1, 1, 1, 1), d_state=1, ssm_ratio=1.0),
        init_cfg=None)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    base_wd = cfg.optim_wrapper.optimizer.weight_decay
    by_param = {}
    for group in optim_wrapper.param_groups:
        for param in group['params']:
            by_param[param] = group
    for name, param in model.named_parameters():
        group = by_param[param]
        assert group['lr'] == base_lr, name
        expected_wd = 0.0 if 'norm' in name else base_wd
        assert group['weight_decay'] == expected_wd, name
    names = [n for n, _ in model.named_parameters()]
    assert 'backbone.patch_embed.2.weight' in names
    assert 'backbone.layers.0.downsample.3.weight' in names
