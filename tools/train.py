# Copyright (c) mmmamba contributors. All rights reserved.
"""Train a classifier, detector or segmentor from an mmmamba config.

One script for the three tasks: the task, and so the registries the Runner
builds from, come with the config's inherited ``default_scope``
(``mmpretrain::`` / ``mmdet::`` / ``mmseg::`` runtime), and mmmamba's modules
are registered through the config's ``custom_imports``.

Examples::

    python tools/train.py configs/upernet_vim_s_ade20k.py
    python tools/train.py CONFIG --work-dir work_dirs/x --amp
    python tools/train.py CONFIG --resume              # latest in work dir
    python tools/train.py CONFIG --resume work_dirs/x/iter_8000.pth
    bash tools/dist_train.sh CONFIG 8                  # torchrun, 8 GPUs
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint

from mmmamba.utils import (check_checkpoint_file, check_config_file,
                           check_data_roots, check_pretrained_backbone,
                           get_task, register_checkpoint_safe_globals,
                           setup_cpu_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a model (classification, detection or '
        'segmentation) with an mmengine Runner.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go (default: the config\'s '
        'work_dir, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper, needs CUDA)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the real total batch size (uses the config\'s '
        'auto_scale_lr.base_batch_size)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_dataloader.batch_size=4 model.backbone.drop_path_rate=0.1')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2) or
    # --local_rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA device (mmengine\'s '
                             'AmpOptimWrapper); drop --amp on CPU.')
        wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise SystemExit(f'--amp only works with OptimWrapper, but the '
                             f'config uses {wrapper_type}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise SystemExit('--auto-scale-lr needs auto_scale_lr='
                             'dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def check_checkpoints(runner: Runner, cfg: Config) -> None:
    """Fail now, not after data loading, on checkpoints of another model."""
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    load_from = cfg.get('load_from')
    if load_from is None and cfg.get('resume', False):
        load_from = find_latest_checkpoint(cfg.work_dir)
    if load_from is not None:
        check_checkpoint_file(model, load_from)
    elif check_pretrained_backbone(model):
        print_log('backbone init_cfg checkpoint checked', logger='current')


def main() -> None:
    args = parse_args()
    try:
        cfg = Config.fromfile(check_config_file(args.config))
        if args.cfg_options is not None:
            cfg.merge_from_dict(args.cfg_options)
        task = get_task(cfg)
        cfg = merge_args(cfg, args)
        if args.resume not in (None, 'auto') and not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume checkpoint {args.resume!r} does not exist')
        loaders = ['train_dataloader']
        if cfg.get('val_cfg') is not None:
            loaders.append('val_dataloader')
        check_data_roots(cfg, loaders)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None

    # mmengine's own loaders call torch.load with the weights_only default
    # of torch>=2.6: allowlist what an mmengine checkpoint holds
    # (mmmamba/utils/checkpoint.py explains why not the global switch).
    register_checkpoint_safe_globals()
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    print_log(
        f'task: {task} (default_scope {cfg.default_scope!r})',
        logger='current')
    try:
        check_checkpoints(runner, cfg)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None
    runner.train()


if __name__ == '__main__':
    main()
