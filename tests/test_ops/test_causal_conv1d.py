# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.causal_conv1d`` (Vim's bidirectional depthwise
conv1d + SiLU).

Tier 1 (CPU, CI): the reference against a float64 oracle written here
(``F.conv1d`` on left-padded input, flips for the anti-causal direction),
which is itself checked against the index definition; gradcheck; input
validation and backend dispatch; the Triton kernels in Triton's interpreter
(TRITON_INTERPRET=1, set by conftest) against the reference, forward and
every gradient, at the edge cases (L=1, L < K, partial blocks, strided x,
strided output gradients, no bias, several programs per channel);
``torch.compile(fullgraph=True)`` through the custom ops; an offline sm_90
compile of both kernels. Tier 2 (marked ``gpu``): Vim-Ti sizes on CUDA.
"""
from typing import Dict, Optional, Tuple

import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops import (bidir_conv1d_silu, bidir_conv1d_silu_ref,
                         check_conv1d_backend, conv1d_silu)
from mmmamba.ops import causal_conv1d
from mmmamba.ops.causal_conv1d import resolve_conv1d_backend
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter, run_compiler_script)

NAMES = ('x', 'weight_f', 'bias_f', 'weight_b', 'bias_b')


def oracle(x, weight_f, bias_f, weight_b, bias_b):
    """float64: ``F.conv1d`` on the input left-padded by K-1 (causal), and
    the same on the flipped input, flipped back (anti-causal)."""
    x = x.double().transpose(1, 2)  # (B, E, L)
    dim = x.shape[1]
    wf = weight_f.double().reshape(dim, 1, -1)
    wb = weight_b.double().reshape(dim, 1, -1)
    K = wf.shape[-1]
    bf = None if bias_f is None else bias_f.double()
    bb = None if bias_b is None else bias_b.double()
    u_f = F.silu(F.conv1d(F.pad(x, (K - 1, 0)), wf, bf, groups=dim))
    u_b = F.silu(
        F.conv1d(F.pad(x.flip(-1), (K - 1, 0)), wb, bb, groups=dim)).flip(-1)
    return u_f.transpose(1, 2), u_b.transpose(1, 2)


def definition(x, weight_f, bias_f, weight_b, bias_b):
    """The index formulas of the docstring, one tap at a time (float64)."""
    x = x.double()
    batch, seqlen, dim = x.shape
    K = weight_f.shape[-1]
    wf = weight_f.double().reshape(dim, K)
    wb = weight_b.double().reshape(dim, K)
    a_f = torch.zeros(batch, seqlen, dim, dtype=torch.float64)
    a_b = torch.zeros_like(a_f)
    for t in range(seqlen):
        for k in range(K):
            if 0 <= t - (K - 1) + k < seqlen:
                a_f[:, t] += wf[:, k] * x[:, t - (K - 1) + k]
            if 0 <= t + (K - 1) - k < seqlen:
                a_b[:, t] += wb[:, k] * x[:, t + (K - 1) - k]
    if bias_f is not None:
        a_f += bias_f.double()
    if bias_b is not None:
        a_b += bias_b.double()
    return F.silu(a_f), F.silu(a_b)


def make_inputs(batch: int, seqlen: int, dim: int, K: int, *,
                dtype: torch.dtype = torch.float32,
                wdtype: torch.dtype = torch.float32, device='cpu',
                bias: Tuple[bool, bool] = (True, True), strided: bool = True,
                conv_weight: bool = False,
                seed: int = 0) -> Dict[str, Optional[torch.Tensor]]:
    """Leaf tensors with gradients; ``x`` is ``xz[..., :E]`` of a (B, L, 2E)
    tensor (as Vim slices ``in_proj``'s output) unless not ``strided``.
    Weights (E, K), or (E, 1, K) as ``nn.Conv1d`` holds them."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    xz = rnd(batch, seqlen, 2 * dim).to(device, dtype).requires_grad_(True)
    x = xz[..., :dim] if strided else xz[..., :dim].detach().contiguous()
    wshape = (dim, 1, K) if conv_weight else (dim, K)
    ins = dict(
        x=x if strided else x.requires_grad_(True),
        weight_f=rnd(*wshape, scale=K**-0.5),
        bias_f=rnd(dim, scale=0.5) if bias[0] else None,
        weight_b=rnd(*wshape, scale=K**-0.5),
        bias_b=rnd(dim, scale=0.5) if bias[1] else None)
    for k in NAMES[1:]:
        if ins[k] is not None:
            ins[k] = ins[k].to(device, wdtype).requires_grad_(True)
    return ins


def grads_of(outs, ins, grads) -> Dict[str, torch.Tensor]:
    keys = [k for k in NAMES if ins[k] is not None and ins[k].requires_grad]
    got = torch.autograd.grad(outs, [ins[k] for k in keys], grads)
    return dict(zip(keys, got))


def output_grads(batch, seqlen, dim, dtype, device='cpu', kind='mixed',
                 seed=1):
    """Gradients of u_f and u_b. 'mixed': u_f's is a transposed (B, E, L)
    tensor (channel stride L, as a scan's du), u_b's every other channel
    of a wider tensor; 'contiguous'; 'expanded': stride 0 over batch."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return torch.randn(*shape, generator=g).to(device, dtype)

    if kind == 'contiguous':
        return rnd(batch, seqlen, dim), rnd(batch, seqlen, dim)
    if kind == 'expanded':
        return (rnd(1, seqlen, dim).expand(batch, seqlen, dim),
                rnd(seqlen, 1, dim).transpose(0, 1).expand(
                    batch, seqlen, dim))
    return (rnd(batch, dim, seqlen).transpose(1, 2),
            rnd(batch, seqlen, 2 * dim)[..., ::2])


def assert_close(got, want, rtol, atol, name):
    """``atol`` relative to the largest |want| (at least 1)."""
    torch.testing.assert_close(
        got.to(want.dtype), want, rtol=rtol,
        atol=atol * max(1.0, want.abs().max().item()),
        msg=lambda m: f'{name}: {m}')


# ---------------------------------------------------------------- reference


@pytest.mark.parametrize('K', [1, 2, 4])
def test_oracle_matches_definition(K):
    ins = make_inputs(2, 6, 3, K, dtype=torch.float64,
                      wdtype=torch.float64)
    for got, want in zip(oracle(**ins), definition(**ins)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


# (batch, seqlen, dim, K)
REF_CASES = [
    pytest.param(2, 9, 5, 4, id='K4'),
    pytest.param(1, 7, 3, 2, id='K2'),
    pytest.param(2, 8, 4, 3, id='K3'),
    pytest.param(1, 5, 2, 1, id='K1'),
    pytest.param(1, 6, 2, 5, id='K5'),
    pytest.param(2, 1, 3, 4, id='L1'),
    pytest.param(1, 2, 3, 4, id='L<K'),
]


@pytest.mark.parametrize('batch,seqlen,dim,K', REF_CASES)
@pytest.mark.parametrize('bias', [(True, True), (False, False),
                                  (True, False)],
                         ids=['bias', 'no-bias', 'bias-f-only'])
def test_reference_matches_oracle(batch, seqlen, dim, K, bias):
    """Outputs and every gradient, float64, through the public API."""
    ins = make_inputs(batch, seqlen, dim, K, dtype=torch.float64,
                      wdtype=torch.float64, bias=bias)
    outs = bidir_conv1d_silu(**ins, backend='reference')
    want = oracle(**ins)
    for name, o, w in zip(('u_f', 'u_b'), outs, want):
        assert o.shape == w.shape and o.is_contiguous(), name
        torch.testing.assert_close(o, w, rtol=1e-12, atol=1e-12)
    gys = output_grads(batch, seqlen, dim, torch.float64)
    got, exp = grads_of(outs, ins, gys), grads_of(want, ins, gys)
    assert set(got) == {k for k in NAMES if ins[k] is not None}
    for k in got:
        torch.testing.assert_close(got[k], exp[k], rtol=1e-10, atol=1e-10,
                                   msg=lambda m: f'd{k}: {m}')


def test_reference_takes_conv1d_weights():
    """(E, 1, K) weights of nn.Conv1d give the same result and gradients of
    their own shape."""
    ins = make_inputs(2, 6, 3, 4, conv_weight=True, dtype=torch.float64,
                      wdtype=torch.float64)
    outs = bidir_conv1d_silu(**ins)
    for o, w in zip(outs, oracle(**ins)):
        torch.testing.assert_close(o, w)
    g = grads_of(outs, ins, output_grads(2, 6, 3, torch.float64))
    assert g['weight_f'].shape == (3, 1, 4) == g['weight_b'].shape


def test_reference_gradcheck():
    ins = make_inputs(2, 4, 2, 3, dtype=torch.float64, wdtype=torch.float64)
    args = tuple(ins[k] for k in NAMES)
    assert torch.autograd.gradcheck(
        lambda *a: bidir_conv1d_silu(*a, backend='reference'), args)
    assert torch.autograd.gradgradcheck(
        lambda *a: bidir_conv1d_silu(*a, backend='reference'), args)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16,
                                   torch.float16])
def test_reference_low_precision(dtype):
    """Output in x's dtype, computed in fp32 from the given values: equal to
    the oracle up to the final rounding; gradients in their inputs'
    dtypes."""
    ins = make_inputs(2, 11, 6, 4, dtype=dtype)
    outs = bidir_conv1d_silu_ref(**ins)
    rtol = 1e-6 if dtype == torch.float32 else 1e-2
    for o, w in zip(outs, oracle(**ins)):
        assert o.dtype == dtype and o.is_contiguous()
        torch.testing.assert_close(o.double(), w, rtol=rtol, atol=rtol)
    g = grads_of(outs, ins, output_grads(2, 11, 6, dtype))
    assert g['x'].dtype == dtype and g['weight_f'].dtype == torch.float32


def test_reference_ignores_autocast():
    """Under autocast the reference still computes in fp32 (as the kernels
    do), not in the autocast dtype."""
    ins = make_inputs(1, 9, 4, 4)
    want = oracle(**ins)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = bidir_conv1d_silu(**ins)
    for o, w in zip(outs, want):
        assert o.dtype == torch.float32
        torch.testing.assert_close(o.double(), w, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- checks


def test_bad_inputs_raise():
    ins = {
        k: None if v is None else v.detach()
        for k, v in make_inputs(2, 5, 3, 4).items()
    }

    def call(**over):
        args = dict(ins)
        args.update(over)
        return bidir_conv1d_silu(**args)

    with pytest.raises(ValueError, match=r'x must be \(B, L, E\)'):
        call(x=ins['x'][0])
    with pytest.raises(ValueError, match='x must be non-empty'):
        call(x=ins['x'][:, :0])
    with pytest.raises(ValueError, match='x must have unit stride'):
        call(x=ins['x'].transpose(1, 2).contiguous().transpose(1, 2))
    with pytest.raises(TypeError, match='x must be a real floating-point'):
        call(x=torch.ones(2, 5, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match='x must be a torch.Tensor'):
        call(x=[[1.0]])
    with pytest.raises(ValueError, match=r'weight_f must be \(E=3, K\)'):
        call(weight_f=ins['weight_f'][:2])
    with pytest.raises(ValueError, match=r'weight_b must be \(E=3, K\)'):
        call(weight_b=ins['weight_b'][None])
    with pytest.raises(ValueError, match='same kernel size'):
        call(weight_b=ins['weight_b'][:, :3])
    with pytest.raises(ValueError, match=r'bias_b must be \(E=3,\)'):
        call(bias_b=ins['bias_b'][:2])
    with pytest.raises(TypeError, match='bias_f must be a real'):
        call(bias_f=torch.ones(3, dtype=torch.int32))
    with pytest.raises(ValueError, match='one device'):
        call(weight_f=ins['weight_f'].to('meta'))
    with pytest.raises(ValueError, match='unknown bidir_conv1d_silu backend'):
        call(backend='cuda')


def test_backend_resolution(monkeypatch):
    cpu, cuda = torch.device('cpu'), torch.device('cuda')
    assert resolve_conv1d_backend('auto', cpu) == 'reference'
    assert resolve_conv1d_backend('reference', cuda) == 'reference'
    monkeypatch.setattr(causal_conv1d, 'is_triton_available', lambda: True)
    assert resolve_conv1d_backend('auto', cuda) == 'triton'
    assert resolve_conv1d_backend('auto', cuda,
                                  torch.float64) == 'reference'
    with pytest.raises(TypeError, match="use backend='reference'"):
        resolve_conv1d_backend('triton', cuda, torch.float64)
    monkeypatch.setenv('TRITON_INTERPRET', '0')
    with pytest.raises(RuntimeError, match='needs CUDA tensors'):
        resolve_conv1d_backend('triton', cpu)
    monkeypatch.setattr(causal_conv1d, 'is_triton_available', lambda: False)
    assert resolve_conv1d_backend('auto', cuda) == 'reference'
    with pytest.raises(RuntimeError, match='pip install'):
        check_conv1d_backend('triton')
    with pytest.raises(ValueError, match='expected'):
        check_conv1d_backend(None)


# ---------------------------------------------------------------- triton
# The Triton kernels in the interpreter against the reference on the same
# inputs (the reference computes in fp32 from them, as the kernels do).


def _assert_triton_matches_reference(ins, rtol, atol, grad_kind='mixed',
                                     check_grads=True):
    outs = bidir_conv1d_silu(**ins, backend='triton')
    want = bidir_conv1d_silu(**ins, backend='reference')
    x = ins['x']
    for name, o, w in zip(('u_f', 'u_b'), outs, want):
        assert o.dtype == x.dtype and o.shape == x.shape, name
        assert o.is_contiguous(), name
        assert_close(o.float(), w.float(), rtol, atol, name)
    if not check_grads:
        return
    batch, seqlen, dim = x.shape
    gys = output_grads(batch, seqlen, dim, x.dtype, x.device, grad_kind)
    got, exp = grads_of(outs, ins, gys), grads_of(want, ins, gys)
    assert set(got) == set(exp)
    for k in got:
        assert got[k].dtype == exp[k].dtype, k
        assert got[k].shape == ins[k].shape, k
        assert_close(got[k].float(), exp[k].float(), rtol, atol, f'd{k}')


# (batch, seqlen, dim, K)
INTERP_CASES = [
    pytest.param(2, 37, 10, 4, id='vim-K4'),
    pytest.param(1, 1, 6, 4, id='L1'),
    pytest.param(2, 3, 5, 4, id='L<K'),
    pytest.param(1, 4, 3, 4, id='L=K'),
    pytest.param(1, 19, 70, 4, id='E70-two-channel-blocks'),
    pytest.param(1, 70, 4, 4, id='L70-two-programs'),
    pytest.param(1, 23, 7, 2, id='K2'),
    pytest.param(1, 23, 7, 3, id='K3'),
    pytest.param(1, 12, 4, 1, id='K1'),
    pytest.param(1, 17, 4, 5, id='K5'),
]


@requires_triton_interpreter
@pytest.mark.parametrize('batch,seqlen,dim,K', INTERP_CASES)
def test_triton_interpreter_matches_reference(batch, seqlen, dim, K):
    ins = make_inputs(batch, seqlen, dim, K)
    _assert_triton_matches_reference(ins, 1e-5, 1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('bias', [(False, False), (False, True)],
                         ids=['no-bias', 'bias-b-only'])
def test_triton_interpreter_without_bias(bias):
    ins = make_inputs(2, 13, 6, 4, bias=bias)
    _assert_triton_matches_reference(ins, 1e-5, 1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('kind', ['contiguous', 'expanded'])
def test_triton_interpreter_output_grad_strides(kind):
    """Contiguous x; output gradients contiguous, or expanded (stride 0, as
    ``u.sum().backward()`` gives)."""
    ins = make_inputs(2, 9, 5, 4, strided=False)
    _assert_triton_matches_reference(ins, 1e-5, 1e-5, grad_kind=kind)


@requires_triton_interpreter
def test_triton_interpreter_conv1d_weights_and_partial_grads():
    """(E, 1, K) weights in bf16 (mixed dtypes); then only x needs a
    gradient, then only the weights."""
    ins = make_inputs(1, 10, 4, 4, conv_weight=True, wdtype=torch.bfloat16)
    _assert_triton_matches_reference(ins, 1e-5, 1e-5)
    only_x = dict(ins, **{k: ins[k].detach() for k in NAMES[1:]})
    _assert_triton_matches_reference(only_x, 1e-5, 1e-5)
    only_w = dict(ins, x=ins['x'].detach())
    _assert_triton_matches_reference(only_w, 1e-5, 1e-5)


@requires_triton_interpreter
def test_triton_interpreter_one_output_used():
    """A loss on u_b alone: u_f's gradient is None (zeros for the kernel),
    so weight_f and bias_f get zero gradients."""
    ins = make_inputs(1, 8, 3, 4)
    keys = ('x', 'weight_b', 'bias_b', 'weight_f', 'bias_f')
    _, u_b = bidir_conv1d_silu(**ins, backend='triton')
    _, r_b = bidir_conv1d_silu_ref(**ins)
    got = torch.autograd.grad(u_b.sum(), [ins[k] for k in keys])
    want = torch.autograd.grad(r_b.sum(), [ins[k] for k in keys[:3]])
    for k, g, w in zip(keys, got, want):
        assert_close(g, w, 1e-5, 1e-5, f'd{k}')
    assert not got[3].any() and not got[4].any()


@requires_triton_interpreter
def test_triton_has_no_double_backward():
    """The backward kernels are opaque to autograd: a second derivative
    raises instead of silently missing terms (the reference has one)."""
    ins = make_inputs(1, 5, 2, 3)
    u_f, u_b = bidir_conv1d_silu(**ins, backend='triton')
    (dx, ) = torch.autograd.grad((u_f * u_b).sum(), ins['x'],
                                 create_graph=True)
    with pytest.raises(RuntimeError, match='once_differentiable'):
        dx.sum().backward()


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_triton_interpreter_low_precision(dtype):
    """bf16/fp16 x and output gradients, fp32 weights (AMP): outputs and
    dx in x's dtype within a rounding of the reference, which computes in
    fp32 from the same values; weight gradients fp32."""
    ins = make_inputs(2, 21, 10, 4, dtype=dtype)
    _assert_triton_matches_reference(ins, 2e-2, 1e-2)


@requires_triton_interpreter
def test_triton_interpreter_many_programs(monkeypatch):
    """Small blocks: 3 channel blocks (the last partial), 3 programs per
    sequence each walking 3 tiles (the last program partial),
    weight gradients summed over programs by atomics, and, with
    deterministic algorithms on, by the per-program partial sums (equal up
    to fp32 rounding)."""
    from mmmamba.ops.causal_conv1d import triton_kernels as tk
    monkeypatch.setattr(tk, 'FWD_CONFIG', tk.Conv1dConfig(4, 4, 1))
    monkeypatch.setattr(tk, 'BWD_CONFIG',
                        tk.Conv1dConfig(2, 4, 1, tiles=3, vec=2))
    assert tk.default_config(True, 15, 10) == (2, 4, 1, 3, 2)
    ins = make_inputs(1, 15, 10, 4)
    _assert_triton_matches_reference(ins, 1e-5, 1e-5)
    outs = bidir_conv1d_silu(**ins, backend='triton')
    gys = output_grads(1, 15, 10, torch.float32)
    atomic = grads_of(outs, ins, gys)
    torch.use_deterministic_algorithms(True)
    try:
        outs = bidir_conv1d_silu(**ins, backend='triton')
        det = grads_of(outs, ins, gys)
    finally:
        torch.use_deterministic_algorithms(False)
    for k in atomic:
        assert_close(det[k], atomic[k], 1e-6, 1e-6, f'd{k}')


@requires_triton_interpreter
def test_triton_launchers_directly():
    """The launchers' contract: fp32 (E, K) / (E,) weight gradients, None
    for what was not asked for."""
    from mmmamba.ops.causal_conv1d import triton_kernels as tk
    ins = {k: v.detach() for k, v in make_inputs(1, 6, 3, 4).items()}
    gf, gb = output_grads(1, 6, 3, torch.float32)
    args = (ins['x'], ins['weight_f'], ins['bias_f'], ins['weight_b'], None)
    dx, dwf, dbf, dwb, dbb = tk.bidir_conv1d_bwd(
        gf, gb, *args, need_dw=False)
    assert dx.shape == (1, 6, 3) and dwf is dbf is dwb is dbb is None
    dx, dwf, dbf, dwb, dbb = tk.bidir_conv1d_bwd(
        gf, gb, *args, need_dx=False)
    assert dx is None and dbb is None
    assert dwf.shape == dwb.shape == (3, 4) and dbf.shape == (3, )
    assert dwf.dtype == torch.float32


# ---------------------------------------------------------------- compile


def _op_names(gm: torch.fx.GraphModule):
    return [
        str(n.target) for n in gm.graph.nodes if n.op == 'call_function'
        and str(n.target).startswith('mmmamba.')
    ]


def _check_compiles(backend: str, expect_op: Optional[str]):
    """``xz -> (silu-conv both ways of xz[..., :E]) -> a loss`` traced in one
    graph (with ``expect_op`` in it) and compiled with ``fullgraph=True``:
    outputs and every gradient equal to eager's."""
    ins = make_inputs(2, 11, 5, 4)
    xz = ins['x']._base
    params = [ins[k] for k in NAMES[1:]]

    def fn(xz, wf, bf, wb, bb):
        x = xz[..., :5]
        u_f, u_b = bidir_conv1d_silu(x, wf, bf, wb, bb, backend=backend)
        return u_f * xz[..., 5:], u_b

    explain = torch._dynamo.explain(fn)(xz, *params)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    assert explain.graph_count == 1
    if expect_op:
        assert expect_op in _op_names(explain.graphs[0]), _op_names(
            explain.graphs[0])
    want = fn(xz, *params)
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend='aot_eager')
    got = compiled(xz, *params)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)
    gys = output_grads(2, 11, 5, torch.float32)
    leaves = [xz] + params
    gw = torch.autograd.grad(want, leaves, gys)
    gg = torch.autograd.grad(got, leaves, gys)
    for name, a, b in zip(('xz', ) + NAMES[1:], gg, gw):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6,
                                   msg=lambda m: f'd{name}: {m}')
    with torch.no_grad():
        torch.testing.assert_close(compiled(xz, *params)[1], want[1])


