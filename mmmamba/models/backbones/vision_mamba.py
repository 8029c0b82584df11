# Copyright (c) mmmamba contributors. All rights reserved.
"""Vision Mamba (Vim) backbone.

A PyTorch implementation of `Vision Mamba: Efficient Visual Representation
Learning with Bidirectional State Space Model
<https://arxiv.org/abs/2401.09417>`_, written from the specification of the
released hustvl/Vim models (commit dd0358a, Apache-2.0) in
``docs/official-models.md`` part A; official checkpoints load after
``tools/model_converters/vim_to_mmmamba.py``.
"""
import math
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmmamba.ops._utils import (is_compiling, is_triton_available,
                                triton_interpret)
from mmmamba.ops.patch_tokens import patch_tokens
from mmmamba.ops.rms_norm import resolve_norm_backend
from mmmamba.ops.token_layout import tokens_to_featmap
from mmmamba.registry import MODELS
from ..layers.bimamba import BiMamba, CachedLinear, forward_hooked
from ..layers.embed import (VimPatchEmbed, infer_square_grid, resize_pos_embed,
                            resize_pos_embed_vim_finetune, split_cls_pos_embed,
                            to_2tuple)
from ..layers.norm import AddRMSNorm
from ..utils.vim_convert import convert_vim_state_dict_inplace

OptConfig = Optional[Union[dict, List[dict]]]

#: Whether inference on CUDA prepares the input tokens (patch conv, class
#: token, position embedding; under 16-bit autocast) with the one-kernel op
#: :func:`mmmamba.ops.patch_tokens.patch_tokens`, and makes 'featmap'
#: outputs with the transpose kernel of
#: :func:`mmmamba.ops.token_layout.tokens_to_featmap` (benchmarks switch it
#: off for A/B runs).
FUSED_TOKENS = True

#: Whether eager inference calls each mixer's three parts itself
#: (:meth:`BiMamba.in_projection`, ``forward_core``, the out projection)
#: where the mixer has no forward hooks (which the parts would skip), so
#: that the normalised hidden (B, L, D), read only by ``in_proj``, is freed
#: before the scans: a call keeps its argument alive to the end (its size,
#: Vim-Ti bf16: 6.2 MiB at 738² batch 8, 0.38 GiB at 2048² batch 64).
#: Benchmarks switch it off for A/B runs.
SPLIT_MIXER = True

#: Whether that split eager inference under autocast runs each mixer's
#: ``out_proj`` inside the next add + RMSNorm's kernel
#: (:func:`~mmmamba.ops.rms_norm.linear_add_rms_norm`) where a norm
#: consumes it; else the linear layer and the norm kernel (H100, Vim-Ti
#: under CUDA graphs: 2048² b64 -2.4 ms per batch, 1248² b64 +1.3% img/s;
#: the kernel 1.09 against the pair's 1.22 ms per layer at 2048² b64,
#: ``benchmarks/NOTES.md``, 2026-12-07, eighth part). Benchmarks switch it
#: off for A/B runs.
FUSE_OUT_PROJ = True

#: The widest ``embed_dims`` whose out_proj that fusion takes: the widths
#: where the kernel was measured ahead of the pair (Vim-Ti's 192; the
#: kernel takes up to
#: :data:`~mmmamba.ops.rms_norm.LINEAR_MAX_OUT_FEATURES`, 1024).
FUSE_OUT_PROJ_MAX_DIMS = 192


def _eager_inference() -> bool:
    """Whether the caller runs eagerly without autograd (no tracing, no
    ``torch.compile``): where the in-place and kernel-only token paths
    may run."""
    return not (torch.is_grad_enabled() or torch.jit.is_tracing()
                or is_compiling())


