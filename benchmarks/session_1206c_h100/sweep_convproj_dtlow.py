"""callE (2026-12-06, third part): the conv + projection kernel as Vim's
one-launch core calls it (``dt_low``: no third pass; fp32 B and C), bf16,
Vim-Ti (E = 384, R = 12, N = 16), forward direction: kernel ms per call
(torch.profiler's device time, ``benchmark_scan.kernel_ms_by``, 20 calls
after 3) per ConvProjConfig (block_l, block_e, num_warps, num_stages,
two_pass, block_ec, maxnreg, row_group), at the batch-64 shapes the
one-launch scan runs at; outputs compared with the default's ('!=' where
not bit for bit). The default was tuned with the third pass
(``session_1205g_h100/sweep_convproj.py``).

Usage: python benchmarks/session_1206c_h100/sweep_convproj_dtlow.py
"""
import sys

import torch
import triton

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import kernel_ms_by  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

E, R, N, K = 384, 12, 16, 4
SHAPES = (('2048² b64', 64, 16385), ('1248² b64', 64, 6085),
          ('224² b128', 128, 197))
C = tk.ConvProjConfig
configs = [tk.FWD_CONFIG]
for fields in ((64, 64, 2, 3, True, 32, 168, 4),
               (64, 64, 4, 2, True, 32, 168, 4),
               (64, 64, 4, 3, True, 32, 128, 4),
               (128, 64, 4, 2, True, 32, 168, 4),
               (128, 64, 4, 3, True, 32, 168, 4),
               (128, 64, 8, 2, True, 32, 168, 4),
               (64, 128, 4, 2, True, 32, 168, 4),
               (32, 64, 2, 2, True, 32, 168, 4),
               (64, 64, 2, 2, True, 16, 168, 4),
               (64, 64, 2, 2, True, 32, 168, 8),
               (64, 64, 2, 2, True, 64, 168, 4),
               (128, 64, 4, 2, True, 64, 168, 8)):
    configs.append(C(*fields))
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev).bfloat16() / E**0.5
wdt = torch.randn(E, R, device=dev).bfloat16() / R**0.5
print(f'device {torch.cuda.get_device_name()}, triton {triton.__version__}')
results = {}

with torch.inference_mode():
    for name, batch, seqlen in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]

        def run(cfg, x=x):
            return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg,
                                    bc_fp32=True, dt_low=True)

        ref = run(tk.FWD_CONFIG)
        res = []
        for cfg in configs:
            try:
                out = run(cfg)
                same = all(torch.equal(p, q) for p, q in zip(out, ref))
                t = sum(kernel_ms_by(lambda cfg=cfg: run(cfg), 20,
                                     3).values())
            except Exception as e:  # noqa: BLE001 - report, go on
                print(f'  {name} {tuple(cfg)}: {type(e).__name__}: '
                      f'{str(e)[:150]}')
                continue
            res.append((t, tuple(cfg), same))
        base = next(t for t, c, _ in res if c == tuple(tk.FWD_CONFIG))
        results[name] = {c: t for t, c, _ in res}
        res.sort()
        print(f'{name} (default {base:.4f} ms): ' + '; '.join(
            f'{c}: {t:.4f}{"" if s else " (!=)"}' for t, c, s in res[:6]),
            flush=True)
print('\nper config, ms at each shape (default first):')
for cfg in configs:
    c = tuple(cfg)
    print(c, ' '.join(f'{results[n].get(c, float("nan")):.4f}'
                      for n in results))
