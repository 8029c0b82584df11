# Copyright (c) mmmamba contributors. All rights reserved.
"""``torch.compile`` of the ops: no graph break, same numbers as eager.

While Dynamo traces, :func:`mmmamba.ops.selective_scan` runs every backend
through its ``torch.library`` custom ops (``mmmamba::selective_scan_*``).
Tested on CPU: the ops' schemas, shape functions and autograd registrations
(``torch.library.opcheck``); the dispatcher, the probes and cross scan/merge
traced with zero graph breaks; ``fullgraph=True`` forward and backward equal
to eager for the reference and (in Triton's interpreter) the Triton backend;
the mamba_ssm adapter's custom ops against a CPU stand-in of mamba-ssm's
``selective_scan_cuda`` extension built on the reference (the real one
needs CUDA; the GPU tests in ``test_selective_scan.py`` and
``tests/test_models/test_model_compile.py`` cover it there); the fused SS2D
scan's custom ops (``mmmamba::ss2d_scan_triton_*``) likewise, with
``aot_eager`` and Inductor, step-by-step and column-tile layouts.
"""
import sys
import types
from typing import Dict, List, Optional

import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops import (available_backends, check_backend, cross_merge,
                         cross_scan, resolve_backend, selective_scan,
                         selective_scan_ref, ss2d_scan, ss2d_scan_ref)
from mmmamba.ops._utils import (grad_needed, is_mamba_ssm_cuda_available,
                                is_triton_available)
from mmmamba.ops.selective_scan import reference
from mmmamba.testing import requires_triton_interpreter

NAMES = ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'delta_bias')


