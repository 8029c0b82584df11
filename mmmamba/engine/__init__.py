# Copyright (c) mmmamba contributors. All rights reserved.
"""Training-time helpers (optimizer wrapper constructors)."""
from .optimizers import LayerDecayOptimWrapperConstructor

__all__ = ['LayerDecayOptimWrapperConstructor']
