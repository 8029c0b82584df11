# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.ss2d_scan``, the fused four-direction SS2D scan.

Tier 1 (CPU, CI): the oracle (cross scan + reference scan + cross merge)
against a per-direction loop written here with explicit pixel orders; the
Triton kernels in Triton's interpreter (TRITON_INTERPRET=1, set by
conftest) against the oracle at tiny sizes: output and every gradient.
Tier 2 (marked ``gpu``): the Triton kernels at VMamba-T's stage shapes in
fp32/fp16/bf16 against the fp32 oracle.
"""
from typing import Dict, Optional

import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops import (cross_scan_ref, scan_positions, ss2d_scan,
                         ss2d_scan_ref)
from mmmamba.testing import (GRAD_MODES, check_saves_states_only_with_grad,
                             requires_cuda, requires_triton,
                             requires_triton_interpreter, run_compiler_script)

NAMES = ('x', 'delta', 'A', 'B', 'C', 'D', 'delta_bias')


def make_inputs(batch, dim, dstate, H, W, *, dtype=torch.float32,
                device='cpu', has_d=True, has_bias=True,
                seed=0) -> Dict[str, Optional[torch.Tensor]]:
    """Inputs as SS2D feeds them; A, D and the bias stay fp32."""
    g = torch.Generator().manual_seed(seed)
    L = H * W

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    ins = dict(
        x=rnd(batch, dim, H, W),
        delta=rnd(batch, 4, dim, L, scale=0.5),
        A=-torch.rand(4 * dim, dstate, generator=g, dtype=torch.float64) * 2
        - 0.1,
        B=rnd(batch, 4, dstate, L),
        C=rnd(batch, 4, dstate, L),
        D=rnd(4 * dim) if has_d else None,
        delta_bias=rnd(4 * dim, scale=0.5) if has_bias else None)
    out = {}
    for k, v in ins.items():
        if v is None:
            out[k] = None
            continue
        dt = torch.float32 if k in ('A', 'D', 'delta_bias') else dtype
        out[k] = v.to(device=device, dtype=dt).requires_grad_(True)
    return out


def grads_of(out, ins, grad):
    names = [k for k in NAMES if ins[k] is not None]
    return dict(
        zip(names, torch.autograd.grad(out, [ins[k] for k in names], grad)))


def loop_ss2d_scan(x, delta, A, B, C, D=None, delta_bias=None,
                   delta_softplus=True):
    """The definition in float64: per direction, visit the pixels in that
    direction's order one step at a time and add y at the pixel."""
    x, delta, A, B, C = (t.double() for t in (x, delta, A, B, C))
    batch, dim, H, W = x.shape
    u = x.reshape(batch, dim, H * W)
    rows = [h * W + w for h in range(H) for w in range(W)]
    cols = [h * W + w for w in range(W) for h in range(H)]
    out = torch.zeros_like(u)
    for k, order in enumerate((rows, cols, rows[::-1], cols[::-1])):
        sl = slice(k * dim, (k + 1) * dim)
        state = torch.zeros(batch, dim, A.shape[1], dtype=torch.float64)
        for p in order:
            dt = delta[:, k, :, p]
            if delta_bias is not None:
                dt = dt + delta_bias.double()[sl]
            if delta_softplus:
                dt = F.softplus(dt)
            state = torch.exp(dt[..., None] * A[sl]) * state \
                + (dt * u[:, :, p])[..., None] * B[:, k, None, :, p]
            y = (state * C[:, k, None, :, p]).sum(-1)
            if D is not None:
                y = y + D.double()[sl] * u[:, :, p]
            out[:, :, p] += y
    return out


@pytest.mark.parametrize('H,W', [(1, 1), (3, 5), (4, 1)])
def test_scan_positions_follow_cross_scan(H, W):
    x = torch.arange(H * W, dtype=torch.float32).view(1, 1, H, W)
    order = cross_scan_ref(x)[0, :, 0].long()  # (4, L): pixel of each step
    assert torch.equal(scan_positions(H, W), order)


@pytest.mark.parametrize('dstate,H,W', [(1, 3, 5), (3, 4, 1), (2, 1, 6)])
def test_oracle_matches_loop(dstate, H, W):
    ins = make_inputs(2, 3, dstate, H, W, dtype=torch.float64)
    ins = {k: v.double() for k, v in ins.items()}
    torch.testing.assert_close(
        ss2d_scan_ref(**ins), loop_ss2d_scan(**ins), rtol=1e-10,
        atol=1e-10)


def test_auto_on_cpu_is_the_oracle():
    ins = make_inputs(1, 2, 1, 2, 3)
    with torch.no_grad():
        torch.testing.assert_close(ss2d_scan(**ins), ss2d_scan_ref(**ins))


