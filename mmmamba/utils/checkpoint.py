# Copyright (c) mmmamba contributors. All rights reserved.
"""Loading mmengine checkpoints under torch >= 2.6, and checking that a
checkpoint belongs to the model before any long work starts.

Why this exists: since torch 2.6, ``torch.load`` defaults to
``weights_only=True``. mmengine 0.10.7 calls ``torch.load`` without that
argument, so its own checkpoints (``load_from``, ``resume``,
``load_checkpoint``) fail with ``Unsupported global: ...HistoryBuffer``
because the ``message_hub`` entry pickles mmengine and numpy objects.

Two fixes exist: ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (turns the
safe unpickler off for every file, so a malicious checkpoint can run code),
or allowlisting exactly the globals an mmengine checkpoint contains with
``torch.serialization.add_safe_globals``. We take the second:
:func:`register_checkpoint_safe_globals` allows

* ``mmengine.logging.HistoryBuffer`` (the message hub's scalar logs),
* numpy's array/scalar reconstruction and dtype classes (their content),
* ``getattr``, but only through :func:`_history_buffer_getattr`, which
  resolves nothing except HistoryBuffer's registered statistics methods
  (``HistoryBuffer.min`` ...), the one place the pickles use it.

Anything else (e.g. an ``argparse.Namespace`` in an official Vim checkpoint)
still fails loudly; converters handle third-party files themselves.
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import torch
from torch import nn

__all__ = [
    'select_state_dict',
    'register_checkpoint_safe_globals', 'checkpoint_safe_globals',
    'load_state_dict_from_file', 'check_state_dict_matches',
    'check_checkpoint_file', 'check_pretrained_backbone'
]

_REGISTERED = False


def _history_buffer_getattr(obj: object, name: str) -> object:
    """The only ``getattr`` an mmengine checkpoint may run when unpickled.

    ``HistoryBuffer.__dict__['_statistics_methods']`` maps names to functions
    such as ``HistoryBuffer.min``; pickle stores each as
    ``getattr(HistoryBuffer, 'min')``. Anything else is refused.
    """
    from mmengine.logging import HistoryBuffer

    # The built-in statistics, plus any added by register_statistics.
    allowed = {'min', 'max', 'current', 'mean'}
    allowed |= set(getattr(HistoryBuffer, '_statistics_methods', {}))
    if (isinstance(obj, type) and issubclass(obj, HistoryBuffer)
            and name in allowed):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while unpickling a '
        'checkpoint: only HistoryBuffer statistics methods are allowed')


def checkpoint_safe_globals() -> List[object]:
    """The globals an mmengine checkpoint needs under ``weights_only``.

    Returns:
        list: Entries for :func:`torch.serialization.add_safe_globals`.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    entries: List[object] = [HistoryBuffer, np.ndarray, np.dtype]
    # numpy >= 2 pickles through numpy._core, numpy 1.x through numpy.core.
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        for fn_name in ('_reconstruct', 'scalar'):
            fn = getattr(mod, fn_name, None)
            if fn is not None:
                entries.append((fn, f'{mod_name}.{fn_name}'))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:  # numpy >= 1.25: one class per dtype
        entries += [
            getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')
        ]
    else:
        entries += [type(np.dtype(t)) for t in np.typecodes['All']]
    entries += [(_history_buffer_getattr, 'builtins.getattr'),
                (_history_buffer_getattr, '__builtin__.getattr')]
    return entries


def register_checkpoint_safe_globals() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

    Idempotent. A no-op on torch without ``add_safe_globals`` (< 2.4), where
    ``torch.load`` does not default to ``weights_only=True``.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())
    _REGISTERED = True


