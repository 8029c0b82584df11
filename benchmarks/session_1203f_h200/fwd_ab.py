"""Time-major scan forward with the split's pre-pass prefetching (chunk
c+1's loads during chunk c's math) against HEAD's (3ba1cd8, as
``head_kernels.py``), both at their default configurations (the same:
only the pre-pass changed), bf16 Vim layout, d=384, N=16. Kernel time
(queued CUDA events, median of ``REPEATS``) and the largest difference of
the output and last state from HEAD's, relative to HEAD's max."""
import itertools
import os
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, os.path.dirname(__file__))
from benchmark_scan import time_cuda  # noqa: E402

import head_kernels as hk  # noqa: E402
from bwd_ab import make  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

REPEATS = int(os.environ.get('REPEATS', 30))
SHAPES = [(8, 6085), (8, 16385), (128, 197), (64, 6085)]


def main():
    for (b, L), save in itertools.product(SHAPES, (False, True)):
        u, delta, A, B, C, D, z, bias, _ = make(b, L, torch.bfloat16)
        runs = {}
        for name, mod in (('HEAD', hk), ('new', tk)):
            cfg = mod.default_config(L, 16, 384, backward=False,
                                     save_states=save, n_rows=b * 384)

            def run(mod=mod, cfg=cfg):
                return mod.selective_scan_fwd(u, delta, A, B, C, D, z, bias,
                                              True, save, config=cfg)

            out, last, _, _ = run()
            runs[name] = (time_cuda(run, REPEATS, queued=True), cfg,
                          out.float(), last)
        (h_ms, h_cfg, h_out, h_last), (n_ms, n_cfg, n_out, n_last) = (
            runs['HEAD'], runs['new'])
        err = ((n_out - h_out).abs().max() / h_out.abs().max()).item()
        err_last = ((n_last - h_last).abs().max()
                    / h_last.abs().max()).item()
        print(f'{b}x{L} {"train" if save else "infer"}: HEAD {h_ms:.4f} ms '
              f'-> new {n_ms:.4f} ms (d{n_cfg.block_d} t{n_cfg.block_t} '
              f's{n_cfg.n_seg}; HEAD d{h_cfg.block_d} s{h_cfg.n_seg}), '
              f'{h_ms / n_ms:.3f}x; max rel diff out {err:.1e}, last '
              f'{err_last:.1e}', flush=True)


if __name__ == '__main__':
    main()
