# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.selective_scan`` and its backends.

Tier 1 (CPU, CI): the reference against an explicit float64 per-step loop
written here, gradcheck, input validation, dispatch; the Triton kernels in
Triton's interpreter (TRITON_INTERPRET=1, set by conftest) at small sizes.
Tier 2 (marked ``gpu``): every available GPU backend at real sizes and all
dtypes against the fp32 reference.
"""
import importlib
import itertools
import os
import re
from typing import Dict, Optional

import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops import (available_backends, check_backend, resolve_backend,
                         selective_scan, selective_scan_into,
                         selective_scan_ref)
from mmmamba.testing import (GRAD_MODES, check_saves_states_only_with_grad,
                            requires_cuda, requires_mamba_ssm,
                            requires_triton, requires_triton_interpreter,
                            run_compiler_script)

NAMES = ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'delta_bias')


def loop_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None,
              delta_softplus=False):
    """The definition, one time step at a time, in float64."""
    u, delta, A, B, C = (t.double() for t in (u, delta, A, B, C))
    batch, dim, seqlen = u.shape
    if B.dim() == 3:
        B, C = B[:, None], C[:, None]
    per_group = dim // B.shape[1]
    if delta_bias is not None:
        delta = delta + delta_bias.double()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    # channel d reads group d // per_group
    group_of = torch.arange(dim) // per_group
    Bd, Cd = B[:, group_of], C[:, group_of]  # (batch, dim, N, L)
    h = torch.zeros(batch, dim, A.shape[1], dtype=torch.float64)
    ys = []
    for t in range(seqlen):
        h = torch.exp(delta[:, :, t, None] * A) * h \
            + delta[:, :, t, None] * Bd[..., t] * u[:, :, t, None]
        ys.append((h * Cd[..., t]).sum(-1))
    y = torch.stack(ys, -1)
    if D is not None:
        y = y + D.double()[:, None] * u
    if z is not None:
        y = y * F.silu(z.double())
    return y, h.clone()


def make_inputs(batch, dim, dstate, seqlen, groups, *, has_d=True,
                has_z=True, has_bias=True, bc_3d=False,
                dtype=torch.float64, device='cpu',
                seed=0) -> Dict[str, Optional[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    bc_shape = (batch, dstate, seqlen) if bc_3d else (batch, groups, dstate,
                                                       seqlen)
    ins = dict(
        u=rnd(batch, dim, seqlen),
        delta=rnd(batch, dim, seqlen, scale=0.5),
        A=-torch.rand(dim, dstate, generator=g, dtype=torch.float64) * 2 -
        0.1,
        B=rnd(*bc_shape),
        C=rnd(*bc_shape),
        D=rnd(dim) if has_d else None,
        z=rnd(batch, dim, seqlen) if has_z else None,
        delta_bias=rnd(dim, scale=0.5) if has_bias else None)
    out = {}
    for k, v in ins.items():
        if v is None:
            out[k] = None
            continue
        dt = torch.float32 if k in ('A', 'D', 'delta_bias') and \
            dtype != torch.float64 else dtype
        out[k] = v.to(device=device, dtype=dt).requires_grad_(True)
    return out


def grads_of(out, ins, grad):
    tensors = [ins[k] for k in NAMES if ins[k] is not None]
    return dict(
        zip([k for k in NAMES if ins[k] is not None],
            torch.autograd.grad(out, tensors, grad)))


# (batch, dim, dstate, seqlen, groups, options)
REF_CASES = [
    pytest.param(2, 4, 3, 1, 1, {}, id='L=1'),
    pytest.param(2, 4, 3, 37, 1, {}, id='L-not-multiple-of-chunk'),
    pytest.param(1, 2, 2, 2048, 1, {}, id='long-L2048'),
    pytest.param(2, 6, 4, 40, 3, {}, id='groups3'),
    pytest.param(2, 4, 3, 33, 1, dict(bc_3d=True), id='BC-3d'),
    pytest.param(2, 4, 3, 40, 2, dict(has_d=False, has_z=False,
                                      has_bias=False), id='no-D-z-bias'),
    pytest.param(1, 4, 2, 20, 1, dict(has_z=False), id='no-z'),
    pytest.param(1, 4, 2, 20, 4, dict(has_d=False), id='no-D-groups4'),
]


@pytest.mark.parametrize('softplus', [True, False])
@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups,opts', REF_CASES)
def test_reference_matches_loop(batch, dim, dstate, seqlen, groups, opts,
                                softplus):
    ins = make_inputs(batch, dim, dstate, seqlen, groups, **opts)
    if not softplus:  # keep delta > 0, as every caller does
        with torch.no_grad():
            for k in ('delta', 'delta_bias'):
                if ins[k] is not None:
                    ins[k].abs_()
    out, last = selective_scan_ref(
        **ins, delta_softplus=softplus, return_last_state=True)
    exp_out, exp_last = loop_scan(**ins, delta_softplus=softplus)
    torch.testing.assert_close(out, exp_out, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(last, exp_last, rtol=1e-10, atol=1e-10)
    grad = torch.randn_like(out)
    got = grads_of(out, ins, grad)
    want = grads_of(exp_out, ins, grad)
    for k in got:
        torch.testing.assert_close(
            got[k], want[k], rtol=1e-9, atol=1e-9, msg=lambda m: f'd{k}: {m}')


def test_reference_long_sequence_is_stable():
    """Strong decays over a long sequence: a cumsum/exp(-cumsum) formulation
    would overflow; the chunked one must stay finite and exact."""
    ins = make_inputs(1, 2, 4, 1500, 1, seed=3)
    with torch.no_grad():
        ins['A'].mul_(20.0)
        ins['delta'].abs_().add_(1.0)
    out = selective_scan_ref(**ins, delta_softplus=True)
    exp_out, _ = loop_scan(**ins, delta_softplus=True)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, exp_out, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('softplus', [True, False])
def test_reference_gradcheck(softplus):
    ins = make_inputs(1, 4, 2, 9, 2)

    def fn(*tensors):
        return selective_scan_ref(*tensors, delta_softplus=softplus)

    assert torch.autograd.gradcheck(fn, tuple(ins[k] for k in NAMES))


def test_reference_fp32_accumulation_for_low_precision_inputs():
    ins = make_inputs(2, 4, 3, 50, 1, dtype=torch.bfloat16)
    out, last = selective_scan_ref(**ins, delta_softplus=True,
                                   return_last_state=True)
    assert out.dtype == torch.bfloat16
    assert last.dtype == torch.float32
    exp_out, _ = loop_scan(**ins, delta_softplus=True)
    # only the final rounding to bf16 separates the two
    torch.testing.assert_close(out.double(), exp_out, rtol=1e-2, atol=1e-2)
    grad = torch.randn_like(out)
    got = grads_of(out, ins, grad)
    for k, g in got.items():
        assert g.dtype == ins[k].dtype, k


def test_last_state_has_no_gradient():
    ins = make_inputs(1, 2, 2, 5, 1)
    out, last = selective_scan(**ins, return_last_state=True)
    assert out.requires_grad and not last.requires_grad


# ----------------------------------------------------------- validation


def test_bad_inputs_raise_clear_errors():
    ins = make_inputs(2, 4, 3, 10, 2, dtype=torch.float32)
    ins = {k: v.detach() for k, v in ins.items()}

    def call(**over):
        args = dict(ins)
        args.update(over)
        return selective_scan(**args)

    with pytest.raises(ValueError, match='delta must have the shape of u'):
        call(delta=ins['delta'][:, :, :5])
    with pytest.raises(ValueError, match='not divisible by the number of '
                       'groups of B'):
        call(B=torch.randn(2, 3, 3, 10), C=torch.randn(2, 3, 3, 10))
    with pytest.raises(ValueError, match='B and C must have the same number'):
        call(C=torch.randn(2, 1, 3, 10))
    with pytest.raises(ValueError, match='A must be'):
        call(A=torch.randn(5, 3))
    with pytest.raises(TypeError, match='A is complex'):
        call(A=torch.randn(4, 3, dtype=torch.complex64))
    with pytest.raises(TypeError, match='u must be a floating-point'):
        call(u=torch.ones(2, 4, 10, dtype=torch.int64))
    with pytest.raises(TypeError, match='z must be a torch.Tensor'):
        call(z=[1.0])
    with pytest.raises(ValueError, match='D must be'):
        call(D=torch.randn(3))
    with pytest.raises(ValueError, match='u must be 3-D'):
        call(u=torch.randn(4, 10))
    with pytest.raises(ValueError, match='one device'):
        call(D=torch.randn(4, device='meta'))


def test_backend_names_and_dispatch(monkeypatch):
    assert 'reference' in available_backends()
    with pytest.raises(ValueError, match='unknown selective-scan backend'):
        check_backend('cuda')
    monkeypatch.delenv('MMMAMBA_SCAN_BACKEND', raising=False)
    assert resolve_backend('auto', torch.device('cpu')) == 'reference'
    monkeypatch.setenv('MMMAMBA_SCAN_BACKEND', 'nonsense')
    with pytest.raises(ValueError, match='unknown selective-scan backend'):
        resolve_backend('auto', torch.device('cpu'))
    monkeypatch.setenv('MMMAMBA_SCAN_BACKEND', 'reference')
    assert resolve_backend('auto', torch.device('cuda')) == 'reference'


def test_auto_picks_first_available_backend_for_the_state_size(monkeypatch):
    ss = importlib.import_module('mmmamba.ops.selective_scan')
    monkeypatch.delenv('MMMAMBA_SCAN_BACKEND', raising=False)
    cuda = torch.device('cuda')
    for available in ({'reference'}, {'reference', 'triton'},
                      {'reference', 'mamba_ssm'},
                      {'reference', 'triton', 'mamba_ssm'}):
        monkeypatch.setattr(ss, '_is_available', lambda n: n in available)
        for dstate, grad in itertools.product((1, 16), (True, False)):
            got = resolve_backend('auto', cuda, dstate, grad)
            order = ss.auto_order(dstate, grad)
            assert got in available
            assert all(n not in available for n in order[:order.index(got)])
    monkeypatch.setattr(ss, '_is_available', lambda n: True)
    # measured on an H200 (benchmarks/selective_scan_h200.md): Triton ahead
    # at N=1, and at N=16 forward everywhere and forward+backward at 5 of 8
    # rows
    for dstate, grad in itertools.product((1, 16), (True, False)):
        assert resolve_backend('auto', cuda, dstate, grad) == 'triton'


def test_auto_sees_whether_a_gradient_is_needed(monkeypatch):
    """selective_scan passes 'a gradient is needed' to the dispatch: any
    input requiring grad with grad mode on."""
    ss = importlib.import_module('mmmamba.ops.selective_scan')
    seen = []

    def spy(name, device, dstate=16, grad=True):
        seen.append(grad)
        return 'reference'

    monkeypatch.setattr(ss, 'resolve_backend', spy)
    ins = make_inputs(1, 2, 2, 3, 1, dtype=torch.float32)
    ss.selective_scan(**ins)
    with torch.no_grad():
        ss.selective_scan(**ins)
    plain = {k: None if v is None else v.detach() for k, v in ins.items()}
    ss.selective_scan(**plain)
    assert seen == [True, False, False]


@pytest.mark.skipif('mamba_ssm' in available_backends(),
                    reason='mamba-ssm CUDA extension is installed')
def test_unavailable_backend_says_how_to_install():
    with pytest.raises(RuntimeError, match='MAMBA_KEEP_CUDA_BUILD=TRUE'):
        check_backend('mamba_ssm')
    ins = make_inputs(1, 2, 2, 3, 1, dtype=torch.float32)
    with pytest.raises(RuntimeError, match='pip install'):
        selective_scan(**ins, backend='mamba_ssm')


def test_import_needs_no_optional_dependency():
    """``import mmmamba.ops`` imports neither triton nor mamba_ssm and prints
    nothing."""
    import subprocess
    import sys
    code = ('import sys, mmmamba, mmmamba.ops; '
            "bad = [m for m in ('triton', 'mamba_ssm', 'mmdet', 'mmseg', "
            "'mmpretrain') if m in sys.modules]; "
            'assert not bad, bad')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=dict(os.environ))
    assert res.returncode == 0, res.stderr
    assert res.stdout == '' and res.stderr == ''


# ------------------------------------------------- triton (interpreter)

INTERP_CASES = [
    pytest.param(2, 4, 3, 1, 1, {}, id='L=1'),
    pytest.param(2, 8, 4, 37, 2, {}, id='groups2-L37'),
    pytest.param(1, 8, 1, 70, 4, dict(has_d=False, has_z=False,
                                      has_bias=False), id='N1-groups4-bare'),
    pytest.param(1, 4, 16, 20, 1, {}, id='N16'),
    pytest.param(2, 6, 4, 33, 3, dict(has_z=False), id='groups3-noz'),
    pytest.param(1, 4, 3, 40, 1, dict(bc_3d=True), id='BC-3d'),
]


def _assert_backend_matches_reference(backend, ins, softplus, rtol, atol):
    out, last = selective_scan(**ins, delta_softplus=softplus,
                               return_last_state=True, backend=backend)
    ref_ins = {
        k: None if v is None else v.detach().float().requires_grad_(True)
        for k, v in ins.items()
    }
    ref, ref_last = selective_scan_ref(**ref_ins, delta_softplus=softplus,
                                       return_last_state=True)
    scale = ref.abs().max().item()
    torch.testing.assert_close(out.float(), ref, rtol=rtol,
                               atol=atol * max(1.0, scale))
    torch.testing.assert_close(last, ref_last, rtol=rtol,
                               atol=atol * max(1.0, ref_last.abs().max()))
    grad = torch.randn_like(ref)
    got = grads_of(out, ins, grad.to(out.dtype))
    want = grads_of(ref, ref_ins, grad)
    for k in got:
        w = want[k]
        assert got[k].dtype == ins[k].dtype, k
        torch.testing.assert_close(
            got[k].float(), w, rtol=rtol,
            atol=atol * max(1.0, w.abs().max().item()),
            msg=lambda m: f'd{k}: {m}')


@requires_triton_interpreter
@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups,opts', INTERP_CASES)
def test_triton_interpreter_matches_reference(batch, dim, dstate, seqlen,
                                              groups, opts):
    ins = make_inputs(batch, dim, dstate, seqlen, groups,
                      dtype=torch.float32, **opts)
    _assert_backend_matches_reference('triton', ins, True, 1e-4, 1e-5)


@requires_triton_interpreter
def test_triton_interpreter_without_softplus():
    ins = make_inputs(1, 4, 2, 30, 2, dtype=torch.float32)
    with torch.no_grad():
        ins['delta'].abs_()
    _assert_backend_matches_reference('triton', ins, False, 1e-4, 1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('prefetch', [True, False])
@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups', [
    pytest.param(2, 8, 4, 37, 2, id='groups2-L37'),
    pytest.param(1, 8, 16, 20, 1, id='N16'),
])
def test_triton_interpreter_launch_variants(monkeypatch, batch, dim, dstate,
                                            seqlen, groups, prefetch):
    """Both forward paths (with and without the next-chunk prefetch) and
    one channel per program compute the same thing."""
    from mmmamba.ops.selective_scan import triton_kernels as tk

    def config(*args, **kwargs):
        return tk.ScanConfig(1, 8, 1, prefetch=prefetch)

    monkeypatch.setattr(tk, 'default_config', config)
    ins = make_inputs(batch, dim, dstate, seqlen, groups,
                      dtype=torch.float32)
    _assert_backend_matches_reference('triton', ins, True, 1e-4, 1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('block_d,block_t,n_seg,fwd_prefetch,reverse,bwd', [
    pytest.param(2, 8, 1, False, False, (2, 0), id='d2-t8-one-segment'),
    pytest.param(4, 4, 3, True, False, (4, 8),
                 id='d4-t4-3-segments-prefetch-tbwd8'),
    pytest.param(2, 16, 2, False, True, (2, 16),
                 id='d2-t16-2-segs-reverse-tbwd16'),
    pytest.param(4, 8, 8, True, True, (4, 4),
                 id='d4-t8-8-segments-prefetch-reverse-tbwd4'),
    pytest.param(2, 8, 2, False, False, (4, 16, True),
                 id='d2-t8-2-segs-tbwd16-prefetch'),
    pytest.param(4, 8, 1, True, False, (4, 16, True, 3),
                 id='d4-t8-tbwd16-prefetch-3-bwd-segments'),
    pytest.param(2, 16, 2, False, True, (2, 4, False, 2),
                 id='d2-t16-reverse-tbwd4-2-bwd-segments'),
    pytest.param(4, 8, 3, False, True, (2, 0, True),
                 id='d4-t8-3-segs-reverse-lanes-bwd-prefetch'),
])
def test_triton_interpreter_time_major_kernels(monkeypatch, block_d, block_t,
                                               n_seg, fwd_prefetch, reverse,
                                               bwd):
    """The time-major kernels against the float64 reference: the forward
    (threads own consecutive steps; the sequence split into segments joined
    by a state-passing pre-pass) for outputs and last state; every gradient
    through the lane-major backward or the time-major one (``bwd`` =
    (block_d, block_t[, prefetch[, n_seg]]), 0 = lane-major; block_t < 16
    recomputes a chunk's incoming state inside a saved-state block;
    prefetch loads chunk c-1 during chunk c; n_seg > 1 splits the
    backward into segments joined by an adjoint pre-pass: 5 saved-state
    blocks in 3 segments of 2, 2, 1, or 2 of 3, 2), both from the states
    the forward saved every 16 steps inside each segment. ``fwd_prefetch``:
    the forward loads chunk c+1 during chunk c (the last chunk's
    prefetch reads past the segment, or masked past the sequence). L=75
    leaves a ragged last chunk and a short last segment; 2 groups of 4
    channels."""
    from mmmamba.ops.selective_scan import triton_kernels as tk

    def config(*args, backward, **kwargs):
        if backward:
            return tk.ScanConfig(bwd[0], 16, 1, block_t=bwd[1],
                                 prefetch=bwd[2] if len(bwd) > 2 else False,
                                 n_seg=bwd[3] if len(bwd) > 3 else 1)
        return tk.ScanConfig(block_d, 16, 1, block_t=block_t, n_seg=n_seg,
                             prefetch=fwd_prefetch)

    monkeypatch.setattr(tk, 'default_config', config)
    ins = make_inputs(2, 8, 8, 75, 2, dtype=torch.float32)
    out, last = selective_scan(**ins, delta_softplus=True,
                               return_last_state=True, reverse=reverse,
                               backend='triton')
    ref_ins = {
        k: None if v is None else v.detach().double().requires_grad_(True)
        for k, v in ins.items()
    }
    seq = ('u', 'delta', 'B', 'C', 'z')
    flip = (lambda t: t.flip(-1)) if reverse else (lambda t: t)
    ref, ref_last = selective_scan_ref(
        **{k: flip(v) if k in seq else v for k, v in ref_ins.items()},
        delta_softplus=True, return_last_state=True)
    ref = flip(ref)
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(last.double(), ref_last, rtol=1e-4, atol=1e-5)
    grad = torch.randn_like(ref)
    got = grads_of(out, ins, grad.to(out.dtype))
    want = grads_of(ref, ref_ins, grad)
    for k in got:
        torch.testing.assert_close(
            got[k].double(), want[k], rtol=1e-4,
            atol=1e-5 * max(1.0, want[k].abs().max().item()),
            msg=lambda m: f'd{k}: {m}')


@requires_triton_interpreter
@pytest.mark.parametrize('block_d,block_t,n_seg,reverse,accumulate,dstate', [
    pytest.param(32, 8, 1, False, False, 16, id='d32-t8'),
    pytest.param(32, 4, 3, True, True, 16, id='d32-t4-3segs-reverse-acc'),
    pytest.param(16, 16, 2, False, True, 5, id='d16-t16-2segs-N5-acc'),
])
def test_triton_interpreter_step_loop_forward(block_d, block_t, n_seg,
                                              reverse, accumulate, dstate):
    """The opt-in step-loop forward (``ScanConfig(steps=True)``) against the
    float64 reference on channel-last u, delta, z: output (written, or
    added to a given ``out`` with a scale), last state, the states it saves
    for the backward (equal to the time-major forward's), and every
    gradient of the backward run from those states. L=19 leaves a ragged
    last chunk and short last segment (reads past the end are clamped);
    N=5 exercises the state mask."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    batch, dim, seqlen = 2, 32, 19
    ins = make_inputs(batch, dim, dstate, seqlen, 1, dtype=torch.float32)
    u, delta, z = (channel_last(ins[k].detach())
                   for k in ('u', 'delta', 'z'))
    A, B, C = (ins[k].detach() for k in ('A', 'B', 'C'))
    D, bias = ins['D'].detach(), ins['delta_bias'].detach()
    base = channel_last(torch.randn(batch, dim, seqlen))
    cfg = tk.ScanConfig(block_d, 8, 1, block_t=block_t, n_seg=n_seg,
                        steps=True)
    out, last, states, _ = tk.selective_scan_fwd(
        u, delta, A, B, C, D, z, bias, True, True, config=cfg,
        reverse=reverse, out=base.clone() if accumulate else None,
        out_scale=0.5)
    ref, ref_last, ref_ins = flip_ref(ins, reverse)
    want = 0.5 * ref + (base.double() if accumulate else 0)
    torch.testing.assert_close(out.double(), want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(last.double(), ref_last, rtol=1e-4,
                               atol=1e-5)
    assert out.stride() == u.stride()
    tmajor = tk.ScanConfig(4, 8, 1, block_t=8)
    states_t = tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True,
                                     True, config=tmajor, reverse=reverse)[2]
    torch.testing.assert_close(states, states_t, rtol=1e-5, atol=1e-6)
    grad = torch.randn(batch, dim, seqlen, dtype=torch.float64)
    du, ddelta, dA, dB, dC, dD, dz, dbias = tk.selective_scan_bwd(
        u, delta, A, B, C, D, z, bias, True, states, 8,
        channel_last(grad.float()), reverse=reverse)
    wants = grads_of(ref, ref_ins, grad)
    for k, got in dict(u=du, delta=ddelta, A=dA, B=dB, C=dC, D=dD, z=dz,
                       delta_bias=dbias).items():
        w = wants[k]
        torch.testing.assert_close(
            got.double(), w, rtol=1e-4, atol=1e-5 * max(1.0, w.abs().max()),
            msg=lambda m: f'd{k}: {m}')


@requires_triton_interpreter
def test_time_major_config_checks_state_spacing():
    """A chunk that does not divide the saved-state spacing, or a program
    whose channels straddle two B/C groups, is refused; so is a prefetching
    time-major backward whose chunk is not the saved-state spacing, and a
    split backward on the lane-major kernel."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    ins = make_inputs(1, 4, 4, 20, 1, dtype=torch.float32)
    args = [ins[k].detach() for k in ('u', 'delta', 'A')]
    B, C = (ins[k].detach().unsqueeze(1) for k in ('B', 'C'))
    with pytest.raises(ValueError, match='block_t=32 must divide block_l=16'):
        tk.selective_scan_fwd(*args, B, C, None, None, None, True, True,
                              config=tk.ScanConfig(2, 16, 1, block_t=32))
    with pytest.raises(ValueError, match='block_d=8 must divide the channels'):
        tk.selective_scan_fwd(*args, B, C, None, None, None, True, True,
                              config=tk.ScanConfig(8, 16, 1, block_t=8))
    out, _, states, _ = tk.selective_scan_fwd(
        *args, B, C, None, None, None, True, True,
        config=tk.ScanConfig(2, 16, 1))
    with pytest.raises(ValueError, match='block_t=8 must equal block_l=16'):
        tk.selective_scan_bwd(*args, B, C, None, None, None, True, states, 16,
                              out, config=tk.ScanConfig(2, 16, 1, block_t=8,
                                                        prefetch=True))
    with pytest.raises(ValueError, match='n_seg=2 needs the time-major'):
        tk.selective_scan_bwd(*args, B, C, None, None, None, True, states, 16,
                              out, config=tk.ScanConfig(2, 16, 1, n_seg=2))


def _dir2_inputs(device, dtype, batch, dim, seqlen):
    """Inputs of Vim's second direction as its time-major forward reads
    them: u, delta, z channel-last, B and C as N-last views, N = 16, and
    the first direction's output to gate the sum onto: (u, delta, A, B, C,
    D, z, base)."""
    ins = make_inputs(batch, dim, 16, seqlen, 1, dtype=dtype, device=device)
    # delta > 0, as Vim's softplus gives it: make_inputs' N(0, 0.5) deltas
    # grow the states exponentially over a few hundred steps (inf and NaN
    # at the GPU tests' 1000-2049 steps)
    ins['delta'] = F.softplus(ins['delta'].detach().float()).to(dtype)
    u, delta, z = (channel_last(ins[k].detach())
                   for k in ('u', 'delta', 'z'))
    A, D = ins['A'].detach(), ins['D'].detach()
    B, C = (ins[k].detach().transpose(2, 3).contiguous().transpose(2, 3)
            for k in ('B', 'C'))
    base = channel_last(torch.randn(batch, dim, seqlen, device=device,
                                    dtype=dtype))
    return u, delta, A, B, C, D, z, base


def _dir2_runs(inputs, configs, bias=None):
    """The forward of each config on :func:`_dir2_inputs`, reversed, the
    gate on the sum onto a copy of ``base``; with ``bias``, delta's bias
    and softplus in the scan: [(out, last_state)]."""
    return [run[:2] for run in _dir2_runs_configs(inputs, configs, bias)]


def _dir2_runs_configs(inputs, configs, bias=None):
    """:func:`_dir2_runs` with the configuration each run used (a config
    may be None: the launcher's default): [(out, last_state, config)]."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    u, delta, A, B, C, D, z, base = inputs
    runs = []
    for cfg in configs:
        out, last, _, used = tk.selective_scan_fwd(
            u, delta, A, B, C, D, z, bias, bias is not None, False,
            config=cfg, reverse=True, out=base.clone(), out_scale=0.5,
            gate_sum=True)
        runs.append((out, last, used))
    return runs


def _assert_runs_match(runs, plain, tol):
    """Each (out, last_state) of ``runs`` within ``tol`` (out) and 1e-5
    (the fp32 last state) of ``plain``'s, relative to its largest value;
    ``plain`` must be finite (a tolerance scaled by inf or NaN checks
    nothing)."""
    for out, last in runs:
        for got, want, r in ((out, plain[0], tol), (last, plain[1], 1e-5)):
            assert torch.isfinite(want).all(), 'the plain run overflowed'
            scale = want.double().abs().max().item()
            torch.testing.assert_close(got.double(), want.double(), rtol=r,
                                       atol=r * scale)


def _assert_dir2_reference(out, u, dt, A, B, C, D, z, base):
    """``out`` of a :func:`_dir2_runs` run is the float64 reference's
    reverse scan with step ``dt`` (delta after any bias and softplus),
    its gate on the sum with ``base``, to 1e-5 of the largest value."""
    flip = [t.double().flip(-1) for t in (u, dt, B, C)]
    y = selective_scan_ref(flip[0], flip[1], A.double(), flip[2], flip[3],
                           D.double()).flip(-1)  # the reverse scan
    want = 0.5 * (base.double() + y) * F.silu(z.double())
    torch.testing.assert_close(out.double(), want, rtol=1e-5,
                               atol=1e-5 * want.abs().max().item())


def _widen_bc_runs(device, dtype, batch, dim, seqlen, n_seg, block_d,
                   block_t):
    """Vim's second direction (:func:`_dir2_inputs`) with no widening,
    ``widen_bc`` and ``widen_bc`` + ``widen_ud``: [(out, last_state)] for
    each, and the inputs."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    inputs = _dir2_inputs(device, dtype, batch, dim, seqlen)
    configs = [tk.ScanConfig(block_d, 8, 1, prefetch=True, block_t=block_t,
                             n_seg=n_seg, widen_bc=bc, widen_ud=ud)
               for bc, ud in ((False, False), (True, False), (True, True))]
    return _dir2_runs(inputs, configs), inputs


@requires_triton_interpreter
@pytest.mark.parametrize('n_seg,block_d,block_t', [(1, 16, 8), (3, 32, 4)],
                         ids=['unsplit', '3-segments'])
def test_triton_interpreter_widen_bc_forward(n_seg, block_d, block_t):
    """``ScanConfig.widen_bc`` / ``widen_ud`` reach the time-major forward
    and its pre-pass (the interpreter widens with ``.to``; the inline asm
    is checked by the sm_80/sm_90 compile test and on the GPU): the same
    output and last state as without, and the reference's."""
    (plain, *widened), (u, delta, A, B, C, D, z, base) = _widen_bc_runs(
        'cpu', torch.bfloat16, 2, 32, 29, n_seg, block_d, block_t)
    for run in widened:
        for a, b in zip(plain, run):
            assert torch.equal(a, b)
    widened = widened[-1]
    flip = [t.double().flip(-1) for t in (u, delta, B, C)]
    y = selective_scan_ref(flip[0], flip[1], A.double(), flip[2], flip[3],
                           D.double()).flip(-1)  # the reverse scan
    want = 0.5 * (base.double() + y) * F.silu(z.double())
    torch.testing.assert_close(widened[0].double(), want, rtol=2e-2,
                               atol=2e-2 * want.abs().max().item())


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16,
                                   torch.float32])
