# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.conv_proj`` (Vim's conv1d + SiLU + x / dt
projections in one op).

Tier 1 (CPU, CI): the reference against a float64 oracle written here from
the index formulas; input validation and backend dispatch; the Triton
kernel in Triton's interpreter (TRITON_INTERPRET=1, set by conftest)
against the reference at the edge cases (ragged L and E, several channel
chunks and position blocks, padded dt_rank and d_state, K = 3 and 4, no
bias, both directions, Vim's strided x, bf16); its refusal of gradients;
``torch.compile(fullgraph=True)`` and opcheck through the custom op; an
offline sm_90 compile of the kernel. Tier 2 (marked ``gpu``): Vim-Ti sizes
on CUDA.
"""
from typing import Dict, Optional

import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops import conv1d_silu_proj
from mmmamba.ops.causal_conv1d import conv1d_silu_ref
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter, run_compiler_script)

OUTS = ('u', 'delta', 'B', 'C')


def make_inputs(batch: int, seqlen: int, dim: int, *, dt_rank: int = 12,
                d_state: int = 16, K: int = 4, bias: bool = True,
                dtype: torch.dtype = torch.float32, device='cpu',
                seed: int = 0) -> Dict[str, Optional[torch.Tensor]]:
    """``x`` is ``xz[..., :E]`` of a (B, L, 2E) tensor (Vim's slice of
    ``in_proj``'s output); fp32 weights (as under AMP), the conv's in
    ``nn.Conv1d``'s (E, 1, K)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device)

    xz = rnd(batch, seqlen, 2 * dim).to(dtype)
    return dict(
        x=xz[..., :dim],
        weight=rnd(dim, 1, K, scale=0.5),
        bias=rnd(dim) if bias else None,
        x_proj_weight=rnd(dt_rank + 2 * d_state, dim, scale=dim**-0.5),
        dt_proj_weight=rnd(dim, dt_rank, scale=dt_rank**-0.5),
        dt_rank=dt_rank, d_state=d_state)


def oracle(x, weight, bias, x_proj_weight, dt_proj_weight, dt_rank,
           d_state, reverse):
    """float64, from the index formulas, one tap and one output at a
    time."""
    x = x.double()
    batch, seqlen, dim = x.shape
    w = weight.double().reshape(dim, -1)
    K = w.shape[1]
    a = torch.zeros(batch, seqlen, dim, dtype=torch.float64)
    for t in range(seqlen):
        for k in range(K):
            s = t + (K - 1) - k if reverse else t - (K - 1) + k
            if 0 <= s < seqlen:
                a[:, t] += w[:, k] * x[:, s]
    if bias is not None:
        a += bias.double()
    u = a * torch.sigmoid(a)
    x_dbl = torch.einsum('ble,je->blj', u, x_proj_weight.double())
    dt = x_dbl[..., :dt_rank]
    Bm = x_dbl[..., dt_rank:dt_rank + d_state].transpose(1, 2)
    Cm = x_dbl[..., dt_rank + d_state:].transpose(1, 2)
    delta = torch.einsum('blr,er->ble', dt, dt_proj_weight.double())
    return u, delta, Bm, Cm


def assert_close(got, want, rtol, atol_rel, name):
    """|got - want| <= atol_rel * max|want| + rtol * |want|."""
    scale = want.double().abs().max().item()
    torch.testing.assert_close(got.double(), want.double(), rtol=rtol,
                               atol=atol_rel * scale, msg=lambda m: f'{name}'
                               f': {m}')


def _check_outputs(outs, ins, dtype):
    batch, seqlen, dim = ins['x'].shape
    n = ins['d_state']
    shapes = [(batch, seqlen, dim)] * 2 + [(batch, n, seqlen)] * 2
    for i, (name, t, shape) in enumerate(zip(OUTS, outs, shapes)):
        assert tuple(t.shape) == shape, name
        assert t.dtype == dtype, name
        if i < 2:  # u, delta (B, L, E) contiguous
            assert t.is_contiguous(), name
        else:  # B, C: (B, N, L) views of contiguous (B, L, N) tensors
            assert t.transpose(1, 2).is_contiguous(), name
            assert n == 1 or seqlen == 1 or not t.is_contiguous(), name


# ---------------------------------------------------------------- reference


@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('bias', [True, False])
def test_reference_matches_oracle(reverse, bias):
    ins = make_inputs(2, 9, 20, dt_rank=3, d_state=5, K=4, bias=bias)
    outs = conv1d_silu_proj(**ins, reverse=reverse, backend='reference')
    _check_outputs(outs, ins, torch.float32)
    for name, got, want in zip(OUTS, outs, oracle(**ins, reverse=reverse)):
        assert_close(got, want, 1e-5, 1e-6, name)


def test_reference_is_differentiable_and_ignores_autocast():
    """Gradients reach every input; under autocast the projections run
    in x's dtype, as the explicit cast computes them."""
    ins = make_inputs(1, 7, 16, dt_rank=4, d_state=4)
    for k in ('weight', 'bias', 'x_proj_weight', 'dt_proj_weight'):
        ins[k].requires_grad_(True)
    outs = conv1d_silu_proj(**ins, backend='reference')
    sum(o.sum() for o in outs).backward()
    for k in ('weight', 'bias', 'x_proj_weight', 'dt_proj_weight'):
        assert ins[k].grad is not None and ins[k].grad.abs().sum() > 0, k
    bf = make_inputs(1, 7, 16, dt_rank=4, d_state=4, dtype=torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.float16):
        outs = conv1d_silu_proj(**bf, backend='reference')
    assert all(o.dtype == torch.bfloat16 for o in outs)


# ---------------------------------------------------------------- checks


def test_bad_inputs_raise():
    ins = make_inputs(1, 5, 8, dt_rank=2, d_state=3)

    def call(**over):
        args = dict(ins, **over)
        return conv1d_silu_proj(**args, backend='reference')

    with pytest.raises(ValueError, match=r'x must be \(B, L, E\)'):
        call(x=ins['x'][0])
    with pytest.raises(ValueError, match='non-empty'):
        call(x=ins['x'][:, :0])
    with pytest.raises(ValueError, match='unit stride along channels'):
        call(x=torch.randn(1, 8, 5).transpose(1, 2))
    with pytest.raises(ValueError, match=r'x_proj_weight must have shape '
                       r'\(8, 8\)'):
        call(x_proj_weight=torch.randn(9, 8))
    with pytest.raises(ValueError, match='dt_proj_weight'):
        call(dt_proj_weight=torch.randn(8, 3))
    with pytest.raises(ValueError, match='weight must have shape'):
        call(weight=torch.randn(7, 4))
    with pytest.raises(ValueError, match='bias'):
        call(bias=torch.randn(9))
    with pytest.raises(ValueError, match=r'delta_bias must have shape '
                       r'\(8\)'):
        call(delta_bias=torch.randn(7))
    with pytest.raises(ValueError, match='dt_rank must be a positive int'):
        call(dt_rank=0)
    with pytest.raises(TypeError, match='x must be a torch.Tensor'):
        call(x=[1.0])
    with pytest.raises(TypeError, match='floating-point'):
        call(x=torch.ones(1, 5, 8, dtype=torch.int32))
    with pytest.raises(ValueError, match='unknown conv1d_silu_proj backend'):
        conv1d_silu_proj(**ins, backend='cuda')


def test_backend_resolution(monkeypatch):
    """The conv's backend rules, with errors that name this op."""
    from mmmamba.ops import causal_conv1d, conv_proj
    x = torch.randn(1, 4, 8)
    assert conv_proj._resolve_backend('auto', x) == 'reference'
    assert conv_proj._resolve_backend('reference', x) == 'reference'
    with pytest.raises(TypeError, match='conv1d_silu_proj .*float64'):
        conv_proj._resolve_backend('triton', x.double())
    monkeypatch.setenv('TRITON_INTERPRET', '0')
    monkeypatch.setattr(causal_conv1d, 'is_triton_available', lambda: True)
    with pytest.raises(RuntimeError, match='conv1d_silu_proj needs CUDA'):
        conv_proj._resolve_backend('triton', x)
    monkeypatch.setattr(causal_conv1d, 'is_triton_available', lambda: False)
    with pytest.raises(RuntimeError, match='conv1d_silu_proj backend '
                       "'triton' is not available"):
        conv_proj._resolve_backend('triton', x)


# ---------------------------------------------------------------- Triton

INTERP_CASES = [
    # batch, L, E, R, N, K, bias: two position blocks (the last ragged),
    # two channel chunks (the last partial), R and N padded to 16
    pytest.param(2, 70, 96, 12, 16, 4, True, id='vim-like'),
    pytest.param(1, 5, 24, 3, 5, 3, False, id='short-narrow-K3-nobias'),
    pytest.param(1, 33, 40, 20, 8, 4, True, id='R20-padded-to-32'),
]


@requires_triton_interpreter
@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('batch,seqlen,dim,R,N,K,bias', INTERP_CASES)
def test_triton_interpreter_matches_reference(batch, seqlen, dim, R, N, K,
                                              bias, reverse):
    ins = make_inputs(batch, seqlen, dim, dt_rank=R, d_state=N, K=K,
                      bias=bias)
    want = conv1d_silu_proj(**ins, reverse=reverse, backend='reference')
    got = conv1d_silu_proj(**ins, reverse=reverse, backend='triton')
    _check_outputs(got, ins, torch.float32)
    for name, g, w in zip(OUTS, got, want):
        assert_close(g, w, 1e-5, 1e-6, name)
    for name, g, w in zip(OUTS, got, oracle(**ins, reverse=reverse)):
        assert_close(g, w, 1e-4, 1e-5, name)


@requires_triton_interpreter
@pytest.mark.parametrize('reverse', [False, True])
def test_triton_interpreter_conv_chunk_changes_nothing(monkeypatch, reverse):
    """``block_ec`` (the conv pass's channel chunk, smaller than the
    projections' ``block_e``): the same values bit for bit, 72 channels
    (a partial last chunk of 16 and of 32)."""
    from mmmamba.ops.conv_proj import triton_kernels as tk
    ins = make_inputs(2, 37, 72)
    outs = []
    for cfg in (tk.ConvProjConfig(16, 32, 2, 1, True),
                tk.ConvProjConfig(16, 32, 2, 1, True, block_ec=16)):
        monkeypatch.setattr(tk, 'default_config', lambda *a, c=cfg: c)
        outs.append(conv1d_silu_proj(**ins, reverse=reverse,
                                     backend='triton'))
    for name, a, b in zip(OUTS, *outs):
        assert torch.equal(a, b), name
    for name, g, w in zip(OUTS, outs[1], oracle(**ins, reverse=reverse)):
        assert_close(g, w, 1e-4, 1e-5, name)


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('K,bias', [(4, True), (3, False), (2, True)])
@pytest.mark.parametrize('reverse', [False, True])
def test_triton_interpreter_row_group_and_prefetch_change_nothing(
        monkeypatch, reverse, K, bias, dtype):
    """``row_group`` (the conv pass in groups of G rows, each shifted row
    set loaded once) and ``prefetch`` (the next channel chunk's row sets
    loaded before the current chunk's conv): the same values bit for bit
    as the whole tile, at a ragged L (37: partial groups and blocks, the
    sequence's edges inside a group) and E (72: a partial channel chunk,
    and a prefetch beyond the last), G up to block_l."""
    from mmmamba.ops.conv_proj import triton_kernels as tk
    ins = make_inputs(2, 37, 72, K=K, bias=bias, dtype=dtype)
    outs = []
    for g, prefetch in ((1, False), (2, False), (4, False), (1, True),
                        (4, True), (16, False)):
        cfg = tk.ConvProjConfig(16, 32, 2, 1, True, block_ec=16,
                                row_group=g, prefetch=prefetch)
        monkeypatch.setattr(tk, 'default_config', lambda *a, c=cfg: c)
        outs.append(conv1d_silu_proj(**ins, reverse=reverse,
                                     backend='triton'))
    for got in outs[1:]:
        for name, a, b in zip(OUTS, outs[0], got):
            assert torch.equal(a, b), name
    want = oracle(**ins, reverse=reverse)
    tol = (1e-4, 1e-5) if dtype == torch.float32 else (2e-2, 1e-2)
    assert_close(outs[-1][0], want[0], *tol, 'u')


@requires_triton_interpreter
@pytest.mark.parametrize('g', [0, 3, 32])
def test_row_group_must_be_a_power_of_two_within_the_block(monkeypatch, g):
    from mmmamba.ops.conv_proj import triton_kernels as tk
    cfg = tk.ConvProjConfig(16, 32, 2, 1, True, row_group=g)
    monkeypatch.setattr(tk, 'default_config', lambda *a: cfg)
    with pytest.raises(ValueError, match='row_group must be a power of two'):
        conv1d_silu_proj(**make_inputs(1, 8, 16), backend='triton')


@requires_triton_interpreter
def test_triton_interpreter_bf16_rounds_like_the_unfused_path():
    """bf16: u, dt, B, C and delta each rounded to bf16 as the unfused
    path's conv and GEMM outputs are; against the reference (which runs
    that path) to bf16 rounding, and u bit for bit equal to the Triton
    conv kernel's given the taps rounded to bf16 as autocast rounds them
    (the same fp32 sum in the same order, one rounding)."""
    from mmmamba.ops import conv1d_silu
    ins = make_inputs(2, 40, 64, dtype=torch.bfloat16)
    for reverse in (False, True):
        want = conv1d_silu_proj(**ins, reverse=reverse, backend='reference')
        got = conv1d_silu_proj(**ins, reverse=reverse, backend='triton')
        _check_outputs(got, ins, torch.bfloat16)
        with torch.no_grad():
            u = conv1d_silu(ins['x'], ins['weight'].to(torch.bfloat16),
                            ins['bias'].to(torch.bfloat16), reverse=reverse,
                            backend='triton')
        assert torch.equal(got[0], u)
        for name, g, w in zip(OUTS, got, want):
            assert_close(g, w, 2e-2, 1e-2, name)


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter)])
@pytest.mark.parametrize('bias,softplus', [(True, True), (True, False),
                                           (False, True)])