def load_state_dict_from_file(
        filename: str) -> 'OrderedDict[str, torch.Tensor]':
    """Read the model weights of a checkpoint file (safe unpickler).

    Unwraps ``state_dict`` / ``model`` / ``module`` and strips a
    ``module.`` prefix (DDP).

    Args:
        filename (str): Local path or any URI mmengine's loader accepts.

    Returns:
        OrderedDict[str, Tensor]: The weights.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    register_checkpoint_safe_globals()
    ckpt = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'{filename} does not hold a dict of weights but a '
                         f'{type(ckpt).__name__}')
    for key in ('state_dict', 'model', 'module'):
        if key in ckpt and isinstance(ckpt[key], Mapping):
            ckpt = ckpt[key]
            break
    return OrderedDict((re.sub(r'^module\.', '', k), v)
                       for k, v in ckpt.items() if isinstance(v, torch.Tensor))


def select_state_dict(checkpoint: Mapping,
                      ema: bool = False) -> Mapping[str, torch.Tensor]:
    """Pick the weights out of a loaded official (or mmengine) checkpoint.

    Args:
        checkpoint (Mapping): The loaded file: ``{'model': ...}``,
            ``{'state_dict': ...}`` or a bare state dict.
        ema (bool): Take ``model_ema`` instead of ``model``.

    Returns:
        Mapping: The state dict, with a leading ``module.`` (DDP) removed.
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


def _short(keys: Iterable[str], limit: int = 8) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def check_state_dict_matches(
        model: nn.Module,
        state_dict: Mapping[str, torch.Tensor],
        source: str,
        strict_prefixes: Sequence[str] = ('backbone.', ),
        require_all: bool = False) -> Tuple[List[str], List[str]]:
    """Check that ``state_dict`` is a checkpoint of ``model``.

    The check loads the weights into ``model`` (so that load hooks such as a
    position-embedding resize run exactly as they will later) and raises if,
    under any of ``strict_prefixes``, a key is missing, unexpected or of
    another shape. With ``require_all``, any missing key raises too.

    Args:
        model (nn.Module): The built model (unwrapped).
        state_dict (Mapping[str, Tensor]): Weights to check.
        source (str): Where the weights come from, for messages.
        strict_prefixes (Sequence[str]): Key prefixes that must match
            exactly. Defaults to ``('backbone.',)``.
        require_all (bool): Whether every key of the model must be present
            (evaluation of a trained model). Defaults to False.

    Returns:
        tuple[list[str], list[str]]: The tolerated missing and unexpected
        keys.

    Raises:
        ValueError: The checkpoint does not belong to the model.
    """
    own = model.state_dict()

    def strict(key: str) -> bool:
        return any(key.startswith(p) for p in strict_prefixes) or \
            not strict_prefixes

    # Shape mismatches outside the strict part (e.g. another number of
    # classes when fine-tuning) are tolerated, and those weights skipped;
    # inside it, load_state_dict decides after its hooks ran.
    loadable: Dict[str, torch.Tensor] = {}
    skipped = []
    for k, v in state_dict.items():
        if k in own and not strict(k) and own[k].shape != v.shape:
            skipped.append(k)
        else:
            loadable[k] = v
    try:
        missing, unexpected = model.load_state_dict(loadable, strict=False)
    except RuntimeError as e:
        raise ValueError(
            f'{source} does not fit this model: {e}\nIs it a checkpoint of '
            'another architecture or size (check the backbone arch in the '
            'config)?') from None
    missing = [k for k in missing if k not in skipped]
    strict_missing = [k for k in missing if strict(k)]
    strict_unexpected = [k for k in unexpected if strict(k)]
    problems = []
    if strict_missing or (require_all and missing):
        keys = missing if require_all else strict_missing
        problems.append(f'{len(keys)} weights of the model are missing in '
                        f'the checkpoint: {_short(keys)}')
    if require_all and skipped:
        problems.append(f'{len(skipped)} weights have other shapes in the '
                        f'checkpoint: {_short(skipped)}')
    if strict_unexpected:
        problems.append(f'{len(strict_unexpected)} checkpoint weights do not '
                        f'exist in the model: {_short(strict_unexpected)}')
    if problems:
        what = ', '.join(repr(p) for p in strict_prefixes) or 'all'
        raise ValueError(
            f'{source} is not a checkpoint of this model (strict keys: '
            f'{what}): ' + '; '.join(problems) + '. Use a checkpoint of the '
            'same config, or convert official weights with '
            'tools/model_converters first.')
    tolerated_missing = [k for k in missing if not strict(k)] + skipped
    tolerated_unexpected = [k for k in unexpected if not strict(k)]
    return tolerated_missing, tolerated_unexpected


