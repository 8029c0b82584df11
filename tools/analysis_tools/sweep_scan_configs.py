# Copyright (c) mmmamba contributors. All rights reserved.
"""Sweep launch configurations of the Triton selective-scan kernels.

Calls the launchers of :mod:`mmmamba.ops.selective_scan.triton_kernels`
directly with explicit :class:`ScanConfig` values (kernel time only: no
autograd wrapper), checks every configuration's output against the
configuration that :func:`default_config` picks, and prints one row per
(shape, dtype, mode, configuration) with the median of CUDA-event timings
of calls queued back to back (GPU time, ``time_cuda(queued=True)``).
This is how the defaults of ``default_config`` are chosen; the numbers
behind them go to ``benchmarks/NOTES.md``.

Modes: ``infer`` (forward without saved states), ``train`` (forward that
saves states for the backward) and ``bwd`` (backward only).

Layouts (``--layout``): ``contiguous`` (batch, dim, L) tensors, or
``channel-last`` ones (u, delta, z transposed views of (batch, L, dim)
tensors, as Vim's fused mixer passes them), where the step-loop forward
(``steps`` rows) runs too; its B and C are given in the layout it reads
(``bc_steps_layout``), so the rows time the kernels alone.

Example::

    python tools/analysis_tools/sweep_scan_configs.py --out sweep.csv
    python tools/analysis_tools/sweep_scan_configs.py \
        --shapes 'Vim-Ti 1248² b8' --dtypes bf16 --modes infer
"""
import argparse
import csv
import itertools
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import GPU_SHAPES, make_inputs, time_cuda  # noqa: E402

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16,
          'fp16': torch.float16}

# (block_d, block_t, num_warps) of the time-major forward; n_seg is swept
# on top of each.
TMAJOR_TILES = ((2, 8, 1), (4, 8, 1), (8, 8, 1), (16, 8, 1), (8, 4, 1),
                (16, 4, 1), (32, 4, 1), (8, 16, 1), (4, 16, 1), (16, 8, 2),
                (32, 8, 2), (32, 4, 2))
SEGMENTS = (1, 2, 4, 8, 16, 32)
# (block_d, block_t) of the step-loop forward (one warp), n_seg on top.
STEPS_TILES = ((32, 8), (32, 4), (16, 8), (64, 8))
# (block_d, block_t, num_warps, maxnreg, state_l, prefetch) of the backward
# (block_t 0 is the lane-major kernel; maxnreg 0 leaves registers to ptxas;
# state_l is the spacing of the states saved by the forward, i.e. the
# forward's block_l: with state_l == block_t the time-major backward
# recomputes no chunk twice, at twice the saved-state memory of state_l 16;
# prefetch issues chunk c-1's loads before chunk c's math, in the time-major
# kernel only with state_l == block_t).
BWD_TILES = ((2, 0, 1, 0, 16, False), (2, 0, 1, 0, 16, True),
             (4, 0, 1, 0, 16, True), (2, 0, 2, 0, 32, True),
             (8, 8, 1, 0, 16, False), (4, 8, 1, 168, 16, False),
             (4, 16, 1, 0, 16, False), (4, 16, 1, 0, 16, True),
             (2, 16, 1, 0, 16, True), (8, 16, 1, 0, 16, True),
             (4, 16, 1, 168, 16, True), (4, 16, 1, 128, 16, True),
             (4, 8, 1, 0, 8, True), (8, 8, 1, 0, 8, True),
             (8, 8, 1, 0, 8, False), (16, 8, 2, 0, 8, True),
             (2, 8, 1, 0, 8, True), (2, 0, 1, 0, 8, True))


