# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of the bidirectional Vim mixer and the Vim norm layers."""
import math

import pytest
import torch
import torch.nn.functional as F

import mmmamba.models.layers.bimamba as bimamba_module
from mmmamba.models.layers import AddRMSNorm, BiMamba, RMSNorm
from mmmamba.testing import requires_triton_interpreter
from mmmamba.registry import MODELS

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='requires CUDA')

BRANCH_PAIRS = (('conv1d', 'conv1d_b'), ('x_proj', 'x_proj_b'),
                ('dt_proj', 'dt_proj_b'), ('A_log', 'A_b_log'), ('D', 'D_b'))


def _perturbed_mixer(seed: int = 0, **kwargs) -> BiMamba:
    """A tiny mixer whose two directions have different parameters."""
    torch.manual_seed(seed)
    cfg = dict(embed_dims=8, d_state=4, d_conv=3, expand=2)
    cfg.update(kwargs)
    mixer = BiMamba(**cfg)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in mixer.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return mixer


def _loop_branch(xz, conv_w, conv_b, xproj_w, dtproj_w, dt_bias, A_log, D,
                 dt_rank, d_state):
    """Spec A.4 for one direction, step by step in float64 (independent of
    mmmamba.ops)."""
    batch, two_e, length = xz.shape
    e = two_e // 2
    x, z = xz[:, :e], xz[:, e:]
    k = conv_w.shape[-1]
    xc = torch.zeros_like(x)
    for t in range(length):  # causal depthwise conv, left zero padding
        acc = conv_b[None, :].clone()
        for j in range(k):
            src = t - (k - 1) + j
            if src >= 0:
                acc = acc + conv_w[:, 0, j][None] * x[:, :, src]
        xc[:, :, t] = acc
    x = F.silu(xc)
    A = -torch.exp(A_log)
    h = torch.zeros(batch, e, d_state, dtype=xz.dtype)
    ys = []
    for t in range(length):
        x_dbl = x[:, :, t] @ xproj_w.t()  # (B, R + 2N)
        dt = x_dbl[:, :dt_rank] @ dtproj_w.t() + dt_bias  # (B, E)
        dt = F.softplus(dt)
        b_t = x_dbl[:, dt_rank:dt_rank + d_state]
        c_t = x_dbl[:, dt_rank + d_state:]
        h = torch.exp(dt[..., None] * A) * h + \
            dt[..., None] * b_t[:, None, :] * x[:, :, t, None]
        y = (h * c_t[:, None, :]).sum(-1) + D * x[:, :, t]
        ys.append(y * F.silu(z[:, :, t]))
    return torch.stack(ys, dim=-1)


def _loop_bimamba(mixer: BiMamba, x: torch.Tensor) -> torch.Tensor:
    p = {k: v.detach().double() for k, v in mixer.state_dict().items()}
    xz = (x.double() @ p['in_proj.weight'].t()).transpose(1, 2)
    args = (mixer.dt_rank, mixer.d_state)
    y_f = _loop_branch(xz, p['conv1d.weight'], p['conv1d.bias'],
                       p['x_proj.weight'], p['dt_proj.weight'],
                       p['dt_proj.bias'], p['A_log'], p['D'], *args)
    y_b = _loop_branch(
        xz.flip(-1), p['conv1d_b.weight'], p['conv1d_b.bias'],
        p['x_proj_b.weight'], p['dt_proj_b.weight'], p['dt_proj_b.bias'],
        p['A_b_log'], p['D_b'], *args)
    y = (y_f + y_b.flip(-1)).transpose(1, 2) / 2
    return y @ p['out_proj.weight'].t()


def test_official_parameter_set_and_shapes():
    # Vim-Ti sizes, A.9: D=192, E=384, N=16, R=12, d_conv=4.
    mixer = BiMamba(192)
    shapes = {k: tuple(v.shape) for k, v in mixer.state_dict().items()}
    assert shapes == {
        'A_log': (384, 16),
        'D': (384, ),
        'A_b_log': (384, 16),
        'D_b': (384, ),
        'in_proj.weight': (768, 192),
        'conv1d.weight': (384, 1, 4),
        'conv1d.bias': (384, ),
        'x_proj.weight': (44, 384),
        'dt_proj.weight': (384, 12),
        'dt_proj.bias': (384, ),
        'conv1d_b.weight': (384, 1, 4),
        'conv1d_b.bias': (384, ),
        'x_proj_b.weight': (44, 384),
        'dt_proj_b.weight': (384, 12),
        'dt_proj_b.bias': (384, ),
        'out_proj.weight': (192, 384),
    }
    assert list(shapes)[:4] == ['A_log', 'D', 'A_b_log', 'D_b']


