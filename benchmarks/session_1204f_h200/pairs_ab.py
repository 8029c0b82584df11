"""Vim-Ti's fused inference mixer core (BiMamba.forward_core, both
directions, bf16 autocast, no grad) at SHAPES, per variant of how the
time-major scan reads B and C: GPU kernel time per call by kernel
(torch.profiler, 10 calls after 3 warm-up ones), the output's checksum and
whether it equals the first variant's bit for bit.

Variants (one process, module attributes patched between them):
  bf16-tiles  BC_NL=1: bf16 (T, N) tiles, widened to fp32 after the layout
              conversion (the session's start)
  pairs       BC_NL=2: int32 pairs widened by shifts before it (the tree)
  pairs-capN  pairs, with the split (batch-8) tiles under an N-register
              cap / the unsplit ones under N instead of 168
"""
import os
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from mmmamba.models.layers import BiMamba
from mmmamba.ops.selective_scan import triton_kernels as tk

bc_layout = tk.bc_layout
default_config = tk.default_config


def patch(pairs: bool, cap_split: int = 0, cap_unsplit: int = 168):
    tk.bc_layout = (bc_layout if pairs else
                    (lambda B, C: min(bc_layout(B, C), 1)))

    def cfg(*args, **kwargs):
        c = default_config(*args, **kwargs)
        if not kwargs.get('backward') and c.block_t:
            if c.n_seg > 1 and cap_split:
                c = c._replace(maxnreg=cap_split)
            elif c.maxnreg:
                c = c._replace(maxnreg=cap_unsplit)
        return c

    tk.default_config = cfg


VARIANTS = {
    'bf16-tiles': dict(pairs=False),
    'pairs': dict(pairs=True),
    'pairs-cap168': dict(pairs=True, cap_split=168),
    'pairs-cap184': dict(pairs=True, cap_split=184, cap_unsplit=184),
}

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

    first = None
    for rnd in range(2):  # two rounds: drift shows as round-to-round spread
        for name, kw in VARIANTS.items():
            if batch > 8 and kw.get('cap_split') and 'cap_unsplit' not in kw:
                continue  # the split cap does not apply
            patch(**kw)
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
            if first is None:
                first = y.clone()
            same = torch.equal(y, first)
            print(f'r{rnd} {name:13s} {res}² b{batch}: '
                  f'{sum(per.values()):.4f} ms/call (kernels) '
                  f'bit-equal {same} checksum '
                  f'{y.double().sum().item():.6e}; '
                  + ', '.join(f'{k} {v:.4f}' for k, v in
                              sorted(per.items(), key=lambda kv: -kv[1])),
                  flush=True)
    del mixer, xz, y, first
