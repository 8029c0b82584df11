# Copyright (c) mmmamba contributors. All rights reserved.
"""Probes for optional backends. Importing this module imports neither triton nor
mamba-ssm; each probe imports on first use and caches the answer."""
import functools
import importlib
import os

__all__ = ['is_triton_available', 'is_mamba_ssm_cuda_available', 'triton_interpret']


@functools.lru_cache(maxsize=None)
def is_triton_available() -> bool:
    """Whether ``triton`` imports (it may still have no active GPU driver)."""
    try:
        importlib.import_module('triton')
        importlib.import_module('triton.language')
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


@functools.lru_cache(maxsize=None)
def is_mamba_ssm_cuda_available() -> bool:
    """Whether mamba-ssm's compiled selective scan imports.

    ``import mamba_ssm`` alone is not enough: since mamba-ssm made its CUDA build
    opt-in, the Python package installs without ``selective_scan_cuda``.
    """
    try:
        importlib.import_module('selective_scan_cuda')
        importlib.import_module('mamba_ssm.ops.selective_scan_interface')
    except Exception:  # noqa: BLE001
        return False
    return True


def triton_interpret() -> bool:
    """Whether Triton kernels run in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get('TRITON_INTERPRET', '0') not in ('', '0')
