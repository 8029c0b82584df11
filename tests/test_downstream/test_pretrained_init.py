# Copyright (c) mmmamba contributors. All rights reserved.
"""The dense configs take their backbone weights from a converted
classification checkpoint through ``init_cfg`` (``prefix='backbone.'``).

A checkpoint is written the way the converters write them (the
``state_dict`` of an mmpretrain ``ImageClassifier`` built from our
classification config, keys ``backbone.*`` / ``head.fc.*``), with tiny
dims; the dense model built from the real det / seg config (same tiny
dims) must then hold exactly those backbone weights after
``init_weights()``.
"""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope

CONFIG_DIR = osp.abspath(
    osp.join(osp.dirname(__file__), '..', '..', 'configs'))
TINY_VIM = dict(embed_dims=32, num_layers=4, d_state=4)
TINY_VMAMBA = dict(
    embed_dims=16, depths=(1, 1, 1, 1), d_state=1, ssm_ratio=1.0)


def _cfg(rel_path):
    return Config.fromfile(osp.join(CONFIG_DIR, rel_path))


def _save_classifier(rel_path, arch, path):
    """Build the classification config with ``arch``; save its weights as a
    converted checkpoint; return the state dict."""
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import MODELS
    cfg = _cfg(rel_path)
    cfg.model.backbone.update(arch=arch, init_cfg=None)
    cfg.model.head.in_channels = (
        arch['embed_dims'] if 'num_layers' in arch else 8 * arch['embed_dims'])
    cfg.model.pop('train_cfg', None)  # no mixup / cutmix needed
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict()), path)
    return state


def _build_dense(cfg, scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        model.init_weights()
    return model


def _assert_backbone_from(model, ckpt, skip=()):
    loaded = model.backbone.state_dict()
    checked = 0
    for key, value in ckpt.items():
        if not key.startswith('backbone.'):
            continue
        name = key[len('backbone.'):]
        if name in skip:
            continue
        assert name in loaded, f'{name} missing in the dense backbone'
        torch.testing.assert_close(loaded[name], value, rtol=0, atol=0)
        checked += 1
    return checked


def _expected_vim_pos_embed(cls_pos, grid):
    """Official checkpoints: 14x14 patch positions with the class position
    inserted at index 98. Dense models drop it and resize the grid
    bicubically."""
    dims = cls_pos.shape[-1]
    patches = torch.cat([cls_pos[:, :98], cls_pos[:, 99:]], dim=1)
    patches = patches.reshape(1, 14, 14, dims).permute(0, 3, 1, 2)
    patches = F.interpolate(
        patches, size=grid, mode='bicubic', align_corners=False)
    return patches.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], dims)


@pytest.mark.parametrize('rel_path,scope,size', [
    ('vim/upernet_vim-s_8xb2-160k_ade20k-512x512.py', 'mmseg', (64, 64)),
    ('vim/cascade-mask-rcnn_vim-t_simple-fpn_8xb8-lsj-380k_coco.py', 'mmdet',
     (128, 128)),
])
def test_vim_dense_config_loads_classification_weights(tmp_path, rel_path,
                                                       scope, size):
    pytest.importorskip(scope)
    ckpt_path = str(tmp_path / 'vim_cls.pth')
    ckpt = _save_classifier('vim/vim-tiny-p16_8xb128_in1k.py', TINY_VIM,
                            ckpt_path)
    assert ckpt['backbone.pos_embed'].shape == (1, 197, 32)

    cfg = _cfg(rel_path)
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.update(
        arch=TINY_VIM,
        img_size=size,
        init_cfg=dict(
            type='Pretrained', checkpoint=ckpt_path, prefix='backbone.'))
    if scope == 'mmseg':
        cfg.model.backbone.out_indices = (0, 1, 2, 3)
    cfg.model.neck.in_channels = 32
    model = _build_dense(cfg, scope)

    checked = _assert_backbone_from(
        model, ckpt, skip=('pos_embed', 'cls_token', 'norm_f.weight'))
    assert checked == len(model.backbone.state_dict()) - 1  # + pos_embed
    assert not hasattr(model.backbone, 'cls_token')
    grid = (size[0] // 16, size[1] // 16)
    torch.testing.assert_close(
        model.backbone.pos_embed.detach(),
        _expected_vim_pos_embed(ckpt['backbone.pos_embed'], grid))


@pytest.mark.parametrize('rel_path,scope', [
    ('vmamba/upernet_vmamba-t_8xb2-160k_ade20k-512x512.py', 'mmseg'),
    ('vmamba/mask-rcnn_vmamba-t_fpn_1x_coco.py', 'mmdet'),
    ('vmamba/cascade-mask-rcnn_vmamba-t_fpn_1x_coco.py', 'mmdet'),
])
def test_vmamba_dense_config_loads_classification_weights(
        tmp_path, rel_path, scope):
    pytest.importorskip(scope)
    ckpt_path = str(tmp_path / 'vmamba_cls.pth')
    ckpt = _save_classifier('vmamba/vmamba-tiny_8xb128_in1k.py', TINY_VMAMBA,
                            ckpt_path)
    cfg = _cfg(rel_path)
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.update(
        arch=TINY_VMAMBA,
        init_cfg=dict(
            type='Pretrained', checkpoint=ckpt_path, prefix='backbone.'))
    dims = [16, 32, 64, 128]
    if scope == 'mmseg':
        cfg.model.decode_head.update(in_channels=dims, channels=16)
        cfg.model.auxiliary_head.update(in_channels=dims[2], channels=16)
    else:
        cfg.model.neck.update(in_channels=dims, out_channels=16)
    model = _build_dense(cfg, scope)
    # Everything the classifier has, including the classifier norm as
    # outnorm3; outnorm0-2 are new (as in the official MM_VSSM).
    checked = _assert_backbone_from(model, ckpt)
    assert checked == len(model.backbone.state_dict()) - 6