@pytest.mark.parametrize('batch,seqlen,n_seg,block_d,block_t', [
    (16, 1000, 1, 16, 8), (2, 2049, 16, 32, 4)], ids=['unsplit', 'split'])
def test_gpu_widen_bc_forward_matches_plain(dtype, batch, seqlen, n_seg,
                                            block_d, block_t):
    """Compiled, the widened kernels give the plain kernels' outputs to
    rounding (not bit for bit: on the H200 even fp32, whose widening is no
    conversion at all, differs; the compiled sums run in another order),
    at Vim's batch-64 tile (d16 t8, unsplit) and batch-8 tile (d32 t4, 16
    segments): the output within about one unit in the last place of its
    dtype, the fp32 last state within 1e-5 of its largest value."""
    (plain, *widened), _ = _widen_bc_runs('cuda', dtype, batch, 384, seqlen,
                                          n_seg, block_d, block_t)
    tol = {torch.bfloat16: 2**-7, torch.float16: 2**-10,
           torch.float32: 1e-5}[dtype]
    _assert_runs_match(widened, plain, tol)


def _pre_tile_runs(device, dtype, batch, dim, seqlen, block_d, block_t,
                   n_seg, pre_tiles):
    """Vim's second direction (:func:`_dir2_inputs`, widened B and C) split
    into ``n_seg`` segments, with the pre-pass on the main tile and on each
    (pre_block_d, pre_block_t) of ``pre_tiles``: [(out, last_state)] for
    each, and the inputs."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    inputs = _dir2_inputs(device, dtype, batch, dim, seqlen)
    configs = [tk.ScanConfig(block_d, 8, 1, prefetch=True, block_t=block_t,
                             n_seg=n_seg, widen_bc=True, pre_block_d=pre_d,
                             pre_block_t=pre_t)
               for pre_d, pre_t in [(0, 0)] + list(pre_tiles)]
    return _dir2_runs(inputs, configs), inputs


@requires_triton_interpreter
def test_triton_interpreter_pre_pass_own_tile():
    """``ScanConfig.pre_block_d`` / ``pre_block_t``: a split forward whose
    pre-pass runs on another tile (a channel's states over 2 or 4 lanes,
    2-16 steps per chunk, segments rounded to its chunks) gives the
    reference's result, and the same last state and output as the main
    tile's pre-pass to fp32 rounding of the per-segment sums."""
    pre_tiles = [(16, 8), (8, 16), (16, 2)]
    (plain, *others), (u, delta, A, B, C, D, z, base) = _pre_tile_runs(
        'cpu', torch.float32, 2, 32, 45, 32, 4, 3, pre_tiles)
    flip = [t.double().flip(-1) for t in (u, delta, B, C)]
    y = selective_scan_ref(flip[0], flip[1], A.double(), flip[2], flip[3],
                           D.double()).flip(-1)  # the reverse scan
    want = 0.5 * (base.double() + y) * F.silu(z.double())
    for (out, last), tile in zip([plain] + others, [(0, 0)] + pre_tiles):
        torch.testing.assert_close(out.double(), want, rtol=1e-5,
                                   atol=1e-5 * want.abs().max().item(),
                                   msg=f'pre-pass tile {tile}')
        for got, ref in ((out, plain[0]), (last, plain[1])):
            torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-6 *
                                       ref.abs().max().item(),
                                       msg=f'pre-pass tile {tile}')