def forward_candidates(shape, save_states: bool,
                       channel_last: bool = False) -> List:
    """Lane-major configurations (the previous defaults) and time-major
    ones with every segment count that leaves segments of >= 128 steps and
    at most 32768 programs; with ``channel_last``, step-loop ones with
    segments of >= 128 steps and at most 8192 programs."""
    from mmmamba.ops.selective_scan.triton_kernels import ScanConfig
    batch, dim, dstate, seqlen, groups = shape
    dpg = dim // groups
    cands = [ScanConfig(2, 16, 1), ScanConfig(2, 16, 1, prefetch=True),
             ScanConfig(2, 32, 2)]
    if channel_last:
        for (bd, bt), n_seg in itertools.product(STEPS_TILES, SEGMENTS):
            n_prog = batch * dim // bd
            if dpg % bd or (n_seg > 1 and (seqlen // n_seg < 128
                                           or n_prog * n_seg > 8192)):
                continue
            cands.append(ScanConfig(bd, 8, 1, block_t=bt, n_seg=n_seg,
                                    steps=True))
    for (bd, bt, nw), n_seg in itertools.product(TMAJOR_TILES, SEGMENTS):
        if dpg % bd or 16 % bt:
            continue
        n_prog = batch * dim // bd
        if n_seg > 1 and (seqlen // n_seg < 128 or n_prog * n_seg > 32768):
            continue
        cands.append(ScanConfig(bd, 16, nw, block_t=bt, n_seg=n_seg))
    # the default tile with its registers capped (more resident warps)
    default = [c for c in cands if c.block_t == 8 and c.block_d == 16
               and c.num_warps == 1 and not c.steps]
    cands += [c._replace(maxnreg=mr) for c in default for mr in (128, 168)]
    return cands


def fmt_config(cfg) -> str:
    if cfg.steps:
        return (f'steps d{cfg.block_d} t{cfg.block_t} w{cfg.num_warps}'
                + (f' s{cfg.n_seg}' if cfg.n_seg > 1 else ''))
    if cfg.block_t:
        return (f'tmajor d{cfg.block_d} t{cfg.block_t} w{cfg.num_warps}'
                + (f' s{cfg.n_seg}' if cfg.n_seg > 1 else '')
                + (' pf' if cfg.prefetch else '')
                + (f' l{cfg.block_l}' if cfg.block_l != 16 else '')
                + (f' r{cfg.maxnreg}' if cfg.maxnreg else '')
                + (f' st{cfg.stages}' if cfg.stages > 1 else ''))
    return (f'lanes d{cfg.block_d} l{cfg.block_l} w{cfg.num_warps}'
            + (' pf' if cfg.prefetch else ''))


def _channel_last(t: torch.Tensor) -> torch.Tensor:
    """The same (batch, dim, L) values with stride 1 along dim."""
    return t.transpose(1, 2).contiguous().transpose(1, 2)


def _family(cfg) -> str:
    return 'steps' if cfg.steps else 'tmajor' if cfg.block_t else 'lanes'


def sweep(shapes: Sequence[str], dtypes: Sequence[str], modes: Sequence[str],
          repeats: int, top: int, layout: str = 'contiguous',
          kernels: Sequence[str] = ('lanes', 'tmajor', 'steps')
          ) -> List[Dict]:
    from mmmamba.ops.selective_scan.triton_kernels import (
        ScanConfig, bc_steps_layout, default_config, selective_scan_bwd,
        selective_scan_fwd)
    rows = []
    cl = layout == 'channel-last'
    for name, dname, mode in itertools.product(shapes, dtypes, modes):
        shape = GPU_SHAPES[name]
        batch, dim, dstate, seqlen, groups = shape
        ins = make_inputs(shape, DTYPES[dname], 'cuda', requires_grad=False)
        u, delta, A, B, C = (ins[k] for k in ('u', 'delta', 'A', 'B', 'C'))
        D, z, bias = ins['D'], ins['z'], ins['delta_bias']
        if cl:
            u, delta, z = map(_channel_last, (u, delta, z))
        Bs, Cs = bc_steps_layout(B, C)
        save = mode != 'infer'
        default = default_config(seqlen, dstate, dim // groups,
                                 backward=mode == 'bwd', save_states=save,
                                 n_rows=batch * dim,
                                 itemsize=u.element_size())
        ref, _, states, _ = selective_scan_fwd(u, delta, A, B, C, D, z, bias,
                                               True, True,
                                               config=ScanConfig(2, 16, 1))
        results = []
        if mode == 'bwd':
            gout = torch.randn_like(u)
            ref_b = selective_scan_bwd(u, delta, A, B, C, D, z, bias, True,
                                       states, 16, gout,
                                       config=ScanConfig(2, 16, 1))
            cands = [ScanConfig(bd, sl, nw, block_t=bt, maxnreg=mr,
                                prefetch=pf)
                     for bd, bt, nw, mr, sl, pf in BWD_TILES
                     if (dim // groups) % bd == 0]
            states_at = {16: states}
            for cfg in cands:
                if cfg.block_l not in states_at:  # states every block_l
                    states_at[cfg.block_l] = selective_scan_fwd(
                        u, delta, A, B, C, D, z, bias, True, True,
                        config=ScanConfig(2, cfg.block_l, 1))[2]

                def fn(cfg=cfg):
                    return selective_scan_bwd(u, delta, A, B, C, D, z, bias,
                                              True, states_at[cfg.block_l],
                                              cfg.block_l, gout, config=cfg)
                try:
                    err = max(_rel_err(a, b)
                              for a, b in zip(fn()[:5], ref_b[:5]))
                    results.append((cfg, time_cuda(fn, repeats, queued=True),
                                    err))
                except Exception as exc:  # noqa: BLE001 - report, go on
                    print(f'{name} {dname} {mode} {fmt_config(cfg)}: '
                          f'{type(exc).__name__}: {exc}', flush=True)
        else:
            cands = [c for c in forward_candidates(shape, save, cl)
                     if _family(c) in kernels]
            if default not in cands:  # always timed
                cands.append(default)
            for cfg in cands:
                def fn(cfg=cfg):
                    b, c = (Bs, Cs) if cfg.steps else (B, C)
                    return selective_scan_fwd(u, delta, A, b, c, D, z, bias,
                                              True, save, config=cfg)
                try:
                    err = _rel_err(fn()[0], ref)
                    results.append((cfg, time_cuda(fn, repeats, queued=True),
                                    err))
                except Exception as exc:  # noqa: BLE001 - report, go on
                    print(f'{name} {dname} {mode} {fmt_config(cfg)}: '
                          f'{type(exc).__name__}: {exc}', flush=True)
        base = next((ms for cfg, ms, _ in results if cfg == ScanConfig(
            2, 16, 1)), None)
        results.sort(key=lambda r: r[1])
        for rank, (cfg, ms, err) in enumerate(results):
            row = dict(shape=name, dtype=dname, mode=mode,
                       config=fmt_config(cfg), ms=round(ms, 4),
                       vs_old=round(base / ms, 3) if base else '',
                       max_rel_err=f'{err:.1e}', default=cfg == default)
            rows.append(row)
            if rank < top or cfg == default:
                print(' | '.join(str(v) for v in row.values()), flush=True)
        torch.cuda.empty_cache()
    return rows


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.float(), b.float()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shapes', nargs='+',
                        default=[k for k in GPU_SHAPES if 'VMamba' not in k],
                        choices=list(GPU_SHAPES))
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                        choices=list(DTYPES))
    parser.add_argument('--modes', nargs='+', default=['infer', 'train'],
                        choices=['infer', 'train', 'bwd'])
    parser.add_argument('--layout', default='contiguous',
                        choices=['contiguous', 'channel-last'],
                        help='layout of u, delta and z (module docstring)')
    parser.add_argument('--kernels', nargs='+',
                        default=['lanes', 'tmajor', 'steps'],
                        choices=['lanes', 'tmajor', 'steps'],
                        help='forward kernel families to sweep (the default '
                        'configuration is always timed)')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--top', type=int, default=6,
                        help='rows printed per (shape, dtype, mode)')
    parser.add_argument('--out', help='write every row to this CSV file')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit('sweep_scan_configs.py times CUDA kernels: it needs '
                         'a GPU')
    print('shape | dtype | mode | config | ms | x vs lanes d2 l16 w1 | '
          'max rel err vs it | default')
    rows = sweep(args.shapes, args.dtypes, args.modes, args.repeats, args.top,
                 args.layout, args.kernels)
    if args.out:
        with open(args.out, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return rows


if __name__ == '__main__':
    main()
