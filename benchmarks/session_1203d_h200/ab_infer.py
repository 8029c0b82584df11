"""Vim-Ti inference (feature model of benchmark_backbone.py, bf16 autocast,
inference_mode): the fused core one direction at a time (this session's
default) against both directions at once (before), same process; DeiT-Ti
SDPA beside. img/s from the median of 10 CUDA-event-timed batches after 5,
peak = max_memory_allocated over them (image and weights included)."""
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba.models.layers.bimamba as bm  # noqa: E402

needs_grad = bm.BiMamba._needs_grad
G = 2**30
for res, batch in ((1248, 64), (1248, 8), (2048, 8), (738, 64)):
    outs = {}
    for label, model_name, bidir in (('vim-ti seq', 'vim-tiny', False),
                                     ('vim-ti bidir', 'vim-tiny', True),
                                     ('deit-ti sdpa', 'deit-tiny-sdpa',
                                      False)):
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
    if outs.get('vim-ti seq') is not None:
        a, b = outs['vim-ti seq'], outs['vim-ti bidir']
        print(f'  seq vs bidir outputs: equal={torch.equal(a, b)} max|diff|='
              f'{(a.float() - b.float()).abs().max().item():.3g}')
