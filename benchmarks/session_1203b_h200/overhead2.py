"""cProfile of the host side of triton fwd+bwd at 224² b128 bf16."""
import cProfile
import pstats
import sys
import time

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import GPU_SHAPES, make_inputs  # noqa: E402

from mmmamba.ops import selective_scan  # noqa: E402

ins = make_inputs(GPU_SHAPES['Vim-Ti 224² b128'], torch.bfloat16, 'cuda',
                  requires_grad=True)
grad = torch.randn_like(ins['u'])


def fb():
    selective_scan(**ins, delta_softplus=True,
                   backend='triton').backward(grad)


for _ in range(5):
    fb()
torch.cuda.synchronize()
for n_calls in (1, 30):
    t = time.perf_counter()
    for _ in range(n_calls):
        fb()
    host = (time.perf_counter() - t) / n_calls * 1e3
    torch.cuda.synchronize()
    print(f'{n_calls} calls: host {host:.3f} ms/call', flush=True)
pr = cProfile.Profile()
pr.enable()
for _ in range(30):
    fb()
pr.disable()
torch.cuda.synchronize()
pstats.Stats(pr).sort_stats('tottime').print_stats(25)