def test_delta_as_the_scan_step_fp32(backend, bias, softplus):
    """``delta_bias`` / ``delta_softplus``: delta becomes
    softplus(delta + bias) (or either alone), against the float64 oracle;
    u, B and C are unchanged; both directions, several channel chunks."""
    ins = make_inputs(2, 37, 72)
    g = torch.Generator().manual_seed(1)
    dt_bias = torch.randn(72, generator=g) - 2.0  # softplus's both regimes
    for reverse in (False, True):
        got = conv1d_silu_proj(**ins, reverse=reverse,
                               delta_bias=dt_bias if bias else None,
                               delta_softplus=softplus, backend=backend)
        _check_outputs(got, ins, torch.float32)
        want = list(oracle(**ins, reverse=reverse))
        step = want[1] + (dt_bias.double() if bias else 0.0)
        want[1] = F.softplus(step) if softplus else step
        for name, g, w in zip(OUTS, got, want):
            assert_close(g, w, 1e-4, 1e-5, name)
        plain = conv1d_silu_proj(**ins, reverse=reverse, backend=backend)
        for i in (0, 2, 3):
            assert torch.equal(got[i], plain[i]), OUTS[i]


def _step_ulps(got, plain_delta, dt_bias):
    """Units in the last place between a bf16 step and softplus(plain
    delta + bias) computed from the op's own plain (bf16) delta."""
    want = F.softplus(plain_delta.float() + dt_bias.float()).bfloat16()
    return (got.view(torch.int16).int() - want.view(torch.int16).int()).abs()


