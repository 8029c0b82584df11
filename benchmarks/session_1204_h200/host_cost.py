"""Host cost of Vim-Ti eager inference (bf16 autocast, inference_mode).

1. Wall ms per forward, queued (sync once per 20) and synchronised, at
   224² b1 (GPU work tiny: wall = host) and 1248² b8.
2. Host µs per call of each piece of a layer at a tiny shape (B=1, L=197).
3. cProfile of 20 forwards at 224² b1: top functions by own time.
4. torch.profiler at 1248² b8: sum of kernel times per forward.
"""
import cProfile
import io
import pstats
import sys
import time

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402


def build(res):
    torch.manual_seed(0)
    return bb.build_feature_model(bb.parse_model('vim-tiny')[1], res,
                                  None).cuda().eval()


def ctx():
    return torch.inference_mode(), torch.autocast('cuda', torch.bfloat16)


def run(model, x):
    a, b = ctx()
    with a, b:
        return model(x)


def wall(fn, n=20, sync_each=False):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
        if sync_each:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e3


print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
import triton  # noqa: E402
print(f'triton {triton.__version__}')
import os  # noqa: E402
for res, batch in (() if os.environ.get('SKIP1') else ((224, 1), (1248, 8))):
    m = build(res)
    x = torch.randn(batch, 3, res, res, device='cuda')
    q = wall(lambda: run(m, x))
    s = wall(lambda: run(m, x), sync_each=True)
    print(f'{res}² b{batch}: {q:.2f} ms/forward queued, {s:.2f} synced, '
          f'{batch / s * 1e3:.1f} img/s synced')
    del m, x

# 2. pieces of one layer at a tiny shape
m = build(224)
layer = m.body.layers[0]
mix = layer.mixer
h = torch.randn(1, 197, 192, device='cuda')
a, b = ctx()
with a, b:
    hid, res_ = layer.add_norm(h, None)
    hid2, res2 = layer.add_norm(h, res_)
    xz = mix.in_proj(hid)
    e = mix.d_inner
    xx, zz = xz[..., :e], xz[..., e:]
    w_f, b_f, w_b, b_b = mix._conv_params(xx)
    from mmmamba.ops import conv1d_silu_proj, selective_scan_into
    u, delta, B, C = conv1d_silu_proj(
        xx, w_f, b_f, mix.x_proj.weight, mix.dt_proj.weight,
        dt_rank=mix.dt_rank, d_state=mix.d_state, backend='triton')
    y = xz.new_empty(xx.shape)
    A = -torch.exp(mix.A_log.float())
    Df = mix.D.float()
    bias = mix.dt_proj.bias.float()
    pieces = {
        'add_norm (first)': lambda: layer.add_norm(h, None),
        'add_norm': lambda: layer.add_norm(h, res_),
        'in_proj': lambda: mix.in_proj(hid),
        'out_proj': lambda: mix.out_proj(y),
        'conv_params': lambda: mix._conv_params(xx),
        'A = -exp(A_log.float())': lambda: -torch.exp(mix.A_log.float()),
        'D.float() + bias.float()': lambda: (mix.D.float(),
                                             mix.dt_proj.bias.float()),
        'conv1d_silu_proj': lambda: conv1d_silu_proj(
            xx, w_f, b_f, mix.x_proj.weight, mix.dt_proj.weight,
            dt_rank=mix.dt_rank, d_state=mix.d_state, backend='triton'),
        'selective_scan_into': lambda: selective_scan_into(
            y.transpose(1, 2), u.transpose(1, 2), delta.transpose(1, 2), A,
            B, C, Df, zz.transpose(1, 2), bias, delta_softplus=True,
            reverse=False, out_scale=0.5, accumulate=False,
            backend='triton'),
        'forward_core': lambda: mix.forward_core(xz),
        'mixer': lambda: mix(hid),
        'layer (add_norm + mixer)': lambda: mix(layer.add_norm(h, res_)[0]),
        'empty kernel-free op (x.new_empty)': lambda: xz.new_empty(xx.shape),
    }
    print('\n| piece | host µs per call |\n|---|---|')
    for name, fn in pieces.items():
        print(f'| {name} | {wall(fn, n=300) * 1e3:.1f} |', flush=True)

# 3. cProfile
x = torch.randn(1, 3, 224, 224, device='cuda')
run(m, x)
torch.cuda.synchronize()
pr = cProfile.Profile()
pr.enable()
for _ in range(20):
    run(m, x)
torch.cuda.synchronize()
pr.disable()
s = io.StringIO()
pstats.Stats(pr, stream=s).sort_stats('tottime').print_stats(40)
print(s.getvalue()[:9000])
s = io.StringIO()
pstats.Stats(pr, stream=s).sort_stats('cumulative').print_stats(45)
print(s.getvalue()[:9000])
del m, x

# 4. GPU busy time at 1248² b8
m = build(1248)
x = torch.randn(8, 3, 1248, 1248, device='cuda')
for _ in range(3):
    run(m, x)
torch.cuda.synchronize()
from torch.profiler import ProfilerActivity, profile  # noqa: E402
with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as p:
    for _ in range(3):
        run(m, x)
    torch.cuda.synchronize()
ev = p.key_averages()
cuda_us = sum(e.self_device_time_total for e in ev) / 3
print(f'1248² b8: kernel time per forward {cuda_us / 1e3:.2f} ms')
print(ev.table(sort_by='self_device_time_total', row_limit=14,
               max_name_column_width=60))
