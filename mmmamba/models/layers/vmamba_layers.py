# Copyright (c) mmmamba contributors. All rights reserved.
"""Small building blocks of VMamba: layout-aware norms and linears, the MLP,
the patch embeddings and the downsampling layers.

Written from the description of ``classification/models/vmamba.py`` in
MzeroMiko/VMamba (commit 2ed52ea, MIT licence), in particular the module
*layouts*: the stems and downsamples are ``nn.Sequential`` with parameter-free
placeholders at the same indices as the official ones, so that the state_dict
keys (``patch_embed.0/2/5/7``, ``downsample.1/3``) are those of the released
checkpoints. This also keeps substring-based optimizer rules of the official
detection/segmentation configs (``custom_keys={'norm': ...}``) matching the
same parameters.

Layouts: ``channel_first=True`` means (B, C, H, W) tensors with
:class:`LayerNorm2d` / :class:`Linear2d`; ``channel_first=False`` means
(B, H, W, C) tensors with ``nn.LayerNorm`` / ``nn.Linear``. Both layouts have
the same parameters and give the same numbers.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ...ops.layer_norm2d import layer_norm_2d

__all__ = [
    'DropPath', 'LayerNorm2d', 'Linear2d', 'Permute', 'VMambaMlp',
    'PatchEmbedV1', 'PatchEmbedV2', 'ConvDownsample', 'PatchMerging2D',
    'build_norm', 'build_linear'
]


class DropPath(nn.Module):
    """Stochastic depth per sample: in training, zero the whole residual
    branch of a sample with probability ``drop_prob`` and scale the kept ones
    by ``1 / (1 - drop_prob)``. Identity in eval mode or for ``drop_prob=0``.
    Works for any layout (the mask has shape (B, 1, ..., 1)).
    """

    def __init__(self, drop_prob: float = 0.) -> None:
        super().__init__()
        if not 0. <= drop_prob < 1.:
            raise ValueError(f'drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.drop_prob == 0.:
            return x
        keep = 1. - self.drop_prob
        mask = x.new_empty((x.shape[0], ) + (1, ) * (x.dim() - 1))
        return x * mask.bernoulli_(keep).div_(keep)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, H, W) tensor.

    Same parameters as ``nn.LayerNorm(num_channels)`` and the official
    module's result (permute to (B, H, W, C), ``F.layer_norm`` over C,
    permute back: a channels-last (B, C, H, W) tensor, fp32 under CUDA
    autocast), computed by :func:`mmmamba.ops.layer_norm2d.layer_norm_2d`,
    whose Triton backend runs one kernel each way instead of the casts and
    layout copies around ``F.layer_norm``.

    Args:
        backend (str): the op's backend: ``'auto'`` (the Triton kernels
            for CUDA tensors they take, else the PyTorch composition:
            :data:`mmmamba.ops.layer_norm2d.AUTO_TRITON`), ``'reference'``
            or ``'triton'`` (CUDA). Under ``torch.jit`` tracing (FLOP
            counting) the reference always runs.
        cast_output (bool): under autocast, return the result in autocast's
            dtype (the fp32 result rounded once) instead of fp32. For a
            norm whose only consumer is an autocast op that casts its input
            to that dtype (a VSS block's norms feed ``Linear2d``
            convolutions), the same values downstream, with half the
            bytes written and no cast kernel. Defaults to False.
        Other arguments as ``nn.LayerNorm``.
    """

    def __init__(self,
                 *args,
                 backend: str = 'auto',
                 cast_output: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if len(self.normalized_shape) != 1:
            raise ValueError('LayerNorm2d normalises one axis (C); got '
                             f'normalized_shape={self.normalized_shape}')
        self.backend = backend
        self.cast_output = bool(cast_output)

    def forward(self, x: Tensor) -> Tensor:
        out_dtype = None
        if self.cast_output and torch.is_autocast_enabled(x.device.type):
            out_dtype = torch.get_autocast_dtype(x.device.type)
        backend = 'reference' if torch.jit.is_tracing() else self.backend
        return layer_norm_2d(x, self.weight, self.bias, self.eps,
                             out_dtype=out_dtype, backend=backend)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, backend={self.backend!r}, '
                f'cast_output={self.cast_output}')


