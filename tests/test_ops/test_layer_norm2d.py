# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.layer_norm2d``: LayerNorm over the channels of
(B, C, H, W) maps (VMamba's ``LayerNorm2d``).

Tier 1 (CPU, CI): the reference against a float64 oracle written here
(output and every gradient); the Triton kernels in Triton's interpreter
(TRITON_INTERPRET=1, set by conftest) against the oracle and no worse
than the reference, forward and backward: fp32/bf16/fp16 maps, NCHW,
channels-last and strided (copied) inputs, C not a power of two,
positions not a multiple of the tile, H or W of 1, without weight or
bias, frozen parameters, autocast's fp32 output and ``out_dtype``; output
and gradient layouts; deterministic affine gradients; errors; the custom
ops (opcheck) and ``torch.compile(fullgraph=True)`` through them;
``LayerNorm2d`` against the official formula, its ``cast_output`` giving
the consumer the same values, and a small channel-first VMamba on the
Triton norms against the same model on the reference; the kernels
compiled offline for sm_90.
Tier 2 (marked ``gpu``): the kernels at VMamba-T's stage shapes (batch 128,
bf16, NCHW and channels-last) against the oracle, and VMamba-T under bf16
autocast with Triton norms against the reference norms.
"""
import subprocess
import sys
from typing import List, Optional

import pytest
import torch
import torch.nn.functional as F

import mmmamba.ops.layer_norm2d as lnm
from mmmamba.models.layers import LayerNorm2d
from mmmamba.ops.layer_norm2d import (layer_norm_2d, layer_norm_2d_ref,
                                      output_dtype,
                                      resolve_layer_norm_2d_backend)
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter, run_compiler_script)

# ------------------------------------------------------------------ helpers

NAMES = ('y', 'dx', 'dw', 'db')
# oracle tolerances per dtype of x (rtol, atol): the fp32 kernel math, then
# one rounding of y / dx to the dtype
TOL = {
    torch.float32: (1e-5, 1e-5),
    torch.bfloat16: (1.6e-2, 1.6e-2),
    torch.float16: (2e-3, 2e-3),
}


def oracle(x: torch.Tensor, w: Optional[torch.Tensor],
           b: Optional[torch.Tensor], eps: float) -> torch.Tensor:
    """The definition in float64 (differentiable), (B, C, H, W): biased
    variance over C."""
    xd = x.double()
    mean = xd.mean(1, keepdim=True)
    var = ((xd - mean)**2).mean(1, keepdim=True)
    y = (xd - mean) / torch.sqrt(var + eps)
    if w is not None:
        y = y * w.double()[None, :, None, None]
    if b is not None:
        y = y + b.double()[None, :, None, None]
    return y


def make_inputs(shape, dtype, *, layout='nchw', device='cpu', affine=True,
                seed=0) -> dict:
    """Leaf tensors x (in ``layout``: 'nchw', 'cl' channels-last, or
    'strided', a W-slice whose (H, W) do not flatten), weight and bias
    around 1 and 0 (None without ``affine``), and the probe gradient gy
    (float64)."""
    g = torch.Generator().manual_seed(seed)
    B, C, H, W = shape
    rnd = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa
    base = (rnd(*shape) * 2 + 0.5)
    if layout == 'strided':
        wide = torch.zeros(B, C, H, 2 * W, dtype=torch.float64)
        wide[..., ::2] = base
        x = wide.to(device, dtype)[..., ::2]
    else:
        x = base.to(device, dtype)
        if layout == 'cl':
            x = x.contiguous(memory_format=torch.channels_last)
    # gy representable in x's dtype: the gradient that reaches a y of
    # that dtype is then gy itself, as the oracle's
    ins = dict(x=x.requires_grad_(), weight=None, bias=None,
               gy=rnd(*shape).to(dtype).double().to(device))
    if affine:
        ins['weight'] = (1 + 0.3 * rnd(C)).float().to(device).requires_grad_()
        ins['bias'] = (0.2 * rnd(C)).float().to(device).requires_grad_()
    return ins


def run(fn, ins: dict) -> List[Optional[torch.Tensor]]:
    """[y, dx, dw, db] of ``fn(x, w, b)`` for the probe loss <y, gy>."""
    y = fn(ins['x'], ins['weight'], ins['bias'])
    leaves = [t for t in (ins['x'], ins['weight'], ins['bias'])
              if t is not None and t.requires_grad]
    grads = iter(torch.autograd.grad((y.double() * ins['gy']).sum(),
                                     leaves))
    out = [y]
    for t in (ins['x'], ins['weight'], ins['bias']):
        out.append(next(grads) if t is not None and t.requires_grad
                   else None)
    return out


def backend_fn(backend: str, eps: float = 1e-5, **kw):
    return lambda x, w, b: layer_norm_2d(x, w, b, eps, backend=backend,
                                         **kw)


def oracle_fn(eps: float = 1e-5):
    return lambda x, w, b: oracle(x, w, b, eps)


def assert_close(got, want, rtol, atol, name):
    if want is None:
        assert got is None, name
        return
    torch.testing.assert_close(got.double(), want.double(), rtol=rtol,
                               atol=atol, msg=lambda m: f'{name}: {m}')


def assert_matches_oracle(ins, backend, dtype, **kw):
    """The backend's outputs and gradients against the oracle (TOL), and
    no further from it than the reference (3x, plus two ulps)."""
    got = run(backend_fn(backend, **kw), ins)
    ref = run(backend_fn('reference', **kw), ins)
    want = run(oracle_fn(), ins)
    for name, g, r, w in zip(NAMES, got, ref, want):
        assert_close(g, w, *TOL[dtype], name)
        if g is None:
            continue
        assert g.dtype == r.dtype and g.shape == r.shape, name
        err_g = (g.double() - w).abs().max().item()
        err_r = (r.double() - w).abs().max().item()
        ulp = torch.finfo(g.dtype).eps * w.abs().max().item()
        assert err_g <= 3 * err_r + 2 * ulp, (name, err_g, err_r)
    return got


# ------------------------------------------------------- reference (tier 1)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('layout', ['nchw', 'cl'])
def test_reference_matches_float64_oracle(dtype, layout):
    """The oracle is the definition. (PyTorch's CPU backward of a bf16
    layer_norm sums the affine gradients in bf16, ~0.07 off here: those
    two are checked in fp32 only.)"""
    ins = make_inputs((2, 12, 5, 7), dtype, layout=layout)
    got = run(backend_fn('reference'), ins)
    want = run(oracle_fn(), ins)
    n = 4 if dtype == torch.float32 else 2
    for name, g, w in list(zip(NAMES, got, want))[:n]:
        assert_close(g, w, *TOL[dtype], name)


def test_reference_is_the_official_formula():
    """Bit for bit the official LayerNorm2d (permute, F.layer_norm,
    permute back), and LayerNorm2d's output on CPU."""
    ins = make_inputs((2, 10, 4, 6), torch.float32)
    x, w, b = ins['x'], ins['weight'], ins['bias']
    want = F.layer_norm(x.permute(0, 2, 3, 1), (10, ), w, b,
                        1e-6).permute(0, 3, 1, 2)
    assert torch.equal(layer_norm_2d_ref(x, w, b, 1e-6), want)
    m = LayerNorm2d(10, eps=1e-6)
    with torch.no_grad():
        m.weight.copy_(w)
        m.bias.copy_(b)
    got = m(x)
    assert torch.equal(got, want) and got.stride() == want.stride()