def test_reference_compiles_fullgraph():
    _check_compiles('reference', None)


@requires_triton_interpreter
def test_triton_compiles_fullgraph():
    """The Triton backend through its custom ops (kernels in the
    interpreter): one graph, no break, eager's numbers."""
    _check_compiles('triton', 'mmmamba.bidir_conv1d_silu_triton_fwd.default')


@requires_triton_interpreter
def test_triton_custom_ops_opcheck():
    """Schemas, shape functions (strides and dtypes included) and the
    registered backward of the custom ops."""
    from mmmamba.ops.causal_conv1d import triton as tr
    ins = make_inputs(1, 6, 3, 4)
    args = tuple(ins[k] for k in NAMES)
    torch.library.opcheck(tr._triton_fwd_op, args)
    torch.library.opcheck(tr._triton_fwd_op, args[:2] + (None, ) +
                          args[3:4] + (None, ))
    plain = tuple(None if t is None else t.detach() for t in args)
    gf, gb = output_grads(1, 6, 3, torch.float32)
    for flags in ((True, True), (True, False), (False, True)):
        torch.library.opcheck(tr._triton_bwd_op, (gf, gb) + plain + flags)


_COMPILE_SM90 = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from mmmamba.ops.causal_conv1d import triton_kernels as tk
from mmmamba.testing.sm90 import compile_sm90

