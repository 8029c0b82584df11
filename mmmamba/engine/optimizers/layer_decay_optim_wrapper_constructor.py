# Copyright (c) mmmamba contributors. All rights reserved.
"""Layer-wise learning-rate decay for any model whose backbone has
``get_layer_depth`` (classifiers, mmdet detectors, mmseg segmentors)."""
from typing import Callable, List, Optional, Tuple, Union

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor

from mmmamba.registry import OPTIM_WRAPPER_CONSTRUCTORS

LayerDepthFn = Callable[[str], Tuple[int, int]]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus layer-wise lr decay.

    mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the
    *model* for ``get_layer_depth``, which mmdet detectors and mmseg
    segmentors do not have; mmseg's own constructors recognise backbones by
    class name (BEiT / ConvNeXt / MAE) and the official Vim seg code matched
    ``backbone.blocks.*``, so no Mamba layer was ever decayed there. This
    constructor asks ``model.get_layer_depth`` when it exists and otherwise
    ``model.backbone.get_layer_depth(name, prefix='backbone.')``, following
    mmpretrain's contract: ``get_layer_depth(name) -> (layer_id,
    num_layers)``, where names outside the backbone (necks, heads) return
    ``num_layers - 1``.

    Weight decay, ``lr_mult`` and ``decay_mult`` are first set by mmengine's
    rules (``custom_keys``, ``bias_decay_mult``, ``norm_decay_mult``,
    ``flat_decay_mult``, ...); then the lr of every parameter group is
    multiplied by ``layer_decay_rate ** (num_layers - 1 - layer_id)``. Each
    group also records ``lr_scale``, ``layer_id`` and ``param_name``.

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``;
            the optimizer must set ``lr``.
        paramwise_cfg (dict): Must contain ``layer_decay_rate`` (float in
            ``(0, 1]``); any other key of ``DefaultOptimWrapperConstructor``
            is honoured.

    Example:
        >>> optim_wrapper = dict(
        ...     optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.01),
        ...     constructor='mmmamba.LayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(layer_decay_rate=0.92,
        ...                        flat_decay_mult=0.0))
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        rate = paramwise_cfg.pop('layer_decay_rate', None)
        if rate is None or not 0.0 < float(rate) <= 1.0:
            raise ValueError(
                'LayerDecayOptimWrapperConstructor needs '
                '`paramwise_cfg.layer_decay_rate` in (0, 1], got '
                f'{rate!r}; use the default constructor for no decay.')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if self.base_lr is None:
            raise ValueError('LayerDecayOptimWrapperConstructor: the '
                             'optimizer config must set `lr`.')
        self.layer_decay_rate = float(rate)
        # mmengine only builds param groups when paramwise_cfg is non-empty.
        self.paramwise_cfg.setdefault('custom_keys', {})

    @staticmethod
    def get_layer_depth_fn(model: nn.Module) -> LayerDepthFn:
        """Return ``name -> (layer_id, num_layers)`` for ``model``.

        Raises:
            NotImplementedError: If neither the model nor its ``backbone``
                has ``get_layer_depth``.
        """
        if hasattr(model, 'get_layer_depth'):
            return model.get_layer_depth
        backbone = getattr(model, 'backbone', None)
        if backbone is not None and hasattr(backbone, 'get_layer_depth'):

            def fn(name: str) -> Tuple[int, int]:
                return backbone.get_layer_depth(name, prefix='backbone.')

            return fn
        raise NotImplementedError(
            f'Layer-wise lr decay needs `get_layer_depth` on the model '
            f'({type(model).__name__}) or on its `backbone` '
            f'({type(backbone).__name__}); use a backbone that defines it '
            '(mmmamba.VisionMamba, mmmamba.VMamba) or drop the '
            '`constructor` from the optim_wrapper config.')

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """Build mmengine's per-parameter groups, then decay their lr.

        Args:
            params (list[dict]): Param groups, modified in place.
            module (nn.Module): The whole model at the top-level call.
            prefix (str): Module prefix (set by the recursion only).
            is_dcn_module (int | float, optional): See mmengine.
        """
        if prefix:  # recursive calls made by mmengine's add_params
            super().add_params(params, module, prefix, is_dcn_module)
            return
        depth_fn = self.get_layer_depth_fn(module)
        first_new = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        names = {id(p): n for n, p in module.named_parameters()}
        for group in params[first_new:]:
            if len(group['params']) != 1:
                raise RuntimeError('LayerDecayOptimWrapperConstructor '
                                   'expects one parameter per group.')
            name = names[id(group['params'][0])]
            layer_id, num_layers = depth_fn(name)
            if not 0 <= layer_id < num_layers:
                raise ValueError(f'get_layer_depth({name!r}) returned layer '
                                 f'{layer_id} outside [0, {num_layers}).')
            scale = self.layer_decay_rate**(num_layers - 1 - layer_id)
            group['lr'] = group.get('lr', self.base_lr) * scale
            group['lr_scale'] = scale
            group['layer_id'] = layer_id
            group['param_name'] = name
