# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark Vim's two depthwise convs + SiLU: the PyTorch path of
``BiMamba`` against the fused op :func:`mmmamba.ops.bidir_conv1d_silu`.

Input: ``x = xz[..., :E]`` of a contiguous (B, L, 2E) tensor (the
``in_proj`` output), K = 4; output: ``u_f`` and ``u_b`` as (B, L, E)
contiguous tensors (what ``x_proj`` consumes). Paths (``--paths``):

* ``pytorch``: what ``BiMamba._branch`` does with the Triton scan, per
  direction: transpose to (B, E, L), ``F.pad`` (left for the causal conv,
  right with the taps flipped for the anti-causal one), ``F.conv1d``
  (groups=E), slice, ``F.silu``, then ``.transpose(1, 2).contiguous()``;
* ``triton``: ``bidir_conv1d_silu(..., backend='triton')``;
* ``reference``: ``bidir_conv1d_silu(..., backend='reference')`` (on CPU by
  default).

fp32, and bf16 as AMP runs it (``torch.autocast``, bf16 activations, fp32
weights); forward (no grad) and forward+backward (gradients of x, both
weights and both biases from contiguous output gradients), median of
``--repeats`` CUDA-event timings. Each row also gives bytes: the floor
(each tensor read or written once: forward reads x and writes u_f, u_b,
3 passes of B·L·E elements; the backward reads x, gu_f, gu_b and writes
dx, 4 more) and a one-pass-per-op model of the path (:func:`model_bytes`),
and on GPU the floor at the measured copy bandwidth as a percentage of the
time.

``--sweep`` (GPU): time the Triton kernels alone over launch configurations
(:data:`SWEEP_FWD`, :data:`SWEEP_BWD`), each checked against the default
configuration's results, with the floor bandwidth they reach.

CPU (``--device cpu``; ``--quick`` for a toy shape, the CI smoke test): the
same table; Triton runs in its interpreter (``TRITON_INTERPRET=1`` is set if
unset), so the times say nothing about speed.

Examples::

    python tools/analysis_tools/benchmark_conv1d.py --out benchmarks/conv1d.md
    python tools/analysis_tools/benchmark_conv1d.py --sweep --dtypes bf16
    python tools/analysis_tools/benchmark_conv1d.py --device cpu --quick
