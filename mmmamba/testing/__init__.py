# Copyright (c) mmmamba contributors. All rights reserved.
"""Helpers for mmmamba's test-suite (skip marks). Imports pytest: import it
from tests only, never from library code."""
import pytest
import torch

from mmmamba.ops._utils import (is_mamba_ssm_cuda_available,
                                is_triton_available, triton_interpret)

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='requires a CUDA GPU')
requires_triton = pytest.mark.skipif(
    not is_triton_available(), reason='requires triton')
requires_triton_interpreter = pytest.mark.skipif(
    not (is_triton_available() and triton_interpret()),
    reason='requires triton with TRITON_INTERPRET=1 (set by conftest on CPU)')
requires_mamba_ssm = pytest.mark.skipif(
    not is_mamba_ssm_cuda_available(),
    reason="requires mamba-ssm's compiled selective_scan_cuda")

__all__ = [
    'requires_cuda', 'requires_triton', 'requires_triton_interpreter',
    'requires_mamba_ssm'
]
