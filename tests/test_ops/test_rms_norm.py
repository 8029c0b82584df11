# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.rms_norm``: residual add + RMSNorm.

Tier 1 (CPU, CI): the reference against a float64 oracle written here
(outputs and every gradient, with and without a residual, fp32 residual
stream or not, bf16/fp16/fp32 ``x``, C not a power of two, rows not a
multiple of the kernels' tile), gradcheck of the reference in float64; the
Triton kernels in Triton's interpreter (TRITON_INTERPRET=1, set by
conftest) against the reference, forward and backward, with gradients
arriving on both outputs or on one, strided inputs; the custom ops
(opcheck) and ``torch.compile(fullgraph=True)`` through them; a tiny Vim
whose norms run the Triton kernels against the same Vim on the reference;
the kernels compiled offline for sm_90.
Tier 2 (marked ``gpu``): the Triton kernels at Vim-Ti's shapes (224² batch
128 and 1248² batch 8 rows, C=192) in bf16 and fp32 against the float64
oracle, compiled with Inductor, and Vim-Ti under bf16 autocast.
"""
import os
from typing import Dict, List, Optional, Tuple

import pytest
import torch

from mmmamba.models.layers import AddRMSNorm, RMSNorm
from mmmamba.ops import rms_norm as rn
from mmmamba.ops.rms_norm import (add_rms_norm, add_rms_norm_ref,
                                  check_norm_backend, resolve_norm_backend,
                                  rms_norm)
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter, run_compiler_script)

# ------------------------------------------------------------------ helpers


def oracle(x: torch.Tensor, residual: Optional[torch.Tensor],
           weight: torch.Tensor, eps: float) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
    """The definition in float64 (differentiable): r = residual + x,
    y = r / sqrt(mean(r²) + eps) * w; both returned in float64."""
    r = x.double() if residual is None else residual.double() + x.double()
    ms = (r * r).sum(-1, keepdim=True) / r.shape[-1]
    return r / torch.sqrt(ms + eps) * weight.double(), r


def make_inputs(shape: Tuple[int, ...], x_dtype: torch.dtype,
                res_dtype: Optional[torch.dtype], *, device='cpu',
                w_dtype=torch.float32, seed=0) -> Dict[str, torch.Tensor]:
    """Leaf tensors: x, residual (None if ``res_dtype`` is None), weight
    around one, and the probe gradients gy, gr."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*s, scale=1.0):
        return torch.randn(*s, generator=g, dtype=torch.float64) * scale

    C = shape[-1]
    ins = dict(
        x=rnd(*shape).to(device, x_dtype).requires_grad_(),
        residual=None if res_dtype is None else rnd(
            *shape, scale=2.0).to(device, res_dtype).requires_grad_(),
        weight=(1 + 0.2 * rnd(C)).to(device, w_dtype).requires_grad_())
    ins['gy'] = rnd(*shape).to(device)
    ins['gr'] = rnd(*shape).to(device)
    return ins


def run(fn, ins: dict, on: str = 'both') -> List[Optional[torch.Tensor]]:
    """``fn(x, residual, weight) -> (y, new_residual)``; returns [y,
    new_residual, dx, d(residual), d(weight)] for the probe loss
    ``<y, gy> + <new_residual, gr>`` (``on``: 'both', 'y' or 'res': which
    terms); gradients that do not exist are None."""
    y, new_res = fn(ins['x'], ins['residual'], ins['weight'])
    loss = 0
    if on in ('both', 'y'):
        loss = loss + (y.double() * ins['gy'].double()).sum()
    if on in ('both', 'res'):
        loss = loss + (new_res.double() * ins['gr'].double()).sum()
    leaves = [ins['x'], ins['residual'], ins['weight']]
    present = [t for t in leaves if t is not None]
    got = iter(torch.autograd.grad(loss, present, allow_unused=True))
    grads = [None if t is None else next(got) for t in leaves]
    return [y, new_res] + grads


NAMES = ('y', 'new_residual', 'dx', 'dresidual', 'dweight')


def assert_close(got, want, rtol, atol, name):
    if want is None or got is None:
        assert got is None and want is None, name
        return
    scale = max(1.0, want.double().abs().max().item())
    torch.testing.assert_close(
        got.double(), want.double(), rtol=rtol, atol=atol * scale,
        msg=lambda m: f'{name}: {m}')


TOL = {  # (rtol, atol relative to max(1, max |want|)) per x dtype
    torch.float32: (1e-5, 1e-5),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}