def test_registered_and_dt_rank_auto():
    mixer = MODELS.build(dict(type='BiMamba', embed_dims=40))
    assert isinstance(mixer, BiMamba)
    assert mixer.dt_rank == 3  # ceil(40 / 16)
    assert mixer.d_inner == 80


def test_construction_init_matches_spec():
    torch.manual_seed(0)
    mixer = BiMamba(32, d_state=8, dt_min=0.001, dt_max=0.1)
    expected_a = torch.log(torch.arange(1, 9, dtype=torch.float32))
    for name in ('A_log', 'A_b_log'):
        torch.testing.assert_close(
            getattr(mixer, name), expected_a.expand(64, 8), rtol=0, atol=0)
    for name in ('D', 'D_b'):
        assert torch.equal(getattr(mixer, name), torch.ones(64))
    for dt_proj in (mixer.dt_proj, mixer.dt_proj_b):
        dt = F.softplus(dt_proj.bias.detach())
        assert dt.min() >= 1e-3 * (1 - 1e-4) and dt.max() <= 0.1 * (1 + 1e-4)
        bound = mixer.dt_rank**-0.5
        assert dt_proj.weight.abs().max() <= bound
        assert getattr(dt_proj.bias, '_no_reinit', False)
    # the two directions get independent random deltas
    assert not torch.equal(mixer.dt_proj.bias, mixer.dt_proj_b.bias)


def test_matches_stepwise_spec_float64_loop():
    mixer = _perturbed_mixer(seed=3).double()
    x = torch.randn(2, 7, 8, dtype=torch.float64)
    out = mixer(x)
    torch.testing.assert_close(
        out, _loop_bimamba(mixer, x), rtol=1e-9, atol=1e-10)


def test_not_causal_in_either_direction():
    """A single (forward) scan direction is causal: output t ignores inputs
    after t, bit for bit. The bidirectional mixer sees both ways."""
    mixer = _perturbed_mixer(seed=1).eval()
    x = torch.randn(1, 6, 8)
    x_last = x.clone()
    x_last[:, -1] += 3.0
    x_first = x.clone()
    x_first[:, 0] += 3.0
    with torch.no_grad():
        out = mixer(x)
        # the forward branch alone is exactly causal ...
        xz, xz_last = (mixer.in_proj(t).transpose(1, 2) for t in (x, x_last))
        args = (mixer.conv1d, mixer.x_proj, mixer.dt_proj, mixer.A_log,
                mixer.D)
        assert torch.equal(
            mixer._branch(xz, *args)[..., :-1],
            mixer._branch(xz_last, *args)[..., :-1])
        # ... but the first output of the mixer depends on the last input
        # (backward branch) and the last output on the first input
        assert (mixer(x_last)[:, 0] - out[:, 0]).abs().max() > 1e-5
        assert (mixer(x_first)[:, -1] - out[:, -1]).abs().max() > 1e-5


def test_flip_equivariance_with_swapped_directions():
    """Flipping the sequence is the same as swapping the two directions'
    parameters: mixer(flip(x)) == flip(mixer_swapped(x)). A mixer with one
    direction (or a shared one) would not satisfy this with distinct
    branch parameters."""
    mixer = _perturbed_mixer(seed=2).double()
    swapped = _perturbed_mixer(seed=2).double()
    sd = mixer.state_dict()
    new_sd = dict(sd)
    for fwd, bwd in BRANCH_PAIRS:
        for key in sd:
            if key == fwd or key.startswith(fwd + '.'):
                other = bwd + key[len(fwd):]
                new_sd[key], new_sd[other] = sd[other], sd[key]
    swapped.load_state_dict(new_sd)
    x = torch.randn(2, 9, 8, dtype=torch.float64)
    with torch.no_grad():
        lhs = mixer(x.flip(1))
        rhs = swapped(x).flip(1)
        torch.testing.assert_close(lhs, rhs, rtol=1e-10, atol=1e-12)
        # and it is not trivially flip-equivariant without the swap
        assert (mixer(x.flip(1)) - mixer(x).flip(1)).abs().max() > 1e-3


def test_backward_branch_gets_gradients():
    mixer = _perturbed_mixer(seed=4)
    x = torch.randn(2, 6, 8, requires_grad=True)
    mixer(x).square().mean().backward()
    for name, p in mixer.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    for name in ('A_b_log', 'D_b', 'conv1d_b.weight', 'x_proj_b.weight',
                 'dt_proj_b.weight', 'dt_proj_b.bias'):
        assert dict(mixer.named_parameters())[name].grad.abs().max() > 0


def test_divide_output_halves():
    mixer = _perturbed_mixer(seed=5).eval()
    undivided = _perturbed_mixer(seed=5, divide_output=False).eval()
    x = torch.randn(1, 5, 8)
    with torch.no_grad():
        # out_proj is linear without bias, so dividing y by 2 halves it
        torch.testing.assert_close(undivided(x), 2 * mixer(x))