def test_delta_as_the_scan_step_bf16_rounds_the_projection_first():
    """bf16, reference backend: the step is computed from delta rounded to
    bf16 (the dt_proj GEMM's output, which the unfused scan reads), then
    bias and softplus in fp32, rounded once more: bit for bit (the Triton
    kernel: the next test here, and on CUDA
    :func:`test_gpu_triton_matches_reference`)."""
    ins = make_inputs(2, 40, 64, dtype=torch.bfloat16)
    dt_bias = torch.randn(64, generator=torch.Generator().manual_seed(1)) - 2
    for reverse in (False, True):
        plain = conv1d_silu_proj(**ins, reverse=reverse, backend='reference')
        got = conv1d_silu_proj(**ins, reverse=reverse, delta_bias=dt_bias,
                               delta_softplus=True, backend='reference')
        assert got[1].dtype == torch.bfloat16
        assert _step_ulps(got[1], plain[1], dt_bias).max().item() == 0


@requires_triton_interpreter
def test_triton_interpreter_bf16_step_matches_reference():
    """The kernel's bf16 step against the reference's: softplus is
    1-Lipschitz, so the steps differ by at most as much as the two
    backends' plain (rounded) deltas do, plus a bf16 unit of the plain
    delta (the interpreter truncates the plain delta it stores, while the
    step starts from it rounded to nearest) and two of the step."""
    ins = make_inputs(2, 40, 64, dtype=torch.bfloat16)
    dt_bias = torch.randn(64, generator=torch.Generator().manual_seed(1)) - 2
    for reverse in (False, True):
        outs = {}
        for backend in ('reference', 'triton'):
            plain = conv1d_silu_proj(**ins, reverse=reverse, backend=backend)
            step = conv1d_silu_proj(**ins, reverse=reverse,
                                    delta_bias=dt_bias, delta_softplus=True,
                                    backend=backend)
            _check_outputs(step, ins, torch.bfloat16)
            outs[backend] = plain[1].float(), step[1].float()
        (plain_r, step_r), (plain_t, step_t) = outs.values()
        bound = ((plain_t - plain_r).abs() + 2**-7 * plain_r.abs()
                 + 2**-7 * step_r.abs() + 1e-6)
        assert ((step_t - step_r).abs() <= bound).all()
        assert (step_t - step_r).abs().max() > 0  # not the same code path


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter)])
def test_conv_taps_are_rounded_to_the_input_dtype(backend):
    """fp32 conv taps and bias with bf16 x (autocast's parameters) give
    exactly what the taps rounded to bf16 beforehand give (autocast casts
    a conv's weights), and differ from what unrounded taps would."""
    ins = make_inputs(2, 24, 32, dtype=torch.bfloat16)
    rounded = dict(ins, weight=ins['weight'].to(torch.bfloat16),
                   bias=ins['bias'].to(torch.bfloat16))
    for reverse in (False, True):
        got = conv1d_silu_proj(**ins, reverse=reverse, backend=backend)
        want = conv1d_silu_proj(**rounded, reverse=reverse, backend=backend)
        for name, g, w in zip(OUTS, got, want):
            assert torch.equal(g, w), name
    # the rounding shows: the conv with the unrounded fp32 taps differs
    u_unrounded = conv1d_silu_ref(ins['x'], ins['weight'].squeeze(1),
                                  ins['bias'], reverse=True)
    assert not torch.equal(got[0], u_unrounded)


