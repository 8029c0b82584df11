"""callH (2026-12-06, third part): why callG saw no gain from 64-channel
conv chunks. callE / callF timed the kernel with contiguous (E, K) taps;
Vim's core passes them as the transposed view of a contiguous (K, E)
tensor (BiMamba._inference_params). Kernel ms per call (torch.profiler),
bf16 Vim-Ti 2048² b64 forward direction, dt_low, both tap layouts,
block_ec 32 and 64.
"""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import kernel_ms_by  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

E, R, N, K = 384, 12, 16, 4
dev = torch.device('cuda')
torch.manual_seed(0)
xz = torch.randn(64, 16385, 2 * E, device=dev).bfloat16()
x = xz[..., :E]
taps = {'(E, K) contiguous': torch.randn(E, K, device=dev).bfloat16(),
        '(K, E).t() as Vim': torch.randn(K, E, device=dev).bfloat16().t()}
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev).bfloat16() / E**0.5
wdt = torch.randn(E, R, device=dev).bfloat16() / R**0.5
with torch.inference_mode():
    for name, w in taps.items():
        for ec in (32, 64):
            cfg = tk.FWD_CONFIG._replace(block_ec=ec)

            def run(cfg=cfg, w=w):
                return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg,
                                        bc_fp32=True, dt_low=True)

            t = sum(kernel_ms_by(run, 20, 3).values())
            print(f'{name}, block_ec {ec}: {t:.4f} ms', flush=True)