def check_checkpoint_file(model: nn.Module,
                          filename: str,
                          require_all: bool = False) -> None:
    """Check, before long work, that a checkpoint file belongs to ``model``.

    Backbone keys are checked strictly (see
    :func:`check_state_dict_matches`); with ``require_all`` every key of the
    model must be present, as evaluating a partly random model is useless.

    Args:
        model (nn.Module): The built (unwrapped) model.
        filename (str): Checkpoint path.
        require_all (bool): Whether all model keys must be present.
            Defaults to False.

    Raises:
        FileNotFoundError: A local path that does not exist.
        ValueError: The checkpoint does not belong to the model.
    """
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    state_dict = load_state_dict_from_file(filename)
    prefixes = ('backbone.', ) if hasattr(model, 'backbone') else ()
    check_state_dict_matches(
        model,
        state_dict,
        f'checkpoint {filename!r}',
        strict_prefixes=prefixes,
        require_all=require_all)


def check_pretrained_backbone(model: nn.Module,
                              min_overlap: float = 0.5) -> bool:
    """Check a backbone's ``init_cfg=dict(type='Pretrained', ...)`` file.

    mmengine loads these weights non-strictly when training starts and only
    warns about mismatches. Here a local checkpoint must cover at least
    ``min_overlap`` of the backbone's weights, and the shared weights must
    have the right shapes (after the backbone's load hooks, e.g. a
    position-embedding resize). Remote checkpoints are left to mmengine.

    Args:
        model (nn.Module): The built (unwrapped) model.
        min_overlap (float): Smallest fraction of backbone weights that the
            checkpoint must provide. Defaults to 0.5.

    Returns:
        bool: Whether a checkpoint was checked.

    Raises:
        ValueError: The checkpoint does not belong to the backbone.
    """
    backbone = getattr(model, 'backbone', None)
    init_cfg = getattr(backbone, 'init_cfg', None)
    if not isinstance(init_cfg, Mapping) or \
            init_cfg.get('type') != 'Pretrained':
        return False
    filename = init_cfg.get('checkpoint')
    if not isinstance(filename, str) or '://' in filename:
        return False
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'backbone init_cfg checkpoint {filename!r} does not exist; '
            'convert the official weights first (see the config family '
            'README) or set model.backbone.init_cfg=None')
    state_dict = load_state_dict_from_file(filename)
    prefix = init_cfg.get('prefix')
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state_dict = OrderedDict((k[len(prefix):], v)
                                 for k, v in state_dict.items()
                                 if k.startswith(prefix))
    own = backbone.state_dict()
    covered = len(set(own) & set(state_dict)) / max(len(own), 1)
    if covered < min_overlap:
        raise ValueError(
            f'backbone init_cfg checkpoint {filename!r} (prefix {prefix!r}) '
            f'provides only {covered:.0%} of the backbone weights: it is '
            'not a checkpoint of this backbone (wrong model or prefix?)')
    try:  # the shapes must fit, after the backbone's own load hooks
        backbone.load_state_dict(state_dict, strict=False)
    except RuntimeError as e:
        raise ValueError(
            f'backbone init_cfg checkpoint {filename!r} does not fit this '
            f'backbone: {e}\nIs it a checkpoint of another arch or size?'
        ) from None
    return True