def test_bad_input_and_arguments():
    mixer = BiMamba(8, d_state=4)
    with pytest.raises(ValueError, match=r'\(B, L, 8\)'):
        mixer(torch.randn(1, 5, 7))
    with pytest.raises(ValueError, match='dt_rank'):
        BiMamba(8, dt_rank=0)
    with pytest.raises(ValueError, match='d_state'):
        BiMamba(8, d_state=0)
    with pytest.raises(ValueError, match='unknown selective-scan backend'):
        BiMamba(8, scan_backend='cuda_magic')


def test_rms_norm_formula_and_dtype():
    norm = RMSNorm(6, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.arange(1., 7.))
    x = torch.randn(3, 4, 6)
    expected = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * \
        torch.arange(1., 7.)
    torch.testing.assert_close(norm(x), expected)
    assert norm(x.to(torch.bfloat16)).dtype == torch.bfloat16
    assert 'bias' not in dict(norm.named_parameters())


def test_add_rms_norm_keeps_fp32_residual():
    norm = AddRMSNorm(6)
    x = torch.randn(2, 3, 6).to(torch.bfloat16)
    out, residual = norm(x, None)
    assert residual.dtype == torch.float32 and out.dtype == torch.bfloat16
    torch.testing.assert_close(residual, x.float(), rtol=0, atol=0)
    prev = torch.randn(2, 3, 6)
    out2, residual2 = norm(x, prev)
    torch.testing.assert_close(residual2, prev + x.float(), rtol=0, atol=0)
    torch.testing.assert_close(
        out2.float(), norm.forward(residual2, None)[0], atol=1e-2, rtol=1e-2)


def test_add_projected_equals_forward_of_the_linear_output():
    """``AddRMSNorm.add_projected(linear, y, residual)`` is ``forward``
    of ``linear(y)`` (reference backend on CPU, fp32: the same ops), and
    refuses a norm without the fp32 residual stream."""
    norm = AddRMSNorm(6)
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 1.5, 6))
    linear = torch.nn.Linear(4, 6)
    y, residual = torch.randn(2, 3, 4), torch.randn(2, 3, 6)
    with torch.no_grad():
        got = norm.add_projected(linear, y, residual)
        want = norm(linear(y), residual)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    with pytest.raises(ValueError, match='residual_in_fp32=True'):
        AddRMSNorm(6, residual_in_fp32=False).add_projected(
            linear, y, residual)


@requires_triton_interpreter
def test_triton_reverse_path_matches_flip_path():
    """On the Triton backend the backward branch runs unflipped
    (anti-causal conv + reversed scan); it must equal the flip path that
    the other backends take: outputs and every parameter gradient (Triton
    kernels in the CPU interpreter)."""
    mixer = _perturbed_mixer(seed=7, d_conv=4)
    x = torch.randn(2, 13, 8, requires_grad=True)
    results = []
    for backend in ('triton', 'reference'):
        mixer.scan_backend = backend
        mixer.zero_grad()
        x.grad = None
        out = mixer(x)
        out.square().sum().backward()
        results.append((out.detach(), x.grad.clone(), {
            n: p.grad.clone()
            for n, p in mixer.named_parameters()
        }))
    (out_t, gx_t, g_t), (out_r, gx_r, g_r) = results
    torch.testing.assert_close(out_t, out_r, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gx_t, gx_r, rtol=1e-4, atol=1e-5)
    for n in g_r:
        torch.testing.assert_close(
            g_t[n], g_r[n], rtol=1e-4, atol=1e-5, msg=lambda m: n + m)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('backend', ['triton', 'mamba_ssm'])
def test_backend_flip_matches_reference_cuda(backend):
    from mmmamba.ops import available_backends
    if backend not in available_backends():
        pytest.skip(f'{backend} backend not available')
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    mixer = _perturbed_mixer(seed=6, embed_dims=64, d_state=16).cuda()
    x = torch.randn(2, 197, 64, device='cuda', requires_grad=True)
    mixer.scan_backend = backend
    out = mixer(x)
    out.square().mean().backward()
    grads = {n: p.grad.clone() for n, p in mixer.named_parameters()}
    mixer.zero_grad()
    mixer.scan_backend = 'reference'
    out_ref = mixer(x)
    out_ref.square().mean().backward()
    torch.testing.assert_close(out, out_ref, rtol=1e-3, atol=1e-3)
    for n, p in mixer.named_parameters():
        torch.testing.assert_close(
            grads[n], p.grad, rtol=5e-3, atol=5e-3, msg=lambda m: n + m)
    assert math.isfinite(out.float().sum().item())


