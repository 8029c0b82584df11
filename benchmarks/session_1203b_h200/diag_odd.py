"""Which gradient fails for the 'odd' GPU case (3, 64, N=4, L=1000, G=2) and
with which backward config."""
import sys

import torch

sys.path.insert(0, 'tests/test_ops')
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402
from mmmamba.ops.selective_scan.reference import selective_scan_ref  # noqa

torch.manual_seed(0)
for (b, d, n, L, g) in ((3, 64, 4, 1000, 2), (3, 64, 16, 1000, 2),
                        (2, 384, 16, 197, 1), (3, 64, 8, 1000, 2)):
    dev = 'cuda'
    u = torch.randn(b, d, L, device=dev)
    delta = (torch.randn(b, d, L, device=dev) * 0.5)
    A = -torch.rand(d, n, device=dev) - 0.5
    B = torch.randn(b, g, n, L, device=dev)
    C = torch.randn(b, g, n, L, device=dev)
    D = torch.randn(d, device=dev)
    z = torch.randn(b, d, L, device=dev)
    bias = torch.randn(d, device=dev) * 0.1
    gout = torch.randn(b, d, L, device=dev)
    ref_cfg = tk.ScanConfig(2, 16, 1)
    out, _, st16, _ = tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias,
                                            True, True, config=ref_cfg)
    ref = tk.selective_scan_bwd(u, delta, A, B, C, D, z, bias, True, st16,
                                16, gout, config=tk.ScanConfig(2, 16, 1))
    names = ('du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'dz', 'dbias')
    for fcfg, bcfg in (
            (tk.ScanConfig(16, 8, 1, block_t=8, n_seg=4),
             tk.ScanConfig(4, 8, 1, block_t=8, prefetch=True)),
            (tk.ScanConfig(16, 8, 1, block_t=8, n_seg=4),
             tk.ScanConfig(4, 8, 1, block_t=8, prefetch=False)),
            (tk.ScanConfig(16, 8, 1, block_t=8, n_seg=4),
             tk.ScanConfig(8, 8, 1, block_t=8, prefetch=True)),
            (tk.ScanConfig(16, 8, 1, block_t=8, n_seg=4),
             tk.ScanConfig(2, 8, 1)),
            (tk.ScanConfig(16, 16, 1, block_t=8, n_seg=4),
             tk.ScanConfig(4, 16, 1, block_t=8)),
            (None, None)):
        o2, _, st, cfg = tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias,
                                               True, True, config=fcfg)
        ferr = ((o2 - out).abs().max() / out.abs().max()).item()
        got = tk.selective_scan_bwd(u, delta, A, B, C, D, z, bias, True, st,
                                    cfg.block_l, gout, config=bcfg)
        errs = {nm: ((a - r).abs().max() / r.abs().max()).item()
                for nm, a, r in zip(names, got, ref)}
        bad = {k: f'{v:.1e}' for k, v in errs.items() if v > 1e-4}
        print((b, d, n, L, g), 'fwd', fcfg, f'out err {ferr:.1e}', 'bwd',
              bcfg, 'BAD' if bad else 'ok', bad, flush=True)