@requires_triton_interpreter
def test_pre_pass_tile_is_checked():
    """A pre-pass tile that cannot run is refused by name, before any
    launch: channels that do not divide the group, a chunk length that is
    not a power of two, a kernel without a pre-pass of its own."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    ins = make_inputs(1, 32, 16, 40, 1, dtype=torch.float32)
    args = [ins[k].detach() for k in ('u', 'delta', 'A')]
    B, C = (ins[k].detach() for k in ('B', 'C'))
    for fields, match in ((dict(pre_block_d=64), 'pre_block_d=64 must '
                           'divide'),
                          (dict(pre_block_t=12), 'pre_block_t=12 must '
                           'be a power of two'),
                          (dict(block_t=0, pre_block_d=16), 'need the '
                           'time-major forward'),
                          (dict(steps=True, pre_block_t=8), 'need the '
                           'time-major forward')):
        fields = dict(dict(block_t=4), **fields)
        cfg = tk.ScanConfig(32, 8, 1, n_seg=2, **fields)
        with pytest.raises(ValueError, match=match):
            tk.selective_scan_fwd(*args, B, C, None, None, None, True, False,
                                  config=cfg)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float32])
def test_gpu_pre_pass_own_tile_matches(dtype):
    """Compiled, the batch-8 split forward with its pre-pass on lane-split
    tiles gives the default pre-pass's outputs to rounding (Vim-Ti's 384
    channels, 16 segments)."""
    (plain, *others), _ = _pre_tile_runs(
        'cuda', dtype, 2, 384, 2049, 32, 4, 16, [(16, 8), (16, 4), (8, 16)])
    tol = {torch.bfloat16: 2**-7, torch.float32: 1e-5}[dtype]
    _assert_runs_match(others, plain, tol)


def _stages_runs(device, dtype, batch, dim, seqlen, n_seg, stages):
    """Vim's second direction (:func:`_dir2_inputs`, B and C widened to
    fp32 after their rounding to ``dtype``) split into ``n_seg`` segments
    on the batch-8 tiles (main d32 t4, pre-pass d8 t16): with the
    register prefetch, then with Triton's pipeliner at each of ``stages``
    (``ScanConfig.stages``), then pipelined on 8-step chunks (d32 t8, 4
    stages: the default with fp32 B and C)."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    u, delta, A, B, C, D, z, base = _dir2_inputs(device, dtype, batch, dim,
                                                 seqlen)
    inputs = (u, delta, A, B.float(), C.float(), D, z, base)
    assert inputs[3].stride(2) == 1  # still N-last views
    configs = [tk.ScanConfig(32, 8, 1, prefetch=True, block_t=block_t,
                             n_seg=n_seg, widen_bc=True, pre_block_d=8,
                             pre_block_t=16, stages=st)
               for st, block_t in ([(1, 4)] + [(st, 4) for st in stages]
                                   + [(4, 8)])]
    return _dir2_runs(inputs, configs)


