# Copyright (c) mmmamba contributors. All rights reserved.
"""Map official VMamba checkpoints (MzeroMiko/VMamba) to mmmamba names.

A pure function over a state_dict; ``tools/model_converters/
vmamba_to_mmmamba.py`` is a thin CLI around it. Handled inputs:

* classification checkpoints of ``classification/models/vmamba.py``
  (``op.x_proj_weight``, ``op.dt_projs_weight``, ``classifier.*``), v2 and
  vanilla v0;
* the single-file ``vmamba.py`` of 2025 (``op.x_proj.weight`` of shape
  (4(R+2N), D), ``op.dt_projs.weight`` of shape (4D, R), patch-merging
  downsample as ``downsample.1`` (norm) / ``downsample.2`` (reduction));
* legacy names (``patch_embed.proj``/``.norm``, ``blocks.*.ln_1``,
  ``blocks.*.self_attention``, top-level ``norm``/``head``), as the
  official ``VSSM._load_from_state_dict`` renames them;
* ``Backbone_VSSM`` state dicts (``outnorm{i}``) and ``MM_VSSM``
  detection/segmentation checkpoints (every key under ``backbone.``; the
  other keys belong to the mmdet/mmseg model and are kept unchanged).

Output names are those of an mmpretrain ``ImageClassifier`` /
mmdet / mmseg model whose backbone is :class:`mmmamba.models.VMamba`:
``backbone.*`` for the backbone, ``head.fc.*`` for the classifier linear, and
``classifier.norm`` becomes ``backbone.outnorm{last stage}``. Any backbone key
that matches none of the known patterns raises ``KeyError``.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Set, Tuple

from torch import Tensor

__all__ = ['vmamba_converter', 'is_official_vmamba_state_dict']

_K = 4  # scan directions

# legacy -> current official names (applied to backbone-relative keys)
_LEGACY = [
    (re.compile(r'^patch_embed\.proj\.'), 'patch_embed.0.'),
    (re.compile(r'^patch_embed\.norm\.'), 'patch_embed.2.'),
    (re.compile(r'^(layers\.\d+\.blocks\.\d+\.)ln_1\.'), r'\1norm.'),
    (re.compile(r'^(layers\.\d+\.blocks\.\d+\.)self_attention\.'), r'\1op.'),
    (re.compile(r'^norm\.'), 'classifier.norm.'),
    (re.compile(r'^head\.'), 'classifier.head.'),
]

_BLOCK = r'layers\.\d+\.blocks\.\d+\.'
_VALID = [
    re.compile(p) for p in (
        r'^patch_embed\.[0257]\.(weight|bias)$',
        _BLOCK + r'(norm|norm2)\.(weight|bias)$',
        _BLOCK + r'op\.(x_proj_weight|A_logs|Ds|dt_projs_weight|'
        r'dt_projs_bias)$',
        _BLOCK + r'op\.(in_proj|out_proj)\.weight$',
        _BLOCK + r'op\.conv2d\.(weight|bias)$',
        _BLOCK + r'op\.out_norm\.(weight|bias)$',
        _BLOCK + r'mlp\.fc[12]\.(weight|bias)$',
        r'^layers\.\d+\.downsample\.[13]\.(weight|bias)$',
        r'^layers\.\d+\.downsample\.norm\.(weight|bias)$',
        r'^layers\.\d+\.downsample\.reduction\.weight$',
        r'^outnorm\d+\.(weight|bias)$',
    )
]
# 2-D (out, in) linear weights that some versions store as 1x1 convs
_LINEAR_WEIGHT = re.compile(r'(op\.(in_proj|out_proj)|mlp\.fc[12]|'
                            r'downsample\.reduction)\.weight$')


def is_official_vmamba_state_dict(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether keys look like an official VMamba (or MM_VSSM) state dict."""
    return any(
        k.endswith(('op.x_proj_weight', 'op.x_proj.weight',
                    'self_attention.x_proj_weight')) for k in state_dict)


def _num_stages(keys) -> int:
    matches = (re.match(r'^layers\.(\d+)\.', k) for k in keys)
    ids = [int(m.group(1)) for m in matches if m]
    if not ids:
        raise KeyError('no `layers.{i}.` keys: this is not a VMamba '
                       'checkpoint')
    return max(ids) + 1


