"""callC (2026-12-06, fifth part): how the batch-64 one-launch scan's
throughput scales with the warps resident per SM.

The kernel runs one 2-warp program per (batch element, 32 channels): 12
programs per batch element at Vim-Ti's 384 channels. Under its 128
registers an SM holds 16 warps (8 programs); batch 64 gives 768 programs,
11.6 warps per SM. Timing the same kernel at batches 16 to 88 (88: 1056
programs, exactly 8 per SM) at L = 16385 shows whether more resident warps
raise the state updates per second (latency-bound: they would) before
anyone builds a tile with more warps (a channel's states over two lanes).

Usage: python benchmarks/session_1206e_h100/bidir_warps_probe.py
"""
import statistics

import torch

from mmmamba.ops.selective_scan import triton_bidir as tb

DEV = 'cuda'


def run(batch, seqlen=16385, e=384, n=16, r=16):
    g = torch.Generator(device='cpu').manual_seed(0)
    u = torch.randn(2, batch, seqlen, e, generator=g).to(DEV, torch.bfloat16)
    dtl = torch.randn(2, batch, seqlen, r, generator=g) * 0.5
    dtl[..., 12:] = 0
    dtl = dtl.to(DEV)
    W = torch.randn(2, e, r, generator=g) * 0.2
    W[..., 12:] = 0
    W = W.to(DEV)
    bias = torch.full((2, e), -4.6).to(DEV)
    A = -(torch.arange(1, n + 1).float()[None, None, :]
          * (0.8 + 0.4 * torch.rand(2, e, 1, generator=g))).to(DEV)
    B = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
    C = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
    D = torch.ones(2, e, device=DEV)
    xz = torch.randn(batch, seqlen, 2 * e, generator=g).to(DEV,
                                                          torch.bfloat16)
    z, out = xz[..., e:], xz[..., :e]
    launch = tb.BidirFwdLaunch(u, dtl, A, B, C, D, z, out, 0.5, W, bias)

    def fn():
        launch(u, dtl, A, B, C, D, z, out, W, bias)
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(11)]
    ev[0].record()
    for i in range(10):
        fn()
        ev[i + 1].record()
    torch.cuda.synchronize()
    ms = statistics.median(a.elapsed_time(b) for a, b in zip(ev, ev[1:]))
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    progs = batch * e // tb.BIDIR_BLOCK_D
    updates = 2 * batch * seqlen * e * n
    print(f'batch {batch:3d}: {progs:5d} programs, {2 * progs / sms:5.1f} '
          f'warps per SM asked, {ms:8.4f} ms, '
          f'{updates / ms / 1e9:6.3f} T updates/s, '
          f'{ms / batch * 64:8.4f} ms per 64 samples', flush=True)


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    for batch in (16, 32, 48, 64, 72, 80, 88, 64, 96, 128):
        run(batch)


if __name__ == '__main__':
    main()