@requires_triton_interpreter
def test_triton_interpreter_pipelined_scan():
    """``ScanConfig.stages`` (the main kernel's chunk loop as ``tl.range``
    with ``num_stages``, its register prefetch off; the pre-pass keeps
    it): a split forward with fp32 B and C gives the same output and last
    state with 2 and 3 stages, and with 4 on 8-step chunks, as with the
    register prefetch."""
    plain, *others = _stages_runs('cpu', torch.float32, 1, 32, 45, 3, (2, 3))
    _assert_runs_match(others, plain, 1e-6)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float32])
def test_gpu_pipelined_scan_matches(dtype):
    """Compiled, the pipelined split forward (``ScanConfig.stages`` 2, 3,
    4; 4 on 8-step chunks; fp32 B and C) gives the register-prefetch
    kernels' outputs to rounding (Vim-Ti's 384 channels, 16 segments)."""
    plain, *others = _stages_runs('cuda', dtype, 2, 384, 2049, 16,
                                  (2, 3, 4))
    tol = {torch.bfloat16: 2**-7, torch.float32: 1e-5}[dtype]
    _assert_runs_match(others, plain, tol)


def _unsplit_pipelined_runs(device, dtype, batch, dim, seqlen):
    """Vim's second direction (:func:`_dir2_inputs`, fp32 B and C) unsplit
    on the d16 t8 register-prefetch tile, then on the pipelined
    one-lane-per-channel tile (d32 t8, 3 stages: the long-sequence
    inference default with fp32 B and C): [(out, last_state)] of each,
    and the inputs."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    u, delta, A, B, C, D, z, base = _dir2_inputs(device, dtype, batch, dim,
                                                 seqlen)
    inputs = (u, delta, A, B.float(), C.float(), D, z, base)
    configs = [
        tk.ScanConfig(16, 8, 1, prefetch=True, block_t=8, widen_bc=True),
        tk.ScanConfig(32, 8, 1, prefetch=True, block_t=8, widen_bc=True,
                      stages=3, maxnreg=tk.TMAJOR_FWD_MAXNREG)]
    return _dir2_runs(inputs, configs), inputs


@requires_triton_interpreter
def test_triton_interpreter_unsplit_pipelined_scan():
    """The pipelined d32 t8 tile without a split (``n_seg`` 1, the
    batch-64 inference default for long sequences): the reference's
    result, and the d16 t8 register-prefetch tile's output and last
    state to fp32 rounding."""
    (plain, piped), (u, delta, A, B, C, D, z, base) = \
        _unsplit_pipelined_runs('cpu', torch.float32, 2, 32, 45)
    _assert_dir2_reference(piped[0], u, delta.double(), A, B, C, D, z, base)
    _assert_runs_match([piped], plain, 1e-6)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float32])
def test_gpu_unsplit_pipelined_scan_matches(dtype):
    """Compiled, the unsplit pipelined tile gives the register-prefetch
    d16 t8 tile's outputs to rounding (Vim-Ti's 384 channels, batch 48,
    a 4097-step sequence); with 16-bit u the launcher's default at these
    sizes is that tile, bit for bit."""
    (plain, piped), inputs = _unsplit_pipelined_runs('cuda', dtype, 48, 384,
                                                     4097)
    tol = {torch.bfloat16: 2**-7, torch.float32: 1e-5}[dtype]
    _assert_runs_match([piped], plain, tol)
    (out, last, used), = _dir2_runs_configs(inputs, [None])
    if dtype == torch.float32:  # fp32 u: not measured, the d16 t8 tile
        assert (used.block_d, used.stages) == (16, 1)
        return
    assert (used.block_d, used.block_t, used.stages, used.n_seg) == \
        (32, 8, 3, 1)
    assert torch.equal(out, piped[0]) and torch.equal(last, piped[1])


def _td_first_runs(device, dtype, batch, dim, seqlen, n_seg, softplus):
    """Vim's second direction (:func:`_dir2_inputs`, fp32 B and C) split
    into ``n_seg`` segments on the batch-8 tiles (main d32 t4, pre-pass
    8 x 16), the pre-pass's per-step math in the scan's tile, then in the
    loads' layout (``ScanConfig.pre_td_first``), and with ``softplus``
    delta's bias and softplus in the scan: [(out, last_state)] of each,
    and the inputs with the bias."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    u, delta, A, B, C, D, z, base = _dir2_inputs(device, dtype, batch, dim,
                                                 seqlen)
    B, C = B.float(), C.float()
    bias = (0.5 * torch.randn(dim, device=device) - 1.0) if softplus \
        else None
    configs = [tk.ScanConfig(32, 8, 1, prefetch=True, block_t=4,
                             n_seg=n_seg, widen_bc=True, pre_block_d=8,
                             pre_block_t=16, pre_td_first=td_first)
               for td_first in (False, True)]
    runs = _dir2_runs((u, delta, A, B, C, D, z, base), configs, bias)
    return runs, (u, delta, A, B, C, D, z, base, bias)


@requires_triton_interpreter
@pytest.mark.parametrize('softplus', [False, True],
                         ids=['vim-inference', 'bias-softplus'])
def test_triton_interpreter_pre_pass_td_first(softplus):
    """``ScanConfig.pre_td_first`` (the pre-pass's per-step math one chunk
    ahead, in the loads' layout): a split forward gives the reference's
    result, and the plain pre-pass's output and last state to fp32
    rounding of the per-segment sums, with delta as given (Vim's
    inference) and with delta's bias and softplus in the scan."""
    (plain, td), (u, delta, A, B, C, D, z, base, bias) = _td_first_runs(
        'cpu', torch.float32, 2, 32, 45, 3, softplus)
    dt = delta.double()
    if softplus:
        dt = F.softplus(dt + bias.double()[:, None])
    _assert_dir2_reference(td[0], u, dt, A, B, C, D, z, base)
    _assert_runs_match([td], plain, 1e-6)


@requires_triton_interpreter
def test_pre_pass_td_first_takes_no_stages():
    """``pre_td_first`` runs the pre-pass with its register prefetch: a
    config that also asks for its software pipeliner is refused by name."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    ins = make_inputs(1, 32, 16, 40, 1, dtype=torch.float32)
    args = [ins[k].detach() for k in ('u', 'delta', 'A', 'B', 'C')]
    cfg = tk.ScanConfig(32, 8, 1, block_t=4, n_seg=2, pre_stages=3,
                        pre_td_first=True)
    with pytest.raises(ValueError, match='pre_td_first .* no pre_stages'):
        tk.selective_scan_fwd(*args, None, None, None, True, False,
                              config=cfg)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float32])
@pytest.mark.parametrize('softplus', [False, True],
                         ids=['vim-inference', 'bias-softplus'])
def test_gpu_pre_pass_td_first_matches(dtype, softplus):
    """Compiled, the split forward with ``pre_td_first`` gives the plain
    pre-pass's outputs to rounding (Vim-Ti's 384 channels, 16 segments)."""
    (plain, td), _ = _td_first_runs('cuda', dtype, 2, 384, 2049, 16,
                                    softplus)
    tol = {torch.bfloat16: 2**-7, torch.float32: 1e-5}[dtype]
    _assert_runs_match([td], plain, tol)


def _widen_runs(device, dtype, batch, dim, seqlen):
    """The split inference forward with ``config=None`` (Vim's second
    direction, :func:`_dir2_inputs`, with delta's bias and softplus in the
    scan) on 16-bit N-last B and C, then on their fp32 copies: [(out,
    last_state, config)] of each, and the 16-bit config default_config
    gives."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    u, delta, A, B, C, D, z, base = _dir2_inputs(device, dtype, batch, dim,
                                                 seqlen)
    if dtype == torch.float32:  # else the 16-bit dtype of the inputs
        B, C = B.to(torch.float16), C.to(torch.float16)
    assert B.stride(2) == 1  # N-last views
    bias = 0.5 * torch.randn(dim, device=device) - 1.0
    runs = [_dir2_runs_configs((u, delta, A, b, c, D, z, base), [None],
                               bias)[0]
            for b, c in ((B, C), (B.float(), C.float()))]
    return runs, tk.fwd_config(u, B, False)


@requires_triton_interpreter
def test_triton_interpreter_split_forward_widens_16bit_bc():
    """With ``config=None`` a split inference forward on 16-bit B and C
    runs the pipelined 8-step main kernel on fp32 copies of them
    (:func:`fp32_bc_pays`): the config of fp32 B and C, and their output
    and last state bit for bit."""
    (narrow, wide), cfg16 = _widen_runs('cpu', torch.float32, 1, 32, 256)
    assert cfg16.n_seg > 1 and cfg16.stages > 1 and cfg16.block_t == 4
    assert narrow[2] == wide[2] and wide[2].block_t == 8
    assert torch.equal(narrow[0], wide[0]) and torch.equal(narrow[1],
                                                           wide[1])


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float32])
def test_gpu_split_forward_widens_16bit_bc(dtype):
    """Compiled, the same at Vim-Ti's 1248² batch 8 (384 channels, 6085
    steps, 16 segments): 16-bit B and C give the fp32 copies' output and
    last state bit for bit."""
    (narrow, wide), cfg16 = _widen_runs('cuda', dtype, 8, 384, 6085)
    assert cfg16.stages > 1 and narrow[2] == wide[2]
    assert torch.equal(narrow[0], wide[0]) and torch.equal(narrow[1],
                                                           wide[1])


# ------------------------------------------- triton: strided layouts


def channel_last(t):
    """``t`` (batch, dim, L) as the transpose of a (batch, L, dim) tensor."""
    return t.transpose(1, 2).contiguous().transpose(1, 2)


def z_half(t):
    """``t`` (batch, dim, L) as the z half of a (batch, L, 2 dim) tensor,
    the other half NaN: reading it (a stride mistake) poisons the result."""
    dim = t.shape[1]
    xz = torch.cat([torch.full_like(t, float('nan')), t], 1)
    return xz.transpose(1, 2).contiguous()[..., dim:].transpose(1, 2)


def every_other_channel(t):
    """``t`` as channels 0, 2, 4, ... of a contiguous (batch, 2 dim, L)
    tensor (stride 1 along L, not dense), the others NaN."""
    b, d, n = t.shape
    big = torch.full((b, d, 2, n), float('nan'), dtype=t.dtype)
    big = torch.cat([t[:, :, None], big[:, :, 1:]], 2).reshape(b, 2 * d, n)
    return big[:, ::2]


def batch_last(t):
    """``t`` with neither stride 1 along dim nor along L: memory
    (L, dim, batch)."""
    return t.permute(2, 1, 0).contiguous().permute(2, 1, 0)


# (u, delta, z, grad_out) layouts; the second: the kernels' outputs out, du,
# ddelta, dz follow u, u, delta, z: channel-last if the input is, else
# contiguous
STRIDED_LAYOUTS = {
    'vim': (channel_last, channel_last, z_half, channel_last),
    'mixed': (lambda t: t, channel_last, z_half, every_other_channel),
}
# (forward, backward) ScanConfigs forcing each kernel, and reverse
STRIDED_PATHS = {
    'lane-major': ((2, 8, 1), {}, (2, 8, 1), {}, False),
    'lane-major-prefetch-reverse': ((1, 8, 1), dict(prefetch=True),
                                    (4, 8, 1), {}, True),
    'time-major-1seg': ((4, 16, 1), dict(block_t=8), (4, 16, 1),
                        dict(block_t=8), False),
    'time-major-3seg-reverse': ((2, 16, 1), dict(block_t=4, n_seg=3),
                                (2, 16, 1), dict(block_t=4), True),
    'time-major-prefetch-2seg': ((4, 8, 1), dict(block_t=4, n_seg=2,
                                                 prefetch=True),
                                 (4, 8, 1), dict(block_t=8), False),
    'bwd-prefetch-time-major-reverse': ((2, 8, 1), dict(block_t=8),
                                        (4, 8, 1),
                                        dict(block_t=8, prefetch=True), True),
    'bwd-prefetch-lane-major': ((2, 8, 1), {}, (2, 8, 1),
                                dict(prefetch=True), False),
}