low = {'x', 'uf', 'ub', 'guf', 'gub', 'dx'}  # the activations' dtype
# as the launcher specialises Vim's call: unit weight-tap and gradient
# channel strides, 16-divisible pointers, E and row strides
ones = {'stride_wfk', 'stride_wbk', 'stride_gfe', 'stride_gbe'}
div16 = {'dim', 'stride_xb', 'stride_xl', 'stride_gfb', 'stride_gfl',
         'stride_gbb', 'stride_gbl'}
n = 0
loads = {}
for dtype in ('bf16', 'fp32'):
    for fn, cfg, consts in (
            (tk._bidir_conv1d_fwd_kernel, tk.FWD_CONFIG,
             dict(WRITE_F=True, WRITE_B=True)),
            (tk._bidir_conv1d_fwd_kernel, tk.FWD_CONFIG,
             dict(WRITE_F=True, WRITE_B=False)),
            (tk._bidir_conv1d_fwd_kernel, tk.FWD_CONFIG,
             dict(WRITE_F=False, WRITE_B=True)),
            (tk._bidir_conv1d_bwd_kernel, tk.BWD_CONFIG,
             dict(K_PAD=4, NEED_DX=True, NEED_DW=True,
                  DETERMINISTIC=False, VEC=tk.BWD_CONFIG.vec))):
        consts.update(K=4, HAS_BIAS_F=True, HAS_BIAS_B=True,
                      BLOCK_L=cfg.block_l, BLOCK_E=cfg.block_e)
        kernel = compile_sm90(fn, consts, dtype, low, ones, div16,
                              cfg.num_warps)
        assert len(kernel.asm['cubin']) > 0
        if fn is tk._bidir_conv1d_fwd_kernel:
            ptx = kernel.asm['ptx']
            loads[(dtype, consts['WRITE_F'], consts['WRITE_B'])] = (
                ptx.count('ld.global'), ptx.count('st.global'))
        if fn is tk._bidir_conv1d_bwd_kernel:
            # the shift axis stays in-thread: no layout conversion (shared
            # memory and barriers) inside the loop over tiles
            ttgir = kernel.asm['ttgir']
            loop = ttgir[ttgir.index('scf.for'):ttgir.index('scf.yield')]
            assert 'convert_layout' not in loop, dtype
        n += 1
