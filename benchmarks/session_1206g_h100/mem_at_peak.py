"""callB (2026-12-06, seventh part): what is alive at the peak of Vim-Ti and
DeiT-Ti SDPA at 738² b8 (where callA put Vim-Ti's peak above DeiT-Ti's under
CUDA graphs: 0.239 against 0.232 GiB), and both models' eager peaks at 738²
and 1024² b8 with the fixed tool.

Part 1, per model: built as ``benchmark_backbone`` builds it, one untimed
call (caches, Triton compiles), then one call as the graph warm-up runs it
(inference mode, bf16 autocast with its cache off) under
``torch.cuda.memory._record_memory_history``: the memory allocated before the
call, the call's peak, and the allocations alive at the peak grouped by the
innermost frame in mmmamba, timm or the tool.
Part 2: ``benchmark_backbone`` eager (no graphs) and under graphs at 738² and
1024² b8, both models.

Usage: python benchmarks/session_1206g_h100/mem_at_peak.py OUT_DIR
"""
import collections
import gc
import os.path as osp
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402

MIB = 2**20
DEV = torch.device('cuda')


def site(frames):
    for f in frames:  # innermost first
        name = f['filename']
        if any(k in name for k in ('mmmamba/', 'timm/', 'benchmark_')):
            tail = '/'.join(name.split('/')[-2:])
            return f"{tail}:{f['line']} {f['name']}"
    return 'other: ' + ('; '.join(
        f"{f['filename'].split('/')[-1]}:{f['line']}" for f in frames[:3]))


def live_at_peak(trace):
    live, cur, best, at = {}, 0, -1, {}
    for e in trace:
        if e['action'] == 'alloc':
            live[e['addr']] = e
            cur += e['size']
            if cur > best:
                best, at = cur, dict(live)
        elif e['action'] == 'free_completed' and e['addr'] in live:
            cur -= live.pop(e['addr'])['size']
    return best, at


def probe(name, res, batch):
    bb._free(DEV)
    model = bb.build_feature_model(bb.parse_model(name)[1], res,
                                   None).to(DEV).eval()
    x = torch.randn(batch, 3, res, res, device=DEV)

    def call(cache):
        with torch.inference_mode(), bb._autocast(DEV, 'bf16',
                                                   cache_enabled=cache):
            return model(x)

    call(False)
    torch.cuda.synchronize()
    gc.collect()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.memory._record_memory_history(
        enabled='all', context='alloc', stacks='python', max_entries=200000)
    out = call(False)
    torch.cuda.synchronize()
    snap = torch.cuda.memory._snapshot()
    torch.cuda.memory._record_memory_history(enabled=None)
    peak = torch.cuda.max_memory_allocated()
    trace = snap['device_traces'][torch.cuda.current_device()]
    best, at = live_at_peak(trace)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    print(f'== {name} {res}² b{batch}: before the call {base / MIB:.1f} MiB '
          f'(parameters {params / MIB:.1f}, input {x.numel() * 4 / MIB:.1f}'
          f'), peak {peak / MIB:.1f} MiB, +{best / MIB:.1f} MiB from the '
          f'call\'s allocations at their peak ({len(trace)} events)',
          flush=True)
    groups = collections.defaultdict(lambda: [0, 0])
    for e in at.values():
        g = groups[site(e['frames'])]
        g[0] += e['size']
        g[1] += 1
    for key, (size, n) in sorted(groups.items(), key=lambda kv: -kv[1][0]
                                 )[:14]:
        print(f'   {size / MIB:8.2f} MiB  {n:3d}x  {key}')
    out = model = x = None  # noqa: F841 - freed before the next probe
    bb._free(DEV)


def main(out):
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    for name in ('vim-tiny', 'deit-tiny-sdpa'):
        probe(name, 738, 8)
    probe('vim-tiny', 1024, 8)
    for graph in (False, True):
        rows = bb.main(['--models', 'vim-tiny', 'deit-tiny-sdpa',
                        '--resolutions', '738', '1024', '--batch-size', '8',
                        '--precisions', 'bf16', '--warmup', '3', '--repeats',
                        '10', '--no-plot', '--out-dir',
                        osp.join(out, f'part2_graph{int(graph)}')]
                       + (['--cuda-graph'] if graph else []))
        for r in rows:
            print(f"part2 {'graphs' if graph else 'eager'}: {r['label']} "
                  f"{r['resolution']}² b8 peak {r['peak_mem_gib']} GiB, "
                  f"wall {r.get('median_ms')} ms {r['status']} "
                  f"{r['message']}", flush=True)


if __name__ == '__main__':
    main(sys.argv[1])
