"""callB (2026-12-06, fifth part): one decay in N on the FMA pipe
(``ScanConfig.exp_fma`` for the main kernel, ``pre_exp_fma`` for the
pre-pass) in the split (batch-8) inference scan.

Part 1: kernel ms per call of the time-major forward (pre-pass + main) in
Vim's layouts and both directions' forms (forward: ungated; reverse: gated
sum onto the forward's output), variants (pre_exp_fma, exp_fma), the list
then the list reversed, outputs against (0, 0).
Part 3 (run before part 2): the batch-64 one-launch scan
(``BidirFwdLaunch``, delta formed from dt_proj's input) with ``exp_fma``
0 / 16 / 8 at 2048² and 1248² b64, ABBA.
Part 2: Vim-Ti under CUDA graphs (wall ms per batch) with default_config
giving the best variant of part 1 on the split tile, against today's, in
the order base, new, new, base; DeiT-Ti SDPA once.

Ran against commit 86fffd1 (``ScanConfig.exp_fma`` / ``pre_exp_fma``,
``BidirFwdLaunch(exp_fma=...)``), reverted after this call for no gain:
on today's tree it no longer runs (``benchmarks/NOTES.md``, 2026-12-06,
fifth part, callB).

Usage: python benchmarks/session_1206e_h100/exp_fma_bench.py
"""
import math
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1206e_h100')
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

DEV = 'cuda'
VARIANTS = [(0, 0), (16, 0), (8, 0), (4, 0), (0, 16), (0, 8), (8, 16),
            (4, 16)]
SHAPES = [('1248² b8', 8, 6085), ('2048² b8', 8, 16385),
          ('1024² b1', 1, 4097)]


def inputs(batch, seqlen, dim=384, n=16):
    g = torch.Generator(device='cpu').manual_seed(0)

    def cl(scale=1.0):  # channel-last (B, L, E) bf16 as (B, E, L) views
        return (torch.randn(batch, seqlen, dim, generator=g) * scale).to(
            DEV, torch.bfloat16).transpose(1, 2)

    u, z = cl(), cl()
    lo, hi = math.log(1e-3), math.log(1e-1)
    delta = torch.exp(lo + (hi - lo) * torch.rand(
        batch, seqlen, dim, generator=g)).to(DEV, torch.bfloat16)
    delta = delta.transpose(1, 2)
    A = -(torch.arange(1, n + 1).float()[None, :]
          * (0.8 + 0.4 * torch.rand(dim, 1, generator=g))).to(DEV)
    B = torch.randn(batch, seqlen, n, generator=g).to(DEV)
    C = torch.randn(batch, seqlen, n, generator=g).to(DEV)
    B, C = B.transpose(1, 2)[:, None], C.transpose(1, 2)[:, None]
    D = torch.ones(dim, device=DEV)
    base = cl()
    return u, delta, A, B, C, D, z, base


def kernel_part():
    best = {}
    for name, batch, seqlen in SHAPES:
        u, delta, A, B, C, D, z, base = inputs(batch, seqlen)
        cfg0 = tk.default_config(seqlen, 16, 384, backward=False,
                                 save_states=False, n_rows=batch * 384,
                                 itemsize=2, bc_itemsize=4)
        print(f'== {name}: {cfg0}', flush=True)
        calls = {}
        for var in VARIANTS:
            cfg = cfg0._replace(pre_exp_fma=var[0], exp_fma=var[1])
            for rev in (False, True):
                out = base.clone() if rev else torch.empty_like(base)
                zz = z if rev else None
                ln = tk.TmajorFwdLaunch(
                    u, delta, A, B, C, D, zz, None, False, False, cfg, rev,
                    out, 0.5 if rev else 1.0, rev, rev)
                calls[var, rev] = (ln, out, zz)
        ref = {}
        times = {k: [] for k in calls}
        for order in (VARIANTS, VARIANTS[::-1]):
            for var in order:
                for rev in (False, True):
                    ln, out, zz = calls[var, rev]

                    def fn(ln=ln, out=out, zz=zz):
                        ln(u, delta, A, B, C, D, zz, None, out)
                    for _ in range(3):
                        fn()
                    torch.cuda.synchronize()
                    ev = [torch.cuda.Event(enable_timing=True)
                          for _ in range(31)]
                    ev[0].record()
                    for i in range(30):
                        fn()
                        ev[i + 1].record()
                    torch.cuda.synchronize()
                    times[var, rev].append(statistics.median(
                        a.elapsed_time(b) for a, b in zip(ev, ev[1:])))
        # outputs: one fresh call each (reverse accumulates onto base)
        for var in VARIANTS:
            for rev in (False, True):
                ln, out, zz = calls[var, rev]
                if rev:
                    out.copy_(base)
                last, _ = ln(u, delta, A, B, C, D, zz, None, out)
                if var == (0, 0):
                    ref[rev] = (out.float().clone(), last.clone())
        tot = {}
        for var in VARIANTS:
            row = []
            for rev in (False, True):
                ln, out, zz = calls[var, rev]
                o0, l0 = ref[rev]
                if rev:
                    out.copy_(base)
                last, _ = ln(u, delta, A, B, C, D, zz, None, out)
                d_o = ((out.float() - o0).abs().max()
                       / o0.abs().max()).item()
                d_l = ((last - l0).abs().max() / l0.abs().max()).item()
                t = times[var, rev]
                row.append(f'{t[0]:.4f} / {t[1]:.4f} (out {d_o:.1e}, '
                           f'last {d_l:.1e})')
            tot[var] = sum(sum(times[var, r]) / 2 for r in (False, True))
            print(f'pre {var[0]:2d} main {var[1]:2d}: fwd {row[0]}; '
                  f'rev {row[1]}; sum {tot[var]:.4f}', flush=True)
        best[name] = min(tot, key=tot.get)
        print(f'best {best[name]} ({tot[best[name]]:.4f} against '
              f'{tot[0, 0]:.4f})', flush=True)
    return best


