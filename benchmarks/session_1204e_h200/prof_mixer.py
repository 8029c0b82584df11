"""Vim-Ti's fused inference mixer core (both directions) at 1248², batch
BATCH (default 64), bf16: one warm-up call, then one call for ncu (call
B skips the warm-up's launches with --launch-skip)."""
import os

import torch

from mmmamba.models.layers import BiMamba

batch, seqlen = int(os.environ.get('BATCH', 64)), 6085
torch.manual_seed(0)
mixer = BiMamba(192).cuda().eval()
xz = torch.randn(batch, seqlen, 768, device='cuda', dtype=torch.bfloat16)
with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
    for _ in range(2):
        mixer.forward_core(xz)
torch.cuda.synchronize()
print('done', batch)