@requires_triton_interpreter
@pytest.mark.parametrize('divide_output', [True, False])
def test_fused_mixer_matches_unfused(divide_output):
    """fuse_mixer=True (bidirectional conv kernel, channel-last scans, sum in
    the scan epilogue; Triton in its interpreter) against the unfused path
    on the reference scan and the float64 step loop: output and every
    gradient."""
    fused = _perturbed_mixer(seed=3, divide_output=divide_output,
                             scan_backend='triton', fuse_mixer=True)
    plain = _perturbed_mixer(seed=3, divide_output=divide_output,
                             scan_backend='reference', fuse_mixer=False)
    x = torch.randn(2, 11, 8)
    xs = [x.clone().requires_grad_(True) for _ in range(2)]
    outs = [m(v) for m, v in zip((fused, plain), xs)]
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-4, atol=1e-5)
    if divide_output:
        torch.testing.assert_close(
            outs[0].double(), _loop_bimamba(plain, x), rtol=1e-4, atol=1e-5)
    g = torch.randn_like(outs[0])
    for o in outs:
        o.backward(g)
    torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(fused.named_parameters(),
                              plain.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5,
                                   msg=n)


def _spy(monkeypatch, names) -> list:
    """Record the calls of the bimamba module's functions ``names``."""
    import mmmamba.models.layers.bimamba as bm
    calls = []
    for name in names:
        fn = getattr(bm, name)
        monkeypatch.setattr(
            bm, name, lambda *a, _f=fn, _n=name, **k: calls.append(_n) or
            _f(*a, **k))
    return calls


LAUNCHERS = ['conv1d_silu_proj_launcher', 'selective_scan_into_launcher']


@requires_triton_interpreter
def test_fused_mixer_runs_the_fused_ops(monkeypatch):
    """The fused path calls the bidirectional conv and scan ops once each
    and its output is (B, L, E) contiguous for out_proj (no copy)."""
    calls = _spy(monkeypatch, ['bidir_conv1d_silu', 'bidir_selective_scan'])
    m = _perturbed_mixer(scan_backend='triton', fuse_mixer=True)
    xz = torch.randn(2, 7, 2 * m.d_inner)
    y = m.forward_core(xz)
    assert calls == ['bidir_conv1d_silu', 'bidir_selective_scan']
    assert y.shape == (2, 7, m.d_inner) and y.is_contiguous()
    m.fuse_mixer = False
    calls.clear()
    m.forward_core(xz)
    assert calls == []


@requires_triton_interpreter
@pytest.mark.parametrize('divide_output', [True, False])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_fused_inference_path_equals_training_path(monkeypatch,
                                                   divide_output, dtype):
    """Without a gradient to compute, the fused core runs the directions
    one after the other (conv + projections in one op, scan into one
    output) and gives the training path's output to rounding (the
    projections sum in another order), in fp32 and under bf16 autocast;
    with a gradient it keeps the two-direction ops. Eagerly it makes the
    ops' launchers on the first call and reuses them after (the ops'
    output bit for bit)."""
    calls = _spy(monkeypatch, ['bidir_conv1d_silu', 'bidir_selective_scan',
                               'conv1d_silu_proj', 'selective_scan_into']
                 + LAUNCHERS)
    m = _perturbed_mixer(seed=4, divide_output=divide_output,
                         scan_backend='triton', fuse_mixer=True)
    x = torch.randn(2, 9, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16,
                        enabled=dtype == torch.bfloat16):
        train = m(x)
        assert calls == ['bidir_conv1d_silu', 'bidir_selective_scan']
        calls.clear()
        with torch.inference_mode():
            infer = m(x)
        assert calls == LAUNCHERS * 2
        calls.clear()
        with torch.no_grad():
            assert torch.equal(m(x), infer)
            assert calls == []  # the launchers made on the first call
            xz = torch.randn(3, 5, 2 * m.d_inner).to(dtype)
            launched = m.forward_core(xz)
            assert calls == LAUNCHERS * 2  # another layout: new launchers
            calls.clear()
            assert torch.equal(m._forward_core_ops(xz), launched)
            assert calls == ['conv1d_silu_proj', 'selective_scan_into'] * 2
    assert infer.dtype == train.dtype == dtype
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(infer, train.detach(), rtol=tol,
                               atol=tol * train.abs().max().item())


