# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of SS2D, VMamba's four-direction selective-scan mixer."""
import contextlib
import math

import pytest
import torch
import torch.nn.functional as F

from mmmamba.models.layers import SS2D
from mmmamba.registry import MODELS
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter)


def _randomize(module, seed=0, scale=0.2):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def _naive_ss2d(m: SS2D, x: torch.Tensor) -> torch.Tensor:
    """Loop-by-loop float64 SS2D (channel-first input), written from the
    spec without the ops under test: explicit pixel orders per direction,
    explicit per-step recurrence, explicit scatter back and sum."""
    p = {k: v.detach().double() for k, v in m.state_dict().items()}
    x = x.double()
    B, C, H, W = x.shape
    D, N, R = m.d_inner, m.d_state, m.dt_rank
    xz = torch.einsum('oc,bchw->bohw', p['in_proj.weight'], x)
    if m.use_z_gate:
        x_in, z = xz[:, :D], xz[:, D:]
        z = F.silu(z) if m.z_act else z
    else:
        x_in, z = xz, None
    if m.conv2d is not None:
        x_in = F.conv2d(
            x_in,
            p['conv2d.weight'],
            p.get('conv2d.bias'),
            padding=(m.conv2d.kernel_size[0] - 1) // 2,
            groups=D)
    x_in = F.silu(x_in)
    # pixel visited at step t of each direction
    row = [(h, w) for h in range(H) for w in range(W)]
    col = [(h, w) for w in range(W) for h in range(H)]
    orders = [row, col, row[::-1], col[::-1]]
    A = -torch.exp(p['A_logs']).view(4, D, N)
    y = torch.zeros(B, D, H, W, dtype=torch.float64)
    for k, order in enumerate(orders):
        h_state = torch.zeros(B, D, N, dtype=torch.float64)
        for (hh, ww) in order:
            u = x_in[:, :, hh, ww]  # (B, D)
            dbl = u @ p['x_proj_weight'][k].T  # (B, R+2N)
            dt, Bt, Ct = dbl[:, :R], dbl[:, R:R + N], dbl[:, R + N:]
            delta = F.softplus(dt @ p['dt_projs_weight'][k].T +
                               p['dt_projs_bias'][k])  # (B, D)
            h_state = (
                torch.exp(delta[..., None] * A[k]) * h_state +
                delta[..., None] * Bt[:, None, :] * u[..., None])
            out = (h_state * Ct[:, None, :]).sum(-1) + \
                p['Ds'].view(4, D)[k] * u
            y[:, :, hh, ww] += out
    if 'out_norm.weight' in p:
        y = F.layer_norm(
            y.permute(0, 2, 3, 1), (D, ), p['out_norm.weight'],
            p['out_norm.bias']).permute(0, 3, 1, 2)
    if z is not None:
        y = y * z
    return torch.einsum('cd,bdhw->bchw', p['out_proj.weight'], y)


VARIANTS = [
    dict(),  # v2 release: d_state 1, no z, no conv bias
    dict(d_state=3, ssm_ratio=2.0, use_z_gate=True, conv_bias=True),  # v0
    dict(d_state=2, out_norm='none', d_conv=1, dt_rank=3),
    dict(d_state=2, use_z_gate=True, z_act=False, d_conv=5),
]