def test_reference_takes_fp32_affine_on_a_bf16_map():
    """A bf16 map with fp32 weight and bias outside autocast (which CUDA's
    ``layer_norm`` refuses: 'expected scalar type BFloat16 but found
    Float', H100 2026-12-05): normalised in fp32 and returned in bf16, as
    CPU's mixed-dtype ``layer_norm`` does, within bf16 rounding of the
    float64 oracle; gradients reach the fp32 parameters in fp32."""
    ins = make_inputs((2, 12, 5, 7), torch.bfloat16)
    x, w, b = ins['x'], ins['weight'], ins['bias']
    assert w.dtype == torch.float32
    y = layer_norm_2d_ref(x, w, b)
    assert y.dtype == torch.bfloat16 and y.shape == x.shape
    native = F.layer_norm(x.permute(0, 2, 3, 1), (12, ), w, b,
                          1e-5).permute(0, 3, 1, 2)
    torch.testing.assert_close(y, native, rtol=2**-8, atol=2**-8)
    got = run(backend_fn('reference'), ins)
    want = run(oracle_fn(), ins)
    for name, g, o in zip(NAMES, got, want):
        assert_close(g, o, *TOL[torch.bfloat16], name)
    assert got[2].dtype == got[3].dtype == torch.float32


def test_output_dtype_follows_layer_norm_under_autocast(monkeypatch):
    """F.layer_norm's dtype: fp32 under CUDA autocast (faked here: the
    rule reads the device type and the CUDA autocast state), the input's
    under CPU autocast, which leaves layer_norm alone."""
    x = torch.randn(1, 4, 2, 3).bfloat16()
    assert output_dtype(x) == torch.bfloat16
    assert output_dtype(x, torch.float16) == torch.float16
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert output_dtype(x) == torch.bfloat16
        y = layer_norm_2d(x, torch.ones(4), torch.zeros(4),
                          backend='reference')
        assert y.dtype == output_dtype(x)

    class FakeCuda:
        device = torch.device('cuda')

        def __init__(self, dtype):
            self.dtype = dtype

    monkeypatch.setattr(torch, 'is_autocast_enabled',
                        lambda device_type=None: device_type == 'cuda')
    assert output_dtype(FakeCuda(torch.bfloat16)) == torch.float32
    assert output_dtype(FakeCuda(torch.float64)) == torch.float64
    assert output_dtype(FakeCuda(torch.bfloat16),
                        torch.bfloat16) == torch.bfloat16
    assert output_dtype(x) == torch.bfloat16


