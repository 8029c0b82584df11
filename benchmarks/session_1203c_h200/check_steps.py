"""GPU check of the step-loop forward (call A): outputs, last state and
saved states against the time-major forward on the same (channel-last)
tensors, and gradients of the backward from the step-loop's states against
those from the time-major's, at odd and Vim shapes."""
import torch

from mmmamba.ops.selective_scan import triton_kernels as tk

torch.manual_seed(0)


def cl(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


worst = 0.0
for (b, d, N, L, G), dtype, rev, acc, nseg, bd, bt in [
        ((3, 64, 16, 1000, 2), torch.float32, False, False, 1, 32, 8),
        ((3, 64, 16, 1000, 2), torch.bfloat16, True, True, 4, 32, 8),
        ((2, 96, 5, 777, 1), torch.float32, True, False, 3, 32, 4),
        ((2, 64, 4, 333, 1), torch.float32, False, True, 2, 16, 16),
        ((8, 384, 16, 6085, 1), torch.bfloat16, False, False, 16, 32, 8),
        ((8, 384, 16, 6085, 1), torch.float32, True, True, 8, 32, 8),
        ((128, 384, 16, 197, 1), torch.bfloat16, True, False, 1, 32, 8)]:
    u = cl(torch.randn(b, d, L, device='cuda', dtype=dtype))
    delta = cl(torch.randn(b, d, L, device='cuda', dtype=dtype) * 0.5)
    z = cl(torch.randn(b, d, L, device='cuda', dtype=dtype))
    A = -torch.rand(d, N, device='cuda') - 0.5
    B = torch.randn(b, G, N, L, device='cuda', dtype=dtype)
    C = torch.randn(b, G, N, L, device='cuda', dtype=dtype)
    D = torch.randn(d, device='cuda')
    bias = torch.randn(d, device='cuda') * 0.1
    out0 = cl(torch.randn(b, d, L, device='cuda', dtype=dtype)) if acc else None
    steps = tk.ScanConfig(bd, 8, 1, block_t=bt, n_seg=nseg, steps=True)
    old = tk.default_config(L, N, d // G, backward=False, n_rows=b * d)
    res = []
    for cfg in (steps, old):
        o = None if out0 is None else out0.clone()
        res.append(tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True,
                                         True, config=cfg, reverse=rev, out=o,
                                         out_scale=0.5))
    (o1, l1, s1, _), (o2, l2, s2, _) = res

    def rel(a, c):
        return ((a.float() - c.float()).abs().max()
                / c.float().abs().max().clamp_min(1e-6)).item()

    g = cl(torch.randn(b, d, L, device='cuda', dtype=dtype))
    gr = [tk.selective_scan_bwd(u, delta, A, B, C, D, z, bias, True, s, 8, g,
                                reverse=rev)[:6] for s in (s1, s2)]
    errs = dict(out=rel(o1, o2), last=rel(l1, l2), states=rel(s1, s2),
                grads=max(rel(x, y) for x, y in zip(*gr)))
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-4
    ok = all(v < tol for v in errs.values())
    worst = max(worst, max(errs.values()) / tol)
    print(f'{(b, d, N, L, G)} {str(dtype)[6:]} rev={rev} acc={acc} '
          f'seg={nseg} d{bd} t{bt}: ' + ' '.join(
              f'{k} {v:.1e}' for k, v in errs.items()) + (' ok' if ok
                                                         else ' FAIL'))
print('worst error / tolerance', round(worst, 3))
