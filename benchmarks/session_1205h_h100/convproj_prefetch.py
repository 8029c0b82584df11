"""Eighth part of 2026-12-05: the conv + projection kernel's conv pass
with and without ``ConvProjConfig.prefetch`` (the next channel chunk's
row sets of x loaded before the current chunk's conv), as Vim's inference
calls it (bf16, delta's bias and 16-bit softplus in its epilogue, fp32 B
and C at batch 8), Vim-Ti (E = 384, R = 12, N = 16, K = 4), both
directions: kernel ms per call (torch.profiler's device time,
``benchmark_scan.kernel_ms_by``, 20 calls after 3), configs alternating
in two rounds; outputs compared with the default's ('!=' where not bit
for bit). callT's ncu had 45% of the kernel's warp samples waiting on
global loads, most on the conv pass's x."""
import sys

import torch
import triton

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import kernel_ms_by  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

E, R, N, K = 384, 12, 16, 4
SHAPES = (('1248² b8', 8, 6085, True), ('2048² b8', 8, 16385, True),
          ('1248² b64', 64, 6085, False), ('224² b128', 128, 197, False))
D = tk.FWD_CONFIG
CONFIGS = {
    'default': D,
    'prefetch': D._replace(prefetch=True),
    'prefetch ec16': D._replace(prefetch=True, block_ec=16),
    'prefetch g8': D._replace(prefetch=True, row_group=8),
    'prefetch 1 stage': D._replace(prefetch=True, num_stages=1),
}
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev) / E**0.5
wdt = torch.randn(E, R, device=dev) / R**0.5
dtb = torch.randn(E, device=dev) - 3.0
print(f'device {torch.cuda.get_device_name()}, triton {triton.__version__}')
times = {}
with torch.inference_mode():
    for name, batch, seqlen, bc32 in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]
        for reverse in (False, True):

            def run(cfg, x=x, reverse=reverse):
                return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, reverse,
                                        cfg, delta_bias=dtb,
                                        delta_softplus=True, bc_fp32=bc32)

            ref = run(D)
            for rnd in range(2):
                for cname, cfg in CONFIGS.items():
                    out = run(cfg)
                    same = all(torch.equal(p, q) for p, q in zip(out, ref))
                    t = sum(kernel_ms_by(lambda cfg=cfg: run(cfg), 20,
                                         3).values())
                    times.setdefault((name, reverse, cname), []).append(t)
                    if rnd == 0 and not same:
                        print(f'  {name} rev={reverse} {cname}: outputs '
                              'differ from the default (!=)')
        del xz, x
print('\nkernel ms per call (two rounds), relative to the default:')
for name, *_ in SHAPES:
    for reverse in (False, True):
        base = min(times[name, reverse, 'default'])
        print(f'{name} {"reverse" if reverse else "forward"}: ' + '; '.join(
            f'{c} ' + '/'.join(f'{t:.4f}' for t in times[name, reverse, c])
            + f' ({min(times[name, reverse, c]) / base - 1:+.1%})'
            for c in CONFIGS))