# (x dtype, residual dtype or None, residual_in_fp32)
DTYPE_CASES = [
    pytest.param(torch.float32, None, True, id='fp32-nores'),
    pytest.param(torch.float32, None, False, id='fp32-nores-nofp32'),
    pytest.param(torch.bfloat16, None, True, id='bf16-nores'),
    pytest.param(torch.bfloat16, None, False, id='bf16-nores-nofp32'),
    pytest.param(torch.float32, torch.float32, True, id='fp32-res'),
    pytest.param(torch.float32, torch.float32, False, id='fp32-res-nofp32'),
    pytest.param(torch.bfloat16, torch.float32, True, id='bf16-res32'),
    pytest.param(torch.bfloat16, torch.bfloat16, True, id='bf16-resbf16'),
    pytest.param(torch.bfloat16, torch.bfloat16, False,
                 id='bf16-resbf16-nofp32'),
    pytest.param(torch.float16, torch.float32, True, id='fp16-res32'),
]
# 3 * 37 = 111 rows: not a multiple of any tile; C = 192 (Vim-Ti), 200
SHAPES = [(3, 37, 192), (3, 37, 200)]


def expected_res_dtype(x_dtype, res_dtype, fp32):
    if fp32:
        return torch.float32
    return x_dtype if res_dtype is None else torch.promote_types(
        x_dtype, res_dtype)


# --------------------------------------------------------------- reference


@pytest.mark.parametrize('shape', SHAPES, ids=['C192', 'C200'])
@pytest.mark.parametrize('x_dtype,res_dtype,fp32', DTYPE_CASES)
def test_reference_matches_float64_oracle(shape, x_dtype, res_dtype, fp32):
    ins = make_inputs(shape, x_dtype, res_dtype)
    got = run(
        lambda x, r, w: add_rms_norm(x, r, w, 1e-5, fp32,
                                     backend='reference'), ins)
    y, new_res = got[:2]
    assert y.dtype == x_dtype and y.shape == ins['x'].shape
    assert new_res.dtype == expected_res_dtype(x_dtype, res_dtype, fp32)
    want = run(lambda x, r, w: oracle(x, r, w, 1e-5), ins)
    # the coarser of x's dtype and the new residual's (which is rounded to
    # its dtype before it is normalised)
    coarse = max(x_dtype, new_res.dtype, key=lambda d: torch.finfo(d).eps)
    for name, g, w in zip(NAMES, got, want):
        assert_close(g, w, *TOL[coarse], name)


def test_reference_is_the_original_module_math():
    """The reference runs exactly the ops AddRMSNorm always ran (fp32
    compute, the same op order): bitwise the same on CPU."""
    torch.manual_seed(0)
    x = torch.randn(2, 5, 12).to(torch.bfloat16)
    res = torch.randn(2, 5, 12)
    w = torch.rand(12) + 0.5

    def original(x, residual, weight, eps, fp32):
        if residual is None:
            new_res = x.float() if fp32 else x
        elif fp32:
            new_res = residual.float() + x.float()
        else:
            new_res = residual + x
        x32 = new_res.float()
        rstd = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + eps)
        y = (x32 * rstd * w.float()).to(new_res.dtype)
        return y.to(x.dtype), new_res

    for r in (None, res, res.to(torch.bfloat16)):
        for fp32 in (True, False):
            for xx in (x, x.float()):
                got = add_rms_norm_ref(xx, r, w, 1e-5, fp32)
                want = original(xx, r, w, 1e-5, fp32)
                for a, b in zip(got, want):
                    assert a.dtype == b.dtype
                    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # no residual, nothing to cast: the new residual is x itself
    xf = x.float()
    assert add_rms_norm_ref(xf, None, w, 1e-5, True)[1] is xf
    assert add_rms_norm_ref(x, None, w, 1e-5, False)[1] is x


