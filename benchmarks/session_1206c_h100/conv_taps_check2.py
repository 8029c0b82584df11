"""callI (2026-12-06, third part): callH found contiguous (E, K) taps with
64-channel conv chunks faster than Vim's (K, E).t() taps with 32 at 2048²
b64 under dt_low. The same pair on the other inference paths: the kernel
with delta (bias, softplus; batch 8) at 1248² and 2048² b8, and dt_low at
1248² b64 and 224² b128. Kernel ms per call (torch.profiler), bf16.
"""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import kernel_ms_by  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

E, R, N, K = 384, 12, 16, 4
dev = torch.device('cuda')
torch.manual_seed(0)
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev).bfloat16() / E**0.5
wdt = torch.randn(E, R, device=dev).bfloat16() / R**0.5
dtb = torch.randn(E, device=dev) - 3.0
w_ek = torch.randn(E, K, device=dev).bfloat16()
w_ke = w_ek.t().contiguous().t()  # same values, Vim's layout
with torch.inference_mode():
    for name, batch, seqlen, low in (('1248² b8', 8, 6085, False),
                                     ('2048² b8', 8, 16385, False),
                                     ('1248² b64', 64, 6085, True),
                                     ('224² b128', 128, 197, True)):
        x = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()[..., :E]
        outs = {}
        for label, w, ec in (('(K, E).t() ec32', w_ke, 32),
                             ('(E, K) ec64', w_ek, 64)):
            cfg = tk.FWD_CONFIG._replace(block_ec=ec)
            kw = (dict(dt_low=True) if low else
                  dict(delta_bias=dtb, delta_softplus=True))

            def run(cfg=cfg, w=w, kw=kw, x=x):
                return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg,
                                        bc_fp32=True, **kw)

            outs[label] = run()
            t = sum(kernel_ms_by(run, 20, 3).values())
            print(f'{name}, {label}: {t:.4f} ms', flush=True)
        same = all(torch.equal(p, q) for p, q in zip(*outs.values()))
        print(f'{name}: outputs equal: {same}', flush=True)
