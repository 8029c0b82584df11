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
from typing import Mapping

import torch
from mmengine.utils import mkdir_or_exist

from mmmamba.models.utils import vmamba_converter
from mmmamba.utils.checkpoint import select_state_dict


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
