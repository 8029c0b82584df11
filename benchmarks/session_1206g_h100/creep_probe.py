"""callA (2026-12-06, seventh part): where the ~0.03 GiB per built model
that peak memory gained in one benchmark process came from.

Part 1: allocated memory after a bf16 GEMM on each of three new CUDA
streams (PyTorch keeps one cuBLAS workspace per (handle, stream)), after
the streams are dropped, and after ``torch._C._cuda_clearCublasWorkspaces``.
Part 2: Vim-Ti 1248² b64 under CUDA graphs, three runs in this process with
``benchmark_backbone``'s previous ``_free`` and a new side stream per
capture (the old code, restored by monkeypatching), then three with the
tree's (workspaces cleared between points, one side stream), with
DeiT-Ti SDPA after each set: each point's peak.
Part 3: Vim-Ti and DeiT-Ti SDPA under CUDA graphs with the tree's code
(``--kernel-time 3``) at 738², 1024², 1248² and 2048², batch 8 and 64:
the memory target's resolutions and the speed targets' points.

Usage: python benchmarks/session_1206g_h100/creep_probe.py OUT_DIR
"""
import gc
import os.path as osp
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402

MIB = 2**20


def part1():
    dev = torch.device('cuda')
    a = torch.randn(1024, 1024, device=dev, dtype=torch.bfloat16)
    a @ a  # the default stream's workspace
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    streams = []
    for i in range(3):
        s = torch.cuda.Stream()
        streams.append(s)
        with torch.cuda.stream(s):
            a @ a
        torch.cuda.synchronize()
        print(f'part1: after a GEMM on new stream {i + 1}: '
              f'+{(torch.cuda.memory_allocated() - base) / MIB:.2f} MiB',
              flush=True)
    with torch.cuda.stream(streams[0]):
        a @ a
    torch.cuda.synchronize()
    print('part1: a second GEMM on stream 1: '
          f'+{(torch.cuda.memory_allocated() - base) / MIB:.2f} MiB')
    del streams, s
    gc.collect()
    torch.cuda.empty_cache()
    print('part1: streams dropped, gc, empty_cache: '
          f'+{(torch.cuda.memory_allocated() - base) / MIB:.2f} MiB')
    torch._C._cuda_clearCublasWorkspaces()
    print('part1: after clearCublasWorkspaces: '
          f'+{(torch.cuda.memory_allocated() - base) / MIB:.2f} MiB '
          f'(base {base / MIB:.2f} MiB held the default stream\'s)',
          flush=True)


def old_free(device):
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def part2(out):
    common = ['--resolutions', '1248', '--batch-size', '64', '--precisions',
              'bf16', '--warmup', '2', '--repeats', '5', '--cuda-graph',
              '--no-plot']
    new_free, new_side = bb._free, bb._side_stream
    for label in ('old', 'new'):
        if label == 'old':
            bb._free = old_free
            bb._side_stream = lambda d: torch.cuda.Stream(d)
        else:
            bb._free, bb._side_stream = new_free, new_side
            bb._free(torch.device('cuda'))
        for i, models in enumerate((['vim-tiny'], ['vim-tiny'],
                                    ['vim-tiny', 'deit-tiny-sdpa'])):
            rows = bb.main(['--models', *models, *common, '--out-dir',
                            osp.join(out, f'part2_{label}{i}')])
            for r in rows:
                print(f"part2 {label} run {i + 1}: {r['label']} peak "
                      f"{r['peak_mem_gib']} GiB, wall {r.get('median_ms')}"
                      f" ms, {r['status']} {r['message']}; allocated "
                      f'after {torch.cuda.memory_allocated() / MIB:.1f} '
                      'MiB', flush=True)


def part3(out):
    common = ['--resolutions', '738', '1024', '1248', '2048',
              '--precisions', 'bf16', '--warmup', '5', '--repeats', '15',
              '--kernel-time', '3',
              '--cuda-graph', '--no-plot']
    for batch in (8, 64):
        rows = bb.main(['--models', 'vim-tiny', 'deit-tiny-sdpa', *common,
                        '--batch-size', str(batch), '--out-dir',
                        osp.join(out, f'part3_b{batch}')])
        for r in rows:
            print(f"part3: {r['label']} {r['resolution']}² b{batch} peak "
                  f"{r['peak_mem_gib']} GiB, wall {r.get('median_ms')} ms,"
                  f" kernel {r.get('kernel_ms')} ms, {r['status']} "
                  f"{r['message']}", flush=True)


if __name__ == '__main__':
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    part1()
    part2(sys.argv[1])
    part3(sys.argv[1])