def make_inputs(batch: int = 2,
                dim: int = 4,
                dstate: int = 3,
                seqlen: int = 37,
                groups: int = 2,
                *,
                has_d: bool = True,
                has_z: bool = True,
                has_bias: bool = True,
                bc_3d: bool = False,
                requires_grad: bool = True,
                seed: int = 0) -> Dict[str, Optional[torch.Tensor]]:
    """fp32 leaf tensors of a small scan (B and C (batch, groups, N, L), or
    (batch, N, L) with ``bc_3d``)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    bc = (batch, dstate, seqlen) if bc_3d else (batch, groups, dstate, seqlen)
    ins = dict(
        u=rnd(batch, dim, seqlen),
        delta=rnd(batch, dim, seqlen, scale=0.5),
        A=-torch.rand(dim, dstate, generator=g) * 2 - 0.1,
        B=rnd(*bc),
        C=rnd(*bc),
        D=rnd(dim) if has_d else None,
        z=rnd(batch, dim, seqlen) if has_z else None,
        delta_bias=rnd(dim, scale=0.5) if has_bias else None)
    return {
        k: None if v is None else v.requires_grad_(requires_grad)
        for k, v in ins.items()
    }


def grads(out: torch.Tensor, ins: dict, grad: torch.Tensor) -> dict:
    keys = [k for k in NAMES if ins[k] is not None]
    got = torch.autograd.grad(out, [ins[k] for k in keys], grad)
    return dict(zip(keys, got))


def assert_same(got: torch.Tensor, want: torch.Tensor, name: str) -> None:
    """Compiled against eager: the same kernels run, up to fp32 rounding of
    traced elementwise ops."""
    torch.testing.assert_close(
        got, want, rtol=1e-5, atol=1e-6, msg=lambda m: f'{name}: {m}')


def op_names(gm: torch.fx.GraphModule) -> List[str]:
    return [
        str(n.target) for n in gm.graph.nodes if n.op == 'call_function'
        and str(n.target).startswith('mmmamba.')
    ]


def check_compiles(fn,
                   ins: dict,
                   expect_op: str,
                   backend: str = 'aot_eager') -> None:
    """``fn(**ins)`` returns (out, last): Dynamo traces it in one graph that
    calls ``expect_op``; compiled with ``fullgraph=True``, out, last and
    every input gradient equal eager's, and a call without gradient works
    too."""
    explain = torch._dynamo.explain(fn)(**ins)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    assert explain.graph_count == 1
    assert any(
        name.startswith(expect_op) for name in op_names(explain.graphs[0])), \
        op_names(explain.graphs[0])

    out, last = fn(**ins)
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend=backend)
    c_out, c_last = compiled(**ins)
    assert c_out.dtype == out.dtype and c_last.dtype == last.dtype
    assert_same(c_out, out, 'out')
    assert_same(c_last, last, 'last_state')
    assert not c_last.requires_grad
    gy = torch.randn_like(out)
    want, got = grads(out, ins, gy), grads(c_out, ins, gy)
    for k in want:
        assert got[k].shape == want[k].shape, k
        assert_same(got[k], want[k], f'd{k}')
    with torch.no_grad():
        assert_same(compiled(**ins)[0], out, 'out (no_grad)')


# ---------------------------------------------------------------- dispatch


def test_dispatch_and_probes_trace_without_graph_break(monkeypatch):
    """Backend validation, resolution (the env variable included) and the
    cached import probes are plain Python to Dynamo: no graph break."""
    monkeypatch.setenv('MMMAMBA_SCAN_BACKEND', 'reference')

    def fn(x):
        assert check_backend('reference') == 'reference'
        assert resolve_backend('auto', x.device, 16, True) == 'reference'
        names = available_backends()
        flags = (is_triton_available(), is_mamba_ssm_cuda_available())
        return x * len(names) + sum(flags)

    x = torch.randn(3)
    explain = torch._dynamo.explain(fn)(x)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    torch._dynamo.reset()
    torch.testing.assert_close(
        torch.compile(fn, fullgraph=True, backend='eager')(x), fn(x))


def test_grad_needed_follows_grad_mode_and_inputs():
    """grad_needed (which the ops use to save states for a backward, and
    the forward-only ops to refuse training calls): True exactly when
    grad mode is on and some given tensor requires grad; None is
    skipped. Dynamo traces it without a graph break."""
    leaf = torch.ones(2, requires_grad=True)
    plain = torch.ones(2)
    assert grad_needed(plain, None, leaf)
    assert not grad_needed(plain, None)
    assert not grad_needed()
    with torch.no_grad():
        assert not grad_needed(leaf)
    with torch.inference_mode():
        assert not grad_needed(leaf)

    def f(x, y):
        return x * 2 if grad_needed(x, y) else x - 1

    compiled = torch.compile(f, backend='eager', fullgraph=True)
    assert torch.equal(compiled(leaf, plain), leaf * 2)
    assert torch.equal(compiled(plain, None), plain - 1)


def test_errors_are_the_eager_ones_under_compile():
    """Validation raises the same exception types and messages when
    compiled (Dynamo re-raises user exceptions)."""
    ins = make_inputs()
    ins['D'] = torch.randn(5)

    def fn(**kw):
        return selective_scan(**kw, backend='reference')

    with pytest.raises(ValueError, match=r'D must be \(dim=4,\)'):
        fn(**ins)
    torch._dynamo.reset()
    with pytest.raises(ValueError, match=r'D must be \(dim=4,\)'):
        torch.compile(fn, backend='eager')(**ins)


def test_eager_calls_keep_the_autograd_function():
    """Outside torch.compile the reference runs as SelectiveScanRefFn (one
    ``prim::PythonOp`` for FLOP counting), not as the custom op."""
    ins = make_inputs()
    out = selective_scan_ref(**ins)
    assert type(out.grad_fn).__name__ == 'SelectiveScanRefFnBackward'


# ---------------------------------------------------------------- reference


@pytest.mark.parametrize(
    'kwargs', [
        dict(),
        dict(has_d=False, has_z=False, has_bias=False, groups=1),
    ],
    ids=['full', 'bare'])
def test_reference_custom_ops_opcheck(kwargs):
    """Schema, shape functions (strides and dtypes included) and the
    registered backward of the reference's custom ops."""
    ins = make_inputs(**kwargs)
    args = tuple(ins[k] for k in NAMES)
    torch.library.opcheck(reference._ref_fwd_op, args + (True, ))
    plain = tuple(None if t is None else t.detach() for t in args)
    grad_out = torch.randn_like(plain[0])
    torch.library.opcheck(reference._ref_bwd_op, (grad_out, ) + plain +
                          (True, ))


@pytest.mark.parametrize('reverse', [False, True], ids=['fwd', 'reverse'])
@pytest.mark.parametrize(
    'kwargs', [dict(), dict(has_z=False, bc_3d=True)], ids=['full', 'BC-3d'])
