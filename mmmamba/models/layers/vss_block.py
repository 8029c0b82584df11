# Copyright (c) mmmamba contributors. All rights reserved.
"""VSSBlock, the residual block of VMamba.

Written from the description of ``VSSBlock`` in
``classification/models/vmamba.py`` of MzeroMiko/VMamba (commit 2ed52ea, MIT
licence); parameter names are the official ones (``norm``, ``op``,
``norm2``, ``mlp.fc1``, ``mlp.fc2``).
"""
from typing import Optional

import torch
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch import Tensor

from mmmamba.registry import MODELS
from .ss2d import vmamba_init_weights
from .vmamba_layers import DropPath, VMambaMlp, build_norm

__all__ = ['VSSBlock']


@MODELS.register_module()
class VSSBlock(BaseModule):
    """Visual state-space block of `VMamba
    <https://arxiv.org/abs/2401.10166>`_.

    ``x = x + drop_path(op(norm(x)))``, then, if ``mlp_ratio > 0``,
    ``x = x + drop_path(mlp(norm2(x)))`` (pre-norm; one DropPath module
    serves both branches, drawing a new mask per call, as officially).

    Usable on its own from a config, e.g.
    ``dict(type='mmmamba.VSSBlock', embed_dims=64, ssm_cfg=dict(d_state=1))``.

    Args:
        embed_dims (int): channels C.
        ssm_cfg (dict, optional): config of the token mixer; ``type``
            defaults to ``'mmmamba.SS2D'`` (a scoped name, so it resolves
            under any default scope), and
            ``embed_dims`` / ``channel_first`` are filled in from this block.
            Defaults to None (SS2D defaults: the VMamba-T v2 mixer).
        mlp_ratio (float): MLP hidden width = int(C * mlp_ratio); 0 disables
            the MLP branch (vanilla v0). Defaults to 4.0.
        mlp_act (str): MLP activation, ``'gelu'``, ``'silu'`` or ``'relu'``.
            Defaults to 'gelu'.
        mlp_drop (float): MLP dropout. Defaults to 0.
        drop_path (float): stochastic depth rate. Defaults to 0.
        channel_first (bool): (B, C, H, W) tensors if True, (B, H, W, C) if
            False. Defaults to True.
        with_cp (bool): gradient checkpointing of the whole block in
            training. Defaults to False.
        init_cfg (dict | list[dict], optional): mmengine init config.
            Defaults to None.

    Shapes:
        x: (B, C, H, W) if ``channel_first`` else (B, H, W, C); any H, W.
        output: same as x.
    """

    def __init__(self,
                 embed_dims: int,
                 ssm_cfg: Optional[dict] = None,
                 mlp_ratio: float = 4.0,
                 mlp_act: str = 'gelu',
                 mlp_drop: float = 0.,
                 drop_path: float = 0.,
                 channel_first: bool = True,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.channel_first = channel_first
        self.with_cp = with_cp
        ssm_cfg = dict(ssm_cfg or {})
        for key in ('embed_dims', 'channel_first'):
            if key in ssm_cfg:
                raise ValueError(f'VSSBlock: do not set {key!r} in ssm_cfg; '
                                 'it is taken from the block arguments')
        ssm_cfg.setdefault('type', 'mmmamba.SS2D')
        ssm_cfg.update(embed_dims=embed_dims, channel_first=channel_first)

        # the norms' results feed Linear2d convolutions only (SS2D's
        # in_proj, the MLP's fc1), which cast them to autocast's dtype:
        # LayerNorm2d returns them in it (cast_output)
        self.norm = build_norm(embed_dims, channel_first, cast_output=True)
        self.op = MODELS.build(ssm_cfg)
        self.drop_path = DropPath(drop_path)
        self.mlp_branch = mlp_ratio > 0
        if self.mlp_branch:
            self.norm2 = build_norm(
                embed_dims, channel_first, cast_output=True)
            self.mlp = VMambaMlp(
                embed_dims,
                int(embed_dims * mlp_ratio),
                act=mlp_act,
                drop=mlp_drop,
                channel_first=channel_first)

    def init_weights(self) -> None:
        """Official init (trunc-normal linears, unit LayerNorms) unless
        ``init_cfg`` is given."""
        if self.init_cfg is None:
            self.apply(vmamba_init_weights)
        super().init_weights()

    def _forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.op(self.norm(x)))
        if self.mlp_branch:
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): (B, C, H, W) if ``channel_first`` else (B, H, W, C).

        Returns:
            Tensor: same shape as ``x``.
        """
        c_dim = 1 if self.channel_first else 3
        if x.dim() != 4 or x.shape[c_dim] != self.embed_dims:
            layout = '(B, C, H, W)' if self.channel_first else '(B, H, W, C)'
            raise ValueError(
                f'VSSBlock(embed_dims={self.embed_dims}, channel_first='
                f'{self.channel_first}) expects a {layout} tensor with '
                f'C={self.embed_dims}, got shape {tuple(x.shape)}')
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