@pytest.mark.parametrize('cfg', VARIANTS)
@pytest.mark.parametrize('H,W', [(3, 5), (4, 1)])
def test_ss2d_matches_naive_loop(cfg, H, W):
    torch.manual_seed(0)
    m = SS2D(8, **cfg).eval()
    m.init_weights()
    _randomize(m)
    x = torch.randn(2, 8, H, W)
    with torch.no_grad():
        out = m(x)
    assert out.shape == x.shape
    torch.testing.assert_close(
        out.double(), _naive_ss2d(m, x), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize('cfg', VARIANTS[:2])
def test_channel_last_equals_channel_first(cfg):
    torch.manual_seed(0)
    cf = SS2D(8, channel_first=True, **cfg)
    _randomize(cf)
    cl = SS2D(8, channel_first=False, **cfg)
    cl.load_state_dict(cf.state_dict(), strict=True)
    x = torch.randn(2, 8, 5, 3)
    torch.testing.assert_close(
        cl(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2),
        cf(x),
        atol=1e-6,
        rtol=1e-5)


def test_parameter_shapes_follow_official_names():
    # VMamba-T stage 0 (spec B.7): C 96, ratio 1 -> D 96, R 6, N 1
    with torch.device('meta'):
        m = SS2D(96, d_state=1, ssm_ratio=1.0)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes == {
        'x_proj_weight': (4, 8, 96),
        'dt_projs_weight': (4, 96, 6),
        'dt_projs_bias': (4, 96),
        'A_logs': (384, 1),
        'Ds': (384, ),
        'in_proj.weight': (96, 96),
        'conv2d.weight': (96, 1, 3, 3),
        'out_norm.weight': (96, ),
        'out_norm.bias': (96, ),
        'out_proj.weight': (96, 96),
    }
    with torch.device('meta'):
        v0 = SS2D(
            96, d_state=16, ssm_ratio=2.0, use_z_gate=True, conv_bias=True)
    assert v0.in_proj.weight.shape == (384, 96)
    assert v0.conv2d.bias.shape == (192, )
    assert v0.x_proj_weight.shape == (4, 6 + 32, 192)


def test_ssm_init_v0():
    torch.manual_seed(0)
    m = SS2D(32, d_state=4, ssm_ratio=2.0)
    A = torch.arange(1, 5, dtype=torch.float32).log().expand(256, 4)
    torch.testing.assert_close(m.A_logs.data, A)
    assert torch.all(m.Ds == 1)
    dt = F.softplus(m.dt_projs_bias.data)  # in [1e-3, 1e-1]
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
    bound = m.dt_rank**-0.5
    assert m.dt_projs_weight.abs().max() <= bound
    assert m.x_proj_weight.abs().max() <= 1 / math.sqrt(64)


def test_backward_reaches_every_parameter():
    torch.manual_seed(0)
    m = MODELS.build(
        dict(
            type='mmmamba.SS2D',
            embed_dims=8,
            d_state=2,
            use_z_gate=True,
            conv_bias=True))
    x = torch.randn(2, 8, 3, 4, requires_grad=True)
    m(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_errors():
    with pytest.raises(ValueError, match='C=8'):
        SS2D(8)(torch.randn(1, 5, 8, 8))
    with pytest.raises(ValueError, match=r'\(B, H, W, C\)'):
        SS2D(8, channel_first=False)(torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match='out_norm'):
        SS2D(8, out_norm='softmax')
    with pytest.raises(ValueError, match='ssm_ratio'):
        SS2D(8, ssm_ratio=0)
    with pytest.raises(ValueError, match='unknown selective-scan backend'):
        SS2D(8, scan_backend='cuda_fast')
    with pytest.raises(ValueError, match='unknown cross-scan backend'):
        SS2D(8, cross_scan_backend='cuda_fast')


# ------------------------------------------- fused core (Triton scan)

FUSED_VARIANTS = [
    pytest.param(dict(), 'float32', (1, 8, 5, 3), id='v2-N1'),
    pytest.param(
        dict(d_state=16, ssm_ratio=2.0, use_z_gate=True, conv_bias=True,
             force_fp32=True, channel_first=False),
        'float32', (1, 3, 4, 8), id='v0-N16-channel-last-fp32core'),
    pytest.param(dict(), 'bfloat16', (1, 8, 4, 1), id='v2-N1-bf16-W1'),
]


def _spy_fused(monkeypatch, m):
    """Count the calls of ``m.forward_core_fused``."""
    calls = []
    fused = m.forward_core_fused

    def spy(x):
        calls.append(tuple(x.shape))
        return fused(x)

    monkeypatch.setattr(m, 'forward_core_fused', spy)
    return calls


@requires_triton_interpreter
@pytest.mark.parametrize('cfg,dtype,shape', FUSED_VARIANTS)
def test_fused_core_matches_unfused(monkeypatch, cfg, dtype, shape):
    """One instance on the Triton scan backend, ``fuse_cross_scan`` flipped:
    the fused core (no cross-scan copies) and the unfused one give the same
    output, input gradient and parameter gradients."""
    dtype = getattr(torch, dtype)
    torch.manual_seed(0)
    m = SS2D(8, scan_backend='triton', **cfg)
    _randomize(m)
    m = m.to(dtype)
    calls = _spy_fused(monkeypatch, m)
    x = torch.randn(*shape).to(dtype)
    tol = (dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else
           dict(rtol=3e-2, atol=3e-2))
    _assert_fused_matches_unfused(m, x, tol)
    assert len(calls) == 1  # the fused core ran once, for fused=True only


def _assert_fused_matches_unfused(m, x, tol, autocast=None):
    """Run ``m`` fused and unfused on ``x`` (same weights, same output
    gradient) and compare output, dx and every parameter gradient; atol is
    relative to each reference tensor's max."""
    grad = None
    results = {}
    for fused in (True, False):
        m.fuse_cross_scan = fused
        m.zero_grad()
        xi = x.clone().requires_grad_(True)
        ctx = (contextlib.nullcontext() if autocast is None else
               torch.autocast(x.device.type, dtype=autocast))
        with ctx:
            out = m(xi)
        grad = torch.randn_like(out) if grad is None else grad
        out.backward(grad)
        results[fused] = (out, xi.grad,
                          {k: p.grad.clone()
                           for k, p in m.named_parameters()})
    (out_f, gx_f, gp_f), (out_u, gx_u, gp_u) = results[True], results[False]

    def close(a, b, name):
        scale = max(1.0, b.abs().max().item())
        torch.testing.assert_close(
            a.float(), b.float(), rtol=tol['rtol'],
            atol=tol['atol'] * scale, msg=lambda msg: f'{name}: {msg}')

    close(out_f, out_u, 'out')
    close(gx_f, gx_u, 'dx')
    for k in gp_u:
        close(gp_f[k], gp_u[k], f'd{k}')


def test_fused_core_only_for_the_triton_backend(monkeypatch):
    """On CPU 'auto' resolves to the reference scan: the unfused path runs,
    whatever ``fuse_cross_scan`` says."""
    monkeypatch.delenv('MMMAMBA_SCAN_BACKEND', raising=False)
    assert not SS2D(8, fuse_cross_scan=False).fuse_cross_scan
    m = SS2D(8)  # fused by default
    assert m.fuse_cross_scan
    calls = _spy_fused(monkeypatch, m)
    m(torch.randn(1, 8, 3, 2)).sum().backward()
    assert calls == []
    assert 'fuse_cross_scan=True' in repr(m)


@requires_triton_interpreter
def test_flop_count_traces_the_unfused_core(monkeypatch):
    """Under torch.jit tracing the fused default runs the unfused core,
    whose scans the FLOP counter counts: the same totals as the unfused
    instance, scans included; the fused kernels are not traced."""
    from mmmamba.utils.flops import count_flops
    torch.manual_seed(0)
    m = SS2D(8, scan_backend='triton').eval()
    calls = _spy_fused(monkeypatch, m)
    x = torch.randn(1, 8, 4, 3)
    fused = count_flops(m, (x, ))
    m.fuse_cross_scan = False
    unfused = count_flops(m, (x, ))
    assert calls == []
    assert fused.scan > 0 and fused.scan == unfused.scan
    assert fused.total == unfused.total
    m.fuse_cross_scan = True
    with torch.no_grad():
        m(x)
    assert len(calls) == 1  # outside tracing the fused core runs


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('amp', [False, True])
@pytest.mark.parametrize('C,H,batch', [(96, 56, 8), (768, 7, 16)])
def test_gpu_fused_core_matches_unfused(monkeypatch, C, H, batch, amp):
    """VMamba-T stage 1 and stage 4 SS2D on CUDA, fp32 (TF32 off) and bf16
    autocast: the fused path against the unfused one with the same Triton
    scan."""
    monkeypatch.setattr(torch.backends.cuda.matmul, 'allow_tf32', False)
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    torch.manual_seed(0)
    m = SS2D(C, scan_backend='triton').cuda()
    m.init_weights()
    calls = _spy_fused(monkeypatch, m)
    x = torch.randn(batch, C, H, H, device='cuda')
    # bf16: the tolerance of the backbone's bf16-vs-fp32 GPU test
    if amp:
        tol = dict(rtol=5e-2, atol=5e-2)
    else:
        tol = dict(rtol=6e-4, atol=2e-4)
    _assert_fused_matches_unfused(
        m, x, tol, autocast=torch.bfloat16 if amp else None)
    assert len(calls) == 1