# --------------------------------------------------- dispatcher (tier 1)


def test_bad_inputs_raise_clear_errors():
    x = torch.randn(2, 4, 3, 3)
    w = torch.ones(4)
    with pytest.raises(ValueError, match=r'must be \(B, C, H, W\)'):
        layer_norm_2d(x[0], w, w)
    with pytest.raises(ValueError, match=r'weight must be \(C=4,\)'):
        layer_norm_2d(x, torch.ones(5), w)
    with pytest.raises(ValueError, match=r'bias must be \(C=4,\)'):
        layer_norm_2d(x, w, torch.ones(2, 2))
    with pytest.raises(TypeError, match='x must be a floating-point'):
        layer_norm_2d(x.long(), w, w)
    with pytest.raises(TypeError, match='weight must be a floating-point'):
        layer_norm_2d(x, w.long(), w)
    with pytest.raises(TypeError, match='out_dtype must be a floating'):
        layer_norm_2d(x, w, w, out_dtype=torch.int8)
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        layer_norm_2d(x, w, w, backend='nope')
    with pytest.raises(ValueError, match='normalises one axis'):
        LayerNorm2d((4, 3))


def test_auto_resolves_to_reference_on_cpu(monkeypatch):
    monkeypatch.delenv(lnm.ENV_VAR, raising=False)
    x = torch.randn(1, 4, 2, 2)
    assert resolve_layer_norm_2d_backend('auto', x,
                                         torch.float32) == 'reference'
    monkeypatch.setenv(lnm.ENV_VAR, 'nope')
    with pytest.raises(ValueError, match='unknown backend'):
        resolve_layer_norm_2d_backend('auto', x, torch.float32)


