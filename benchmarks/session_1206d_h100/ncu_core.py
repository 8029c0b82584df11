"""callF (2026-12-06, fourth part): one mixer core of Vim-Ti's layer 12 at
2048² batch 64, bf16, inference (the one-launch conv + projection and the
one-launch scan), after two warm-up calls, for ncu to profile the third
call's kernels.

Usage: ncu ... python benchmarks/session_1206d_h100/ncu_core.py
"""
import torch

from mmmamba.models.backbones import VisionMamba

torch.manual_seed(0)
mixer = VisionMamba(arch='tiny').cuda().eval().layers[12].mixer
e = mixer.d_inner
xz = torch.randn(64, 16385, 2 * e, device='cuda').to(torch.bfloat16) * 0.6
with torch.inference_mode():
    for _ in range(3):
        mixer.forward_core(xz)
torch.cuda.synchronize()
print('done')
