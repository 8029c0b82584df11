# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.bidir_selective_scan``, Vim's two scan directions
in one call with the sum fused (Triton).

The oracle is its definition: ``out_scale * (selective_scan_ref(forward
direction) + selective_scan_ref(backward direction on flipped inputs,
flipped back))`` in float64. Tier 1 (CPU): the reference backend, and the
Triton kernels in the interpreter (TRITON_INTERPRET=1, set by conftest)
through every kernel path, with Vim's layouts (channel-last u / delta, z
the strided half of a (B, L, 2E) tensor, channel-last grad_out) and
contiguous ones; ``torch.compile(fullgraph=True)`` through the custom ops.
Tier 2 (marked ``gpu``): Vim-Ti sizes in fp32 / bf16 against the fp32
oracle.
"""
from typing import Dict, Optional

import pytest
import torch

from mmmamba.ops import (bidir_selective_scan, selective_scan_into,
                         selective_scan_ref)
from mmmamba.testing import (GRAD_MODES, check_saves_states_only_with_grad,
                             requires_cuda, requires_triton,
                             requires_triton_interpreter)

DIR_NAMES = ('u', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')


def make_inputs(batch, dim, dstate, seqlen, groups=1, *, has_d=True,
                has_bias=True, has_z=True, bc_3d=False, dtype=torch.float32,
                device='cpu', seed=0) -> Dict[str, Optional[torch.Tensor]]:
    """Leaf tensors ``u_f, delta_f, ..., delta_bias_b, z`` (A, D and the
    biases fp32 unless float64), each direction with its own values."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    if bc_3d:
        bc = (batch, dstate, seqlen)
    else:
        bc = (batch, groups, dstate, seqlen)
    ins = {}
    for s in ('f', 'b'):
        ins.update({
            f'u_{s}': rnd(batch, dim, seqlen),
            f'delta_{s}': rnd(batch, dim, seqlen, scale=0.5),
            f'A_{s}': -torch.rand(dim, dstate, generator=g,
                                  dtype=torch.float64) * 2 - 0.1,
            f'B_{s}': rnd(*bc),
            f'C_{s}': rnd(*bc),
            f'D_{s}': rnd(dim) if has_d else None,
            f'delta_bias_{s}': rnd(dim, scale=0.5) if has_bias else None,
        })
    ins['z'] = rnd(batch, dim, seqlen) if has_z else None
    out = {}
    for k, v in ins.items():
        if v is None:
            out[k] = None
            continue
        low = k.split('_')[0] in ('A', 'D') or k.startswith('delta_bias')
        dt = torch.float32 if low and dtype != torch.float64 else dtype
        out[k] = v.to(device=device, dtype=dt).requires_grad_(True)
    return out


def call(fn, ins, out_scale=0.5, **kwargs):
    """``fn`` with bidir_selective_scan's positional convention."""
    args = [ins[f'{k}_{s}'] for s in ('f', 'b') for k in DIR_NAMES]
    return fn(*args, ins['z'], True, out_scale, **kwargs)


def oracle(ins, out_scale=0.5):
    """The definition, in float64, on detached copies: (out, leaves)."""
    leaves = {
        k: None if v is None else v.detach().double().requires_grad_(True)
        for k, v in ins.items()
    }
    z = leaves['z']

    def direction(s, flip):
        f = (lambda t: None if t is None else t.flip(-1)) if flip else (
            lambda t: t)
        d = {k: leaves[f'{k}_{s}'] for k in DIR_NAMES}
        y = selective_scan_ref(f(d['u']), f(d['delta']), d['A'], f(d['B']),
                               f(d['C']), d['D'], f(z), d['delta_bias'],
                               delta_softplus=True)
        return f(y)

    return out_scale * (direction('f', False) + direction('b', True)), leaves


def grads_of(out, ins, grad):
    keys = [k for k, v in ins.items() if v is not None]
    return dict(zip(keys, torch.autograd.grad(out, [ins[k] for k in keys],
                                              grad)))