def test_reference_compiles_fullgraph(reverse, kwargs):
    ins = make_inputs(**kwargs)

    def fn(**kw):
        return selective_scan(
            **kw,
            delta_softplus=True,
            return_last_state=True,
            reverse=reverse,
            backend='reference')

    check_compiles(fn, ins, 'mmmamba.selective_scan_ref_fwd')


def test_reference_compiles_with_inductor():
    """Inductor keeps the scan as one extern call (no unrolled loops): the
    compile is quick and the numbers are eager's."""
    ins = make_inputs(seqlen=20, groups=1)

    def fn(**kw):
        return selective_scan(
            **kw,
            delta_softplus=True,
            return_last_state=True,
            backend='reference')

    check_compiles(fn, ins, 'mmmamba.selective_scan_ref_fwd', 'inductor')


# ---------------------------------------------------------------- triton


def channel_last(t: torch.Tensor) -> torch.Tensor:
    """(batch, dim, L) ``t`` as the transpose of a (batch, L, dim) tensor."""
    return t.transpose(1, 2).contiguous().transpose(1, 2)


@requires_triton_interpreter
@pytest.mark.parametrize('layout', ['contiguous', 'channel-last'])
def test_triton_custom_ops_opcheck(layout):
    """Schemas, shape functions (the strides of out, du, ddelta, dz: those
    of u, u, delta, z, channel-last or contiguous) and the registered
    backward of the Triton custom ops."""
    from mmmamba.ops.selective_scan import triton as triton_backend
    ins = make_inputs(batch=1, dim=4, dstate=2, seqlen=20, groups=1)
    if layout == 'channel-last':
        ins = dict(ins, u=channel_last(ins['u']), z=channel_last(ins['z']))
    args = tuple(ins[k] for k in NAMES)
    B = ins['B']
    block_l = triton_backend._forward_block_l(ins['u'], B, True)
    torch.library.opcheck(triton_backend._triton_fwd_op,
                          args + (True, True, block_l, True))
    # inference: no chunk states, no backward
    plain = tuple(None if t is None else t.detach() for t in args)
    block_l = triton_backend._forward_block_l(ins['u'], B, False)
    torch.library.opcheck(triton_backend._triton_fwd_op,
                          plain + (True, False, block_l, False))
    # the backward op with a channel-last grad_out
    block_l = triton_backend._forward_block_l(ins['u'], B, True)
    out, _, states = triton_backend._triton_fwd_op(*plain, True, True,
                                                   block_l, True)
    assert out.stride() == ((80, 1, 4) if layout == 'channel-last' else
                            (80, 20, 1))
    grad = channel_last(torch.randn_like(out))
    torch.library.opcheck(triton_backend._triton_bwd_op,
                          (grad, ) + plain + (states, True, block_l, True))


@requires_triton_interpreter
@pytest.mark.parametrize(
    'reverse,kwargs,layout', [
        (True, dict(), None),
        (False,
         dict(has_d=False, has_z=False, has_bias=False, dstate=1, groups=4),
         None),
        (True, dict(groups=1), channel_last),
    ],
    ids=['full-reverse', 'N1-bare', 'channel-last-reverse'])
def test_triton_compiles_fullgraph(reverse, kwargs, layout):
    """The Triton backend (kernels in the interpreter) through its custom
    ops, ``reverse`` by index arithmetic included, and with channel-last u,
    delta, z (then the compiled graph carries channel-last outputs): equal
    to eager Triton, which the suite checks against the reference."""
    ins = make_inputs(**kwargs)

    def fn(**kw):
        if layout is not None:
            kw = dict(kw, **{k: layout(kw[k]) for k in ('u', 'delta', 'z')})
        return selective_scan(
            **kw,
            delta_softplus=True,
            return_last_state=True,
            reverse=reverse,
            backend='triton')

    check_compiles(fn, ins, 'mmmamba.selective_scan_triton_fwd')
    # and the compiled Triton scan against the reference, gradients too
    torch._dynamo.reset()
    out, last = torch.compile(fn, fullgraph=True, backend='aot_eager')(**ins)
    ref, ref_last = selective_scan(
        **ins,
        delta_softplus=True,
        return_last_state=True,
        reverse=reverse,
        backend='reference')
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(last, ref_last, rtol=1e-4, atol=1e-4)
    gy = torch.randn_like(ref)
    want, got = grads(ref, ins, gy), grads(out, ins, gy)
    for k in want:
        scale = max(1.0, want[k].abs().max().item())
        torch.testing.assert_close(
            got[k],
            want[k],
            rtol=1e-4,
            atol=1e-4 * scale,
            msg=lambda m: f'd{k}: {m}')


