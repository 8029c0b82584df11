# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of ``mmmamba.ops.selective_scan.bidir_fused_launcher``: Vim's two
inference scans and their gated sum in one launch (``triton_bidir``).

The oracle is the definition, in float64: ``out_scale * (y_f + y_b) *
silu(z)`` with ``y_f = selective_scan_ref(direction 0)`` and ``y_b`` the
reference scan of direction 1 over the flipped sequence, flipped back.
Tier 1 (CPU): the kernel in the interpreter (TRITON_INTERPRET=1, set by
conftest) at small sizes, over sequence lengths that put the two halves'
boundary inside, at and past chunk edges; the argument checks; the
selection rule; an offline sm_90 compile (registers, no spills).
Tier 2 (marked ``gpu``): Vim-Ti's width at batch 64 against the
two-launch path and the oracle.
"""
import pytest
import torch
import torch.nn.functional as F

from mmmamba.ops.selective_scan import (bidir_fused_launcher,
                                        selective_scan_into,
                                        selective_scan_ref,
                                        triton_bidir_fused_pays)
from mmmamba.testing import (requires_cuda, requires_triton,
                             requires_triton_interpreter,
                             run_compiler_script)


KEYS = ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'out', 'dt_proj_weight',
        'delta_bias')


def make_inputs(batch, seqlen, dim, dstate, *, has_d=True, dt_rank=0,
                dtype=torch.float32, device='cpu', seed=0) -> dict:
    """Stacked inputs as the launcher takes them; z and out are the two
    halves of one (B, L, 2E) tensor, as in Vim. With ``dt_rank`` > 0,
    delta is dt_proj's input (2, B, L, 16) fp32 (zeros beyond the rank,
    values rounded to ``dtype``) with dt_proj's weight and bias."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return torch.randn(*shape, generator=g)

    xz = rnd(batch, seqlen, 2 * dim).to(dtype)
    ins = dict(
        u=rnd(2, batch, seqlen, dim).to(dtype),
        delta=(torch.rand(2, batch, seqlen, dim, generator=g) * 0.6
               + 0.01).to(dtype),
        A=-(torch.rand(2, dim, dstate, generator=g) + 0.1),
        B=rnd(2, batch, seqlen, dstate),
        C=rnd(2, batch, seqlen, dstate),
        D=rnd(2, dim) if has_d else None,
        z=xz[..., dim:],
        out=xz[..., :dim],
        dt_proj_weight=None, delta_bias=None)
    if dt_rank:
        pad = (0, 16 - dt_rank)
        ins['delta'] = torch.nn.functional.pad(
            rnd(2, batch, seqlen, dt_rank).to(dtype).float(), pad)
        ins['dt_proj_weight'] = torch.nn.functional.pad(
            rnd(2, dim, dt_rank) * dt_rank**-0.5, pad).to(dtype).float()
        ins['delta_bias'] = rnd(2, dim) - 1.0
    return ins


def step(ins: dict, r: int) -> torch.Tensor:
    """Direction ``r``'s delta (B, E, L) float64: as given, or formed from
    dt_proj's input, the product rounded to the activations' dtype."""
    if ins['dt_proj_weight'] is None:
        return ins['delta'][r].transpose(1, 2).double()
    pre = (ins['delta'][r] @ ins['dt_proj_weight'][r].t()).to(
        ins['u'].dtype).double()
    return F.softplus(pre + ins['delta_bias'][r].double()).transpose(1, 2)


def oracle(ins: dict, out_scale: float) -> torch.Tensor:
    """(B, L, E) float64 from the reference scan, direction by direction
    (the reverse one on flipped tensors)."""
    ys = []
    for r in (0, 1):
        u = ins['u'][r].transpose(1, 2).double()
        delta = step(ins, r)
        B = ins['B'][r].transpose(1, 2).unsqueeze(1).double()
        C = ins['C'][r].transpose(1, 2).unsqueeze(1).double()
        D = None if ins['D'] is None else ins['D'][r].double()
        if r:
            u, delta, B, C = (t.flip(-1) for t in (u, delta, B, C))
        y = selective_scan_ref(u, delta, ins['A'][r].double(), B, C, D)
        ys.append(y.flip(-1) if r else y)
    z = ins['z'].transpose(1, 2).double()
    return (out_scale * (ys[0] + ys[1]) * F.silu(z)).transpose(1, 2)


