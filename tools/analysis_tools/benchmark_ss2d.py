# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark VMamba's SS2D with the fused four-direction scan against the
unfused path (cross scan copies -> selective scan -> cross merge).

GPU (default when CUDA is available): VMamba-T's four stage shapes at 224²,
batch 128 (C = D = 96, 192, 384, 768 on 56², 28², 14², 7² grids, d_state 1),
fp32 and bf16 (``torch.autocast``, fp32 weights, as AMP training runs),
forward and forward+backward, of ``SS2D.forward_core`` (the part the fusion
changes; input the activated conv output (B, D, H, W)) and of the whole
``SS2D`` module. Paths (``--paths``):

* ``fused``: ``scan_backend='triton'``, ``fuse_cross_scan=True``;
* ``unfused``: ``scan_backend='triton'``, ``fuse_cross_scan=False`` (the
  Triton selective scan between PyTorch cross scan and cross merge);
* ``reference``: the unfused path with the PyTorch reference scan (slow).

Each row also gives the bytes the core moves under a simple model
(:func:`core_bytes`: each tensor op reads its inputs and writes its outputs
once; the fused kernel re-reads ``x`` once per direction and
read-modify-writes an fp32 accumulator), so that time / bytes can be read as
an effective bandwidth.

``--sweep`` (GPU): instead of the table, time the fused kernels alone
(``ss2d_scan_fwd`` with saved states, ``ss2d_scan_bwd``) over launch
configurations: :data:`SWEEP_GRID` (column directions step by step) and
:data:`SWEEP_TILES` (column tiles, each with and without ``acc_cg``),
printing each configuration's forward and backward time and effective
bandwidth under the kernel's own byte model (:func:`kernel_bytes`); the
current defaults are marked. Forward and backward may take different
``block_d``/warps but must share ``block_l`` and ``col_w``. The defaults
were taken from the plain scan's sweeps, not from one of these.

CPU (``--device cpu``; ``--quick`` for toy shapes, the CI smoke test): the
same table; Triton paths run in Triton's interpreter (``TRITON_INTERPRET=1``
is set if unset), so the times say nothing about speed.

Examples::

    python tools/analysis_tools/benchmark_ss2d.py --out benchmarks/ss2d.md
    python tools/analysis_tools/benchmark_ss2d.py --sweep \
        --shapes 'VMamba-T stage1 b128' --dtypes bf16
    python tools/analysis_tools/benchmark_ss2d.py --device cpu --quick