@requires_triton_interpreter
def test_inference_launchers_follow_the_parameters(monkeypatch):
    """The launchers are made anew after any parameter of either direction
    changes (D and dt_proj's bias included) and give the ops' output of
    the moment; where the scan's launcher does not take the inputs (an
    fp64 D, which the op converts per call) the ops run, and are not
    asked again for that layout; at most MAX_LAUNCH_LAYOUTS layouts are
    kept."""
    import mmmamba.models.layers.bimamba as bm
    calls = _spy(monkeypatch, LAUNCHERS)
    m = _perturbed_mixer(seed=9, scan_backend='triton', fuse_mixer=True)
    xz = torch.randn(2, 7, 2 * m.d_inner)
    with torch.no_grad():
        first = m.forward_core(xz)
        for change in (lambda: m.D_b.mul_(0.5),
                       lambda: m.dt_proj.bias.add_(0.1),
                       lambda: m.conv1d_b.weight.mul_(-1.0)):
            calls.clear()
            change()
            got = m.forward_core(xz)
            assert calls == LAUNCHERS * 2
            assert torch.equal(got, m._forward_core_ops(xz))
            assert not torch.equal(got, first)
        m.D.data = m.D.data.double()
        calls.clear()
        got = m.forward_core(xz)
        assert calls == LAUNCHERS  # the scan's launcher said no
        assert torch.equal(got, m._forward_core_ops(xz))
        calls.clear()
        assert torch.equal(m.forward_core(xz), got) and calls == []
        state = m._inference_state(xz.dtype)
        assert list(state.launchers.values()) == [False]
        m.D.data = m.D.data.float()
        for n in range(1, bm.MAX_LAUNCH_LAYOUTS + 3):
            m.forward_core(torch.randn(1, n, 2 * m.d_inner))
        launchers = m._inference_state(xz.dtype).launchers
        assert len(launchers) == bm.MAX_LAUNCH_LAYOUTS
        assert [k[0][1] for k in launchers] == list(
            range(3, bm.MAX_LAUNCH_LAYOUTS + 3))
    assert all('cache' not in k and 'launch' not in k
               for k in m.state_dict())


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_inference_core_runs_both_scans_in_one_launch(monkeypatch, dtype):
    """Where ``triton_bidir_fused_pays`` (forced here: it picks batch 64 at
    Vim-Ti's width), the eager inference core runs both directions' conv
    + projection into stacked buffers (one launch; one per direction with
    ``BIDIR_CONV_LAUNCH`` off, the same output bit for bit) and one scan
    launch for both: the two-launch core's output to rounding (the convs
    write dt_proj's input, the scan forms delta). ``forward_core`` leaves
    ``xz`` as it was; with ``overwrite_x`` (``forward``'s own ``xz``) the
    output is the x half of ``xz``. The launchers are made once per
    layout."""
    import mmmamba.models.layers.bimamba as bm
    m = _perturbed_mixer(seed=6, embed_dims=16, d_state=16, d_conv=4,
                         scan_backend='triton', fuse_mixer=True)
    assert m.d_inner == 32
    xz = torch.randn(2, 9, 2 * m.d_inner).to(dtype)
    x = torch.randn(2, 9, 16)
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    autocast = torch.autocast('cpu', dtype=torch.bfloat16,
                              enabled=dtype == torch.bfloat16)
    with torch.no_grad():
        monkeypatch.setattr(bm, 'triton_bidir_fused_pays',
                            lambda *a: False)
        want = m.forward_core(xz)  # two launches
        # each direction's A is a view of one (2, E, N) tensor; the
        # one-launch scan's stacked parameters are not made for two
        # launches
        state = m._inference_state(xz.dtype)
        assert state._stacked is None
        for i, a_log in enumerate((m.A_log, m.A_b_log)):
            A = state.params[i][0]
            assert A.data_ptr() == state.A_both[i].data_ptr()
            assert torch.equal(A, -torch.exp(a_log.float()))
        with autocast:
            want_fwd = m(x)
        calls = _spy(monkeypatch, ['bidir_fused_launcher',
                                   'conv1d_silu_proj_bidir_launcher',
                                   'conv1d_silu_proj_launcher',
                                   'selective_scan_into_launcher'])
        monkeypatch.setattr(bm, 'triton_bidir_fused_pays', lambda *a: True)
        # one conv launch per direction (BIDIR_CONV_LAUNCH off): the same
        # output bit for bit
        monkeypatch.setattr(bm, 'BIDIR_CONV_LAUNCH', False)
        m.__dict__.pop('_param_cache')
        before = xz.clone()
        per_direction = m.forward_core(xz)
        assert calls == ['conv1d_silu_proj_launcher'] * 2 + [
            'bidir_fused_launcher']
        state = m._inference_state(xz.dtype)
        A, D, w_dt, dt_bias = state._stacked  # made by this call
        assert A is state.A_both
        assert torch.equal(D, torch.stack((m.D, m.D_b)).float())
        assert torch.equal(dt_bias, torch.stack(
            (m.dt_proj.bias, m.dt_proj_b.bias)).float())
        rank = m.dt_rank
        assert torch.equal(w_dt[..., :rank], torch.stack(
            (m.dt_proj.weight, m.dt_proj_b.weight)).to(dtype).float())
        assert not w_dt[..., rank:].any()
        monkeypatch.setattr(bm, 'BIDIR_CONV_LAUNCH', True)
        m.__dict__.pop('_param_cache')
        calls.clear()
        got = m.forward_core(xz)
        assert calls == ['conv1d_silu_proj_bidir_launcher',
                         'bidir_fused_launcher']
        assert torch.equal(got, per_direction)
        assert torch.equal(xz, before)
        assert got.data_ptr() != xz.data_ptr()
        torch.testing.assert_close(got, want, rtol=tol,
                                   atol=tol * want.abs().max().item())
        calls.clear()
        again = m.forward_core(xz, overwrite_x=True)
        # the same convs; the scan's launcher for the output's new strides
        assert calls == ['bidir_fused_launcher']
        assert again.data_ptr() == xz.data_ptr()
        assert torch.equal(again, got)
        calls.clear()
        xz.copy_(before)
        assert torch.equal(m.forward_core(xz, overwrite_x=True), got)
        assert calls == []  # both made above
        assert torch.equal(xz[..., m.d_inner:], before[..., m.d_inner:])
        with autocast:
            got_fwd = m(x)
        assert got_fwd.dtype == dtype
        torch.testing.assert_close(got_fwd, want_fwd, rtol=tol,
                                   atol=tol * want_fwd.abs().max().item())


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_gpu_fused_inference_path_equals_training_path(monkeypatch, dtype):
    """On the GPU at Vim-Ti's width (sequence split into several scan
    segments at batch 1): the one-direction-at-a-time inference core (its
    projections in the conv + projection kernel) gives the two-direction
    core's output to rounding, with the defaults and with both running
    the scan with the same launch configuration."""
    pytest.importorskip('triton')
    from mmmamba.ops.selective_scan import triton_kernels as tk
    mixer = _perturbed_mixer(seed=8, embed_dims=192, d_state=16, d_conv=4,
                             scan_backend='triton').cuda()
    x = torch.randn(1, 3137, 192, device='cuda')

    def both_paths():
        with torch.autocast('cuda', dtype=torch.bfloat16,
                            enabled=dtype == torch.bfloat16):
            train = mixer(x)
            with torch.inference_mode():
                infer = mixer(x)
        assert infer.dtype == train.dtype == dtype
        return infer, train.detach()

    infer, train = both_paths()
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(infer, train, rtol=tol,
                               atol=tol * train.abs().max().item())
    default_config = tk.default_config
    monkeypatch.setattr(
        tk, 'default_config', lambda *a, save_states=True, **k:
        default_config(*a, save_states=True, **k))
    mixer.__dict__.pop('_param_cache')  # launchers made with the new config
    infer, train = both_paths()
    torch.testing.assert_close(infer, train, rtol=tol,
                               atol=tol * train.abs().max().item())