for dtype in ('bf16', 'fp32'):
    (both_ld, both_st), (f_ld, f_st), (b_ld, b_st) = (
        loads[(dtype, wf, wb)]
        for wf, wb in ((True, True), (True, False), (False, True)))
    # one direction: half the stores, and the x shifts and taps only the
    # other direction reads are not loaded (K = 4: 4 of 7 shifts)
    assert f_st * 2 == both_st and b_st * 2 == both_st, loads
    assert f_ld == b_ld and f_ld < both_ld * 2 // 3, loads
print(f'compiled {n}', loads)
"""


@requires_triton
def test_kernels_compile_for_sm90():
    """The interpreter runs the kernels' Python, not the compiler: compile
    both kernels for sm_90 offline (PTX and ptxas, no GPU needed) in a
    process without TRITON_INTERPRET, with their default launch
    configurations, bf16 and fp32; the backward's loop must have no layout
    conversion (its design keeps the shift axis inside each thread); the
    forward with one direction compiled out stores half as much and loads
    neither the x shifts nor the taps of the other direction."""
    out = run_compiler_script(_COMPILE_SM90, timeout=300)
    assert out.strip().split('\n')[-1].startswith('compiled 8'), out


# ---------------------------------------------------------------- GPU

# Vim-Ti: E = 384 (d_inner), K = 4; 224² (197 tokens) at batch 128 and
# 1248² (6085 tokens) at batch 8
GPU_CASES = [
    pytest.param(128, 197, 384, id='vim-ti-224-b128'),
    pytest.param(8, 6085, 384, id='vim-ti-1248-b8'),
    pytest.param(3, 37, 72, id='odd'),
]
GPU_TOL = {  # (rtol, atol relative to max |ref|); same inputs for both
    torch.float32: (1e-4, 1e-4),
    torch.bfloat16: (2e-2, 1e-2),
}


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('dtype', list(GPU_TOL))
@pytest.mark.parametrize('batch,seqlen,dim', GPU_CASES)
def test_gpu_triton_matches_reference(dtype, batch, seqlen, dim):
    """x = xz[..., :E] of a (B, L, 2E) tensor, fp32 weights (AMP), output
    gradients with a scan's (B, E, L) layout and a strided one."""
    ins = make_inputs(batch, seqlen, dim, 4, dtype=dtype, device='cuda')
    _assert_triton_matches_reference(ins, *GPU_TOL[dtype])


