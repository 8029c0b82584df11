"""The single-direction conv (Vim inference runs it once per direction and
layer) over forward launch configurations, at the inference shapes: x the
first half of a (B, L, 2E) bf16 tensor (as Vim's in_proj output), one
direction written. Kernel time, queued CUDA events, median of 30; GB/s
counts x read and u written once."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_conv1d import SWEEP_FWD  # noqa: E402
from benchmark_scan import time_cuda  # noqa: E402

from mmmamba.ops.causal_conv1d import triton_kernels as tk  # noqa: E402

for b, L in ((64, 6085), (8, 16385), (8, 6085)):
    E = 384
    xz = torch.randn(b, L, 2 * E, device='cuda').to(torch.bfloat16)
    x = xz[..., :E]
    w = torch.randn(E, 4, device='cuda').to(torch.bfloat16)
    bias = torch.randn(E, device='cuda').to(torch.bfloat16)
    want = tk.bidir_conv1d_fwd(x, w, bias, w, bias, directions='backward')[1]
    default = tk.default_config(False, L, E)
    n_bytes = 2 * b * L * E * 2
    rows = []
    for c in sorted(set(SWEEP_FWD) | {(4, 64, 1), (8, 128, 2), (16, 128, 2),
                                       (4, 256, 2), (8, 256, 4), (2, 128, 1),
                                       (16, 256, 8), (32, 256, 8)}):
        cfg = tk.Conv1dConfig(*c)
        got = tk.bidir_conv1d_fwd(x, w, bias, w, bias, config=cfg,
                                  directions='backward')[1]
        assert torch.equal(got, want), c
        ms = time_cuda(lambda: tk.bidir_conv1d_fwd(  # noqa: E731
            x, w, bias, w, bias, config=cfg, directions='backward'), 30,
            queued=True)
        rows.append((ms, c))
    print(f'{b}x{L}: default {tuple(default)[:3]}')
    for ms, c in sorted(rows):
        mark = ' (default)' if tk.Conv1dConfig(*c) == default else ''
        print(f'  {c}: {ms:.4f} ms, {n_bytes / ms / 1e6:.0f} GB/s{mark}',
              flush=True)