def vim_layout(ins):
    """Vim's layouts: u, delta channel-last, z the strided half of a
    (B, L, 2E) tensor whose other half is NaN. Differentiable views of the
    leaves, so gradients still land on them."""

    def channel_last(t):
        return t.transpose(1, 2).contiguous().transpose(1, 2)

    out = dict(ins)
    for k in ('u_f', 'delta_f', 'u_b', 'delta_b'):
        out[k] = channel_last(ins[k])
    z = ins['z']
    if z is not None:
        dim = z.shape[1]
        xz = torch.cat([torch.full_like(z, float('nan')), z], 1)
        out['z'] = xz.transpose(1, 2).contiguous()[..., dim:].transpose(1, 2)
    return out


def assert_matches_oracle(ins, backend, rtol, atol, layout=None,
                          out_scale=0.5):
    """Output and every gradient (dz included) of ``bidir_selective_scan``
    against :func:`oracle`; ``layout`` maps the leaves to the tensors
    passed (gradients are compared at the leaves); grad_out channel-last
    when it is Vim's layout."""
    passed = layout(ins) if layout else ins
    out = call(bidir_selective_scan, passed, out_scale, backend=backend)
    assert out.dtype == ins['u_f'].dtype
    ref, leaves = oracle(ins, out_scale)
    scale = max(1.0, ref.abs().max().item())
    torch.testing.assert_close(out.double(), ref, rtol=rtol,
                               atol=atol * scale)
    grad = torch.randn_like(ref)
    grad_out = grad.to(out.dtype)
    if layout is vim_layout:
        grad_out = grad_out.transpose(1, 2).contiguous().transpose(1, 2)
    got = grads_of(out, ins, grad_out)
    want = grads_of(ref, leaves, grad)
    assert set(got) == set(want)
    for k in got:
        assert got[k].dtype == ins[k].dtype, k
        torch.testing.assert_close(
            got[k].double(), want[k], rtol=rtol,
            atol=atol * max(1.0, want[k].abs().max().item()),
            msg=lambda m: f'd{k}: {m}')
    return out


# (batch, dim, dstate, seqlen, groups, options)
CASES = [
    pytest.param(2, 8, 4, 37, 2, {}, id='groups2-L37'),
    pytest.param(1, 4, 16, 21, 1, dict(bc_3d=True), id='N16-G1-BC3d-L21'),
    pytest.param(2, 8, 4, 19, 1, dict(has_d=False, has_bias=False),
                 id='no-D-bias-L19'),
    pytest.param(1, 8, 3, 23, 4, dict(has_z=False), id='no-z-groups4'),
]


@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups,opts', CASES)
def test_reference_backend_matches_definition(batch, dim, dstate, seqlen,
                                              groups, opts):
    ins = make_inputs(batch, dim, dstate, seqlen, groups,
                      dtype=torch.float64, **opts)
    assert_matches_oracle(ins, 'reference', 1e-10, 1e-10)
    # out_scale 1: the plain sum
    assert_matches_oracle(ins, 'reference', 1e-10, 1e-10, out_scale=1.0)


# (forward, backward) ScanConfigs forcing each kernel
PATHS = {
    'lane-major': ((2, 8, 1), {}, (2, 8, 1), {}),
    'time-major-1seg': ((4, 16, 1), dict(block_t=8), (4, 16, 1),
                        dict(block_t=8)),
    'time-major-3seg-tbwd4': ((2, 16, 1), dict(block_t=4, n_seg=3),
                              (2, 16, 1), dict(block_t=4)),
}


def force_path(monkeypatch, path):
    from mmmamba.ops.selective_scan import triton_kernels as tk
    fwd, fwd_kw, bwd, bwd_kw = PATHS[path]

    def config(*args, backward, **kwargs):
        if backward:
            return tk.ScanConfig(*bwd, **bwd_kw)
        return tk.ScanConfig(*fwd, **fwd_kw)

    monkeypatch.setattr(tk, 'default_config', config)


