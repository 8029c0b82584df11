# Copyright (c) mmmamba contributors. All rights reserved.
"""ViTDet-style simple feature pyramid for plain backbones.

Follows the description in `Exploring Plain Vision Transformer Backbones for
Object Detection <https://arxiv.org/abs/2203.16527>`_ and the layout used by
the official Vim detection config (``SimpleFeaturePyramid`` with
``scale_factors=(4.0, 2.0, 1.0, 0.5)``, a ``LastLevelMaxPool`` top block and
``norm="LN"``), written here for the mmdet 3.x neck interface.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmmamba.registry import MODELS


@MODELS.register_module()
class LN2d(nn.LayerNorm):
    """LayerNorm over the channel dim of a channel-first map.

    ``nn.LayerNorm`` normalises the last dim; this one normalises ``C`` of a
    ``(B, C, H, W)`` tensor, which is what ViTDet's ``norm="LN"`` means for
    convolutions. Usable from configs wherever mmcv builds a norm layer, e.g.
    ``norm_cfg=dict(type='mmmamba.LN2d', eps=1e-6)`` in mmdet's
    ``ConvModule`` based heads (mmcv's ``build_norm_layer`` sets ``eps`` to
    1e-5 unless the config gives it).

    Args:
        num_channels (int): ``C``.
        eps (float): Added to the variance. Defaults to 1e-6 (ViTDet).
        elementwise_affine (bool): Learnable per-channel weight and bias.
            Defaults to True.
    """

    def __init__(self,
                 num_channels: int,
                 eps: float = 1e-6,
                 elementwise_affine: bool = True) -> None:
        super().__init__(
            num_channels, eps=eps, elementwise_affine=elementwise_affine)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape ``(B, C, H, W)`` over ``C``."""
        if x.dim() != 4:
            raise ValueError('LN2d expects a (B, C, H, W) tensor, got shape '
                             f'{tuple(x.shape)}.')
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)


_SUPPORTED_SCALES = (4.0, 2.0, 1.0, 0.5)


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Simple feature pyramid (ViTDet) from one stride-``s`` map.

    The last input map ``(B, C, H, W)`` is rescaled once per scale factor:

    - ``4``: ``ConvTranspose2d(C, C/2, 2, 2)`` -> norm -> GELU ->
      ``ConvTranspose2d(C/2, C/4, 2, 2)``;
    - ``2``: ``ConvTranspose2d(C, C/2, 2, 2)``;
    - ``1``: identity;
    - ``0.5``: ``MaxPool2d(2, 2)``;

    then each level is projected by a 1x1 conv + norm and a 3x3 conv + norm
    (both without bias when a norm is used) to ``out_channels``. Levels
    beyond ``len(scale_factors)`` (up to ``num_outs``) are produced by
    ``max_pool2d(kernel=1, stride=2)`` of the previous level (ViTDet's
    ``LastLevelMaxPool``). With a stride-16 input and the defaults the
    outputs have strides 4, 8, 16, 32 and 64, as mmdet's RPN and RoI heads
    expect from an FPN.

    Args:
        in_channels (int): ``C`` of the backbone map.
        out_channels (int): Channels of every output level. Defaults to 256.
        scale_factors (Sequence[float]): From finest to coarsest, each one
            of 4, 2, 1, 0.5. Defaults to ``(4.0, 2.0, 1.0, 0.5)``.
        num_outs (int): Number of outputs, ``>= len(scale_factors)``.
            Defaults to 5.
        norm_cfg (dict, optional): Norm of the deconvolution branch and of
            the output convs. Defaults to
            ``dict(type='mmmamba.LN2d', eps=1e-6)`` (ViTDet's ``"LN"``; give
            ``eps`` explicitly, mmcv's ``build_norm_layer`` otherwise sets
            1e-5). ``None`` means no norm and biased convs.
        act_cfg (dict): Activation between the two deconvolutions of the
            ``4`` branch. Defaults to ``dict(type='GELU')``.
        in_index (int): Which input map is used when a sequence is given.
            Defaults to -1 (the last).
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 norm_cfg: Optional[dict] = dict(
                     type='mmmamba.LN2d', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 in_index: int = -1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scale_factors = tuple(float(s) for s in scale_factors)
        bad = [s for s in scale_factors if s not in _SUPPORTED_SCALES]
        if bad or not scale_factors:
            raise ValueError(f'SimpleFPN: each scale factor must be one of '
                             f'{_SUPPORTED_SCALES}, got {scale_factors}.')
        if 4.0 in scale_factors and in_channels % 4:
            raise ValueError('SimpleFPN: scale factor 4 halves the channels '
                             'twice, so `in_channels` must be divisible by '
                             f'4, got {in_channels}.')
        if num_outs < len(scale_factors):
            raise ValueError(f'SimpleFPN: num_outs ({num_outs}) must be >= '
                             f'the number of scale factors '
                             f'({len(scale_factors)}).')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale_factors = scale_factors
        self.num_outs = num_outs
        self.in_index = in_index

        self.stages = nn.ModuleList()
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for scale in scale_factors:
            stage, dim = self._make_stage(scale, in_channels, norm_cfg,
                                          act_cfg)
            self.stages.append(stage)
            self.lateral_convs.append(
                ConvModule(
                    dim, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None))
            self.output_convs.append(
                ConvModule(
                    out_channels,
                    out_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=None))

    @staticmethod
    def _make_stage(scale: float, dim: int, norm_cfg: Optional[dict],
                    act_cfg: dict) -> Tuple[nn.Module, int]:
        """Build the rescaling stage of one level; return it and its
        output channels."""
        if scale == 4.0:
            layers = [nn.ConvTranspose2d(dim, dim // 2, 2, stride=2)]
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, dim // 2)[1])
            layers += [
                build_activation_layer(act_cfg),
                nn.ConvTranspose2d(dim // 2, dim // 4, 2, stride=2)
            ]
            return nn.Sequential(*layers), dim // 4
        if scale == 2.0:
            return nn.ConvTranspose2d(dim, dim // 2, 2, stride=2), dim // 2
        if scale == 1.0:
            return nn.Identity(), dim
        return nn.MaxPool2d(kernel_size=2, stride=2), dim

    def forward(self, inputs: Union[Tensor,
                                    Sequence[Tensor]]) -> Tuple[Tensor, ...]:
        """Build the pyramid.

        Args:
            inputs (Tensor | Sequence[Tensor]): ``(B, C, H, W)``, or the
                backbone's tuple of maps (``inputs[in_index]`` is used).

        Returns:
            tuple[Tensor]: ``num_outs`` maps ``(B, out_channels, H * s,
            W * s)`` for the scale factors, then ``H * s_last / 2**k``
            for the extra levels.
        """
        x = inputs if isinstance(inputs, Tensor) else inputs[self.in_index]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'SimpleFPN expects a (B, {self.in_channels}, H, W) map, got '
                f'{tuple(x.shape)}; use the backbone\'s `out_type=\'featmap\'`'
                ' and set `in_channels` to its embedding dims.')
        outs: List[Tensor] = []
        for stage, lateral, output in zip(self.stages, self.lateral_convs,
                                          self.output_convs):
            outs.append(output(lateral(stage(x))))
        for _ in range(self.num_outs - len(outs)):
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
