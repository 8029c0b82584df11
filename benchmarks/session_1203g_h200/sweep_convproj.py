"""Launch-configuration sweep of conv1d_silu_proj's kernel (bf16, forward
direction, Vim-Ti E = 384, R = 12, N = 16): kernel ms (median of
triton.testing.do_bench) per (block_l, block_e, num_warps, num_stages,
two_pass) at Vim-Ti's shapes; the best six per shape, then the best mean
relative time (prologue_ab.py times the unfused sequence it replaces)."""
import itertools

import torch
import triton

from mmmamba.ops.conv_proj import triton_kernels as tk

E, R, N, K = 384, 12, 16, 4
SHAPES = (('224² b128', 128, 197), ('1248² b8', 8, 6085),
          ('1248² b64', 64, 6085), ('2048² b8', 8, 16385))
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev) / E**0.5
wdt = torch.randn(E, R, device=dev) / R**0.5
configs = [tk.ConvProjConfig(*c, True) for c in itertools.product(
    (32, 64, 128), (32, 64), (2, 4, 8), (1, 2))]
configs += [tk.ConvProjConfig(128, 64, 4, 1, False),
            tk.ConvProjConfig(64, 64, 2, 2, False),
            tk.ConvProjConfig(64, 64, 4, 3, True)]
print(f'device {torch.cuda.get_device_name()}, triton {triton.__version__}')
results = {}
with torch.inference_mode():
    for name, batch, seqlen in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]
        ref = tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False,
                               tk.ConvProjConfig(128, 64, 4, 1, False))
        res = []
        for cfg in configs:
            try:
                out = tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg)
                same = all(torch.equal(p, q) for p, q in zip(out, ref))
                t = triton.testing.do_bench(
                    lambda: tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False,
                                             cfg),
                    warmup=5, rep=30, return_mode='median')
            except Exception as e:  # noqa: BLE001
                print(f'  {name} {tuple(cfg)}: {type(e).__name__}')
                continue
            res.append((t, tuple(cfg), same))
        res.sort()
        results[name] = {c: t for t, c, _ in res}
        print(f'{name}: ' + '; '.join(f'{c}: {t:.3f}{"" if s else " (!=)"}'
                                      for t, c, s in res[:6]), flush=True)
        del xz, x
print('\nmean time relative to each shape best, best 8 configs:')
rel = {}
for cfg in configs:
    c = tuple(cfg)
    if all(c in results[n] for n in results):
        rel[c] = sum(results[n][c] / min(results[n].values())
                     for n in results) / len(results)
for c, r in sorted(rel.items(), key=lambda kv: kv[1])[:8]:
    print(c, f'{r:.3f}', ' '.join(f'{results[n][c]:.3f}' for n in results))