@requires_triton_interpreter
@pytest.mark.parametrize('layout', ['vim', 'contiguous'])
@pytest.mark.parametrize('path', list(PATHS))
def test_triton_kernel_paths_match_definition(monkeypatch, path, layout):
    """Each forward kernel writing (ACCUMULATE off) then adding (on) the
    scaled directions, each backward kernel reading the scaled grad_out and
    accumulating dz: out and all gradients (dz included) equal the sum of
    two reference scans; with Vim's layouts ``out`` comes out channel-last
    and nothing is copied."""
    from mmmamba.ops.selective_scan import triton as triton_backend
    force_path(monkeypatch, path)
    calls = []
    for kind in ('fwd', 'bwd'):
        name = f'selective_scan_{kind}'
        fn = getattr(triton_backend, name)

        def spy(*args, _fn=fn, _kind=kind, **kwargs):
            res = _fn(*args, **kwargs)
            calls.append((_kind, args, kwargs, res))
            return res

        monkeypatch.setattr(triton_backend, name, spy)
    ins = make_inputs(2, 8, 4, 37, 2)
    out = assert_matches_oracle(
        ins, 'triton', 1e-4, 1e-5,
        layout=vim_layout if layout == 'vim' else None)
    dim, seqlen = 8, 37
    if layout == 'vim':
        assert out.stride() == (dim * seqlen, 1, dim)
    else:
        assert out.is_contiguous()
    # one output: the reverse direction's forward adds into the forward's
    (k1, _, kw1, r1), (k2, _, kw2, r2) = calls[:2]
    assert (k1, k2) == ('fwd', 'fwd')
    assert 'out' not in kw1 and kw2['out'] is r1[0] and r2[0] is r1[0]
    assert kw1['out_scale'] == kw2['out_scale'] == 0.5
    # one dz: the reverse direction's backward accumulates into the first
    (k3, _, kw3, r3), (k4, _, kw4, r4) = calls[2:]
    assert (k3, k4) == ('bwd', 'bwd')
    assert kw4['dz'] is r3[6] and r4[6] is r3[6]
    assert kw3['grad_scale'] == kw4['grad_scale'] == 0.5
    if layout == 'vim':
        assert r3[6].stride() == (dim * seqlen, 1, dim)


@requires_triton_interpreter
@pytest.mark.parametrize('batch,dim,dstate,seqlen,groups,opts', CASES)
def test_triton_matches_definition(batch, dim, dstate, seqlen, groups,
                                   opts):
    """Default configurations; with and without D / delta_bias / z, one
    group with 3-D B and C, ragged lengths."""
    ins = make_inputs(batch, dim, dstate, seqlen, groups, **opts)
    assert_matches_oracle(ins, 'triton', 1e-4, 1e-5, layout=vim_layout)


@requires_triton_interpreter
def test_triton_matches_reference_backend_with_other_scale():
    """Triton against the reference backend's composition (not the float64
    oracle), contiguous inputs and out_scale 1."""
    ins = make_inputs(2, 4, 4, 25, 1)
    got = call(bidir_selective_scan, ins, 1.0, backend='triton')
    want = call(bidir_selective_scan, ins, 1.0, backend='reference')
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    grad = torch.randn_like(want)
    g1, g2 = grads_of(got, ins, grad), grads_of(want, ins, grad)
    for k in g1:
        torch.testing.assert_close(g1[k], g2[k], rtol=1e-4, atol=1e-4,
                                   msg=lambda m: f'd{k}: {m}')


@requires_triton_interpreter
def test_triton_bf16_in_the_interpreter():
    """bf16 u, delta, B, C, z: fp32 accumulation, out and gradients in the
    input dtypes within bf16 rounding (dz is rounded twice, once per
    direction)."""
    ins = make_inputs(1, 4, 4, 20, 1, dtype=torch.bfloat16)
    assert_matches_oracle(ins, 'triton', 3e-2, 2e-2, layout=vim_layout)


def test_bad_inputs_name_the_direction():
    ins = make_inputs(2, 4, 3, 10, 1)
    bad = dict(ins, D_b=torch.randn(3))
    with pytest.raises(ValueError, match='backward direction.*D must be'):
        call(bidir_selective_scan, bad, backend='reference')
    bad = dict(ins, delta_f=ins['delta_f'][..., :5])
    with pytest.raises(ValueError, match='forward direction.*delta must'):
        call(bidir_selective_scan, bad, backend='reference')
    bad = dict(ins, u_b=ins['u_b'][:1], delta_b=ins['delta_b'][:1],
               B_b=ins['B_b'][:1], C_b=ins['C_b'][:1], z=None)
    with pytest.raises(ValueError, match='u_b must have the shape of u_f'):
        call(bidir_selective_scan, bad, backend='reference')


