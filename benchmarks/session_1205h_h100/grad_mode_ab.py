"""Eighth part of 2026-12-05: the scans' autograd Functions decided
whether to save the backward's chunk states from ``ctx.needs_input_grad``,
which follows requires_grad alone: under ``torch.inference_mode`` /
``no_grad`` a model whose parameters require grad (VMamba's D reaches the
scan as the parameter itself) ran the training forward. They now take
the caller's ``grad_needed`` (grad mode and requires_grad). This times
VMamba-T inference (bf16 autocast, inference_mode, 224², batch 128,
``forward_features`` as benchmark_backbone.py builds it), unfused and
fused SS2D, with the old decision (monkeypatched back: requires_grad
only) against the new one, three rounds alternating: ms per batch
(median of 20 CUDA-event timings after 5 warm-up calls) and peak GiB.
Vim-Ti is not timed: its inference runs launchers, no Function."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402

from mmmamba.ops import _utils  # noqa: E402
from mmmamba.ops.selective_scan import triton as sst  # noqa: E402
from mmmamba.ops.ss2d_scan import triton as s2t  # noqa: E402


def old_rule(*tensors):
    return any(t is not None and t.requires_grad for t in tensors)


dev = torch.device('cuda')
x = torch.randn(128, 3, 224, 224, device=dev)
for fused in (False, True):
    model = bb.build_feature_model(
        ('dict', dict(type='mmmamba.VMamba', arch='tiny', drop_path_rate=0.2,
                      out_indices=(0, 1, 2, 3), fuse_cross_scan=fused)),
        224, None).to(dev).eval()
    res = {}
    for rnd in range(3):
        for rule in ('old', 'new'):
            fn = old_rule if rule == 'old' else _utils.grad_needed
            sst.grad_needed = s2t.grad_needed = fn
            torch.cuda.reset_peak_memory_stats()
            with torch.inference_mode(), bb._autocast(dev, 'bf16'):
                ts = bb.time_fn(lambda: model(x), dev, 5, 20)
            ts.sort()
            peak = torch.cuda.max_memory_allocated() / 2**30
            res.setdefault(rule, []).append((ts[len(ts) // 2] * 1e3, peak))
    for rule, vals in res.items():
        print(f'VMamba-T fuse_cross_scan={fused} {rule} rule: ms per batch '
              + ' / '.join(f'{t:.2f}' for t, _ in vals) + '; img/s '
              + ' / '.join(f'{128e3 / t:.0f}' for t, _ in vals)
              + f'; peak {vals[-1][1]:.2f} GiB', flush=True)
    model = None
    torch.cuda.empty_cache()
sst.grad_needed = s2t.grad_needed = _utils.grad_needed
