"""callH (2026-12-06, fourth part): the one-launch scan with its in-thread
sums split in two independent halves (callG: the largest stall is
fixed-latency dependencies), as untracked copies of ``triton_bidir.py``
(``_tb_ysplit``: y's sum over the 16 states; ``_tb_both``: also dt_proj's
sum over the rank) against the tree's kernel, on the model's buffers
(layer 12 of ``VisionMamba(arch='tiny')``: its one-launch conv's outputs),
bf16, Vim-Ti batch 64. Kernel ms per call from CUDA events over 20 calls
after 3 warm-up calls, ABBA; max |diff| of the outputs against the tree's.

Usage: python benchmarks/session_1206d_h100/scan_split_bench.py
"""
import importlib

import torch

from mmmamba.models.backbones import VisionMamba
from mmmamba.ops.selective_scan import triton_bidir

MODS = {'tree': triton_bidir}
for name in ('_tb_ysplit', '_tb_both'):
    try:
        MODS[name] = importlib.import_module(
            f'mmmamba.ops.selective_scan.{name}')
    except ImportError as exc:
        print(f'{name}: {exc}')


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


def main():
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
    torch.manual_seed(0)
    mixer = VisionMamba(arch='tiny').cuda().eval().layers[12].mixer
    e = mixer.d_inner
    print('| shape | kernel | ms (1st) | ms (2nd) | max diff |')
    print('|---|---|---|---|---|')
    for batch, seqlen, name in ((64, 16385, '2048² b64'),
                                (64, 6085, '1248² b64')):
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
            for label, mod in MODS.items():
                out = torch.empty_like(x)
                launch = mod.BidirFwdLaunch(
                    bufs[0], bufs[1], st[0], bufs[2], bufs[3], st[1], z,
                    out, 0.5, dt_proj_weight=st[2], delta_bias=st[3])
                args = (bufs[0], bufs[1], st[0], bufs[2], bufs[3], st[1],
                        z, out, st[2], st[3])
                outs[label] = out
                runs.append((label, lambda la=launch, a=args: la(*a)))
            times = {}
            for label, fn in runs + runs[::-1]:
                times.setdefault(label, []).append(time_ms(fn))
            for label, ms in times.items():
                d = (outs[label].float() - outs['tree'].float()).abs().max()
                print(f'| {name} | {label} | {ms[0]:.4f} | {ms[1]:.4f} | '
                      f'{d.item():.3g} |')
        torch.cuda.empty_cache()


if __name__ == '__main__':
    main()
