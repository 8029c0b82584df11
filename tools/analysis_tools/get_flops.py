# Copyright (c) mmmamba contributors. All rights reserved.
"""Params and FLOPs of mmmamba configs, counted as the papers count them.

Works for classification (mmpretrain), semantic segmentation (mmseg) and
detection (mmdet) configs, on CPU. The model is built from the config with
its default scope (no weights are loaded: counts do not depend on them,
except the number of RPN proposals, see below) and one ``mode='tensor'``
forward of a random (1, 3, H, W) input is traced, as mmdet's / mmseg's
``get_flops`` tools and the VMamba authors' counter do:

* classification: backbone + neck + head;
* segmentation (``EncoderDecoder._forward``): backbone + neck + decode head
  (the auxiliary head is not run at inference and is not counted, but its
  parameters are in the parameter count, as published);
* detection (``TwoStageDetector._forward``): backbone + neck + RPN head +
  the RoI heads on the RPN proposals (at most 1000; the mask head on the
  first 100). A randomly initialised RPN keeps all 1000 proposals, which
  is what the published numbers assume.

Counting convention: :mod:`mmmamba.utils.flops` (fvcore's handles, one
multiply-add = one FLOP, plus ``9·B·L·D·N + B·D·L`` per selective scan;
the cross scan/merge and element-wise ops are free).

Default input shape (H, W): 224x224 for classification, 512x2048 for
segmentation (the UperNet tables), 1280x800 for detection (the Mask R-CNN
tables). ``--shape H W`` overrides it.

Examples::

    python tools/analysis_tools/get_flops.py \\
        configs/vmamba/vmamba-tiny_8xb128_in1k.py
    python tools/analysis_tools/get_flops.py \\
        configs/vmamba/upernet_vmamba-t_8xb2-160k_ade20k-512x512.py \\
        --shape 512 2048 --out-json work_dirs/flops.jsonl
"""
import argparse
import importlib
import json
import os
import os.path as osp
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmmamba.utils.flops import count_flops, count_params

