"""callF (2026-12-06, third part; a copy of
session_1205g_h100/sweep_convproj.py with the configurations callE found
faster under dt_low: conv chunks of 64 channels; its taps are contiguous
(E, K), not Vim's layout: see callH). Seventh part of 2026-12-05:
conv1d_silu_proj's kernel as Vim's
inference calls it now (bias and 16-bit softplus of the step in its
epilogue, B and C written in fp32 where the scan pipelines), bf16,
forward direction, Vim-Ti (E = 384, R = 12, N = 16): kernel ms (median of
triton.testing.do_bench) per ConvProjConfig (block_l, block_e, num_warps,
num_stages, two_pass, block_ec, maxnreg, row_group); outputs compared
with the default's ('!=' where not bit for bit). callN's ncu had the
default at 57% of DRAM peak at 1248² b8 with 17% occupancy: its 761
programs of 2 warps fill ~6 of 132 SMs' slots each, so more, smaller or
wider programs and deeper pipelining are the candidates.

TIMER=profiler times the kernel alone (torch.profiler's device time per
call, ``benchmark_scan.kernel_ms_by``); the default, do_bench's events
around each call (as callO ran), also counts the host's launch work,
which bounds the small shapes (1248² b8: ~0.10 ms per call against ncu's
0.064 ms of kernel)."""
import os
import sys

import torch
import triton

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import kernel_ms_by  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

E, R, N, K = 384, 12, 16, 4
PROFILER = os.environ.get('TIMER') == 'profiler'
SHAPES = (('1248² b8', 8, 6085, True), ('2048² b8', 8, 16385, True),
          ('1248² b64', 64, 6085, False), ('224² b128', 128, 197, False))
C = tk.ConvProjConfig
configs = [tk.FWD_CONFIG]
for fields in ((64, 64, 2, 2, True, 64, 168, 4),
               (128, 64, 4, 2, True, 64, 168, 8),
               (64, 64, 2, 3, True, 64, 168, 4)):
    configs.append(C(*fields))
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev) / E**0.5
wdt = torch.randn(E, R, device=dev) / R**0.5
dtb = torch.randn(E, device=dev) - 3.0
print(f'device {torch.cuda.get_device_name()}, triton {triton.__version__}')
results = {}

with torch.inference_mode():
    for name, batch, seqlen, bc32 in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]

        def run(cfg, x=x):
            return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg,
                                    delta_bias=dtb, delta_softplus=True,
                                    bc_fp32=bc32)

        ref = run(tk.FWD_CONFIG)
        res = []
        for cfg in configs:
            try:
                out = run(cfg)
                same = all(torch.equal(p, q) for p, q in zip(out, ref))
                if PROFILER:
                    t = sum(kernel_ms_by(lambda cfg=cfg: run(cfg), 20,
                                         3).values())
                else:
                    t = triton.testing.do_bench(lambda cfg=cfg: run(cfg),
                                                warmup=5, rep=40,
                                                return_mode='median')
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
        del xz, x
print('\nper config, ms at each shape (default first):')
for cfg in configs:
    c = tuple(cfg)
    print(c, ' '.join(f'{results[n].get(c, float("nan")):.4f}'
                      for n in results))