def force_configs(monkeypatch, path):
    """Make the launchers use the ScanConfigs of ``STRIDED_PATHS[path]``."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    fwd, fwd_kw, bwd, bwd_kw, reverse = STRIDED_PATHS[path]

    def config(*args, backward, **kwargs):
        if backward:
            return tk.ScanConfig(*bwd, **bwd_kw)
        return tk.ScanConfig(*fwd, **fwd_kw)

    monkeypatch.setattr(tk, 'default_config', config)
    return reverse


@pytest.fixture
def launches(monkeypatch):
    """Record every call of the Triton backend's launchers: (kind, args,
    result)."""
    from mmmamba.ops.selective_scan import triton as triton_backend
    calls = []

    def spy(kind, fn):

        def wrapped(*args, **kwargs):
            res = fn(*args, **kwargs)
            calls.append((kind, args, res))
            return res

        return wrapped

    for kind in ('fwd', 'bwd'):
        name = f'selective_scan_{kind}'
        monkeypatch.setattr(triton_backend, name,
                            spy(kind, getattr(triton_backend, name)))
    return calls


def expected_strides(t):
    """Strides of a dense tensor of t's shape in t's layout (channel-last
    if t has stride 1 along dim only, else contiguous)."""
    _, d, n = t.shape
    if t.stride(1) == 1 and t.stride(2) != 1:
        return (d * n, 1, d)
    return (d * n, n, 1)


@pytest.fixture
def tmajor_bc(monkeypatch):
    """Record (B, C, BC_NL) of every time-major forward launch: the B and
    C handed to the launch, which passes them to the kernels as they are
    when BC_NL is set (and copies them otherwise)."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    seen = []
    launch = tk.TmajorFwdLaunch.__call__

    def spy(self, u, delta, A, B, C, *args):
        seen.append((B, C, self._bc_nl))
        return launch(self, u, delta, A, B, C, *args)

    monkeypatch.setattr(tk.TmajorFwdLaunch, '__call__', spy)
    return seen


def same_memory(a, b):
    return a.data_ptr() == b.data_ptr() and a.stride() == b.stride()


def flip_ref(ins, reverse):
    """The float64 reference on copies of ``ins`` (flipped for reverse):
    (out, last, leaves)."""
    ref_ins = {
        k: None if v is None else v.detach().double().requires_grad_(True)
        for k, v in ins.items()
    }
    seq = ('u', 'delta', 'B', 'C', 'z')
    flip = (lambda t: t.flip(-1)) if reverse else (lambda t: t)
    ref, last = selective_scan_ref(
        **{k: flip(v) if k in seq else v for k, v in ref_ins.items()},
        delta_softplus=True, return_last_state=True)
    return flip(ref), last, ref_ins


@requires_triton_interpreter
@pytest.mark.parametrize('layout', list(STRIDED_LAYOUTS))
@pytest.mark.parametrize('path', list(STRIDED_PATHS))
def test_triton_strided_inputs_and_outputs(monkeypatch, launches, path,
                                           layout):
    """Every kernel with u, delta, z, grad_out in the layouts Vim produces
    (channel-last; z the strided half of a (B, L, 2E) tensor) and mixed
    ones: the launchers get the tensors themselves (no copy), outputs and
    every gradient match the float64 reference, ``out``/du/ddelta/dz come
    out in the promised layouts. L=37: ragged chunks; 2 groups."""
    reverse = force_configs(monkeypatch, path)
    ins = make_inputs(2, 8, 4, 37, 2, dtype=torch.float32)
    lay_u, lay_dt, lay_z, lay_g = STRIDED_LAYOUTS[layout]
    strided = dict(ins, u=lay_u(ins['u']), delta=lay_dt(ins['delta']),
                   z=lay_z(ins['z']))
    out, last = selective_scan(**strided, delta_softplus=True,
                               return_last_state=True, reverse=reverse,
                               backend='triton')
    ref, ref_last, ref_ins = flip_ref(ins, reverse)
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(last.double(), ref_last, rtol=1e-4,
                               atol=1e-5)
    assert out.stride() == expected_strides(strided['u'])
    grad = torch.randn_like(ref).float()
    grad_s = lay_g(grad)
    got = grads_of(out, ins, grad_s)
    want = grads_of(ref, ref_ins, grad.double())
    for k in got:
        torch.testing.assert_close(
            got[k].double(), want[k], rtol=1e-4,
            atol=1e-5 * max(1.0, want[k].abs().max().item()),
            msg=lambda m: f'd{k}: {m}')
    (_, f_args, f_res), (_, b_args, b_res) = launches
    for i, k in ((0, 'u'), (1, 'delta'), (6, 'z')):
        assert same_memory(f_args[i], strided[k]), f'{k} was copied'
        assert same_memory(b_args[i], strided[k]), f'{k} was copied'
    assert same_memory(b_args[11], grad_s), 'grad_out was copied'
    du, ddelta, dz = b_res[0], b_res[1], b_res[6]
    assert du.stride() == expected_strides(strided['u'])
    assert ddelta.stride() == expected_strides(strided['delta'])
    assert dz.stride() == expected_strides(strided['z'])


@requires_triton_interpreter
@pytest.mark.parametrize('path', ['lane-major', 'time-major-3seg-reverse'])
def test_triton_kernels_read_any_strides(monkeypatch, path):
    """The launchers with u, delta, z, grad_out with neither stride 1 along
    dim nor along L (the wrappers would copy these; the kernels must still
    be right): outputs contiguous, values those of the reference."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    reverse = force_configs(monkeypatch, path)
    ins = make_inputs(2, 8, 4, 29, 2, dtype=torch.float32)
    p = {k: None if v is None else v.detach() for k, v in ins.items()}
    u, delta, z = (batch_last(p[k]) for k in ('u', 'delta', 'z'))
    assert not any(t.stride(1) == 1 or t.stride(2) == 1
                   for t in (u, delta, z))
    out, last, states, config = tk.selective_scan_fwd(
        u, delta, p['A'], p['B'], p['C'], p['D'], z, p['delta_bias'], True,
        True, reverse=reverse)
    ref, ref_last, ref_ins = flip_ref(ins, reverse)
    assert out.is_contiguous()
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(last.double(), ref_last, rtol=1e-4,
                               atol=1e-5)
    grad = torch.randn_like(ref).float()
    du, ddelta, dA, dB, dC, dD, dz, dbias = tk.selective_scan_bwd(
        u, delta, p['A'], p['B'], p['C'], p['D'], z, p['delta_bias'], True,
        states, config.block_l, batch_last(grad), reverse=reverse)
    want = grads_of(ref, ref_ins, grad.double())
    got = dict(u=du, delta=ddelta, A=dA, B=dB, C=dC, D=dD, z=dz,
               delta_bias=dbias)
    for k in want:
        assert got[k].is_contiguous(), k
        torch.testing.assert_close(
            got[k].double(), want[k], rtol=1e-4,
            atol=1e-5 * max(1.0, want[k].abs().max().item()),
            msg=lambda m: f'd{k}: {m}')


@requires_triton_interpreter
@pytest.mark.parametrize('path', ['time-major-1seg', 'time-major-3seg-reverse',
                                  'time-major-prefetch-2seg'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_time_major_forward_reads_n_last_bc_in_place(monkeypatch, path,
                                                      dtype, tmajor_bc):
    """B and C as transposed views of contiguous (batch, G, L, N) tensors
    (the layout conv1d_silu_proj returns): the time-major forward reads
    them where they are (BC_NL, no copy), with the same output and last
    state, bit for bit, as from contiguous copies; through
    selective_scan_into too, whose 3-D B and C (one group) are such views.
    L=37: ragged chunks."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    reverse = force_configs(monkeypatch, path)
    seen = tmajor_bc
    for groups in (2, 1):
        ins = make_inputs(2, 8, 4, 37, groups, dtype=dtype)
        p = {k: None if v is None else v.detach() for k, v in ins.items()}
        n_last = {k: p[k].transpose(2, 3).contiguous().transpose(2, 3)
                  for k in ('B', 'C')}
        assert tk.is_n_last(n_last['B']) and not n_last['B'].is_contiguous()
        got = tk.selective_scan_fwd(
            p['u'], p['delta'], p['A'], n_last['B'], n_last['C'], p['D'],
            p['z'], p['delta_bias'], True, False, reverse=reverse)
        b_in, c_in, flag = seen[-1]
        assert flag and same_memory(b_in, n_last['B'])
        assert same_memory(c_in, n_last['C'])
        want = tk.selective_scan_fwd(
            p['u'], p['delta'], p['A'], p['B'], p['C'], p['D'], p['z'],
            p['delta_bias'], True, False, reverse=reverse)
        assert not seen[-1][2]  # contiguous B, C: the (batch, G, N, L) path
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    # the inference op with 3-D (batch, N, L) views (groups == 1)
    b3, c3 = (n_last[k].squeeze(1) for k in ('B', 'C'))
    out = torch.zeros_like(p['u'])
    selective_scan_into(out, p['u'], p['delta'], p['A'], b3, c3, p['D'],
                        p['z'], p['delta_bias'], delta_softplus=True,
                        reverse=reverse, out_scale=1.0, accumulate=False,
                        backend='triton')
    assert seen[-1][2] and seen[-1][0].data_ptr() == b3.data_ptr()
    assert torch.equal(out, want[0])


@requires_triton_interpreter
@pytest.mark.parametrize('path', ['time-major-1seg',
                                  'bwd-prefetch-time-major-reverse'])
def test_autograd_scan_reads_n_last_bc_in_place(monkeypatch, path,
                                                tmajor_bc):
    """selective_scan (autograd, training) with B and C as transposed views
    of contiguous (batch, G, L, N) tensors (what the Vim mixer's
    projections give): the forward reads them in place (BC_NL), and output
    and every gradient equal, bit for bit, those of contiguous B and C
    (the backward copies the views to (batch, G, N, L) itself)."""
    reverse = force_configs(monkeypatch, path)
    base = make_inputs(2, 8, 4, 37, 2, dtype=torch.float32)
    grad = torch.randn(2, 8, 37, generator=torch.Generator().manual_seed(1))
    results = []
    for n_last in (True, False):
        ins = {k: None if v is None else v.detach().clone()
               for k, v in base.items()}
        if n_last:
            for k in ('B', 'C'):
                ins[k] = ins[k].transpose(2, 3).contiguous().transpose(2, 3)
        for v in ins.values():
            if v is not None:
                v.requires_grad_()
        out = selective_scan(**ins, delta_softplus=True, reverse=reverse,
                             backend='triton')
        assert tmajor_bc[-1][2] is n_last
        out.backward(grad)
        results.append([out.detach()] + [ins[k].grad for k in sorted(ins)
                                         if ins[k] is not None])
    for got, want in zip(*results):
        assert torch.equal(got, want)


def test_scan_layout_copies_only_without_a_unit_stride():
    """scan_layout keeps contiguous and channel-last tensors (and strided
    ones with a unit stride), copies others; _like_layout allocates the
    channel-last layout only for tensors with stride 1 along dim alone."""
    pytest.importorskip('triton')
    from mmmamba.ops.selective_scan import triton_kernels as tk
    t = torch.randn(2, 3, 5)
    for keep in (t, channel_last(t), z_half(t), every_other_channel(t)):
        assert tk.scan_layout(keep) is keep
    copied = tk.scan_layout(batch_last(t))
    assert copied.is_contiguous() and torch.equal(copied, t)
    assert tk._like_layout(t).stride() == (15, 5, 1)
    assert tk._like_layout(z_half(t)).stride() == (15, 1, 3)
    assert tk._like_layout(batch_last(t)).stride() == (15, 5, 1)
    assert tk._like_layout(t, torch.float16).dtype == torch.float16
    one = torch.randn(2, 3, 1)  # L = 1: both strides 1, contiguous
    assert tk._like_layout(one.transpose(1, 2).contiguous().transpose(
        1, 2)).is_contiguous()


