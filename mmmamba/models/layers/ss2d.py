# Copyright (c) mmmamba contributors. All rights reserved.
"""SS2D, the 2-D selective-scan mixer of VMamba.

Written from the description of ``SS2Dv2`` / ``SS2Dv0`` in
``classification/models/vmamba.py`` of MzeroMiko/VMamba (commit 2ed52ea, MIT
licence). The parameter names are the official ones, so released checkpoints
load with renames of the enclosing modules only.
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmmamba.ops import (check_backend, check_cross_scan_backend, cross_merge,
                         cross_scan, resolve_backend, selective_scan,
                         ss2d_scan)
from mmmamba.registry import MODELS
from .vmamba_layers import build_linear, build_norm

__all__ = ['SS2D', 'vmamba_init_weights']

_K = 4  # number of scan directions (cross2d)


def vmamba_init_weights(m: nn.Module) -> None:
    """The official VSSM weight init, for ``module.apply``: linear layers
    (``Linear2d`` included) get trunc-normal(std=0.02) weights and zero bias,
    LayerNorms weight 1 and bias 0; convolutions keep PyTorch's defaults."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


@MODELS.register_module()
class SS2D(BaseModule):
    """2-D selective scan (SS2D) of `VMamba: Visual State Space Model
    <https://arxiv.org/abs/2401.10166>`_.

    ``in_proj`` -> [split off gate z] -> depthwise conv -> SiLU ->
    cross scan (4 directions) -> per-direction x/dt projections ->
    :func:`mmmamba.ops.selective_scan` -> cross merge (sum of the 4
    directions) -> out norm -> [GELU] -> [* z] -> ``out_proj`` -> dropout.
    With the Triton scan backend the middle part (cross scan to cross
    merge) runs fused, without four-direction copies (``fuse_cross_scan``).

    The released variants map to these options:

    * v2 (``forward_type='v05_noz'``): ``d_state=1``, ``use_z_gate=False``,
      ``conv_bias=False``, ``out_norm='ln'``, ``force_fp32=False``.
    * vanilla v0 (``forward_type='v0'``): ``d_state=16``, ``ssm_ratio=2.0``,
      ``use_z_gate=True``, ``conv_bias=True``, ``force_fp32=True``,
      ``channel_first=False``.

    Args:
        embed_dims (int): input/output channels C.
        d_state (int): SSM state size N. Defaults to 1.
        ssm_ratio (float): inner width D = int(ssm_ratio * C). Defaults to 1.
        dt_rank (int | str): rank R of the dt projection; ``'auto'`` is
            ceil(C / 16). Defaults to 'auto'.
        d_conv (int): depthwise conv kernel size; < 2 disables the conv.
            Defaults to 3.
        conv_bias (bool): bias in the depthwise conv. Defaults to False.
        use_z_gate (bool): ``in_proj`` also produces a gate z (width 2D) and
            the output is multiplied by it. Defaults to False.
        z_act (bool): apply SiLU to z (official ``_nozact`` turns it off).
            Defaults to True.
        out_norm (str): ``'ln'`` (LayerNorm over D) or ``'none'``.
            Defaults to 'ln'.
        out_act (bool): GELU after the out norm (official ``_oact``).
            Defaults to False.
        force_fp32 (bool): cast the scan inputs to fp32 (official v0/v01-v03,
            v2 cores); only changes results under mixed precision.
            Defaults to False.
        dropout (float): dropout after ``out_proj``. Defaults to 0.
        ssm_init (str): init of A/D/dt: ``'v0'`` (Mamba: S4D-real A, D=1,
            dt bias log-uniform in [1e-3, 1e-1]), ``'v1'`` or ``'v2'``
            (the official simple inits). Defaults to 'v0'.
        channel_first (bool): (B, C, H, W) in/out if True, (B, H, W, C) if
            False. Defaults to True.
        scan_backend (str): backend of :func:`mmmamba.ops.selective_scan`.
            Defaults to 'auto'.
        cross_scan_backend (str): backend of :func:`mmmamba.ops.cross_scan`
            / ``cross_merge`` on the unfused path. Defaults to 'auto'.
        fuse_cross_scan (bool): when the scan backend resolves to
            ``'triton'``, run the core as :func:`mmmamba.ops.ss2d_scan`'s
            fused kernels (projections on the row-major map, no
            four-direction copies; ``cross_scan_backend`` is then unused).
            Other backends always take the unfused path. A plain attribute:
            tests and benchmarks flip it on one instance. Under
            ``torch.compile`` the fused scan runs as custom ops
            (``mmmamba::ss2d_scan_triton_{fwd,bwd}``), without a graph
            break. Defaults to True: on an H100 VMamba-T/S/B at 224²
            batch 128 ran 1.18-1.23x faster in bf16 inference, 1.7-2.5x
            in fp32 and 1.07-1.11x in the AMP training step with it, at
            lower peak memory (``benchmarks/session_1205i_h100/callX``).
        init_cfg (dict | list[dict], optional): mmengine init config.
            Defaults to None.

    Shapes:
        x: (B, C, H, W) if ``channel_first`` else (B, H, W, C); any H, W >= 1.
        output: same shape and layout as x.
    """

    def __init__(self,
                 embed_dims: int,
                 d_state: int = 1,
                 ssm_ratio: float = 1.0,
                 dt_rank: Union[int, str] = 'auto',
                 d_conv: int = 3,
                 conv_bias: bool = False,
                 use_z_gate: bool = False,
                 z_act: bool = True,
                 out_norm: str = 'ln',
                 out_act: bool = False,
                 force_fp32: bool = False,
                 dropout: float = 0.,
                 ssm_init: str = 'v0',
                 channel_first: bool = True,
                 scan_backend: str = 'auto',
                 cross_scan_backend: str = 'auto',
                 fuse_cross_scan: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if ssm_ratio <= 0:
            raise ValueError(f'ssm_ratio must be > 0, got {ssm_ratio}')
        if out_norm not in ('ln', 'none'):
            raise ValueError(f"out_norm must be 'ln' or 'none', got "
                             f'{out_norm!r}')
        if ssm_init not in ('v0', 'v1', 'v2'):
            raise ValueError(f"ssm_init must be 'v0', 'v1' or 'v2', got "
                             f'{ssm_init!r}')
        self.embed_dims = int(embed_dims)
        self.d_state = int(d_state)
        self.d_inner = int(ssm_ratio * embed_dims)
        if dt_rank == 'auto':
            dt_rank = math.ceil(self.embed_dims / 16)
        elif not isinstance(dt_rank, int) or dt_rank < 1:
            raise ValueError(f"dt_rank must be 'auto' or a positive int, got "
                             f'{dt_rank!r}')
        self.dt_rank = int(dt_rank)
        self.channel_first = channel_first
        self.use_z_gate = use_z_gate
        self.z_act = z_act
        self.force_fp32 = force_fp32
        self.scan_backend = check_backend(scan_backend)
        self.cross_scan_backend = check_cross_scan_backend(cross_scan_backend)
        self.fuse_cross_scan = bool(fuse_cross_scan)

        C, D, N, R = self.embed_dims, self.d_inner, self.d_state, self.dt_rank
        self.in_proj = build_linear(
            C, 2 * D if use_z_gate else D, channel_first, bias=False)
        self.act = nn.SiLU()
        if d_conv > 1:
            self.conv2d = nn.Conv2d(
                D,
                D,
                kernel_size=d_conv,
                padding=(d_conv - 1) // 2,
                groups=D,
                bias=conv_bias)
        else:
            self.conv2d = None
        # per-direction parameters of the 4 scans
        self.x_proj_weight = nn.Parameter(torch.empty(_K, R + 2 * N, D))
        self.dt_projs_weight = nn.Parameter(torch.empty(_K, D, R))
        self.dt_projs_bias = nn.Parameter(torch.empty(_K, D))
        self.A_logs = nn.Parameter(torch.empty(_K * D, N))
        self.Ds = nn.Parameter(torch.empty(_K * D))
        self.out_norm = (
            # cast to the conv output's dtype right after (forward)
            build_norm(D, channel_first, cast_output=True)
            if out_norm == 'ln' else nn.Identity())
        self.out_act = nn.GELU() if out_act else nn.Identity()
        self.out_proj = build_linear(D, C, channel_first, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.ssm_init = ssm_init
        self.reset_ssm_parameters()

    @torch.no_grad()
    def reset_ssm_parameters(self) -> None:
        """Initialise the per-direction SSM parameters as the official
        ``initialize`` option does (run at construction)."""
        D, N, R = self.d_inner, self.d_state, self.dt_rank
        # x_proj: default nn.Linear(D, R + 2N) init of each direction
        bound = 1. / math.sqrt(D)
        self.x_proj_weight.uniform_(-bound, bound)
        if self.ssm_init == 'v0':
            std = R**-0.5
            self.dt_projs_weight.uniform_(-std, std)
            dt_min, dt_max, floor = 1e-3, 1e-1, 1e-4
            dt = torch.exp(
                torch.rand(_K, D) * (math.log(dt_max) - math.log(dt_min)) +
                math.log(dt_min)).clamp(min=floor)
            # inverse of softplus
            self.dt_projs_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            A = torch.arange(1, N + 1, dtype=torch.float32)
            self.A_logs.copy_(torch.log(A).expand(_K * D, N))
            self.Ds.fill_(1.)
        elif self.ssm_init == 'v1':
            self.Ds.fill_(1.)
            self.A_logs.normal_()
            self.dt_projs_weight.normal_().mul_(0.1)
            self.dt_projs_bias.normal_().mul_(0.1)
        else:  # v2
            self.Ds.fill_(1.)
            self.A_logs.zero_()
            self.dt_projs_weight.uniform_().mul_(0.1)
            self.dt_projs_bias.uniform_().mul_(0.1)

    def init_weights(self) -> None:
        """Official init of the projections and norms (see
        :func:`vmamba_init_weights`) unless ``init_cfg`` is given."""
        if self.init_cfg is None:
            self.apply(vmamba_init_weights)
        super().init_weights()

    def _check_input(self, x: Tensor) -> None:
        c_dim = 1 if self.channel_first else 3
        if x.dim() != 4 or x.shape[c_dim] != self.embed_dims:
            layout = ('(B, C, H, W)' if self.channel_first else '(B, H, W, C)')
            raise ValueError(
                f'SS2D(embed_dims={self.embed_dims}, channel_first='
                f'{self.channel_first}) expects a {layout} tensor with '
                f'C={self.embed_dims}, got shape {tuple(x.shape)}')

    def _resolved_scan_backend(self, x: Tensor) -> str:
        """The selective-scan backend that runs for ``x`` (``'auto'`` and
        ``MMMAMBA_SCAN_BACKEND`` resolved as the scan op resolves them)."""
        grad = torch.is_grad_enabled() and (x.requires_grad or any(
            p.requires_grad for p in (self.x_proj_weight, self.A_logs)))
        return resolve_backend(self.scan_backend, x.device, self.d_state,
                               grad)

    def _scan_params(self) -> Tuple[Tensor, Tensor, Tensor]:
        """A (K*D, N), D (K*D,) and the dt bias (K*D,), all fp32."""
        return (-torch.exp(self.A_logs.float()), self.Ds.float(),
                self.dt_projs_bias.reshape(-1).float())

    def forward_core(self, x: Tensor) -> Tensor:
        """The four-direction selective scan.

        Fused (:meth:`forward_core_fused`) when ``fuse_cross_scan`` is set
        and the scan backend resolves to ``'triton'``, else the unfused
        cross scan -> scan -> cross merge (:meth:`forward_core_unfused`);
        both compute the same function. Under ``torch.jit`` tracing (FLOP
        counting, :func:`mmmamba.utils.flops.count_flops`) the unfused
        core runs, whose scan calls the counter knows.

        Args:
            x (Tensor): (B, D, H, W), the activated conv output.

        Returns:
            Tensor: (B, D, H*W), the sum over the 4 directions, dtype of the
            scan output (that of ``x``, or fp32 with ``force_fp32``).
        """
        if self.fuse_cross_scan and not torch.jit.is_tracing() and \
                self._resolved_scan_backend(x) == 'triton':
            return self.forward_core_fused(x)
        return self.forward_core_unfused(x)

    def forward_core_fused(self, x: Tensor) -> Tensor:
        """:meth:`forward_core` without cross-scan copies: the x and dt
        projections are position-wise, so they run on the row-major map
        ``x`` (B, D, L) and give (B, K, *, L) row-major tensors; the fused
        Triton scan (:func:`mmmamba.ops.ss2d_scan`) walks each direction by
        index arithmetic and sums the four outputs in place.

        The projections are 1x1 convolutions as on the unfused path (same
        kernels, so the same TF32 and autocast behaviour)."""
        B, D, H, W = x.shape
        L, N, R = H * W, self.d_state, self.dt_rank
        # x_dbl[b, k] = x_proj_weight[k] @ x[b]: (B, K*(R+2N), L)
        x_dbl = F.conv1d(
            x.reshape(B, D, L), self.x_proj_weight.reshape(-1, D, 1))
        dts, Bs, Cs = torch.split(
            x_dbl.view(B, _K, R + 2 * N, L), [R, N, N], dim=2)
        # delta[b, k] = dt_projs_weight[k] @ dts[b, k]: (B, K, D, L)
        delta = F.conv1d(
            dts.reshape(B, _K * R, L),
            self.dt_projs_weight.reshape(_K * D, R, 1),
            groups=_K).view(B, _K, D, L)
        Bs, Cs = Bs.contiguous(), Cs.contiguous()  # (B, K, N, L)
        if self.force_fp32:
            x, delta, Bs, Cs = x.float(), delta.float(), Bs.float(), Cs.float()
        A, Ds, bias = self._scan_params()
        return ss2d_scan(
            x,
            delta,
            A,
            Bs,
            Cs,
            D=Ds,
            delta_bias=bias,
            delta_softplus=True,
            backend='triton')

    def forward_core_unfused(self, x: Tensor) -> Tensor:
        """:meth:`forward_core` as the official code computes it: cross
        scan to (B, K, D, L) copies, per-direction projections on them, one
        selective scan over (B, K*D, L), cross merge."""
        B, D, H, W = x.shape
        L, N, R = H * W, self.d_state, self.dt_rank
        xs = cross_scan(x, backend=self.cross_scan_backend)  # (B, K, D, L)
        us = xs.reshape(B, _K * D, L)
        # per-direction x projection == 4 linears: grouped 1-D conv
        x_dbl = F.conv1d(us, self.x_proj_weight.reshape(-1, D, 1), groups=_K)
        dts, Bs, Cs = torch.split(
            x_dbl.view(B, _K, R + 2 * N, L), [R, N, N], dim=2)
        dts = F.conv1d(
            dts.reshape(B, _K * R, L),
            self.dt_projs_weight.reshape(_K * D, R, 1),
            groups=_K)  # (B, K*D, L)
        Bs, Cs = Bs.contiguous(), Cs.contiguous()  # (B, K, N, L)
        if self.force_fp32:
            us, dts, Bs, Cs = us.float(), dts.float(), Bs.float(), Cs.float()
        A, Ds, bias = self._scan_params()
        ys = selective_scan(
            us,
            dts,
            A,
            Bs,
            Cs,
            D=Ds,
            delta_bias=bias,
            delta_softplus=True,
            backend=self.scan_backend)
        return cross_merge(
            ys.view(B, _K, D, L), H, W, backend=self.cross_scan_backend)

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): (B, C, H, W) if ``channel_first`` else (B, H, W, C).

        Returns:
            Tensor: same shape and layout as ``x``.
        """
        self._check_input(x)
        x = self.in_proj(x)
        z = None
        if self.use_z_gate:
            x, z = x.chunk(2, dim=1 if self.channel_first else -1)
            if self.z_act:
                z = self.act(z)
        if not self.channel_first:
            x = x.permute(0, 3, 1, 2).contiguous()
        if self.conv2d is not None:
            x = self.conv2d(x)
        x = self.act(x)  # (B, D, H, W)
        B, D, H, W = x.shape
        y = self.forward_core(x).view(B, D, H, W)
        if not self.channel_first:
            y = y.permute(0, 2, 3, 1)
        y = self.out_norm(y).to(x.dtype)
        y = self.out_act(y)
        if z is not None:
            y = y * z
        return self.dropout(self.out_proj(y))

    def extra_repr(self) -> str:
        return (f'embed_dims={self.embed_dims}, d_inner={self.d_inner}, '
                f'd_state={self.d_state}, dt_rank={self.dt_rank}, '
                f'use_z_gate={self.use_z_gate}, channel_first='
                f'{self.channel_first}, scan_backend={self.scan_backend!r}, '
                f'fuse_cross_scan={self.fuse_cross_scan}')