def test_triton_backend_constraints(monkeypatch):
    x = torch.randn(1, 4, 2, 2)
    if not lnm.is_triton_available():
        with pytest.raises(RuntimeError, match='pip install'):
            resolve_layer_norm_2d_backend('triton', x, torch.float32)
        return
    monkeypatch.setattr(lnm, 'triton_interpret', lambda: False)
    with pytest.raises(RuntimeError, match='needs CUDA tensors'):
        resolve_layer_norm_2d_backend('triton', x, torch.float32)
    monkeypatch.setattr(lnm, 'triton_interpret', lambda: True)
    assert resolve_layer_norm_2d_backend('triton', x,
                                         torch.float32) == 'triton'
    with pytest.raises(TypeError, match='x of torch.float64'):
        resolve_layer_norm_2d_backend('triton', x.double(), torch.float32)
    with pytest.raises(TypeError, match='out_dtype of torch.float64'):
        resolve_layer_norm_2d_backend('triton', x, torch.float64)
    wide = torch.empty(1, lnm.MAX_CHANNELS + 1, 1, 1)
    with pytest.raises(ValueError, match='at most 4096 channels'):
        resolve_layer_norm_2d_backend('triton', wide, torch.float32)


def test_auto_on_cuda_picks_triton_when_it_can(monkeypatch):
    """'auto' for CUDA tensors (faked: the check reads ``x.device.type``,
    ``x.dtype`` and ``x.shape``): triton where it can while AUTO_TRITON
    is on (the default since the H100 run of 2026-12-05), the reference
    with it off."""
    assert lnm.AUTO_TRITON
    monkeypatch.delenv(lnm.ENV_VAR, raising=False)

    class FakeCuda:
        def __init__(self, dtype, C=8):
            self.dtype, self.shape = dtype, (2, C, 3, 3)
            self.device = torch.device('cuda')

    monkeypatch.setattr(lnm, 'is_triton_available', lambda: True)
    f32, bf16 = torch.float32, torch.bfloat16
    monkeypatch.setattr(lnm, 'AUTO_TRITON', False)
    assert resolve_layer_norm_2d_backend('auto', FakeCuda(bf16),
                                         f32) == 'reference'
    monkeypatch.setattr(lnm, 'AUTO_TRITON', True)
    assert resolve_layer_norm_2d_backend('auto', FakeCuda(bf16),
                                         f32) == 'triton'
    assert resolve_layer_norm_2d_backend('auto', FakeCuda(torch.float64),
                                         torch.float64) == 'reference'
    assert resolve_layer_norm_2d_backend(
        'auto', FakeCuda(f32, lnm.MAX_CHANNELS + 1), f32) == 'reference'
    monkeypatch.setenv(lnm.ENV_VAR, 'reference')
    assert resolve_layer_norm_2d_backend('auto', FakeCuda(bf16),
                                         f32) == 'reference'
    monkeypatch.delenv(lnm.ENV_VAR)
    monkeypatch.setattr(lnm, 'is_triton_available', lambda: False)
    assert resolve_layer_norm_2d_backend('auto', FakeCuda(bf16),
                                         f32) == 'reference'