@requires_triton_interpreter
def test_triton_refuses_gradients():
    ins = make_inputs(1, 6, 16, dt_rank=2, d_state=2)
    ins['x_proj_weight'].requires_grad_(True)
    with pytest.raises(RuntimeError, match='forward-only'):
        conv1d_silu_proj(**ins, backend='triton')
    with torch.no_grad():
        conv1d_silu_proj(**ins, backend='triton')


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('reverse', [False, True])
def test_launcher_equals_the_op(dtype, reverse):
    """conv1d_silu_proj_launcher: checked once, its launch gives the Triton
    op's outputs bit for bit and in the op's layouts, on the tensors it was
    made from and on new ones of the same layout (the conv weight as
    nn.Conv1d's (E, 1, K), as the op takes it)."""
    from mmmamba.ops.conv_proj import conv1d_silu_proj_launcher
    launch = None
    for seed in (0, 1):
        ins = make_inputs(2, 37, 24, dt_rank=3, d_state=4, dtype=dtype,
                          seed=seed)
        ins['delta_bias'] = torch.randn(24)
        kw = dict(reverse=reverse, delta_softplus=True)
        with torch.no_grad():
            if launch is None:
                launch = conv1d_silu_proj_launcher(**ins, **kw)
            got = launch(ins['x'], ins['weight'], ins['bias'],
                         ins['x_proj_weight'], ins['dt_proj_weight'],
                         ins['delta_bias'])
            want = conv1d_silu_proj(**ins, **kw, backend='triton')
        for name, a, b in zip(OUTS, got, want):
            assert torch.equal(a, b) and a.stride() == b.stride(), name


def _assert_same_values_bc_fp32(got, plain):
    """``got`` (an op's outputs with ``bc_fp32``) equal to ``plain`` (the
    same call without) bit for bit and in its strides, B and C in fp32."""
    for name, a, b in zip(OUTS, got, plain):
        if name in ('B', 'C'):
            assert a.dtype == torch.float32, name
            b = b.float()
        assert torch.equal(a, b) and a.stride() == b.stride(), name


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter)
])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_bc_fp32_returns_the_same_values_in_fp32(backend, dtype):
    """``bc_fp32``: B and C in fp32, with the values of the 16-bit (or
    fp32) B and C bit for bit and in the same layout ((B, N, L) views,
    stride 1 along N); u and delta unchanged; op and launcher alike."""
    from mmmamba.ops.conv_proj import conv1d_silu_proj_launcher
    ins = make_inputs(2, 37, 24, dt_rank=3, d_state=4, dtype=dtype)
    ins['delta_bias'] = torch.randn(24)
    kw = dict(reverse=True, delta_softplus=True)
    with torch.no_grad():
        plain = conv1d_silu_proj(**ins, **kw, backend=backend)
        wide = conv1d_silu_proj(**ins, **kw, bc_fp32=True, backend=backend)
        runs = [wide]
        if backend == 'triton':
            launch = conv1d_silu_proj_launcher(**ins, **kw, bc_fp32=True)
            runs.append(launch(ins['x'], ins['weight'], ins['bias'],
                               ins['x_proj_weight'], ins['dt_proj_weight'],
                               ins['delta_bias']))
    for got in runs:
        _assert_same_values_bc_fp32(got, plain)


@requires_triton_interpreter
def test_launcher_refuses_what_the_op_refuses():
    """The launcher's checks are the op's: a wrong shape, a gradient to
    compute."""
    from mmmamba.ops.conv_proj import conv1d_silu_proj_launcher
    ins = make_inputs(1, 6, 16, dt_rank=2, d_state=2)
    with torch.no_grad(), pytest.raises(ValueError, match='x_proj_weight'):
        conv1d_silu_proj_launcher(**dict(ins, dt_rank=3))
    ins['x_proj_weight'].requires_grad_(True)
    with pytest.raises(RuntimeError, match='forward-only'):
        conv1d_silu_proj_launcher(**ins)


@requires_triton_interpreter
def test_triton_compiles_fullgraph_and_opcheck():
    """Under torch.compile(fullgraph=True) the op is one custom-op node
    with eager's numbers; opcheck validates its schema and shape
    function."""
    from mmmamba.ops.conv_proj import triton as tr
    ins = make_inputs(1, 6, 16, dt_rank=2, d_state=4)
    dt_bias = torch.randn(16)
    args = (ins['x'], ins['weight'].squeeze(1), ins['bias'],
            ins['x_proj_weight'], ins['dt_proj_weight'], 2, 4, True, None,
            False, False)
    torch.library.opcheck(tr._fwd_op, args)
    torch.library.opcheck(tr._fwd_op, args[:2] + (None, ) + args[3:])
    torch.library.opcheck(tr._fwd_op, args[:8] + (dt_bias, True, False))
    # fp32 B and C from 16-bit x: the fake's dtypes must follow
    x16 = ins['x'].to(torch.bfloat16)
    torch.library.opcheck(tr._fwd_op, (x16, ) + args[1:10] + (True, ))

    def fn(x, w, b, wx, wdt, dtb, bc_fp32=False):
        return conv1d_silu_proj(x, w, b, wx, wdt, dt_rank=2, d_state=4,
                                reverse=True, delta_bias=dtb,
                                delta_softplus=dtb is not None,
                                bc_fp32=bc_fp32, backend='triton')

    for dtb, x, bc_fp32 in ((None, ins['x'], False),
                            (dt_bias, ins['x'], False),
                            (dt_bias, x16, True)):
        torch._dynamo.reset()
        with torch.no_grad():
            want = fn(x, *args[1:5], dtb, bc_fp32)
            got = torch.compile(fn, fullgraph=True, backend='aot_eager')(
                x, *args[1:5], dtb, bc_fp32)
        for name, g, w in zip(OUTS, got, want):
            assert torch.equal(g, w), name


