"""Vim-Ti inference (feature model of benchmark_backbone.py, bf16 autocast,
inference_mode): the fused core one direction at a time (this session's
default) against both directions at once (before), same process; DeiT-Ti
SDPA beside. img/s from the median of 10 CUDA-event-timed batches after 5,
peak = max_memory_allocated over them (image and weights included).
Environment: OLD_SOFTPLUS=1 puts the scan's previous softplus back;
SHAPES=1248x64,2048x8 restricts the points; ONLY=seq restricts the rows."""
import os
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba.models.layers.bimamba as bm  # noqa: E402

if os.environ.get('OLD_SOFTPLUS') == '1':
    sys.path.insert(0, 'benchmarks/session_1203d_h200')
    import old_softplus
    old_softplus.patch()

needs_grad = bm.BiMamba._needs_grad
G = 2**30
shapes = ((1248, 64), (1248, 8), (2048, 8), (738, 64))
if os.environ.get('SHAPES'):
    shapes = [tuple(map(int, s.split('x')))
              for s in os.environ['SHAPES'].split(',')]
rows = (('vim-ti seq', 'vim-tiny', False), ('vim-ti bidir', 'vim-tiny', True),
        ('deit-ti sdpa', 'deit-tiny-sdpa', False))
if os.environ.get('ONLY'):
    rows = [r for r in rows if os.environ['ONLY'] in r[0]]
for res, batch in shapes:
    outs = {}
    for label, model_name, bidir in rows:
        bm.BiMamba._needs_grad = ((lambda self, xz: True) if bidir else
                                  needs_grad)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        torch.manual_seed(0)  # same weights and images for seq and bidir
        model = bb.build_feature_model(
            bb.parse_model(model_name)[1], res, None).cuda().eval()
        x = torch.randn(batch, 3, res, res, device='cuda')

        def step():
            with torch.inference_mode(), torch.autocast(
                    'cuda', dtype=torch.bfloat16):
                return model(x)

        times = bb.time_fn(step, torch.device('cuda'), 5, 10)
        med = statistics.median(times)
        print(f'{res}² b{batch} {label:<13} {batch / med:9.1f} img/s '
              f'{med * 1e3:8.2f} ms  peak '
              f'{torch.cuda.max_memory_allocated() / G:6.3f} GiB', flush=True)
        if label.startswith('vim'):
            outs[label] = step()[0].cpu() if batch == 64 else None
        del model, x
    if outs.get('vim-ti seq') is not None and 'vim-ti bidir' in outs:
        a, b = outs['vim-ti seq'], outs['vim-ti bidir']
        print(f'  seq vs bidir outputs: equal={torch.equal(a, b)} max|diff|='
              f'{(a.float() - b.float()).abs().max().item():.3g}')
