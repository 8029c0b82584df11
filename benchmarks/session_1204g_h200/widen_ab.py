"""ScanConfig.widen_bc A/B (prepared 2026-12-04, not run: no device that
session). Vim-Ti's fused inference mixer core (both directions, bf16
autocast) at SHAPES, GPU kernel time per call (torch.profiler, 10 calls
after 3), for the forward scan configurations VARIANTS: 'off' (the
defaults), 'bc' (widen_bc=True), 'bcud' (widen_bc and widen_ud), each
also with '168' (a 168-register cap where the default has none: the
batch-8 tiles, 184-190 registers uncapped). The outputs must match 'off'
bit for bit. Then
Vim-Ti eager bf16 img/s at E2E shapes for each variant, alternating in one
process (median of 15 event-timed batches, 3 rounds)."""
import os
import statistics
import sys
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from mmmamba.models.layers import BiMamba  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

DEFAULT = tk.default_config
VARIANTS = os.environ.get('VARIANTS',
                          'off,bc,bc168,bcud,bcud168').split(',')


def use(variant):
    def config(*args, **kwargs):
        cfg = DEFAULT(*args, **kwargs)
        if kwargs.get('backward') or (len(args) > 3 and args[3]):
            return cfg
        if variant == 'off' or not cfg.block_t:
            return cfg
        cfg = cfg._replace(widen_bc=True,
                           widen_ud=variant.startswith('bcud'))
        if variant.endswith('168') and not cfg.maxnreg:
            cfg = cfg._replace(maxnreg=168)
        return cfg
    tk.default_config = config


for spec in os.environ.get('SHAPES', '1248x64,1248x8,2048x8,224x128').split(
        ','):
    res, batch = map(int, spec.split('x'))
    seqlen = (res // 16)**2 + 1
    torch.manual_seed(0)
    mixer = BiMamba(192).cuda().eval()
    with torch.no_grad():
        for p in mixer.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    xz = torch.randn(batch, seqlen, 768, device='cuda', dtype=torch.bfloat16)
    ref = None
    for variant in VARIANTS:
        use(variant)

        def call():
            with torch.inference_mode(), torch.autocast('cuda',
                                                        torch.bfloat16):
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
        same = '' if ref is None else f' equal to off: {torch.equal(y, ref)}'
        ref = y if ref is None else ref
        print(f'{variant:6s} {res}² b{batch}: {sum(per.values()):.4f} '
              f'ms/call (kernels){same}; '
              + ', '.join(f'{k} {v:.4f}' for k, v in
                          sorted(per.items(), key=lambda kv: -kv[1])[:4]),
              flush=True)
    torch.cuda.empty_cache()

for spec in os.environ.get('E2E', '1248x64,2048x64,1248x8').split(','):
    res, batch = map(int, spec.split('x'))
    torch.manual_seed(0)
    m = bb.build_feature_model(bb.parse_model('vim-tiny')[1], res,
                               None).cuda().eval()
    x = torch.randn(batch, 3, res, res, device='cuda')

    def step():
        with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
            return m(x)

    for rnd in range(3):
        for variant in VARIANTS:
            use(variant)
            times = bb.time_fn(step, torch.device('cuda'), 3, 15)
            med = statistics.median(times)
            print(f'round {rnd} {variant:6s} Vim-Ti {res}² b{batch}: '
                  f'{batch / med:8.1f} img/s ({med * 1e3:.2f} ms/batch)',
                  flush=True)
    torch.cuda.empty_cache()