@pytest.mark.gpu
@requires_cuda
def test_gpu_one_launch_inference_core_equals_training_path():
    """On the GPU at Vim-Ti's width and batch 64 under bf16 autocast,
    where the inference core runs both scans in one launch: the training
    path's output to bf16 rounding, and the two-launch core's (the rule
    switched off) to the rounding of the partial sums."""
    pytest.importorskip('triton')
    from mmmamba.ops.selective_scan import triton_bidir
    mixer = _perturbed_mixer(seed=12, embed_dims=192, d_state=16, d_conv=4,
                             scan_backend='triton').cuda()
    x = torch.randn(64, 197, 192, device='cuda')
    with torch.autocast('cuda', dtype=torch.bfloat16):
        train = mixer(x).detach()
        with torch.inference_mode():
            infer = mixer(x)
            state = mixer._inference_state(torch.bfloat16)
            assert any(type(v).__name__ == '_BidirLaunchers'
                       for v in state.launchers.values())
            triton_bidir.BIDIR_FUSED = False
            try:
                mixer.__dict__.pop('_param_cache')
                two = mixer(x)
            finally:
                triton_bidir.BIDIR_FUSED = True
    scale = train.abs().max().item()
    torch.testing.assert_close(infer, train, rtol=2e-2, atol=2e-2 * scale)
    torch.testing.assert_close(infer, two, rtol=2e-2, atol=1e-2 * scale)