# ------------------------------------------------------------ compile


def _op_names(gm):
    return [
        str(n.target) for n in gm.graph.nodes if n.op == 'call_function'
        and str(n.target).startswith('mmmamba.')
    ]


def _check_compiles(ins, backend, expect_op, layout=None):
    """One graph, no break, the expected op in it; fullgraph compiled
    (aot_eager) equals eager, output and every gradient."""

    def fn(**kw):
        return call(bidir_selective_scan, kw, backend=backend)

    passed = layout(ins) if layout else ins
    explain = torch._dynamo.explain(fn)(**passed)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    assert explain.graph_count == 1
    names = _op_names(explain.graphs[0])
    assert any(n.startswith(expect_op) for n in names), names
    want = fn(**passed)
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend='aot_eager')
    got = compiled(**(layout(ins) if layout else ins))
    if backend == 'triton':  # the shape functions' strides are the kernels'
        assert got.stride() == want.stride()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    grad = torch.randn_like(want)
    g1, g2 = grads_of(got, ins, grad), grads_of(want, ins, grad)
    for k in g2:
        torch.testing.assert_close(g1[k], g2[k], rtol=1e-5, atol=1e-6,
                                   msg=lambda m: f'd{k}: {m}')
    with torch.no_grad():
        torch.testing.assert_close(compiled(**passed), want, rtol=1e-5,
                                   atol=1e-6)


@requires_triton_interpreter
@pytest.mark.parametrize('layout', ['vim', 'contiguous'])
def test_triton_compiles_fullgraph(layout):
    """The Triton bidirectional scan through its custom ops under
    torch.compile(fullgraph=True): no graph break, equal to eager (which
    the tests above check against the definition)."""
    ins = make_inputs(2, 4, 4, 19, 1, bc_3d=layout == 'vim')
    _check_compiles(ins, 'triton', 'mmmamba.bidir_selective_scan_triton_fwd',
                    vim_layout if layout == 'vim' else None)


def test_reference_compiles_fullgraph():
    ins = make_inputs(2, 4, 3, 19, 1, has_d=False)
    _check_compiles(ins, 'reference', 'mmmamba.selective_scan_ref_fwd')


@requires_triton_interpreter
def test_triton_custom_ops_opcheck():
    """Schemas, shape functions (strides: channel-last out and dz for
    Vim's layouts) and the registered backward of the bidirectional
    custom ops."""
    from mmmamba.ops.selective_scan import triton as tb
    ins = vim_layout(make_inputs(1, 4, 2, 12, 1))
    args = tuple(ins[f'{k}_{s}'] for s in ('f', 'b') for k in DIR_NAMES)
    args += (ins['z'], )
    bl = tb._forward_block_l(ins['u_f'], ins['B_f'], True)
    torch.library.opcheck(tb._bidir_fwd_op, args + (True, 0.5, True, bl, bl))
    plain = tuple(None if t is None else t.detach() for t in args)
    out, states_f, states_b = tb._bidir_fwd_op(*plain, True, 0.5, True, bl,
                                               bl)
    assert out.stride() == (48, 1, 4)
    grad = torch.randn(1, 12, 4).transpose(1, 2)
    torch.library.opcheck(
        tb._bidir_bwd_op,
        (grad, ) + plain + (states_f, states_b, True, 0.5, bl, bl))


# ---------------------------------------------------------------- GPU

GPU_TOL = {  # (rtol, atol relative to max |ref|), as the scan's GPU tests
    torch.float32: (6e-4, 2e-4),
    torch.bfloat16: (3e-2, 2e-2),
}


