# Copyright (c) mmmamba contributors. All rights reserved.
"""Test-suite set-up.

On a machine without CUDA, Triton kernels run in Triton's CPU interpreter so
that their logic is covered in CI. Triton reads ``TRITON_INTERPRET`` when a
kernel is decorated, so it has to be set before any kernel module is imported,
i.e. here.
"""
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault('TRITON_INTERPRET', '1')