def two_launches(ins: dict, out_scale: float) -> torch.Tensor:
    """Vim's two-launch inference scan on the same inputs (delta given):
    the forward direction writes y_f, the reverse one adds y_b and gates
    the sum."""
    y = torch.empty_like(ins['out'])
    for r in (0, 1):
        selective_scan_into(
            y.transpose(1, 2), ins['u'][r].transpose(1, 2),
            ins['delta'][r].transpose(1, 2), ins['A'][r],
            ins['B'][r].transpose(1, 2), ins['C'][r].transpose(1, 2),
            ins['D'][r], ins['z'].transpose(1, 2) if r else None,
            reverse=bool(r), out_scale=out_scale if r else 1.0,
            accumulate=bool(r), gate_sum=bool(r), backend='triton')
    return y


def run(ins: dict, out_scale: float) -> torch.Tensor:
    args = [ins[k] for k in KEYS]
    with torch.no_grad():
        launch = bidir_fused_launcher(*args[:8], out_scale=out_scale,
                                      dt_proj_weight=args[8],
                                      delta_bias=args[9])
        return launch(*args)


@requires_triton_interpreter
@pytest.mark.parametrize('dt_rank', [0, 5])
@pytest.mark.parametrize('seqlen', [1, 3, 4, 5, 8, 9, 13, 16, 21])
def test_matches_the_definition_fp32(seqlen, dt_rank):
    """Every length class of the padded two-half walk (block_t = 4): one
    step, less than a chunk, whole chunks, an odd chunk count (one
    all-padding chunk), and lengths whose half boundary falls inside a
    chunk; batch 2 (programs per batch element), D and out_scale; delta
    given, or formed in the kernel from dt_proj's input (dt_rank 5)."""
    ins = make_inputs(2, seqlen, 32, 4, dt_rank=dt_rank, seed=seqlen)
    out = run(ins, 0.5)
    assert out.data_ptr() == ins['out'].data_ptr()
    torch.testing.assert_close(out.double(), oracle(ins, 0.5), rtol=1e-5,
                               atol=1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('dt_rank', [0, 12])
def test_matches_the_definition_bf16_two_channel_blocks_no_D(dt_rank):
    """bf16 activations (fp32 state and sums, one rounding of the
    output and of the first half's partial sums), 64 channels (two
    programs per batch element), N = 16 as Vim, no D; delta given or
    formed from dt_proj's input (Vim-Ti's rank 12, the product rounded
    to bf16)."""
    ins = make_inputs(1, 11, 64, 16, has_d=False, dt_rank=dt_rank,
                      dtype=torch.bfloat16, seed=3)
    want = oracle(ins, 1.0)
    out = run(ins, 1.0)
    assert out.dtype == torch.bfloat16
    scale = want.abs().max().item()
    torch.testing.assert_close(out.double(), want, rtol=2e-2,
                               atol=2e-2 * scale)


@requires_triton_interpreter
def test_matches_the_two_launch_path():
    """The same result as Vim's two-launch inference scan (forward writes
    y_f, reverse adds y_b and gates the sum), to fp32 rounding."""
    ins = make_inputs(2, 10, 32, 4, seed=5)
    got = run(ins, 0.5).clone()
    y = two_launches(ins, 0.5)
    torch.testing.assert_close(got, y, rtol=1e-5, atol=1e-5)


@requires_triton_interpreter
def test_block_t_and_stages_do_not_change_the_result():
    """Other chunk sizes (the padding and the half boundary move) give
    the same output to rounding."""
    from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch
    ins = make_inputs(1, 19, 32, 4, seed=7)
    args = [ins[k] for k in ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'out')]
    want = oracle(ins, 1.0)
    for block_t in (1, 2, 8):
        out = BidirFwdLaunch(*args, block_t=block_t, stages=2)(*args)
        torch.testing.assert_close(out.double(), want, rtol=1e-5,
                                   atol=1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('block_t', [4, 8])
@pytest.mark.parametrize('ahead', [0, 1, 2])
@pytest.mark.parametrize('seqlen', [5, 13, 21])
def test_loops_forming_steps_ahead_match_the_definition(seqlen, ahead,
                                                        block_t):
    """The loops that form a chunk's steps (and the second loop's gate)
    one chunk ahead give the definition's output, as the plain loops
    (0) do, on 4- and 8-step chunks; lengths whose halves take 1-3
    chunks, so the look-ahead runs past the last chunk (which it forms
    again) and across the barrier between the loops."""
    from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch
    ins = make_inputs(2, seqlen, 32, 4, dt_rank=5, seed=seqlen)
    args = [ins[k] for k in KEYS]
    want = oracle(ins, 0.5)
    with torch.no_grad():
        out = BidirFwdLaunch(*args[:8], 0.5, *args[8:], block_t=block_t,
                             stages=2, ahead=ahead)(*args)
    torch.testing.assert_close(out.double(), want, rtol=1e-5, atol=1e-5)


@requires_triton_interpreter
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_chunk_size_moves_only_the_half_boundary(dtype):
    """4- and 8-step chunks (the defaults under Triton 3.8 and 3.6)
    with the look-ahead: at L = 21 the walk pads to 24 or 32 steps, so
    the loops' halves meet at position 12 or 16. fp32 outputs are the
    same bit for bit; bf16 ones differ only at positions 12-15, where
    the other direction's partial sum is the one rounded to bf16."""
    from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch
    ins = make_inputs(1, 21, 32, 16, dt_rank=5, seed=3, dtype=dtype)
    args = [ins[k] for k in KEYS]
    outs = []
    with torch.no_grad():
        for block_t in (4, 8):
            out = torch.empty_like(args[7])
            call = args[:7] + [out] + args[8:]
            BidirFwdLaunch(*call[:8], 0.5, *call[8:], block_t=block_t,
                           stages=2, ahead=2)(*call)
            outs.append(out.float())
    diff = (outs[0] - outs[1]).abs()
    if dtype == torch.float32:
        assert torch.equal(outs[0], outs[1])
        return
    assert diff[:, :12].max() == 0 and diff[:, 16:].max() == 0
    assert diff[:, 12:16].max() > 0  # the rounding does move there


def test_default_chunk_size_follows_the_triton_version(monkeypatch):
    """8-step chunks under Triton 3.6 (measured there: no stack under the
    register cap, 3.7% faster), 4 under every other version (3.8 spills
    at the cap; the rest were not measured, nor version strings that do
    not parse)."""
    triton = pytest.importorskip('triton')
    from mmmamba.ops.selective_scan import triton_bidir
    for version, want in (('3.6.0', 8), ('3.6.1+git1234', 8),
                          ('3.6', 8), ('3.8.0', 4), ('3.5.1', 4),
                          ('3.60.0', 4), ('4.6.0', 4), ('main', 4)):
        monkeypatch.setattr(triton, '__version__', version)
        assert triton_bidir._default_block_t() == want, version


@requires_triton_interpreter
def test_wrong_arguments_raise():
    """Shapes and layouts the kernel does not take raise ValueError naming
    the tensor; inputs that need a gradient raise RuntimeError."""
    ins = make_inputs(1, 6, 32, 4)
    keys = ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'out')

    def launcher(**changes):
        args = dict(ins, **changes)
        return bidir_fused_launcher(*[args[k] for k in keys])

    with pytest.raises(ValueError, match=r'u must be \(2, batch'):
        launcher(u=ins['u'][0])
    with pytest.raises(ValueError, match='channel stride 1'):
        launcher(u=ins['u'].transpose(2, 3).contiguous().transpose(2, 3),
                 delta=ins['delta'].transpose(2, 3).contiguous()
                 .transpose(2, 3))
    with pytest.raises(ValueError, match='delta must have'):
        launcher(delta=ins['delta'][:, :, :5])
    with pytest.raises(ValueError, match='B must be contiguous fp32'):
        launcher(B=ins['B'].double())
    with pytest.raises(ValueError, match='N must be a power of two'):
        bad = make_inputs(1, 6, 32, 5)
        bidir_fused_launcher(*[bad[k] for k in keys])
    with pytest.raises(ValueError, match='multiple of 32'):
        bad = make_inputs(1, 6, 48, 4)
        bidir_fused_launcher(*[bad[k] for k in keys])
    with pytest.raises(ValueError, match='out must be'):
        launcher(out=ins['out'].transpose(1, 2).contiguous()
                 .transpose(1, 2))
    with pytest.raises(ValueError, match='D must be contiguous'):
        launcher(D=ins['D'][:1])
    with pytest.raises(RuntimeError, match='no gradient'):
        launcher(u=ins['u'].clone().requires_grad_(True))
    with pytest.raises(ValueError, match='delta_bias is taken with'):
        bidir_fused_launcher(*[ins[k] for k in keys],
                             delta_bias=torch.zeros(2, 32))
    low = make_inputs(1, 6, 32, 4, dt_rank=3)
    args = [low[k] for k in keys]
    with pytest.raises(ValueError, match='dt_proj_weight must be'):
        bidir_fused_launcher(*args, dt_proj_weight=low['dt_proj_weight'][0],
                             delta_bias=low['delta_bias'])
    with pytest.raises(ValueError, match='delta_bias must be'):
        bidir_fused_launcher(*args, dt_proj_weight=low['dt_proj_weight'])
    from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch
    with pytest.raises(ValueError, match='ahead must be 0, 1 or 2'):
        BidirFwdLaunch(*args, dt_proj_weight=low['dt_proj_weight'],
                       delta_bias=low['delta_bias'], ahead=4)
    with pytest.raises(ValueError, match='ahead forms delta'):
        BidirFwdLaunch(*[ins[k] for k in keys], ahead=1)
    with pytest.raises(ValueError, match='padded to a power of two'):
        bidir_fused_launcher(*args[:1], low['delta'][..., :12], *args[2:],
                             dt_proj_weight=low['dt_proj_weight'],
                             delta_bias=low['delta_bias'])