def test_import_needs_no_triton():
    """The op and the VMamba layers import without importing triton."""
    code = ('import sys, mmmamba.ops.layer_norm2d, '
            'mmmamba.models.layers.vmamba_layers; '
            'print("triton" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'False'


# ------------------------------------------- Triton in the interpreter


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', list(TOL), ids=['fp32', 'bf16', 'fp16'])
@pytest.mark.parametrize('layout', ['nchw', 'cl', 'strided'])
def test_triton_interpreter_matches_oracle(dtype, layout):
    """C = 12 (a 16-channel tile), 35 positions (tiles of 256 // 16 = 16
    positions at the default, so a partial last tile)."""
    ins = make_inputs((2, 12, 5, 7), dtype, layout=layout)
    got = assert_matches_oracle(ins, 'triton', dtype)
    y, dx = got[0], got[1]
    # channels-last output as the reference's, dx in x's layout
    assert y.stride() == (12 * 35, 1, 7 * 12, 12)
    if layout == 'strided':
        assert dx.is_contiguous()
    else:
        assert dx.stride() == ins['x'].stride()


@requires_triton_interpreter
@pytest.mark.parametrize('shape', [(1, 96, 3, 9), (3, 5, 1, 4), (2, 3, 6, 1),
                                   (1, 130, 2, 3)],
                         ids=['c96', 'h1', 'w1', 'c130'])
def test_triton_interpreter_shapes(shape):
    ins = make_inputs(shape, torch.float32, layout='cl')
    assert_matches_oracle(ins, 'triton', torch.float32)


@requires_triton_interpreter
@pytest.mark.parametrize('affine', ['none', 'weight', 'bias'])
def test_triton_interpreter_partial_affine(affine):
    ins = make_inputs((2, 6, 3, 5), torch.float32)
    if affine == 'none':
        ins['weight'] = ins['bias'] = None
    elif affine == 'weight':
        ins['bias'] = None
    else:
        ins['weight'] = None
    assert_matches_oracle(ins, 'triton', torch.float32)


@requires_triton_interpreter
def test_triton_interpreter_frozen_parameters_and_input():
    """Only the gradients asked for, each as the oracle's."""
    for frozen in ('x', 'weight', 'bias'):
        ins = make_inputs((2, 6, 3, 5), torch.float32)
        ins[frozen] = ins[frozen].detach()
        assert_matches_oracle(ins, 'triton', torch.float32)


@pytest.mark.parametrize('device', [
    pytest.param('cpu', marks=requires_triton_interpreter),
    pytest.param('cuda', marks=[pytest.mark.gpu, requires_cuda,
                                requires_triton])])
def test_triton_out_dtype(device):
    """``out_dtype`` rounds the fp32 result once: from a bf16 map, the
    fp32 output (what CUDA autocast's layer_norm returns) cast to bf16
    equals the bf16 output bit for bit (within one bf16 ulp in Triton's
    CPU interpreter, which truncates where the GPU rounds to nearest),
    and the fp32 one is the reference's computed in fp32."""
    ins = make_inputs((2, 12, 4, 5), torch.bfloat16, layout='cl',
                      device=device)
    x, w, b = ins['x'], ins['weight'], ins['bias']
    y32 = layer_norm_2d(x, w, b, backend='triton', out_dtype=torch.float32)
    y16 = layer_norm_2d(x, w, b, backend='triton')
    ref = layer_norm_2d(x.float(), w, b, backend='reference').detach()
    assert y32.dtype == torch.float32 and y16.dtype == torch.bfloat16
    torch.testing.assert_close(y32, ref, rtol=1e-5, atol=1e-5)
    if device == 'cpu':
        torch.testing.assert_close(y16, y32.to(torch.bfloat16),
                                   rtol=2**-7, atol=0)
    else:
        assert torch.equal(y16, y32.to(torch.bfloat16))
    # the gradient through the fp32 output reaches the bf16 map
    dx, dw = torch.autograd.grad(y32.sum() + (y32 * ref).sum(), (x, w))
    assert dx.dtype == torch.bfloat16 and dw.dtype == torch.float32
    want = torch.autograd.grad((oracle(x, w, b, 1e-5) * (1 + ref.double())
                                ).sum(), (x, w))
    torch.testing.assert_close(dx.double(), want[0].double(), **_bf16_tol())
    torch.testing.assert_close(dw.double(), want[1].double(), rtol=1e-4,
                               atol=1e-4)


def _bf16_tol() -> dict:
    rtol, atol = TOL[torch.bfloat16]
    return dict(rtol=rtol, atol=atol)


@requires_triton_interpreter
def test_triton_affine_gradients_deterministic_and_typed():
    ins = make_inputs((3, 6, 4, 9), torch.bfloat16)
    ins['bias'] = ins['bias'].detach().half().requires_grad_()
    a = run(backend_fn('triton'), ins)
    b = run(backend_fn('triton'), ins)
    for name, g, h in zip(NAMES, a, b):
        assert torch.equal(g, h), name
    assert a[2].dtype == torch.float32 and a[3].dtype == torch.float16


@requires_triton_interpreter
def test_triton_no_grad_and_empty():
    ins = make_inputs((2, 6, 3, 5), torch.float32)
    with torch.no_grad():
        y = layer_norm_2d(ins['x'], ins['weight'], ins['bias'],
                          backend='triton')
    assert not y.requires_grad
    torch.testing.assert_close(y.double(), oracle(ins['x'], ins['weight'],
                                                  ins['bias'], 1e-5),
                               rtol=1e-5, atol=1e-5)
    x = torch.zeros(0, 6, 3, 5, requires_grad=True)
    w = torch.ones(6, requires_grad=True)
    y = layer_norm_2d(x, w, None, backend='triton')
    assert y.shape == x.shape
    dx, dw = torch.autograd.grad(y.sum(), (x, w))
    assert dx.shape == x.shape and torch.equal(dw, torch.zeros(6))


@requires_triton_interpreter
def test_triton_expanded_output_gradient():
    """``y.sum()`` hands the backward an expanded gradient (all strides
    0): read in place, the same gradients as the reference's."""
    ins = make_inputs((2, 5, 3, 4), torch.float32)
    leaves = (ins['x'], ins['weight'], ins['bias'])
    got, want = (torch.autograd.grad(
        layer_norm_2d(*leaves, backend=be).sum(), leaves)
        for be in ('triton', 'reference'))
    for name, g, w in zip(NAMES[1:], got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5,
                                   msg=lambda m, n=name: f'{n}: {m}')


@requires_triton_interpreter
def test_triton_custom_ops_opcheck():
    from mmmamba.ops.layer_norm2d import triton as tb
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, 3, 4, generator=g).to(torch.bfloat16)
    w = torch.randn(6, generator=g)
    b = torch.randn(6, generator=g)
    for args in ((x.requires_grad_(), w.requires_grad_(),
                  b.requires_grad_(), 1e-5, torch.float32),
                 (x.detach(), None, None, 1e-6, torch.bfloat16)):
        torch.library.opcheck(tb._triton_fwd_op, args)
    dy = torch.randn(2, 6, 3, 4, generator=g)
    for args in ((dy, x.detach(), w.detach(), 1e-5, True, True),
                 (dy, x.detach(), None, 1e-5, False, False)):
        torch.library.opcheck(tb._triton_bwd_op, args)