"""
import argparse
import datetime
import os
import os.path as osp
import platform
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import time_cpu, time_cuda  # noqa: E402

# name: (batch, embed_dims C, H, W); VMamba-T (s1l8): ssm_ratio 1 -> D = C
GPU_SHAPES = {
    'VMamba-T stage1 b128': (128, 96, 56, 56),
    'VMamba-T stage2 b128': (128, 192, 28, 28),
    'VMamba-T stage3 b128': (128, 384, 14, 14),
    'VMamba-T stage4 b128': (128, 768, 7, 7),
}
QUICK_SHAPES = {
    'toy stage1 b1': (1, 4, 3, 4),
    'toy stage2 b1': (1, 8, 2, 3),
}
CPU_SHAPES = {  # --device cpu without --quick: stage 4 at batch 2
    'VMamba-T stage4 b2': (2, 768, 7, 7),
}
PATHS = ('fused', 'unfused', 'reference')
K = 4
# --sweep, stage 1: (block_d, block_l, num_warps), column directions step
# by step, accumulator loads .cg
SWEEP_GRID = [(bd, bl, nw) for bl in (64, 128, 256)
              for bd, nw in ((1, 1), (2, 1), (2, 2), (4, 2), (4, 4))]
# stage 2: column tiles of col_w columns: (block_d, num_warps) x col_w x
# acc_cg (block_l 128 for the row directions)
SWEEP_TILES = [(bd, nw, cw) for cw in (4, 8, 16)
               for bd, nw in ((1, 2), (1, 4), (2, 4), (2, 8))]


def kernel_bytes(batch: int, dim: int, L: int, dstate: int, itemsize: int,
                 backward: bool) -> int:
    """Bytes the fused kernels move (atomics and chunk states ignored):
    forward reads x once per direction and delta, B, C once, plus the fp32
    accumulator (written, read+written twice, read) and the output; the
    backward reads x, delta and dy per direction, writes ddelta, reads B,
    C and accumulates dx the same way."""
    E = batch * dim * L
    bc = 2 * batch * K * dstate * L * itemsize
    acc = (4 + 2 * 8 + 4) * E + itemsize * E
    if backward:
        return (12 + 4) * E * itemsize + bc + acc
    return 8 * E * itemsize + bc + acc


def core_bytes(batch: int, dim: int, H: int, W: int, dstate: int,
               dt_rank: int, itemsize: int, path: str,
               backward: bool) -> int:
    """Bytes moved by ``forward_core`` (forward, or forward+backward) under
    a one-pass-per-op model; parameters ignored. A prediction to read the
    measured times against, not a measurement.

    Per element of (B, D, L), in units of ``itemsize`` unless said:

    * unfused forward (53): cross scan as implemented (transpose copy,
      stack, flip, cat: 9 read + 9 written), x projection over the copies
      (4 read), dt projection (4 written), scan (8 read + 4 written), cross
      merge as implemented (9 read + 6 written);
    * fused forward (13, plus 24 bytes + 1): x projection (1 read), dt
      projection (4 written), kernel (x once per direction: 4, delta 4)
      and the fp32 accumulator: written by the first direction (4 bytes),
      read and written by the next two (16), read by the last (4), which
      writes the output (1);
    * unfused backward (46), each gradient op reading its inputs and
      writing its outputs once: merge (1 + 4), scan (12 + 8), dt
      projection (ddelta read twice: input and weight gradients, 8), x
      projection (4 + 4), cross scan (4 + 1);
    * fused backward (29, plus 24 bytes + 1): kernel (x, delta, dy per
      direction: 12, ddelta written 4, dx accumulated as in the forward),
      dt projection (8), x projection (1 + 1), summing the two dx (3).

    The (B, K, R+2N, L) projection outputs add 3 (forward) and 4
    (backward) passes of their size.
    """
    E = batch * dim * H * W
    L = H * W
    small = batch * K * (dt_rank + 2 * dstate) * L  # x_dbl
    s = itemsize
    acc = 4 * E + 2 * 8 * E + 4 * E + s * E  # fp32 accumulator + output
    if path == 'fused':
        fwd = (1 + 4 + 4 + 4) * E * s + acc + 3 * small * s
    else:
        fwd = (9 + 9 + 4 + 4 + 8 + 4 + 9 + 6) * E * s + 3 * small * s
    if not backward:
        return fwd
    if path == 'fused':
        bwd = (12 + 4 + 8 + 1 + 1 + 2 + 1) * E * s + acc + 4 * small * s
    else:
        bwd = (1 + 4 + 12 + 8 + 8 + 4 + 4 + 4 + 1) * E * s + 4 * small * s
    return fwd + bwd


def build(C: int, path: str, device: str):
    """An SS2D of VMamba-T (d_state 1, ssm_ratio 1) on ``path``."""
    from mmmamba.models.layers import SS2D
    from mmmamba.models.layers.ss2d import vmamba_init_weights
    backend = 'reference' if path == 'reference' else 'triton'
    m = SS2D(C, d_state=1, ssm_ratio=1.0, scan_backend=backend,
             fuse_cross_scan=path == 'fused')
    m.apply(vmamba_init_weights)  # init_weights() without its log
    return m.to(device)


def time_it(fn: Callable, device: str, repeats: int, warmup: int) -> float:
    """Median milliseconds of ``fn`` (CUDA events on GPU), with
    benchmark_scan.py's timers."""
    if device == 'cuda':
        return time_cuda(fn, repeats, warmup)
    return time_cpu(fn, repeats, warmup)