DEFAULT_SHAPES = {
    'mmpretrain': (224, 224),
    'mmseg': (512, 2048),
    'mmdet': (1280, 800),
}
_TASK_OF_MODEL = {
    'ImageClassifier': 'mmpretrain',
    'EncoderDecoder': 'mmseg',
    'CascadeEncoderDecoder': 'mmseg',
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Params and FLOPs of mmmamba configs (papers\' '
        'convention: fvcore + 9BLDN per selective scan)')
    parser.add_argument('config', nargs='+', help='config file(s)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input height and width (default: 224 224 for classification, '
        '512 2048 for segmentation, 1280 800 for detection)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='override config entries, e.g. model.backbone.arch=small')
    parser.add_argument(
        '--out-json',
        help='append one JSON record per config to this file (JSON lines)')
    parser.add_argument(
        '--by-module',
        type=int,
        default=0,
        metavar='DEPTH',
        help='also print FLOPs per module down to this depth')
    return parser.parse_args(argv)


def _parse_cfg_options(options: Sequence[str]) -> Dict[str, Any]:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    if not options:
        return {}
    return parser.parse_args(['--o', *options]).o


def detect_task(cfg) -> str:
    """The downstream scope of a config: 'mmpretrain', 'mmseg' or
    'mmdet'."""
    scope = cfg.get('default_scope', None)
    if scope in DEFAULT_SHAPES:
        return scope
    model_type = str(cfg.model.get('type', ''))
    model_type = model_type.split('.')[-1]
    if model_type in _TASK_OF_MODEL:
        return _TASK_OF_MODEL[model_type]
    if 'rpn_head' in cfg.model or 'roi_head' in cfg.model:
        return 'mmdet'
    raise ValueError(
        f'cannot tell the task of this config (default_scope={scope!r}, '
        f'model type {model_type!r}); set default_scope to one of '
        f'{sorted(DEFAULT_SHAPES)}')


def build_model(cfg, task: str) -> nn.Module:
    """Build ``cfg.model`` in the ``task`` scope, in eval mode, on CPU.

    ``init_weights`` is not called, so no checkpoint is read.
    """
    from mmengine.registry import init_default_scope
    init_default_scope(task)
    registry = importlib.import_module(f'{task}.registry').MODELS
    model = registry.build(cfg.model)
    return model.eval()


class TensorModeForward(nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` as a one-argument
    module, so that a tracer can run it.

    Args:
        model (nn.Module): an mmengine ``BaseModel``.
        data_samples (list, optional): data samples passed on every call.
    """

    def __init__(self, model: nn.Module, data_samples: Optional[list]):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor) -> Any:
        return self.model(inputs, self.data_samples, mode='tensor')


def make_data_samples(task: str, shape: Tuple[int, int]) -> Optional[list]:
    """Data samples a tensor-mode forward needs (only detectors need
    image metas: the RPN clips proposals to ``img_shape``)."""
    if task != 'mmdet':
        return None
    from mmdet.structures import DetDataSample
    h, w = shape
    meta = dict(
        img_shape=(h, w),
        ori_shape=(h, w),
        pad_shape=(h, w),
        batch_input_shape=(h, w),
        scale_factor=(1.0, 1.0))
    return [DetDataSample(metainfo=meta)]


def get_flops(config: str,
              shape: Optional[Tuple[int, int]] = None,
              cfg_options: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Params and FLOPs of one config.

    Args:
        config (str): config file path.
        shape (tuple[int, int], optional): input (H, W); the task's default
            when None.
        cfg_options (dict, optional): config overrides.

    Returns:
        dict: ``config``, ``task``, ``shape``, ``params``, ``flops``,
        ``scan_flops``, ``by_operator``, ``uncounted_ops`` (ops seen without
        a handle: zero FLOPs by convention), ``by_module``, ``seconds``.
    """
    from mmengine.config import Config
    start = time.perf_counter()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    task = detect_task(cfg)
    shape = tuple(shape) if shape is not None else DEFAULT_SHAPES[task]
    model = build_model(cfg, task)
    params = count_params(model)
    wrapped = TensorModeForward(model, make_data_samples(task, shape))
    torch.manual_seed(0)
    inputs = torch.randn(1, 3, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        result = count_flops(wrapped, (inputs, ))
    by_module = {}
    for name, value in result.by_module.items():
        if name in ('', 'model'):
            name = ''
        elif name.startswith('model.'):
            name = name[len('model.'):]
        by_module[name] = value
    return dict(
        config=config,
        task=task,
        shape=list(shape),
        params=params,
        flops=result.total,
        scan_flops=result.scan,
        by_operator=result.by_operator,
        uncounted_ops=result.uncounted,
        by_module=by_module,
        seconds=round(time.perf_counter() - start, 1))


def format_record(rec: Dict[str, Any], by_module_depth: int = 0) -> str:
    h, w = rec['shape']
    lines = [
        '=' * 72,
        f"config: {rec['config']}",
        f"task: {rec['task']}   input: (1, 3, {h}, {w})",
        f"params: {rec['params']:,} ({rec['params'] / 1e6:.2f} M)",
        f"FLOPs: {rec['flops']:,} ({rec['flops'] / 1e9:.2f} G), of which "
        f"selective scan {rec['scan_flops'] / 1e9:.3f} G",
        'by operator (G): ' +
        ', '.join(f'{k}={v / 1e9:.3f}'
                  for k, v in sorted(rec['by_operator'].items())),
        'seen with zero FLOPs (convention): ' +
        ', '.join(f'{k}x{n}' for k, n in sorted(rec['uncounted_ops'].items())),
        f"time: {rec['seconds']} s",
    ]
    if by_module_depth > 0:
        for name, v in rec['by_module'].items():
            depth = 0 if name == '' else name.count('.') + 1
            if depth <= by_module_depth and v:
                lines.append(f"  {name or '(total)':<50s} {v / 1e9:10.3f} G")
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    cfg_options = _parse_cfg_options(args.cfg_options)
    records = []
    for config in args.config:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        rec = get_flops(config, args.shape, cfg_options)
        rec['torch'] = torch.__version__
        print(format_record(rec, args.by_module), flush=True)
        if args.out_json:
            os.makedirs(osp.dirname(osp.abspath(args.out_json)), exist_ok=True)
            slim = {k: v for k, v in rec.items() if k != 'by_module'}
            with open(args.out_json, 'a') as f:
                f.write(json.dumps(slim) + '\n')
        records.append(rec)
    return records


if __name__ == '__main__':
    main(sys.argv[1:])