@pytest.mark.parametrize('backend,expect_op', [
    pytest.param('reference', None, id='reference'),
    pytest.param('triton', 'mmmamba.layer_norm_2d_triton_fwd',
                 id='triton', marks=requires_triton_interpreter),
])
def test_compiles_fullgraph(backend, expect_op):
    """``torch.compile(fullgraph=True)`` (aot_eager) through the op: one
    graph, no break, eager's outputs and gradients."""
    ins = make_inputs((2, 6, 3, 4), torch.float32)

    def fn(x, w, b):
        return layer_norm_2d(x * 2, w, b, backend=backend) * 3

    args = (ins['x'], ins['weight'], ins['bias'])
    torch._dynamo.reset()
    explain = torch._dynamo.explain(fn)(*args)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    names = [
        str(n.target) for n in explain.graphs[0].graph.nodes
        if n.op == 'call_function'
    ]
    if expect_op:
        assert sum(n.startswith(expect_op) for n in names) == 1, names
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend='aot_eager')
    for name, g, w in zip(NAMES, run(compiled, ins), run(fn, ins)):
        assert_close(g, w, 1e-6, 1e-6, name)


# ------------------------------------------------ the module and a model


def test_cast_output_gives_the_consumer_the_same_values():
    """A VSS block's norm (``cast_output``) under autocast: its bf16 output
    is the fp32 LayerNorm rounded once, so the Linear2d consuming it gives
    what it gave from the official fp32 output (which autocast casts),
    bit for bit, forward and backward."""
    from mmmamba.models.layers import Linear2d
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 5).requires_grad_()
    norm_a = LayerNorm2d(8)
    norm_b = LayerNorm2d(8, cast_output=True)
    with torch.no_grad():
        norm_a.weight.normal_()
        norm_a.bias.normal_()
    norm_b.load_state_dict(norm_a.state_dict())
    proj = Linear2d(8, 6)
    outs = []
    for norm in (norm_a, norm_b):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            h = norm(x)
            y = proj(h)
        gx, gw = torch.autograd.grad(y.float().square().sum(),
                                     (x, norm.weight))
        outs.append((h.dtype, y, gx, gw))
    assert outs[0][0] == torch.float32 and outs[1][0] == torch.bfloat16
    for a, b in zip(outs[0][1:], outs[1][1:]):
        assert torch.equal(a, b)
    # without autocast nothing changes
    assert torch.equal(norm_a(x), norm_b(x))


