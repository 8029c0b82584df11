"""Call C: conv1d_silu_proj's kernel with a smaller conv chunk
(``block_ec``) and register caps (``maxnreg``) against the default, bf16,
forward direction, Vim-Ti (E = 384, R = 12, N = 16): kernel ms (median of
triton.testing.do_bench) per (block_l, block_e, num_warps, num_stages,
two_pass, block_ec, maxnreg), outputs checked equal to the default's; the
best per shape, then the best mean relative time as ``BEST bl:be:nw:ns:ec:r``.
(callB's ncu: the default takes 255 registers, 8 warps per SM, and issues
0.36 instructions per cycle per scheduler.)"""
import torch
import triton

from mmmamba.ops.conv_proj import triton_kernels as tk

E, R, N, K = 384, 12, 16, 4
SHAPES = (('224² b128', 128, 197), ('1248² b8', 8, 6085),
          ('1248² b64', 64, 6085), ('2048² b8', 8, 16385))
C = tk.ConvProjConfig
configs = [tk.FWD_CONFIG]
for bl, be, nw, ec, r in (
        (64, 64, 2, 32, 0), (64, 64, 2, 16, 0), (64, 64, 2, 0, 128),
        (64, 64, 2, 0, 168), (64, 64, 2, 32, 128), (64, 64, 2, 16, 128),
        (64, 64, 2, 16, 96), (64, 64, 4, 0, 0), (64, 64, 4, 32, 0),
        (64, 64, 4, 16, 0), (64, 64, 4, 16, 128), (64, 64, 4, 32, 128),
        (128, 64, 4, 32, 0), (128, 64, 4, 16, 128), (128, 32, 2, 16, 0),
        (32, 64, 2, 16, 0), (32, 64, 2, 32, 128), (64, 64, 4, 16, 96)):
    configs.append(C(bl, be, nw, 2, True, ec, r))
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev) / E**0.5
wdt = torch.randn(E, R, device=dev) / R**0.5
print(f'device {torch.cuda.get_device_name()}, triton {triton.__version__}')
results = {}
with torch.inference_mode():
    for name, batch, seqlen in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]
        ref = tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, tk.FWD_CONFIG)
        res = []
        for cfg in configs:
            try:
                out = tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg)
                same = all(torch.equal(p, q) for p, q in zip(out, ref))
                t = triton.testing.do_bench(
                    lambda cfg=cfg: tk.conv_proj_fwd(x, w, b, wx, wdt, R, N,
                                                     False, cfg),
                    warmup=5, rep=30, return_mode='median')
            except Exception as e:  # noqa: BLE001
                print(f'  {name} {tuple(cfg)}: {type(e).__name__}: {e}')
                continue
            res.append((t, tuple(cfg), same))
        base = next(t for t, c, _ in res if c == tuple(tk.FWD_CONFIG))
        res.sort()
        results[name] = {c: t for t, c, _ in res}
        print(f'{name} (default {base:.4f} ms): ' + '; '.join(
            f'{c}: {t:.4f}{"" if s else " (!=)"}' for t, c, s in res[:6]),
            flush=True)
        del xz, x
print('\nmean time relative to each shape best, all configs:')
rel = {}
for cfg in configs:
    c = tuple(cfg)
    if all(c in results[n] for n in results):
        rel[c] = sum(results[n][c] / min(results[n].values())
                     for n in results) / len(results)
for c, r in sorted(rel.items(), key=lambda kv: kv[1]):
    print(c, f'{r:.3f}', ' '.join(f'{results[n][c]:.4f}' for n in results))
best = min(rel, key=rel.get)
print('BEST ' + ':'.join(str(int(v)) for i, v in enumerate(best) if i != 4))
