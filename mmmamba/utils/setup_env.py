# Copyright (c) mmmamba contributors. All rights reserved.
"""Checks and set-up shared by ``tools/train.py`` and ``tools/test.py``.

Everything here runs before the Runner starts long work, so that bad input
(a missing config, a dataset path that does not exist, an impossible launch
setting) stops with a message that names the fix.
"""
import logging
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

__all__ = [
    'TASKS', 'check_config_file', 'get_task', 'iter_dataset_paths',
    'check_data_roots', 'setup_cpu_distributed'
]

#: default_scope of the inherited runtime -> task name.
TASKS = {
    'mmpretrain': 'classification',
    'mmdet': 'detection',
    'mmseg': 'segmentation',
}

_DEMO_HINT = ('prepare the dataset (or write the demo data with '
              '`python tools/dataset_converters/make_demo_data.py`), or '
              'point the config at it with --cfg-options '
              '{loader}.dataset.data_root=PATH')


def check_config_file(path: str) -> str:
    """Return ``path`` if it is an existing config file, else raise.

    Args:
        path (str): Config path from the command line.

    Returns:
        str: The same path.

    Raises:
        FileNotFoundError: The file does not exist.
    """
    if not osp.isfile(path):
        hint = ''
        if not path.startswith('configs') and osp.isfile(
                osp.join('configs', path)):
            hint = f' (did you mean configs/{path}?)'
        raise FileNotFoundError(f'config file {path!r} does not exist{hint}')
    return path


def get_task(cfg: Config) -> str:
    """The task of a config, from its inherited ``default_scope``.

    Args:
        cfg (Config): A loaded config.

    Returns:
        str: 'classification', 'detection' or 'segmentation'.

    Raises:
        ValueError: No or an unknown ``default_scope``.
    """
    scope = cfg.get('default_scope')
    if scope not in TASKS:
        raise ValueError(
            f'cannot tell the task of this config: default_scope is '
            f'{scope!r}, expected one of {sorted(TASKS)}. Inherit the '
            "toolbox runtime, e.g. 'mmseg::_base_/default_runtime.py'.")
    return TASKS[scope]


def _datasets(dataset: Optional[dict]) -> Iterator[dict]:
    """Leaf dataset configs under wrappers (Repeat, Concat, ...)."""
    if not isinstance(dataset, dict):
        return
    inner = [dataset['dataset']] if isinstance(dataset.get('dataset'),
                                               dict) else []
    inner += [d for d in dataset.get('datasets', []) if isinstance(d, dict)]
    if inner:
        for d in inner:
            yield from _datasets(d)
    else:
        yield dataset


def _is_local(path: str) -> bool:
    return '://' not in path


def iter_dataset_paths(dataset: dict) -> Iterator[Tuple[str, str]]:
    """``(field, path)`` of every local path a dataset config reads.

    The rules are mmengine ``BaseDataset``'s: ``ann_file`` and the
    ``data_prefix`` entries are joined to ``data_root`` unless absolute.
    Datasets with ``backend_args`` or a URI ``data_root`` (remote storage)
    are skipped.

    Args:
        dataset (dict): A dataset config, possibly a wrapper.

    Yields:
        tuple[str, str]: Field name and path.
    """
    for ds in _datasets(dataset):
        root = ds.get('data_root') or ''
        if ds.get('backend_args') or not _is_local(root):
            continue
        if root:
            yield 'data_root', root
        ann = ds.get('ann_file') or ''
        if ann and _is_local(ann):
            yield 'ann_file', ann if osp.isabs(ann) else osp.join(root, ann)
        prefix = ds.get('data_prefix') or {}
        if isinstance(prefix, str):
            prefix = dict(img_path=prefix)
        for key, value in prefix.items():
            if isinstance(value, str) and value and _is_local(value):
                yield (f'data_prefix.{key}',
                       value if osp.isabs(value) else osp.join(root, value))


def check_data_roots(cfg: Config, loaders: Sequence[str]) -> List[str]:
    """Raise if a dataset path of the given dataloaders does not exist.

    The matching evaluators' ``ann_file`` (e.g. ``val_evaluator`` of
    ``val_dataloader``, used by COCO metrics) is checked too.

    Args:
        cfg (Config): The config.
        loaders (Sequence[str]): Names such as 'train_dataloader'; missing
            or ``None`` entries are skipped.

    Returns:
        list[str]: The paths checked.

    Raises:
        FileNotFoundError: Naming the loader, the field and the path.
    """
    checked = []
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not isinstance(loader_cfg, dict):
            continue
        for field, path in iter_dataset_paths(loader_cfg.get('dataset')):
            if not osp.exists(path):
                raise FileNotFoundError(
                    f'{loader}: the dataset {field} {path!r} does not exist '
                    f'(resolved: {osp.abspath(path)}). Fix: ' +
                    _DEMO_HINT.format(loader=loader))
            checked.append(path)
        # Evaluators such as CocoMetric read the annotations themselves.
        evaluator = loader.replace('_dataloader', '_evaluator')
        metrics = cfg.get(evaluator)
        metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
        for metric in metrics:
            ann = metric.get('ann_file') if isinstance(metric, dict) else None
            if not isinstance(ann, str) or not ann or not _is_local(ann) \
                    or metric.get('backend_args'):
                continue
            if not osp.exists(ann):
                raise FileNotFoundError(
                    f'{evaluator}: ann_file {ann!r} does not exist (resolved:'
                    f' {osp.abspath(ann)}). Fix: point it at the dataset '
                    f'with --cfg-options {evaluator}.ann_file=PATH')
            checked.append(ann)
    return checked


def _replace_syncbn(node: object) -> int:
    """Turn ``type='SyncBN'`` into 'BN' in a config tree, in place."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _replace_syncbn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_syncbn(value)
    return count


def setup_cpu_distributed(cfg: Config) -> bool:
    """Make ``--launcher pytorch`` work on machines without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its Runner
    gives DDP ``device_ids=[LOCAL_RANK]``; both fail for CPU modules. When
    CUDA is not available this joins the process group with the gloo
    backend from torchrun's environment, wraps the model with
    ``device_ids=None`` and turns SyncBN (CUDA only) into BN. With CUDA it
    does nothing.

    Args:
        cfg (Config): The config, with ``launcher`` set; changed in place.

    Returns:
        bool: Whether the CPU set-up was applied.
    """
    import torch
    import torch.distributed as dist

    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs CUDA devices. On CPU, start the '
            'processes with torchrun (tools/dist_train.sh) and '
            '--launcher pytorch.')
    missing = [
        k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch expects torchrun\'s environment, but '
            f'{missing} are not set. Start with tools/dist_train.sh or '
            '`python -m torch.distributed.run --nproc_per_node N ...`.')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if _replace_syncbn(cfg.get('model')):
        print_log(
            'SyncBN needs CUDA: using BN instead on CPU (BN statistics are '
            'then per process).',
            logger='current',
            level=logging.WARNING)
    return True
