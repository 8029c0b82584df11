"""Vim-Ti inference (feature model of benchmark_backbone.py, bf16 autocast,
inference_mode): the inference core with conv1d_silu_proj (this session)
against the previous one (single-direction conv kernel, x_proj / dt_proj
GEMMs, B/C copies), same process, same weights and images; DeiT-Ti SDPA
beside. img/s from the median of 10 CUDA-event-timed batches after 5, peak
= max_memory_allocated over them (image and weights included).
SHAPES=1248x64,2048x8 restricts the points; ONLY=vim restricts the rows."""
import os
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba.models.layers.bimamba as bm  # noqa: E402
from mmmamba.ops import conv1d_silu, selective_scan_into  # noqa: E402

new_core = bm.BiMamba._forward_core_fused_inference


def old_core(self, xz):
    """The inference core of commit 9b763fc."""
    e = self.d_inner
    x, z = xz[..., :e], xz[..., e:]
    w_f, b_f, w_b, b_b = self._conv_params(x)
    y = xz.new_empty(x.shape)
    scale = 0.5 if self.divide_output else 1.0
    directions = (
        (w_f, b_f, self.x_proj, self.dt_proj, self.A_log, self.D, False),
        (w_b, b_b, self.x_proj_b, self.dt_proj_b, self.A_b_log, self.D_b,
         True))
    for w, b, x_proj, dt_proj, A_log, D, reverse in directions:
        u = conv1d_silu(x, w, b, reverse=reverse, backend='triton')
        delta, B, C = self._projections(u, x_proj, dt_proj)
        selective_scan_into(
            y.transpose(1, 2), u.transpose(1, 2), delta,
            -torch.exp(A_log.float()), B, C, D.float(),
            z.transpose(1, 2), dt_proj.bias.float(),
            delta_softplus=True, reverse=reverse, out_scale=scale,
            accumulate=reverse, backend='triton')
        del u, delta, B, C
    return y


G = 2**30
shapes = ((1248, 64), (1248, 8), (2048, 8), (738, 64))
if os.environ.get('SHAPES'):
    shapes = [tuple(map(int, s.split('x')))
              for s in os.environ['SHAPES'].split(',')]
rows = (('vim-ti new', 'vim-tiny', new_core),
        ('vim-ti old', 'vim-tiny', old_core),
        ('deit-ti sdpa', 'deit-tiny-sdpa', None))
if os.environ.get('ONLY'):
    rows = [r for r in rows if os.environ['ONLY'] in r[0]]
print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
for res, batch in shapes:
    outs = {}
    for label, model_name, core in rows:
        if core is not None:
            bm.BiMamba._forward_core_fused_inference = core
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        torch.manual_seed(0)
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
        if core is not None:
            outs[label] = step()[-1].float().cpu()
        del model, x
    if len(outs) == 2:
        a, b = outs['vim-ti new'], outs['vim-ti old']
        print(f'  new vs old last features: max|diff| / max|old| = '
              f'{(a - b).abs().max().item() / b.abs().max().item():.3g}')
bm.BiMamba._forward_core_fused_inference = new_core
