"""Vim-Ti (or MODEL=deit-tiny-sdpa) eager bf16 inference img/s and peak
memory at SHAPES (benchmark_backbone's feature model). PATCH (comma list)
changes this process only: 'gemm=0' makes VimPatchEmbed run its conv
(the behaviour before this session), 'pre=K' sets the split time-major
forward's pre_split to K (callA's tree only), 'cp=BL:BE:NW:NS:EC:R' the
conv + projection kernel's configuration (callC). KERNELS=1 adds torch.profiler's GPU kernel time
per batch and its top kernels. LABEL names the run."""
import os
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from mmmamba.models.layers.embed import VimPatchEmbed  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

LABEL = os.environ.get('LABEL', 'tree')
MODEL = os.environ.get('MODEL', 'vim-tiny')
PATCH = dict((kv + '=').split('=')[:2]
             for kv in os.environ.get('PATCH', '').split(',') if kv)
if PATCH.get('gemm') == '0':
    VimPatchEmbed.uses_gemm = lambda self, x: False
if 'pre' in PATCH:
    orig = tk.default_config

    def patched(*args, **kwargs):
        cfg = orig(*args, **kwargs)
        if kwargs.get('backward') or not cfg.block_t or cfg.n_seg == 1:
            return cfg
        return cfg._replace(pre_split=int(PATCH['pre']))

    tk.default_config = patched
if 'cp' in PATCH:
    from mmmamba.ops.conv_proj import triton_kernels as cpk
    bl, be, nw, ns, ec, r = map(int, PATCH['cp'].split(':'))
    cp_cfg = cpk.ConvProjConfig(bl, be, nw, ns, True, ec, r)
    cpk.default_config = lambda seqlen, dim: cp_cfg
print(f'{LABEL}: {MODEL} patch {PATCH} load {os.getloadavg()}', flush=True)
for spec in os.environ.get('SHAPES', '1248x8').split(','):
    res, batch = map(int, spec.split('x'))
    torch.manual_seed(0)
    m = bb.build_feature_model(bb.parse_model(MODEL)[1], res,
                               None).cuda().eval()
    x = torch.randn(batch, 3, res, res, device='cuda')

    def step():
        with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
            return m(x)

    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    times = bb.time_fn(step, torch.device('cuda'), 5, 15)
    med = statistics.median(times)
    peak = torch.cuda.max_memory_allocated() / 2**30
    out = step()[-1].float()
    if os.environ.get('KERNELS') == '1':  # GPU kernel time per batch
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                step()
            torch.cuda.synchronize()
        ev = [e for e in prof.key_averages() if e.device_type.name == 'CUDA']
        tot = sum(e.device_time_total for e in ev) / 5 / 1e3
        top = sorted(ev, key=lambda e: -e.device_time_total)[:6]
        print(f'  {LABEL} {res}² b{batch} kernels {tot:.2f} ms/batch: '
              + ', '.join(f'{e.key[:40]} {e.device_time_total / 5e3:.2f}'
                          for e in top), flush=True)
    print(f'{LABEL} {MODEL} {res}² b{batch}: {batch / med:8.1f} img/s '
          f'({med * 1e3:.2f} ms/batch, median of 15) peak {peak:.3f} GiB '
          f'checksum {out.double().sum().item():.6e}', flush=True)
    del m, x, out
