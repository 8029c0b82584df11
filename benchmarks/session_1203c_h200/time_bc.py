"""Call D: does the step-loop forward wait on its B/C N-vector loads? The
same kernel with B/C as fp32 (4 LDG.128 per vector, 512 B returned per
warp each) and as bf16 (2 LDG.128, plus 2N conversions per step per
thread), Vim-Ti bf16 channel-last, no saved states; the time-major
default as the baseline. Kernel time, queued CUDA events, median of 20."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import time_cuda  # noqa: E402

from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402


def cl(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


def n_last(t, dtype):
    return t.transpose(2, 3).to(
        dtype, memory_format=torch.contiguous_format).transpose(2, 3)


for b, L in ((64, 6085), (128, 197), (8, 6085)):
    d, N = 384, 16
    g = torch.Generator(device='cuda').manual_seed(0)
    u, delta, z = (cl(torch.randn(b, d, L, device='cuda', generator=g)
                      .to(torch.bfloat16)) for _ in range(3))
    A = -torch.rand(d, N, device='cuda', generator=g) - 0.5
    B, C = (torch.randn(b, 1, N, L, device='cuda', generator=g)
            .to(torch.bfloat16) for _ in range(2))
    D, bias = torch.ones(d, device='cuda'), torch.zeros(d, device='cuda')
    base = tk.default_config(L, N, d, backward=False, save_states=False,
                             n_rows=b * d)
    ms = time_cuda(lambda: tk.selective_scan_fwd(
        u, delta, A, B, C, D, z, bias, True, False, config=base), 20,
        queued=True)
    print(f'b{b} L{L} time-major default {base.block_d}/{base.n_seg}: '
          f'{ms:.4f} ms')
    n_seg = max(1, min(16, 1536 * 16 // (b * d)))
    for bc_dtype in (torch.float32, torch.bfloat16):
        Bs, Cs = n_last(B, bc_dtype), n_last(C, bc_dtype)
        tk.bc_steps_layout = lambda B_, C_, Bs=Bs, Cs=Cs: (Bs, Cs)
        for bd, ns in ((16, n_seg), (32, max(1, n_seg * 2 if b < 64 else 1))):
            cfg = tk.ScanConfig(bd, 8, 1, block_t=8, n_seg=ns, steps=True)
            ms = time_cuda(lambda: tk.selective_scan_fwd(
                u, delta, A, B, C, D, z, bias, True, False, config=cfg), 20,
                queued=True)
            print(f'  steps d{bd} s{ns} B/C {str(bc_dtype)[6:]}: '
                  f'{ms:.4f} ms')