def test_module_keeps_state_dict_and_defaults():
    m = LayerNorm2d(5, eps=1e-6)
    assert set(m.state_dict()) == {'weight', 'bias'}
    assert m.backend == 'auto' and m.cast_output is False
    assert "backend='auto'" in repr(m)


def test_vss_block_norms_cast_their_outputs():
    from mmmamba.models.layers import VSSBlock
    blk = VSSBlock(16, ssm_cfg=dict(d_state=1, ssm_ratio=1.0), mlp_ratio=2.)
    assert blk.norm.cast_output and blk.norm2.cast_output
    assert blk.op.out_norm.cast_output
    blk_last = VSSBlock(16, ssm_cfg=dict(d_state=1, ssm_ratio=1.0),
                        channel_first=False)
    assert type(blk_last.norm) is torch.nn.LayerNorm


def _features_and_grads(model, x, backend, autocast=None):
    """``model(x)``'s features and the gradients of the parameters for the
    loss sum(mean(f²)), with every LayerNorm2d on ``backend`` (under
    ``autocast``, a device type, in bf16 if given)."""
    for m in model.modules():
        if isinstance(m, LayerNorm2d):
            m.backend = backend
    model.zero_grad()
    with torch.autocast(autocast or 'cpu', dtype=torch.bfloat16,
                        enabled=autocast is not None):
        feats = model(x)
    loss = sum(f.float().pow(2).mean() for f in feats)
    loss.backward()
    return [f.detach() for f in feats], {
        k: p.grad.float().clone()
        for k, p in model.named_parameters() if p.grad is not None
    }