def test_bad_shapes_raise():
    ins = {k: v.detach() for k, v in make_inputs(1, 2, 1, 2, 3).items()}

    def call(**over):
        args = dict(ins)
        args.update(over)
        return ss2d_scan(**args)

    with pytest.raises(ValueError, match='x must be'):
        call(x=ins['x'].flatten(2))
    with pytest.raises(ValueError, match='delta must be'):
        call(delta=ins['delta'][:, :, :, :5])
    with pytest.raises(ValueError, match='A must be'):
        call(A=ins['A'][:4])
    with pytest.raises(ValueError, match='C must be'):
        call(C=ins['C'][:, :2])
    with pytest.raises(ValueError, match='D must be'):
        call(D=ins['D'][:3])


def _assert_matches_oracle(ins, rtol, atol, softplus=True):
    """Output and every gradient of the Triton path against the fp32
    oracle on upcast copies; ``atol`` is relative to each tensor's max."""
    out = ss2d_scan(**ins, delta_softplus=softplus, backend='triton')
    assert out.dtype == ins['x'].dtype
    assert out.shape == (*ins['x'].shape[:2], ins['delta'].shape[-1])
    ref_ins = {
        k: None if v is None else v.detach().float().requires_grad_(True)
        for k, v in ins.items()
    }
    ref = ss2d_scan_ref(**ref_ins, delta_softplus=softplus)
    torch.testing.assert_close(
        out.float(), ref, rtol=rtol,
        atol=atol * max(1.0, ref.abs().max().item()))
    grad = torch.randn_like(ref)
    got = grads_of(out, ins, grad.to(out.dtype))
    want = grads_of(ref, ref_ins, grad)
    for k in got:
        assert got[k].dtype == ins[k].dtype, k
        assert got[k].shape == ins[k].shape, k
        w = want[k]
        torch.testing.assert_close(
            got[k].float(), w, rtol=rtol,
            atol=atol * max(1.0, w.abs().max().item()),
            msg=lambda m: f'd{k}: {m}')


# (batch, dim, dstate, H, W)
INTERP_CASES = [
    pytest.param(2, 4, 1, 3, 5, id='N1-3x5'),
    pytest.param(1, 2, 16, 5, 3, id='N16-5x3'),
    pytest.param(1, 4, 1, 7, 6, id='N1-7x6'),
    pytest.param(1, 2, 1, 1, 7, id='N1-H1'),
    pytest.param(2, 2, 2, 4, 1, id='N2-W1'),
    pytest.param(1, 2, 1, 1, 1, id='N1-1x1'),
    # 33-64 rows: the default configuration has column tiles of 4 columns
    # (H_PAD 64, a last tile past the edge) and a forward of 2 channels
    # per program against the backward's 1
    pytest.param(1, 2, 1, 34, 5, id='N1-34x5-default-tiles'),
]


