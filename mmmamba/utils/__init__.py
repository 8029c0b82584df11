# Copyright (c) mmmamba contributors. All rights reserved.
"""Utilities for the tools: demo data, checkpoint loading and run checks.

Nothing here is imported by ``mmmamba.models`` or ``mmmamba.ops``. The names
are resolved lazily, so that ``mmmamba.utils.demo_data`` (numpy and PIL only)
can be used without importing torch or mmengine.
"""
import importlib
from typing import Any

_EXPORTS = {
    'checkpoint': [
        'check_checkpoint_file', 'check_pretrained_backbone',
        'check_state_dict_matches', 'checkpoint_safe_globals',
        'load_state_dict_from_file', 'register_checkpoint_safe_globals',
        'select_state_dict'
    ],
    'demo_data':
    ['make_ade20k', 'make_coco', 'make_demo_data', 'make_imagenet'],
    'setup_env': [
        'check_config_file', 'check_data_roots', 'get_task',
        'iter_dataset_paths', 'setup_cpu_distributed'
    ],
}
_OWNER = {name: mod for mod, names in _EXPORTS.items() for name in names}

__all__ = sorted(_OWNER)


def __getattr__(name: str) -> Any:
    if name not in _OWNER:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module = importlib.import_module(f'{__name__}.{_OWNER[name]}')
    return getattr(module, name)