def test_default_config_splits_long_sequences_at_small_batch():
    """The time-major forward splits a sequence only when few programs
    would run, and never into segments shorter than the minimum; the
    backward's chunk is the forward's state spacing."""
    pytest.importorskip('triton')
    from mmmamba.ops.selective_scan import triton_kernels as tk
    small = tk.default_config(6085, 16, 384, backward=False,
                              n_rows=8 * 384, itemsize=2)
    large = tk.default_config(6085, 16, 384, backward=False,
                              n_rows=64 * 384, itemsize=2)
    short = tk.default_config(197, 16, 384, backward=False,
                              n_rows=8 * 384, itemsize=2)
    assert small.block_t and small.n_seg > 1
    assert 6085 // small.n_seg >= tk.TMAJOR_MIN_SEGMENT
    assert large.n_seg < small.n_seg
    assert short.n_seg == 1
    # without saved states at small batch (inference): 32 channels per
    # warp, a channel's 16 states in one thread; saving states, or at
    # large batch, 16 channels x 2 state lanes; prefetch everywhere
    infer = tk.default_config(6085, 16, 384, backward=False,
                              save_states=False, n_rows=8 * 384)
    infer_large = tk.default_config(6085, 16, 384, backward=False,
                                    save_states=False, n_rows=64 * 384)
    assert (small.block_d, small.block_t) == (16, 8)
    assert infer.block_d == 32 and infer.n_seg > 1
    assert infer_large.block_d == 16 and infer_large.n_seg == 1
    # inference: B and C widened where loaded and a register cap, split
    # or not; the forward that saves states for a backward: neither
    infer_short = tk.default_config(197, 16, 384, backward=False,
                                    save_states=False, n_rows=8 * 384)
    for c in (infer, infer_large, infer_short):
        assert c.maxnreg == tk.TMAJOR_FWD_MAXNREG and c.widen_bc
    for c in (small, large, short):
        assert c.maxnreg == 0 and not c.widen_bc
    assert not any(c.widen_ud for c in (infer, infer_large, small, large))
    # the split inference tile's pre-pass on 16-channel x 8-step tiles,
    # its per-step math in the loads' layout; unsplit or saving states,
    # the main kernel's tile and no such pre-pass
    assert (infer.pre_block_d, infer.pre_block_t) == (16, 8)
    assert infer.pre_td_first
    for c in (infer_large, infer_short, small, large, short):
        assert (c.pre_block_d, c.pre_block_t) == (0, 0)
        assert not c.pre_td_first
    # its main kernel's loop software-pipelined: 4 stages with fp32 B and
    # C, 3 with 16-bit ones; elsewhere not
    infer_bf16 = tk.default_config(6085, 16, 384, backward=False,
                                   save_states=False, n_rows=8 * 384,
                                   itemsize=2)
    infer_bc32 = tk.default_config(6085, 16, 384, backward=False,
                                   save_states=False, n_rows=8 * 384,
                                   itemsize=2, bc_itemsize=4)
    assert (infer.stages, infer_bf16.stages, infer_bc32.stages) == (4, 3, 4)
    # on 8-step chunks when pipelined with fp32 B and C, else 4
    assert (infer.block_t, infer_bf16.block_t, infer_bc32.block_t) == (8, 4,
                                                                       8)
    for c in (infer_large, infer_short, small, large, short):
        assert c.stages == 1
    # unsplit inference of a long sequence with 16-bit u and fp32 B and C
    # (batch 64 at 1248²): the same pipelined one-lane-per-channel tile,
    # 3 stages; with 16-bit B and C, fp32 u, a short sequence, or saving
    # states, the d16 t8 register-prefetch tile
    b64 = dict(backward=False, n_rows=64 * 384, itemsize=2)
    unsplit32 = tk.default_config(6085, 16, 384, save_states=False,
                                  bc_itemsize=4, **b64)
    assert (unsplit32.block_d, unsplit32.block_t, unsplit32.stages,
            unsplit32.n_seg) == (32, 8, 3, 1)
    assert unsplit32.maxnreg == tk.TMAJOR_FWD_MAXNREG
    assert tk.t_in_thread(unsplit32.block_d, 16, unsplit32.num_warps)
    others = (
        tk.default_config(6085, 16, 384, save_states=False, **b64),
        tk.default_config(6085, 16, 384, save_states=False,
                          n_rows=64 * 384, backward=False, itemsize=4),
        tk.default_config(tk.TMAJOR_PIPELINE_MIN_L - 1, 16, 384,
                          save_states=False, bc_itemsize=4, **b64),
        tk.default_config(tk.TMAJOR_PIPELINE_MAX_L, 16, 384,
                          save_states=False, bc_itemsize=4, **b64),
        tk.default_config(16385, 16, 384, save_states=False,
                          bc_itemsize=4, **b64),
        tk.default_config(6085, 16, 384, save_states=True, bc_itemsize=4,
                          **b64))
    for c in others:
        assert (c.block_d, c.block_t, c.stages) == (16, 8, 1)
    # so the fused Vim core asks for fp32 B and C there, and the public
    # op does not widen 16-bit ones for it
    from mmmamba.ops.selective_scan import triton_prefers_fp32_bc
    assert triton_prefers_fp32_bc(64, 384, 6085, 16, 2)
    assert not triton_prefers_fp32_bc(64, 384, 197, 16, 2)
    assert not triton_prefers_fp32_bc(64, 384, 16385, 16, 2)
    assert not triton_prefers_fp32_bc(64, 384, 6085, 16, 4)
    bf16_b = torch.empty(1, dtype=torch.bfloat16)
    assert not tk.fp32_bc_pays(others[0], bf16_b)
    assert tk.t_in_thread(infer.block_d, 16, infer.num_warps)
    assert all(c.prefetch for c in (small, large, short, infer, infer_large))
    # fewer states: no 32-channel tile (measured for N = 16 only)
    assert tk.default_config(6085, 4, 384, backward=False, save_states=False,
                             n_rows=8 * 384).block_d == 16
    # the backward: time-major chunks of the forward's state spacing with
    # prefetch, 8 channels per program; split into segments of at least
    # the minimum where few programs run and the sequence is long
    bwd = tk.default_config(6085, 16, 384, backward=True, n_rows=8 * 384)
    assert bwd.block_t == bwd.block_l == small.block_l and bwd.prefetch
    assert bwd.block_d == 8 and bwd.n_seg > 1
    assert 6085 // bwd.n_seg >= tk.TMAJOR_BWD_MIN_SEGMENT
    busy = tk.default_config(197, 16, 384, backward=True, n_rows=128 * 384)
    assert busy.block_t == busy.block_l == small.block_l
    assert busy.block_d == 8 and busy.n_seg == 1
    assert tk.default_config(6085, 16, 384, backward=True,
                             n_rows=64 * 384).n_seg == 1
    assert tk.default_config(197, 16, 384, backward=True,
                             n_rows=8 * 384).n_seg == 1
    # states saved at another spacing: the lane-major kernel, that spacing
    other = tk.default_config(197, 16, 384, backward=True, n_rows=128 * 384,
                              block_l=16)
    assert other.block_t == 0 and other.block_l == 16


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter),
])
@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups', [
    pytest.param(2, 8, 4, 37, 2, id='groups2-L37'),
    pytest.param(1, 4, 16, 20, 1, id='N16'),
    pytest.param(1, 8, 1, 70, 4, id='N1-groups4'),
])
def test_reverse_is_the_scan_of_the_flipped_sequence(backend, batch, dim,
                                                     dstate, seqlen, groups):
    """``reverse=True`` equals flipping every sequence input, scanning and
    flipping the output back: outputs, last state and all gradients
    (the float64 reference on flipped copies is the oracle)."""
    ins = make_inputs(batch, dim, dstate, seqlen, groups, dtype=torch.float32)
    out, last = selective_scan(**ins, delta_softplus=True,
                               return_last_state=True, reverse=True,
                               backend=backend)
    ref_ins = {
        k: None if v is None else v.detach().double().requires_grad_(True)
        for k, v in ins.items()
    }
    flipped = {
        k: v.flip(-1) if k in ('u', 'delta', 'B', 'C', 'z') else v
        for k, v in ref_ins.items()
    }
    ref, ref_last = selective_scan_ref(**flipped, delta_softplus=True,
                                       return_last_state=True)
    ref = ref.flip(-1)
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(last.double(), ref_last, rtol=1e-4, atol=1e-5)
    grad = torch.randn_like(ref)
    got = grads_of(out, ins, grad.to(out.dtype))
    want = grads_of(ref, ref_ins, grad)
    for k in got:
        w = want[k]
        torch.testing.assert_close(
            got[k].double(), w, rtol=1e-4,
            atol=1e-5 * max(1.0, w.abs().max().item()),
            msg=lambda m: f'd{k}: {m}')


_COMPILE_SM90 = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource, compile
from mmmamba.ops.selective_scan import triton_kernels as tk

E, L = 384, 197
low_ptrs = {'u_ptr', 'delta_ptr', 'B_ptr', 'C_ptr', 'z_ptr', 'out_ptr',
            'gout_ptr', 'du_ptr', 'ddelta_ptr', 'dz_ptr'}
# (batch, dim, L) strides per tensor: contiguous, and Vim's layout (u,
# delta, out, grad_out, du, ddelta, dz channel-last; z the half of a
# (B, L, 2E) tensor). A stride of 1 is a constexpr, as Triton specialises
# it at launch.
contiguous = (E * L, L, 1)
channel_last = (E * L, 1, E)
layouts = {
    'contiguous': dict(u=contiguous, dt=contiguous, z=contiguous,
                       o=contiguous, g=contiguous, du=contiguous,
                       ddt=contiguous, dz=contiguous),
    'vim': dict(u=channel_last, dt=channel_last, z=(2 * E * L, 1, 2 * E),
                o=channel_last, g=channel_last, du=channel_last,
                ddt=channel_last, dz=channel_last),
}


def build(fn, consts, low, strides, warps):
    sig, cx = {}, dict(consts)
    for p in fn.params:
        name = p.name
        if p.is_constexpr:
            sig[name] = 'constexpr'
        elif name.endswith('_ptr'):
            sig[name] = '*' + (low if name in low_ptrs else 'fp32')
        elif name.endswith('_scale'):
            sig[name] = 'fp32'
        elif name.startswith('s') and name[-2:] in ('_b', '_d', '_l'):
            value = strides[name[1:-2]]['bdl'.index(name[-1])]
            sig[name] = 'constexpr' if value == 1 else 'i32'
            if value == 1:
                cx[name] = 1
        else:
            sig[name] = 'i32'
    kernel = compile(ASTSource(fn=fn, signature=sig, constexprs=cx),
                     target=GPUTarget('cuda', 90, 32),
                     options=dict(num_warps=warps))
    assert len(kernel.asm['cubin']) > 0, fn.__name__
    return kernel


common = dict(HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True,
              REVERSE=True)
