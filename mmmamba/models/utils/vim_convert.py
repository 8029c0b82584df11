# Copyright (c) mmmamba contributors. All rights reserved.
"""Official Vision Mamba (hustvl/Vim) checkpoints to mmmamba state dicts.

The official key layout (``docs/official-models.md`` A.9 and Appendix 1) maps
to ``mmmamba.VisionMamba`` inside an mmpretrain ``ImageClassifier`` with a
``LinearClsHead`` as follows::

    cls_token, pos_embed            -> backbone.cls_token, backbone.pos_embed
    patch_embed.proj.{weight,bias}  -> backbone.patch_embed.projection.*
    layers.{i}.mixer.{name}         -> backbone.layers.{i}.mixer.{name}
    layers.{i}.norm.weight          -> backbone.layers.{i}.norm.weight
    norm_f.weight                   -> backbone.norm_f.weight
    head.{weight,bias}              -> head.fc.{weight,bias}

Only the released layout (bimamba "v2", middle class token, RMSNorm, no
RoPE, no layer scale) is supported. Any key outside this table, and any
missing key of it, is an error: a checkpoint of another Vim variant must not
load half-way.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, MutableMapping, Optional

from torch import Tensor

#: Mixer parameters of one official layer (bimamba "v2"), official names.
VIM_MIXER_KEYS = (
    'A_log',
    'D',
    'A_b_log',
    'D_b',
    'in_proj.weight',
    'conv1d.weight',
    'conv1d.bias',
    'x_proj.weight',
    'dt_proj.weight',
    'dt_proj.bias',
    'conv1d_b.weight',
    'conv1d_b.bias',
    'x_proj_b.weight',
    'dt_proj_b.weight',
    'dt_proj_b.bias',
    'out_proj.weight',
)
#: Optional mixer keys (``bias=True`` / ``conv_bias=False`` variants).
VIM_OPTIONAL_MIXER_KEYS = ('in_proj.bias', 'out_proj.bias')
VIM_TOP_KEYS = {
    'cls_token': 'cls_token',
    'pos_embed': 'pos_embed',
    'patch_embed.proj.weight': 'patch_embed.projection.weight',
    'patch_embed.proj.bias': 'patch_embed.projection.bias',
    'norm_f.weight': 'norm_f.weight',
}
VIM_HEAD_KEYS = {'head.weight': 'weight', 'head.bias': 'bias'}
_LAYER_RE = re.compile(r'^layers\.(\d+)\.(.+)$')

_HINTS = {
    'rope.': 'RoPE checkpoints (det/seg variants, if_rope=True) are not '
    'supported by mmmamba.VisionMamba',
    'gamma': 'layer-scale checkpoints (init_layer_scale) are not supported',
    'dist_token': 'distillation-token checkpoints are not supported',
    'head_dist': 'distillation-token checkpoints are not supported',
    'norm_f.bias': 'LayerNorm (rms_norm=False) checkpoints are not supported',
    'norm.bias': 'LayerNorm (rms_norm=False) checkpoints are not supported',
}


def is_official_vim_state_dict(state_dict: Mapping[str, Tensor],
                               prefix: str = '') -> bool:
    """Whether ``state_dict`` holds official Vim keys under ``prefix``."""
    return (prefix + 'patch_embed.proj.weight') in state_dict


def _hint(key: str) -> str:
    for pattern, hint in _HINTS.items():
        if pattern in key:
            return f' ({hint})'
    return ''


def convert_vim_state_dict(
        state_dict: Mapping[str, Tensor],
        backbone_prefix: str = 'backbone.',
        head_prefix: Optional[str] = 'head.fc.') -> 'OrderedDict[str, Tensor]':
    """Map an official Vim state dict to mmmamba keys. Pure function.

    Args:
        state_dict (Mapping[str, Tensor]): The official ``model`` (or
            ``model_ema``) state dict, without any ``module.`` prefix.
        backbone_prefix (str): Prefix of the backbone keys in the result.
            Defaults to 'backbone.'.
        head_prefix (str, optional): Prefix of the classifier keys in the
            result; ``head.weight`` becomes ``{head_prefix}weight``. None
            drops the official head (for backbone-only use).
            Defaults to 'head.fc.'.

    Returns:
        OrderedDict[str, Tensor]: The converted state dict; the tensors are
        the input tensors (not copies).

    Raises:
        KeyError: An official key has no mapping, a required key is missing,
            or the layer indices are not 0..n-1.
    """
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unmapped: List[str] = []
    layers: Dict[int, Dict[str, Tensor]] = {}
    head: Dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if key in VIM_TOP_KEYS:
            out[backbone_prefix + VIM_TOP_KEYS[key]] = value
        elif key in VIM_HEAD_KEYS:
            head[key] = value
        else:
            match = _LAYER_RE.match(key)
            if match is None:
                unmapped.append(key)
                continue
            idx, rest = int(match.group(1)), match.group(2)
            name = rest[len('mixer.'):] if rest.startswith('mixer.') else None
            if rest == 'norm.weight' or (name is not None and
                                         (name in VIM_MIXER_KEYS
                                          or name in VIM_OPTIONAL_MIXER_KEYS)):
                layers.setdefault(idx, {})[rest] = value
            else:
                unmapped.append(key)
    if unmapped:
        raise KeyError(
            'Official Vim keys without a mapping to mmmamba.VisionMamba: ' +
            ', '.join(f'{k}{_hint(k)}' for k in unmapped[:20]) +
            (f' ... ({len(unmapped)} in total)' if len(unmapped) > 20 else ''
             ) + '. Only the released bimamba-v2 middle-cls-token layout is '
            'supported.')

    missing = [k for k in VIM_TOP_KEYS if k not in state_dict]
    if sorted(layers) != list(range(len(layers))):
        raise KeyError('Official Vim layer indices must be 0..n-1, got '
                       f'{sorted(layers)}')
    if not layers:
        missing.append('layers.0.*')
    required = ['norm.weight'] + [f'mixer.{k}' for k in VIM_MIXER_KEYS]
    for idx in sorted(layers):
        layer = layers[idx]
        missing.extend(f'layers.{idx}.{k}' for k in required if k not in layer)
        for rest in required + [f'mixer.{k}' for k in VIM_OPTIONAL_MIXER_KEYS]:
            if rest in layer:
                out[f'{backbone_prefix}layers.{idx}.{rest}'] = layer[rest]
    if len(head) == 1:
        missing.extend(k for k in VIM_HEAD_KEYS if k not in head)
    if missing:
        raise KeyError(
            'Official Vim checkpoint is missing keys: ' + ', '.join(missing) +
            '. Is it a full bimamba-v2 Vim checkpoint (with cls_token, '
            'norm_f and the *_b backward-branch parameters)?')
    if head and head_prefix is not None:
        for key, name in VIM_HEAD_KEYS.items():
            out[head_prefix + name] = head[key]
    return out


def convert_vim_state_dict_inplace(state_dict: MutableMapping[str, Tensor],
                                   prefix: str = '') -> bool:
    """Convert official Vim backbone keys under ``prefix`` in place.

    Meant for ``VisionMamba``'s load-state-dict pre-hook, so that a bare
    official state dict loads directly; keys outside ``prefix`` are left
    alone and the official ``head.*`` keys under ``prefix`` are dropped (a
    backbone has no head). Uses :func:`convert_vim_state_dict`, so unmapped
    or missing keys raise.

    Returns:
        bool: Whether official keys were found and converted.
    """
    if not is_official_vim_state_dict(state_dict, prefix):
        return False
    keys = [k for k in state_dict if k.startswith(prefix)]
    sub = OrderedDict((k[len(prefix):], state_dict[k]) for k in keys)
    converted = convert_vim_state_dict(
        sub, backbone_prefix=prefix, head_prefix=None)
    for k in keys:
        del state_dict[k]
    state_dict.update(converted)
    return True
