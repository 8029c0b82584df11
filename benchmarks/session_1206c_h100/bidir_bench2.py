"""callB (2026-12-06, third part): Vim-Ti's inference mixer core at batch
64 by kernel, the tree's two-launch path against the one-launch scan with
delta formed in the kernel (``dt_proj_weight``) and with delta stored
(callA's), and the conv + projection kernel with and without ``dt_low``.
Kernel ms per mixer core (both directions) from CUDA events over 20 calls
after 3 warm-up calls, each row timed twice (ABBA order); max |diff| of
each scan against the two launches on the same u, B, C and the delta the
plain conv kernel made.

Usage: python benchmarks/session_1206c_h100/bidir_bench2.py
"""
import torch

from mmmamba.ops.conv_proj import conv1d_silu_proj_launcher, dt_low_width
from mmmamba.ops.selective_scan import selective_scan_into_launcher
from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch

E, N, R, K = 384, 16, 12, 4
SHAPES = [(64, 197, 'L 197 b64'), (64, 6085, '1248² b64'),
          (64, 16385, '2048² b64')]
LOW = [(4, 4, 0), (4, 3, 0), (4, 4, 128), (8, 4, 168)]


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


def weights(g):
    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, device='cuda')
                * scale).to(torch.bfloat16)
    return [dict(taps=rnd(K, E, scale=0.5).t(), bias=rnd(E),
                 wx=rnd(R + 2 * N, E, scale=E**-0.5),
                 wdt=rnd(E, R, scale=R**-0.5),
                 dtb=(torch.rand(E, generator=g, device='cuda') * 4 - 6),
                 A=-torch.rand(E, N, generator=g, device='cuda') - 0.5,
                 D=torch.randn(E, generator=g, device='cuda'))
            for _ in (0, 1)]


def main():
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
    print('| shape | kernels | ms (1st) | ms (2nd) | max abs diff |')
    print('|---|---|---|---|---|')
    g = torch.Generator(device='cuda').manual_seed(0)
    ws = weights(g)
    for batch, seqlen, name in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, generator=g,
                         device='cuda').to(torch.bfloat16)
        x, z = xz[..., :E], xz[..., E:]
        plain = [conv1d_silu_proj_launcher(
            x, w['taps'], w['bias'], w['wx'], w['wdt'], dt_rank=R,
            d_state=N, reverse=bool(r), delta_bias=w['dtb'],
            delta_softplus=True, bc_fp32=True) for r, w in enumerate(ws)]
        low = [conv1d_silu_proj_launcher(
            x, w['taps'], w['bias'], w['wx'], w['wdt'], dt_rank=R,
            d_state=N, reverse=bool(r), bc_fp32=True, dt_low=True)
            for r, w in enumerate(ws)]
        P = dt_low_width(R)
        ue = x.new_empty(2, batch, seqlen, E)
        de = x.new_empty(2, batch, seqlen, E)
        dl = x.new_empty(2, batch, seqlen, P, dtype=torch.float32)
        bn = x.new_empty(2, batch, seqlen, N, dtype=torch.float32)
        cn = torch.empty_like(bn)

        def conv_plain():
            for r, w in enumerate(ws):
                plain[r](x, w['taps'], w['bias'], w['wx'], w['wdt'],
                         w['dtb'], outs=(ue[r], de[r], bn[r], cn[r]))

        def conv_low():
            for r, w in enumerate(ws):
                low[r](x, w['taps'], w['bias'], w['wx'], w['wdt'],
                       outs=(ue[r], dl[r], bn[r], cn[r]))

        conv_low()
        conv_plain()  # u, B, C the same; de from the plain kernel
        A2 = torch.stack([w['A'] for w in ws])
        D2 = torch.stack([w['D'] for w in ws])
        W2 = torch.nn.functional.pad(
            torch.stack([w['wdt'] for w in ws]).float(), (0, P - R))
        b2 = torch.stack([w['dtb'] for w in ws]).float()
        y = torch.empty_like(x)
        two = []
        for r in (0, 1):
            args = (y.transpose(1, 2), ue[r].transpose(1, 2),
                    de[r].transpose(1, 2), A2[r], bn[r].transpose(1, 2),
                    cn[r].transpose(1, 2), D2[r],
                    z.transpose(1, 2) if r else None)
            two.append((selective_scan_into_launcher(
                *args, reverse=bool(r), out_scale=0.5 if r else 1.0,
                accumulate=bool(r), gate_sum=bool(r)), args))

        def two_launches():
            for launch, args in two:
                launch(*args)
            return y

        want = two_launches().clone()
        out = torch.empty_like(x)
        rows = [('conv+proj x2, delta stored', conv_plain, None),
                ('conv+proj x2, dt_low', conv_low, None),
                ('scan: two launches', two_launches, two_launches)]
        stored = BidirFwdLaunch(ue, de, A2, bn, cn, D2, z, out, 0.5,
                                block_t=4, stages=4, maxnreg=0)

        def one_stored():
            return stored(ue, de, A2, bn, cn, D2, z, out)

        rows.append(('scan: one launch, delta stored, t4 s4', one_stored,
                     one_stored))
        for block_t, stages, cap in LOW:
            launch = BidirFwdLaunch(ue, dl, A2, bn, cn, D2, z, out, 0.5,
                                    W2, b2, block_t=block_t, stages=stages,
                                    maxnreg=cap)

            def one_low(launch=launch):
                return launch(ue, dl, A2, bn, cn, D2, z, out, W2, b2)

            rows.append((f'scan: one launch, delta in kernel, t{block_t} '
                         f's{stages} cap{cap}', one_low, one_low))
        first = {label: time_ms(fn) for label, fn, _ in rows}
        for label, fn, check in reversed(rows):
            second = time_ms(fn)
            diff = '-'
            if check is not None:
                diff = f'{(check().float() - want.float()).abs().max():.3g}'
            print(f'| {name} | {label} | {first[label]:.3f} | {second:.3f} '
                  f'| {diff} |', flush=True)
        torch.cuda.empty_cache()


if __name__ == '__main__':
    main()