# ---------------------------------------------------------------- mamba_ssm


def _stub_extension(extra_args: int) -> types.ModuleType:
    """A CPU stand-in for mamba-ssm's ``selective_scan_cuda`` with its
    calling convention, computed by our reference: ``fwd`` returns
    [out (before the gate), x (chunk states, last state at
    ``x[:, :, -1, 1::2]``), out_z (with z)], ``bwd`` [du, ddelta, dA, dB,
    dC, dD, d(delta_bias), dz (with z)]. Like newer mamba-ssm builds, it can
    take ``extra_args`` trailing optional arguments."""
    mod = types.ModuleType('selective_scan_cuda')

    def check_extra(extra):
        if len(extra) != extra_args:
            raise TypeError('fwd(): incompatible function arguments')

    def fwd(u, delta, A, B, C, D, z, delta_bias, delta_softplus, *extra):
        check_extra(extra)
        assert B.dim() == 4 and all(
            t.is_contiguous() for t in (u, delta, A, B, C))
        out, last = reference._ref_forward(u, delta, A, B, C, D, None,
                                           delta_bias, delta_softplus)
        batch, dim, seqlen = u.shape
        x = torch.zeros(batch, dim, (seqlen + 2047) // 2048,
                        2 * A.shape[1])
        x[:, :, -1, 1::2] = last
        res = [out.contiguous(), x]
        if z is not None:
            res.append((out * F.silu(z)).contiguous())
        return res

    def bwd(u, delta, A, B, C, D, z, delta_bias, dout, x, out, dz,
            delta_softplus, recompute_out_z, *extra):
        check_extra(extra)
        assert (out is not None) == (z is not None) and dz is None
        assert not recompute_out_z and x.shape[:2] == u.shape[:2]
        g = [
            None if t is None else t.contiguous()
            for t in reference._ref_backward(dout, u, delta, A, B, C, D, z,
                                             delta_bias, delta_softplus)
        ]
        du, ddelta, dA, dB, dC, dD, dz_, dbias = g
        return [du, ddelta, dA, dB, dC, dD, dbias
                ] + ([dz_] if z is not None else [])

    mod.fwd, mod.bwd = fwd, bwd
    return mod


@pytest.fixture(params=[0, 1], ids=['mamba-2.3', 'extra-arg'])
def stub_extension(request, monkeypatch):
    from mmmamba.ops.selective_scan import mamba_ssm
    monkeypatch.setitem(sys.modules, 'selective_scan_cuda',
                        _stub_extension(request.param))
    monkeypatch.setattr(mamba_ssm, '_EXTRA_NONES', {})
    return mamba_ssm


@pytest.mark.parametrize(
    'kwargs', [dict(), dict(has_z=False, bc_3d=True, has_d=False)],
    ids=['full', 'noz-BC-3d'])
def test_mamba_ssm_adapter_compiles_fullgraph(stub_extension, kwargs):
    """The mamba_ssm adapter's custom ops (called directly: the dispatcher
    sends only CUDA tensors there) match the reference, forward, last state
    and gradients, compiled with ``fullgraph=True``."""
    mamba_ssm = stub_extension
    ins = make_inputs(**kwargs)

    def fn(**kw):
        return mamba_ssm.selective_scan_mamba_ssm(
            **kw, delta_softplus=True, return_last_state=True)

    explain = torch._dynamo.explain(fn)(**ins)
    assert explain.graph_break_count == 0
    assert 'mmmamba.selective_scan_mamba_ssm_fwd.default' in op_names(
        explain.graphs[0])
    torch._dynamo.reset()
    out, last = torch.compile(fn, fullgraph=True, backend='aot_eager')(**ins)
    ref, ref_last = selective_scan_ref(
        **ins, delta_softplus=True, return_last_state=True)
    assert last.dtype == torch.float32 and not last.requires_grad
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(last, ref_last, rtol=1e-5, atol=1e-5)
    gy = torch.randn_like(ref)
    want, got = grads(ref, ins, gy), grads(out, ins, gy)
    for k in want:
        torch.testing.assert_close(
            got[k], want[k], rtol=1e-5, atol=1e-5, msg=lambda m: f'd{k}: {m}')


