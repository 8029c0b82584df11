"""The new time-major forward defaults against HEAD's (557ee91), kernel
time and output difference, bf16 Vim layout (sweep_fwd.py's inputs), output
allocated by the launcher (no accumulate). callA's sweep passed an
uninitialised ``out``, so its kernels accumulated onto it: its times are
those of the accumulating epilogue (the reverse direction of each layer)
and its differences meaningless; this script checks the outputs."""
import itertools
import os
import sys

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, os.path.dirname(__file__))
from benchmark_scan import time_cuda  # noqa: E402

import head_kernels as hk  # noqa: E402
from sweep_fwd import SHAPES, make  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

for (b, L), save in itertools.product(SHAPES, (False, True)):
    u, delta, A, B, C, D, z, bias = make(b, L)
    runs = {}
    for name, mod in (('HEAD', hk), ('new', tk)):
        cfg = mod.default_config(L, 16, 384, backward=False,
                                 save_states=save, n_rows=b * 384)

        def run(mod=mod, cfg=cfg):
            return mod.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True,
                                          save, config=cfg)

        out, last, states, _ = run()
        ms = time_cuda(run, 30, queued=True)
        runs[name] = (ms, cfg, out.float(), last)
    (h_ms, h_cfg, h_out, h_last), (n_ms, n_cfg, n_out, n_last) = (
        runs['HEAD'], runs['new'])
    err = ((n_out - h_out).abs().max() / h_out.abs().max()).item()
    err_last = ((n_last - h_last).abs().max() / h_last.abs().max()).item()
    print(f'{b}x{L} {"train" if save else "infer"}: HEAD {h_ms:.4f} ms '
          f'(d{h_cfg.block_d} t{h_cfg.block_t} s{h_cfg.n_seg}) -> new '
          f'{n_ms:.4f} ms (d{n_cfg.block_d} t{n_cfg.block_t} s{n_cfg.n_seg}'
          f' pf{int(n_cfg.prefetch)}), {h_ms / n_ms:.2f}x; max rel diff out '
          f'{err:.1e}, last state {err_last:.1e}', flush=True)
