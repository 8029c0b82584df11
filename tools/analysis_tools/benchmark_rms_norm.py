# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark the add + RMSNorm backends (``mmmamba.ops.rms_norm``) and print
a table.

GPU (default when CUDA is available): Vim-Ti's two training/inference
shapes as (rows, C) = (batch * tokens, 192): 224² batch 128 (128 * 197
rows) and 1248² batch 8 (8 * 6085 rows); ``x`` in bf16 with the fp32
residual stream (AMP training, ``--dtypes bf16``) and everything fp32
(``fp32``); forward (no grad) and forward+backward with gradients arriving
on both outputs (as in Vim: ``dy`` from the mixer, d(new residual) from the
next layer), each also as a percentage of the memory floor measured in the
same run: every tensor read once and written once (forward: x, residual
-> y, new residual; backward: new residual, dy, d(new residual) -> dx,
d(residual)) at the measured device-to-device copy bandwidth. Backends
(``--backends``): ``reference``, ``triton``, and ``inductor`` (the reference
under ``torch.compile``, Inductor's own fusion; compiles once per shape,
not in the default list).

``--sweep`` (GPU): instead of the table, time the Triton kernels alone over
launch configurations (:data:`SWEEP_BLOCK_M` x :data:`SWEEP_WARPS`, and
:data:`SWEEP_PROGRAMS` programs per SM for the backward), as GB/s of the
memory floor; the defaults are marked.

CPU (``--device cpu``; ``--quick`` for a toy shape, the CI smoke test): the
same table; the Triton backend runs in Triton's interpreter
(``TRITON_INTERPRET=1`` is set if unset), so its times say nothing about
speed.

Examples::

    python tools/analysis_tools/benchmark_rms_norm.py --out benchmarks/rms_norm.md
    python tools/analysis_tools/benchmark_rms_norm.py --backends reference triton inductor
    python tools/analysis_tools/benchmark_rms_norm.py --sweep --dtypes bf16
    python tools/analysis_tools/benchmark_rms_norm.py --device cpu --quick