def measure(shape: Tuple[int, int, int, int], dtype: torch.dtype,
            path: str, device: str, repeats: int, warmup: int) -> Dict:
    """Forward and forward+backward times of the core and the module."""
    batch, C, H, W = shape
    torch.manual_seed(0)
    m = build(C, path, device)
    D = m.d_inner
    x_core = torch.randn(batch, D, H, W, device=device, dtype=dtype,
                         requires_grad=True)
    x_mod = torch.randn(batch, C, H, W, device=device, dtype=dtype,
                        requires_grad=True)
    g_core = torch.randn(batch, D, H * W, device=device, dtype=dtype)
    g_mod = torch.randn_like(x_mod)

    def autocast():
        return torch.autocast(device, dtype=dtype,
                              enabled=dtype != torch.float32)

    def core_fwd():
        with torch.no_grad(), autocast():
            m.forward_core(x_core)

    def core_fwd_bwd():
        with autocast():
            out = m.forward_core(x_core)
        out.backward(g_core.to(out.dtype))

    def mod_fwd():
        with torch.no_grad(), autocast():
            m(x_mod)

    def mod_fwd_bwd():
        with autocast():
            out = m(x_mod)
        out.backward(g_mod.to(out.dtype))

    row = dict(path=path, dtype=str(dtype).split('.')[-1])
    for key, fn in (('core_fwd_ms', core_fwd), ('core_fwdbwd_ms',
                                                core_fwd_bwd),
                    ('ss2d_fwd_ms', mod_fwd), ('ss2d_fwdbwd_ms',
                                               mod_fwd_bwd)):
        row[key] = time_it(fn, device, repeats, warmup)
    itemsize = torch.finfo(dtype).bits // 8
    for key, bwd in (('core_fwd_mb', False), ('core_fwdbwd_mb', True)):
        row[key] = core_bytes(batch, D, H, W, m.d_state, m.dt_rank, itemsize,
                              'fused' if path == 'fused' else 'unfused',
                              bwd) / 1e6
    return row