_COMPILE_SM90 = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from mmmamba.ops.conv_proj import triton_kernels as tk
from mmmamba.testing.sm90 import compile_sm90

low = {'x', 'u', 'delta', 'B', 'C'}  # the activations' dtype
ones = {'stride_wk', 'stride_wxe', 'stride_wdtr'}
div16 = {'dim', 'stride_xb', 'stride_xl', 'stride_we', 'stride_wxr',
         'stride_wdte'}
cfg = tk.FWD_CONFIG
names = {p.name for p in tk._conv_proj_fwd_kernel.params if p.is_constexpr}
n = 0
x_loads = {}
prev_mma = 0
for dtype, reverse, group, bc_fp32, prefetch, dt_low in (
        ('bf16', False, cfg.row_group, False, cfg.prefetch, False),
        ('bf16', True, cfg.row_group, False, cfg.prefetch, False),
        ('fp32', False, cfg.row_group, False, cfg.prefetch, False),
        ('fp32', True, cfg.row_group, False, cfg.prefetch, False),
        ('bf16', False, 1, False, False, False),
        ('bf16', True, cfg.row_group, True, cfg.prefetch, False),  # fp32 B, C
        ('bf16', True, cfg.row_group, True, not cfg.prefetch, False),
        ('bf16', True, cfg.row_group, True, cfg.prefetch, True)):  # dt_low
    low_here = low - {'B', 'C'} if bc_fp32 else low
    if dt_low:  # dt_proj's input, fp32, in place of delta
        low_here = low_here - {'delta'}
    consts = dict(K=4, HAS_BIAS=True, REVERSE=reverse,
                  IEEE=dtype == 'fp32', BLOCK_L=cfg.block_l,
                  BLOCK_E=cfg.block_e, BLOCK_R=16, BLOCK_N=16,
                  TWO_PASS=cfg.two_pass,
                  BLOCK_EC=cfg.block_ec or cfg.block_e,
                  HAS_DT_BIAS=reverse and not dt_low,
                  DT_SOFTPLUS=reverse and not dt_low,
                  ROW_GROUP=group, PREFETCH=prefetch, DT_LOW=dt_low)
    assert names <= set(consts) | ones, names - set(consts)
    kernel = compile_sm90(tk._conv_proj_fwd_kernel, consts, dtype,
                          low_here, ones, div16, cfg.num_warps, cfg.num_stages,
                          cfg.maxnreg if dtype == 'bf16' else None)
    assert len(kernel.asm['cubin']) > 0
    ptx = kernel.asm['ptx']
    if dtype == 'bf16':  # the projections run on the tensor cores
        assert 'mma' in ptx, 'no mma instruction'
    # the SiLU divides on the special-function unit (triton_math.silu),
    # not with tl.sigmoid's IEEE division
    assert 'div.approx' in ptx and 'div.rn.f32' not in ptx, dtype
    if dt_low:  # no third pass: no delta store, no dt_proj dot
        assert ptx.count('mma') < prev_mma, (ptx.count('mma'), prev_mma)
    prev_mma = ptx.count('mma')
    x_loads[dtype, reverse, group, bc_fp32, prefetch] = ptx.count(
        'ld.global.v4.b32')
    n += 1
# the default's row groups: each shifted row set of x loaded once per
# group (7 loads of 8 bf16 per group of 4 rows), not once per tap (16)
assert cfg.row_group > 1
assert (x_loads['bf16', False, cfg.row_group, False, cfg.prefetch]
        < x_loads['bf16', False, 1, False, False]), x_loads
print(f'compiled {n}')
"""


@requires_triton
def test_kernel_compiles_for_sm90():
    """The interpreter runs the kernel's Python, not the compiler: compile
    it for sm_90 offline (PTX and ptxas, no GPU needed) with its default
    launch configuration (the register cap in bf16), bf16 and fp32, both
    directions (the reverse one with the scan's step: bias and softplus),
    and bf16 with fp32 B and C (``bc_fp32``), with and without the conv
    pass's ``prefetch``, and with ``dt_low`` (fewer MMAs than the same
    call with delta: no dt_proj pass); in bf16 the projections must
    compile to tensor-core MMAs, and the SiLU to the approximate division
    (no IEEE one anywhere)."""
    out = run_compiler_script(_COMPILE_SM90, timeout=300)
    assert out.strip().split('\n')[-1] == 'compiled 8', out


_COMPILE_BIDIR_SM90 = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from mmmamba.ops.conv_proj import triton_kernels as tk
from mmmamba.testing.sm90 import compile_sm90, resource_usage

cfg = tk.FWD_CONFIG
consts = dict(K=4, HAS_BIAS=True, IEEE=False, BLOCK_L=cfg.block_l,
              BLOCK_E=cfg.block_e, BLOCK_R=16, BLOCK_N=16,
              TWO_PASS=cfg.two_pass, BLOCK_EC=cfg.block_ec,
              HAS_DT_BIAS=False, DT_SOFTPLUS=False,
              ROW_GROUP=cfg.row_group, PREFETCH=cfg.prefetch, DT_LOW=True)
ones = {'stride_wk', 'stride_wxe', 'stride_wdtr'}
div16 = {'dim', 'stride_xb', 'stride_xl', 'stride_we', 'stride_wxr',
         'stride_wdte', 'dir_stride_u', 'dir_stride_delta',
         'dir_stride_n'}
for name, fn, extra, c in (
        ('one', tk._conv_proj_fwd_kernel, dict(REVERSE=True), cfg),
        ('one4', tk._conv_proj_fwd_kernel, dict(REVERSE=True),
         tk.BIDIR_CONFIG),
        ('bidir', tk._conv_proj_bidir_kernel, {}, tk.BIDIR_CONFIG)):
    # the same tiles (consts) but for the row groups
    assert c._replace(num_warps=0, maxnreg=0, row_group=0) == cfg._replace(
        num_warps=0, maxnreg=0, row_group=0)
    k = compile_sm90(fn, dict(consts, ROW_GROUP=c.row_group, **extra),
                     'bf16', {'x', 'u'}, ones, div16, c.num_warps,
                     c.num_stages, c.maxnreg)
    ptx = k.asm['ptx']
    print('mma', name, ptx.count('mma.sync'))
    usage = resource_usage(k)
    if usage is not None:
        print('usage', name, *usage)
print('compiled')
"""


