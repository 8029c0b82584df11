"""callD (2026-12-06, fifth part): dt_proj on the tensor cores in the
batch-64 one-launch scan (``DT_DOT``: dt_proj's input in bf16).

Part 1: ``BidirFwdLaunch`` kernel ms with dt_proj's input fp32 (FMAs,
today) and bf16 (the tensor cores) at 2048² and 1248² b64, ABBA, and the
outputs' difference.
Part 2: Vim-Ti under CUDA graphs (wall ms per batch, peak GiB) with
``bimamba.BIDIR_DT_DOT`` on and off: on, off, on, off; DeiT-Ti SDPA once.

Prepared in the fifth part of 2026-12-06 and not run there (the session's
device time went to machine starts that did not come); run in the sixth
part's callE against commit c595d74 (``benchmarks/session_1206f_h100/
callE/dt_dot.log``). DT_DOT was slower and was removed after it: this
script runs only at that commit.

Usage: python benchmarks/session_1206e_h100/dt_dot_bench.py
"""
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1206e_h100')
from mmmamba.models.layers import bimamba  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir as tb  # noqa: E402

DEV = 'cuda'


def kernel_part():
    for name, batch, seqlen in (('2048² b64', 64, 16385),
                                ('1248² b64', 64, 6085)):
        g = torch.Generator(device='cpu').manual_seed(0)
        e, n, r = 384, 16, 16
        u = torch.randn(2, batch, seqlen, e, generator=g).to(
            DEV, torch.bfloat16)
        dtl = torch.randn(2, batch, seqlen, r, generator=g) * 0.5
        dtl[..., 12:] = 0
        dtl = dtl.to(DEV, torch.bfloat16)
        W = (torch.randn(2, e, r, generator=g) * 0.2)
        W[..., 12:] = 0
        W = W.to(DEV).bfloat16().float()
        bias = torch.full((2, e), -4.6).to(DEV)
        A = -(torch.arange(1, n + 1).float()[None, None, :]
              * (0.8 + 0.4 * torch.rand(2, e, 1, generator=g))).to(DEV)
        B = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
        C = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
        D = torch.ones(2, e, device=DEV)
        xz = torch.randn(batch, seqlen, 2 * e, generator=g).to(
            DEV, torch.bfloat16)
        z, out = xz[..., e:], xz[..., :e]
        dts = {'fp32 (FMA)': dtl.float(), 'bf16 (dot)': dtl}
        launches = {k: tb.BidirFwdLaunch(u, d, A, B, C, D, z, out, 0.5, W,
                                         bias) for k, d in dts.items()}
        times = {k: [] for k in launches}
        keys = list(launches)
        for order in (keys, keys[::-1], keys, keys[::-1]):
            for k in order:
                def fn(k=k):
                    launches[k](u, dts[k], A, B, C, D, z, out, W, bias)
                for _ in range(2):
                    fn()
                torch.cuda.synchronize()
                ev = [torch.cuda.Event(enable_timing=True) for _ in range(11)]
                ev[0].record()
                for i in range(10):
                    fn()
                    ev[i + 1].record()
                torch.cuda.synchronize()
                times[k].append(statistics.median(
                    a.elapsed_time(b) for a, b in zip(ev, ev[1:])))
        outs = {}
        for k in keys:
            launches[k](u, dts[k], A, B, C, D, z, out, W, bias)
            outs[k] = out.float().clone()
        a, b = (outs[k] for k in keys)
        d = (a - b).abs()
        print(f'{name}: max |diff| {d.max().item():.3e} (max |out| '
              f'{a.abs().max().item():.3e}), {(d > 0).float().mean():.2e} '
              'of outputs differ', flush=True)
        for k in keys:
            print(f'  {k}: ' + ' / '.join(f'{t:.4f}' for t in times[k])
                  + ' ms', flush=True)


def e2e_part():
    import streams_probe as sp
    default = bimamba.BIDIR_DT_DOT
    for res in (2048, 1248):
        for on in (True, False, True, False):
            bimamba.BIDIR_DT_DOT = on
            try:
                sp.run(f'dt_dot {on}', 'vim-tiny', res, 64)
            finally:
                bimamba.BIDIR_DT_DOT = default
        sp.run('deit-sdpa', 'deit-tiny-sdpa', res, 64, reps=5)


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    kernel_part()
    torch.cuda.empty_cache()
    e2e_part()


if __name__ == '__main__':
    main()
