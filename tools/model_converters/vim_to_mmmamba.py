# Copyright (c) mmmamba contributors. All rights reserved.
"""Convert an official Vision Mamba (hustvl/Vim) checkpoint for mmmamba.

Usage::

    python tools/model_converters/vim_to_mmmamba.py SRC DST [--ema]
        [--no-head] [--unsafe-load]

SRC is an official checkpoint: ``{'model': state_dict, ...}`` (as written by
the official ``main.py``, possibly with ``model_ema``) or a bare state dict.
DST is an mmengine checkpoint ``dict(state_dict=..., meta=...)`` with keys
``backbone.*`` / ``head.fc.*`` that loads with ``strict=True`` into an
mmpretrain ``ImageClassifier(backbone=mmmamba.VisionMamba, neck=None,
head=LinearClsHead)``. The key mapping is
:func:`mmmamba.models.utils.convert_vim_state_dict`; any official key it
does not map is an error.
"""
import argparse
import hashlib
import os.path as osp
import pickle
from typing import Optional

import torch
from mmengine.utils import mkdir_or_exist

from mmmamba.models.utils import convert_vim_state_dict
from mmmamba.utils.checkpoint import select_state_dict


def load_official(path: str, unsafe: bool = False) -> dict:
    """Load SRC with torch's safe loader (``weights_only=True``).

    The official ``main.py`` stores ``args`` as an ``argparse.Namespace``;
    that class is allow-listed. Other pickled objects need ``unsafe=True``
    (only for files from a trusted source).
    """
    if unsafe:
        return torch.load(path, map_location='cpu', weights_only=False)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise RuntimeError(
            f'{path} holds pickled objects that the safe loader refuses '
            f'({err}). If the file comes from a source you trust, rerun '
            'with --unsafe-load.') from err


def convert_file(src: str,
                 dst: str,
                 ema: bool = False,
                 with_head: bool = True,
                 unsafe: bool = False) -> dict:
    """Convert SRC and write DST; returns the saved dict."""
    checkpoint = load_official(src, unsafe=unsafe)
    state_dict = select_state_dict(checkpoint, ema=ema)
    head_prefix: Optional[str] = 'head.fc.' if with_head else None
    converted = convert_vim_state_dict(
        state_dict, backbone_prefix='backbone.', head_prefix=head_prefix)
    with open(src, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    meta = dict(
        converted_from=osp.basename(src),
        source_sha256=sha256,
        source_entry='model_ema' if ema else 'model',
        converter='mmmamba tools/model_converters/vim_to_mmmamba.py',
        official_repo='hustvl/Vim',
        num_params=sum(v.numel() for v in converted.values()))
    out = dict(state_dict=converted, meta=meta)
    mkdir_or_exist(osp.dirname(osp.abspath(dst)))
    torch.save(out, dst)
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official Vim checkpoint to mmmamba keys.')
    parser.add_argument('src', help='official checkpoint path')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument(
        '--ema',
        action='store_true',
        help="convert the 'model_ema' weights instead of 'model'")
    parser.add_argument(
        '--no-head',
        action='store_true',
        help='drop the classifier (backbone.* keys only)')
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='load SRC with weights_only=False (trusted files only)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = convert_file(
        args.src,
        args.dst,
        ema=args.ema,
        with_head=not args.no_head,
        unsafe=args.unsafe_load)
    print(f"Saved {len(out['state_dict'])} tensors "
          f"({out['meta']['num_params']:,} parameters) to {args.dst}")


if __name__ == '__main__':
    main()
