"""Scan kernels with this session's softplus (series / MUFU log2) or, with
argument 'old', the previous one (software log): Vim-Ti shapes, bf16,
channel-last u/delta/z as Vim passes them, default configurations; kernel
time (queued CUDA events, median of 20) of the forward without and with
saved states and of the backward. Run once per variant (Triton refuses a
changed global in one process)."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1203d_h200')
from benchmark_scan import time_cuda  # noqa: E402

variant = sys.argv[1] if len(sys.argv) > 1 else 'new'
if variant == 'old':
    import old_softplus
    old_softplus.patch()
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402


def cl(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


for name, b, L in (('224² b128', 128, 197), ('1248² b8', 8, 6085),
                   ('1248² b64', 64, 6085), ('2048² b8', 8, 16385)):
    d, N = 384, 16
    g = torch.Generator(device='cuda').manual_seed(0)
    u, delta, z, gout = (cl(torch.randn(b, d, L, device='cuda', generator=g)
                            .to(torch.bfloat16)) for _ in range(4))
    delta = (delta * 0.5 - 4).to(torch.bfloat16)  # softplus inputs as Vim's
    A = -torch.rand(d, N, device='cuda', generator=g) * 15 - 1
    B, C = (torch.randn(b, 1, N, L, device='cuda', generator=g)
            .to(torch.bfloat16) for _ in range(2))
    D, bias = torch.ones(d, device='cuda'), torch.zeros(d, device='cuda')
    fwd = time_cuda(lambda: tk.selective_scan_fwd(
        u, delta, A, B, C, D, z, bias, True, False), 20, queued=True)
    fwd_s = time_cuda(lambda: tk.selective_scan_fwd(
        u, delta, A, B, C, D, z, bias, True, True), 20, queued=True)
    _, _, states, cfg = tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias,
                                              True, True)
    bwd = time_cuda(lambda: tk.selective_scan_bwd(
        u, delta, A, B, C, D, z, bias, True, states, cfg.block_l, gout), 20,
        queued=True)
    out = tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True,
                                False)[0].float()
    print(f'{variant} {name:<10} fwd {fwd:.4f} ms  fwd+states {fwd_s:.4f} '
          f'ms  bwd {bwd:.4f} ms  out checksum {out.abs().mean().item():.6f}',
          flush=True)