@pytest.mark.parametrize('has_res', [False, True], ids=['nores', 'res'])
@pytest.mark.parametrize('fp32', [True, False], ids=['fp32', 'nofp32'])
def test_reference_gradcheck(has_res, fp32):
    """float64 end to end (residual_in_fp32 keeps fp64 as fp64)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 7, generator=g, dtype=torch.float64)
    res = torch.randn(2, 3, 7, generator=g, dtype=torch.float64)
    w = torch.randn(7, generator=g, dtype=torch.float64)
    ins = (x.requires_grad_(), res.requires_grad_() if has_res else None,
           w.requires_grad_())

    def fn(x, r, w):
        return add_rms_norm(x, r, w, 1e-3, fp32, backend='reference')

    assert torch.autograd.gradcheck(fn, ins)
    assert torch.autograd.gradgradcheck(fn, ins)


def test_rms_norm_is_add_rms_norm_without_residual():
    ins = make_inputs((4, 9, 24), torch.bfloat16, None)
    y = rms_norm(ins['x'], ins['weight'], 1e-6, backend='reference')
    want, _ = add_rms_norm(ins['x'], None, ins['weight'], 1e-6, False,
                           backend='reference')
    torch.testing.assert_close(y, want, rtol=0, atol=0)
    assert y.dtype == torch.bfloat16


# ---------------------------------------------------------- dispatch/errors


def test_bad_inputs_raise_clear_errors():
    x = torch.randn(2, 3, 8)
    w = torch.ones(8)
    with pytest.raises(ValueError, match='unknown rms-norm backend'):
        add_rms_norm(x, None, w, backend='cuda_magic')
    with pytest.raises(ValueError, match='unknown rms-norm backend'):
        check_norm_backend('fused')
    with pytest.raises(ValueError, match=r'weight must be \(C=8,\)'):
        add_rms_norm(x, None, torch.ones(7))
    with pytest.raises(ValueError, match='residual must have the shape'):
        add_rms_norm(x, torch.randn(2, 3, 4), w)
    with pytest.raises(TypeError, match='x must be a floating-point'):
        add_rms_norm(torch.ones(2, 8, dtype=torch.int64), None, w)
    with pytest.raises(TypeError, match='residual must be a torch.Tensor'):
        add_rms_norm(x, 3.0, w)
    with pytest.raises(ValueError, match='one device'):
        add_rms_norm(x, None, torch.ones(8, device='meta'))
    with pytest.raises(ValueError, match='at least one dimension'):
        add_rms_norm(torch.tensor(1.0), None, torch.ones(()))


def test_auto_resolves_to_reference_on_cpu(monkeypatch):
    monkeypatch.delenv(rn.ENV_VAR, raising=False)
    x = torch.randn(2, 8)
    assert resolve_norm_backend('auto', x) == 'reference'
    assert resolve_norm_backend('reference', x) == 'reference'
    # the environment variable replaces 'auto' (and is validated)
    monkeypatch.setenv(rn.ENV_VAR, 'reference')
    assert resolve_norm_backend('auto', x) == 'reference'
    monkeypatch.setenv(rn.ENV_VAR, 'nope')
    with pytest.raises(ValueError, match='unknown rms-norm backend'):
        resolve_norm_backend('auto', x)


def test_triton_backend_constraints(monkeypatch):
    x = torch.randn(2, 8)
    if not rn.is_triton_available():
        with pytest.raises(RuntimeError, match='pip install'):
            check_norm_backend('triton')
        return
    monkeypatch.setattr(rn, 'triton_interpret', lambda: False)
    with pytest.raises(RuntimeError, match='needs CUDA tensors'):
        resolve_norm_backend('triton', x)
    monkeypatch.setattr(rn, 'triton_interpret', lambda: True)
    assert resolve_norm_backend('triton', x) == 'triton'
    with pytest.raises(TypeError, match='float16/bfloat16/float32'):
        resolve_norm_backend('triton', x.double())
    with pytest.raises(TypeError, match='residual of torch.float64'):
        resolve_norm_backend('triton', x, x.double())
    with pytest.raises(ValueError, match='at most 8192 channels'):
        resolve_norm_backend('triton', torch.empty(1, rn.MAX_COLS + 1))


def test_auto_on_cuda_picks_triton_when_it_can(monkeypatch):
    """'auto' for CUDA tensors (faked: the device check reads
    ``x.device.type``): triton for fp16/bf16/fp32 and C <= MAX_COLS,
    the reference for fp64 or wider rows, or without triton."""
    monkeypatch.delenv(rn.ENV_VAR, raising=False)

    class FakeCuda:
        def __init__(self, dtype, C=8):
            self.dtype, self.shape = dtype, (2, C)
            self.device = torch.device('cuda')

    monkeypatch.setattr(rn, '_is_available', lambda name: True)
    assert resolve_norm_backend('auto', FakeCuda(torch.bfloat16),
                                FakeCuda(torch.float32)) == 'triton'
    assert resolve_norm_backend('auto', FakeCuda(torch.float64)) == \
        'reference'
    assert resolve_norm_backend('auto', FakeCuda(torch.float32),
                                FakeCuda(torch.float64)) == 'reference'
    assert resolve_norm_backend('auto', FakeCuda(torch.float32,
                                                 rn.MAX_COLS + 1)) == \
        'reference'
    assert resolve_norm_backend('auto', FakeCuda(torch.float32), None,
                                torch.bfloat16) == 'triton'
    assert resolve_norm_backend('auto', FakeCuda(torch.float32), None,
                                torch.float64) == 'reference'
    monkeypatch.setattr(rn, '_is_available', lambda name: name != 'triton')
    assert resolve_norm_backend('auto', FakeCuda(torch.float32)) == \
        'reference'


def test_import_needs_no_triton():
    """``mmmamba.ops.rms_norm`` (and the models that use it) import without
    importing triton."""
    import subprocess
    import sys
    code = ('import sys, mmmamba.ops.rms_norm, mmmamba.models.layers.norm; '
            "assert 'triton' not in sys.modules")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=dict(os.environ))
    assert res.returncode == 0, res.stderr


# ------------------------------------------------------ triton (interpreter)


def triton_fn(fp32):
    return lambda x, r, w: add_rms_norm(x, r, w, 1e-5, fp32,
                                        backend='triton')


def ref_fn(fp32):
    return lambda x, r, w: add_rms_norm(x, r, w, 1e-5, fp32,
                                        backend='reference')


def check_triton_against_reference(ins, fp32, on='both', x_dtype=None):
    want = run(ref_fn(fp32), ins, on)
    got = run(triton_fn(fp32), ins, on)
    tol = TOL[x_dtype or ins['x'].dtype]
    for name, g, w in zip(NAMES, got, want):
        if g is not None and w is not None:
            assert g.dtype == w.dtype, name
            assert g.shape == w.shape, name
        assert_close(g, w, *tol, name)
    return got


@requires_triton_interpreter
@pytest.mark.parametrize('on', ['both', 'y', 'res'])
@pytest.mark.parametrize('shape', SHAPES, ids=['C192', 'C200'])
@pytest.mark.parametrize('x_dtype,res_dtype,fp32', DTYPE_CASES)
def test_triton_interpreter_matches_reference(x_dtype, res_dtype, fp32,
                                              shape, on):
    ins = make_inputs(shape, x_dtype, res_dtype)
    check_triton_against_reference(ins, fp32, on)


@requires_triton_interpreter
def test_triton_new_residual_without_cast_is_x():
    """No residual and nothing to cast: the new residual is ``x`` itself
    (as in the reference); with a cast it is a new fp32 tensor."""
    x = torch.randn(3, 16, requires_grad=True)
    w = torch.ones(16)
    assert add_rms_norm(x, None, w, backend='triton')[1] is x
    xb = x.detach().to(torch.bfloat16)
    _, res = add_rms_norm(xb, None, w, backend='triton')
    assert res.dtype == torch.float32
    torch.testing.assert_close(res, xb.float(), rtol=0, atol=0)


@pytest.mark.parametrize('backend,device', [
    ('reference', 'cpu'),
    pytest.param('triton', 'cpu', marks=requires_triton_interpreter),
    pytest.param('triton', 'cuda',
                 marks=[pytest.mark.gpu, requires_cuda, requires_triton])])
@pytest.mark.parametrize('has_res', [False, True], ids=['first', 'res'])
def test_out_dtype_rounds_the_fp32_result_once(backend, device, has_res):
    """out_dtype=bf16 from fp32 x (Vim's first layer under autocast) gives
    ``y.to(bf16)`` of the default call (exactly: Triton's CPU interpreter,
    which truncates where the GPU rounds to nearest, within one bf16 ulp),
    the same new residual, and the gradients of that cast composition,
    bit for bit (the bf16 gradient reaching y enters the backward as it
    is)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 37, 24, generator=g)
    res = torch.randn(3, 37, 24, generator=g) if has_res else None
    w = torch.randn(24, generator=g)
    dy = torch.randn(3, 37, 24, generator=g).to(torch.bfloat16)
    x, w, dy = x.to(device), w.to(device), dy.to(device)
    res = None if res is None else res.to(device)
    outs = []
    for out_dtype in (torch.bfloat16, None):
        leaves = [t.clone().requires_grad_() for t in (x, w)]
        r = None if res is None else res.clone().requires_grad_()
        y, new_res = add_rms_norm(leaves[0], r, leaves[1], 1e-5, True,
                                  backend=backend, out_dtype=out_dtype)
        if out_dtype is None:
            y = y.to(torch.bfloat16)  # what autocast's in_proj cast does
        assert y.dtype == torch.bfloat16 and new_res.dtype == torch.float32
        y.backward(dy)
        outs.append([y.detach(), new_res.detach()]
                    + [t.grad for t in leaves + ([r] if has_res else [])])
    (y, *rest), (y_want, *rest_want) = outs
    if backend == 'triton' and device == 'cpu':
        torch.testing.assert_close(y, y_want, rtol=2**-7, atol=0)
    else:
        assert torch.equal(y, y_want)
    for got, want in zip(rest, rest_want):
        assert torch.equal(got, want)
    with pytest.raises(TypeError, match='out_dtype must be a floating'):
        add_rms_norm(x, res, w, out_dtype=torch.int32, backend=backend)