class VimBlock(nn.Module):
    """One Vim layer: drop path, add + RMSNorm, bidirectional mixer.

    ``forward(hidden, residual)`` follows the official ``Block`` (A.3): the
    incoming ``hidden`` is the previous layer's mixer output, which is
    added (after drop path) to the fp32 residual stream here; the mixer then
    runs on ``RMSNorm(residual)``.

    Args:
        embed_dims (int): Width D.
        mixer_cfg (dict): Keyword arguments of :class:`BiMamba`.
        drop_path_rate (float): Drop path applied to the incoming hidden.
        norm_eps (float): RMSNorm epsilon.
    """

    def __init__(self, embed_dims: int, mixer_cfg: dict, drop_path_rate: float,
                 norm_eps: float) -> None:
        super().__init__()
        self.mixer = BiMamba(embed_dims, **mixer_cfg)
        self.norm = AddRMSNorm(embed_dims, eps=norm_eps, residual_in_fp32=True)
        self.drop_path = DropPath(
            drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, hidden: Tensor,
                residual: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Run one layer.

        Args:
            hidden (Tensor): (B, L, D), previous mixer output (or the
                embedded tokens for the first layer).
            residual (Tensor, optional): (B, L, D) fp32 residual stream, None
                for the first layer.

        Returns:
            tuple[Tensor, Tensor]: this layer's mixer output (B, L, D) and
            the updated residual stream (B, L, D), fp32.
        """
        hidden, residual = self.add_norm(hidden, residual)
        return self.mixer(hidden), residual

    def add_norm(self, hidden: Tensor,
                 residual: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """The first half of :meth:`forward`: drop path, add to the residual
        stream, RMSNorm. Returns the normalised hidden (B, L, D) (the
        mixer's input) and the new residual stream (fp32).

        Under autocast an fp32 ``hidden`` (the first layer's: patch tokens
        plus the fp32 position embedding) is normalised straight into
        autocast's dtype: the mixer's first op, ``in_proj``, would cast it
        to that dtype anyway (the same rounding of the same fp32 values),
        and the fp32 copy was the largest extra tensor at the peak of
        bf16 inference (``benchmarks/NOTES.md``, 2026-12-04, third part).
        """
        if residual is not None:
            hidden = self.drop_path(hidden)
        out_dtype = None
        device = hidden.device.type
        if (hidden.dtype == torch.float32
                and torch.is_autocast_enabled(device)):
            out_dtype = torch.get_autocast_dtype(device)
        return self.norm(hidden, residual, out_dtype=out_dtype)


@MODELS.register_module()
class VisionMamba(BaseModule):
    """Vision Mamba (Vim) backbone.

    A PyTorch implementation of `Vision Mamba: Efficient Visual
    Representation Learning with Bidirectional State Space Model
    <https://arxiv.org/abs/2401.09417>`_. Adapted from hustvl/Vim (commit
    dd0358a, Apache-2.0) via the written spec; parameter names follow the
    official checkpoints except ``patch_embed.projection`` (official
    ``patch_embed.proj``). The released models are ``arch`` tiny / small /
    base with ``stride=16`` and the long-sequence (†) ones with ``stride=8``.

    Dataflow (A.3): patch tokens (B, M, D) with ``M = Hp * Wp``; the class
    token is inserted at index ``M // 2``; the position embedding is added;
    each layer adds the previous mixer output to an fp32 residual stream,
    normalises it (RMSNorm) and mixes it bidirectionally; finally
    ``norm_f(residual + drop_path(hidden))``.

    Which tensor a layer outputs (``feat_source``):

    - ``'residual'`` (default): the residual stream after layer ``i``,
      ``residual + hidden`` = ``x0 + sum_{j<=i} mixer_j``; the official seg
      code's ``use_residual_as_feature=True`` and det's ``'add'``.
    - ``'mixer'``: the mixer output ``hidden`` of layer ``i``; the official
      seg default (``use_residual_as_feature=False``, A.10).

    In both cases the last layer, if ``final_norm``, outputs
    ``norm_f(residual + drop_path(hidden))``, which for ``out_type=
    'cls_token'`` is exactly the official ``forward_features``.

    Input sizes: any H, W with ``(H - patch_size) % stride == 0`` (and the
    same for W); the position embedding is resized bicubically on the fly
    when the grid differs from the one of ``img_size``. A checkpoint made for
    another grid is resized on load (class position kept at the middle).
    ``pos_embed_resize_quirk=True`` instead reproduces the official
    ``--finetune`` resize, which treats index 0 as the class position (A.6);
    only use it to reproduce the released stride-8 fine-tunes. Bare official
    state dicts (``patch_embed.proj.*`` keys) are converted on load.

    Args:
        arch (str | dict): 'tiny' | 'small' | 'base' (or 't' | 's' | 'b'),
            or a dict with ``embed_dims`` and ``num_layers`` and optionally
            ``d_state`` (16), ``expand`` (2), ``d_conv`` (4) and ``dt_rank``
            ('auto' = ceil(D / 16)). Defaults to 'tiny'.
        img_size (int | tuple[int, int]): Size the position embedding is
            built for. Defaults to 224.
        patch_size (int): Patch (conv kernel) size. Defaults to 16.
        stride (int): Patch stride; 8 gives the long-sequence † models.
            Defaults to 16.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (int | Sequence[int]): Layers whose outputs are
            returned; negative values count from the end. Defaults to -1.
        out_type (str): 'cls_token' (B, D), 'featmap' (B, D, Hp, Wp) patch
            tokens, 'avg_featmap' (B, D) mean of patch tokens, or 'raw'
            (B, M + 1, D) all tokens. Defaults to 'cls_token'.
        feat_source (str): 'residual' or 'mixer', see above.
            Defaults to 'residual'.
        with_cls_token (bool): Insert the middle class token. Must be True
            for ``out_type='cls_token'``. Defaults to True.
        final_norm (bool): Apply ``norm_f`` after the last layer.
            Defaults to True.
        drop_rate (float): Dropout after adding the position embedding.
            Defaults to 0.
        drop_path_rate (float): Stochastic depth rate: layer ``i >= 1`` gets
            ``rate * (i - 1) / (num_layers - 1)`` and the final add the full
            rate, as the official code (A.5). Defaults to 0.
        norm_eps (float): RMSNorm epsilon. Defaults to 1e-5.
        interpolate_mode (str): Position-embedding resize mode.
            Defaults to 'bicubic'.
        pos_embed_resize_quirk (bool): Resize checkpoint position embeddings
            the official fine-tune way (A.6 quirk). Defaults to False.
        frozen_stages (int): Freeze the embeddings and the first
            ``frozen_stages`` layers (and ``norm_f`` when all are frozen);
            -1 freezes nothing. Defaults to -1.
        with_cp (bool): Gradient checkpointing of each layer.
            Defaults to False.
        mixer_cfg (dict, optional): Extra keyword arguments of
            :class:`~mmmamba.models.layers.BiMamba` (e.g. ``dt_min``).
            Defaults to None.
        scan_backend (str): Backend of :func:`mmmamba.ops.selective_scan`.
            Defaults to 'auto'.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(embed_dims=192, num_layers=24)),
        **dict.fromkeys(['s', 'small'], dict(embed_dims=384, num_layers=24)),
        **dict.fromkeys(['b', 'base'], dict(embed_dims=768, num_layers=24)),
    }
    ARCH_DEFAULTS = dict(d_state=16, expand=2, d_conv=4, dt_rank='auto')
    OUT_TYPES = {'raw', 'cls_token', 'featmap', 'avg_featmap'}
    FEAT_SOURCES = {'residual', 'mixer'}
    num_extra_tokens = 1

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 img_size: Union[int, Tuple[int, int]] = 224,
                 patch_size: int = 16,
                 stride: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'cls_token',
                 feat_source: str = 'residual',
                 with_cls_token: bool = True,
                 final_norm: bool = True,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-5,
                 interpolate_mode: str = 'bicubic',
                 pos_embed_resize_quirk: bool = False,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 mixer_cfg: Optional[dict] = None,
                 scan_backend: str = 'auto',
                 init_cfg: OptConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._parse_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']

        if out_type not in self.OUT_TYPES:
            raise ValueError(f'Unsupported out_type {out_type!r}, choose '
                             f'from {sorted(self.OUT_TYPES)}')
        if feat_source not in self.FEAT_SOURCES:
            raise ValueError(f'Unsupported feat_source {feat_source!r}, '
                             f'choose from {sorted(self.FEAT_SOURCES)}')
        if out_type == 'cls_token' and not with_cls_token:
            raise ValueError("out_type='cls_token' needs with_cls_token=True")
        if pos_embed_resize_quirk and not with_cls_token:
            raise ValueError('pos_embed_resize_quirk reproduces the official '
                             'class-token fine-tune resize and needs '
                             'with_cls_token=True')
        self.out_type = out_type
        self.feat_source = feat_source
        self.with_cls_token = with_cls_token
        self.final_norm = final_norm
        self.interpolate_mode = interpolate_mode
        self.pos_embed_resize_quirk = pos_embed_resize_quirk
        self.with_cp = with_cp
        self.img_size = to_2tuple(img_size, 'img_size')

        self.patch_embed = VimPatchEmbed(
            in_channels=in_channels,
            embed_dims=self.embed_dims,
            patch_size=patch_size,
            stride=stride)
        self.patch_resolution = self.patch_embed.grid_shape(self.img_size)
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]

        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        num_tokens = num_patches + int(with_cls_token)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_tokens, self.embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        # The hook as a plain function that receives the module (PyTorch
        # keeps only a weak reference to it): a bound method would make a
        # reference cycle, and a deleted model would keep its weights (on
        # the GPU too) until the next garbage collection.
        self._register_load_state_dict_pre_hook(
            type(self)._prepare_state_dict, with_module=True)

        self.out_indices = self._parse_out_indices(out_indices)

        mixer_kwargs = dict(
            d_state=self.arch_settings['d_state'],
            expand=self.arch_settings['expand'],
            d_conv=self.arch_settings['d_conv'],
            dt_rank=self.arch_settings['dt_rank'],
            scan_backend=scan_backend)
        mixer_kwargs.update(mixer_cfg or {})
        # Official stochastic depth (A.5): layer i gets inter_dpr[i] with
        # inter_dpr = [0] + linspace(0, rate, num_layers).
        steps = max(self.num_layers - 1, 1)
        dpr = [0.0] + [
            drop_path_rate * i / steps for i in range(self.num_layers)
        ]
        self.layers = ModuleList([
            VimBlock(self.embed_dims, mixer_kwargs, dpr[i], norm_eps)
            for i in range(self.num_layers)
        ])
        self.drop_path = DropPath(
            drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        if final_norm:
            self.norm_f = AddRMSNorm(
                self.embed_dims, eps=norm_eps, residual_in_fp32=True)

        if not isinstance(frozen_stages,
                          int) or not (-1 <= frozen_stages <= self.num_layers):
            raise ValueError(f'frozen_stages must be an int in [-1, '
                             f'{self.num_layers}], got {frozen_stages!r}')
        self.frozen_stages = frozen_stages
        if frozen_stages > 0:
            self._freeze_stages()

    # ------------------------------------------------------------------
    # construction helpers
    # ------------------------------------------------------------------
    def _parse_arch(self, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in self.arch_zoo:
                raise ValueError(
                    f'Unknown VisionMamba arch {arch!r}; choose from '
                    f'{sorted(set(self.arch_zoo))} or pass a dict with '
                    "'embed_dims' and 'num_layers'")
            settings = dict(self.ARCH_DEFAULTS, **self.arch_zoo[key])
        elif isinstance(arch, dict):
            essential = {'embed_dims', 'num_layers'}
            allowed = essential | set(self.ARCH_DEFAULTS)
            if not essential <= set(arch):
                raise ValueError(f'A custom VisionMamba arch needs the keys '
                                 f'{sorted(essential)}, got {sorted(arch)}')
            unknown = set(arch) - allowed
            if unknown:
                raise ValueError(f'Unknown VisionMamba arch keys '
                                 f'{sorted(unknown)}; allowed: '
                                 f'{sorted(allowed)}')
            settings = dict(self.ARCH_DEFAULTS, **arch)
        else:
            raise TypeError('arch must be a str or a dict, got '
                            f'{type(arch).__name__}')
        for key in ('embed_dims', 'num_layers', 'd_state', 'expand', 'd_conv'):
            value = settings[key]
            if not isinstance(value, int) or isinstance(value,
                                                        bool) or value <= 0:
                raise ValueError(f'arch {key!r} must be a positive int, got '
                                 f'{value!r}')
        return settings

    def _parse_out_indices(
            self, out_indices: Union[int, Sequence[int]]) -> List[int]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence) or not out_indices:
            raise TypeError('out_indices must be an int or a non-empty '
                            f'sequence of ints, got {out_indices!r}')
        result = []
        for index in out_indices:
            if not -self.num_layers <= index < self.num_layers:
                raise ValueError(f'out_indices entry {index} is out of range '
                                 f'for {self.num_layers} layers')
            result.append(index % self.num_layers)
        if len(set(result)) != len(result):
            raise ValueError(f'out_indices {list(out_indices)} has '
                             'duplicates')
        return sorted(result)

    # ------------------------------------------------------------------
    # init, freezing, optimizer helpers
    # ------------------------------------------------------------------
    def init_weights(self) -> None:
        """Official initialisation (A.7) unless a pretrained checkpoint is
        given through ``init_cfg``.

        Patch-embed conv: LeCun-normal weight, zero bias; ``pos_embed`` and
        ``cls_token``: truncated normal (std 0.02); every ``nn.Linear`` bias
        zero except the ``dt_proj(_b)`` biases; each mixer's
        ``out_proj.weight``: ``kaiming_uniform_(a=sqrt(5))`` divided by
        ``sqrt(num_layers)``; RMSNorm weights one. The mixers keep their own
        S4D / delta initialisation from construction.
        """
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        super().init_weights()
        w = self.patch_embed.projection.weight
        fan_in = w.shape[1] * w.shape[2] * w.shape[3]
        # LeCun normal, truncated at 2 std (as timm's lecun_normal_): the
        # std of a N(0, 1) truncated to [-2, 2] is 0.87962566103423978.
        std = math.sqrt(1.0 / fan_in) / .87962566103423978
        nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)
        nn.init.zeros_(self.patch_embed.projection.bias)
        nn.init.trunc_normal_(self.pos_embed, std=.02)
        if self.with_cls_token:
            nn.init.trunc_normal_(self.cls_token, std=.02)
        for module in self.modules():
            if isinstance(module, nn.Linear) and module.bias is not None \
                    and not getattr(module.bias, '_no_reinit', False):
                nn.init.zeros_(module.bias)
            if isinstance(module, AddRMSNorm):
                nn.init.ones_(module.weight)
            if isinstance(module, BiMamba):
                nn.init.kaiming_uniform_(
                    module.out_proj.weight, a=math.sqrt(5))
                with torch.no_grad():
                    module.out_proj.weight.div_(math.sqrt(self.num_layers))

    def _freeze_stages(self) -> None:
        """Freeze embeddings and the first ``frozen_stages`` layers."""
        frozen: List[nn.Module] = [self.patch_embed, self.drop_after_pos]
        frozen += list(self.layers[:self.frozen_stages])
        if self.frozen_stages == self.num_layers and self.final_norm:
            frozen.append(self.norm_f)
        self.pos_embed.requires_grad = False
        if self.with_cls_token:
            self.cls_token.requires_grad = False
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'VisionMamba':
        super().train(mode)
        if mode and self.frozen_stages > 0:
            self._freeze_stages()
        return self

    def no_weight_decay(self) -> Set[str]:
        """Parameter names the official training excludes from weight decay
        by name (``VisionMamba.no_weight_decay``). The official optimizer
        also skips every 1-D parameter and bias (``flat_decay_mult=0`` in
        mmengine); it does decay ``A_log`` / ``A_b_log`` (A.7)."""
        return {'pos_embed', 'cls_token'}

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise learning-rate decay.

        Embeddings (``pos_embed``, ``cls_token``, ``patch_embed``) are layer
        0, ``layers.i`` is layer ``i + 1``, and everything else (``norm_f``
        and parameters outside the backbone, e.g. the head) is the last
        layer ``num_layers + 1``.

        Args:
            param_name (str): The name of the parameter.
            prefix (str): The prefix for the parameter. Defaults to ''.

        Returns:
            tuple[int, int]: The layer id of the parameter and the total
            number of layers (``num_layers + 2``).
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('cls_token',
                    'pos_embed') or name.startswith('patch_embed'):
            layer_depth = 0
        elif name.startswith('layers.'):
            layer_depth = int(name.split('.')[1]) + 1
        else:
            layer_depth = num_layers - 1
        return layer_depth, num_layers

    # ------------------------------------------------------------------
    # checkpoint loading
    # ------------------------------------------------------------------
    def _prepare_state_dict(self, state_dict: Dict[str, Tensor], prefix: str,
                            local_metadata: dict, strict: bool,
                            missing_keys: List[str],
                            unexpected_keys: List[str],
                            error_msgs: List[str]) -> None:
        """Load-state-dict pre-hook: official keys, class token, pos-embed.

        1. Bare official Vim keys under ``prefix`` are converted with
           :func:`~mmmamba.models.utils.convert_vim_state_dict` (unmapped or
           missing keys raise; official ``head.*`` keys are dropped).
        2. A checkpoint class token is dropped for ``with_cls_token=False``,
           together with its middle position embedding.
        3. A position embedding of another (square) grid is resized to this
           model's grid (``resize_pos_embed``, or the official fine-tune way
           with ``pos_embed_resize_quirk``).
        """
        convert_vim_state_dict_inplace(state_dict, prefix)
        cls_key = prefix + 'cls_token'
        ckpt_has_cls = cls_key in state_dict
        if ckpt_has_cls and not self.with_cls_token:
            del state_dict[cls_key]
            print_log(
                'VisionMamba: dropped the checkpoint class token '
                '(with_cls_token=False)',
                logger='current')
        key = prefix + 'pos_embed'
        if key not in state_dict:
            return
        ckpt_pos = state_dict[key]
        if ckpt_pos.shape == self.pos_embed.shape and \
                ckpt_has_cls == self.with_cls_token:
            return
        if ckpt_pos.dim() != 3 or ckpt_pos.shape[-1] != self.embed_dims:
            return  # a width mismatch is reported by the normal loading
        n_extra = int(ckpt_has_cls)
        src = infer_square_grid(ckpt_pos.shape[1] - n_extra, key)
        dst = self.patch_resolution
        if self.pos_embed_resize_quirk:
            if not ckpt_has_cls:
                raise ValueError('pos_embed_resize_quirk needs a checkpoint '
                                 'with a class token')
            new_pos = resize_pos_embed_vim_finetune(ckpt_pos, src, dst,
                                                    self.interpolate_mode)
            how = 'the official fine-tune way (index 0 as class position)'
        else:
            cls_pos, grid_pos = split_cls_pos_embed(ckpt_pos, src[0] * src[1])
            if self.with_cls_token and cls_pos is None:
                raise ValueError(
                    f'{key}: the checkpoint has no class token / class '
                    'position but the model has with_cls_token=True')
            if not self.with_cls_token:
                cls_pos = None
            new_pos = resize_pos_embed(
                grid_pos if cls_pos is None else ckpt_pos,
                src,
                dst,
                self.interpolate_mode,
                with_cls_token=cls_pos is not None)
            how = 'keeping the middle class position'
        state_dict[key] = new_pos
        print_log(
            f'VisionMamba: resized {key} from {src[0]}x{src[1]} to '
            f'{dst[0]}x{dst[1]} ({how})',
            logger='current')

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def _pos_embed_for(self, grid: Tuple[int, int]) -> Tensor:
        if grid == self.patch_resolution:
            return self.pos_embed
        return resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            grid,
            self.interpolate_mode,
            with_cls_token=self.with_cls_token)

    def _tokens(self, x: Tensor, grid: Tuple[int, int]) -> Tensor:
        """The patch tokens (B, M, D) with the middle class token inserted
        and the position embedding added: (B, M + 1, D) (or (B, M, D)
        without a class token), in the promoted dtype (fp32 for bf16
        patch tokens: the class token and the embedding are fp32).

        Without autograd (and outside tracing and ``torch.compile``) the
        three pieces are added straight into one output, bit for bit the
        concatenation's sum without the concatenated copy: at Vim-Ti 1248²
        batch 64 the concatenation and the add were two passes over a
        0.28 GiB fp32 tensor (~1.5 ms of ~101, H200 profile in
        ``benchmarks/NOTES.md``).
        """
        pos = self._pos_embed_for(grid)
        if not self.with_cls_token:
            return x + pos
        batch = x.shape[0]
        cls_index = (grid[0] * grid[1]) // 2
        cls_token = self.cls_token.expand(batch, -1, -1)
        if not _eager_inference():
            x = torch.cat([x[:, :cls_index], cls_token, x[:, cls_index:]],
                          dim=1)
            return x + pos
        num_tokens = x.shape[1] + 1
        dtype = torch.promote_types(torch.promote_types(x.dtype, pos.dtype),
                                    cls_token.dtype)
        out = x.new_empty((batch, num_tokens, x.shape[2]), dtype=dtype)
        c = cls_index
        torch.add(x[:, :c], pos[:, :c], out=out[:, :c])
        torch.add(cls_token, pos[:, c:c + 1], out=out[:, c:c + 1])
        torch.add(x[:, c:], pos[:, c + 1:], out=out[:, c + 1:])
        return out

    def _fused_tokens_run(self, x: Tensor) -> bool:
        """Whether :meth:`_input_tokens` runs the one-kernel op: inference
        (no autograd, tracing or ``torch.compile``) under bf16 / fp16
        autocast with non-overlapping patches, fp32 embeddings, on CUDA
        (or in Triton's interpreter) with triton installed."""
        embed = self.patch_embed
        dev = x.device.type
        return (FUSED_TOKENS and _eager_inference()
                and embed.stride == embed.patch_size
                and (dev == 'cuda' or triton_interpret())
                and torch.is_autocast_enabled(dev)
                and torch.get_autocast_dtype(dev) in (torch.bfloat16,
                                                      torch.float16)
                and self.pos_embed.dtype == torch.float32
                and (not self.with_cls_token
                     or self.cls_token.dtype == torch.float32)
                and is_triton_available())

    def _input_tokens(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """The layers' input (B, T, D) from images (B, C, H, W) and the
        patch grid: the patch embedding and :meth:`_tokens`, or for
        inference the same in one kernel (:meth:`_fused_tokens_run`; on an
        H100 bit for bit the unfused path's tokens, and Vim-Ti 2048² batch
        64 223.7 -> 221.6 ms per batch, ``benchmarks/NOTES.md``)."""
        if not self._fused_tokens_run(x):
            tokens, grid = self.patch_embed(x)
            return self._tokens(tokens, grid), grid
        grid = self.patch_embed.check_input(x)
        proj = self.patch_embed.projection
        dtype = torch.get_autocast_dtype(x.device.type)
        pos = self._pos_embed_for(grid)
        return patch_tokens(
            x, proj.weight.to(dtype).contiguous(), proj.bias,
            pos.contiguous(), self.cls_token if self.with_cls_token else None,
            self.patch_embed.patch_size, backend='triton'), grid

    def _format_output(self, feat: Tensor, grid: Tuple[int, int]) -> Tensor:
        if self.out_type == 'raw':
            return feat
        num_patches = grid[0] * grid[1]
        cls_index = num_patches // 2
        if self.out_type == 'cls_token':
            return feat[:, cls_index]
        if self.out_type == 'featmap':
            # the transpose kernel for inference on CUDA: one pass, not a
            # cat and a permuted copy (Vim-Ti 2048² b64 bf16, H100: 1.49 ->
            # 0.27 ms, benchmarks/NOTES.md)
            fused = FUSED_TOKENS and _eager_inference()
            return tokens_to_featmap(
                feat, grid, cls_index if self.with_cls_token else None,
                backend='auto' if fused else 'reference')
        if self.with_cls_token:
            feat = torch.cat([feat[:, :cls_index], feat[:, cls_index + 1:]],
                             dim=1)
        return feat.mean(dim=1)

    def _fuses_out_proj(self, x: Tensor) -> bool:
        """Whether :meth:`forward` runs each mixer's ``out_proj`` in the
        next add + RMSNorm's kernel (:meth:`AddRMSNorm.add_projected`:
        the layers' norms and the final one): eager inference under
        autocast in eval mode (no drop path) on CUDA (or in Triton's
        interpreter), with the fp32 residual stream, norms that resolve to
        the Triton backend and ``embed_dims`` at most
        :data:`FUSE_OUT_PROJ_MAX_DIMS` (:data:`FUSE_OUT_PROJ` and
        :data:`SPLIT_MIXER` on). Saves the mixer output's write and read
        per layer (Vim-Ti 2048² b64: 0.8 GB a layer)."""
        device = x.device.type
        if not (FUSE_OUT_PROJ and SPLIT_MIXER and _eager_inference()
                and (x.is_cuda or triton_interpret()) and not self.training
                and torch.is_autocast_enabled(device)
                and self.embed_dims <= FUSE_OUT_PROJ_MAX_DIMS):
            return False
        # the norms' backends for the activations (CPU tensors only in
        # Triton's interpreter, with the norms' backend 'triton')
        probe = x.new_empty(0, dtype=torch.get_autocast_dtype(device))
        norms = [layer.norm for layer in self.layers]
        if self.final_norm:
            norms.append(self.norm_f)
        # one resolution per distinct backend name (25 norms in Vim-Ti,
        # one name: host time at eager batch 8)
        return (all(n.residual_in_fp32 for n in norms)
                and all(resolve_norm_backend(name, probe) == 'triton'
                        for name in {n.backend for n in norms}))

    def _checkpoint_layers(self) -> bool:
        return self.with_cp and self.training and torch.is_grad_enabled()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward.

        Args:
            x (Tensor): (B, C, H, W) with ``(H - patch_size) % stride == 0``
                and the same for W.

        Returns:
            tuple[Tensor]: one tensor per ``out_indices`` entry, in layer
            order; shape per ``out_type``: 'cls_token' / 'avg_featmap'
            (B, D), 'featmap' (B, D, Hp, Wp), 'raw' (B, Hp * Wp + 1, D).
        """
        hidden, grid = self._input_tokens(x)
        hidden = self.drop_after_pos(hidden)
        residual: Optional[Tensor] = None

        outs = []
        last = self.num_layers - 1
        split = SPLIT_MIXER and _eager_inference()  # the same for each layer
        fuse = self._fuses_out_proj(hidden)
        # the previous mixer's out_proj and its input, which the next add +
        # RMSNorm applies (fuse)
        pending = None
        for i, layer in enumerate(self.layers):
            if self._checkpoint_layers():
                hidden, residual = cp.checkpoint(
                    layer, hidden, residual, use_reentrant=False)
            else:
                # The block's two halves, called here: rebinding drops the
                # previous hidden and residual stream before the mixer runs
                # (inside layer(hidden, residual) this frame would keep
                # them alive): 0.42 GiB less at the peak of Vim-Ti bf16
                # inference at 1248² batch 64 (benchmarks/NOTES.md).
                if pending is not None:
                    hidden, residual = layer.norm.add_projected(
                        *pending, residual)
                    pending = None
                else:
                    hidden, residual = layer.add_norm(hidden, residual)
                if split and not forward_hooked(layer.mixer):
                    # the normalised hidden is read only by in_proj: no
                    # reference here keeps it alive while the scans run
                    xz, project_out = layer.mixer.in_projection(hidden)
                    del hidden
                    y = layer.mixer.forward_core(xz, overwrite_x=True)
                    del xz  # (y may be its x half)
                    # fused only where a norm consumes the output, not a
                    # feature
                    if (fuse and isinstance(project_out, CachedLinear)
                            and ((i < last and i not in self.out_indices) or
                                 (i == last and i in self.out_indices
                                  and self.final_norm))):
                        pending = (project_out, y)
                        hidden = None
                    else:
                        hidden = project_out(y)
                    del y
                else:
                    hidden = layer.mixer(hidden)
            if i not in self.out_indices:
                continue
            if i == last and self.final_norm:
                if pending is not None:
                    feat, _ = self.norm_f.add_projected(*pending, residual)
                    pending = None
                else:
                    feat, _ = self.norm_f(self.drop_path(hidden), residual)
            elif self.feat_source == 'residual':
                feat = residual + hidden.float()
            else:
                feat = hidden
            outs.append(self._format_output(feat, grid))
        return tuple(outs)