def test_selection_rule():
    """Vim-Ti's sizes (E = 384, N = 16): one launch at batch 64 (one
    direction's scan unsplit), not at batch 8 (split into segments), nor
    for fp32 activations, N != 16, channels not a multiple of 32, or with
    the switch off."""
    pytest.importorskip('triton')
    from mmmamba.ops.selective_scan import triton_bidir
    assert triton_bidir_fused_pays(64, 384, 16385, 16, 2)
    assert triton_bidir_fused_pays(64, 384, 6085, 16, 2)
    assert not triton_bidir_fused_pays(8, 384, 6085, 16, 2)
    assert not triton_bidir_fused_pays(64, 384, 6085, 16, 4)
    assert not triton_bidir_fused_pays(64, 384, 6085, 8, 2)
    assert not triton_bidir_fused_pays(64, 368, 6085, 16, 2)
    try:
        triton_bidir.BIDIR_FUSED = False
        assert not triton_bidir_fused_pays(64, 384, 6085, 16, 2)
    finally:
        triton_bidir.BIDIR_FUSED = True


_COMPILE = r"""
import os
os.environ.pop('TRITON_INTERPRET', None)
from mmmamba.ops.selective_scan import triton_bidir as tb
from mmmamba.testing.sm90 import compile_sm90, resource_usage

k = compile_sm90(
    tb._bidir_fwd_kernel,
    dict(HAS_D=True, DT_LOW=True, BLOCK_D=tb.BIDIR_BLOCK_D,
         BLOCK_T=tb.BIDIR_BLOCK_T, BLOCK_N=16, BLOCK_R=16,
         STAGES=tb.BIDIR_STAGES, AHEAD=tb.BIDIR_AHEAD),
    'bf16', low=('u', 'z', 'out'),  # delta: dt_proj's input, fp32
    div16=('dim', 'su_r', 'su_b', 'su_l', 'sdl_r', 'sdl_b', 'sbc_r',
           'sbc_b', 'sz_b', 'sz_l', 'so_b', 'so_l'),
    num_warps=2, maxnreg=tb.BIDIR_MAXNREG or None, floats=('out_scale',))
ttgir = k.asm['ttgir']
# the 4-D math tile: lanes on channels, the two warps on the direction axis
assert ('threadsPerWarp = [1, 1, 1, 32], warpsPerCTA = [1, 1, 2, 1]'
        in ttgir), ttgir[:3000]
usage = resource_usage(k)
if usage is not None:
    print('usage', *usage)
print('compiled')
"""


