"""Batch-8 scan tiles A/B (prepared 2026-12-05, third part, no device).

Vim-Ti's fused inference mixer core (both directions, bf16 autocast) at
SHAPES (default 1248² and 2048², batch 8), GPU kernel time per call
(torch.profiler, 10 calls after 3), split into the main scan kernel, its
segment pre-pass and the rest, for the inference forward tiles TILES
(``d<block_d> t<block_t> s<n_seg>``, ``w``: widen_bc, ``r<N>``: register
cap of the main kernel; ``def``: default_config's own; ``+p<D>t<T>``: the
pre-pass on its own tile, ``ScanConfig.pre_block_d`` / ``pre_block_t``). Each variant's
output is compared with the default's (max |diff| / max |default|).

The question: with B and C widened where they are loaded, is the split
one-thread-per-channel tile (d32 t4 s16: two passes over 15/16 of the
sequence) still the fastest at batch 8, or do the lane-split tiles (d8 /
d4: a channel's 16 states over 4 / 8 lanes) with fewer segments or none
(one pass, 1 exp2 per state update instead of ~1.94) now win? Offline
sm_90 SASS (Triton 3.6, widen_bc, no cap) of the main kernel's loop,
instructions per state update (ungated / gated direction): d32 t4 7.53 /
8.39 plus the pre-pass 5.83 on 15/16 of the steps; d8 t16 10.11 / 10.98
(190 / 196 registers); d8 t8 10.78 / 12.06 (103 / 115); d4 t16 15.31 /
16.25 (``benchmarks/NOTES.md``, 2026-12-05, third part). The pre-pass alone
(no outputs, so no cross-lane sums on a lane-split tile): d32 t4 5.83 per
update at 124 registers (~11 of its 1440 one-warp programs per SM),
d16 t8 6.25 at 96 (21 resident, 2880 programs), d16 t4 6.78 at 63,
d8 t16 7.45 at 122. Main kernels with fewer registers (more warps
resident, more segments): d32 t2 8.50 / 9.47 at 112 / 124 registers
(3072 programs at 32 segments, 16 resident per SM), d16 t4 9.28 / 10.22
at 100 / 113; d32 t4 under a 128 cap spills in the loop (32 / 47 local
loads and stores per iteration), so ``d32t4...r128`` is left out.

DEVICE=cpu runs a toy mixer (width 16) at 96² batch 1 in Triton's
interpreter: a check of the script and of every tile's output against the
default's (no timing)."""
import os
import sys
from collections import defaultdict

DEVICE = os.environ.get('DEVICE', 'cuda')
if DEVICE == 'cpu':
    os.environ.setdefault('TRITON_INTERPRET', '1')

import torch  # noqa: E402

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import kernel_ms_by  # noqa: E402
from mmmamba.models.layers import BiMamba, bimamba  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

CPU = DEVICE == 'cpu'

DEFAULT = tk.default_config
TILES = os.environ.get(
    'TILES', 'def,def+p16t8,def+p16t4,def+p8t16,d32t4s8wr168,d32t2s32w,'
    'd32t2s32wr128+p16t8,d16t4s16w,d16t4s16w+p16t8,d16t8s8wr168,'
    'd16t8s16wr168,d8t16s1w,d8t16s4w,d8t8s4w,d4t16s2w').split(',')