@requires_triton
def test_bidir_kernel_compiles_for_sm90_as_one_direction():
    """Offline sm_90 compile of the one-launch conv + projection kernel as
    Vim's batch-64 core runs it (bf16, ``dt_low``, the default
    configuration): each branch holds one direction's code, so it needs
    twice the tensor-core MMAs of the one-direction kernel with its
    launch configuration (both branches in the binary) and (with the
    wheel's cuobjdump) no more registers than its cap
    (:data:`BIDIR_CONFIG`'s: 4 warps, 128) and no more stack than the
    one-direction kernel under the same configuration (16 bytes for both
    with row groups of 8, offline Triton 3.6 and 3.8)."""
    out = run_compiler_script(_COMPILE_BIDIR_SM90, timeout=600)
    assert out.strip().endswith('compiled'), out
    fields = {}
    for line in out.splitlines():
        key, name, *vals = line.split() if line[:4] in ('mma ',
                                                        'usag') else ('', '')
        if key:
            fields[key, name] = [int(v) for v in vals]
    assert fields['mma', 'one4'][0] > 0
    assert fields['mma', 'bidir'][0] == 2 * fields['mma', 'one4'][0], fields
    if ('usage', 'bidir') in fields:
        from mmmamba.ops.conv_proj import triton_kernels as tk
        reg, stack = fields['usage', 'bidir']
        assert reg <= tk.BIDIR_CONFIG.maxnreg, fields
        assert stack <= fields['usage', 'one4'][1], fields


# ---------------------------------------------------------------- GPU

GPU_CASES = [  # Vim-Ti: E = 384, R = 12, N = 16, K = 4
    pytest.param(128, 197, 384, id='vim-ti-224-b128'),
    pytest.param(8, 6085, 384, id='vim-ti-1248-b8'),
    pytest.param(3, 37, 72, id='odd'),
]
GPU_TOL = {  # (rtol, atol relative to max |ref|)
    torch.float32: (1e-4, 1e-5),
    torch.bfloat16: (2e-2, 1e-2),
}


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('dtype', list(GPU_TOL))
@pytest.mark.parametrize('batch,seqlen,dim', GPU_CASES)
def test_gpu_triton_matches_reference(batch, seqlen, dim, dtype, reverse):
    """'auto' is the kernel on CUDA; its outputs match the unfused
    reference to rounding, and u is the Triton conv kernel's bit for
    bit given the taps rounded to x's dtype (as autocast rounds them)."""
    from mmmamba.ops import conv1d_silu
    ins = make_inputs(batch, seqlen, dim, dtype=dtype, device='cuda')
    with torch.no_grad():
        want = conv1d_silu_proj(**ins, reverse=reverse, backend='reference')
        got = conv1d_silu_proj(**ins, reverse=reverse, backend='auto')
        u = conv1d_silu(ins['x'], ins['weight'].to(dtype),
                        ins['bias'].to(dtype), reverse=reverse,
                        backend='triton')
    _check_outputs(got, ins, dtype)
    assert torch.equal(got[0], u)
    for name, g, w in zip(OUTS, got, want):
        assert_close(g, w, *GPU_TOL[dtype], name)
    # the scan's step from the kernel's own rounded delta: equal to the
    # last bit but where the kernel's softplus (fp32: < 3e-6 relative;
    # 16-bit: < 2e-7 absolute) rounds the other way from torch's
    dt_bias = (torch.randn(dim, generator=torch.Generator().manual_seed(1))
               - 2.0).cuda()
    with torch.no_grad():
        step = conv1d_silu_proj(**ins, reverse=reverse, delta_bias=dt_bias,
                                delta_softplus=True, backend='triton')
    for i in (0, 2, 3):
        assert torch.equal(step[i], got[i]), OUTS[i]
    want = F.softplus(got[1].float() + dt_bias)
    if dtype == torch.bfloat16:
        ulps = _step_ulps(step[1], got[1], dt_bias)
        assert ulps.max().item() <= 1
        assert (ulps == 0).float().mean().item() > 0.99
    else:
        assert_close(step[1], want, 1e-5, 0.0, 'delta')


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_gpu_bc_fp32_same_values(dtype):
    """Compiled, ``bc_fp32`` gives B and C with the 16-bit ones' values
    bit for bit (the kernel rounds to x's dtype, then widens), u and delta
    unchanged (Vim-Ti at 1248², batch 8)."""
    ins = make_inputs(8, 6085, 384, dtype=dtype, device='cuda')
    dt_bias = torch.randn(384, device='cuda') - 2.0
    kw = dict(reverse=True, delta_bias=dt_bias, delta_softplus=True,
              backend='triton')
    with torch.no_grad():
        plain = conv1d_silu_proj(**ins, **kw)
        wide = conv1d_silu_proj(**ins, **kw, bc_fp32=True)
    _assert_same_values_bc_fp32(wide, plain)


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('dtype', list(GPU_TOL))
@pytest.mark.parametrize('batch,seqlen,dim', GPU_CASES)
def test_gpu_row_group_and_prefetch_bit_identical(monkeypatch, batch, seqlen,
                                                   dim, dtype, reverse):
    """Compiled, ``row_group`` 4 and 8, and ``prefetch`` with 1 and 4,
    give the outputs of 1 bit for bit (the same taps in the same order:
    ptxas must contract them the same way), with the taps as Vim's
    inference hands them ((E, K) contiguous in x's dtype) and the step's
    bias and softplus."""
    from mmmamba.ops.conv_proj import triton_kernels as tk
    ins = make_inputs(batch, seqlen, dim, dtype=dtype, device='cuda')
    ins['weight'] = ins['weight'].squeeze(1).to(dtype).contiguous()
    dt_bias = torch.randn(dim, device='cuda') - 2.0
    default = tk.default_config
    outs = []
    for g, prefetch in ((1, False), (4, False), (8, False), (1, True),
                        (4, True)):
        monkeypatch.setattr(
            tk, 'default_config',
            lambda *a, g=g, p=prefetch: default(*a)._replace(row_group=g,
                                                             prefetch=p))
        with torch.no_grad():
            outs.append(conv1d_silu_proj(**ins, reverse=reverse,
                                         delta_bias=dt_bias,
                                         delta_softplus=True,
                                         backend='triton'))
    for got in outs[1:]:
        for name, a, b in zip(OUTS, outs[0], got):
            assert torch.equal(a, b), name


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('batch,seqlen,dt_low', [
    pytest.param(64, 6085, True, id='vim-ti-1248-b64-dt_low'),
    pytest.param(128, 197, False, id='vim-ti-224-b128-step'),
])
def test_gpu_bidir_launcher_equals_two_launches(batch, seqlen, dt_low):
    """Compiled, the one-launch conv + projection gives each direction's
    one-direction outputs bit for bit at Vim-Ti's sizes, bf16, with the
    weights as Vim's inference core hands them (different per
    direction): with ``dt_low`` (the batch-64 core's call) and with the
    scan's step."""
    from mmmamba.ops.conv_proj import (conv1d_silu_proj_bidir_launcher,
                                       conv1d_silu_proj_launcher)
    dtype = torch.bfloat16
    ins = [make_inputs(batch, seqlen, 384, dtype=dtype, device='cuda',
                       seed=s) for s in (0, 1)]
    x = ins[0]['x']
    ws = [_direction_weights(i, dtype) for i in ins]
    biases = (None, None) if dt_low else tuple(
        torch.randn(384, device='cuda') - 2.0 for _ in ins)
    kw = dict(dt_rank=12, d_state=16, bc_fp32=True, dt_low=dt_low,
              delta_softplus=not dt_low)
    with torch.no_grad():
        got = conv1d_silu_proj_bidir_launcher(
            x, *ws, delta_biases=biases, **kw)(x, *ws, biases)
        for d in (0, 1):
            want = conv1d_silu_proj_launcher(
                x, *ws[d], reverse=bool(d), delta_bias=biases[d],
                **kw)(x, *ws[d], biases[d])
            for name, g, w in zip(OUTS, got, want):
                if name in ('B', 'C'):
                    w = w.transpose(1, 2)
                assert torch.equal(g[d], w), (d, name)


