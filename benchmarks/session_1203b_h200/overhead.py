"""Host time per selective_scan call (no sync) vs wall time, and a cProfile
of the triton path's host side."""
import cProfile
import pstats
import sys
import time

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import GPU_SHAPES, make_inputs  # noqa: E402

from mmmamba.ops import available_backends, selective_scan  # noqa: E402

for name in ('Vim-Ti 224² b128', 'Vim-Ti 1248² b8'):
    shape = GPU_SHAPES[name]
    ins = make_inputs(shape, torch.bfloat16, 'cuda', requires_grad=True)
    grad = torch.randn_like(ins['u'])
    for backend in [b for b in ('triton', 'mamba_ssm')
                    if b in available_backends()]:
        def f():
            with torch.no_grad():
                selective_scan(**ins, delta_softplus=True, backend=backend)

        def fb():
            selective_scan(**ins, delta_softplus=True,
                           backend=backend).backward(grad)
        for label, fn in (('fwd', f), ('fwd+bwd', fb)):
            for _ in range(5):
                fn()
            torch.cuda.synchronize()
            n = 30
            t = time.perf_counter()
            for _ in range(n):
                fn()
            host = (time.perf_counter() - t) / n * 1e3
            torch.cuda.synchronize()
            wall = (time.perf_counter() - t) / n * 1e3
            print(f'{name} bf16 {backend} {label}: host {host:.3f} ms/call, '
                  f'wall {wall:.3f} ms/call', flush=True)
    if name.endswith('b128'):
        def f():
            with torch.no_grad():
                selective_scan(**ins, delta_softplus=True, backend='triton')
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(50):
            f()
        pr.disable()
        torch.cuda.synchronize()
        pstats.Stats(pr).sort_stats('tottime').print_stats(18)