@requires_triton_interpreter
@pytest.mark.parametrize('batch,dim,dstate,H,W', INTERP_CASES)
def test_triton_interpreter_matches_oracle(batch, dim, dstate, H, W):
    ins = make_inputs(batch, dim, dstate, H, W)
    _assert_matches_oracle(ins, 1e-5, 1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('dstate,acc_cg,col_w,H,W', [
    pytest.param(1, True, 0, 5, 3, id='N1-steps'),
    pytest.param(3, False, 0, 5, 3, id='N3-steps-no-cg'),
    pytest.param(1, True, 2, 5, 3, id='N1-tiles2-Hpad8'),
    pytest.param(2, False, 4, 3, 6, id='N2-tiles4-Hpad4'),
    pytest.param(1, True, 1, 4, 5, id='N1-tiles1-Hpad4'),
])
def test_triton_interpreter_many_chunks(monkeypatch, dstate, acc_cg, col_w,
                                        H, W):
    """Chunks of 4 steps and one channel per program: the state carried
    across chunks, column directions crossing columns inside a chunk, and
    a sequence that is not a multiple of the chunk; both accumulator load
    variants; column tiles of 1, 2 and 4 columns with padded rows (H not
    a power of two) and a last tile past the map's edge."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    config = tk.SS2DScanConfig(1, 4, 1, acc_cg=acc_cg, col_w=col_w)
    monkeypatch.setattr(tk, 'default_config',
                        lambda *args, **kwargs: config)
    ins = make_inputs(1, 2, dstate, H, W)
    _assert_matches_oracle(ins, 1e-5, 1e-5)


@requires_triton_interpreter
def test_column_tiles_that_do_not_fit(monkeypatch):
    """A column tile larger than MAX_TILE_ELEMENTS falls back to the
    step-by-step walk in the forward; a backward whose block_d would make
    the forward's tiles too large halves block_d until they fit."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk

    # H=5 -> 8 padded rows, 2 columns per tile: 16 elements per channel
    monkeypatch.setattr(tk, 'MAX_TILE_ELEMENTS', 16)
    geo = tk._geometry(15, 5, 3, 2, 1, tk.SS2DScanConfig(2, 4, 1, col_w=2))
    assert not geo.col_tile and geo.tile_l == 4
    geo = tk._geometry(15, 5, 3, 1, 1, tk.SS2DScanConfig(1, 4, 1, col_w=2))
    assert geo.col_tile and (geo.n_chunks_col, geo.tile_l) == (2, 16)

    def config(dim, dstate, backward, height=0):
        return tk.SS2DScanConfig(2 if backward else 1, 4, 1, col_w=2)

    monkeypatch.setattr(tk, 'default_config', config)
    ins = make_inputs(1, 2, 1, 5, 3)
    _assert_matches_oracle(ins, 1e-5, 1e-5)


@requires_triton_interpreter
def test_triton_interpreter_without_d_bias_softplus():
    ins = make_inputs(1, 2, 1, 3, 4, has_d=False, has_bias=False)
    with torch.no_grad():
        ins['delta'].abs_()
    _assert_matches_oracle(ins, 1e-5, 1e-5, softplus=False)


@requires_triton_interpreter
def test_triton_interpreter_bf16():
    """bf16 x, delta, B, C: fp32 accumulation, outputs and gradients in the
    input dtypes, within bf16 rounding of the fp32 oracle."""
    ins = make_inputs(1, 4, 1, 3, 5, dtype=torch.bfloat16)
    _assert_matches_oracle(ins, 3e-2, 2e-2)


@requires_triton
def test_default_config_by_map_size():
    """Column tiles of 4 columns (no .cg) at 33-64 rows with N=1, the
    swept size (VMamba-T stage 1); the former step-by-step defaults
    elsewhere; forward and backward always share block_l and col_w."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    cfg = tk.default_config
    fwd, bwd = cfg(96, 1, False, height=56), cfg(96, 1, True, height=56)
    assert fwd == tk.SS2DScanConfig(2, 128, 4, acc_cg=False, col_w=4)
    assert bwd == tk.SS2DScanConfig(1, 128, 2, acc_cg=False, col_w=4)
    assert cfg(95, 1, False, height=33).block_d == 1  # 95 channels
    assert tk.forward_config(96, 1, 56, 56) == fwd  # the tiles fit
    for height in (0, 7, 14, 28, 32, 65, 128):
        assert cfg(192, 1, False, height=height) == \
            tk.SS2DScanConfig(2, 128, 2)
        assert cfg(192, 1, True, height=height) == \
            tk.SS2DScanConfig(4, 128, 4)
    assert cfg(192, 16, False, height=56) == tk.SS2DScanConfig(2, 16, 1)
    for height in (7, 28, 56, 100):
        for dstate in (1, 16):
            f = cfg(96, dstate, False, height)
            b = cfg(96, dstate, True, height)
            assert (f.block_l, f.col_w) == (b.block_l, b.col_w)


_COMPILE_SM90 = r"""
import os
import subprocess
import tempfile
os.environ.pop('TRITON_INTERPRET', None)
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource, compile
from mmmamba.ops.ss2d_scan import triton_kernels as tk

ints = ('n_batch', 'dim', 'seqlen', 'height', 'width', 'dstate',
        'n_chunks_row', 'n_chunks_col', 'n_chunks_max')
fwd = ('u', 'delta', 'A', 'B', 'C', 'D', 'bias', 'acc', 'out', 'states')
bwd = ('u', 'delta', 'A', 'B', 'C', 'D', 'bias', 'states', 'gout', 'du_acc',
       'du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'dbias')
low = {'u', 'delta', 'B', 'C', 'out', 'gout', 'du', 'ddelta'}
cuobjdump = os.path.join(os.path.dirname(triton.__file__), 'backends',
                         'nvidia', 'bin', 'cuobjdump')


def usage(cubin):
    # REG and STACK (spills) of the kernel, if the wheel has cuobjdump
    if not os.path.isfile(cuobjdump):
        return None
    with tempfile.NamedTemporaryFile(suffix='.cubin') as f:
        f.write(cubin)
        f.flush()
        out = subprocess.run([cuobjdump, '--dump-resource-usage', f.name],
                             capture_output=True, text=True).stdout
    fields = dict(kv.split(':') for kv in out.split() if kv.count(':') == 1)
    return int(fields['REG']), int(fields['STACK'])


# the default configurations at VMamba-T's stage 1 (56x56: column tiles),
# bf16 and fp32, and at stage 2 (28x28: step by step; stages 3-4 take the
# same constexprs)
for dtype, (dim, height) in (('bf16', (96, 56)), ('fp32', (96, 56)),
                             ('bf16', (192, 28))):
    width, seqlen = height, height * height
    for backward in (False, True):
        cfg = tk.default_config(dim, 1, backward, height=height)
        if backward:
            cfg = cfg._replace(
                block_l=tk.forward_config(dim, 1, height, width).block_l,
                col_w=tk.forward_config(dim, 1, height, width).col_w)
        geo = tk._geometry(seqlen, height, width, cfg.block_d, 1, cfg)
        assert geo.col_w == cfg.col_w and geo.col_tile == (height > 32)
        fn, ptrs = ((tk._ss2d_scan_bwd_kernel, bwd) if backward else
                    (tk._ss2d_scan_fwd_kernel, fwd))
        consts = dict(HAS_D=True, HAS_BIAS=True, SOFTPLUS=True, BLOCK_N=1,
                      BLOCK_D=cfg.block_d, BLOCK_L=cfg.block_l,
                      ACC_CG=cfg.acc_cg, COL_TILE=geo.col_tile,
                      COL_W=geo.col_w, H_PAD=geo.h_pad, TILE_L=geo.tile_l)
        if not backward:
            consts['SAVE_STATES'] = True
        sig = {f'{p}_ptr': f'*{dtype}' if p in low else '*fp32'
               for p in ptrs}
        sig.update({k: 'i32' for k in ints})
        sig.update({k: 'constexpr' for k in consts})
        kernel = compile(ASTSource(fn=fn, signature=sig, constexprs=consts),
                         target=GPUTarget('cuda', 90, 32),
                         options=dict(num_warps=cfg.num_warps))
        ptx = kernel.asm['ptx']
        assert 'bar.sync' in ptx or 'barrier' in ptx
        assert len(kernel.asm['cubin']) > 0
        res = usage(kernel.asm['cubin'])
        print('bwd' if backward else 'fwd', dtype, height, tuple(cfg),
              'registers, stack:', res)
        assert res is None or res[1] == 0, 'spills'
print('compiled')
"""


@requires_triton
def test_kernels_compile_for_sm90():
    """The interpreter runs the kernels' Python, not the compiler: compile
    both for sm_90 offline (PTX and ptxas, no GPU needed) in a process
    without TRITON_INTERPRET, at the default N=1 launch configurations
    with and without column tiles, and check (with the wheel's cuobjdump)
    that they do not spill."""
    out = run_compiler_script(_COMPILE_SM90, timeout=300)
    assert out.strip().endswith('compiled')


# ---------------------------------------------------------------- GPU

# VMamba-T (s1l8, ssm_ratio 1) at 224²: d_inner = C = 96 * 2**stage on a
# 56 / 2**stage grid; vanilla v0 (N=16, ratio 2) stage 1; an odd grid
GPU_CASES = [
    pytest.param(8, 96, 1, 56, 56, id='vmamba-t-stage1'),
    pytest.param(8, 192, 1, 28, 28, id='vmamba-t-stage2'),
    pytest.param(8, 384, 1, 14, 14, id='vmamba-t-stage3'),
    pytest.param(8, 768, 1, 7, 7, id='vmamba-t-stage4'),
    pytest.param(2, 192, 16, 56, 56, id='vanilla-t-stage1-N16'),
    pytest.param(3, 40, 1, 37, 23, id='odd-37x23'),
]
GPU_TOL = {  # (rtol, atol relative to max |ref|), as the scan's GPU tests
    torch.float32: (6e-4, 2e-4),
    torch.float16: (3e-3, 3e-3),
    torch.bfloat16: (3e-2, 2e-2),
}


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('dtype', list(GPU_TOL))
@pytest.mark.parametrize('batch,dim,dstate,H,W', GPU_CASES)
def test_gpu_triton_matches_fp32_oracle(dtype, batch, dim, dstate, H, W):
    ins = make_inputs(batch, dim, dstate, H, W, dtype=dtype, device='cuda')
    _assert_matches_oracle(ins, *GPU_TOL[dtype])


@pytest.mark.gpu
@requires_cuda
@requires_triton
def test_gpu_triton_stage1_batch128_bf16():
    ins = make_inputs(128, 96, 1, 56, 56, dtype=torch.bfloat16,
                      device='cuda')
    _assert_matches_oracle(ins, *GPU_TOL[torch.bfloat16])


@requires_triton_interpreter
@pytest.mark.parametrize('mode', list(GRAD_MODES))
def test_triton_saves_states_only_when_grad_is_needed(monkeypatch, mode):
    """The fused SS2D scan's autograd Function saves the backward's chunk
    states exactly when a gradient will be taken: not under
    ``torch.no_grad`` or ``inference_mode`` although its inputs (a model's
    parameters, say) require grad."""
    from mmmamba.ops.ss2d_scan import triton as mod
    ins = make_inputs(1, 2, 1, 3, 4)

    def run():
        return ss2d_scan(**ins, backend='triton')

    check_saves_states_only_with_grad(monkeypatch, mod, 'ss2d_scan_fwd', 10,
                                      run, mode)
