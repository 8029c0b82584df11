# Copyright (c) mmmamba contributors. All rights reserved.
"""Where the time of one training step goes: kernel time by category.

Builds the classifiers of ``benchmark_backbone.py --mode vmamba-throughput``
(VMamba with average pooling, Vim with its class token, a linear head),
runs AMP training steps (forward, cross-entropy, backward, AdamW step,
``zero_grad``), or with ``--inference`` the feature extraction that
``benchmark_backbone.py --mode resolution`` times (the feature models, in
``torch.inference_mode`` under autocast), times ``--steps`` of them on the
wall clock after
``--warmup`` untimed ones, then profiles ``--profile-steps`` more with
``torch.profiler`` and prints, per model, the step time, the peak memory
allocated during the timed steps, the device-kernel time summed by category
(scan, GEMM, conv, norm, copies, optimizer, reductions, other elementwise)
and the top kernels by total time (ms per step and calls per step). On a
CPU (``--device cpu``, a smoke test) the profiled events are the CPU ops.

Categories are decided from kernel names (:func:`category`), so they are a
reading aid: ``copy`` holds PyTorch's ``direct_copy``/``bfloat16_copy``/
flip/cat kernels and cuDNN's layout transforms.

Example::

    python tools/analysis_tools/profile_train_step.py vim-tiny vmamba-tiny \\
        'vmamba-unfused={"type": "mmmamba.VMamba", "arch": "tiny",
                         "drop_path_rate": 0.2, "fuse_cross_scan": false}'
"""
import argparse
import collections
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark_backbone as bb  # noqa: E402

CATEGORIES = ('scan', 'gemm', 'conv', 'norm', 'copy', 'optimizer', 'reduce',
              'elementwise/other')


def category(name: str) -> str:
    """The category of a kernel (or CPU op) from its name."""
    n = name.lower()
    flat = n.replace('_', '')
    if any(k in flat for k in ('selectivescan', 'ss2dscan', 'bidirscan')):
        return 'scan'
    if any(k in n for k in ('gemm', 'cutlass', 'xmma', 'nvjet', 'addmm',
                            'aten::mm', 'matmul', 'linear')):
        return 'gemm'
    if 'conv' in n:
        return 'conv'
    if 'norm' in n:
        return 'norm'
    if any(k in n for k in ('adam', 'multi_tensor', 'foreach')):
        return 'optimizer'
    if any(k in n for k in ('copy', 'cat', 'flip', 'nchwtonhwc',
                            'nhwctonchw', 'transform', 'contiguous')):
        return 'copy'
    if 'reduce' in n or 'sum' in n:
        return 'reduce'
    return 'elementwise/other'


def profile_model(label: str,
                  spec,
                  device: str,
                  batch: int,
                  res: int,
                  warmup: int,
                  steps: int,
                  profile_steps: int,
                  top: int,
                  dtype: torch.dtype,
                  compile_mode: Optional[str] = None,
                  inference: bool = False) -> Dict:
    """Time and profile AMP training steps of one model; print its table.

    With ``compile_mode`` the model (not the optimizer) runs as
    ``torch.compile(model, fullgraph=True, mode=compile_mode)``; the
    compilation happens in the untimed warm-up steps. With ``inference``
    a step is one forward of the feature model (no loss, no optimizer)."""
    if inference:
        model = bb.build_feature_model(spec, res, None).to(device).eval()
        label = f'{label} (inference)'
    else:
        model = bb.build_classifier(spec, None, res).to(device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    if compile_mode:
        model = bb.maybe_compile(
            model,
            argparse.Namespace(compile=compile_mode,
                               compile_backend='inductor'))
        label = f'{label} (compiled, {compile_mode})'
    x = torch.randn(batch, 3, res, res, device=device)
    y = torch.randint(0, 1000, (batch, ), device=device)

    def step():
        if inference:
            with torch.inference_mode(), torch.autocast(device, dtype=dtype):
                return model(x)
        with torch.autocast(device, dtype=dtype):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    sync()
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    ms = (time.perf_counter() - t0) / steps * 1e3
    peak_gib = (torch.cuda.max_memory_allocated() / 2**30
                if device == 'cuda' else float('nan'))

    from torch.profiler import ProfilerActivity, profile
    act = ProfilerActivity.CUDA if device == 'cuda' else ProfilerActivity.CPU
    with profile(activities=[act]) as prof:
        for _ in range(profile_steps):
            step()
        sync()
    totals: Dict[str, float] = collections.Counter()
    calls: Dict[str, int] = collections.Counter()
    want = 'CUDA' if device == 'cuda' else 'CPU'
    for e in prof.events():
        if e.device_type.name != want:
            continue
        if device == 'cpu' and e.cpu_parent is not None:
            continue  # top-level CPU ops only, no double counting
        t = e.device_time_total if device == 'cuda' else e.cpu_time_total
        totals[e.name] += t
        calls[e.name] += 1
    per_cat: Dict[str, float] = collections.Counter()
    for n, t in totals.items():
        per_cat[category(n)] += t
    kernel_ms = sum(totals.values()) / 1e3 / profile_steps
    print(f'\n## {label}: {ms:.1f} ms per step wall ({batch / ms * 1e3:.0f} '
          f'img/s), kernel time {kernel_ms:.1f} ms per step, peak memory '
          f'{peak_gib:.2f} GiB (timed steps)')
    print('| category | ms per step |\n|---|---|')
    for c, t in per_cat.most_common():
        print(f'| {c} | {t / 1e3 / profile_steps:.2f} |')
    print(f'\ntop {top} (ms per step, calls per step, name):')
    for n, t in totals.most_common(top):
        print(f'  {t / 1e3 / profile_steps:8.3f} {calls[n] // profile_steps:5d}'
              f'  {n[:120]}')
    del model
    if device == 'cuda':
        torch.cuda.empty_cache()
    return dict(label=label, step_ms=ms, kernel_ms=kernel_ms,
                peak_gib=peak_gib,
                categories={c: t / 1e3 / profile_steps
                            for c, t in per_cat.items()})


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('models', nargs='+',
                   help='presets or LABEL=JSON backbone dicts, as '
                   'benchmark_backbone.py --models')
    p.add_argument('--device', default='cuda'
                   if torch.cuda.is_available() else 'cpu')
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--resolution', type=int, default=224)
    p.add_argument('--precision', choices=('bf16', 'fp16'), default='bf16')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--profile-steps', type=int, default=3)
    p.add_argument('--top', type=int, default=25)
    p.add_argument('--inference', action='store_true',
                   help='profile feature extraction (inference_mode, '
                   'autocast) instead of a training step')
    p.add_argument('--compile', nargs='?', const='default', default=None,
                   metavar='MODE',
                   help='torch.compile each model (fullgraph) with this '
                   'mode (default: default); compiled in the warm-up')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    dtype = torch.bfloat16 if args.precision == 'bf16' else torch.float16
    print(f'device {args.device}'
          + (f' ({torch.cuda.get_device_name()})'
             if args.device == 'cuda' else '')
          + f', torch {torch.__version__}, batch {args.batch_size}, '
          f'{args.resolution}², AMP {args.precision}, '
          + ('inference' if args.inference else 'AdamW'))
    results = []
    for text in args.models:
        label, spec = bb.parse_model(text)
        results.append(
            profile_model(label, spec, args.device, args.batch_size,
                          args.resolution, args.warmup, args.steps,
                          args.profile_steps, args.top, dtype, args.compile,
                          args.inference))
    return results


if __name__ == '__main__':
    main()
