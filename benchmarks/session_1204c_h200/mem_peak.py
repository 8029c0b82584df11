"""What is alive at the peak of eager bf16 inference (benchmark_backbone's
feature model, as e2e.py measures it: fp32 image and weights included).

Records the CUDA caching allocator's history from before the model is
built, replays it (alloc +size, free_completed -size) to the peak of
allocated bytes and prints the blocks alive there, largest first, each with
the innermost frame of this package, timm or torch.nn that allocated it.
MODEL (vim-tiny | deit-tiny-sdpa), SHAPES (RESxBATCH,...)."""
import collections
import os
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402

MODEL = os.environ.get('MODEL', 'vim-tiny')
KEYS = ('mmmamba/', 'timm/', 'torch/nn/', 'mem_peak.py', 'benchmark_backbone')


def where(frames):
    for f in frames:
        if any(k in f['filename'] for k in KEYS):
            name = f['filename'].split('site-packages/')[-1]
            return f'{name}:{f["line"]} {f["name"]}'
    return frames[0]['filename'] + ':' + str(frames[0]['line']) \
        if frames else '?'


for spec in os.environ.get('SHAPES', '1248x8').split(','):
    res, batch = map(int, spec.split('x'))
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.memory._record_memory_history(max_entries=2_000_000,
                                             stacks='python')
    base = torch.cuda.memory_allocated()
    torch.manual_seed(0)
    m = bb.build_feature_model(bb.parse_model(MODEL)[1], res,
                               None).cuda().eval()
    x = torch.randn(batch, 3, res, res, device='cuda')
    with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
        for _ in range(3):
            m(x)
    torch.cuda.synchronize()
    snap = torch.cuda.memory._snapshot()
    torch.cuda.memory._record_memory_history(enabled=None)
    live, cur, peak, at_peak = {}, base, base, {}
    for ev in snap['device_traces'][0]:
        act = ev['action']
        if act == 'alloc':
            live[ev['addr']] = (ev['size'], where(ev['frames']))
            cur += ev['size']
            if cur > peak:
                peak, at_peak = cur, dict(live)
        elif act == 'free_completed' and ev['addr'] in live:
            cur -= live.pop(ev['addr'])[0]
    unit = batch * (res // 16) ** 2 * 192 * 2
    print(f'{MODEL} {res}² b{batch}: max_memory_allocated '
          f'{torch.cuda.max_memory_allocated() / 2**30:.3f} GiB, replayed '
          f'peak {peak / 2**30:.3f} GiB (base {base / 2**20:.1f} MiB); '
          f'unit B*L*192*2 = {unit / 2**20:.2f} MiB')
    groups = collections.defaultdict(lambda: [0, 0])
    for size, site in at_peak.values():
        groups[site][0] += size
        groups[site][1] += 1
    for site, (size, n) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        if size >= 2**20:
            print(f'  {size / 2**20:9.2f} MiB {size / unit:6.2f} units '
                  f'x{n:<4d} {site}')
    del m, x
