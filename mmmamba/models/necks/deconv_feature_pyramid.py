# Copyright (c) mmmamba contributors. All rights reserved.
"""A 4-level pyramid from same-stride maps of a plain (non-hierarchical)
backbone, as the official Vim segmentation code builds it (`hustvl/Vim`
``seg/backbone/vim.py``, ``fpn1``-``fpn4``)."""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmmamba.registry import MODELS

_SUPPORTED_SCALES = (4.0, 2.0, 1.0, 0.5, 0.25)


@MODELS.register_module()
class DeconvFeaturePyramid(BaseModule):
    """Rescale same-stride feature maps into a feature pyramid.

    Each input map goes through its own branch, chosen by its scale factor:

    - ``4``: ``ConvTranspose2d(C, C, 2, 2)`` -> norm -> activation ->
      ``ConvTranspose2d(C, C, 2, 2)`` (official ``fpn1``; stride 16 -> 4);
    - ``2``: ``ConvTranspose2d(C, C, 2, 2)`` (``fpn2``; stride 16 -> 8);
    - ``1``: identity (``fpn3``);
    - ``0.5``: ``MaxPool2d(2, 2)`` (``fpn4``; stride 16 -> 32);
    - ``0.25``: ``MaxPool2d(4, 4)`` (the official patch-8 layout's ``fpn4``).

    The channel count is kept (the official neck has no projection), so
    every output has ``in_channels`` channels and UPerHead is configured
    with ``in_channels=[C] * 4``.

    Args:
        in_channels (int): Channels ``C`` of every input map (the backbone's
            embedding dims). Defaults to 384.
        scale_factors (Sequence[float]): One factor per input map, from the
            finest output to the coarsest. Defaults to ``(4, 2, 1, 0.5)``,
            which turns four stride-16 maps into strides 4, 8, 16 and 32.
        norm_cfg (dict): Norm between the two deconvolutions of the ``4``
            branch. The official code uses SyncBN. Defaults to
            ``dict(type='SyncBN', requires_grad=True)``.
        act_cfg (dict): Activation after that norm. Defaults to
            ``dict(type='GELU')``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None (PyTorch's default init of the deconvolutions,
            as in the official code).
    """

    def __init__(self,
                 in_channels: int = 384,
                 scale_factors: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: dict = dict(type='SyncBN', requires_grad=True),
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise TypeError('DeconvFeaturePyramid: `in_channels` must be a '
                            'positive int (the same for every input map), '
                            f'got {in_channels!r}.')
        scale_factors = tuple(float(s) for s in scale_factors)
        bad = [s for s in scale_factors if s not in _SUPPORTED_SCALES]
        if bad or not scale_factors:
            raise ValueError('DeconvFeaturePyramid: each scale factor must be '
                             f'one of {_SUPPORTED_SCALES}, got '
                             f'{scale_factors}.')
        self.in_channels = in_channels
        self.scale_factors = scale_factors
        self.branches = nn.ModuleList([
            self._make_branch(s, in_channels, norm_cfg, act_cfg)
            for s in scale_factors
        ])

    @staticmethod
    def _make_branch(scale: float, channels: int, norm_cfg: dict,
                     act_cfg: dict) -> nn.Module:
        """Build the branch of one scale factor (see the class docstring)."""
        if scale == 4.0:
            return nn.Sequential(
                nn.ConvTranspose2d(channels, channels, 2, stride=2),
                build_norm_layer(norm_cfg, channels)[1],
                build_activation_layer(act_cfg),
                nn.ConvTranspose2d(channels, channels, 2, stride=2))
        if scale == 2.0:
            return nn.ConvTranspose2d(channels, channels, 2, stride=2)
        if scale == 1.0:
            return nn.Identity()
        kernel = int(round(1 / scale))
        return nn.MaxPool2d(kernel_size=kernel, stride=kernel)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Rescale each map.

        Args:
            inputs (Sequence[Tensor]): ``len(scale_factors)`` maps, each
                ``(B, C, H, W)``.

        Returns:
            tuple[Tensor]: Map ``i`` has shape
            ``(B, C, H * s_i, W * s_i)`` (floored for the pooled levels).
        """
        if len(inputs) != len(self.branches):
            raise ValueError(
                f'DeconvFeaturePyramid got {len(inputs)} input maps but has '
                f'{len(self.branches)} scale factors {self.scale_factors}; '
                'set the backbone `out_indices` to one index per scale '
                'factor (e.g. (5, 11, 17, 23) for a 24-layer Vim).')
        outs: List[Tensor] = []
        for i, (x, branch) in enumerate(zip(inputs, self.branches)):
            if x.dim() != 4 or x.shape[1] != self.in_channels:
                raise ValueError(
                    f'DeconvFeaturePyramid: input {i} must be (B, '
                    f'{self.in_channels}, H, W), got {tuple(x.shape)}; use '
                    "the backbone's `out_type='featmap'` and set "
                    '`in_channels` to its embedding dims.')
            outs.append(branch(x))
        return tuple(outs)
