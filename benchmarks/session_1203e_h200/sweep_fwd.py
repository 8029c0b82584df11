"""Time-major scan forward: the committed kernel (HEAD, ``head_kernels.py``,
557ee91's triton_kernels.py as ``make_head_kernels.sh`` writes it) against this session's (A and the
segment states loaded as rows, so the loop-carried state needs no layout
conversion; optional prefetch of chunk c+1; B/C given in bf16 or fp32),
over tiles and segment counts. Vim-Ti shapes, bf16 u/delta/z/out in Vim's
layout (channel-last; z the second half of a (B, L, 2E) tensor), d=384,
N=16. Kernel time: queued CUDA events, median of ``REPEATS``.

Prints one line per (shape, mode, variant): ms, and the largest relative
difference of the output from HEAD's."""
import itertools
import os
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, os.path.dirname(__file__))
from benchmark_scan import time_cuda  # noqa: E402

import head_kernels as hk  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

REPEATS = int(os.environ.get('REPEATS', 20))
SHAPES = [(128, 197), (8, 6085), (64, 6085), (8, 16385)]
if os.environ.get('SHAPES'):
    SHAPES = [tuple(int(v) for v in s.split('x'))
              for s in os.environ['SHAPES'].split(',')]


def make(b, L, d=384, N=16, seed=0):
    g = torch.Generator(device='cuda').manual_seed(seed)
    xz = torch.randn(b, L, 2 * d, device='cuda', generator=g).to(
        torch.bfloat16)
    u = xz[..., :d].transpose(1, 2)  # channel-last (B, E, L) view
    z = xz[..., d:].transpose(1, 2)
    delta = (torch.randn(b, L, d, device='cuda', generator=g) * 0.5 - 1).to(
        torch.bfloat16).transpose(1, 2)
    A = -torch.exp(torch.randn(d, N, device='cuda', generator=g) * 0.5 + 1)
    B = torch.randn(b, 1, N, L, device='cuda', generator=g).to(torch.bfloat16)
    C = torch.randn(b, 1, N, L, device='cuda', generator=g).to(torch.bfloat16)
    D = torch.ones(d, device='cuda')
    bias = torch.randn(d, device='cuda', generator=g) * 0.1
    return u, delta, A, B, C, D, z, bias


def main():
    torch.backends.cuda.matmul.allow_tf32 = True
    for (b, L), save in itertools.product(SHAPES, (False, True)):
        mode = 'train' if save else 'infer'
        u, delta, A, B, C, D, z, bias = make(b, L)
        out = torch.empty(b, L, 384, device='cuda',
                          dtype=torch.bfloat16).transpose(1, 2)
        head_cfg = hk.default_config(L, 16, 384, backward=False,
                                     save_states=save, n_rows=b * 384)

        def run_head():
            return hk.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True,
                                         save, config=head_cfg, out=out)

        ref = run_head()[0].float().clone()
        ms = time_cuda(run_head, REPEATS, queued=True)
        print(f'{b}x{L} {mode} HEAD d{head_cfg.block_d} t{head_cfg.block_t} '
              f's{head_cfg.n_seg} bc-bf16: {ms:.4f} ms', flush=True)
        n_rows = b * 384
        rows = []
        B32, C32 = B.float(), C.float()
        for bd, bt in ((16, 8), (32, 4)):
            # segment counts giving 256 to 8192 one-warp programs, with
            # segments of at least 128 steps
            n_prog = n_rows // bd
            segs = [ns for ns in (1, 2, 4, 8, 16, 32)
                    if 256 <= n_prog * ns <= 8192 and L // ns >= 128]
            for ns, pf, bc in itertools.product(segs, (False, True),
                                                ('bf16', 'fp32')):
                cfg = tk.ScanConfig(bd, 8, 1, prefetch=pf, block_t=bt,
                                    n_seg=ns)
                Bx, Cx = (B, C) if bc == 'bf16' else (B32, C32)

                def run():
                    return tk.selective_scan_fwd(u, delta, A, Bx, Cx, D, z,
                                                 bias, True, save,
                                                 config=cfg, out=out)

                try:
                    got = run()[0].float()
                    err = ((got - ref).abs().max()
                           / ref.abs().max()).item()
                    ms = time_cuda(run, REPEATS, queued=True)
                except Exception as exc:  # report, keep sweeping
                    print(f'  d{bd} t{bt} s{ns} pf{int(pf)} bc-{bc}: '
                          f'FAILED {type(exc).__name__}: {exc}', flush=True)
                    continue
                rows.append((ms, f'd{bd} t{bt} s{ns} pf{int(pf)} bc-{bc}',
                             err))
        for ms, name, err in sorted(rows):
            print(f'  {name}: {ms:.4f} ms (rel diff {err:.1e})', flush=True)


if __name__ == '__main__':
    main()
