# Copyright (c) mmmamba contributors. All rights reserved.
"""Full-size dense configs take a bf16-AMP training step on a GPU.

GPU only (skipped on CPU). Each test builds the real config at full size
(random init), runs two training iterations at the config's per-GPU batch
size and checks that the loss and every gradient are finite. The peak
memory is printed (``pytest -s``) for the README / issue notes.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

CONFIG_DIR = osp.abspath(
    osp.join(osp.dirname(__file__), '..', '..', 'configs'))

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason='requires a CUDA GPU')
]


def _prepare(rel_path, scope):
    pytest.importorskip(scope)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, rel_path))
    cfg.model.backbone.init_cfg = None
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = 'bfloat16'
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model).cuda()
        model.init_weights()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return cfg, model, optim_wrapper


def _train_two_steps(model, optim_wrapper, data, scope, name):
    torch.cuda.reset_peak_memory_stats()
    model.train()
    with DefaultScope.overwrite_default_scope(scope):
        for _ in range(2):
            losses = model.train_step(data, optim_wrapper)
            assert torch.isfinite(losses['loss']), losses
    for pname, param in model.named_parameters():
        if param.grad is not None:
            assert torch.isfinite(param.grad).all(), pname
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(f'\n{name}: loss {float(losses["loss"]):.3f}, peak memory '
          f'{peak:.1f} GiB')


@pytest.mark.parametrize('rel_path', [
    'vim/upernet_vim-t_8xb2-160k_ade20k-512x512.py',
    'vim/upernet_vim-s_8xb2-160k_ade20k-512x512.py',
    'vmamba/upernet_vmamba-t_8xb2-160k_ade20k-512x512.py',
])
def test_upernet_full_size_amp_step(rel_path):
    cfg, model, optim_wrapper = _prepare(rel_path, 'mmseg')
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    size = (512, 512)
    batch = cfg.train_dataloader.batch_size
    samples = []
    for _ in range(batch):
        sample = SegDataSample(
            gt_sem_seg=PixelData(data=torch.randint(0, 150, (1, *size))))
        sample.set_metainfo(
            dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, *size), dtype=torch.uint8)
            for _ in range(batch)
        ],
        data_samples=samples)
    _train_two_steps(model, optim_wrapper, data, 'mmseg', rel_path)


@pytest.mark.parametrize('rel_path,batch', [
    ('vim/cascade-mask-rcnn_vim-t_simple-fpn_8xb8-lsj-380k_coco.py', 8),
    ('vmamba/mask-rcnn_vmamba-t_fpn_1x_coco.py', 2),
])
def test_detector_full_size_amp_step(rel_path, batch):
    _, model, optim_wrapper = _prepare(rel_path, 'mmdet')
    from mmdet.testing import demo_mm_inputs
    shape = [3, 1024, 1024] if 'lsj' in rel_path else [3, 800, 1216]
    data = demo_mm_inputs(
        batch, [shape] * batch, num_items=[5] * batch, with_mask=True)
    _train_two_steps(model, optim_wrapper, data, 'mmdet', rel_path)