class Linear2d(nn.Linear):
    """A 1x1 convolution over (B, C, H, W) that stores a 2-D weight.

    The weight keeps the ``nn.Linear`` shape (out_features, in_features), so
    checkpoints of either layout load into it unchanged.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight[:, :, None, None], self.bias)


class Permute(nn.Module):
    """``x.permute(*dims)`` as a module (no parameters)."""

    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        return f'dims={self.dims}'


def build_norm(num_channels: int,
               channel_first: bool,
               eps: float = 1e-5,
               cast_output: bool = False) -> nn.LayerNorm:
    """LayerNorm over channels for the given layout; ``cast_output`` as
    :class:`LayerNorm2d`'s (channel-first only: ``nn.LayerNorm`` keeps
    PyTorch's behaviour)."""
    if channel_first:
        return LayerNorm2d(num_channels, eps=eps, cast_output=cast_output)
    return nn.LayerNorm(num_channels, eps=eps)


def build_linear(in_features: int,
                 out_features: int,
                 channel_first: bool,
                 bias: bool = True) -> nn.Linear:
    """Channel projection for the given layout (weight always 2-D)."""
    cls = Linear2d if channel_first else nn.Linear
    return cls(in_features, out_features, bias=bias)


_ACTIVATIONS = dict(gelu=nn.GELU, silu=nn.SiLU, relu=nn.ReLU)


def build_act(name: str) -> nn.Module:
    """An activation by name: ``'gelu'``, ``'silu'`` or ``'relu'``."""
    if name.lower() not in _ACTIVATIONS:
        raise ValueError(f'unsupported activation {name!r}; expected one of '
                         f'{tuple(_ACTIVATIONS)}')
    return _ACTIVATIONS[name.lower()]()


class VMambaMlp(nn.Module):
    """fc1 -> act -> dropout -> fc2 -> dropout, in either layout.

    Args:
        in_features (int): input and output channels.
        hidden_features (int): hidden channels.
        act (str): activation name. Defaults to ``'gelu'``.
        drop (float): dropout probability. Defaults to 0.
        channel_first (bool): (B, C, H, W) if True else (B, H, W, C).
            Defaults to True.
    """

    def __init__(self,
                 in_features: int,
                 hidden_features: int,
                 act: str = 'gelu',
                 drop: float = 0.,
                 channel_first: bool = True) -> None:
        super().__init__()
        self.fc1 = build_linear(in_features, hidden_features, channel_first)
        self.act = build_act(act)
        self.fc2 = build_linear(hidden_features, in_features, channel_first)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


def _to_last(channel_first: bool) -> nn.Module:
    return nn.Identity() if channel_first else Permute(0, 2, 3, 1)


def _to_first(channel_first: bool) -> nn.Module:
    return nn.Identity() if channel_first else Permute(0, 3, 1, 2)