@requires_triton
def test_kernel_compiles_for_sm90_in_registers():
    """Offline sm_90 compile at the default tile as Vim runs it (bf16,
    N = 16, delta formed from dt_proj's input, the default look-ahead
    and register cap): the layout that puts one warp on each direction,
    and (with the wheel's cuobjdump) at most 168 registers (6 two-warp
    programs per SM: batch 64's 768 programs fit in one wave on a
    132-SM H100) and no stack."""
    out = run_compiler_script(_COMPILE, timeout=600)
    assert out.strip().endswith('compiled'), out
    for line in out.splitlines():
        if line.startswith('usage'):
            _, reg, stack = line.split()
            assert int(reg) <= 168 and int(stack) == 0, line


# ---------------------------------------------------------------- GPU

@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('seqlen', [197, 6085])
def test_gpu_vim_ti_batch_64(seqlen):
    """Vim-Ti's width at batch 64 (the sizes the rule picks it for), bf16,
    delta given: the fp64 oracle to bf16 tolerance, and the two-launch
    path to the rounding of the partial sums."""
    ins = make_inputs(64, seqlen, 384, 16, dtype=torch.bfloat16,
                      device='cpu', seed=11)
    ins = {k: None if v is None else v.cuda() for k, v in ins.items()}
    xz = torch.cat([ins['out'], ins['z']], dim=-1)
    ins['out'], ins['z'] = xz[..., :384], xz[..., 384:]
    got = run(ins, 0.5).float()
    y = two_launches(ins, 0.5)
    scale = y.float().abs().max().item()
    torch.testing.assert_close(got, y.float(), rtol=2e-2,
                               atol=1e-2 * scale)
    sub = {k: None if v is None else (v[:, :2] if k in (
        'u', 'delta', 'B', 'C') else v[:2] if k in ('z', 'out') else v)
        for k, v in ins.items()}
    want = oracle({k: None if v is None else v.cpu()
                   for k, v in sub.items()}, 0.5)
    torch.testing.assert_close(got[:2].double().cpu(), want, rtol=3e-2,
                               atol=2e-2 * want.abs().max().item())


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('seqlen', [197, 6085])
def test_gpu_vim_ti_batch_64_delta_from_dt_proj_input(seqlen):
    """As Vim runs it: delta formed in the kernel from dt_proj's input
    (rank 12), against the fp64 oracle on the first two batch elements
    to bf16 tolerance."""
    ins = make_inputs(64, seqlen, 384, 16, dt_rank=12,
                      dtype=torch.bfloat16, seed=13)
    cpu = {k: v for k, v in ins.items()}
    gpu = {k: None if v is None else v.cuda() for k, v in ins.items()}
    xz = torch.cat([gpu['out'], gpu['z']], dim=-1)
    gpu['out'], gpu['z'] = xz[..., :384], xz[..., 384:]
    got = run(gpu, 0.5)[:2].double().cpu()
    sub = dict(cpu)
    for k in ('u', 'delta', 'B', 'C'):
        sub[k] = cpu[k][:, :2]
    sub['z'] = cpu['z'][:2]
    want = oracle(sub, 0.5)
    torch.testing.assert_close(got, want, rtol=3e-2,
                               atol=2e-2 * want.abs().max().item())


