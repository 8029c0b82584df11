"""callA (2026-12-06, third part): Vim-Ti's two inference scans at batch
64, the tree's two launches (forward writes y_f, reverse adds y_b and
gates) against the one-launch kernel (``triton_bidir``) at several tiles.
Kernel ms per mixer core (both directions) from CUDA events over 20 calls
after 3 warm-up calls, each variant timed twice (ABBA order); max |diff|
of each variant against the two launches.

Usage: python benchmarks/session_1206c_h100/bidir_bench.py
"""
import torch

from mmmamba.ops.selective_scan import selective_scan_into_launcher
from mmmamba.ops.selective_scan.triton_bidir import BidirFwdLaunch

E, N = 384, 16
SHAPES = [(64, 197, '224² b128/2'), (64, 6085, '1248² b64'),
          (64, 16385, '2048² b64')]
VARIANTS = [  # (block_t, stages, maxnreg)
    (4, 3, 128), (4, 4, 128), (4, 2, 128), (2, 3, 128), (8, 3, 168),
    (4, 3, 0)]


def inputs(batch, seqlen):
    g = torch.Generator(device='cuda').manual_seed(0)

    def rnd(*shape, dtype=torch.bfloat16):
        return torch.randn(*shape, generator=g, device='cuda').to(dtype)

    u = rnd(2, batch, seqlen, E)
    delta = (torch.rand(2, batch, seqlen, E, generator=g, device='cuda')
             * 0.1 + 0.001).to(torch.bfloat16)
    A = -torch.rand(2, E, N, generator=g, device='cuda') - 0.5
    B = rnd(2, batch, seqlen, N, dtype=torch.float32)
    C = rnd(2, batch, seqlen, N, dtype=torch.float32)
    D = rnd(2, E, dtype=torch.float32)
    xz = rnd(batch, seqlen, 2 * E)
    return u, delta, A, B, C, D, xz


def two_launches(u, delta, A, B, C, D, xz):
    z = xz[..., E:]
    y = torch.empty_like(xz[..., :E])
    launches = []
    for r in (0, 1):
        args = (y.transpose(1, 2), u[r].transpose(1, 2),
                delta[r].transpose(1, 2), A[r], B[r].transpose(1, 2),
                C[r].transpose(1, 2), D[r],
                z.transpose(1, 2) if r else None)
        launch = selective_scan_into_launcher(
            *args, reverse=bool(r), out_scale=0.5 if r else 1.0,
            accumulate=bool(r), gate_sum=bool(r))
        assert launch is not None
        launches.append((launch, args))

    def run():
        for launch, args in launches:
            launch(*args)
        return y
    return run


def one_launch(u, delta, A, B, C, D, xz, cfg):
    z, out = xz[..., E:], torch.empty_like(xz[..., :E])
    block_t, stages, maxnreg = cfg
    launch = BidirFwdLaunch(u, delta, A, B, C, D, z, out, 0.5,
                            block_t=block_t, stages=stages, maxnreg=maxnreg)
    return lambda: launch(u, delta, A, B, C, D, z, out)


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
    print('| shape | variant | ms (1st) | ms (2nd) | max abs diff vs two '
          'launches |')
    print('|---|---|---|---|---|')
    for batch, seqlen, name in SHAPES:
        ins = inputs(batch, seqlen)
        ref = two_launches(*ins)
        want = ref().clone()
        fns = [('two launches', ref)] + [
            (f't{c[0]} s{c[1]} cap{c[2]}', one_launch(*ins, c))
            for c in VARIANTS]
        first = {}
        for label, fn in fns:
            first[label] = time_ms(fn)
        for label, fn in reversed(fns):
            second = time_ms(fn)
            diff = (fn().float() - want.float()).abs().max().item()
            print(f'| {name} | {label} | {first[label]:.3f} | {second:.3f} '
                  f'| {diff:.3g} |', flush=True)
        del ins, fns, ref, want
        torch.cuda.empty_cache()


if __name__ == '__main__':
    main()
