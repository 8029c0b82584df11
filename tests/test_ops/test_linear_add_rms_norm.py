# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.rms_norm.linear_add_rms_norm``: a linear layer
followed by the residual add + RMSNorm (Vim's ``out_proj`` and the next
layer's norm).

Tier 1 (CPU, CI): the reference against a float64 oracle written here; the
Triton kernel in Triton's interpreter (TRITON_INTERPRET=1, set by
conftest) against the reference (ragged rows and widths, several K steps,
with and without bias, fp32 and bf16, a strided ``y`` as Vim's core
returns it); input checks, backend resolution and the refusal of
gradients; offline sm_90 compiles of the default configurations. Tier 2
(marked ``gpu``): Vim-Ti's shape at 1248² batch 8 in bf16, and the
default configurations of Vim-S's, Vim-B's and the widest out_proj.
"""
import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops.rms_norm import linear_add_rms_norm
from mmmamba.testing import requires_cuda, requires_triton, \
    requires_triton_interpreter, run_compiler_script


def make(rows_shape, k, d, dtype, bias=True, device='cpu', seed=0,
         strided=False):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device)

    y = rnd(*rows_shape, 2 * k if strided else k).to(dtype)
    if strided:  # the x half of a (.., 2K) tensor: row stride 2K
        y = y[..., :k]
    return dict(y=y, weight=rnd(d, k, scale=k**-0.5),
                bias=rnd(d) if bias else None,
                residual=rnd(*rows_shape, d, scale=2.0),
                norm_weight=rnd(d) * 0.2 + 1.0)


def oracle(y, weight, bias, residual, norm_weight, eps=1e-5):
    """float64 from the definition, the linear layer's output rounded to
    y's dtype (as autocast's linear returns it)."""
    w = weight.to(y.dtype).double()
    h = y.double() @ w.t()
    if bias is not None:
        h = h + bias.to(y.dtype).double()
    h = h.to(y.dtype).double()
    r = residual.double() + h
    out = r / torch.sqrt((r * r).mean(-1, keepdim=True) + eps) \
        * norm_weight.double()
    return out, r


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_reference_matches_float64_oracle(dtype):
    """The reference (``F.linear`` in y's dtype, then add + RMSNorm with
    the fp32 stream) against the float64 definition."""
    ins = make((2, 9), 40, 24, dtype)
    out, res = linear_add_rms_norm(**ins, backend='reference')
    want_out, want_res = oracle(**ins)
    assert out.dtype == dtype and res.dtype == torch.float32
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    # the hidden's rounding may differ by an ulp where the sums differ
    torch.testing.assert_close(res.double(), want_res, rtol=tol, atol=tol)
    torch.testing.assert_close(out.double(), want_out, rtol=tol, atol=tol)


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('bias', [True, False], ids=['bias', 'nobias'])
@pytest.mark.parametrize('strided', [False, True], ids=['contig', 'strided'])
def test_triton_matches_reference(dtype, bias, strided):
    """The kernel (BLOCK_M = 16 rows over 37 rows: a ragged last block;
    K = 80 in steps of 64: a ragged second step; D = 24 padded to 32)
    gives the reference's residual and output to the rounding of the
    GEMM's summation order, with and without bias, from a contiguous or
    row-strided ``y``."""
    from mmmamba.ops.rms_norm import linear_kernels as lk
    ins = make((37, ), 80, 24, dtype, bias=bias, strided=strided, seed=3)
    with torch.no_grad():
        want = linear_add_rms_norm(**ins, backend='reference')
        got = linear_add_rms_norm(**ins, backend='triton')
        cfg = lk.LinearNormConfig(16, 64)
        bias = None if ins['bias'] is None else ins['bias'].to(dtype)
        out2, res2 = lk.linear_add_rms_norm_fwd(
            ins['y'], ins['weight'].to(dtype), bias, ins['residual'],
            ins['norm_weight'], 1e-5, config=cfg)
    # bf16: where the two sums straddle a rounding boundary the hidden
    # differs by one bf16 ulp (2^-6 at |hidden| < 4), most elements agree
    tol = 1e-5 if dtype == torch.float32 else 4e-2
    for g in (got, (out2, res2)):
        assert g[0].dtype == dtype and g[1].dtype == torch.float32
        torch.testing.assert_close(g[1], want[1], rtol=tol, atol=tol)
        torch.testing.assert_close(g[0].float(), want[0].float(),
                                   rtol=tol, atol=tol)
        if dtype == torch.bfloat16:
            assert (g[1] == want[1]).float().mean().item() > 0.95
    if dtype == torch.float32:
        # the norm of the kernel's own residual, as the norm kernel does
        r = got[1]
        norm = r * torch.rsqrt((r * r).mean(-1, keepdim=True) + 1e-5) \
            * ins['norm_weight']
        torch.testing.assert_close(got[0], norm, rtol=1e-6, atol=1e-6)


@requires_triton_interpreter
@pytest.mark.parametrize('d,sub', [(48, (16, 3)), (100, (32, 4)),
                                   (192, (64, 3)), (16, (16, 1))])
@pytest.mark.parametrize('prefetch,reload', [(False, False), (True, False),
                                             (False, True)],
                         ids=['late', 'prefetch', 'reload'])
def test_triton_sub_tiles_match_reference(d, sub, prefetch, reload):
    """The output columns as up to four power-of-two sub-tiles (Vim-Ti's
    D = 192: three of 64; D = 100: four of 32, the last ragged), the
    residual loaded before or after the main loop, the norm on the
    residual as computed or as stored and read back (K = 72 in steps of
    32: a ragged third step; 21 rows in blocks of 16), bf16 with bias: the
    reference's residual and output to the GEMM's rounding, and the
    normalised output is the kernel's own residual normalised."""
    from mmmamba.ops.rms_norm import linear_kernels as lk
    assert lk.sub_tiles(d) == sub
    ins = make((21, ), 72, d, torch.bfloat16, strided=True, seed=5)
    cfg = lk.LinearNormConfig(16, 32, 4, 2, prefetch, maxnreg=128,
                              reload=reload)
    with torch.no_grad():
        want = linear_add_rms_norm(**ins, backend='reference')
        out, res = lk.linear_add_rms_norm_fwd(
            ins['y'], ins['weight'].to(torch.bfloat16),
            ins['bias'].to(torch.bfloat16), ins['residual'],
            ins['norm_weight'], 1e-5, config=cfg)
    assert out.shape == res.shape == (21, d)
    torch.testing.assert_close(res, want[1], rtol=4e-2, atol=4e-2)
    assert (res == want[1]).float().mean().item() > 0.95
    norm = res * torch.rsqrt((res * res).mean(-1, keepdim=True) + 1e-5) \
        * ins['norm_weight']
    torch.testing.assert_close(out.float(), norm, rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(out.float(), want[0].float(), rtol=4e-2,
                               atol=4e-2)


@requires_triton_interpreter
@pytest.mark.parametrize('d,block_m,sub', [(384, 32, (128, 3)),
                                           (1024, 16, (256, 4))])
def test_triton_wide_default_configs_match_reference(d, block_m, sub):
    """The op's default configuration at Vim-S's width and the widest
    (fewer rows per program; 128- and 256-wide sub-tiles; K = 96: a ragged
    second K step; 40 rows: a ragged last block), bf16 with bias: the
    reference's residual and output to the GEMM's rounding."""
    from mmmamba.ops.rms_norm import linear_kernels as lk
    cfg = lk.default_linear_config(d, 96)
    assert (cfg.block_m, cfg.block_k, lk.sub_tiles(d)) == (block_m, 64, sub)
    ins = make((40, ), 96, d, torch.bfloat16, seed=7)
    with torch.no_grad():
        want = linear_add_rms_norm(**ins, backend='reference')
        out, res = linear_add_rms_norm(**ins, backend='triton')
    torch.testing.assert_close(res, want[1], rtol=4e-2, atol=4e-2)
    assert (res == want[1]).float().mean().item() > 0.95
    torch.testing.assert_close(out.float(), want[0].float(), rtol=4e-2,
                               atol=4e-2)


@requires_triton_interpreter
def test_triton_leading_dims_and_out_dtype():
    """(B, L, K) inputs come back (B, L, D); ``out_dtype`` sets the
    normalised output's dtype (the residual stays fp32)."""
    ins = make((2, 5), 16, 8, torch.bfloat16)
    with torch.no_grad():
        out, res = linear_add_rms_norm(**ins, out_dtype=torch.float32,
                                       backend='triton')
        want = linear_add_rms_norm(**ins, out_dtype=torch.float32,
                                   backend='reference')
    assert out.shape == res.shape == (2, 5, 8)
    assert out.dtype == res.dtype == torch.float32
    torch.testing.assert_close(out, want[0], rtol=4e-2, atol=4e-2)


def test_bad_inputs_raise_clear_errors():
    ins = make((3, ), 16, 8, torch.float32)
    with pytest.raises(ValueError, match='weight must be'):
        linear_add_rms_norm(**dict(ins, weight=ins['weight'][:, :5]))
    with pytest.raises(ValueError, match='bias must be'):
        linear_add_rms_norm(**dict(ins, bias=ins['bias'][:5]))
    with pytest.raises(ValueError, match='residual must be'):
        linear_add_rms_norm(**dict(ins, residual=ins['residual'][:, :5]))
    with pytest.raises(ValueError, match='weight must be'):
        linear_add_rms_norm(**dict(ins, norm_weight=ins['norm_weight'][:5]))
    with pytest.raises(TypeError, match='y must be'):
        linear_add_rms_norm(**dict(ins, y=ins['y'].long()))
    with pytest.raises(ValueError, match='unknown rms-norm backend'):
        linear_add_rms_norm(**ins, backend='cuda')


def test_auto_is_reference_on_cpu():
    """On CPU 'auto' is the reference: differentiable, F.linear's output
    added and normalised."""
    ins = make((4, ), 16, 8, torch.float32)
    ins['y'].requires_grad_(True)
    out, res = linear_add_rms_norm(**ins)
    out.sum().backward()
    assert ins['y'].grad is not None
    h = F.linear(ins['y'].detach(), ins['weight'], ins['bias'])
    torch.testing.assert_close(res, ins['residual'] + h)


@requires_triton_interpreter
def test_triton_refuses_gradients_and_wide_outputs():
    ins = make((3, ), 16, 8, torch.float32)
    ins['weight'].requires_grad_(True)
    with pytest.raises(RuntimeError, match='forward-only'):
        linear_add_rms_norm(**ins, backend='triton')
    wide = make((2, ), 16, 1025, torch.float32)
    with pytest.raises(ValueError, match='at most 1024'):
        linear_add_rms_norm(**wide, backend='triton')


_COMPILE_SM90 = r"""
from mmmamba.ops.rms_norm import linear_kernels as lk
from mmmamba.testing.sm90 import compile_sm90, resource_usage


def build(n_out, n_in, reload):
    cfg = lk.default_linear_config(n_out, n_in)
    sub_n, n_sub = lk.sub_tiles(n_out)
    consts = dict(HAS_BIAS=False, IEEE=False, BLOCK_M=cfg.block_m,
                  SUB_N=sub_n, N_SUB=n_sub, BLOCK_K=cfg.block_k,
                  STAGES=cfg.num_stages, PREFETCH_RES=cfg.prefetch_res,
                  RELOAD=reload)
    return cfg, compile_sm90(
        lk._linear_add_rms_norm_kernel, consts, 'bf16',
        {'y', 'w', 'b', 'out'}, {'stride_wk'},
        {'n_in', 'n_out', 'stride_y', 'stride_wn', 'stride_res'},
        cfg.num_warps, None, cfg.maxnreg or None)


# Vim-Ti's out_proj with and without reload; Vim-S / Vim-B / the widest
for n_out, n_in, reload in ((192, 384, True), (192, 384, False),
                            (384, 768, True), (768, 1536, True),
                            (1024, 2048, True)):
    cfg, k = build(n_out, n_in, reload)
    usage = resource_usage(k) or (-1, -1)
    print('kernel', n_out, int(reload), cfg.num_warps,
          k.asm['ttgir'].count('ttg.convert_layout'),
          k.asm['ptx'].count('wgmma.mma_async'), k.metadata.shared, *usage)
print('compiled')
"""


@requires_triton
def test_default_configs_compile_for_sm90():
    """Offline sm_90 compiles (no GPU) of the default configurations in
    bf16. At Vim-Ti's out_proj (D = 192, K = 384; 4 warps x 64 rows,
    ``reload``): the GEMM on Hopper's tensor cores (wgmma), fewer layout
    conversions than without ``reload`` (Triton 3.6: 6 against 12; 3.8: 6
    against 9) and, with the wheel's cuobjdump, no stack and registers for
    two programs per SM (3.6: 186, 3.8: 174). At D = 384, 768 and 1024:
    shared memory within an H100 SM's 227 KB (three stages at 1024 would
    take 266 KB: the launch fails) and no stack (4 warps at 384 spill)."""
    out = run_compiler_script(_COMPILE_SM90, timeout=900)
    assert out.strip().endswith('compiled'), out
    rows = {}
    for line in out.splitlines():
        if line.startswith('kernel'):
            n_out, reload, *vals = (int(v) for v in line.split()[1:])
            rows[n_out, bool(reload)] = vals
    assert len(rows) == 5, out
    warps, cvt, wgmma, _, reg, stack = rows[192, True]
    assert warps == 4 and wgmma > 0, rows
    assert cvt < rows[192, False][1], rows
    if reg >= 0:
        assert stack == 0 and 2 * reg * 32 * warps <= 65536, rows
    for n_out in (384, 768, 1024):
        warps, _, _, shared, reg, stack = rows[n_out, True]
        assert shared <= 227 * 1024, (n_out, rows[n_out, True])
        assert stack <= 0, (n_out, rows[n_out, True])


def _gpu_against_reference(ins, backend):
    """``(got, want)``: the op on ``backend`` and on the reference, with
    the residual and the bf16 output within the rounding of the GEMM's
    summation order (cuBLAS against the kernel)."""
    with torch.no_grad():
        want = linear_add_rms_norm(**ins, backend='reference')
        got = linear_add_rms_norm(**ins, backend=backend)
    torch.testing.assert_close(got[1], want[1], rtol=1e-2, atol=2e-2)
    torch.testing.assert_close(got[0].float(), want[0].float(), rtol=2e-2,
                               atol=2e-2)
    return got, want


@pytest.mark.gpu
@requires_cuda
@requires_triton
def test_gpu_matches_reference_at_vim_ti_shape():
    """Compiled, Vim-Ti's out_proj (K = 384, D = 192, no bias) at 1248²
    batch 8 rows in bf16: the reference's residual and output to the
    rounding of the GEMM's summation order (cuBLAS against the kernel)."""
    got, want = _gpu_against_reference(
        make((8, 6085), 384, 192, torch.bfloat16, bias=False,
             device='cuda', strided=True), 'auto')
    # most elements exactly equal (the hidden rounds the same way)
    same = (got[1] == want[1]).float().mean().item()
    assert same > 0.9, same


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('k,d', [(768, 384), (1536, 768), (2048, 1024)],
                         ids=['vim-s', 'vim-b', 'widest'])
def test_gpu_wide_default_configs_match_reference(k, d):
    """Compiled with the default configurations of the wider widths (8
    warps; two stages at 1024 columns, where three need more shared memory
    than an SM has), with bias, on 1000 bf16 rows (a ragged last block):
    the reference's residual and output to the rounding of the GEMM's
    summation order."""
    _gpu_against_reference(make((1000, ), k, d, torch.bfloat16,
                                device='cuda'), 'triton')