@pytest.mark.gpu
@requires_cuda
@requires_triton
def test_gpu_auto_is_triton_and_deterministic_mode():
    """'auto' runs the kernels on CUDA; with deterministic algorithms on,
    two backward passes give bitwise equal weight gradients, close to the
    atomic ones."""
    ins = make_inputs(16, 197, 384, 4, dtype=torch.bfloat16, device='cuda')
    outs = bidir_conv1d_silu(**ins)
    assert type(outs[0].grad_fn).__name__ == 'BidirConv1dSiluTritonFnBackward'
    gys = output_grads(16, 197, 384, torch.bfloat16, 'cuda')
    atomic = grads_of(outs, ins, gys)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        runs = [
            grads_of(bidir_conv1d_silu(**ins), ins, gys) for _ in range(2)
        ]
    finally:
        torch.use_deterministic_algorithms(False)
    for k in atomic:
        assert torch.equal(runs[0][k], runs[1][k]), k
        assert_close(runs[0][k].float(), atomic[k].float(), 1e-5, 1e-5, k)


# ------------------------------------------------------------ one direction


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_one_direction_equals_that_output_of_both(backend, dtype):
    """conv1d_silu(x, w, b) is bidir_conv1d_silu's u_f, and with
    reverse=True its u_b, bit for bit (same kernel, the other direction
    compiled out), from Vim's strided x; with and without bias."""
    for bias in ((True, False), (False, True)):
        ins = make_inputs(2, 13, 24, 4, dtype=dtype, bias=bias)
        with torch.no_grad():
            u_f, u_b = bidir_conv1d_silu(*(ins[k] for k in NAMES),
                                         backend=backend)
            one_f = conv1d_silu(ins['x'], ins['weight_f'], ins['bias_f'],
                                backend=backend)
            one_b = conv1d_silu(ins['x'], ins['weight_b'], ins['bias_b'],
                                reverse=True, backend=backend)
        for got, want in ((one_f, u_f), (one_b, u_b)):
            assert got.dtype == dtype and got.is_contiguous()
            assert torch.equal(got, want)
        want_f, want_b = oracle(*(ins[k] for k in NAMES))
        assert_close(one_b, want_b, 2e-2 if dtype == torch.bfloat16 else
                     1e-5, 1e-2 if dtype == torch.bfloat16 else 1e-6, 'u_b')