"""
import argparse
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import (add_common_args,  # noqa: E402
                            measure_copy_bandwidth, pick_shapes, time_cpu,
                            time_cuda, write_table)

# name: (batch, seqlen, dim E = d_inner); Vim-Ti: D = 192, E = 384
GPU_SHAPES = {
    'Vim-Ti 224² b128': (128, 197, 384),
    'Vim-Ti 1248² b8': (8, 6085, 384),
    'Vim-Ti 1248² b64': (64, 6085, 384),
}
CPU_SHAPES = {'Vim-Ti 224² b2': (2, 197, 384)}
QUICK_SHAPES = {'toy b2': (2, 21, 8)}
PATHS = ('pytorch', 'triton', 'reference')
K = 4
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
# --sweep: (block_l, block_e, num_warps) forward; (block_l, block_e,
# num_warps, tiles, vec) backward
SWEEP_FWD = [(8, 64, 2), (16, 64, 4), (32, 64, 4), (8, 128, 4), (16, 128, 4),
             (32, 128, 8), (8, 64, 1), (16, 32, 2), (4, 128, 2), (32, 64, 8),
             (64, 64, 8)]
# backward: BLOCK_L * BLOCK_E / VEC >= 32 * num_warps keeps the shift axis
# inside each thread (see the kernel's docstring)
SWEEP_BWD = [(4, 64, 4, 16, 2), (4, 64, 4, 8, 2), (4, 64, 4, 32, 2),
             (8, 64, 4, 8, 4), (8, 32, 4, 16, 2), (2, 64, 2, 32, 2),
             (4, 128, 4, 16, 4), (8, 64, 8, 8, 2), (4, 64, 2, 16, 4),
             (2, 64, 1, 32, 4), (4, 32, 1, 16, 4), (4, 64, 4, 4, 2),
             (2, 64, 2, 8, 2), (8, 64, 4, 16, 4)]


def floor_bytes(batch: int, seqlen: int, dim: int, itemsize: int,
                backward: bool) -> int:
    """Each tensor read or written once (weights ignored): forward x, u_f,
    u_b; backward also x, gu_f, gu_b and dx."""
    n = batch * seqlen * dim * itemsize
    return 7 * n if backward else 3 * n


def model_bytes(batch: int, seqlen: int, dim: int, itemsize: int, path: str,
                backward: bool) -> int:
    """Bytes a path moves if each op reads its inputs and writes its
    outputs once (a prediction to read the times against).

    Per direction, in passes of B·L·E elements: pytorch forward 8 (pad:
    read x, write the padded copy; conv: 2; silu: 2; transpose-contiguous:
    2); its backward 9 (silu backward reads the gradient and the conv
    output, writes 1; conv input-gradient 2, weight-gradient 2; pad
    backward's slice and the sum of the two directions' dx into xz's
    gradient about 2). Triton and the reference: the floor for triton (the
    halo rows come from L2), the pytorch count for the reference (its
    extra fp32 casts ignored).
    """
    n = batch * seqlen * dim * itemsize
    if path == 'triton':
        return floor_bytes(batch, seqlen, dim, itemsize, backward)
    fwd = 2 * 8 * n
    return fwd + 2 * 9 * n if backward else fwd


def make_inputs(shape: Tuple[int, int, int], dtype: torch.dtype,
                device: str) -> Dict[str, torch.Tensor]:
    """xz (B, L, 2E) in ``dtype`` and fp32 conv parameters (as nn.Conv1d
    holds them), all requiring gradients; contiguous output gradients."""
    batch, seqlen, dim = shape
    g = torch.Generator().manual_seed(0)

    def rnd(*size, scale=1.0, dt=torch.float32):
        return (torch.randn(*size, generator=g) * scale).to(
            device, dt).requires_grad_(True)

    return dict(
        xz=rnd(batch, seqlen, 2 * dim, dt=dtype),
        weight_f=rnd(dim, 1, K, scale=K**-0.5),
        bias_f=rnd(dim, scale=0.1),
        weight_b=rnd(dim, 1, K, scale=K**-0.5),
        bias_b=rnd(dim, scale=0.1),
        grad_f=torch.randn(batch, seqlen, dim, generator=g).to(device, dtype),
        grad_b=torch.randn(batch, seqlen, dim, generator=g).to(device, dtype))


def pytorch_path(xz: Tensor, weight_f: Tensor, bias_f: Tensor,
                 weight_b: Tensor, bias_b: Tensor) -> Tuple[Tensor, Tensor]:
    """BiMamba's convs as ``_branch`` runs them (module docstring)."""
    dim = weight_f.shape[0]
    seqlen = xz.shape[1]
    x = xz.transpose(1, 2)[:, :dim]  # (B, E, L), as xz.chunk(2, dim=1)
    u_f = F.conv1d(F.pad(x, (K - 1, 0)), weight_f, bias_f, groups=dim)
    u_b = F.conv1d(F.pad(x, (0, K - 1)), weight_b.flip(-1), bias_b,
                   groups=dim)
    u_f = F.silu(u_f[..., :seqlen])
    u_b = F.silu(u_b[..., :seqlen])
    return (u_f.transpose(1, 2).contiguous(),
            u_b.transpose(1, 2).contiguous())


def path_fn(path: str) -> Callable:
    from mmmamba.ops import bidir_conv1d_silu
    if path == 'pytorch':
        return pytorch_path

    def fused(xz, weight_f, bias_f, weight_b, bias_b):
        dim = weight_f.shape[0]
        return bidir_conv1d_silu(xz[..., :dim], weight_f, bias_f, weight_b,
                                 bias_b, backend=path)

    return fused