def _gpu_fp32_reference(ins):
    """The composition of two fp32 reference scans on the GPU (float64
    at these sizes is slow): (out, leaves)."""
    leaves = {
        k: None if v is None else v.detach().float().requires_grad_(True)
        for k, v in ins.items()
    }
    out = call(bidir_selective_scan, leaves, backend='reference')
    return out, leaves


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('dtype', list(GPU_TOL))
@pytest.mark.parametrize('layout', ['vim', 'contiguous'])
@pytest.mark.parametrize('batch,seqlen', [
    pytest.param(128, 197, id='vim-ti-224-b128'),
    pytest.param(8, 6085, id='vim-ti-1248-b8'),
])
def test_gpu_triton_matches_fp32_reference(batch, seqlen, layout, dtype):
    """Vim-Ti (E=384, N=16) with the default configurations (224² b128:
    time-major backward; 1248² b8: sequence split, lane-major backward)."""
    ins = make_inputs(batch, 384, 16, seqlen, 1, bc_3d=True, dtype=dtype,
                      device='cuda')
    passed = vim_layout(ins) if layout == 'vim' else ins
    out = call(bidir_selective_scan, passed, backend='triton')
    if layout == 'vim':
        assert out.stride() == (384 * seqlen, 1, 384)
    ref, leaves = _gpu_fp32_reference(ins)
    rtol, atol = GPU_TOL[dtype]
    torch.testing.assert_close(out.float(), ref, rtol=rtol,
                               atol=atol * max(1.0, ref.abs().max().item()))
    grad = torch.randn_like(ref)
    grad_out = grad.to(dtype)
    if layout == 'vim':
        grad_out = grad_out.transpose(1, 2).contiguous().transpose(1, 2)
    got = grads_of(out, ins, grad_out)
    want = grads_of(ref, leaves, grad)
    for k in got:
        torch.testing.assert_close(
            got[k].float(), want[k], rtol=rtol,
            atol=atol * max(1.0, want[k].abs().max().item()),
            msg=lambda m: f'd{k}: {m}')


# ---------------------------------------------------------------- into


