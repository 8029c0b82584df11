"""Vim-Ti's fused inference mixer core (BiMamba.forward_core, both
directions, bf16 autocast, no grad) at SHAPES: GPU kernel time per call by
kernel (torch.profiler, 10 calls after 3 warm-up ones), in whatever
mmmamba PYTHONPATH gives. Also the output's checksum and its max |diff|
to the unfused path's (fuse_mixer=False) at the same inputs. LABEL names
the run."""
import os
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

import mmmamba
from mmmamba.models.layers import BiMamba

LABEL = os.environ.get('LABEL', 'tree')
print(f'{LABEL}: mmmamba from {os.path.dirname(mmmamba.__file__)}',
      flush=True)
for spec in os.environ.get('SHAPES', '1248x64').split(','):
    res, batch = map(int, spec.split('x'))
    seqlen = (res // 16)**2 + 1
    torch.manual_seed(0)
    mixer = BiMamba(192).cuda().eval()
    with torch.no_grad():  # trained-like parameters: not the init's ties
        for p in mixer.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    xz = torch.randn(batch, seqlen, 768, device='cuda', dtype=torch.bfloat16)

    def call():
        with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
            return mixer.forward_core(xz)

    for _ in range(3):
        y = call()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(10):
            call()
        torch.cuda.synchronize()
    per = defaultdict(float)
    for e in prof.key_averages():
        if e.device_type.name == 'CUDA':
            per[e.key[:34]] += e.device_time_total / 10 / 1e3
    mixer.fuse_mixer = False
    with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
        ref = mixer.forward_core(xz).float()
    diff = (y.float() - ref).abs().max().item() / ref.abs().max().item()
    print(f'{LABEL} {res}² b{batch}: {sum(per.values()):.4f} ms/call '
          f'(kernels) checksum {y.double().sum().item():.6e} '
          f'max|fused-unfused|/max|unfused| {diff:.2e}; '
          + ', '.join(f'{k} {v:.4f}' for k, v in
                      sorted(per.items(), key=lambda kv: -kv[1])),
          flush=True)
    del mixer, xz, y, ref