def time_it(fn: Callable, device: str, repeats: int, warmup: int) -> float:
    if device == 'cuda':
        return time_cuda(fn, repeats, warmup)
    return time_cpu(fn, repeats, warmup)


def measure(shape: Tuple[int, int, int], dtype: torch.dtype, path: str,
            device: str, repeats: int, warmup: int,
            bandwidth: Optional[float]) -> Dict:
    """Forward and forward+backward times of one path, and its bytes."""
    ins = make_inputs(shape, dtype, device)
    args = [ins[k] for k in ('xz', 'weight_f', 'bias_f', 'weight_b',
                             'bias_b')]
    fn = path_fn(path)

    def autocast():
        return torch.autocast(device, dtype=dtype,
                              enabled=dtype != torch.float32)

    def fwd():
        with torch.no_grad(), autocast():
            fn(*args)

    def fwd_bwd():
        with autocast():
            u_f, u_b = fn(*args)
        torch.autograd.backward((u_f, u_b), (ins['grad_f'], ins['grad_b']))

    itemsize = torch.finfo(dtype).bits // 8
    row = dict(path=path, dtype=str(dtype).split('.')[-1])
    row['fwd_ms'] = time_it(fwd, device, repeats, warmup)
    row['fwdbwd_ms'] = time_it(fwd_bwd, device, repeats, warmup)
    for key, bwd in (('fwd', False), ('fwdbwd', True)):
        floor = floor_bytes(*shape, itemsize, bwd)
        row[f'floor_{key}_mb'] = floor / 1e6
        row[f'model_{key}_mb'] = model_bytes(*shape, itemsize, path,
                                             bwd) / 1e6
        row[f'pct_{key}'] = (100 * floor / bandwidth * 1e3 / row[f'{key}_ms']
                             if bandwidth else float('nan'))
    return row


HEADER = ('| shape | dtype | path | fwd ms | fwd+bwd ms | floor MB fwd | '
          'model MB fwd | floor MB fwd+bwd | model MB fwd+bwd | '
          'floor % fwd | floor % fwd+bwd |\n'
          '|---|---|---|---|---|---|---|---|---|---|---|')


def fmt_row(r: Dict) -> str:
    cells = [r['shape'], r['dtype'], r['path']]
    cells += [f"{r[k]:.3f}" for k in ('fwd_ms', 'fwdbwd_ms')]
    cells += [
        f'{r[k]:.4g}' for k in ('floor_fwd_mb', 'model_fwd_mb',
                                'floor_fwdbwd_mb', 'model_fwdbwd_mb')
    ]
    cells += [
        '-' if r[k] != r[k] else f'{r[k]:.0f}%'
        for k in ('pct_fwd', 'pct_fwdbwd')
    ]
    return '| ' + ' | '.join(cells) + ' |'


def speedups(rows: List[Dict]) -> List[str]:
    """pytorch / triton time ratios per shape and dtype."""
    index = {(r['shape'], r['dtype'], r['path']): r for r in rows}
    lines = []
    for (shape, dtype, path), fused in index.items():
        base = index.get((shape, dtype, 'pytorch'))
        if path != 'triton' or base is None:
            continue
        lines.append(
            f'- {shape} {dtype}: pytorch/triton forward '
            f"{base['fwd_ms'] / fused['fwd_ms']:.2f}x, forward+backward "
            f"{base['fwdbwd_ms'] / fused['fwdbwd_ms']:.2f}x")
    return lines


SWEEP_HEADER = ('| kernel | config | default | ms | floor GB/s |\n'
                '|---|---|---|---|---|')