@requires_triton_interpreter
def test_triton_rejects_fp64_out_dtype():
    x, w = torch.randn(2, 8), torch.ones(8)
    with pytest.raises(TypeError, match='out_dtype=torch.float64'):
        add_rms_norm(x, None, w, out_dtype=torch.float64, backend='triton')


@requires_triton_interpreter
@pytest.mark.parametrize('C', [1, 5, 16, 1024], ids=lambda c: f'C{c}')
def test_triton_interpreter_widths(C):
    """One channel, narrow and Vim-B-and-wider rows (one row per tile at
    1024), 2 and 11 rows."""
    for rows in (2, 11):
        ins = make_inputs((rows, C), torch.float32, torch.float32, seed=C)
        check_triton_against_reference(ins, True)


@requires_triton_interpreter
def test_triton_interpreter_strided_inputs():
    """A slice of a wider last dimension (row stride > C, read in place),
    a transposed (copied) x, a channel-strided residual (copied) and an
    output gradient broadcast over rows (row stride 0)."""
    g = torch.Generator().manual_seed(3)
    wide = torch.randn(4, 9, 30, generator=g)
    res_t = torch.randn(24, 9, 4, generator=g)
    w = (1 + 0.1 * torch.randn(24, generator=g)).requires_grad_()
    probe = torch.randn(24, generator=g)
    results = []
    for backend in ('reference', 'triton'):
        x = wide.clone().requires_grad_()
        xs = x[..., 3:27]  # (4, 9, 24), row stride 30
        res = res_t.clone().requires_grad_()
        rs = res.permute(2, 1, 0)  # (4, 9, 24), channel stride 36
        y, new_res = add_rms_norm(xs, rs, w, 1e-5, True, backend=backend)
        y2, _ = add_rms_norm(xs.transpose(0, 1), None, w, 1e-5, True,
                             backend=backend)
        loss = (y * probe).sum() + new_res.pow(2).sum() + \
            (y2 * probe).sum()
        grads = torch.autograd.grad(loss, [x, res, w])
        results.append((y, new_res, y2) + grads)
    for name, got, want in zip(('y', 'new_res', 'y2', 'dx', 'dres', 'dw'),
                               results[1], results[0]):
        assert_close(got, want, 1e-5, 1e-5, name)


