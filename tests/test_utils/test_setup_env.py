# Copyright (c) mmmamba contributors. All rights reserved.
import pytest
import torch
from mmengine.config import Config

from mmmamba.utils.setup_env import (check_config_file, check_data_roots,
                                     get_task, iter_dataset_paths,
                                     setup_cpu_distributed)


def test_check_config_file(tmp_path):
    cfg = tmp_path / 'a.py'
    cfg.write_text('x = 1\n')
    assert check_config_file(str(cfg)) == str(cfg)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        check_config_file(str(tmp_path / 'missing.py'))


@pytest.mark.parametrize('scope,task', [('mmpretrain', 'classification'),
                                        ('mmdet', 'detection'),
                                        ('mmseg', 'segmentation')])
def test_get_task(scope, task):
    assert get_task(Config(dict(default_scope=scope))) == task


def test_get_task_without_scope_raises():
    with pytest.raises(ValueError, match='default_scope'):
        get_task(Config(dict(model=dict())))


def _cfg(root, ann='annotations/a.json', img='images/', evaluator_ann=None):
    dataset = dict(
        type='CocoDataset',
        data_root=root,
        ann_file=ann,
        data_prefix=dict(img=img))
    return Config(
        dict(
            train_dataloader=dict(
                dataset=dict(type='RepeatDataset', times=2, dataset=dataset)),
            val_dataloader=dict(
                dataset=dict(type='ConcatDataset', datasets=[dataset])),
            val_evaluator=dict(type='CocoMetric', ann_file=evaluator_ann)))


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations' / 'a.json').write_text('{}')
    (tmp_path / 'images').mkdir()
    return str(tmp_path)


def test_existing_paths_pass_through_wrappers(root):
    cfg = _cfg(root, evaluator_ann=f'{root}/annotations/a.json')
    checked = check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    assert len(checked) == 7  # 3 per dataset + the evaluator's ann_file


@pytest.mark.parametrize('kwargs,field', [
    (dict(ann='annotations/b.json'), 'ann_file'),
    (dict(img='imgs/'), 'data_prefix.img'),
])
def test_missing_paths_raise_naming_loader_and_field(root, kwargs, field):
    with pytest.raises(FileNotFoundError) as e:
        check_data_roots(_cfg(root, **kwargs), ['train_dataloader'])
    assert 'train_dataloader' in str(e.value) and field in str(e.value)
    assert 'make_demo_data.py' in str(e.value)


def test_missing_data_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root'):
        check_data_roots(_cfg(str(tmp_path / 'nowhere')), ['val_dataloader'])


def test_missing_evaluator_ann_file_raises(root):
    cfg = _cfg(root, evaluator_ann=f'{root}/annotations/x.json')
    with pytest.raises(FileNotFoundError, match='val_evaluator'):
        check_data_roots(cfg, ['val_dataloader'])


def test_remote_and_absent_loaders_are_skipped(root):
    cfg = _cfg('s3://bucket/coco')
    cfg.test_dataloader = None
    assert check_data_roots(
        cfg, ['train_dataloader', 'test_dataloader', 'nope']) == []


def test_mmpretrain_string_prefix():
    paths = dict(
        iter_dataset_paths(
            dict(type='ImageNet', data_root='d', data_prefix='val')))
    assert paths == {'data_root': 'd', 'data_prefix.img_path': 'd/val'}


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_cpu_distributed_needs_torchrun_env(monkeypatch):
    assert not setup_cpu_distributed(Config(dict(launcher='none')))
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match='torchrun'):
        setup_cpu_distributed(Config(dict(launcher='pytorch')))
    with pytest.raises(RuntimeError, match='needs CUDA'):
        setup_cpu_distributed(Config(dict(launcher='slurm')))