def sweep(shape: Tuple[int, int, int], dtype: torch.dtype, device: str,
          repeats: int, warmup: int) -> List[Dict]:
    """Time the kernels alone over :data:`SWEEP_FWD` / :data:`SWEEP_BWD`
    (in the interpreter on CPU: a smoke test of this code)."""
    from mmmamba.ops.causal_conv1d import triton_kernels as tk
    batch, seqlen, dim = shape
    ins = make_inputs(shape, dtype, device)
    x = ins['xz'].detach()[..., :dim]
    w = [ins[k].detach().squeeze(1) for k in ('weight_f', 'weight_b')]
    b = [ins[k].detach() for k in ('bias_f', 'bias_b')]
    gf, gb = ins['grad_f'], ins['grad_b']
    fwd_args = (x, w[0], b[0], w[1], b[1])
    want_u = tk.bidir_conv1d_fwd(*fwd_args)
    want_g = tk.bidir_conv1d_bwd(gf, gb, *fwd_args)
    defaults = (tk.default_config(False, seqlen, dim),
                tk.default_config(True, seqlen, dim))
    itemsize = torch.finfo(dtype).bits // 8
    rows = []
    configs = [('fwd', tk.Conv1dConfig(*c)) for c in SWEEP_FWD]
    configs += [('bwd', tk.Conv1dConfig(*c)) for c in SWEEP_BWD]
    for kernel, cfg in configs:
        if kernel == 'fwd':
            got = tk.bidir_conv1d_fwd(*fwd_args, config=cfg)
            want, default = want_u, defaults[0]
            fn = lambda: tk.bidir_conv1d_fwd(*fwd_args, config=cfg)  # noqa
            n_bytes = 3 * batch * seqlen * dim * itemsize  # x; u_f, u_b
        else:
            got = tk.bidir_conv1d_bwd(gf, gb, *fwd_args, config=cfg)
            want, default = want_g, defaults[1]
            fn = lambda: tk.bidir_conv1d_bwd(gf, gb, *fwd_args,  # noqa
                                             config=cfg)
            n_bytes = 4 * batch * seqlen * dim * itemsize  # x, gu_*; dx
        for g_, w_ in zip(got, want):
            torch.testing.assert_close(g_.float(), w_.float(), rtol=1e-3,
                                       atol=1e-3 * w_.abs().max().item())
        ms = time_it(fn, device, repeats, warmup)
        row = dict(kernel=kernel, config=str(tuple(cfg)),
                   default='yes' if cfg == default else '', ms=ms,
                   gbs=n_bytes / ms / 1e6)
        rows.append(row)
        print(f"| {kernel} | {row['config']} | {row['default']} | "
              f"{ms:.3f} | {row['gbs']:.0f} |", flush=True)
    return rows


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser, repeats=20, warmup=3)
    parser.add_argument('--paths', nargs='+', choices=PATHS,
                        help='default: pytorch triton (plus reference on '
                        'CPU)')
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                        choices=list(DTYPES))
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    shapes = pick_shapes(args, GPU_SHAPES, CPU_SHAPES, QUICK_SHAPES)
    from mmmamba.ops._utils import is_triton_available
    paths = args.paths or (['pytorch', 'triton'] + (
        ['reference'] if args.device == 'cpu' else []))
    if not is_triton_available():
        paths = [p for p in paths if p != 'triton']
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
    bandwidth = None
    if args.device == 'cuda':
        bandwidth = measure_copy_bandwidth()
        print(f'copy bandwidth {bandwidth / 1e12:.2f} TB/s')
    print(HEADER)
    rows = []
    for name, shape in shapes.items():
        for dt in args.dtypes:
            for path in paths:
                row = measure(shape, DTYPES[dt], path, args.device,
                              args.repeats, args.warmup, bandwidth)
                row['shape'] = name
                rows.append(row)
                print(fmt_row(row), flush=True)
            if args.device == 'cuda':
                torch.cuda.empty_cache()
    summary = speedups(rows)
    print('\n'.join(summary))
    if args.out:
        write_table(args.out, args.device, HEADER,
                    [fmt_row(r) for r in rows], summary,
                    f'; copy bandwidth {bandwidth / 1e12:.2f} TB/s'
                    if bandwidth else '')
    return rows


if __name__ == '__main__':
    main()
