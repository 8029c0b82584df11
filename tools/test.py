# Copyright (c) mmmamba contributors. All rights reserved.
"""Evaluate a checkpoint with an mmmamba config and print its metrics.

The metrics are those of the config's ``test_evaluator``: top-1/top-5
accuracy for classification (mmpretrain), COCO bbox/segm mAP for detection
(mmdet), mIoU for segmentation (mmseg). As in ``tools/train.py``, the task
comes from the config's inherited ``default_scope``.

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --metrics-out metrics.json
    bash tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmmamba.utils import (check_checkpoint_file, check_config_file,
                           check_data_roots, get_task,
                           register_checkpoint_safe_globals,
                           setup_cpu_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a model with an mmengine Runner.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='where the evaluation logs go (default: the config\'s '
        'work_dir, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--metrics-out', help='also write the metrics to this JSON file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    try:
        cfg = Config.fromfile(check_config_file(args.config))
        if args.cfg_options is not None:
            cfg.merge_from_dict(args.cfg_options)
        task = get_task(cfg)
        if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
            raise FileNotFoundError(
                f'checkpoint {args.checkpoint!r} does not exist')
        check_data_roots(cfg, ['test_dataloader'])
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None

    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False

    # See tools/train.py: mmengine checkpoints under torch>=2.6.
    register_checkpoint_safe_globals()
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    try:
        # Every weight of the model must come from the checkpoint; the
        # backbone's must match exactly.
        check_checkpoint_file(model, args.checkpoint, require_all=True)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None

    metrics = runner.test()

    if not is_main_process():
        return
    if args.metrics_out:
        with open(args.metrics_out, 'w') as f:
            json.dump({k: _plain(v) for k, v in metrics.items()}, f, indent=2)
    if not metrics:
        raise SystemExit(
            f'error: the test evaluator ({cfg.test_evaluator.get("type")}) '
            'returned no metrics; see its messages above (e.g. a detector '
            'that predicted nothing above test_cfg score_thr)')
    print(f'\n{task} metrics of {args.checkpoint}:')
    for name, value in metrics.items():
        print(f'  {name}: {value}')


def _plain(value: object) -> object:
    """A JSON-serialisable copy of a metric value."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


if __name__ == '__main__':
    main()