@pytest.mark.gpu
@requires_cuda
@requires_triton
@pytest.mark.parametrize('ahead,maxnreg', [(1, 0), (2, 0), (0, 168),
                                           (2, 168)])
def test_gpu_loops_forming_steps_ahead_match_the_default(ahead, maxnreg):
    """Vim-Ti at batch 64 with delta formed from dt_proj's input: the
    loops that form the steps (and the gate) ahead, and the register
    cap, give the plain uncapped loop's output bit for bit (the same
    operations per element, in another schedule)."""
    from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch
    ins = make_inputs(64, 6085, 384, 16, dt_rank=12, dtype=torch.bfloat16,
                      seed=17)
    gpu = {k: None if v is None else v.cuda() for k, v in ins.items()}
    xz = torch.cat([gpu['out'], gpu['z']], dim=-1)
    gpu['out'], gpu['z'] = xz[..., :384], xz[..., 384:]
    args = [gpu[k] for k in KEYS]
    with torch.no_grad():
        want = BidirFwdLaunch(*args[:8], 0.5, *args[8:], ahead=0,
                              maxnreg=0)(*args).clone()
        got = BidirFwdLaunch(*args[:8], 0.5, *args[8:], ahead=ahead,
                             maxnreg=maxnreg)(*args)
    assert torch.equal(got, want)