def _convert_backbone_key(key: str, value: Tensor,
                          merge_layers: Set[str]) -> Tuple[str, Tensor]:
    """Rename / reshape one backbone-relative official key (after legacy
    renames); returns the mmmamba backbone key and tensor.

    ``merge_layers`` holds the ``layers.{i}.downsample.`` prefixes whose
    downsample is the 2025 ``Sequential(PatchMerge, norm, reduction)``.
    """
    if key.endswith('op.x_proj.weight'):  # 2025: (4(R+2N), D[, 1])
        v = value.reshape(value.shape[0], value.shape[1])
        return key[:-len('x_proj.weight')] + 'x_proj_weight', v.reshape(
            _K, -1, v.shape[1])
    if key.endswith('op.dt_projs.weight'):  # 2025: (4D, R[, 1])
        v = value.reshape(value.shape[0], value.shape[1])
        return key[:-len('dt_projs.weight')] + 'dt_projs_weight', v.reshape(
            _K, -1, v.shape[1])
    m = re.match(r'^(layers\.\d+\.downsample\.)([12])\.(weight|bias)$', key)
    if m and m.group(1) in merge_layers:
        # 2025 patch merging: Sequential(PatchMerge, norm, reduction)
        name = 'norm' if m.group(2) == '1' else 'reduction'
        return f'{m.group(1)}{name}.{m.group(3)}', value
    if _LINEAR_WEIGHT.search(key) and value.dim() == 4:
        if value.shape[2:] != (1, 1):
            raise ValueError(f'{key}: expected a linear (or 1x1 conv) '
                             f'weight, got shape {tuple(value.shape)}')
        value = value[:, :, 0, 0]
    return key, value


def vmamba_converter(state_dict: Mapping[str, Tensor],
                     backbone_prefix: str = 'backbone.',
                     head_prefix: str = 'head.fc.',
                     num_stages: Optional[int] = None) -> 'OrderedDict':
    """Convert an official VMamba state dict to mmmamba names.

    Args:
        state_dict (Mapping[str, Tensor]): the official weights: a
            classification ``VSSM`` state dict (the ``'model'`` entry of a
            released file), a ``Backbone_VSSM`` state dict, or a full
            ``MM_VSSM`` mmdet/mmseg state dict (backbone under
            ``backbone.``).
        backbone_prefix (str): prefix put in front of backbone keys.
            ``''`` gives a state dict for a bare :class:`VMamba`.
            Defaults to 'backbone.'.
        head_prefix (str): prefix of the classifier linear (mmpretrain
            ``LinearClsHead`` is ``head.fc.``). Defaults to 'head.fc.'.
        num_stages (int, optional): number of stages; inferred from the
            ``layers.{i}`` keys if None.

    Returns:
        OrderedDict: converted state dict, in the input order.

    Raises:
        KeyError: a key that matches no known official name (the message
            lists them); nothing is silently dropped.
    """
    downstream = any(k.startswith('backbone.') for k in state_dict)
    backbone: Dict[str, Tensor] = OrderedDict()
    others: Dict[str, Tensor] = OrderedDict()
    for k, v in state_dict.items():
        if downstream:
            if k.startswith('backbone.'):
                backbone[k[len('backbone.'):]] = v
            else:
                others[k] = v  # neck / heads of the mmdet or mmseg model
        else:
            backbone[k] = v
    if num_stages is None:
        num_stages = _num_stages(backbone)

    # a reduction at index 2 only exists in the 2025 patch-merging layout
    merge_layers = {
        k[:-len('2.weight')]
        for k in backbone
        if re.match(r'^layers\.\d+\.downsample\.2\.weight$', k)
    }
    out: Dict[str, Tensor] = OrderedDict()
    unknown = []
    for key, value in backbone.items():
        for pattern, repl in _LEGACY:
            key = pattern.sub(repl, key)
        if key.startswith('classifier.'):
            rest = key[len('classifier.'):]
            if rest in ('norm.weight', 'norm.bias'):
                out[f'{backbone_prefix}outnorm{num_stages - 1}.'
                    f'{rest[len("norm."):]}'] = value
            elif rest in ('head.weight', 'head.bias'):
                out[head_prefix + rest[len('head.'):]] = value
            else:
                unknown.append(key)
            continue
        key, value = _convert_backbone_key(key, value, merge_layers)
        if not any(p.match(key) for p in _VALID):
            unknown.append(key)
            continue
        out[backbone_prefix + key] = value
    if unknown:
        hint = ''
        if any('pos_embed' in k for k in unknown):
            hint = ' (posembed=True models are not supported)'
        raise KeyError(f'{len(unknown)} official VMamba key(s) have no '
                       f'mmmamba equivalent{hint}: {unknown[:10]}'
                       f'{" ..." if len(unknown) > 10 else ""}')
    clash = set(out) & set(others)
    if clash:
        raise KeyError(f'converted keys clash with non-backbone keys: '
                       f'{sorted(clash)[:10]}')
    out.update(others)
    return out
