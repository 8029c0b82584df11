# Copyright (c) mmmamba contributors. All rights reserved.
from .vision_mamba import VisionMamba
from .vmamba import VMamba

__all__ = ['VisionMamba', 'VMamba']