# contiguous fp32 with the epilogue flags off (the single-direction scan),
# Vim's layout in bf16 with them on (the bidirectional scan's second pass)
for layout, low, acc in (('contiguous', 'fp32', False), ('vim', 'bf16', True)):
    strides = layouts[layout]
    as_u = {f'{k.upper()}_AS_U': strides[k] == strides['u']
            for k in ('dt', 'z', 'g', 'du', 'ddt', 'dz')}
    as_u['OUT_AS_U'] = strides['o'] == strides['u']
    as_u['BC_NL'] = layout == 'vim'  # B, C as conv1d_silu_proj makes them
    as_u['GATE_SUM'] = acc  # Vim's inference: the gate on the sum
    as_u['WIDEN_BC'] = layout == 'vim'  # the opt-in opaque widenings
    as_u['WIDEN_UD'] = layout == 'vim'
    as_u['STAGES'] = 1  # the register prefetch's loops (or none)
    as_u['TD_FIRST'] = False  # the pre-pass's per-step math in its tile
    for fn, consts, warps in (
            # lane-major forward: N=16 and N=1 (prefetch) defaults
            (tk._selective_scan_fwd_kernel,
             dict(SAVE_STATES=True, BLOCK_D=2, BLOCK_L=16, BLOCK_N=16,
                  PREFETCH=False, ACCUMULATE=acc), 1),
            (tk._selective_scan_fwd_kernel,
             dict(SAVE_STATES=True, BLOCK_D=2, BLOCK_L=128, BLOCK_N=1,
                  PREFETCH=True, ACCUMULATE=acc), 2),
            # time-major forward (16 channels, 8 steps) and its pre-pass
            (tk._selective_scan_fwd_seg_kernel,
             dict(BLOCK_D=16, BLOCK_T=8, BLOCK_N=16, PREFETCH=True), 1),
            (tk._selective_scan_fwd_tmajor_kernel,
             dict(SAVE_STATES=True, BLOCK_D=16, BLOCK_T=8, BLOCK_N=16,
                  STATE_L=8, ACCUMULATE=acc, PREFETCH=True), 1),
            (tk._selective_scan_fwd_tmajor_kernel,
             dict(SAVE_STATES=True, BLOCK_D=16, BLOCK_T=8, BLOCK_N=16,
                  STATE_L=8, ACCUMULATE=acc, PREFETCH=False), 1),
            # inference at small batch: 32 channels, 4 steps
            (tk._selective_scan_fwd_seg_kernel,
             dict(BLOCK_D=32, BLOCK_T=4, BLOCK_N=16, PREFETCH=True), 1),
            # ... its pre-pass's default there: 16 x 8, the per-step math
            # in the loads' layout (ScanConfig.pre_td_first)
            (tk._selective_scan_fwd_seg_kernel,
             dict(BLOCK_D=16, BLOCK_T=8, BLOCK_N=16, PREFETCH=True,
                  TD_FIRST=True), 1),
            (tk._selective_scan_fwd_tmajor_kernel,
             dict(SAVE_STATES=False, BLOCK_D=32, BLOCK_T=4, BLOCK_N=16,
                  STATE_L=8, ACCUMULATE=acc, PREFETCH=True), 1),
            # ... split there, software-pipelined on 8 steps (ScanConfig.
            # stages; the default with fp32 B and C)
            (tk._selective_scan_fwd_tmajor_kernel,
             dict(SAVE_STATES=False, BLOCK_D=32, BLOCK_T=8, BLOCK_N=16,
                  STATE_L=8, ACCUMULATE=acc, PREFETCH=False, STAGES=4), 1),
            # backward: time-major defaults (8 and 4 channels, 8 steps, one
            # chunk per saved state, prefetch), time-major recomputing a
            # chunk (states every 16 steps), lane-major N=16 (with and
            # without prefetch) and N=1
            (tk._selective_scan_bwd_tmajor_kernel,
             dict(BLOCK_D=8, BLOCK_T=8, BLOCK_N=16, STATE_L=8,
                  ACCUMULATE_DZ=acc, PREFETCH=True), 1),
            (tk._selective_scan_bwd_tmajor_kernel,
             dict(BLOCK_D=4, BLOCK_T=8, BLOCK_N=16, STATE_L=8,
                  ACCUMULATE_DZ=acc, PREFETCH=True), 1),
            (tk._selective_scan_bwd_tmajor_kernel,
             dict(BLOCK_D=8, BLOCK_T=8, BLOCK_N=16, STATE_L=16,
                  ACCUMULATE_DZ=acc, PREFETCH=False), 1),
            # the backward's adjoint pre-pass (a split sequence)
            (tk._selective_scan_bwd_seg_kernel,
             dict(BLOCK_D=8, BLOCK_T=8, BLOCK_N=16,
                  Z_AS_DT=strides['z'] == strides['dt'],
                  G_AS_DT=strides['g'] == strides['dt'], PREFETCH=True), 1),
            (tk._selective_scan_bwd_kernel,
             dict(BLOCK_D=2, BLOCK_L=16, BLOCK_N=16, ACCUMULATE_DZ=acc,
                  PREFETCH=False), 1),
            (tk._selective_scan_bwd_kernel,
             dict(BLOCK_D=2, BLOCK_L=8, BLOCK_N=16, ACCUMULATE_DZ=acc,
                  PREFETCH=True), 1),
            (tk._selective_scan_bwd_kernel,
             dict(BLOCK_D=4, BLOCK_L=128, BLOCK_N=1, ACCUMULATE_DZ=acc,
                  PREFETCH=False), 4)):
        names = {p.name for p in fn.params if p.is_constexpr}
        consts = dict(dict(common, **as_u), **consts)
        consts['T_IN_THREAD'] = tk.t_in_thread(consts['BLOCK_D'],
                                               consts['BLOCK_N'], warps)
        consts = {k: v for k, v in consts.items() if k in names}
        missing = names - set(consts)
        assert not missing, (fn.__name__, missing)
        build(fn, consts, low, strides, warps)
print('compiled')
"""

# The rule t_in_thread states for Triton's default layouts of time-major
# tiles, against the layouts the compiler picks: threads and warps along
# T (dim 0 of the (T, N, D) tiles) exactly when the rule says no.
_LAYOUT_RULE = _COMPILE_SM90.split('\ncommon = dict(')[0] + r"""
import re
strides = layouts['vim']
as_u = {f'{k.upper()}_AS_U': strides[k] == strides['u']
        for k in ('dt', 'z', 'g', 'du', 'ddt', 'dz', 'o')}
fn = tk._selective_scan_fwd_tmajor_kernel
names = {p.name for p in fn.params if p.is_constexpr}
for bd, n, w in ((4, 4, 1), (8, 4, 1), (2, 16, 2), (16, 16, 2), (16, 4, 2)):
    rule = tk.t_in_thread(bd, n, w)
    consts = dict(HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True,
                  REVERSE=False, SAVE_STATES=True, ACCUMULATE=False,
                  BLOCK_D=bd, BLOCK_T=8, BLOCK_N=n, STATE_L=8,
                  T_IN_THREAD=rule, PREFETCH=False, BC_NL=True,
                  GATE_SUM=False, **as_u)
    kernel = build(fn, {k: v for k, v in consts.items() if k in names},
                   'bf16', strides, w)
    t_split = []
    for lay in re.findall(r'#ttg.blocked<\{([^}]*)\}>', kernel.asm['ttgir']):
        lanes = re.search(r'threadsPerWarp = \[([^]]*)\]', lay).group(1)
        warps = re.search(r'warpsPerCTA = \[([^]]*)\]', lay).group(1)
        lanes, warps = lanes.split(','), warps.split(',')
        if len(lanes) == 3:
            t_split.append(int(lanes[0]) * int(warps[0]) > 1)
    assert t_split, (bd, n, w, 'no rank-3 layout')
    assert any(t_split) != rule, (bd, n, w, rule, t_split)
print('rule holds')
"""


_STEPS_LAYOUT = _COMPILE_SM90.split('\ncommon = dict(')[0] + r"""
import re
from mmmamba.ops.selective_scan import triton_steps as ts
strides = dict(layouts['vim'], bc=(32 * L, 0, 32))
for fn, extra in ((ts._selective_scan_fwd_steps_kernel,
                   dict(SAVE_STATES=True, ACCUMULATE=True, STATE_L=8,
                        Z_AS_U=False, OUT_AS_U=True)),
                  (ts._selective_scan_fwd_steps_seg_kernel, {})):
    for bd in (32, ):
        consts = dict(HAS_BIAS=True, SOFTPLUS=True, BLOCK_D=bd, BLOCK_T=8,
                      BLOCK_N=16, REVERSE=True, DT_AS_U=True, EVEN_N=True,
                      FAST_MATH=True, **extra)
        if 'HAS_D' in {p.name for p in fn.params}:
            consts.update(HAS_D=True, HAS_Z=True)
        kernel = build(fn, consts, 'bf16', strides, 1)
        lanes = [re.search(r'threadsPerWarp = \[([^]]*)\]', lay).group(1)
                 for lay in re.findall(r'#ttg.blocked<\{([^}]*)\}>',
                                       kernel.asm['ttgir'])]
        two_d = [x.replace(' ', '') for x in lanes if ',' in x]
        assert two_d == ['1,32'], (fn.__name__, bd, two_d)
        assert kernel.metadata.shared == 0, (fn.__name__, bd,
                                             kernel.metadata.shared)
print('states in-thread')
"""


_TMAJOR_STATE_LAYOUT = _COMPILE_SM90.split('\ncommon = dict(')[0] + r"""
import re
strides = layouts['vim']
fn = tk._selective_scan_fwd_tmajor_kernel
names = {p.name for p in fn.params if p.is_constexpr}
# the defaults' tiles, without and with the opt-in widenings
for bd, bt, pf, widen in ((16, 8, True, False), (32, 4, True, False),
                          (16, 8, False, False), (16, 8, True, True),
                          (32, 4, True, True)):
    consts = dict(HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True,
                  REVERSE=False, SAVE_STATES=False, ACCUMULATE=True,
                  BLOCK_D=bd, BLOCK_T=bt, BLOCK_N=16, STATE_L=8,
                  T_IN_THREAD=True, PREFETCH=pf, DT_AS_U=True,
                  Z_AS_U=False, OUT_AS_U=True, BC_NL=True, GATE_SUM=True,
                  WIDEN_BC=widen, WIDEN_UD=widen, STAGES=1)
    assert set(consts) == names, names ^ set(consts)
    ttgir = build(fn, consts, 'bf16', strides, 1).asm['ttgir']
    nd = f'tensor<16x{bd}x!tt.ptr'
    access = [line for line in ttgir.splitlines()
              if ('tt.load' in line or 'tt.store' in line) and nd in line]
    assert not access, (bd, bt, access[:2])