def test_inference_state_matrix_is_cached_until_A_log_changes():
    """The inference core's A = -exp(A_log) is reused while A_log keeps its
    storage and version, and recomputed after an in-place update, a
    load_state_dict and a replaced ``.data``; each time equal to
    -exp(A_log) of the moment."""
    m = _perturbed_mixer(seed=2)

    def A():
        with torch.inference_mode():
            return m._inference_params(False, torch.float32)[0]

    first = A()
    assert A() is first
    torch.testing.assert_close(first, -torch.exp(m.A_log.detach()))
    with torch.inference_mode():  # the other direction: its own entry
        torch.testing.assert_close(
            m._inference_params(True, torch.float32)[0],
            -torch.exp(m.A_b_log.detach()))
    assert A() is first
    with torch.no_grad():
        m.A_log.add_(0.5)
    second = A()
    assert second is not first
    torch.testing.assert_close(second, -torch.exp(m.A_log.detach()))
    state = {k: v.clone() for k, v in m.state_dict().items()}
    state['A_log'] = state['A_log'] * 0.5
    m.load_state_dict(state)
    third = A()
    assert third is not second
    torch.testing.assert_close(third, -torch.exp(m.A_log.detach()))
    m.A_log.data = m.A_log.detach() + 1.0
    torch.testing.assert_close(A(), -torch.exp(m.A_log.detach()))
    assert 'A_log' in dict(m.named_parameters())
    assert all('cache' not in k for k in m.state_dict())


@pytest.mark.parametrize('device', [
    'cpu', pytest.param('cuda', marks=[pytest.mark.gpu, requires_cuda])])
@pytest.mark.parametrize('bias', [False, True])
def test_autocast_inference_linears_cached_and_exact(bias, device):
    """Under autocast without gradients, in_proj / out_proj run on cached
    weights in autocast's dtype: the modules' output bit for bit (autocast
    casts their fp32 weights the same way), no cast per call, recomputed
    after an in-place update; the modules themselves run with a gradient
    to compute, without autocast, or when either has a hook."""
    m = _perturbed_mixer(seed=7, bias=bias).to(device)
    x = torch.randn(2, 9, 8, device=device)

    def modules_path():
        return m.out_proj(m.forward_core(m.in_proj(x)))

    def both():
        with torch.autocast(device, dtype=torch.bfloat16):
            return m(x), modules_path()

    with torch.inference_mode():
        got, want = both()
        assert got.dtype == torch.bfloat16 and torch.equal(got, want)
        cached = m._param_cache['linears.torch.bfloat16'][2]
        assert cached[0].dtype == torch.bfloat16
        assert (cached[1] is None) == (not bias)
        got, _ = both()
        assert m._param_cache['linears.torch.bfloat16'][2] is cached
    with torch.no_grad():
        m.in_proj.weight.mul_(0.5)
        got, want = both()
    assert torch.equal(got, want)
    assert m._param_cache['linears.torch.bfloat16'][2] is not cached
    # the modules: a gradient to compute, no autocast, a hook
    with torch.autocast(device, dtype=torch.bfloat16):
        m(x).float().sum().backward()
    assert m.in_proj.weight.grad is not None
    with torch.no_grad():
        assert m._autocast_linears(x) is None
    calls = []
    handle = m.out_proj.register_forward_hook(
        lambda mod, args, out: calls.append(out.shape))
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
        assert m._autocast_linears(x) is None
        m(x)
    handle.remove()
    assert calls == [(2, 9, 8)]
    assert all('cache' not in k for k in m.state_dict())


def test_autocast_linears_cache_switch(monkeypatch):
    """With ``CACHE_AUTOCAST_LINEARS`` off, autocast inference runs the
    modules (no cached copy of the weights) and gives the same output."""
    m = _perturbed_mixer(seed=8, bias=True)
    x = torch.randn(2, 9, 8)
    with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16):
        want = m(x)
        assert 'linears.torch.bfloat16' in m._param_cache
        m._param_cache.clear()
        monkeypatch.setattr(bimamba_module, 'CACHE_AUTOCAST_LINEARS', False)
        assert m._autocast_linears(x) is None
        got = m(x)
    assert 'linears.torch.bfloat16' not in m._param_cache
    assert torch.equal(got, want)


