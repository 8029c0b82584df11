# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark VMamba's channel LayerNorm (``mmmamba.ops.layer_norm2d``) and
print a table.

GPU (default when CUDA is available): the four stage shapes of VMamba-T at
224², batch 128 (C = 96 .. 768), the map bf16 as AMP gives it, channels-last
(``--layouts cl``: what VMamba's maps are after their first norm) or NCHW
(``nchw``), under bf16 autocast as the model runs it, for the two outputs
the model asks for: fp32 (``F.layer_norm``'s under autocast: the stem and
downsample norms) and bf16 (``cast_output``: a VSS block's three norms;
the reference then casts, as the consumer's autocast did). Backends
(``--backends``): ``reference`` (the official composition: permute,
``F.layer_norm``, permute back), ``triton``, and ``inductor`` (the
reference under ``torch.compile``; not in the default list). Forward (no
grad) and forward+backward, GPU time per call (queued CUDA events), each
also as a percentage of the memory floor measured in the same run: every
tensor read once and written once (forward: x -> y; backward: x, dy ->
dx) at the measured device-to-device copy bandwidth.

``--sweep`` (GPU): instead of the table, time the Triton kernels alone over
launch configurations (:data:`SWEEP_BLOCK_P` x :data:`SWEEP_WARPS`) as
GB/s of the memory floor; the defaults are marked.

CPU (``--device cpu``; ``--quick`` for a toy shape, the CI smoke test): the
same table without autocast; the Triton backend runs in Triton's
interpreter (``TRITON_INTERPRET=1`` is set if unset), so its times say
nothing about speed.

Examples::

    python tools/analysis_tools/benchmark_layer_norm2d.py --out benchmarks/layer_norm2d.md
    python tools/analysis_tools/benchmark_layer_norm2d.py --backends reference triton inductor
    python tools/analysis_tools/benchmark_layer_norm2d.py --sweep --layouts cl
    python tools/analysis_tools/benchmark_layer_norm2d.py --device cpu --quick
"""  # noqa: E501
import argparse
import contextlib
import itertools
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import (add_common_args,  # noqa: E402
                            measure_copy_bandwidth, pick_shapes, time_cpu,
                            time_cuda, write_table)

# name: (B, C, H, W)
GPU_SHAPES = {
    'VMamba-T s1 b128': (128, 96, 56, 56),
    'VMamba-T s2 b128': (128, 192, 28, 28),
    'VMamba-T s3 b128': (128, 384, 14, 14),
    'VMamba-T s4 b128': (128, 768, 7, 7),
}
CPU_SHAPES = {'VMamba-T s3 b2': (2, 384, 14, 14)}
QUICK_SHAPES = {'toy': (2, 24, 5, 7)}
BACKENDS = ('reference', 'triton', 'inductor')
LAYOUTS = ('cl', 'nchw')
# y's dtype: fp32 is what F.layer_norm returns under CUDA autocast
OUTPUTS = {'fp32': torch.float32, 'bf16': torch.bfloat16}
EPS = 1e-6

SWEEP_BLOCK_P = (1, 2, 4, 8, 16, 32, 64)
SWEEP_WARPS = (2, 4, 8)


def floor_bytes(shape: Tuple[int, int, int, int], out_bytes: int,
                backward: bool) -> int:
    """Minimum bytes moved for a bf16 map: the forward reads x (2 bytes)
    and writes y (``out_bytes``); the backward reads x and dy (of y's
    dtype) and writes dx (bf16)."""
    n = shape[0] * shape[1] * shape[2] * shape[3]
    fwd = n * (2 + out_bytes)
    return fwd + n * (2 + out_bytes + 2) if backward else fwd


def make_inputs(shape: Tuple[int, int, int, int], layout: str,
                device: str) -> Dict[str, torch.Tensor]:
    g = torch.Generator(device='cpu').manual_seed(0)

    def rnd(*s):
        return torch.randn(*s, generator=g).to(device)

    x = rnd(*shape).to(torch.bfloat16)
    if layout == 'cl':
        x = x.contiguous(memory_format=torch.channels_last)
    C = shape[1]
    return dict(x=x.requires_grad_(),
                weight=(1 + 0.1 * rnd(C)).requires_grad_(),
                bias=(0.1 * rnd(C)).requires_grad_())


def make_fn(backend: str, out_dtype: Optional[torch.dtype]) -> Callable:
    from mmmamba.ops.layer_norm2d import layer_norm_2d
    name = 'reference' if backend == 'inductor' else backend

    def fn(x, w, b):
        return layer_norm_2d(x, w, b, EPS, out_dtype=out_dtype, backend=name)

    return torch.compile(fn, fullgraph=True) if backend == 'inductor' else fn


def time_it(fn: Callable, device: str, repeats: int, warmup: int) -> float:
    if device == 'cuda':
        return time_cuda(fn, repeats, warmup, queued=True)
    return time_cpu(fn, repeats, warmup)


def _autocast(device: str):
    if device == 'cuda':
        return torch.autocast('cuda', dtype=torch.bfloat16)
    return contextlib.nullcontext()


def measure(shape, layout: str, out: str, backend: str, device: str,
            repeats: int, warmup: int) -> Dict:
    ins = make_inputs(shape, layout, device)
    fn = make_fn(backend, OUTPUTS[out])
    leaves = [ins['x'], ins['weight'], ins['bias']]
    with _autocast(device), torch.no_grad():
        dy = torch.ones_like(fn(*leaves))

    def fwd():
        with _autocast(device), torch.no_grad():
            fn(*leaves)

    def fwd_bwd():
        with _autocast(device):
            y = fn(*leaves)
        torch.autograd.grad(y, leaves, dy)

    return dict(backend=backend, layout=layout, out=out,
                fwd_ms=time_it(fwd, device, repeats, warmup),
                fwdbwd_ms=time_it(fwd_bwd, device, repeats, warmup))


def sweep(shape, layout: str, device: str, repeats: int,
          warmup: int) -> List[Dict]:
    """Time the Triton kernels alone over launch configurations, bf16 out
    (in the interpreter on CPU: a smoke test of this code, not a
    timing)."""
    from mmmamba.ops.layer_norm2d import triton_kernels as tk
    ins = make_inputs(shape, layout, device)
    x, w, b = (ins[k].detach() for k in ('x', 'weight', 'bias'))
    dy = tk.layer_norm_2d_fwd(x, w, b, EPS, torch.bfloat16)
    f_bytes = floor_bytes(shape, 2, False)
    b_bytes = floor_bytes(shape, 2, True) - f_bytes
    B, C, H, W = shape
    default_f = tk.default_config(C, H * W)
    default_b = tk.default_config(C, H * W, backward=True)
    block_c = tk.next_power_of_2(C)
    out = []
    for block_p, warps in itertools.product(SWEEP_BLOCK_P, SWEEP_WARPS):
        if block_p * block_c > 16384 or warps * 32 > block_p * block_c:
            continue
        cfg = tk.LayerNorm2dConfig(block_p, warps)
        t_f = time_it(
            lambda: tk.layer_norm_2d_fwd(x, w, b, EPS, torch.bfloat16,
                                         config=cfg), device, repeats, warmup)
        t_b = time_it(
            lambda: tk.layer_norm_2d_bwd(dy, x, w, EPS, config=cfg), device,
            repeats, warmup)
        is_default = [
            name for name, hit in (('fwd', cfg[:2] == default_f[:2]),
                                   ('bwd', cfg[:2] == default_b[:2])) if hit
        ]
        row = dict(config=f'({block_p}, {warps})',
                   default=' / '.join(is_default), fwd_ms=t_f, bwd_ms=t_b,
                   fwd_gbs=f_bytes / t_f / 1e6, bwd_gbs=b_bytes / t_b / 1e6)
        out.append(row)
        print(f"| {row['config']} | {row['default']} | {t_f:.4f} | "
              f"{t_b:.4f} | {row['fwd_gbs']:.0f} | {row['bwd_gbs']:.0f} |",
              flush=True)
    return out


SWEEP_HEADER = ('| (block_p, warps) | default for | fwd ms | bwd ms '
                '| fwd GB/s | bwd GB/s |\n|---|---|---|---|---|---|')
HEADER_GPU = ('| shape | layout | y dtype | backend | fwd ms | fwd+bwd ms '
              '| % mem floor fwd | % mem floor fwd+bwd |\n'
              '|---|---|---|---|---|---|---|---|')
HEADER_CPU = ('| shape | layout | y dtype | backend | fwd ms | fwd+bwd ms |\n'
              '|---|---|---|---|---|---|')


def fmt_row(r: Dict) -> str:
    cells = [r['shape'], r['layout'], r['out'], r['backend'],
             f'{r["fwd_ms"]:.4f}', f'{r["fwdbwd_ms"]:.4f}']
    if 'pct_mem_fwd' in r:
        cells += [f'{r["pct_mem_fwd"]:.1f}', f'{r["pct_mem_fwdbwd"]:.1f}']
    return '| ' + ' | '.join(cells) + ' |'


def speedups(rows: List[Dict]) -> List[str]:
    """Reference / other time ratios per shape, layout and output."""
    index = {(r['shape'], r['layout'], r['out'], r['backend']): r
             for r in rows}
    lines = []
    for (shape, layout, out, backend), r in index.items():
        ref = index.get((shape, layout, out, 'reference'))
        if backend == 'reference' or ref is None:
            continue
        lines.append(f'- {shape} {layout} {out}: reference/{backend} '
                     f'forward {ref["fwd_ms"] / r["fwd_ms"]:.2f}x, '
                     f'forward+backward '
                     f'{ref["fwdbwd_ms"] / r["fwdbwd_ms"]:.2f}x')
    return lines


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser, repeats=50, warmup=5)
    parser.add_argument('--backends', nargs='+', choices=BACKENDS,
                        default=['reference', 'triton'])
    parser.add_argument('--layouts', nargs='+', choices=LAYOUTS,
                        default=list(LAYOUTS))
    parser.add_argument('--outputs', nargs='+', choices=list(OUTPUTS),
                        default=list(OUTPUTS),
                        help="y's dtype: fp32 (autocast's layer_norm) or "
                        'bf16 (cast_output)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    shapes = pick_shapes(args, GPU_SHAPES, CPU_SHAPES, QUICK_SHAPES)
    from mmmamba.ops._utils import is_triton_available
    backends = [b for b in args.backends
                if b != 'triton' or is_triton_available()]
    if args.device == 'cpu':
        backends = [b for b in backends if b != 'inductor']
    bandwidth = measure_copy_bandwidth() if args.device == 'cuda' else 0.0
    if bandwidth:
        print(f'copy bandwidth {bandwidth / 1e12:.2f} TB/s')
    if args.sweep:
        rows = []
        for (name, shape), layout in itertools.product(shapes.items(),
                                                       args.layouts):
            print(f'\n{name} {layout}\n{SWEEP_HEADER}')
            rows += [dict(r, shape=name, layout=layout)
                     for r in sweep(shape, layout, args.device, args.repeats,
                                    args.warmup)]
        return rows
    header = HEADER_GPU if bandwidth else HEADER_CPU
    print(header)
    rows = []
    for (name, shape), layout, out in itertools.product(
            shapes.items(), args.layouts, args.outputs):
        for backend in backends:
            row = measure(shape, layout, out, backend, args.device,
                          args.repeats, args.warmup)
            row['shape'] = name
            if bandwidth:
                out_bytes = 4 if out == 'fp32' else 2
                for key, bwd in (('fwd', False), ('fwdbwd', True)):
                    floor = floor_bytes(shape, out_bytes, bwd) / \
                        bandwidth * 1e3
                    row[f'pct_mem_{key}'] = 100 * floor / row[f'{key}_ms']
            rows.append(row)
            print(fmt_row(row), flush=True)
        if args.device == 'cuda':
            torch.cuda.empty_cache()
    summary = speedups(rows)
    print('\n'.join(summary))
    if args.out:
        command = ' '.join(argv if argv is not None else sys.argv[1:])
        write_table(args.out, args.device, header,
                    [fmt_row(r) for r in rows], summary,
                    f'\ncommand: benchmark_layer_norm2d.py {command}')
    return rows


if __name__ == '__main__':
    main()