"""  # noqa: E501
import argparse
import itertools
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import (add_common_args,  # noqa: E402
                            measure_copy_bandwidth, pick_shapes, time_cpu,
                            time_cuda, write_table)

# name: (rows, C)
GPU_SHAPES = {
    'Vim-Ti 224² b128': (128 * 197, 192),
    'Vim-Ti 1248² b8': (8 * 6085, 192),
}
CPU_SHAPES = {'Vim-Ti 224² b8': (8 * 197, 192)}
QUICK_SHAPES = {'toy': (2 * 37, 192)}
BACKENDS = ('reference', 'triton', 'inductor')
# x dtype -> residual dtype, residual_in_fp32 as Vim: the stream is fp32
DTYPES = {'bf16': torch.bfloat16, 'fp32': torch.float32}
EPS = 1e-5

SWEEP_BLOCK_M = (1, 2, 4, 8, 16, 32)
SWEEP_WARPS = (1, 2, 4, 8)
SWEEP_PROGRAMS = (4, 8, 16)


def floor_bytes(rows: int, C: int, x_dtype: torch.dtype,
                backward: bool) -> int:
    """Minimum bytes moved: the forward reads x and the fp32 residual and
    writes y (x's dtype) and the fp32 new residual; the backward reads the
    new residual, dy and d(new residual) and writes dx and d(residual)
    (fp32; when x is fp32 too it is dx itself, written once)."""
    xs = torch.finfo(x_dtype).bits // 8
    fwd = rows * C * (2 * xs + 2 * 4)
    if not backward:
        return fwd
    dres = 0 if x_dtype == torch.float32 else 4
    return fwd + rows * C * (4 + xs + 4 + xs + dres)


def make_inputs(rows: int, C: int, x_dtype: torch.dtype,
                device: str) -> Dict[str, torch.Tensor]:
    g = torch.Generator(device='cpu').manual_seed(0)

    def rnd(*s, dt=torch.float32):
        return torch.randn(*s, generator=g).to(device, dt)

    return dict(
        x=rnd(rows, C, dt=x_dtype).requires_grad_(),
        residual=rnd(rows, C).requires_grad_(),
        weight=(1 + 0.1 * rnd(C)).requires_grad_(),
        gy=rnd(rows, C, dt=x_dtype),
        gr=rnd(rows, C))


def make_fn(backend: str) -> Callable:
    from mmmamba.ops.rms_norm import add_rms_norm
    if backend == 'inductor':

        def ref(x, residual, weight):
            return add_rms_norm(x, residual, weight, EPS, True,
                                backend='reference')

        return torch.compile(ref, fullgraph=True)
    return lambda x, residual, weight: add_rms_norm(
        x, residual, weight, EPS, True, backend=backend)


def time_it(fn: Callable, device: str, repeats: int, warmup: int) -> float:
    if device == 'cuda':
        return time_cuda(fn, repeats, warmup)
    return time_cpu(fn, repeats, warmup)


def measure(shape: Tuple[int, int], x_dtype: torch.dtype, backend: str,
            device: str, repeats: int, warmup: int) -> Dict:
    rows, C = shape
    ins = make_inputs(rows, C, x_dtype, device)
    fn = make_fn(backend)
    leaves = [ins['x'], ins['residual'], ins['weight']]

    def fwd():
        with torch.no_grad():
            fn(*leaves)

    def fwd_bwd():
        y, new_res = fn(*leaves)
        torch.autograd.grad([y, new_res], leaves, [ins['gy'], ins['gr']])

    return dict(
        backend=backend, dtype=str(x_dtype).split('.')[-1],
        fwd_ms=time_it(fwd, device, repeats, warmup),
        fwdbwd_ms=time_it(fwd_bwd, device, repeats, warmup))


def sweep(shape: Tuple[int, int], x_dtype: torch.dtype, device: str,
          repeats: int, warmup: int) -> List[Dict]:
    """Time the Triton kernels alone over launch configurations (in the
    interpreter on CPU: a smoke test of this code, not a timing)."""
    from mmmamba.ops.rms_norm import triton_kernels as tk
    rows, C = shape
    ins = make_inputs(rows, C, x_dtype, device)
    x, res, w = (ins[k].detach() for k in ('x', 'residual', 'weight'))
    r = tk.add_rms_norm_fwd(x, res, w, EPS, torch.float32)[1]
    f_bytes = floor_bytes(rows, C, x_dtype, False)
    b_bytes = floor_bytes(rows, C, x_dtype, True) - f_bytes
    second = None if x_dtype == torch.float32 else torch.float32
    default_f = tk.default_config(C)
    default_b = tk.default_config(C, backward=True)
    out = []
    block_c = 1 << (C - 1).bit_length()
    grid = itertools.product(SWEEP_BLOCK_M, SWEEP_WARPS, SWEEP_PROGRAMS)
    for block_m, warps, progs in grid:
        if block_m * block_c > 16384 or warps * 32 > block_m * block_c:
            continue
        cfg = tk.RMSNormConfig(block_m, warps, progs)
        t_f = float('nan')
        if progs == SWEEP_PROGRAMS[0]:  # the forward ignores programs/SM
            t_f = time_it(
                lambda: tk.add_rms_norm_fwd(x, res, w, EPS, torch.float32,
                                            config=cfg), device, repeats,
                warmup)
        t_b = time_it(
            lambda: tk.add_rms_norm_bwd(ins['gy'], ins['gr'], r, w, EPS,
                                        x_dtype, second, config=cfg),
            device, repeats, warmup)
        is_default = [
            name for name, hit in (
                ('fwd', cfg[:2] == default_f[:2]
                 and progs == SWEEP_PROGRAMS[0]), ('bwd', cfg == default_b))
            if hit
        ]
        row = dict(
            config=f'({block_m}, {warps}, {progs})',
            default=' / '.join(is_default),
            fwd_ms=t_f,
            bwd_ms=t_b,
            fwd_gbs=f_bytes / t_f / 1e6,
            bwd_gbs=b_bytes / t_b / 1e6)
        out.append(row)
        print(f"| {row['config']} | {row['default']} | {t_f:.4f} | "
              f"{t_b:.4f} | {row['fwd_gbs']:.0f} | {row['bwd_gbs']:.0f} |",
              flush=True)
    return out


SWEEP_HEADER = ('| (block_m, warps, programs/SM) | default for | fwd ms '
                '| bwd ms | fwd GB/s | bwd GB/s |\n|---|---|---|---|---|---|')
HEADER_GPU = ('| shape | x dtype | backend | fwd ms | fwd+bwd ms '
              '| mem floor fwd ms | % mem floor fwd | mem floor fwd+bwd ms '
              '| % mem floor fwd+bwd |\n|---|---|---|---|---|---|---|---|---|')
HEADER_CPU = ('| shape | x dtype | backend | fwd ms | fwd+bwd ms |\n'
              '|---|---|---|---|---|')


def fmt_row(r: Dict) -> str:
    cells = [r['shape'], r['dtype'], r['backend'], f'{r["fwd_ms"]:.4f}',
             f'{r["fwdbwd_ms"]:.4f}']
    if 'pct_mem_fwd' in r:
        cells += [
            f'{r["mem_floor_fwd_ms"]:.4f}', f'{r["pct_mem_fwd"]:.1f}',
            f'{r["mem_floor_fwdbwd_ms"]:.4f}', f'{r["pct_mem_fwdbwd"]:.1f}'
        ]
    return '| ' + ' | '.join(cells) + ' |'


def speedups(rows: List[Dict]) -> List[str]:
    """Reference / other time ratios per shape and dtype."""
    index = {(r['shape'], r['dtype'], r['backend']): r for r in rows}
    lines = []
    for (shape, dtype, backend), r in index.items():
        ref = index.get((shape, dtype, 'reference'))
        if backend == 'reference' or ref is None:
            continue
        lines.append(f'- {shape} {dtype}: reference/{backend} forward '
                     f'{ref["fwd_ms"] / r["fwd_ms"]:.2f}x, forward+backward '
                     f'{ref["fwdbwd_ms"] / r["fwdbwd_ms"]:.2f}x')
    return lines


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser, repeats=50, warmup=5)
    parser.add_argument('--backends', nargs='+', choices=BACKENDS,
                        default=['reference', 'triton'])
    parser.add_argument('--dtypes', nargs='+', default=['bf16', 'fp32'],
                        choices=list(DTYPES),
                        help="x's dtype (the residual stream is fp32)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    shapes = pick_shapes(args, GPU_SHAPES, CPU_SHAPES, QUICK_SHAPES)
    from mmmamba.ops.rms_norm import available_norm_backends
    backends = [
        b for b in args.backends
        if b in available_norm_backends() or b == 'inductor'
    ]
    if args.device == 'cpu':
        backends = [b for b in backends if b != 'inductor']
    bandwidth = measure_copy_bandwidth() if args.device == 'cuda' else 0.0
    if bandwidth:
        print(f'copy bandwidth {bandwidth / 1e12:.2f} TB/s')
    if args.sweep:
        rows = []
        for name, shape in shapes.items():
            for dt in args.dtypes:
                print(f'\n{name} {dt}\n{SWEEP_HEADER}')
                rows += [
                    dict(r, shape=name, dtype=dt)
                    for r in sweep(shape, DTYPES[dt], args.device,
                                   args.repeats, args.warmup)
                ]
        return rows
    header = HEADER_GPU if bandwidth else HEADER_CPU
    print(header)
    rows = []
    for name, shape in shapes.items():
        for dt in args.dtypes:
            for backend in backends:
                row = measure(shape, DTYPES[dt], backend, args.device,
                              args.repeats, args.warmup)
                row['shape'] = name
                if bandwidth:
                    for key, bwd in (('fwd', False), ('fwdbwd', True)):
                        floor = floor_bytes(*shape, DTYPES[dt], bwd) / \
                            bandwidth * 1e3
                        row[f'mem_floor_{key}_ms'] = floor
                        row[f'pct_mem_{key}'] = 100 * floor / row[
                            f'{key}_ms']
                rows.append(row)
                print(fmt_row(row), flush=True)
            if args.device == 'cuda':
                torch.cuda.empty_cache()
    summary = speedups(rows)
    print('\n'.join(summary))
    if args.out:
        write_table(args.out, args.device, header,
                    [fmt_row(r) for r in rows], summary)
    return rows


if __name__ == '__main__':
    main()
