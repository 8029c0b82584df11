"""callB (2026-12-07, fourth part): the one-launch scan
(``triton_bidir``) with what a chunk needs formed earlier in the loop
(``ahead``: 1 the steps one chunk ahead, 2 also the gate, 3 the steps
two chunks ahead), pipelining stages and register caps, on the model's
buffers (layer 12 of
``VisionMamba(arch='tiny')``, its one-launch conv's outputs), bf16,
Vim-Ti batch 64 at 2048² and 1248². Kernel ms per call from CUDA events
over 20 calls after 3 warm-up calls, the list and then the list
reversed; max |diff| of the output against the default's.

Part 2 (``--e2e OUT``): Vim-Ti under CUDA graphs at both shapes with the
default, the two variants of part 1 with the lowest summed time, and the
default again (``tools/analysis_tools/benchmark_backbone.py``; DeiT-Ti
SDPA in the first run).

Usage: python benchmarks/session_1207d/ahead_bench.py [--e2e OUT]
"""
import os.path as osp
import sys

import torch

from mmmamba.models.backbones import VisionMamba
from mmmamba.ops.selective_scan import triton_bidir as tb

# (label, stages, ahead, maxnreg[, block_t]); the first is the baseline
VARIANTS = [('a0', 4, 0, 0), ('a1', 4, 1, 0), ('a2', 4, 2, 0),
            ('a3 cap168', 4, 3, 168), ('a2 s3', 3, 2, 0),
            ('a1 cap128', 4, 1, 128), ('a2 cap168', 4, 2, 168)]
# (batch, L, label) of the timed shapes
SHAPES = ((64, 16385, '2048² b64'), (64, 6085, '1248² b64'))


def time_ms(fn, reps=20):
    for _ in range(3):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def kernels(shapes=SHAPES):
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
    # callB ran with the defaults of then (4 stages, no look-ahead, no cap)
    assert tb.BIDIR_STAGES == 4
    torch.manual_seed(0)
    mixer = VisionMamba(arch='tiny').cuda().eval().layers[12].mixer
    e = mixer.d_inner
    print('| shape | variant | ms (1st) | ms (2nd) | max diff |')
    print('|---|---|---|---|---|')
    total = {}
    for batch, seqlen, name in shapes:
        xz = torch.randn(batch, seqlen, 2 * e, device='cuda').to(
            torch.bfloat16) * 0.6
        x, z = xz[..., :e], xz[..., e:]
        with torch.inference_mode():
            state = mixer._inference_state(torch.bfloat16)
            launchers = mixer._bidir_launchers(xz, state)
            bufs = mixer._bidir_buffers(x)
            launchers.convs(x, state.params[0][1:], state.params[1][1:],
                            outs=bufs)
            st = state.stacked
            outs, runs = {}, []
            for label, stages, ahead, maxnreg, *block_t in VARIANTS:
                out = torch.empty_like(x)
                launch = tb.BidirFwdLaunch(
                    bufs[0], bufs[1], st[0], bufs[2], bufs[3], st[1], z,
                    out, 0.5, dt_proj_weight=st[2], delta_bias=st[3],
                    stages=stages, ahead=ahead, maxnreg=maxnreg,
                    block_t=block_t[0] if block_t else tb.BIDIR_BLOCK_T)
                args = (bufs[0], bufs[1], st[0], bufs[2], bufs[3], st[1],
                        z, out, st[2], st[3])
                outs[label] = out
                runs.append((label, lambda la=launch, a=args: la(*a)))
            times = {}
            for label, fn in runs + runs[::-1]:
                times.setdefault(label, []).append(time_ms(fn))
            base = outs[VARIANTS[0][0]].float()
            for label, ms in times.items():
                d = (outs[label].float() - base).abs().max()
                total[label] = total.get(label, 0.0) + sum(ms)
                print(f'| {name} | {label} | {ms[0]:.4f} | {ms[1]:.4f} | '
                      f'{d.item():.3g} |', flush=True)
        del xz, x, z, bufs, outs, runs
        torch.cuda.empty_cache()
    return total


def graphs_rounds(rounds, out_dir, resolutions=('2048', '1248'),
                  batch=64):
    """Vim-Ti under CUDA graphs (``benchmark_backbone.py``, bf16, 5
    warm-up and 15 timed batches) once per round, in order, DeiT-Ti SDPA
    in the first. ``rounds``: (header, subdir, apply) each; ``apply()``
    sets the module values the launches read when they are made, and the
    round's results go under ``out_dir/subdir``."""
    sys.path.insert(0, 'tools/analysis_tools')
    import benchmark_backbone as bb
    common = ['--precisions', 'bf16', '--warmup', '5', '--repeats', '15',
              '--cuda-graph', '--no-plot', '--batch-size', str(batch)]
    for i, (header, subdir, apply) in enumerate(rounds):
        apply()
        models = ['vim-tiny', 'deit-tiny-sdpa'] if i == 0 else ['vim-tiny']
        print(f'== {i} {header}', flush=True)
        bb.main(['--models', *models, '--resolutions', *resolutions,
                 *common, '--out-dir', osp.join(out_dir, subdir)])


def scan_schedule(stages, ahead, maxnreg, block_t=None):
    """A round's ``apply`` for :func:`graphs_rounds`: the one-launch
    scan's module values (``block_t`` None leaves the chunk size)."""
    def apply():
        tb.BIDIR_STAGES, tb.BIDIR_AHEAD = stages, ahead
        tb.BIDIR_MAXNREG = maxnreg
        if block_t is not None:
            tb.BIDIR_BLOCK_T = block_t
    return apply


def e2e(out_dir, total):
    best = sorted((t, label) for label, t in total.items()
                  if label != VARIANTS[0][0])[:2]
    picks = [VARIANTS[0]] + [v for _, lab in best for v in VARIANTS
                             if v[0] == lab] + [VARIANTS[0]]
    graphs_rounds([(label, f'{i}', scan_schedule(stages, ahead, maxnreg))
                   for i, (label, stages, ahead, maxnreg)
                   in enumerate(picks)], out_dir)


if __name__ == '__main__':
    total = kernels()
    if len(sys.argv) == 3 and sys.argv[1] == '--e2e':
        e2e(sys.argv[2], total)
