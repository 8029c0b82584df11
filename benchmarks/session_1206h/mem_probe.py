"""callC (2026-12-06, eighth part): Vim-Ti's peak memory with the
normalised hidden freed before the scans (``vision_mamba.SPLIT_MIXER``)
and the inference caches made smaller (each direction's A a view of one
(2, E, N) tensor; the one-launch scan's stacked parameters made on first
use).

Part 1: what is alive at each model's peak at 738² b8 (the seventh part's
``mem_at_peak.probe``), Vim-Ti with SPLIT_MIXER on and off, DeiT-Ti; and
the bytes Vim-Ti's per-layer caches (``_param_cache``) hold.
Part 2: ``benchmark_backbone`` under CUDA graphs, one process: 738² and
1024² b8, 1248² and 2048² b8 and b64, Vim-Ti (SPLIT_MIXER on) and DeiT-Ti
SDPA, then Vim-Ti with SPLIT_MIXER off at 738² b8 and 2048² b64.
Part 3: eager (no graphs) at 738² and 1024² b8 (SPLIT_MIXER off: 738²).
Part 4 (added 2026-12-07 before any of this ran): Vim-Ti with
``bimamba.CACHE_AUTOCAST_LINEARS`` off (no bf16 copy of in_proj / out_proj
weights): what is alive at the peak at 738² b8, the graphs grid at
738², 1024² and 1248² b8, and eager at 738² b8 (the cache's host time).
Part 5 (added 2026-12-07, second part, before any of this ran): the
decisive row alone, for a start with little device time: graphs at 738²
b8, Vim-Ti and DeiT-Ti, then Vim-Ti with ``CACHE_AUTOCAST_LINEARS='auto'``.
Part 6 (added after parts 1-5 ran): graphs at 738² and 1024² b64 for both
models (the memory target's other points), then Vim-Ti at 738² and 1248²
b8 with the cache True / 'auto' / True / 'auto' (its time under graphs).

Usage: python benchmarks/session_1206h/mem_probe.py OUT_DIR [PARTS]

PARTS: the digits of the parts to run (default 123); with 's', part 2
at 738² and 1024² b8 only.
"""
import os.path as osp
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1206g_h100')
import benchmark_backbone as bb  # noqa: E402
import mem_at_peak as map_  # noqa: E402

import mmmamba.models.backbones.vision_mamba as vm  # noqa: E402
import mmmamba.models.layers.bimamba as bim  # noqa: E402

MIB = 2**20


def cache_bytes(name, res, batch):
    """Bytes in the mixers' ``_param_cache`` after one bf16 inference call
    (unique storages)."""
    bb._free(map_.DEV)
    model = bb.build_feature_model(bb.parse_model(name)[1], res,
                                   None).to(map_.DEV).eval()
    x = torch.randn(batch, 3, res, res, device=map_.DEV)
    with torch.inference_mode(), bb._autocast(map_.DEV, 'bf16',
                                              cache_enabled=False):
        model(x)
    seen, total, by = set(), 0, {}
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    for mod in model.modules():
        for key, (_, _, out) in mod.__dict__.get('_param_cache', {}).items():
            stack = [out]
            while stack:
                v = stack.pop()
                if isinstance(v, torch.Tensor):
                    ptr = v.untyped_storage().data_ptr()
                    if ptr in seen or ptr in params:
                        continue
                    seen.add(ptr)
                    n = v.untyped_storage().nbytes()
                    total += n
                    kind = key.split('.')[0]
                    by[kind] = by.get(kind, 0) + n
                elif isinstance(v, (tuple, list)):
                    stack.extend(v)
                elif hasattr(v, '__slots__'):
                    stack.extend(getattr(v, s) for s in v.__slots__
                                 if s not in ('launchers', ))
    print(f'cache {name} {res}² b{batch}: {total / MIB:.2f} MiB '
          + ', '.join(f'{k} {v / MIB:.2f}' for k, v in sorted(by.items())),
          flush=True)
    model = x = None  # noqa: F841
    bb._free(map_.DEV)


def grid(out, tag, models, points, graph):
    for res, batch in points:
        rows = bb.main(['--models', *models, '--resolutions', str(res),
                        '--batch-size', str(batch), '--precisions', 'bf16',
                        '--warmup', '3', '--repeats', '10', '--no-plot',
                        '--out-dir', osp.join(out, f'{tag}_{res}_b{batch}')]
                       + (['--cuda-graph'] if graph else []))
        for r in rows:
            print(f"{tag}: {r['label']} {r['resolution']}² b{batch} "
                  f"peak {r['peak_mem_gib']} GiB, wall "
                  f"{r.get('median_ms')} ms {r['status']} {r['message']}",
                  flush=True)


def main(out, parts='123'):
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    if '1' in parts:
        for split in (True, False):
            vm.SPLIT_MIXER = split
            print(f'part1 SPLIT_MIXER={split}', flush=True)
            map_.probe('vim-tiny', 738, 8)
        vm.SPLIT_MIXER = True
        map_.probe('deit-tiny-sdpa', 738, 8)
        cache_bytes('vim-tiny', 738, 8)
        cache_bytes('vim-tiny', 1248, 64)
    small = [(738, 8), (1024, 8)]
    large = [] if 's' in parts else [(1248, 8), (2048, 8), (1248, 64),
                                     (2048, 64)]
    if '2' in parts:
        grid(out, 'part2 graphs', ['vim-tiny', 'deit-tiny-sdpa'],
             small + large, True)
        vm.SPLIT_MIXER = False
        grid(out, 'part2 graphs nosplit', ['vim-tiny'],
             [(738, 8)] + large[-1:], True)
        vm.SPLIT_MIXER = True
    if '3' in parts:
        grid(out, 'part3 eager', ['vim-tiny', 'deit-tiny-sdpa'], small,
             False)
        vm.SPLIT_MIXER = False
        grid(out, 'part3 eager nosplit', ['vim-tiny'], small[:1], False)
        vm.SPLIT_MIXER = True
    if '4' in parts:
        bim.CACHE_AUTOCAST_LINEARS = False
        print('part4 CACHE_AUTOCAST_LINEARS=False', flush=True)
        map_.probe('vim-tiny', 738, 8)
        cache_bytes('vim-tiny', 738, 8)
        grid(out, 'part4 graphs nolinearcache', ['vim-tiny'],
             small + [(1248, 8)], True)
        grid(out, 'part4 eager nolinearcache', ['vim-tiny'], small[:1],
             False)
        bim.CACHE_AUTOCAST_LINEARS = True
    if '5' in parts:
        grid(out, 'part5 graphs', ['vim-tiny', 'deit-tiny-sdpa'],
             small[:1], True)
        bim.CACHE_AUTOCAST_LINEARS = 'auto'
        grid(out, 'part5 graphs auto', ['vim-tiny'], small[:1], True)
        bim.CACHE_AUTOCAST_LINEARS = True
    if '6' in parts:
        grid(out, 'part6 graphs', ['vim-tiny', 'deit-tiny-sdpa'],
             [(738, 64), (1024, 64)], True)
        for mode in (True, 'auto', True, 'auto'):
            bim.CACHE_AUTOCAST_LINEARS = mode
            grid(out, f'part6 graphs {mode}', ['vim-tiny'],
                 [(738, 8), (1248, 8)], True)
        bim.CACHE_AUTOCAST_LINEARS = True


if __name__ == '__main__':
    main(*sys.argv[1:])
