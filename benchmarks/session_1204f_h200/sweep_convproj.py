"""Sixth part (with the special-function SiLU): conv1d_silu_proj's
kernel as Vim's inference now calls it (the scan's
step: dt_proj's bias and the 16-bit softplus in its epilogue), bf16,
forward direction, Vim-Ti (E = 384, R = 12, N = 16): kernel ms (median of
triton.testing.do_bench) per (block_l, block_e, num_warps, num_stages,
two_pass, block_ec, maxnreg), outputs checked equal to the default's; the
best per shape, then the mean time relative to each shape's best."""
import torch
import triton

from mmmamba.ops.conv_proj import triton_kernels as tk

E, R, N, K = 384, 12, 16, 4
SHAPES = (('224² b128', 128, 197), ('1248² b8', 8, 6085),
          ('1248² b64', 64, 6085), ('2048² b8', 8, 16385))
C = tk.ConvProjConfig
configs = [tk.FWD_CONFIG]
for bl, be, nw, ns, ec, r in (
        (64, 64, 2, 2, 32, 0), (64, 64, 2, 2, 32, 168),
        (64, 64, 2, 2, 64, 128), (64, 64, 2, 2, 16, 128),
        (64, 64, 4, 2, 32, 128), (32, 64, 2, 2, 32, 128)):
    configs.append(C(bl, be, nw, ns, True, ec, r))
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev) / E**0.5
wdt = torch.randn(E, R, device=dev) / R**0.5
dtb = torch.randn(E, device=dev) - 3.0
print(f'device {torch.cuda.get_device_name()}, triton {triton.__version__}')
results = {}


def run(x, cfg):
    return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False, cfg,
                            delta_bias=dtb, delta_softplus=True)


with torch.inference_mode():
    for name, batch, seqlen in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]
        ref = run(x, tk.FWD_CONFIG)
        plain = tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False,
                                 tk.FWD_CONFIG)
        t_plain = triton.testing.do_bench(
            lambda: tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, False,
                                     tk.FWD_CONFIG),
            warmup=5, rep=30, return_mode='median')
        res = []
        for cfg in configs:
            try:
                out = run(x, cfg)
                same = all(torch.equal(p, q) for p, q in zip(out, ref))
                t = triton.testing.do_bench(lambda cfg=cfg: run(x, cfg),
                                            warmup=5, rep=30,
                                            return_mode='median')
            except Exception as e:  # noqa: BLE001
                print(f'  {name} {tuple(cfg)}: {type(e).__name__}: {e}')
                continue
            res.append((t, tuple(cfg), same))
        base = next(t for t, c, _ in res if c == tuple(tk.FWD_CONFIG))
        res.sort()
        results[name] = {c: t for t, c, _ in res}
        print(f'{name} (default {base:.4f} ms; without the step '
              f'{t_plain:.4f}): ' + '; '.join(
                  f'{c}: {t:.4f}{"" if s else " (!=)"}'
                  for t, c, s in res[:5]), flush=True)
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