class PatchEmbedV1(nn.Sequential):
    """Patch embedding ``v1``: one ``patch_size`` x ``patch_size`` conv with
    stride ``patch_size``, then LayerNorm.

    Indices (= state_dict keys): ``0`` conv (with bias), ``1`` permute to
    channel-last (identity if channel-first), ``2`` norm.

    Input (B, in_channels, H, W); output (B, C, H // p, W // p) or
    (B, H // p, W // p, C). As in the official model, a border of
    ``H % p`` rows / ``W % p`` columns is dropped by the convolution; inputs
    smaller than ``patch_size`` raise.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 patch_size: int = 4,
                 channel_first: bool = True) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                embed_dims,
                kernel_size=patch_size,
                stride=patch_size,
                bias=True), _to_last(channel_first),
            build_norm(embed_dims, channel_first))
        self.patch_size = patch_size

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2] < self.patch_size or x.shape[-1] < self.patch_size:
            raise ValueError(f'input of spatial size {tuple(x.shape[-2:])} '
                             f'is smaller than patch_size={self.patch_size}; '
                             'patch embed v1 needs H, W >= patch_size')
        return super().forward(x)


class PatchEmbedV2(nn.Sequential):
    """Patch embedding ``v2``: two overlapping stride-``patch_size // 2``
    convs (kernel ``patch_size // 2 + 1``, padding 1) with LayerNorm and GELU.

    Indices (= state_dict keys): ``0`` conv (C/2), ``1`` permute, ``2`` norm,
    ``3`` permute back, ``4`` GELU, ``5`` conv (C), ``6`` permute, ``7`` norm
    (permutes are identities when channel-first).

    Any input size >= 1 works: for ``patch_size=4`` the output is
    (ceil(ceil(H/2)/2), ceil(ceil(W/2)/2)).
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 patch_size: int = 4,
                 channel_first: bool = True) -> None:
        if patch_size < 2 or patch_size % 2:
            raise ValueError('patch embed v2 needs an even patch_size >= 2, '
                             f'got {patch_size}')
        stride = patch_size // 2
        k = stride + 1
        super().__init__(
            nn.Conv2d(in_channels, embed_dims // 2, k, stride, padding=1),
            _to_last(channel_first), build_norm(embed_dims // 2,
                                                channel_first),
            _to_first(channel_first), nn.GELU(),
            nn.Conv2d(embed_dims // 2, embed_dims, k, stride, padding=1),
            _to_last(channel_first), build_norm(embed_dims, channel_first))


class ConvDownsample(nn.Sequential):
    """Downsample ``v3`` (3x3 conv, stride 2, padding 1) or ``v2`` (2x2 conv,
    stride 2), then LayerNorm.

    Indices (= state_dict keys): ``0`` permute to channel-first (identity if
    channel-first), ``1`` conv (with bias), ``2`` permute back, ``3`` norm.

    ``v3`` accepts any size (output ceil(H/2) x ceil(W/2)); ``v2`` drops an
    odd last row/column (output floor(H/2) x floor(W/2)) and needs H, W >= 2.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 version: str = 'v3',
                 channel_first: bool = True) -> None:
        if version == 'v3':
            conv = nn.Conv2d(in_channels, out_channels, 3, 2, padding=1)
        elif version == 'v2':
            conv = nn.Conv2d(in_channels, out_channels, 2, 2)
        else:
            raise ValueError(f"ConvDownsample version must be 'v2' or 'v3', "
                             f'got {version!r}')
        super().__init__(
            _to_first(channel_first), conv, _to_last(channel_first),
            build_norm(out_channels, channel_first))


class PatchMerging2D(nn.Module):
    """Downsample ``v1`` (Swin patch merging): pad H, W to even at the
    bottom/right, concatenate the 2x2 neighbours in the order
    ``[(0,0), (1,0), (0,1), (1,1)]`` (row, col offsets), LayerNorm(4C), then a
    bias-free linear 4C -> ``out_channels``.

    Keys ``norm.*`` and ``reduction.weight``. Accepts any size (output
    ceil(H/2) x ceil(W/2)).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 channel_first: bool = True) -> None:
        super().__init__()
        out_channels = out_channels or 2 * in_channels
        self.channel_first = channel_first
        self.norm = build_norm(4 * in_channels, channel_first)
        self.reduction = build_linear(
            4 * in_channels, out_channels, channel_first, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.channel_first:
            H, W = x.shape[2:]
            x = F.pad(x, (0, W % 2, 0, H % 2))
            # (row, col) offsets (0,0), (1,0), (0,1), (1,1)
            parts = [x[..., i::2, j::2] for j in (0, 1) for i in (0, 1)]
            x = torch.cat(parts, dim=1)
        else:
            H, W = x.shape[1:3]
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
            parts = [x[:, i::2, j::2] for j in (0, 1) for i in (0, 1)]
            x = torch.cat(parts, dim=-1)
        return self.reduction(self.norm(x))