@requires_triton_interpreter
def test_vmamba_with_triton_norms_matches_reference():
    """A small channel-first VMamba (two stages, the v2 stem and
    downsample, every LayerNorm2d on Triton) against the same model on
    the reference norms: features and parameter gradients."""
    from mmmamba.models.backbones import VMamba
    torch.manual_seed(0)
    model = VMamba(
        arch=dict(embed_dims=16, depths=[1, 1], d_state=1, ssm_ratio=1.0),
        out_indices=(0, 1)).train()
    x = torch.randn(1, 3, 32, 32)
    (f_ref, g_ref), (f_tri, g_tri) = [
        _features_and_grads(model, x, backend)
        for backend in ('reference', 'triton')
    ]
    assert sum(isinstance(m, LayerNorm2d) for m in model.modules()) >= 6
    for a, b in zip(f_tri, f_ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert g_tri.keys() == g_ref.keys()
    for k in g_ref:
        torch.testing.assert_close(g_tri[k], g_ref[k], rtol=1e-3, atol=1e-5,
                                   msg=lambda m, k=k: f'{k}: {m}')


# --------------------------------------------------- offline sm_90 compile

_COMPILE_SM90 = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource, compile
from mmmamba.ops.layer_norm2d import triton_kernels as tk

target = GPUTarget('cuda', 90, 32)
# VMamba's channels (T, S, B: 96 .. 1024), bf16 maps, fp32 or bf16 out;
# every constexpr branch on and off
for C in (96, 192, 768, 1024):
    cfg = tk.default_config(C, 56 * 56)
    consts = dict(BLOCK_C=tk.next_power_of_2(C), BLOCK_P=cfg.block_p)
    for on in (True, False):
        sig = dict(x_ptr='*bf16', w_ptr='*fp32', b_ptr='*fp32',
                   y_ptr='*fp32' if on else '*bf16', eps='fp32')
        sig.update({k: 'i32' for k in ('n_pos', 'n_ch', 'n_pblocks', 'sx_b',
                                       'sx_c', 'sx_p', 'sy_b', 'sy_c',
                                       'sy_p')})
        c = dict(consts, HAS_W=on, HAS_B=on)
        sig.update({k: 'constexpr' for k in c})
        k = compile(ASTSource(fn=tk._layer_norm_2d_fwd_kernel, signature=sig,
                              constexprs=c), target=target,
                    options=dict(num_warps=cfg.num_warps))
        assert len(k.asm['cubin']) > 0
        sig = dict(x_ptr='*bf16', w_ptr='*fp32', dy_ptr='*bf16',
                   dx_ptr='*bf16', dw_ptr='*fp32', db_ptr='*fp32', eps='fp32')
        sig.update({k: 'i32' for k in (
            'n_pos', 'n_ch', 'n_pblocks', 'n_tiles', 'tiles_per_prog', 'sx_b',
            'sx_c', 'sx_p', 'sdy_b', 'sdy_c', 'sdy_p', 'sdx_b', 'sdx_c',
            'sdx_p')})
        c = dict(consts, HAS_W=on, COMPUTE_DW=on, COMPUTE_DB=on)
        sig.update({k: 'constexpr' for k in c})
        k = compile(ASTSource(fn=tk._layer_norm_2d_bwd_kernel, signature=sig,
                              constexprs=c), target=target,
                    options=dict(num_warps=cfg.num_warps))
        assert len(k.asm['cubin']) > 0
print('compiled')
"""


@requires_triton
def test_kernels_compile_for_sm90():
    """The interpreter runs the kernels' Python, not the compiler: compile
    both for sm_90 offline (PTX and ptxas, no GPU needed) at VMamba's
    channel counts with the default configurations."""
    out = run_compiler_script(_COMPILE_SM90, timeout=300)
    assert out.strip().endswith('compiled')


# -------------------------------------------------------------------- GPU

GPU_SHAPES = [
    pytest.param((128, 96, 56, 56), id='vmamba-t-stage1-b128'),
    pytest.param((128, 768, 7, 7), id='vmamba-t-stage4-b128'),
]


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('layout', ['nchw', 'cl'])
@pytest.mark.parametrize('shape', GPU_SHAPES)
def test_gpu_triton_matches_float64_oracle(shape, layout):
    ins = make_inputs(shape, torch.bfloat16, layout=layout, device='cuda')
    assert_matches_oracle(ins, 'triton', torch.bfloat16)


@pytest.mark.gpu
@requires_cuda
@requires_triton
def test_gpu_vmamba_tiny_autocast_triton_norms_match_reference():
    """VMamba-T (224², batch 2) under bf16 autocast: the features and the
    parameter gradients with the Triton norms against the reference
    norms."""
    from mmmamba.models.backbones import VMamba
    torch.manual_seed(0)
    model = VMamba(arch='tiny', out_indices=(0, 1, 2, 3)).cuda().train()
    x = torch.randn(2, 3, 224, 224, device='cuda')
    (f_ref, g_ref), (f_tri, g_tri) = [
        _features_and_grads(model, x, backend, autocast='cuda')
        for backend in ('reference', 'triton')
    ]
    # bf16 roundings that flip by one ulp where the fp32 sums' order
    # differs spread through 15 blocks: compare relative norms
    for a, b in zip(f_tri, f_ref):
        rel = ((a.float() - b.float()).norm() / b.float().norm()).item()
        assert rel < 2e-2, rel
    for k in g_ref:
        num = (g_tri[k] - g_ref[k]).norm()
        den = g_ref[k].norm().clamp_min(1e-12)
        assert num / den < 5e-2, (k, (num / den).item())