@requires_triton_interpreter
def test_triton_weight_gradient_is_deterministic_and_typed():
    ins = make_inputs((5, 40, 24), torch.bfloat16, torch.float32,
                      w_dtype=torch.bfloat16)
    a = run(triton_fn(True), ins)
    b = run(triton_fn(True), ins)
    for name, ga, gb in zip(NAMES, a, b):
        torch.testing.assert_close(ga, gb, rtol=0, atol=0,
                                   msg=lambda m: f'{name}: {m}')
    assert a[4].dtype == torch.bfloat16
    check_triton_against_reference(ins, True)


@requires_triton_interpreter
def test_triton_frozen_weight_and_constant_residual():
    """Only the gradients that are asked for: a weight without gradient and
    a residual that is a constant."""
    ins = make_inputs((2, 7, 16), torch.float32, torch.float32)
    ins['weight'].requires_grad_(False)
    ins['residual'].requires_grad_(False)
    x, res, w = ins['x'], ins['residual'], ins['weight']
    for backend in ('reference', 'triton'):
        x.grad = None
        y, new_res = add_rms_norm(x, res, w, backend=backend)
        (y * ins['gy']).sum().backward()
        if backend == 'reference':
            want = x.grad.clone()
    torch.testing.assert_close(x.grad, want, rtol=1e-5, atol=1e-5)
    assert res.grad is None and w.grad is None
    with torch.no_grad():
        y, new_res = add_rms_norm(x, res, w, backend='triton')
    assert not y.requires_grad and not new_res.requires_grad


@requires_triton_interpreter
def test_triton_empty_input():
    x = torch.randn(0, 5, 16, requires_grad=True)
    res = torch.randn(0, 5, 16, requires_grad=True)
    w = torch.ones(16, requires_grad=True)
    y, new_res = add_rms_norm(x, res, w, backend='triton')
    assert y.shape == new_res.shape == x.shape
    (y.sum() + new_res.sum()).backward()
    assert x.grad.shape == x.shape and torch.equal(w.grad, torch.zeros(16))


# --------------------------------------------------- modules (AddRMSNorm)


def test_modules_keep_state_dict_and_default_to_auto():
    norm = AddRMSNorm(8)
    assert norm.backend == 'auto' and list(norm.state_dict()) == ['weight']
    assert 'backend' not in repr(norm)
    plain = RMSNorm(8, backend='reference')
    assert list(plain.state_dict()) == ['weight']
    assert "backend='reference'" in repr(plain)
    with pytest.raises(ValueError, match='unknown rms-norm backend'):
        AddRMSNorm(8, backend='fast')