def test_mamba_ssm_custom_ops_opcheck(stub_extension):
    mamba_ssm = stub_extension
    ins = make_inputs()
    args = tuple(ins[k] for k in NAMES)
    torch.library.opcheck(mamba_ssm._mamba_fwd_op, args + (True, ))


# ---------------------------------------------------------------- cross scan


def test_cross_scan_and_merge_compile_fullgraph():
    x = torch.randn(2, 3, 4, 5, requires_grad=True)

    def fn(x):
        ys = cross_scan(x)  # (B, 4, C, H*W)
        return cross_merge(ys * 2, 4, 5), cross_merge(ys.view(2, 4, 3, 4, 5))

    explain = torch._dynamo.explain(fn)(x)
    assert explain.graph_break_count == 0
    want = fn(x)
    torch._dynamo.reset()
    got = torch.compile(fn, fullgraph=True, backend='aot_eager')(x)
    for g, w in zip(got, want):
        assert_same(g, w, 'cross_merge')
    gw = torch.autograd.grad(sum(w.sum() for w in want), x)[0]
    gg = torch.autograd.grad(sum(g.sum() for g in got), x)[0]
    assert_same(gg, gw, 'dx')


# ---------------------------------------------------------------- ss2d scan

SS2D_NAMES = ('x', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')


def make_ss2d_inputs(batch: int = 2,
                     dim: int = 3,
                     dstate: int = 1,
                     H: int = 3,
                     W: int = 5,
                     *,
                     has_d: bool = True,
                     has_bias: bool = True,
                     seed: int = 0) -> Dict[str, Optional[torch.Tensor]]:
    """fp32 leaf tensors of a small fused SS2D scan (row-major layouts)."""
    g = torch.Generator().manual_seed(seed)
    L = H * W

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).requires_grad_()

    return dict(
        x=rnd(batch, dim, H, W),
        delta=rnd(batch, 4, dim, L, scale=0.5),
        A=(-torch.rand(4 * dim, dstate, generator=g) * 2 -
           0.1).requires_grad_(),
        B=rnd(batch, 4, dstate, L),
        C=rnd(batch, 4, dstate, L),
        D=rnd(4 * dim) if has_d else None,
        delta_bias=rnd(4 * dim, scale=0.5) if has_bias else None)


def ss2d_grads(out: torch.Tensor, ins: dict, grad: torch.Tensor) -> dict:
    keys = [k for k in SS2D_NAMES if ins[k] is not None]
    got = torch.autograd.grad(out, [ins[k] for k in keys], grad)
    return dict(zip(keys, got))


def _ss2d_triton(**kw):
    return ss2d_scan(**kw, delta_softplus=True, backend='triton')


def check_ss2d_compiles(ins: dict, backend: str = 'aot_eager') -> None:
    """The fused scan traces in one graph through
    ``mmmamba.ss2d_scan_triton_fwd``; compiled with ``fullgraph=True`` its
    output and every input gradient equal eager's (same kernels), and those
    equal the oracle's; a call without gradient works too."""
    explain = torch._dynamo.explain(_ss2d_triton)(**ins)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    assert explain.graph_count == 1
    names = op_names(explain.graphs[0])
    assert any(n.startswith('mmmamba.ss2d_scan_triton_fwd')
               for n in names), names

    out = _ss2d_triton(**ins)
    assert type(out.grad_fn).__name__ == 'SS2DScanTritonFnBackward'
    torch._dynamo.reset()
    compiled = torch.compile(_ss2d_triton, fullgraph=True, backend=backend)
    c_out = compiled(**ins)
    assert c_out.dtype == out.dtype and c_out.shape == out.shape
    assert_same(c_out, out, 'out')
    gy = torch.randn_like(out)
    want, got = ss2d_grads(out, ins, gy), ss2d_grads(c_out, ins, gy)
    for k in want:
        assert got[k].shape == want[k].shape, k
        assert got[k].dtype == want[k].dtype, k
        assert_same(got[k], want[k], f'd{k}')
    with torch.no_grad():
        assert_same(compiled(**ins), out, 'out (no_grad)')
    # and the compiled kernels against the oracle
    ref = ss2d_scan_ref(**ins, delta_softplus=True)
    torch.testing.assert_close(c_out, ref, rtol=1e-4, atol=1e-4)
    oracle = ss2d_grads(ref, ins, gy)
    for k in oracle:
        scale = max(1.0, oracle[k].abs().max().item())
        torch.testing.assert_close(
            got[k], oracle[k], rtol=1e-4, atol=1e-4 * scale,
            msg=lambda m: f'd{k} vs oracle: {m}')