def sweep(shape: Tuple[int, int, int, int], dtype: torch.dtype, device: str,
          repeats: int, warmup: int) -> List[Dict]:
    """Time the fused kernels alone over :data:`SWEEP_GRID` (on CPU in
    Triton's interpreter: a smoke test of this code, not a timing)."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    batch, C, H, W = shape
    D, L, N = C, H * W, 1
    g = torch.Generator(device='cpu').manual_seed(0)

    def rnd(*size, scale=1.0, dt=dtype):
        return (torch.randn(*size, generator=g) * scale).to(device, dt)

    u, delta = rnd(batch, D, L), rnd(batch, K, D, L, scale=0.5)
    Bm, Cm = rnd(batch, K, N, L), rnd(batch, K, N, L)
    A = -torch.rand(K * D, N, generator=g).add(0.5).to(device)
    Dv = torch.ones(K * D, device=device)
    bias = rnd(K * D, scale=0.1, dt=torch.float32)
    gout = rnd(batch, D, L)
    default = (tk.default_config(D, N, backward=False),
               tk.default_config(D, N, backward=True))
    itemsize = torch.finfo(dtype).bits // 8
    rows = []
    configs = [tk.SS2DScanConfig(bd, bl, nw) for bd, bl, nw in SWEEP_GRID]
    configs += [
        tk.SS2DScanConfig(bd, 128, nw, acc_cg, cw)
        for bd, nw, cw in SWEEP_TILES for acc_cg in (True, False)
    ]
    for cfg in configs:
        if D % cfg.block_d:
            continue
        fwd_cfg = tk.ss2d_scan_fwd(u, delta, A, Bm, Cm, Dv, bias, H, W,
                                   True, False, config=cfg)[2]
        if fwd_cfg.col_w != cfg.col_w:
            continue  # the tile does not fit: same as another row
        states = tk.ss2d_scan_fwd(u, delta, A, Bm, Cm, Dv, bias, H, W, True,
                                  True, config=cfg)[1]
        t_f = time_it(
            lambda: tk.ss2d_scan_fwd(u, delta, A, Bm, Cm, Dv, bias, H, W,
                                     True, True, config=cfg), device,
            repeats, warmup)
        t_b = time_it(
            lambda: tk.ss2d_scan_bwd(u, delta, A, Bm, Cm, Dv, bias, H, W,
                                     True, states, fwd_cfg, gout,
                                     config=cfg), device, repeats, warmup)
        row = dict(
            config=f'({cfg.block_d}, {cfg.block_l}, {cfg.num_warps}, '
            f'acc_cg={cfg.acc_cg}, col_w={cfg.col_w})',
            default=' / '.join(
                name for name, d in zip(('fwd', 'bwd'), default) if d == cfg),
            fwd_ms=t_f,
            bwd_ms=t_b,
            fwd_gbs=kernel_bytes(batch, D, L, N, itemsize, False) / t_f /
            1e6,
            bwd_gbs=kernel_bytes(batch, D, L, N, itemsize, True) / t_b / 1e6)
        rows.append(row)
        print(f"| {row['config']} | {row['default']} | {t_f:.3f} | "
              f"{t_b:.3f} | {row['fwd_gbs']:.0f} | {row['bwd_gbs']:.0f} |",
              flush=True)
    return rows


SWEEP_HEADER = ('| (block_d, block_l, warps, acc_cg, col_w) | default for '
                '| fwd ms '
                '| bwd ms | fwd GB/s | bwd GB/s |\n|---|---|---|---|---|---|')


HEADER = ('| shape | dtype | path | core fwd ms | core fwd+bwd ms | '
          'SS2D fwd ms | SS2D fwd+bwd ms | model MB core fwd | '
          'model MB core fwd+bwd |\n'
          '|---|---|---|---|---|---|---|---|---|')


def fmt_row(r: Dict) -> str:
    cells = [r['shape'], r['dtype'], r['path']] + [
        f'{r[k]:.3f}' for k in ('core_fwd_ms', 'core_fwdbwd_ms',
                                'ss2d_fwd_ms', 'ss2d_fwdbwd_ms')
    ] + [f'{r[k]:.4g}' for k in ('core_fwd_mb', 'core_fwdbwd_mb')]
    return '| ' + ' | '.join(cells) + ' |'


def speedups(rows: List[Dict]) -> List[str]:
    """Unfused / fused time ratios per shape and dtype."""
    lines = []
    index = {(r['shape'], r['dtype'], r['path']): r for r in rows}
    for (shape, dtype, path), fused in index.items():
        unfused = index.get((shape, dtype, 'unfused'))
        if path != 'fused' or unfused is None:
            continue
        ratios = ', '.join(
            f'{k[:-3].replace("_", " ")} {unfused[k] / fused[k]:.2f}x'
            for k in ('core_fwd_ms', 'core_fwdbwd_ms', 'ss2d_fwd_ms',
                      'ss2d_fwdbwd_ms'))
        lines.append(f'- {shape} {dtype}: unfused/fused {ratios}')
    return lines


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true',
                        help='toy shapes (CPU smoke test)')
    parser.add_argument('--paths', nargs='+', choices=PATHS,
                        help='default: fused unfused (plus reference on '
                        'CPU)')
    parser.add_argument('--shapes', nargs='*', help='subset of shape names')
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                        choices=['fp32', 'bf16'])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--sweep', action='store_true',
                        help='time the fused kernels over launch '
                        'configurations')
    parser.add_argument('--out', help='also write the table (markdown) here '
                        '(not with --sweep)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    if args.device == 'cpu':
        # Triton paths on CPU run in the interpreter; it must be set before
        # the kernels are first imported
        os.environ.setdefault('TRITON_INTERPRET', '1')
    if args.quick:
        shapes = QUICK_SHAPES
    else:
        shapes = GPU_SHAPES if args.device == 'cuda' else CPU_SHAPES
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    from mmmamba.ops import available_backends
    paths = args.paths or (['fused', 'unfused'] + (
        ['reference'] if args.device == 'cpu' else []))
    if 'triton' not in available_backends():
        paths = [p for p in paths if p == 'reference']
    if args.device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
    dtypes = {'fp32': torch.float32, 'bf16': torch.bfloat16}
    if args.sweep:
        rows = []
        for name, shape in shapes.items():
            for dt in args.dtypes:
                print(f'\n{name} {dt}\n{SWEEP_HEADER}')
                rows += [
                    dict(r, shape=name, dtype=dt)
                    for r in sweep(shape, dtypes[dt], args.device,
                                   args.repeats, args.warmup)
                ]
        return rows
    print(HEADER)
    rows = []
    for name, shape in shapes.items():
        for dt in args.dtypes:
            for path in paths:
                reps = min(args.repeats, 3) if path == 'reference' \
                    else args.repeats
                row = measure(shape, dtypes[dt], path, args.device, reps,
                              args.warmup)
                row['shape'] = name
                rows.append(row)
                print(fmt_row(row), flush=True)
            if args.device == 'cuda':
                torch.cuda.empty_cache()
    summary = speedups(rows)
    print('\n'.join(summary))
    if args.out:
        device = (torch.cuda.get_device_name(0) if args.device == 'cuda' else
                  f'{platform.processor() or platform.machine()}, '
                  f'{torch.get_num_threads()} threads')
        now = datetime.datetime.now(datetime.timezone.utc)
        with open(args.out, 'w') as f:
            f.write(f'date: {now:%Y-%m-%d %H:%M} UTC\n'
                    f'device: {device}; torch {torch.__version__}\n\n')
            f.write(HEADER + '\n')
            f.write('\n'.join(fmt_row(r) for r in rows) + '\n\n')
            f.write('\n'.join(summary) + '\n')
    return rows


if __name__ == '__main__':
    main()