def _into_both(ins, backend, out_scale, gate_sum=False):
    """The two directions one after the other through selective_scan_into
    (Vim's low-memory inference), into the (B, E, L) view of a (B, L, E)
    tensor as Vim passes it. With ``gate_sum``, as Vim's inference core
    now runs them: the forward direction writes its ungated y (z=None),
    the reverse one adds its own and gates the sum."""
    u = ins['u_f']
    y = torch.full((u.shape[0], u.shape[2], u.shape[1]), float('nan'),
                   dtype=u.dtype).transpose(1, 2)
    for s, reverse in (('f', False), ('b', True)):
        u_, delta, A, B, C, D, bias = [ins[f'{k}_{s}'] for k in DIR_NAMES]
        gated = reverse or not gate_sum
        got = selective_scan_into(
            y, u_, delta, A, B, C, D, ins['z'] if gated else None, bias,
            True, reverse=reverse, out_scale=out_scale if gated else 1.0,
            accumulate=reverse, gate_sum=gate_sum and reverse,
            backend=backend)
        assert got is y
    return y


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_into_both_directions_equals_bidir(backend, dtype):
    """selective_scan_into forward then reverse (accumulate) equals
    bidir_selective_scan's output: bit for bit on Triton (the same kernels
    and epilogue), to rounding on the reference; and the definition."""
    ins = vim_layout(make_inputs(2, 8, 4, 19, 2, dtype=dtype))
    with torch.no_grad():
        got = _into_both(ins, backend, 0.5)
        want = call(bidir_selective_scan, ins, 0.5, backend=backend)
    if backend == 'triton':
        assert torch.equal(got, want)
    else:
        tol = 1e-2 if dtype == torch.bfloat16 else 1e-6
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)
    ref, _ = oracle(ins, 0.5)
    tol = 3e-2 if dtype == torch.bfloat16 else 1e-4
    torch.testing.assert_close(got.double(), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_into_gate_sum_equals_bidir(backend, dtype):
    """``gate_sum``: out_scale * (y_f + y_b) * silu(z) from an ungated
    first direction equals bidir_selective_scan's output (to rounding: y_f
    is stored ungated) and the float64 definition."""
    ins = vim_layout(make_inputs(2, 8, 4, 19, 2, dtype=dtype))
    with torch.no_grad():
        got = _into_both(ins, backend, 0.5, gate_sum=True)
        want = call(bidir_selective_scan, ins, 0.5, backend=backend)
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(got, want, rtol=tol, atol=tol)
    ref, _ = oracle(ins, 0.5)
    tol = 3e-2 if dtype == torch.bfloat16 else 1e-4
    torch.testing.assert_close(got.double(), ref, rtol=tol, atol=tol)


@requires_triton_interpreter
def test_gate_sum_outside_the_time_major_kernel():
    """The kernels without the gated-sum epilogue (lane-major, step-loop)
    run ungated into a temporary and gate the sum in PyTorch: the same
    result as the time-major epilogue."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    ins = vim_layout(make_inputs(1, 8, 4, 19, 1))
    u, delta, A, B, C, D, bias = [ins[f'{k}_b'].detach() for k in DIR_NAMES]
    z = ins['z'].detach()
    prev = torch.randn(1, 19, 8).transpose(1, 2)
    outs = []
    for cfg in (tk.default_config(19, 4, 8, backward=False,
                                  save_states=False),
                tk.ScanConfig(2, 8, 1)):
        out = prev.clone()
        tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True, False,
                              cfg, reverse=True, out=out, out_scale=0.5,
                              accumulate=True, gate_sum=True)
        outs.append(out)
    assert tk.default_config(19, 4, 8, backward=False,
                             save_states=False).block_t  # time-major
    y = selective_scan_ref(u.flip(-1), delta.flip(-1), A, B.flip(-1),
                           C.flip(-1), D, None, bias, True).flip(-1)
    want = 0.5 * (prev + y) * torch.nn.functional.silu(z)
    for got in outs:
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='gate_sum=True needs'):
        tk.selective_scan_fwd(u, delta, A, B, C, D, None, bias, True, False,
                              out=prev.clone(), accumulate=True,
                              gate_sum=True)


@requires_triton_interpreter
def test_into_overwrites_without_accumulate():
    """accumulate=False overwrites whatever ``out`` held (here NaN and
    then a first result), with the scale applied."""
    ins = make_inputs(1, 4, 2, 9)
    args = [ins[f'{k}_f'] for k in DIR_NAMES]
    u, delta, A, B, C, D, bias = args
    with torch.no_grad():
        want = selective_scan_ref(u, delta, A, B, C, D, ins['z'], bias, True)
        out = torch.full_like(u, float('nan'))
        for _ in range(2):
            selective_scan_into(out, u, delta, A, B, C, D, ins['z'], bias,
                                True, out_scale=0.25, backend='triton')
            torch.testing.assert_close(out, 0.25 * want, rtol=1e-5,
                                       atol=1e-6)


def test_into_refuses_gradients_and_bad_out():
    """Forward only: raises when a gradient would be needed, and names the
    ops to train with; ``out`` must match u."""
    ins = make_inputs(1, 4, 2, 9)
    args = [ins[f'{k}_f'] for k in DIR_NAMES]
    u, delta, A, B, C, D, bias = args
    out = torch.empty(u.shape, dtype=u.dtype)
    with pytest.raises(RuntimeError, match='bidir_selective_scan'):
        selective_scan_into(out, u, delta, A, B, C, D, backend='reference')
    with torch.no_grad(), pytest.raises(ValueError, match='out must have'):
        selective_scan_into(out[:, :, 1:], u, delta, A, B, C,
                            backend='reference')
    with torch.no_grad(), pytest.raises(ValueError, match='gate_sum=True '
                                        'needs accumulate=True and z'):
        selective_scan_into(out, u, delta, A, B, C, z=ins['z'],
                            gate_sum=True, backend='reference')


def _vim_into_inputs(seqlen, dtype, seed):
    """:func:`vim_layout`'s inputs (batch 1, 8 channels, N = 4) with B and
    C as the (B, N, L) views of (B, L, N) tensors that Vim hands the
    scan; detached."""
    ins = vim_layout(make_inputs(1, 8, 4, seqlen, bc_3d=True, dtype=dtype,
                                 seed=seed))
    for k in ('B_f', 'C_f', 'B_b', 'C_b'):
        ins[k] = ins[k].transpose(1, 2).contiguous().transpose(1, 2)
    return {k: None if v is None else v.detach() for k, v in ins.items()}


@requires_triton_interpreter
@pytest.mark.parametrize('seqlen', [19, 300])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_into_launcher_equals_the_op(seqlen, dtype):
    """selective_scan_into_launcher: checked once, its launches give the
    Triton op's output bit for bit, both directions as Vim's inference
    runs them (the forward writes its ungated y, the reverse adds its own
    and gates the sum), on the tensors they were made from and on new
    ones of the same layout; at 300 steps the sequence is split in two
    (a pre-pass launch)."""
    from mmmamba.ops.selective_scan import (selective_scan_into_launcher,
                                            triton_kernels)
    assert triton_kernels.default_config(
        seqlen, 4, 8, backward=False, save_states=False,
        n_rows=8).n_seg == (2 if seqlen == 300 else 1)
    launchers = {}
    for seed in (0, 1):
        ins = _vim_into_inputs(seqlen, dtype, seed)
        got, want = (torch.empty(1, seqlen, 8, dtype=dtype).transpose(1, 2)
                     for _ in range(2))
        with torch.no_grad():
            for s, reverse in (('f', False), ('b', True)):
                args = [ins[f'{k}_{s}'] for k in DIR_NAMES]
                args.insert(6, ins['z'] if reverse else None)  # after D
                kw = dict(reverse=reverse, out_scale=0.5 if reverse else 1.0,
                          accumulate=reverse, gate_sum=reverse)
                if s not in launchers:
                    launchers[s] = selective_scan_into_launcher(
                        got, *args, True, **kw)
                assert launchers[s](got, *args) is got
                selective_scan_into(want, *args, True, backend='triton', **kw)
        assert torch.equal(got, want)


@requires_triton_interpreter
def test_into_launcher_declines_conversions_and_refuses_as_the_op():
    """None where every call would convert an input (an fp64 D or a
    non-contiguous A, which the op casts or copies; u with neither the L
    nor the channel stride 1, which it copies); the op's errors (a
    gradient to compute, a wrong ``out``)."""
    from mmmamba.ops.selective_scan import selective_scan_into_launcher
    ins = _vim_into_inputs(19, torch.float32, 0)
    u, delta, A, B, C, D, bias = [ins[f'{k}_f'] for k in DIR_NAMES]
    out = torch.empty_like(u)
    with torch.no_grad():
        assert selective_scan_into_launcher(out, u, delta, A, B, C, D)
        assert selective_scan_into_launcher(out, u, delta, A, B, C,
                                            D.double()) is None
        assert selective_scan_into_launcher(
            out, u, delta, A.t().contiguous().t(), B, C, D) is None
        strided = torch.randn(1, 19, 16)[..., ::2].transpose(1, 2)
        assert selective_scan_into_launcher(out, strided, delta, A, B, C,
                                            D) is None
        with pytest.raises(ValueError, match='out must have'):
            selective_scan_into_launcher(out[:, :, 1:], u, delta, A, B, C)
    with pytest.raises(RuntimeError, match='forward-only'):
        selective_scan_into_launcher(out, u, delta, A.requires_grad_(True),
                                     B, C)


@requires_triton_interpreter
def test_into_custom_op_opcheck():
    """Schema (``out`` mutated) and fake of
    ``mmmamba::selective_scan_triton_fwd_into``."""
    from mmmamba.ops.selective_scan import triton as tb
    ins = vim_layout(make_inputs(1, 4, 2, 12, 1))
    args = [None if ins[f'{k}_b'] is None else ins[f'{k}_b'].detach()
            for k in DIR_NAMES]
    u, delta, A, B, C, D, bias = args
    out = torch.randn(1, 12, 4).transpose(1, 2)
    for accumulate in (False, True):
        torch.library.opcheck(
            tb._into_op, (out.clone(), u, delta, A, B, C, D,
                          ins['z'].detach(), bias, True, True, 0.5,
                          accumulate, accumulate))


@requires_triton_interpreter
@pytest.mark.parametrize('mode', list(GRAD_MODES))
def test_triton_saves_states_only_when_grad_is_needed(monkeypatch, mode):
    """The bidirectional scan's autograd Function saves the backward's chunk
    states exactly when a gradient will be taken: not under
    ``torch.no_grad`` or ``inference_mode`` although its inputs (a model's
    parameters, say) require grad."""
    from mmmamba.ops.selective_scan import triton as mod
    ins = make_inputs(1, 4, 2, 12)

    def run():
        return call(bidir_selective_scan, ins, backend='triton')

    check_saves_states_only_with_grad(monkeypatch, mod, '_bidir_fwd', 3,
                                      run, mode)