@requires_triton_interpreter
@pytest.mark.parametrize('cls', [AddRMSNorm, RMSNorm])
def test_modules_triton_matches_reference(cls):
    torch.manual_seed(0)
    mods = {b: cls(24, backend=b) for b in ('reference', 'triton')}
    with torch.no_grad():
        w = 1 + 0.1 * torch.randn(24)
        for m in mods.values():
            m.weight.copy_(w)
    x = torch.randn(2, 13, 24).to(torch.bfloat16)
    res = torch.randn(2, 13, 24)
    results = []
    for m in mods.values():
        xi = x.clone().requires_grad_()
        ri = res.clone().requires_grad_()
        if cls is AddRMSNorm:
            y, new_res = m(xi, ri)
            loss = y.float().pow(2).sum() + new_res.sin().sum()
            leaves = [xi, ri, m.weight]
        else:
            y = m(xi)
            loss = y.float().pow(2).sum()
            leaves = [xi, m.weight]
        results.append([y] + list(torch.autograd.grad(loss, leaves)))
    for name, got, want in zip(('y', 'dx', 'd2', 'd3'), *results[::-1]):
        assert_close(got, want, *TOL[torch.bfloat16], name)


def _tiny_vim(**kwargs):
    from mmmamba.models.backbones import VisionMamba
    torch.manual_seed(0)
    model = VisionMamba(
        arch=dict(embed_dims=16, num_layers=2, d_state=4), img_size=32,
        patch_size=8, stride=8, out_indices=(0, 1), out_type='featmap',
        **kwargs)
    model.init_weights()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


@requires_triton_interpreter
@pytest.mark.parametrize('drop_path', [0.0, 0.2], ids=['nodp', 'droppath'])
def test_vim_backbone_with_triton_norms_matches_reference(drop_path):
    """Every AddRMSNorm of a tiny Vim (the layers' and norm_f) on the
    Triton kernels: outputs and every parameter gradient equal the
    reference model's (the scan stays on the reference)."""
    model = _tiny_vim(drop_path_rate=drop_path, scan_backend='reference')
    model.train()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    results = []
    for backend in ('reference', 'triton'):
        norms = [m for m in model.modules() if isinstance(m, AddRMSNorm)]
        assert len(norms) == 3
        for m in norms:
            m.backend = backend
        model.zero_grad()
        torch.manual_seed(5)  # the same drop-path draws
        outs = model(x)
        loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum()
                   for o in outs)
        loss.backward()
        results.append((outs, {
            k: p.grad.clone()
            for k, p in model.named_parameters()
        }))
    (ref_outs, ref_grads), (tri_outs, tri_grads) = results
    for a, b in zip(tri_outs, ref_outs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert tri_grads.keys() == ref_grads.keys()
    for k in ref_grads:
        assert_close(tri_grads[k], ref_grads[k], 1e-4, 1e-5, k)


# ----------------------------------------------------- torch.compile / ops


def _grads_of(outs, leaves, probes):
    loss = sum((o.double() * p.double()).sum() for o, p in zip(outs, probes))
    present = [t for t in leaves if t is not None]
    got = iter(torch.autograd.grad(loss, present, allow_unused=True))
    return [None if t is None else next(got) for t in leaves]


@pytest.mark.parametrize('backend,expect_op', [
    pytest.param('reference', None, id='reference'),
    pytest.param('triton', 'mmmamba.add_rms_norm_triton_fwd',
                 id='triton', marks=requires_triton_interpreter),
])
@pytest.mark.parametrize('x_dtype,res_dtype,fp32', [
    pytest.param(torch.bfloat16, torch.float32, True, id='bf16-res32'),
    pytest.param(torch.float32, torch.float32, True, id='fp32-res32'),
    pytest.param(torch.float32, None, True, id='fp32-nores'),
    pytest.param(torch.bfloat16, None, True, id='bf16-nores'),
])
def test_compiles_fullgraph(backend, expect_op, x_dtype, res_dtype, fp32):
    """``torch.compile(fullgraph=True)`` (aot_eager) through the dispatcher
    and the custom ops: one graph, no break, eager's outputs and
    gradients; a second call through the new residual (two norms in a
    row, as in Vim) included."""
    ins = make_inputs((2, 11, 24), x_dtype, res_dtype)
    w2 = (ins['weight'].detach() * 0.5).requires_grad_()

    def fn(x, r, w, w2):
        y, new_res = add_rms_norm(x, r, w, 1e-5, fp32, backend=backend)
        y2, new_res2 = add_rms_norm(y * 2, new_res, w2, 1e-5, fp32,
                                    backend=backend)
        return y, y2, new_res2

    args = (ins['x'], ins['residual'], ins['weight'], w2)
    explain = torch._dynamo.explain(fn)(*args)
    assert explain.graph_break_count == 0, [
        r.reason for r in explain.break_reasons
    ]
    assert explain.graph_count == 1
    names = [
        str(n.target) for n in explain.graphs[0].graph.nodes
        if n.op == 'call_function'
    ]
    if expect_op:
        assert sum(n.startswith(expect_op) for n in names) == 2, names
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend='aot_eager')
    want = fn(*args)
    got = compiled(*args)
    probes = [ins['gy'], ins['gr'], ins['gy'] * 0.5]
    leaves = list(args)
    for name, g, w in zip(('y', 'y2', 'new_res2'), got, want):
        assert g.dtype == w.dtype
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5,
                                   msg=lambda m: f'{name}: {m}')
    for name, g, w in zip(('dx', 'dres', 'dw', 'dw2'),
                          _grads_of(got, leaves, probes),
                          _grads_of(want, leaves, probes)):
        assert_close(g, w, 1e-5, 1e-5, name)
    with torch.no_grad():
        torch.testing.assert_close(compiled(*args)[1], want[1], rtol=1e-5,
                                   atol=1e-5)


