"""Vim-Ti (or MODEL=deit-tiny-sdpa) eager bf16 inference img/s and peak
memory at SHAPES (benchmark_backbone's feature model), in whatever mmmamba
PYTHONPATH gives (the session's start: .head_src; the tree: .). KERNELS=1
adds torch.profiler's GPU kernel time per batch and its top kernels.
LABEL names the run."""
import os
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba  # noqa: E402

LABEL = os.environ.get('LABEL', 'tree')
MODEL = os.environ.get('MODEL', 'vim-tiny')
print(f'{LABEL}: {MODEL} from {os.path.dirname(mmmamba.__file__)} load '
      f'{os.getloadavg()}', flush=True)
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