@requires_triton_interpreter
def test_one_direction_triton_is_forward_only():
    """The Triton single-direction conv has no backward: asked for one it
    raises, naming the op that has; under no_grad it runs."""
    ins = make_inputs(1, 5, 8, 4)
    with pytest.raises(RuntimeError, match='bidir_conv1d_silu'):
        conv1d_silu(ins['x'], ins['weight_f'], ins['bias_f'],
                    backend='triton')
    with torch.no_grad():
        conv1d_silu(ins['x'], ins['weight_f'], ins['bias_f'],
                    backend='triton')


def test_one_direction_reference_is_differentiable():
    """The reference backend keeps autograd: gradients of u_b's loss match
    the two-direction op's (whose u_f does not reach the loss)."""
    ins = make_inputs(1, 9, 8, 3)
    u_b = conv1d_silu(ins['x'], ins['weight_b'], ins['bias_b'], reverse=True,
                      backend='reference')
    g = torch.randn_like(u_b)
    got = torch.autograd.grad(u_b, [ins['x'], ins['weight_b']], g)
    _, want_b = bidir_conv1d_silu(*(ins[k] for k in NAMES),
                                  backend='reference')
    want = torch.autograd.grad(want_b, [ins['x'], ins['weight_b']], g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


@requires_triton_interpreter
def test_one_direction_custom_op_opcheck():
    """Schema and shape function of ``mmmamba::conv1d_silu_triton_fwd``."""
    from mmmamba.ops.causal_conv1d import triton as tb
    ins = make_inputs(1, 6, 8, 4)
    x = ins['x'].detach()
    for reverse in (False, True):
        torch.library.opcheck(
            tb._one_direction_op,
            (x, ins['weight_f'].detach(), ins['bias_f'].detach(), reverse))