@requires_triton_interpreter
def test_triton_custom_ops_opcheck():
    from mmmamba.ops.rms_norm import triton as tb
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 24, generator=g).to(torch.bfloat16)
    res = torch.randn(3, 5, 24, generator=g)
    w = torch.randn(24, generator=g)
    for args in ((x.requires_grad_(), res.requires_grad_(),
                  w.requires_grad_(), 1e-5, torch.float32, None),
                 (x.float().detach().requires_grad_(), None, w, 1e-5, None,
                  torch.bfloat16),
                 (x.detach(), None, w.detach(), 1e-5, torch.float32,
                  torch.float32)):
        torch.library.opcheck(tb._triton_fwd_op, args)
    dy = torch.randn(3, 5, 24, generator=g).to(torch.bfloat16)
    r = res.detach()
    for args in ((dy, r, r, w.detach(), 1e-5, torch.bfloat16, torch.float32,
                  True), (None, r, r, w.detach(), 1e-5, torch.float32, None,
                          True), (dy, None, r, w.detach(), 1e-5,
                                  torch.bfloat16, None, False)):
        torch.library.opcheck(tb._triton_bwd_op, args)


# --------------------------------------------------- offline sm_90 compile

_COMPILE_SM90 = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource, compile
from mmmamba.ops.rms_norm import triton_kernels as tk

target = GPUTarget('cuda', 90, 32)
fwd_ints = ('n_rows', 'n_cols', 'stride_x', 'stride_res')
bwd_ints = ('n_rows', 'n_cols', 'stride_r', 'stride_dy', 'stride_dres_out',
            'rows_per_prog')
# Vim: bf16 hidden states into the fp32 residual stream, C=192; Vim-B
# width 768 and a 4096-wide row; every constexpr branch on and off
for block_c, block_m, warps in ((256, 8, 4), (1024, 2, 4), (4096, 1, 8)):
    for on in (True, False):
        sig = dict(x_ptr='*bf16', res_ptr='*fp32', w_ptr='*fp32',
                   y_ptr='*bf16', res_out_ptr='*fp32', eps='fp32')
        sig.update({k: 'i32' for k in fwd_ints})
        consts = dict(HAS_RES=on, STORE_RES=on, BLOCK_M=block_m,
                      BLOCK_C=block_c)
        sig.update({k: 'constexpr' for k in consts})
        k = compile(ASTSource(fn=tk._add_rms_norm_fwd_kernel, signature=sig,
                              constexprs=consts), target=target,
                    options=dict(num_warps=warps))
        assert len(k.asm['cubin']) > 0
        sig = dict(r_ptr='*fp32', w_ptr='*fp32', dy_ptr='*bf16',
                   dres_out_ptr='*fp32', dx_ptr='*bf16', dres_ptr='*fp32',
                   dw_ptr='*fp32', eps='fp32')
        sig.update({k: 'i32' for k in bwd_ints})
        consts = dict(HAS_DY=True, HAS_DRES_OUT=on, STORE_DRES=on,
                      COMPUTE_DW=on, BLOCK_M=block_m, BLOCK_C=block_c)
        sig.update({k: 'constexpr' for k in consts})
        k = compile(ASTSource(fn=tk._add_rms_norm_bwd_kernel, signature=sig,
                              constexprs=consts), target=target,
                    options=dict(num_warps=warps))
        assert len(k.asm['cubin']) > 0
