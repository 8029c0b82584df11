"""Time-major scan backward: the session's start (HEAD, 3ba1cd8, as
``head_kernels.py``) against the working tree, bf16 and fp32 u/delta/z/
grad in Vim's layout (channel-last; z the second half of a (B, L, 2E)
tensor), d=384, N=16, delta bias + softplus, D and z: Vim-Ti's scan.

Both backwards read the states of one forward (the tree's, saving states
every 8 steps). Per shape and dtype: HEAD's default config, the tree's
default, then the tree's kernel over channels per program and register
caps (``maxnreg``, bf16 only) and, at small batch, sequence segments (``n_seg``: an
adjoint pre-pass joins them); ``QUICK=1``: bf16 only, the default and 8
channels at a few segment counts. Kernel time: queued CUDA events, median of
``REPEATS``. Each line gives the largest difference of every gradient
from HEAD's, relative to HEAD's max |grad|."""
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
QUICK = bool(os.environ.get('QUICK'))  # bf16, the default's neighbours
SHAPES = [(128, 197), (8, 6085), (64, 6085), (8, 16385)]
if os.environ.get('SHAPES'):
    SHAPES = [tuple(int(v) for v in s.split('x'))
              for s in os.environ['SHAPES'].split(',')]
NAMES = ('du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'dz', 'dbias')


def make(b, L, dtype, d=384, N=16, seed=0):
    g = torch.Generator(device='cuda').manual_seed(seed)
    xz = torch.randn(b, L, 2 * d, device='cuda', generator=g).to(dtype)
    u = xz[..., :d].transpose(1, 2)
    z = xz[..., d:].transpose(1, 2)
    delta = (torch.randn(b, L, d, device='cuda', generator=g) * 0.5 - 1).to(
        dtype).transpose(1, 2)
    A = -torch.exp(torch.randn(d, N, device='cuda', generator=g) * 0.5 + 1)
    B = torch.randn(b, 1, N, L, device='cuda', generator=g).to(dtype)
    C = torch.randn(b, 1, N, L, device='cuda', generator=g).to(dtype)
    D = torch.ones(d, device='cuda')
    bias = torch.randn(d, device='cuda', generator=g) * 0.1
    gout = torch.randn(b, L, d, device='cuda', generator=g).to(
        dtype).transpose(1, 2)
    return u, delta, A, B, C, D, z, bias, gout


def main():
    dtypes = (torch.bfloat16, ) if QUICK else (torch.bfloat16, torch.float32)
    for (b, L), dtype in itertools.product(SHAPES, dtypes):
        dt_name = 'bf16' if dtype == torch.bfloat16 else 'fp32'
        u, delta, A, B, C, D, z, bias, gout = make(b, L, dtype)
        _, _, states, fcfg = tk.selective_scan_fwd(u, delta, A, B, C, D, z,
                                                   bias, True, True)

        def bwd(mod, cfg):
            return mod.selective_scan_bwd(u, delta, A, B, C, D, z, bias, True,
                                          states, fcfg.block_l, gout,
                                          config=cfg)

        head_cfg = hk.default_config(L, 16, 384, backward=True,
                                     n_rows=b * 384, block_l=fcfg.block_l)
        ref = [None if t is None else t.float() for t in bwd(hk, head_cfg)]
        scale = [None if t is None else t.abs().max().item() for t in ref]
        head_ms = time_cuda(lambda: bwd(hk, head_cfg), REPEATS, queued=True)
        print(f'{b}x{L} {dt_name} HEAD d{head_cfg.block_d} '
              f't{head_cfg.block_t}: {head_ms:.4f} ms', flush=True)
        new_cfg = tk.default_config(L, 16, 384, backward=True,
                                    n_rows=b * 384, block_l=fcfg.block_l)
        # channels per program x register cap x backward segments (split
        # only where fewer than 4096 programs run)
        segs = (1, 2, 4, 8, 16) if b * 384 // 4 < 4096 else (1, )
        variants = [('default', new_cfg)] + [
            (f'd{bd} r{nreg} s{ns}',
             tk.ScanConfig(bd, 8, 1, prefetch=True, block_t=8,
                           maxnreg=nreg, n_seg=ns))
            for bd, nreg, ns in itertools.product(
                (4, 8), (0, 128, 168) if dtype == torch.bfloat16 else (0, ),
                segs)]
        if QUICK:  # 8 channels, segment counts around the default's
            segs = (1, 4, 8, 16, 32) if b * 384 // 8 < 1024 else (1, )
            variants = [('default', new_cfg)] + [
                (f'd8 r0 s{ns}', tk.ScanConfig(8, 8, 1, prefetch=True,
                                               block_t=8, n_seg=ns))
                for ns in segs]
        for name, cfg in variants:
            try:
                got = bwd(tk, cfg)
                errs = []
                for n, g_, r, s in zip(NAMES, got, ref, scale):
                    if r is not None:
                        errs.append(f'{n} {(g_.float() - r).abs().max().item() / max(s, 1e-30):.0e}')  # noqa: E501
                ms = time_cuda(lambda: bwd(tk, cfg), REPEATS, queued=True)
            except Exception as e:  # noqa: BLE001 (report and go on)
                print(f'  {name}: failed: {type(e).__name__}: {e}',
                      flush=True)
                continue
            print(f'  {name} (d{cfg.block_d} t{cfg.block_t} '
                  f'r{cfg.maxnreg} s{cfg.n_seg}): {ms:.4f} ms, {head_ms / ms:.2f}x; '
                  f'max rel diff {", ".join(errs)}', flush=True)


if __name__ == '__main__':
    main()
