"""Vim-Ti eager inference (bf16 autocast, inference_mode; benchmark_backbone's
feature model): img/s at several points, with mmmamba's fast Triton launch
path on and off (mmmamba.ops._launch.ENABLED) in this process, and host µs
per call of a layer's pieces at a tiny shape (B=1, L=197; GPU idle).
Run once with PYTHONPATH at the working tree and once at HEAD's sources
(.head_src) for before/after. LABEL names the tree in the output."""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba  # noqa: E402

LABEL = os.environ.get('LABEL', 'tree')
try:
    from mmmamba.ops import _launch
except ImportError:  # HEAD before this session
    _launch = None
modes = (True, False) if _launch is not None else (None, )
print(f'{LABEL}: mmmamba from {os.path.dirname(mmmamba.__file__)}, '
      f'{torch.cuda.get_device_name()}, torch {torch.__version__}, '
      f'load average {os.getloadavg()}')
if os.environ.get('FAST') in ('0', '1') and _launch is not None:
    modes = (os.environ['FAST'] == '1', )


MODEL = os.environ.get('MODEL', 'vim-tiny')  # or deit-tiny-sdpa (timm)


def build(res, model=None):
    torch.manual_seed(0)
    return bb.build_feature_model(bb.parse_model(model or MODEL)[1], res,
                                  None).cuda().eval()


def wall(fn, n):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


shapes = [tuple(map(int, s.split('x'))) for s in os.environ.get(
    'SHAPES', '224x1,1248x8,2048x8,1248x64').split(',')]
for res, batch in shapes:
    m = build(res)
    x = torch.randn(batch, 3, res, res, device='cuda')

    def step():
        with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
            return m(x)

    for mode in modes:
        if mode is not None:
            _launch.ENABLED = mode
        torch.cuda.reset_peak_memory_stats()
        times = bb.time_fn(step, torch.device('cuda'), 5, 10)
        med = statistics.median(times)
        queued = wall(step, 10)
        print(f'{LABEL} {MODEL} fast_launch={mode} {res}² b{batch}: '
              f'{batch / med:8.1f} img/s (median of 10 event-timed batches '
              f'{med * 1e3:.2f} ms; queued wall {queued * 1e3:.2f} ms/batch)'
              f' peak {torch.cuda.max_memory_allocated() / 2**30:.3f} GiB',
              flush=True)
    out = step()[-1].float()
    print(f'  {LABEL} {res}² b{batch} features checksum '
          f'{out.double().sum().item():.6e} max {out.abs().max().item():.4f}')
    del m, x

if os.environ.get('PIECES', '1') == '0' or MODEL != 'vim-tiny':
    sys.exit(0)
m = build(224)
layer = m.body.layers[0]
mix = layer.mixer
h = torch.randn(1, 197, 192, device='cuda')
with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
    hid, res_ = layer.add_norm(h, None)
    xz = mix.in_proj(hid)
    pieces = {
        'add_norm': lambda: layer.add_norm(h, res_),
        'forward_core (both directions)': lambda: mix.forward_core(xz),
        'layer (add_norm + mixer)': lambda: mix(layer.add_norm(h, res_)[0]),
    }
    for mode in modes:
        if mode is not None:
            _launch.ENABLED = mode
        for name, fn in pieces.items():
            print(f'{LABEL} fast_launch={mode} host µs per call, {name}: '
                  f'{wall(fn, 300) * 1e6:.1f}', flush=True)