def parse(tile):
    """'d8t16s2wr168' -> ScanConfig fields; '+p16t8' appended: the
    pre-pass on its own tile (pre_block_d 16, pre_block_t 8); '+s3':
    Triton's software pipeliner for the main kernel (stages 3), '+ps3'
    for the pre-pass (pre_stages 3); '+f': B and C handed to the scan in
    fp32 (the projection's bf16 values widened by a cast after it; not a
    ScanConfig field); 'def': the default's fields (None when nothing is
    added). The last three were added in the sixth part of 2026-12-05;
    '+ptd' / '+ptd0' (pre_td_first on / off) and '+pr72' (pre_maxnreg 72)
    in its seventh."""
    if '+' in tile:
        tile, *extras = tile.split('+')
        fields = parse(tile) or {}
        for extra in extras:
            if extra in ('ptd', 'ptd0'):
                fields['pre_td_first'] = extra == 'ptd'
            elif extra[:2] == 'pr':
                fields['pre_maxnreg'] = int(extra[2:])
            elif extra[:2] == 'ps':
                fields.update(pre_stages=int(extra[2:]))
            elif extra[0] == 'p':
                d, t = extra[1:].split('t')
                fields.update(pre_block_d=int(d), pre_block_t=int(t))
            elif extra[0] == 's':
                fields.update(stages=int(extra[1:]))
            elif extra == 'f':
                fields['fp32_bc'] = True
            else:
                raise ValueError(f'unknown tile suffix +{extra}')
        return fields
    if tile == 'def':
        return None
    rest, reg = (tile.split('r') + ['0'])[:2]
    widen = rest.endswith('w')
    rest = rest.rstrip('w')
    d, rest = rest[1:].split('t')
    t, s = rest.split('s')
    # block_l: the saved-state spacing, which block_t must divide even
    # where (inference) no state is saved
    return dict(block_d=int(d), block_t=int(t), n_seg=int(s),
                widen_bc=widen, maxnreg=int(reg),
                block_l=max(tk.TMAJOR_STATE_L, int(t)))


CONV_LAUNCHER = bimamba.conv1d_silu_proj_launcher


def fp32_bc_launcher(*args, **kwargs):
    """The conv + projection launcher, its B and C cast to fp32 (their
    (B, N, L) views keep their N-last strides)."""
    launch = CONV_LAUNCHER(*args, **kwargs)

    def call(*a, **k):
        u, delta, B, C = launch(*a, **k)
        return u, delta, B.float(), C.float()

    return call


def use(tile):
    fields = parse(tile)
    fp32_bc = bool(fields and fields.pop('fp32_bc', False))
    bimamba.conv1d_silu_proj_launcher = (fp32_bc_launcher if fp32_bc
                                         else CONV_LAUNCHER)
    fields = fields or None

    def config(*args, **kwargs):
        cfg = DEFAULT(*args, **kwargs)
        backward = kwargs.get('backward', args[3] if len(args) > 3 else 0)
        if (fields is None or backward or kwargs.get('save_states', True)
                or not cfg.block_t):
            return cfg
        return cfg._replace(**fields)

    tk.default_config = config


def _kind(name):
    return ('pre-pass' if 'seg_kernel' in name else
            'main' if 'tmajor_kernel' in name else 'rest')


def kernel_split(call):
    """The call's output and its kernel ms per call (10 calls after 3)
    split into main / pre-pass / rest; no timing on CPU."""
    if CPU:
        return call(), defaultdict(float)
    y = call()
    return y, defaultdict(float, kernel_ms_by(call, 10, 3, _kind))


for spec in os.environ.get('SHAPES', '96x1' if CPU else
                           '1248x8,2048x8').split(','):
    res, batch = map(int, spec.split('x'))
    seqlen = (res // 16)**2 + 1
    torch.manual_seed(0)
    width = 16 if CPU else 192
    mixer = BiMamba(width, scan_backend='triton').to(DEVICE).eval()
    with torch.no_grad():
        for p in mixer.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    xz = torch.randn(batch, seqlen, 4 * width, device=DEVICE,
                     dtype=torch.bfloat16)
    ref = None
    for tile in TILES:
        use(tile)
        # BiMamba keeps its launchers (and so their configuration) with
        # the cached inference parameters: make them anew for this tile
        mixer.__dict__.pop('_param_cache', None)

        def call():
            with torch.inference_mode(), torch.autocast(DEVICE,
                                                        torch.bfloat16):
                return mixer.forward_core(xz)

        try:
            y, per = kernel_split(call)
        except Exception as exc:  # noqa: BLE001 - report, go on
            print(f'{tile:14s} {res}² b{batch}: {type(exc).__name__}: '
                  f'{str(exc)[:200]}', flush=True)
            continue
        if ref is None:
            ref = y.float()
        diff = ((y.float() - ref).abs().max() / ref.abs().max()).item()
        print(f'{tile:14s} {res}² b{batch}: {sum(per.values()):.4f} ms/call'
              f' (main {per["main"]:.4f}, pre-pass {per["pre-pass"]:.4f}, '
              f'rest {per["rest"]:.4f}); rel diff vs def {diff:.1e}',
              flush=True)
    if not CPU:
        torch.cuda.empty_cache()
sys.exit(0)
