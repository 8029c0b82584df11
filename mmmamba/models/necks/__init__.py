# Copyright (c) mmmamba contributors. All rights reserved.
from .deconv_feature_pyramid import DeconvFeaturePyramid
from .simple_fpn import LN2d, SimpleFPN

__all__ = ['DeconvFeaturePyramid', 'LN2d', 'SimpleFPN']