print('no 2-D state access')
"""


@requires_triton
def test_time_major_forward_loads_state_tiles_as_rows():
    """The time-major forward (inference: no saved states) compiles
    (offline, sm_90) with no 2-D load or store of an (N, D) tile. A 2-D
    load of A or of the segment states (N-contiguous in memory) made
    Triton lay the loop-carried state out with lanes on N and convert it
    through shared memory twice per chunk (Triton 3.6: 16.7 instructions
    per state update against 15.6 without, benchmarks/NOTES.md, session
    of 2026-12-03, fifth part); this fails if such an access comes back."""
    out = run_compiler_script(_TMAJOR_STATE_LAYOUT, timeout=600)
    assert out.strip().endswith('no 2-D state access')


@requires_triton
def test_step_loop_kernels_keep_a_channels_states_in_one_thread():
    """The step-loop kernels' (N, D) state tiles compile (offline, sm_90)
    to the layout their design needs at 32 channels per warp: lanes on
    channels only (a channel's 16 states in one thread), one 2-D layout
    and no shared memory, i.e. no per-step layout conversion.
    A 2-D load of A or of saved states made Triton 3.6 put lanes on N
    (threadsPerWarp [16, 2]) and convert every step's values through
    shared memory; this fails if that comes back."""
    out = run_compiler_script(_STEPS_LAYOUT, timeout=600)
    assert out.strip().endswith('states in-thread')


@requires_triton
def test_time_major_layout_rule_matches_compiler():
    """``t_in_thread`` (which step reductions the time-major kernels use)
    predicts where Triton's compiler puts lanes and warps: compiled offline
    for sm_90 at tiles on both sides of the rule, the (T, N, D) layouts
    spread T over lanes or warps exactly when it says they do."""
    out = run_compiler_script(_LAYOUT_RULE, timeout=600)
    assert out.strip().endswith('rule holds')


_WIDEN_PTX = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from mmmamba.ops import triton_math
from mmmamba.ops.selective_scan import triton_kernels as tk
from mmmamba.testing.sm90 import compile_sm90
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource, compile

# the time-major forward and its pre-pass with B, C, u and delta widened
# where they are loaded (ScanConfig.widen_bc, widen_ud): bf16 and fp16,
# sm_90 and sm_80
low = {'u', 'delta', 'B', 'C', 'z', 'out'}
fwd = dict(HAS_D=True, HAS_Z=True, HAS_BIAS=False, SOFTPLUS=False,
           SAVE_STATES=False, BLOCK_D=16, BLOCK_T=8, BLOCK_N=16, STATE_L=8,
           REVERSE=True, ACCUMULATE=True, DT_AS_U=True, Z_AS_U=False,
           OUT_AS_U=True, T_IN_THREAD=True, PREFETCH=True, BC_NL=True,
           GATE_SUM=True, WIDEN_BC=True, WIDEN_UD=True, STAGES=1)
seg = {k: fwd[k] for k in ('HAS_BIAS', 'SOFTPLUS', 'BLOCK_D', 'BLOCK_T',
                           'BLOCK_N', 'REVERSE', 'DT_AS_U', 'T_IN_THREAD',
                           'PREFETCH', 'BC_NL', 'WIDEN_BC', 'WIDEN_UD',
                           'STAGES')}
seg['TD_FIRST'] = False
# an inline-asm block (PTX marks them) that holds the conversion
want = {
    'bf16': triton_math.BF16_TO_F32_PTX.value.split(';')[1].strip(),
    'fp16': triton_math.F16_TO_F32_PTX.value.split(' ')[0]}


def has_asm(ptx, text):
    return any(text in block.split('// end inline asm')[0]
               for block in ptx.split('// begin inline asm')[1:])


for dtype in ('bf16', 'fp16'):
    for fn, consts in ((tk._selective_scan_fwd_tmajor_kernel, fwd),
                       (tk._selective_scan_fwd_seg_kernel, seg)):
        k = compile_sm90(fn, consts, dtype, low)
        ptx = k.asm['ptx']
        assert has_asm(ptx, want[dtype]), (dtype, fn.__name__)
        assert len(k.asm['cubin']) > 0
    # sm_80 (A100): the same PTX assembles
    sig = {n: ('constexpr' if n in fwd else ('*' + (dtype if n[:-4] in low
                                                   else 'fp32'))
               if n.endswith('_ptr') else 'fp32' if n.endswith('_scale')
               else 'i32')
           for n in tk._selective_scan_fwd_tmajor_kernel.arg_names}
    k = compile(ASTSource(fn=tk._selective_scan_fwd_tmajor_kernel,
                          signature=sig, constexprs=fwd),
                target=GPUTarget('cuda', 80, 32), options=dict(num_warps=1))
    assert has_asm(k.asm['ptx'], want[dtype]) and len(k.asm['cubin']) > 0
# the pre-pass on its own (lane-split) tiles (ScanConfig.pre_block_d / _t)
for block_d, block_t in ((16, 8), (16, 4), (8, 16)):
    k = compile_sm90(tk._selective_scan_fwd_seg_kernel,
                     dict(seg, BLOCK_D=block_d, BLOCK_T=block_t,
                          WIDEN_UD=False), 'bf16', low)
    assert has_asm(k.asm['ptx'], want['bf16']) and len(k.asm['cubin']) > 0
print('compiled')
"""


@requires_triton
def test_widened_bc_compiles_for_sm80_and_sm90():
    """``ScanConfig.widen_bc``'s inline-asm widening of B and C (the
    interpreter runs ``.to`` instead, so only a compile checks it): the
    time-major forward and its pre-pass compile for sm_90 and the forward
    for sm_80 with bf16 and fp16 B/C, and their PTX holds the conversion;
    so does the pre-pass on the lane-split tiles ``pre_block_d`` /
    ``pre_block_t`` give it."""
    out = run_compiler_script(_WIDEN_PTX, timeout=600)
    assert out.strip().endswith('compiled')


_PIPELINED = _WIDEN_PTX.split('\n# an inline-asm block')[0] + r"""
# ScanConfig.stages: both time-major forward kernels on batch-8 tiles
# (main d32 t4, pre-pass d8 t16) with fp32 B and C; with 3 stages the
# chunk loop loads through asynchronous copies to shared memory, with 1
# through none
low32 = low - {'B', 'C'}
for fn, consts in ((tk._selective_scan_fwd_tmajor_kernel,
                    dict(fwd, BLOCK_D=32, BLOCK_T=4, WIDEN_UD=False)),
                   (tk._selective_scan_fwd_seg_kernel,
                    dict(seg, BLOCK_D=8, BLOCK_T=16, WIDEN_UD=False))):
    counts = []
    for stages in (1, 3):
        ptx = compile_sm90(fn, dict(consts, STAGES=stages,
                                    PREFETCH=stages == 1),
                           'bf16', low32).asm['ptx']
        counts.append((ptx.count('cp.async.cg') + ptx.count('cp.async.ca'),
                       ptx.count('ld.global')))
    print(fn.__name__, counts)
    (copies1, loads1), (copies3, loads3) = counts
    assert copies1 == 0 and copies3 > 0 and loads3 < loads1, counts
print('pipelined')
"""


_TD_FIRST = _WIDEN_PTX.split('\n# an inline-asm block')[0] + r"""
# ScanConfig.pre_td_first: the 8 x 16 pre-pass with delta's bias and
# softplus; its MUFU log2s (one per softplus) counted in the PTX
low32 = low - {'B', 'C'}
consts = dict(seg, BLOCK_D=8, BLOCK_T=16, WIDEN_UD=False, HAS_BIAS=True,
              SOFTPLUS=True)
logs = [compile_sm90(tk._selective_scan_fwd_seg_kernel,
                     dict(consts, TD_FIRST=td), 'bf16', low32,
                     num_warps=1).asm['ptx'].count('lg2.approx')
        for td in (False, True)]
print('lg2', logs)
"""


@requires_triton
def test_pipelined_scan_loads_asynchronously():
    """``ScanConfig.stages`` relies on Triton's pipeliner taking the chunk
    loops' loads, which it does for loops without a dot only when asked
    (``tl.range(num_stages=...)``): compiled for sm_90 with 3 stages the
    time-major forward and its pre-pass load through asynchronous copies
    only, with 1 stage through none."""
    out = run_compiler_script(_PIPELINED, timeout=600)
    assert out.strip().endswith('pipelined')


@requires_triton
def test_pre_pass_td_first_softplus_once_per_value():
    """``ScanConfig.pre_td_first`` exists to run the pre-pass's per-step
    math once per value: compiled for sm_90 at Vim's 8 x 16 pre-pass tile
    (one warp; a value on four lanes of the scan's tile, on one of the
    loads'), the td-first kernel takes 4 softplus log2s per thread in the
    chunk loop and 4 for the first chunk before it: 8 in all. (The plain
    kernel takes 4 with Triton 3.8, which places the conversion after the
    math itself, and 20 with the device's Triton 3.6: 16 of them in the
    loop, its channel's 16 steps, NOTES 2026-12-05 seventh part.)"""
    out = run_compiler_script(_TD_FIRST, timeout=600)
    plain, td = map(int, re.search(r'lg2 \[(\d+), (\d+)\]$',
                                   out.strip()).groups())
    assert td == 8, out[-500:]
    assert plain >= 4, out[-500:]  # at least one per value


@requires_triton
def test_kernels_compile_for_sm90():
    """The interpreter runs the kernels' Python, not the compiler: compile
    every selective-scan kernel for sm_90 offline (PTX and ptxas, no GPU)
    in a process without TRITON_INTERPRET, at the default tile
    configurations, with contiguous tensors and with Vim's strided layout
    plus the bidirectional scan's epilogue flags (ACCUMULATE,
    ACCUMULATE_DZ), unit strides specialised as at launch."""
    out = run_compiler_script(_COMPILE_SM90, timeout=600)
    assert out.strip().endswith('compiled')


# ---------------------------------------------------------------- GPU

GPU_CASES = [
    pytest.param(8, 384, 16, 197, 1, id='vim-ti-224'),
    pytest.param(2, 384, 16, 6085, 1, id='vim-ti-1248'),
    pytest.param(4, 384, 1, 3136, 4, id='vmamba-t-stage1'),
    pytest.param(3, 64, 4, 1000, 2, id='odd'),
]
GPU_TOL = {  # (rtol, atol relative to max |ref|)
    torch.float32: (6e-4, 2e-4),
    torch.float16: (3e-3, 3e-3),
    torch.bfloat16: (3e-2, 2e-2),
}


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('dtype', list(GPU_TOL))
@pytest.mark.parametrize('backend', [
    pytest.param('triton', marks=requires_triton),
    pytest.param('mamba_ssm', marks=requires_mamba_ssm),
    'reference',
])
@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups', GPU_CASES)
def test_gpu_backend_matches_fp32_reference(backend, dtype, batch, dim,
                                            dstate, seqlen, groups):
    ins = make_inputs(batch, dim, dstate, seqlen, groups, dtype=dtype,
                      device='cuda')
    rtol, atol = GPU_TOL[dtype]
    _assert_backend_matches_reference(backend, ins, True, rtol, atol)


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('batch,dim,dstate,seqlen,n_seg,block_d,reverse', [
    pytest.param(2, 384, 16, 6085, 8, 32, False, id='vim-ti-1248-8segs'),
    pytest.param(8, 384, 16, 197, 1, 32, True, id='vim-ti-224-reverse'),
    pytest.param(3, 64, 5, 1000, 3, 16, True, id='odd-N5-d16'),
])
def test_gpu_step_loop_forward_matches_time_major(dtype, batch, dim, dstate,
                                                  seqlen, n_seg, block_d,
                                                  reverse):
    """The compiled step-loop forward (MUFU log in its softplus, loads two
    steps ahead) on the GPU against the time-major forward on the same
    channel-last tensors: the output (added onto a given ``out``), the last
    state and the saved states, which the backward then turns into the
    same gradients."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    ins = make_inputs(batch, dim, dstate, seqlen, 1, dtype=dtype,
                      device='cuda')
    u, delta, z = (channel_last(ins[k].detach())
                   for k in ('u', 'delta', 'z'))
    A, B, C, D, bias = (ins[k].detach()
                        for k in ('A', 'B', 'C', 'D', 'delta_bias'))
    base = channel_last(torch.randn(batch, dim, seqlen, device='cuda',
                                    dtype=dtype))
    results = []
    for cfg in (tk.ScanConfig(block_d, 8, 1, block_t=8, n_seg=n_seg,
                              steps=True),
                tk.ScanConfig(4, 8, 1, block_t=8, n_seg=n_seg)):
        results.append(tk.selective_scan_fwd(
            u, delta, A, B, C, D, z, bias, True, True, config=cfg,
            reverse=reverse, out=base.clone(), out_scale=0.5))
    (out, last, states, _), (out_t, last_t, states_t, _) = results
    rtol, atol = GPU_TOL[dtype]
    scale = out_t.float().abs().max().item()
    torch.testing.assert_close(out.float(), out_t.float(), rtol=rtol,
                               atol=atol * scale)
    torch.testing.assert_close(last, last_t, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(states, states_t, rtol=1e-4, atol=1e-5)
    grad = channel_last(torch.randn_like(out))
    g, g_t = (tk.selective_scan_bwd(u, delta, A, B, C, D, z, bias, True, s,
                                    8, grad, reverse=reverse)[:6]
              for s in (states, states_t))
    g_rtol, g_atol = (1e-4, 1e-5) if dtype == torch.float32 else (1e-2, 1e-3)
    for a, b in zip(g, g_t):  # bf16 du, ddelta: one rounding apart
        torch.testing.assert_close(a.float(), b.float(), rtol=g_rtol,
                                   atol=g_atol * b.float().abs().max().item())


@requires_triton_interpreter
@pytest.mark.parametrize('mode', list(GRAD_MODES))
def test_triton_saves_states_only_when_grad_is_needed(monkeypatch, mode):
    """The Triton scan's autograd Function saves the backward's chunk states
    exactly when a gradient will be taken: not under ``torch.no_grad`` or
    ``inference_mode`` although its inputs (a model's parameters, say)
    require grad."""
    from mmmamba.ops.selective_scan import triton as mod
    ins = make_inputs(1, 4, 2, 12, 1, dtype=torch.float32)

    def run():
        return selective_scan(**ins, delta_softplus=True, backend='triton')

    check_saves_states_only_with_grad(monkeypatch, mod,
                                      'selective_scan_fwd', 9, run, mode)