@pytest.fixture
def small_ss2d_config(request, monkeypatch):
    """Launch configurations of a few steps per chunk (several chunks, and
    with ``col_w`` column tiles with padded rows), for both kernels."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    col_w = request.param
    config = tk.SS2DScanConfig(1, 4, 1, acc_cg=False, col_w=col_w)
    monkeypatch.setattr(tk, 'default_config',
                        lambda *args, **kwargs: config)
    return config


@requires_triton_interpreter
@pytest.mark.parametrize('small_ss2d_config', [2], indirect=True,
                         ids=['tiles2'])
def test_ss2d_custom_ops_opcheck(small_ss2d_config):
    """Schemas, shape functions (the states' chunk count, strides, dtypes)
    and the registered backward of the fused scan's custom ops, with column
    tiles (2 column chunks, 4 row chunks: slots left zero)."""
    from mmmamba.ops.ss2d_scan import triton as ss2d_triton
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    ins = make_ss2d_inputs(batch=1, dim=2, H=5, W=3)
    u = ins['x'].detach().reshape(1, 2, 15).requires_grad_()
    args = (u, ) + tuple(ins[k] for k in SS2D_NAMES[1:])
    config = tk.forward_config(2, 1, 5, 3)
    assert config == small_ss2d_config
    # rows: ceil(15 / 4) chunks; columns: ceil(3 / 2) tiles of 8 rows
    assert tk.num_state_chunks(5, 3, 4, 2) == 4
    assert tk.num_state_chunks(3, 9, 16, 2) == 5
    torch.library.opcheck(ss2d_triton._ss2d_fwd_op,
                          args + (5, 3, True, True) + tuple(config))
    # inference: no chunk states, no backward
    plain = tuple(t.detach() for t in args)
    torch.library.opcheck(ss2d_triton._ss2d_fwd_op,
                          plain + (5, 3, True, False) + tuple(config))
    out, states = ss2d_triton._ss2d_fwd_op(*plain, 5, 3, True, True,
                                           *config)
    assert states.shape == (1, 4, 2, 4, 1)
    assert not states[:, 1::2, :, 2:].any()  # no column chunks 2 and 3
    torch.library.opcheck(
        ss2d_triton._ss2d_bwd_op,
        (torch.randn_like(out), ) + plain +
        (states, 5, 3, True, config.block_l, config.col_w))
    # without D and the bias: placeholders in and out
    bare = make_ss2d_inputs(batch=1, dim=2, H=5, W=3, has_d=False,
                            has_bias=False)
    args = (u, ) + tuple(bare[k] for k in SS2D_NAMES[1:])
    torch.library.opcheck(ss2d_triton._ss2d_fwd_op,
                          args + (5, 3, False, True) + tuple(config))


@requires_triton_interpreter
@pytest.mark.parametrize(
    'small_ss2d_config,kwargs', [
        (0, dict()),
        (2, dict(dstate=2, has_d=False, has_bias=False)),
    ],
    indirect=['small_ss2d_config'],
    ids=['N1-steps', 'N2-bare-tiles2'])
def test_ss2d_triton_compiles_fullgraph(small_ss2d_config, kwargs):
    check_ss2d_compiles(make_ss2d_inputs(batch=1, dim=2, H=5, W=3, **kwargs))


@requires_triton_interpreter
def test_ss2d_triton_compiles_fullgraph_default_config():
    """The default launch configuration (one chunk at this size)."""
    check_ss2d_compiles(make_ss2d_inputs(batch=1, dim=2, H=4, W=6))


@requires_triton_interpreter
@pytest.mark.parametrize('small_ss2d_config', [2], indirect=True,
                         ids=['tiles2'])
def test_ss2d_triton_compiles_with_inductor(small_ss2d_config):
    """Inductor keeps the fused scan as extern calls around its traced
    flatten and fp32 casts."""
    check_ss2d_compiles(make_ss2d_inputs(batch=1, dim=2, H=5, W=3),
                        backend='inductor')
