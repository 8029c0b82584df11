# Copyright (c) mmmamba contributors. All rights reserved.
"""The ``mmmamba`` registry scope.

Each registry is a child of mmengine's root registry of the same kind, so that
``type='mmmamba.VisionMamba'`` in any mmpretrain / mmdet / mmseg config resolves:
mmengine imports ``mmmamba.registry`` for the ``mmmamba.`` prefix and then the
``locations`` below, which register every module (models from
``mmmamba.models``, the layer-decay optimizer constructor from
``mmmamba.engine``). No downstream toolbox is
imported here.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

__all__ = ['MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS']

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmmamba',
    locations=['mmmamba.models'])

OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmmamba',
    locations=['mmmamba.engine'])
