# Copyright (c) mmmamba contributors. All rights reserved.
"""VMamba: a four-stage hierarchical backbone of VSS blocks.

Written from the description of ``VSSM`` / ``Backbone_VSSM`` in
``classification/models/vmamba.py`` of MzeroMiko/VMamba (commit 2ed52ea, MIT
licence). The module tree (and so the state_dict keys) follows the official
one: ``patch_embed.{0,2,5,7}``, ``layers.{i}.blocks.{j}.*``,
``layers.{i}.downsample.*`` and ``outnorm{i}``; see
:func:`mmmamba.models.utils.vmamba_converter` for the checkpoint mapping.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmmamba.registry import MODELS
from ..layers.ss2d import vmamba_init_weights
from ..layers.vmamba_layers import (ConvDownsample, LayerNorm2d,
                                    PatchEmbedV1, PatchEmbedV2,
                                    PatchMerging2D, build_norm)
from ..layers.vss_block import VSSBlock

__all__ = ['VMamba', 'translate_official_arch']

# Options of one architecture (our names) and their defaults: the latest
# released (v2) recipe. ``embed_dims``, ``depths``, ``d_state`` and
# ``ssm_ratio`` have no default.
_ARCH_DEFAULTS = dict(
    dt_rank='auto',
    d_conv=3,
    conv_bias=False,
    use_z_gate=False,
    z_act=True,
    out_act=False,
    ssm_out_norm='ln',
    force_fp32=False,
    ssm_init='v0',
    ssm_drop=0.,
    mlp_ratio=4.0,
    mlp_act='gelu',
    mlp_drop=0.,
    patch_embed_version='v2',
    downsample_version='v3',
    channel_first=True,
)
_NORM_BACKENDS = ('auto', 'reference', 'triton')
_ESSENTIAL_KEYS = {'embed_dims', 'depths', 'd_state', 'ssm_ratio'}
_OPTIONAL_KEYS = set(_ARCH_DEFAULTS) | {'patch_size', 'in_channels'}

# vanilla VMamba (v0): SS2Dv0 with z gate, no MLP, Swin-like stem/merging,
# channel-last LayerNorms
_V0 = dict(
    d_state=16,
    ssm_ratio=2.0,
    conv_bias=True,
    use_z_gate=True,
    force_fp32=True,
    mlp_ratio=0.,
    patch_embed_version='v1',
    downsample_version='v1',
    channel_first=False)


def _v2(embed_dims: int, depths: Sequence[int], ssm_ratio: float) -> dict:
    return dict(
        embed_dims=embed_dims, depths=depths, d_state=1, ssm_ratio=ssm_ratio)


def _zoo() -> Dict[str, dict]:
    tiny = _v2(96, (2, 2, 8, 2), 1.0)  # s1l8
    small = _v2(96, (2, 2, 15, 2), 2.0)  # s2l15
    base = _v2(128, (2, 2, 15, 2), 2.0)  # s2l15
    return {
        **dict.fromkeys(['t', 'tiny', 'tiny-s1l8'], tiny),
        **dict.fromkeys(['s', 'small', 'small-s2l15'], small),
        **dict.fromkeys(['b', 'base', 'base-s2l15'], base),
        'tiny-s2l5':
        _v2(96, (2, 2, 5, 2), 2.0),
        'small-s1l20':
        _v2(96, (2, 2, 20, 2), 1.0),
        'base-s1l20':
        _v2(128, (2, 2, 20, 2), 1.0),
        'vanilla-tiny':
        dict(_V0, embed_dims=96, depths=(2, 2, 9, 2)),
        'vanilla-small':
        dict(_V0, embed_dims=96, depths=(2, 2, 27, 2)),
        'vanilla-base':
        dict(_V0, embed_dims=128, depths=(2, 2, 27, 2)),
    }


def _parse_forward_type(forward_type: str) -> dict:
    """Translate an official ``forward_type`` string (§B.3) to SS2D
    options; unsupported cores and suffixes raise."""
    if not isinstance(forward_type, str):
        raise ValueError(f'forward_type must be a str, got {forward_type!r}')
    if forward_type in ('v0', 'v0seq'):
        # SS2Dv0: fixed 3x3 conv with bias, SiLU-gated z, fp32 scan
        return dict(
            use_z_gate=True,
            z_act=True,
            out_act=False,
            ssm_out_norm='ln',
            force_fp32=True,
            d_conv=3,
            conv_bias=True,
            _v0=True)
    rest = forward_type
    flags = {}
    for suffix in ('_no32', '_oact', '_noz', '_nozact'):
        flags[suffix] = rest.endswith(suffix)
        if flags[suffix]:
            rest = rest[:-len(suffix)]
    out_norm = 'ln'
    if rest.endswith('_onnone'):
        out_norm, rest = 'none', rest[:-len('_onnone')]
    else:
        for suffix in ('_ondwconv3', '_oncnorm', '_onsoftmax', '_onsigmoid'):
            if rest.endswith(suffix):
                raise ValueError(
                    f'forward_type {forward_type!r}: the out-norm suffix '
                    f"{suffix!r} is not supported (only the default "
                    "LayerNorm and '_onnone')")
    # cores with the cross2d scan; they differ only in kernels and fp32 cast
    force32_cores = ('v01', 'v02', 'v03', 'v2')
    plain_cores = ('v04', 'v05', 'v3')
    if rest not in force32_cores + plain_cores:
        raise ValueError(
            f'forward_type {forward_type!r}: core {rest!r} is not supported; '
            f"supported: 'v0', 'v0seq' and {force32_cores + plain_cores} "
            "with the suffixes '_no32', '_oact', '_noz', '_nozact', "
            "'_onnone' (the single-direction/cascade scans v051d, v052d*, "
            'and the xv*/m0* variants are not implemented)')
    return dict(
        use_z_gate=not flags['_noz'],
        z_act=not flags['_nozact'],
        out_act=flags['_oact'],
        ssm_out_norm=out_norm,
        force_fp32=(rest in force32_cores) and not flags['_no32'])


def translate_official_arch(cfg: dict) -> dict:
    """Translate official ``VSSM`` keyword arguments to VMamba arch options.

    Args:
        cfg (dict): keyword arguments of the official ``VSSM`` /
            ``Backbone_VSSM`` (``dims``, ``depths``, ``ssm_d_state``,
            ``ssm_ratio``, ``ssm_dt_rank``, ``ssm_conv``, ``ssm_conv_bias``,
            ``ssm_act_layer``, ``ssm_drop_rate``, ``ssm_init``,
            ``forward_type``, ``mlp_ratio``, ``mlp_act_layer``,
            ``mlp_drop_rate``, ``gmlp``, ``norm_layer``,
            ``downsample_version``, ``patchembed_version``, ``patch_size``,
            ``in_chans``, ``patch_norm``, ``posembed``, ``imgsize``). Missing
            keys take the official ``VSSM`` defaults.

    Returns:
        dict: arch options in our names (see :class:`VMamba`).

    Raises:
        ValueError: a value that this implementation does not support, or a
            key that is not an architecture option (the message says where
            it belongs).
    """
    cfg = dict(cfg)
    not_arch = {
        'num_classes': 'set num_classes on the classification head',
        'drop_path_rate': 'pass drop_path_rate=... to VMamba',
        'use_checkpoint': 'pass with_cp=True to VMamba',
        'out_indices': 'pass out_indices=... to VMamba',
        'pretrained': "use init_cfg=dict(type='Pretrained', ...)",
    }
    for key, hint in not_arch.items():
        if key in cfg:
            raise ValueError(f'official key {key!r} is not an architecture '
                             f'option; remove it from arch and {hint}')
    # official VSSM defaults
    get = cfg.pop
    dims = get('dims', 96)
    depths = list(get('depths', [2, 2, 9, 2]))
    if isinstance(dims, (list, tuple)):
        if len(dims) != len(depths):
            raise ValueError(f'dims {dims} and depths {depths} differ in '
                             'length')
        embed_dims = list(dims)
    else:
        embed_dims = int(dims)
    out = dict(
        embed_dims=embed_dims,
        depths=depths,
        d_state=get('ssm_d_state', 16),
        ssm_ratio=get('ssm_ratio', 2.0),
        dt_rank=get('ssm_dt_rank', 'auto'),
        d_conv=get('ssm_conv', 3),
        conv_bias=get('ssm_conv_bias', True),
        ssm_init=get('ssm_init', 'v0'),
        ssm_drop=get('ssm_drop_rate', 0.),
        mlp_ratio=get('mlp_ratio', 4.0),
        mlp_act=get('mlp_act_layer', 'gelu'),
        mlp_drop=get('mlp_drop_rate', 0.),
        downsample_version=get('downsample_version', 'v2'),
        patch_embed_version=get('patchembed_version', 'v1'),
        patch_size=get('patch_size', 4),
        in_channels=get('in_chans', 3),
    )
    act = get('ssm_act_layer', 'silu')
    if str(act).lower() != 'silu':
        raise ValueError(f"ssm_act_layer={act!r} is not supported (only "
                         "'silu')")
    if get('gmlp', False):
        raise ValueError('gmlp=True (gated MLP) is not supported')
    if not get('patch_norm', True):
        raise ValueError('patch_norm=False is not supported')
    if get('posembed', False):
        raise ValueError('posembed=True (absolute position embedding) is not '
                         'supported')
    get('imgsize', None)  # only used by posembed
    norm_layer = str(get('norm_layer', 'LN')).lower()
    if norm_layer not in ('ln', 'ln2d'):
        raise ValueError(f"norm_layer={norm_layer!r} is not supported; use "
                         "'ln' (channel-last) or 'ln2d' (channel-first)")
    out['channel_first'] = norm_layer == 'ln2d'
    ft = _parse_forward_type(get('forward_type', 'v2'))
    if ft.pop('_v0', False):
        if out['channel_first']:
            raise ValueError("forward_type 'v0' needs norm_layer='ln' "
                             '(the official SS2Dv0 is channel-last only)')
        # the official SS2Dv0 ignores ssm_conv / ssm_conv_bias / ssm_init
        out['ssm_init'] = 'v0'
    out.update(ft)
    if cfg:
        raise ValueError(f'unknown official VSSM keys {sorted(cfg)}; '
                         'supported keys are those of VSSM.__init__')
    return out


class _Stage(nn.Module):
    """Blocks of one resolution followed by the downsample to the next.

    Keys ``blocks.{j}.*`` and ``downsample.*`` (as the official
    ``Sequential(OrderedDict(blocks=..., downsample=...))``).
    """

    def __init__(self, blocks: List[nn.Module], downsample: nn.Module) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*blocks)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        out = self.blocks(x)
        return out, self.downsample(out)


@MODELS.register_module()
class VMamba(BaseModule):
    """VMamba backbone of `VMamba: Visual State Space Model
    <https://arxiv.org/abs/2401.10166>`_.

    patch embed (stride 4) -> 4 stages of :class:`VSSBlock` with a stride-2
    downsample between stages -> per-output LayerNorm ``outnorm{i}`` (as the
    official ``MM_VSSM`` / ``Backbone_VSSM``). Outputs are NCHW maps at
    strides 4/8/16/32 with ``embed_dims * 2**i`` channels.

    **Classification.** The official classifier is ``norm -> avgpool ->
    linear``. The norm is a per-position LayerNorm, which does not commute
    with pooling, so it lives in the backbone: it is ``outnorm3`` of a
    backbone built with ``out_indices=(3, )``. An mmpretrain
    ``ImageClassifier`` with ``neck=GlobalAveragePooling`` and
    ``head=LinearClsHead`` then computes exactly the official logits, and the
    converter maps ``classifier.norm`` to ``backbone.outnorm3`` and
    ``classifier.head`` to ``head.fc``. (Loading such a checkpoint into a
    four-output detection backbone fills ``outnorm3`` with the classifier
    norm; ``outnorm0-2`` keep their default init, as officially all four do.)

    **Input sizes.** With the v2 patch embed and the v3 downsample (all
    released v2 models), any H, W >= 1 work, non-square and odd included
    (e.g. 97x130 gives stride-4 maps of 25x33, then 13x17, 7x9, 4x5): each
    stride-2 step gives ceil(H / 2). With the v1 patch embed (vanilla
    models) H, W must be >= ``patch_size`` (else a ValueError); as
    officially, the last ``H % patch_size`` rows / ``W % patch_size``
    columns are dropped by the stride-4 conv, and the v1 patch merging pads
    odd sizes at the bottom/right (ceil(H / 2)). The v2 downsample (2x2
    conv, no released model uses it) drops an odd last row/column.

    Args:
        arch (str | dict): a name of :attr:`arch_zoo` (``'tiny'``,
            ``'small'``, ``'base'`` = v2 s1l8 / s2l15 / s2l15;
            ``'tiny-s2l5'``, ``'small-s1l20'``, ``'base-s1l20'``;
            ``'vanilla-tiny'``, ``'vanilla-small'``, ``'vanilla-base'``), or
            a dict of either
            (a) our options: ``embed_dims`` (int, doubled per stage, or a
            list), ``depths``, ``d_state``, ``ssm_ratio`` and optionally
            ``dt_rank``, ``d_conv``, ``conv_bias``, ``use_z_gate``,
            ``z_act``, ``out_act``, ``ssm_out_norm``, ``force_fp32``,
            ``ssm_init``, ``ssm_drop``, ``mlp_ratio``, ``mlp_act``,
            ``mlp_drop``, ``patch_embed_version``, ``downsample_version``,
            ``channel_first``, ``patch_size``, ``in_channels`` (defaults: the
            v2 recipe), or (b) the official ``VSSM`` keywords (recognised by
            ``dims``), translated once by :func:`translate_official_arch`.
            Defaults to 'tiny'.
        in_channels (int): image channels (an arch dict may override it).
            Defaults to 3.
        patch_size (int): stem stride (an arch dict may override it).
            Defaults to 4.
        out_indices (Sequence[int] | int): stages whose outputs are returned,
            each through its own ``outnorm{i}``. Defaults to (0, 1, 2, 3).
        frozen_stages (int): -1 freezes nothing; 0 freezes ``patch_embed``;
            k >= 1 also freezes ``layers[0..k-1]`` (blocks and the trailing
            downsample) and ``outnorm{i}`` for i < k. Frozen parts have
            ``requires_grad=False`` and stay in eval mode. Defaults to -1.
        drop_path_rate (float): stochastic depth, linear from 0 over all
            blocks. Defaults to 0.
        with_cp (bool): gradient checkpointing per block. Defaults to False.
        channel_first (bool, optional): override the arch layout: (B, C, H,
            W) inside the network if True, (B, H, W, C) if False. Same
            parameters and results either way. Defaults to None (arch).
        use_z_gate (bool, optional): override: SiLU-gated z branch in SS2D.
        ssm_out_norm (str, optional): override: SS2D out norm, ``'ln'`` or
            ``'none'``.
        patch_embed_version (str, optional): override: ``'v1'`` or ``'v2'``.
        downsample_version (str, optional): override: ``'v1'`` (patch
            merging), ``'v2'`` (2x2 conv) or ``'v3'`` (3x3 conv).
        force_fp32 (bool, optional): override: fp32 scan inputs.
        scan_backend (str): :func:`mmmamba.ops.selective_scan` backend.
            Defaults to 'auto'.
        cross_scan_backend (str): :func:`mmmamba.ops.cross_scan` backend.
            Defaults to 'auto'.
        fuse_cross_scan (bool): SS2D's fused core on the Triton scan
            backend (see :class:`~mmmamba.models.layers.SS2D`; other scan
            backends always run the unfused core). Defaults to True (the
            faster path at every model and measure timed,
            ``benchmarks/session_1205i_h100/callX``).
        norm_backend (str): backend of every channel-first
            :class:`~mmmamba.models.layers.LayerNorm2d`
            (:func:`mmmamba.ops.layer_norm2d.layer_norm_2d`): ``'auto'``,
            ``'reference'`` or ``'triton'`` (one kernel each way; what
            ``'auto'`` picks on CUDA). Channel-last models use
            ``nn.LayerNorm`` and ignore it. Defaults to 'auto'.
        init_cfg (dict | list[dict], optional): mmengine init config; without
            a ``Pretrained`` entry the official init is applied (trunc-normal
            linears, unit LayerNorms, Mamba init of the SSM parameters).
            Defaults to None.
    """
    arch_zoo = _zoo()
    num_stages_max = 4

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 patch_size: int = 4,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 channel_first: Optional[bool] = None,
                 use_z_gate: Optional[bool] = None,
                 ssm_out_norm: Optional[str] = None,
                 patch_embed_version: Optional[str] = None,
                 downsample_version: Optional[str] = None,
                 force_fp32: Optional[bool] = None,
                 scan_backend: str = 'auto',
                 cross_scan_backend: str = 'auto',
                 fuse_cross_scan: bool = True,
                 norm_backend: str = 'auto',
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if norm_backend not in _NORM_BACKENDS:
            raise ValueError(f'VMamba: norm_backend must be one of '
                             f'{_NORM_BACKENDS}, got {norm_backend!r}')
        arch = self._resolve_arch(arch)
        overrides = dict(
            channel_first=channel_first,
            use_z_gate=use_z_gate,
            ssm_out_norm=ssm_out_norm,
            patch_embed_version=patch_embed_version,
            downsample_version=downsample_version,
            force_fp32=force_fp32)
        arch.update({k: v for k, v in overrides.items() if v is not None})
        in_channels = arch.pop('in_channels', in_channels)
        patch_size = arch.pop('patch_size', patch_size)
        self.arch_settings = arch

        depths = [int(d) for d in arch['depths']]
        num_stages = len(depths)
        dims = arch['embed_dims']
        if isinstance(dims, int):
            dims = [dims * 2**i for i in range(num_stages)]
        dims = [int(d) for d in dims]
        if len(dims) != num_stages or num_stages < 1:
            raise ValueError(f'embed_dims {dims} and depths {depths} must '
                             'have one entry per stage')
        self.depths, self.dims = depths, dims
        self.num_stages = num_stages
        self.num_layers = sum(depths)  # number of blocks
        self.channel_first = cf = bool(arch['channel_first'])

        if isinstance(out_indices, int):
            out_indices = [out_indices]
        normed = []
        for i in out_indices:
            j = i + num_stages if i < 0 else i
            if not 0 <= j < num_stages:
                raise ValueError(f'out_indices entry {i} is out of range for '
                                 f'{num_stages} stages')
            normed.append(j)
        self.out_indices = tuple(sorted(set(normed)))
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {num_stages}], '
                             f'got {frozen_stages}')
        self.frozen_stages = frozen_stages

        pe = arch['patch_embed_version']
        if pe == 'v1':
            self.patch_embed = PatchEmbedV1(in_channels, dims[0], patch_size,
                                            cf)
        elif pe == 'v2':
            self.patch_embed = PatchEmbedV2(in_channels, dims[0], patch_size,
                                            cf)
        else:
            raise ValueError(f"patch_embed_version must be 'v1' or 'v2', got "
                             f'{pe!r}')
        ds = arch['downsample_version']
        if ds not in ('v1', 'v2', 'v3'):
            raise ValueError(f"downsample_version must be 'v1', 'v2' or "
                             f"'v3', got {ds!r}")

        ssm_cfg = dict(
            type='mmmamba.SS2D',
            d_state=arch['d_state'],
            ssm_ratio=arch['ssm_ratio'],
            dt_rank=arch['dt_rank'],
            d_conv=arch['d_conv'],
            conv_bias=arch['conv_bias'],
            use_z_gate=arch['use_z_gate'],
            z_act=arch['z_act'],
            out_norm=arch['ssm_out_norm'],
            out_act=arch['out_act'],
            force_fp32=arch['force_fp32'],
            dropout=arch['ssm_drop'],
            ssm_init=arch['ssm_init'],
            scan_backend=scan_backend,
            cross_scan_backend=cross_scan_backend,
            fuse_cross_scan=fuse_cross_scan)
        dpr = torch.linspace(
            0, drop_path_rate, self.num_layers, device='cpu').tolist()
        self.layers = nn.ModuleList()
        for i in range(num_stages):
            start = sum(depths[:i])
            blocks = [
                VSSBlock(
                    dims[i],
                    ssm_cfg=ssm_cfg,
                    mlp_ratio=arch['mlp_ratio'],
                    mlp_act=arch['mlp_act'],
                    mlp_drop=arch['mlp_drop'],
                    drop_path=dpr[start + j],
                    channel_first=cf,
                    with_cp=with_cp) for j in range(depths[i])
            ]
            if i == num_stages - 1:
                downsample = nn.Identity()
            elif ds == 'v1':
                downsample = PatchMerging2D(dims[i], dims[i + 1], cf)
            else:
                downsample = ConvDownsample(dims[i], dims[i + 1], ds, cf)
            self.layers.append(_Stage(blocks, downsample))
        for i in self.out_indices:
            self.add_module(f'outnorm{i}', build_norm(dims[i], cf))
        for m in self.modules():
            if isinstance(m, LayerNorm2d):
                m.backend = norm_backend
        self._freeze_stages()

    @classmethod
    def _resolve_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'unknown VMamba arch {arch!r}; choose one '
                                 f'of {sorted(set(cls.arch_zoo))} or pass a '
                                 'dict')
            arch = copy.deepcopy(cls.arch_zoo[key])
        elif isinstance(arch, dict):
            arch = copy.deepcopy(dict(arch))
            if 'dims' in arch and 'embed_dims' not in arch:
                arch = translate_official_arch(arch)
        else:
            raise TypeError(f'arch must be a str or dict, got {type(arch)}')
        missing = _ESSENTIAL_KEYS - set(arch)
        if missing:
            raise ValueError(f'custom VMamba arch is missing {sorted(missing)}'
                             ' (or give the official VSSM keys, with `dims`)')
        unknown = set(arch) - _ESSENTIAL_KEYS - _OPTIONAL_KEYS
        if unknown:
            raise ValueError(f'unknown VMamba arch keys {sorted(unknown)}; '
                             f'allowed: {sorted(_ESSENTIAL_KEYS)} and '
                             f'{sorted(_OPTIONAL_KEYS)}')
        return {**_ARCH_DEFAULTS, **arch}

    def init_weights(self) -> None:
        """Official init unless ``init_cfg`` holds a ``Pretrained`` entry
        (which then loads on top)."""
        cfgs = self.init_cfg if isinstance(self.init_cfg,
                                           list) else [self.init_cfg]
        pretrained = any(
            isinstance(c, dict) and c.get('type') == 'Pretrained'
            for c in cfgs)
        if not pretrained:
            self.apply(vmamba_init_weights)
        super().init_weights()

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.patch_embed.eval()
            for p in self.patch_embed.parameters():
                p.requires_grad = False
        for i in range(self.frozen_stages):
            modules = [self.layers[i]]
            if i in self.out_indices:
                modules.append(getattr(self, f'outnorm{i}'))
            for m in modules:
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False

    def train(self, mode: bool = True) -> 'VMamba':
        """Set train/eval mode, keeping frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Args:
            x (Tensor): images (B, in_channels, H, W).

        Returns:
            tuple[Tensor]: for each ``out_indices`` entry i, the normalised
            stage-i output (B, dims[i], H_i, W_i), NCHW whatever the internal
            layout.
        """
        if x.dim() != 4:
            raise ValueError(f'VMamba expects (B, C, H, W) images, got shape '
                             f'{tuple(x.shape)}')
        x = self.patch_embed(x)
        outs = []
        for i, stage in enumerate(self.layers):
            out, x = stage(x)
            if i in self.out_indices:
                out = getattr(self, f'outnorm{i}')(out)
                if not self.channel_first:
                    out = out.permute(0, 3, 1, 2)
                outs.append(out.contiguous())
        return tuple(outs)

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise learning-rate decay.

        ``patch_embed`` is layer 0, block j of stage s is
        ``sum(depths[:s]) + j + 1``, the downsample after stage s shares the
        id of that stage's last block, and the output norms and anything
        outside the backbone (the head) get the last id.

        Args:
            param_name (str): parameter name, e.g.
                ``'backbone.layers.2.blocks.3.op.A_logs'``.
            prefix (str): prefix of the backbone parameters in
                ``param_name``. Defaults to ''.

        Returns:
            tuple[int, int]: (layer id, number of layers = sum(depths) + 2).
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        parts = name.split('.')
        if parts[0] == 'patch_embed':
            depth = 0
        elif parts[0] == 'layers':
            stage = int(parts[1])
            if parts[2] == 'blocks':
                depth = sum(self.depths[:stage]) + int(parts[3]) + 1
            else:
                depth = sum(self.depths[:stage + 1])
        else:
            depth = num_layers - 1
        return depth, num_layers