def test_reference_equals_f_linear_composition():
    """The reference is the unfused path under autocast: the one-direction
    conv with its taps and bias in x's dtype, then ``F.linear`` with the
    weights in x's dtype (bit for bit)."""
    from mmmamba.ops import conv1d_silu
    ins = make_inputs(2, 11, 32, dtype=torch.bfloat16)
    u, delta, Bm, Cm = conv1d_silu_proj(**ins, backend='reference')
    u0 = conv1d_silu(ins['x'], ins['weight'].bfloat16(),
                     ins['bias'].bfloat16(), backend='reference')
    x_dbl = F.linear(u0, ins['x_proj_weight'].bfloat16())
    assert torch.equal(u, u0)
    assert torch.equal(Bm, x_dbl[..., 12:28].transpose(1, 2))
    assert torch.equal(Cm, x_dbl[..., 28:].transpose(1, 2))
    assert torch.equal(
        delta, F.linear(x_dbl[..., :12], ins['dt_proj_weight'].bfloat16()))


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_launcher_dt_low_returns_dt_proj_input(dtype):
    """``dt_low``: the launch returns dt_proj's input (B, L, 16) fp32 in
    place of delta (zeros beyond the rank, values rounded to x's dtype),
    written into ``outs`` when given; u, B and C are the plain launch's
    bit for bit, and dt_proj applied to it gives the plain delta to
    rounding. With a delta bias or softplus it raises."""
    from mmmamba.ops.conv_proj import conv1d_silu_proj_launcher, dt_low_width
    ins = make_inputs(2, 21, 32, dt_rank=3, d_state=4, dtype=dtype, seed=4)
    args = (ins['x'], ins['weight'], ins['bias'], ins['x_proj_weight'],
            ins['dt_proj_weight'])
    with torch.no_grad():
        plain = conv1d_silu_proj_launcher(**ins)(*args)
        launch = conv1d_silu_proj_launcher(**ins, dt_low=True)
        got = launch(*args)
        outs = (torch.empty(2, 21, 32, dtype=dtype),
                torch.full((2, 21, dt_low_width(3)), float('nan')),
                torch.empty(2, 21, 4, dtype=dtype),
                torch.empty(2, 21, 4, dtype=dtype))
        into = launch(*args, outs=outs)
    assert dt_low_width(3) == 16 and dt_low_width(12) == 16
    assert dt_low_width(17) == 32
    u, dt, B, C = got
    assert dt.shape == (2, 21, 16) and dt.dtype == torch.float32
    assert torch.equal(dt[..., 3:], torch.zeros(2, 21, 13))
    assert torch.equal(dt, dt.to(dtype).float())  # rounded to x's dtype
    for name, a, b in zip(('u', 'B', 'C'), (u, B, C),
                          (plain[0], plain[2], plain[3])):
        assert torch.equal(a, b), name
    for a, b in zip(into, got):
        assert torch.equal(a, b)
    assert into[1].data_ptr() == outs[1].data_ptr()
    w = ins['dt_proj_weight'].to(dtype).float()
    delta = (dt[..., :3] @ w.t()).to(dtype)
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(delta.float(), plain[1].float(), rtol=tol,
                               atol=tol)
    with torch.no_grad(), pytest.raises(ValueError, match='dt_low'):
        conv1d_silu_proj_launcher(**ins, dt_low=True, delta_softplus=True)


