"""Host cost of Vim-Ti eager bf16 inference, in whatever mmmamba
PYTHONPATH gives: the median wall ms per batch at SHAPES (15 batches after
5), and a cProfile of 10 batches at the first shape (top functions by own
time). LABEL names the run."""
import cProfile
import os
import pstats
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba  # noqa: E402

LABEL = os.environ.get('LABEL', 'tree')
print(f'{LABEL}: mmmamba from {os.path.dirname(mmmamba.__file__)}',
      flush=True)
for i, spec in enumerate(os.environ.get('SHAPES', '224x1').split(',')):
    res, batch = map(int, spec.split('x'))
    torch.manual_seed(0)
    m = bb.build_feature_model(bb.parse_model('vim-tiny')[1], res,
                               None).cuda().eval()
    x = torch.randn(batch, 3, res, res, device='cuda')

    def step():
        with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
            return m(x)

    times = bb.time_fn(step, torch.device('cuda'), 5, 15)
    print(f'{LABEL} {res}² b{batch}: {statistics.median(times) * 1e3:.2f} '
          'ms/batch wall (median of 15)', flush=True)
    if i == 0:
        torch.cuda.synchronize()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(10):
            step()
        torch.cuda.synchronize()
        prof.disable()
        st = pstats.Stats(prof)
        st.sort_stats('tottime').print_stats(14)
    del m, x