def e2e_part(var):
    import streams_probe as sp
    orig = tk.default_config

    def patched(*a, **k):
        cfg = orig(*a, **k)
        if cfg.n_seg > 1 and cfg.pre_td_first:
            cfg = cfg._replace(pre_exp_fma=var[0], exp_fma=var[1])
        return cfg

    for res, batch in ((1248, 8), (2048, 8)):
        for label in ('base', 'new', 'new', 'base'):
            tk.default_config = patched if label == 'new' else orig
            try:
                sp.run(f'{label} {var}', 'vim-tiny', res, batch)
            finally:
                tk.default_config = orig
        sp.run('deit-sdpa', 'deit-tiny-sdpa', res, batch, reps=5)


def bidir_part():
    from mmmamba.ops.selective_scan import triton_bidir as tb
    for name, batch, seqlen in (('2048² b64', 64, 16385),
                                ('1248² b64', 64, 6085)):
        g = torch.Generator(device='cpu').manual_seed(0)
        e, n, r = 384, 16, 16
        u = torch.randn(2, batch, seqlen, e, generator=g).to(
            DEV, torch.bfloat16)
        dtl = torch.randn(2, batch, seqlen, r, generator=g) * 0.5
        dtl[..., 12:] = 0
        dtl = dtl.to(DEV)
        W = (torch.randn(2, e, r, generator=g) * 0.2)
        W[..., 12:] = 0
        W = W.to(DEV)
        bias = torch.full((2, e), -4.6).to(DEV)
        A = -(torch.arange(1, n + 1).float()[None, None, :]
              * (0.8 + 0.4 * torch.rand(2, e, 1, generator=g))).to(DEV)
        B = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
        C = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
        D = torch.ones(2, e, device=DEV)
        xz = torch.randn(batch, seqlen, 2 * e, generator=g).to(
            DEV, torch.bfloat16)
        z, out = xz[..., e:], xz[..., :e]
        launches = {k: tb.BidirFwdLaunch(u, dtl, A, B, C, D, z, out, 0.5,
                                         W, bias, exp_fma=k)
                    for k in (0, 16, 8)}
        times = {k: [] for k in launches}
        for order in ((0, 16, 8), (8, 16, 0)):
            for k in order:
                def fn(k=k):
                    launches[k](u, dtl, A, B, C, D, z, out, W, bias)
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
        for k in launches:
            launches[k](u, dtl, A, B, C, D, z, out, W, bias)
            outs[k] = out.float().clone()
        for k in launches:
            d = ((outs[k] - outs[0]).abs().max()
                 / outs[0].abs().max()).item()
            print(f'bidir {name} exp_fma {k:2d}: {times[k][0]:.4f} / '
                  f'{times[k][1]:.4f} ms (out {d:.1e})', flush=True)
        torch.cuda.empty_cache()


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    best = kernel_part()
    bidir_part()
    var = best['1248² b8']
    if var == (0, 0):
        var = (8, 16)
    print(f'== e2e with {var}', flush=True)
    e2e_part(var)


if __name__ == '__main__':
    main()
