# Copyright (c) mmmamba contributors. All rights reserved.
"""Convert an official VMamba (MzeroMiko/VMamba) checkpoint for mmmamba.

Usage::

    python tools/model_converters/vmamba_to_mmmamba.py SRC DST [--ema]
        [--unsafe-load]

SRC is a local official checkpoint: a released classification file
(``{'model': state_dict, ...}``), a ``Backbone_VSSM`` state dict, or an
``MM_VSSM`` mmdet/mmseg checkpoint (``{'state_dict': ...}`` with the
backbone under ``backbone.``), or a bare state dict. DST is an mmengine
checkpoint ``dict(state_dict=..., meta=...)``: classification weights load
with ``strict=True`` into an mmpretrain ``ImageClassifier(backbone=
mmmamba.VMamba(out_indices=(3, )), neck=GlobalAveragePooling,
head=LinearClsHead)``; for detection/segmentation use it through
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.
The mapping is :func:`mmmamba.models.utils.vmamba_converter`; a key it does
not know is an error.
"""
import argparse
import hashlib
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Mapping

import torch
from mmengine.utils import mkdir_or_exist

from mmmamba.models.utils import vmamba_converter


def load_official(path: str, unsafe: bool = False) -> Mapping:
    """Load SRC with torch's safe loader (``weights_only=True``).

    Released VMamba files also pickle their yacs config; that needs
    ``unsafe=True`` (only for files from a source you trust, and with
    ``yacs`` installed).
    """
    if unsafe:
        return torch.load(path, map_location='cpu', weights_only=False)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise RuntimeError(
            f'{path} holds pickled objects that the safe loader refuses '
            f'({str(err).splitlines()[0]}). Released VMamba checkpoints '
            'pickle their yacs config: if the file comes from a source you '
            'trust, rerun with --unsafe-load (needs `pip install yacs`).'
        ) from err


def select_state_dict(checkpoint: Mapping, ema: bool = False) -> Mapping:
    """Pick the weights out of a loaded checkpoint.

    Args:
        checkpoint (Mapping): the loaded file.
        ema (bool): take ``model_ema`` instead of ``model``.

    Returns:
        Mapping: the state dict, with a leading ``module.`` (DDP) removed.
    """
    if ema:
        if 'model_ema' not in checkpoint:
            raise KeyError('--ema given but the checkpoint has no '
                           f"'model_ema' entry (keys: {sorted(checkpoint)})")
        state_dict = checkpoint['model_ema']
    elif isinstance(checkpoint.get('model'), Mapping):
        state_dict = checkpoint['model']
    elif isinstance(checkpoint.get('state_dict'), Mapping):
        state_dict = checkpoint['state_dict']
    elif all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        state_dict = checkpoint
    else:
        raise KeyError("cannot find the weights: expected a 'model' or "
                       "'state_dict' entry or a bare state dict, got keys "
                       f'{sorted(checkpoint)}')
    if state_dict and all(k.startswith('module.') for k in state_dict):
        state_dict = OrderedDict(
            (k[len('module.'):], v) for k, v in state_dict.items())
    return state_dict


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Convert an official VMamba checkpoint to mmmamba.')
    parser.add_argument('src', help='official checkpoint (local file)')
    parser.add_argument('dst', help='output mmengine checkpoint')
    parser.add_argument(
        '--ema', action='store_true', help="convert the 'model_ema' weights")
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='allow arbitrary pickled objects in SRC (trusted files only)')
    args = parser.parse_args()

    checkpoint = load_official(args.src, args.unsafe_load)
    state_dict = vmamba_converter(select_state_dict(checkpoint, args.ema))
    with open(args.src, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    meta = dict(
        converted_from=osp.basename(args.src),
        source_sha256=sha256,
        source_repo='MzeroMiko/VMamba',
        converter='mmmamba.models.utils.vmamba_converter',
        ema=args.ema)
    dst_dir = osp.dirname(osp.abspath(args.dst))
    mkdir_or_exist(dst_dir)
    torch.save(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'saved {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