def test_autocast_linears_cache_auto_follows_autocast_cache(monkeypatch):
    """``'auto'`` keeps the bf16 copy only while autocast's own cast cache
    is on, drops a kept copy when it is off, and the output is the same
    bit for bit either way; a value other than True / False / 'auto'
    raises."""
    m = _perturbed_mixer(seed=9, bias=True)
    x = torch.randn(2, 9, 8)
    key = 'linears.torch.bfloat16'
    with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16):
        want = m(x)
    m._param_cache.clear()
    monkeypatch.setattr(bimamba_module, 'CACHE_AUTOCAST_LINEARS', 'auto')
    with torch.inference_mode():
        with torch.autocast('cpu', dtype=torch.bfloat16, cache_enabled=True):
            kept = m(x)
        assert key in m._param_cache
        with torch.autocast('cpu', dtype=torch.bfloat16,
                            cache_enabled=False):
            dropped = m(x)
        assert key not in m._param_cache
    assert torch.equal(kept, want) and torch.equal(dropped, want)
    monkeypatch.setattr(bimamba_module, 'CACHE_AUTOCAST_LINEARS', 'yes')
    with pytest.raises(ValueError, match="True, False or 'auto'"):
        with torch.inference_mode(), torch.autocast('cpu',
                                                    dtype=torch.bfloat16):
            m(x)


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_inference_prologue_weights_cached_and_exact(dtype):
    """The inference core's prologue weights (conv taps (E, K)
    contiguous, conv bias, x_proj / dt_proj weights) are the
    parameters cast to the activations' dtype, reused until a parameter
    changes, and give conv1d_silu_proj's outputs bit for bit as the fp32
    parameters do (the op rounds them to that dtype itself)."""
    from mmmamba.ops import conv1d_silu_proj
    m = _perturbed_mixer(seed=5, scan_backend='triton', fuse_mixer=True)
    e = m.d_inner

    def weights():
        with torch.inference_mode():
            return m._inference_params(True, dtype)[1:]

    first = weights()
    taps, bias, wx, wdt = first
    assert taps.shape == (e, m.d_conv) and taps.is_contiguous()
    raw = (m.conv1d_b.weight.squeeze(1), m.conv1d_b.bias, m.x_proj_b.weight,
           m.dt_proj_b.weight)
    for got, want in zip(first, raw):
        assert got.dtype == dtype and torch.equal(got, want.detach().to(dtype))
    assert all(a is b for a, b in zip(weights(), first))
    x = torch.randn(2, 11, 2 * e).to(dtype)[..., :e]
    kw = dict(dt_rank=m.dt_rank, d_state=m.d_state, reverse=True,
              delta_bias=m.dt_proj_b.bias.detach(), delta_softplus=True,
              backend='triton')
    # fp32 storage of the weights' dtype-rounded values: the interpreter's
    # fp32 -> bf16 cast truncates where the GPU's rounds (the GPU test
    # below gives the raw fp32 parameters)
    fp32 = [t.detach().to(dtype).float() for t in raw]
    with torch.inference_mode():
        cached = conv1d_silu_proj(x, *first, **kw)
        plain = conv1d_silu_proj(x, *fp32, **kw)
    for a, b in zip(cached, plain):
        assert torch.equal(a, b)
    with torch.no_grad():
        m.conv1d_b.weight.mul_(0.5)
    second = weights()  # recomputed, the unchanged weights equal
    assert second[0] is not taps and torch.equal(second[2], wx)
    assert torch.equal(second[0],
                       m.conv1d_b.weight.detach().squeeze(1).to(dtype))
    assert all('cache' not in k for k in m.state_dict())


@pytest.mark.gpu
@requires_cuda
def test_gpu_inference_prologue_weights_exact():
    """On CUDA, conv1d_silu_proj gives the same outputs bit for bit with the
    inference core's cached bf16 prologue weights as with the fp32
    parameters as they are (the kernel rounds them to bf16 as torch
    does)."""
    from mmmamba.ops import conv1d_silu_proj
    m = _perturbed_mixer(seed=6, embed_dims=64, d_state=16, d_conv=4,
                         scan_backend='triton', fuse_mixer=True).cuda()
    e = m.d_inner
    x = torch.randn(2, 300, 2 * e, device='cuda').bfloat16()[..., :e]
    for reverse in (False, True):
        conv, x_proj, dt_proj, _, _ = m._direction(reverse)
        kw = dict(dt_rank=m.dt_rank, d_state=m.d_state, reverse=reverse,
                  delta_bias=dt_proj.bias, delta_softplus=True,
                  backend='triton')
        with torch.inference_mode():
            cached = conv1d_silu_proj(
                x, *m._inference_params(reverse, torch.bfloat16)[1:], **kw)
            plain = conv1d_silu_proj(x, conv.weight, conv.bias,
                                     x_proj.weight, dt_proj.weight, **kw)
        for got, want in zip(cached, plain):
            assert got.dtype == torch.bfloat16
            assert torch.equal(got, want)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_gpu_inference_launchers_equal_the_ops(dtype):
    """On CUDA at Vim-Ti's width, batch 1 and 2 (the scan split into
    segments, a pre-pass launch per direction), the launchers' core gives
    the ops' output bit for bit, on the call that makes them and after."""
    m = _perturbed_mixer(seed=10, embed_dims=192, d_state=16, d_conv=4,
                         scan_backend='triton').cuda()
    for batch in (1, 2):
        xz = torch.randn(batch, 3137, 2 * m.d_inner, device='cuda').to(dtype)
        with torch.inference_mode():
            want = m._forward_core_ops(xz)
            for _ in range(2):
                assert torch.equal(m.forward_core(xz), want)