# the backward with no output gradient on y (only the residual's)
consts = dict(HAS_DY=False, HAS_DRES_OUT=True, STORE_DRES=False,
              COMPUTE_DW=False, BLOCK_M=8, BLOCK_C=256)
sig.update({k: 'constexpr' for k in consts})
compile(ASTSource(fn=tk._add_rms_norm_bwd_kernel, signature=sig,
                  constexprs=consts), target=target,
        options=dict(num_warps=4))
print('compiled')
"""


@requires_triton
def test_kernels_compile_for_sm90():
    """The interpreter runs the kernels' Python, not the compiler: compile
    both for sm_90 offline (PTX and ptxas, no GPU needed) in a process
    without TRITON_INTERPRET, at Vim's launch configurations."""
    out = run_compiler_script(_COMPILE_SM90, timeout=300)
    assert out.strip().endswith('compiled')


# -------------------------------------------------------------------- GPU

GPU_SHAPES = [
    pytest.param((128 * 197, 192), id='vim-ti-224-b128'),
    pytest.param((8 * 6085, 192), id='vim-ti-1248-b8'),
]
GPU_TOL = {
    torch.float32: (1e-5, 1e-5),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('x_dtype', list(GPU_TOL), ids=['fp32', 'bf16'])
@pytest.mark.parametrize('shape', GPU_SHAPES)
def test_gpu_triton_matches_float64_oracle(shape, x_dtype):
    """Vim's call: x in bf16 (or fp32) into the fp32 residual stream;
    outputs and gradients against the float64 oracle, and no worse than
    the reference's distance to it (times 3, plus two ulps of the output
    dtype at the largest value)."""
    ins = make_inputs(shape, x_dtype, torch.float32, device='cuda')
    got = run(triton_fn(True), ins)
    ref = run(ref_fn(True), ins)
    want = run(lambda x, r, w: oracle(x, r, w, 1e-5), ins)
    for name, g, r, w in zip(NAMES, got, ref, want):
        assert g.dtype == r.dtype and g.shape == r.shape, name
        assert_close(g, w, *GPU_TOL[x_dtype], name)
        err_g = (g.double() - w.double()).abs().max().item()
        err_r = (r.double() - w.double()).abs().max().item()
        ulp = torch.finfo(g.dtype).eps * w.double().abs().max().item()
        assert err_g <= 3 * err_r + 2 * ulp, (name, err_g, err_r)
    # gradients arriving on y only (the last norm_f of a model)
    got = run(triton_fn(True), ins, on='y')
    want = run(lambda x, r, w: oracle(x, r, w, 1e-5), ins, on='y')
    for name, g, w in zip(NAMES, got, want):
        assert_close(g, w, *GPU_TOL[x_dtype], name)


@pytest.mark.gpu
@requires_cuda
@requires_triton
def test_gpu_inductor_compile_matches_eager():
    ins = make_inputs((4 * 197, 192), torch.bfloat16, torch.float32,
                      device='cuda')

    def fn(x, r, w):
        y, new_res = add_rms_norm(x, r, w, 1e-5, True, backend='triton')
        return y * 2, new_res

    torch._dynamo.reset()
    got = run(torch.compile(fn, fullgraph=True), ins)
    want = run(fn, ins)
    for name, g, w in zip(NAMES, got, want):
        assert_close(g, w, 1e-5, 1e-5, name)


@pytest.mark.gpu
@requires_cuda
@requires_triton
def test_gpu_vim_tiny_autocast_triton_norms_match_reference():
    """Vim-Ti (24 layers, 224², batch 2) under bf16 autocast: the loss and
    the parameter gradients with the Triton norms ('auto' on CUDA) against
    the reference norms."""
    from mmmamba.models.backbones import VisionMamba
    torch.manual_seed(0)
    model = VisionMamba(arch='tiny').cuda().train()
    x = torch.randn(2, 3, 224, 224, device='cuda')
    results = []
    for backend in ('reference', 'auto'):
        for m in model.modules():
            if isinstance(m, AddRMSNorm):
                m.backend = backend
        model.zero_grad()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            out = model(x)[0]
        loss = out.float().pow(2).mean()
        loss.backward()
        results.append((loss.detach(), {
            k: p.grad.float().clone()
            for k, p in model.named_parameters() if p.grad is not None
        }))
    (l_ref, g_ref), (l_tri, g_tri) = results
    torch.testing.assert_close(l_tri, l_ref, rtol=2e-2, atol=1e-3)
    for k in g_ref:
        num = (g_tri[k] - g_ref[k]).norm()
        den = g_ref[k].norm().clamp_min(1e-12)
        assert num / den < 5e-2, (k, (num / den).item())