def _direction_weights(ins: dict, dtype: torch.dtype) -> tuple:
    """(taps (E, K) contiguous, bias, x_proj, dt_proj) in ``dtype``, as
    Vim's inference core hands them to the launchers."""
    return (ins['weight'].squeeze(1).to(dtype).contiguous(),
            None if ins['bias'] is None else ins['bias'].to(dtype),
            ins['x_proj_weight'].to(dtype), ins['dt_proj_weight'].to(dtype))


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('mode', ['dt_low', 'step', 'plain_no_bias'])
def test_bidir_launcher_equals_two_launches(dtype, mode):
    """conv1d_silu_proj_bidir_launcher: one launch for both directions
    gives, in each half of its stacked outputs, the one-direction
    launcher's outputs bit for bit (causal with ``fwd``'s weights,
    anti-causal with ``bwd``'s; different weights per direction), at two
    position blocks (L = 70 > 64) with ragged E: with ``dt_low``, with
    the scan's step (a delta bias per direction, softplus) and plain
    without conv bias; into ``outs`` when given, else into new stacked
    tensors."""
    from mmmamba.ops.conv_proj import (conv1d_silu_proj_bidir_launcher,
                                       conv1d_silu_proj_launcher)
    fwd_ins = make_inputs(2, 70, 40, dt_rank=3, d_state=4, dtype=dtype,
                          bias=mode != 'plain_no_bias', seed=1)
    bwd_ins = make_inputs(2, 70, 40, dt_rank=3, d_state=4, dtype=dtype,
                          bias=mode != 'plain_no_bias', seed=2)
    x = fwd_ins['x']
    fwd = _direction_weights(fwd_ins, dtype)
    bwd = _direction_weights(bwd_ins, dtype)
    kw = dict(dt_rank=3, d_state=4, bc_fp32=True)
    biases = (None, None)
    if mode == 'dt_low':
        kw['dt_low'] = True
    elif mode == 'step':
        biases = (torch.randn(40) - 1.0, torch.randn(40) + 1.0)
        kw['delta_softplus'] = True
    with torch.no_grad():
        want = [conv1d_silu_proj_launcher(
            x, *w, reverse=rev, delta_bias=b, **kw)(x, *w, b)
            for w, b, rev in ((fwd, biases[0], False),
                              (bwd, biases[1], True))]
        launch = conv1d_silu_proj_bidir_launcher(x, fwd, bwd,
                                                 delta_biases=biases, **kw)
        got = launch(x, fwd, bwd, biases)
        outs = tuple(torch.full_like(t, float('nan')) for t in got)
        into = launch(x, fwd, bwd, biases, outs=outs)
    width = 16 if mode == 'dt_low' else 40
    assert got[0].shape == (2, 2, 70, 40)
    assert got[1].shape == (2, 2, 70, width)
    assert got[2].shape == got[3].shape == (2, 2, 70, 4)
    assert got[2].dtype == torch.float32
    for d in (0, 1):
        for name, g, w in zip(OUTS, got, want[d]):
            if name in ('B', 'C'):
                w = w.transpose(1, 2)  # the op's (B, N, L) view
            assert torch.equal(g[d], w), (d, name)
    assert not torch.equal(got[0][0], got[0][1])
    for a, b, o in zip(into, got, outs):
        assert a.data_ptr() == o.data_ptr() and torch.equal(a, b)


@requires_triton_interpreter
def test_bidir_launcher_refuses_mismatched_directions():
    """The one-launch conv + projection needs both directions' weights in
    the same layouts (one set of strides), a bias in both or neither, four
    weights per direction and a pair of delta biases; each direction is
    checked as the op checks it; a gradient to compute raises as for the
    one-direction launcher."""
    from mmmamba.ops.conv_proj import conv1d_silu_proj_bidir_launcher
    ins = make_inputs(1, 6, 16, dt_rank=2, d_state=2)
    x = ins['x']
    w = _direction_weights(ins, torch.float32)
    kw = dict(dt_rank=2, d_state=2)
    with torch.no_grad():
        conv1d_silu_proj_bidir_launcher(x, w, w, **kw)  # fine
        taps_t = w[0].t().contiguous().t()  # (E, K) with other strides
        with pytest.raises(ValueError, match='weight.*same strides'):
            conv1d_silu_proj_bidir_launcher(x, w, (taps_t, ) + w[1:], **kw)
        with pytest.raises(ValueError, match='bias.*neither'):
            conv1d_silu_proj_bidir_launcher(x, w, (w[0], None) + w[2:],
                                            **kw)
        with pytest.raises(ValueError, match='delta_bias.*neither'):
            conv1d_silu_proj_bidir_launcher(
                x, w, w, delta_biases=(torch.zeros(16), None), **kw)
        with pytest.raises(ValueError, match='delta_biases must be a pair'):
            conv1d_silu_proj_bidir_launcher(
                x, w, w, delta_biases=(None, ), **kw)
        with pytest.raises(ValueError, match='fwd and bwd'):
            conv1d_silu_proj_bidir_launcher(x, w[:3], w, **kw)
        with pytest.raises(ValueError, match='x_proj_weight'):
            conv1d_silu_proj_bidir_launcher(x, w, w, dt_rank=3, d_state=2)
    wx = w[2].clone().requires_grad_(True)
    with pytest.raises(RuntimeError, match='forward-only'):
        conv1d_silu_proj_bidir_launcher(x, w, w[:2] + (wx, w[3]), **kw)


def test_default_config_conv_chunk_by_dtype():
    """The conv pass takes 64-channel chunks for 16-bit activations (the
    H100 sweeps of 2026-12-06) and keeps 32 for fp32 (not timed with
    64); never wider than the channel chunk of a narrow E."""
    pytest.importorskip('triton')
    from mmmamba.ops.conv_proj import triton_kernels as tk
    assert tk.default_config(6085, 384).block_ec == 64
    assert tk.default_config(6085, 384, itemsize=2).block_ec == 64
    assert tk.default_config(6085, 384, itemsize=4).block_ec == 32
    narrow = tk.default_config(6085, 24, itemsize=2)
    assert narrow.block_e == 32 and narrow.block_ec == 32
    # the one-launch kernel: 4 warps under a 128-register cap, otherwise
    # the same tiles and row groups of 8; both pipelined in 3 stages (the
    # H100 sweeps and graphs runs of 2026-12-07)
    both = tk.default_config(6085, 384, bidir=True)
    assert (both.num_warps, both.maxnreg, both.row_group) == (4, 128, 8)
    one = tk.default_config(6085, 384)
    assert (one.num_stages, one.row_group) == (3, 8)
    assert both._replace(num_warps=2, maxnreg=168) == one
    assert tk.default_config(6085, 384, 4, bidir=True).block_ec == 32
