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
configurations: the shape's current defaults first (marked), then
:data:`SWEEP_GRID`, the promising region of the first H200 sweep. Each row
(printed as soon as it is timed) gives the forward and backward time and
effective bandwidth under the kernel's own byte model
(:func:`kernel_bytes`); after each shape and dtype, the best forward, the
best backward and the best pair that shares ``block_l`` and ``col_w`` (as
forward and backward must). Before timing, ``--jobs`` processes run every
configuration once at a small batch so that Triton compiles the kernels
in parallel into its on-disk cache (compiling, ~2 s a kernel, dominated
the first sweep); ``--max-configs`` and ``--budget-s`` bound the run.

``--breakdown`` (GPU): time each op of ``forward_core``, fused and
unfused (projections as 1x1 convolutions, and as matmuls for comparison,
cross scan, scans, cross merge), forward and forward+backward, to find
where a slow total goes (e.g. fp32 at stage 1).

CPU (``--device cpu``; ``--quick`` for toy shapes, the CI smoke test): the
same table; Triton paths run in Triton's interpreter (``TRITON_INTERPRET=1``
is set if unset), so the times say nothing about speed.

Examples::

    python tools/analysis_tools/benchmark_ss2d.py --out benchmarks/ss2d.md
    python tools/analysis_tools/benchmark_ss2d.py --sweep \
        --shapes 'VMamba-T stage1 b128' --dtypes bf16 fp32 --budget-s 230
    python tools/analysis_tools/benchmark_ss2d.py --breakdown \
        --shapes 'VMamba-T stage1 b128' 'VMamba-T stage2 b128'
    python tools/analysis_tools/benchmark_ss2d.py --device cpu --quick
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import time_cpu, time_cuda, write_table  # noqa: E402

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
# --sweep: (block_d, block_l, num_warps, acc_cg, col_w), most promising
# first. The region around the best rows of the first H200 sweep (stage 1
# bf16, see ss2d_scan.triton_kernels.default_config): column tiles of 4
# columns or step by step, row chunks of 128 or 256 steps, 2 or 4 warps, 1
# or 2 channels per program, accumulator loads without .cg (faster in all
# four kernels timed both ways). 8 and 16 columns, 8 warps, 1 warp and
# block_d 4 were slower there and are left out.
SWEEP_GRID = [(bd, bl, nw, False, cw) for cw in (4, 0) for bl in (128, 256)
              for nw in (4, 2) for bd in (2, 1)]


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


def sweep_configs(shape: Tuple[int, int, int, int], dstate: int = 1):
    """The configurations ``--sweep`` times at ``shape``: the current
    defaults (forward, backward), then :data:`SWEEP_GRID`, without
    duplicates, configurations whose ``block_d`` does not divide the
    channels and column tiles that do not fit (they would run as another
    row). Returns (configs, (default forward, default backward))."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    _, D, H, W = shape
    defaults = (tk.default_config(D, dstate, False, height=H),
                tk.default_config(D, dstate, True, height=H))
    configs = []
    for cfg in list(defaults) + [tk.SS2DScanConfig(*c) for c in SWEEP_GRID]:
        if D % cfg.block_d or cfg in configs:
            continue
        if tk.forward_config(D, dstate, H, W, cfg).col_w != cfg.col_w:
            continue
        configs.append(cfg)
    return configs, defaults


def sweep_inputs(shape: Tuple[int, int, int, int], dtype: torch.dtype,
                 device: str) -> Dict[str, torch.Tensor]:
    """Kernel inputs of the fused scan at ``shape`` (N=1), seeded."""
    batch, D, H, W = shape
    L, N = H * W, 1
    g = torch.Generator(device='cpu').manual_seed(0)

    def rnd(*size, scale=1.0, dt=dtype):
        return (torch.randn(*size, generator=g) * scale).to(device, dt)

    return dict(
        u=rnd(batch, D, L),
        delta=rnd(batch, K, D, L, scale=0.5),
        B=rnd(batch, K, N, L),
        C=rnd(batch, K, N, L),
        A=-torch.rand(K * D, N, generator=g).add(0.5).to(device),
        D=torch.ones(K * D, device=device),
        bias=rnd(K * D, scale=0.1, dt=torch.float32),
        gout=rnd(batch, D, L))


def _kernel_calls(ins: Dict[str, torch.Tensor], H: int, W: int, cfg):
    """(forward, backward) closures of the kernels at ``cfg``; the
    backward uses the states of one forward run."""
    from mmmamba.ops.ss2d_scan import triton_kernels as tk
    args = (ins['u'], ins['delta'], ins['A'], ins['B'], ins['C'], ins['D'],
            ins['bias'], H, W, True)
    _, states, fwd_cfg = tk.ss2d_scan_fwd(*args, True, config=cfg)

    def fwd():
        tk.ss2d_scan_fwd(*args, True, config=cfg)

    def bwd():
        tk.ss2d_scan_bwd(*args, states, fwd_cfg, ins['gout'], config=cfg)

    return fwd, bwd


def _compile_task(task) -> str:
    """``--jobs`` worker: run one configuration's kernels once at a batch
    of the same Triton specialization (divisible by 16 or not), so that
    their compiled binaries land in Triton's on-disk cache, where the
    timing process finds them."""
    shape, dtype, cfg, device = task
    batch, D, H, W = shape
    small = (16 if batch % 16 == 0 else batch, D, H, W)
    fwd, bwd = _kernel_calls(sweep_inputs(small, dtype, device), H, W, cfg)
    fwd()
    bwd()
    if device == 'cuda':
        torch.cuda.synchronize()
    return f'{tuple(cfg)}'


def precompile(tasks: List[Tuple], jobs: int) -> int:
    """Compile the kernels of ``tasks`` ((shape, dtype, config, device))
    in ``jobs`` spawned processes; failures are reported and left to the
    timing loop (which compiles what is missing itself). Returns the
    number of tasks that ran."""
    import concurrent.futures
    import multiprocessing
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context('spawn')
    done = 0
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx) as pool:
        futures = [pool.submit(_compile_task, t) for t in tasks]
        for fut in concurrent.futures.as_completed(futures):
            try:
                fut.result()
                done += 1
            except Exception as e:  # noqa: BLE001 - report, time anyway
                print(f'precompile failed: {type(e).__name__}: {e}',
                      flush=True)
    print(f'precompiled {done} of {len(tasks)} configurations in {jobs} '
          f'processes: {time.perf_counter() - t0:.1f} s', flush=True)
    return done


def sweep(shape: Tuple[int, int, int, int],
          dtype: torch.dtype,
          device: str,
          repeats: int,
          warmup: int,
          max_configs: int = 0,
          deadline: Optional[float] = None) -> List[Dict]:
    """Time the fused kernels alone over :func:`sweep_configs` (on CPU in
    Triton's interpreter: a smoke test of this code, not a timing).

    Args:
        max_configs: time at most this many configurations (0: all).
        deadline: ``time.perf_counter()`` value after which no further
            configuration is started.
    """
    batch, D, H, W = shape
    L, N = H * W, 1
    ins = sweep_inputs(shape, dtype, device)
    configs, default = sweep_configs(shape)
    if max_configs:
        configs = configs[:max_configs]
    itemsize = torch.finfo(dtype).bits // 8
    rows = []
    for cfg in configs:
        if deadline is not None and time.perf_counter() > deadline:
            print(f'(budget spent: {len(configs) - len(rows)} '
                  'configurations not timed)', flush=True)
            break
        fwd, bwd = _kernel_calls(ins, H, W, cfg)
        t_f = time_it(fwd, device, repeats, warmup)
        t_b = time_it(bwd, device, repeats, warmup)
        row = dict(
            config=f'({cfg.block_d}, {cfg.block_l}, {cfg.num_warps}, '
            f'acc_cg={cfg.acc_cg}, col_w={cfg.col_w})',
            cfg=cfg,
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
    if rows:
        print('\n'.join(sweep_summary(rows, default)), flush=True)
    return rows


def sweep_summary(rows: List[Dict], default: Tuple) -> List[str]:
    """Best forward, best backward, and the best pair of a forward and a
    backward configuration sharing ``block_l`` and ``col_w``, against the
    defaults' pair (when both were timed)."""

    def name(cfg) -> str:
        return (f'({cfg.block_d}, {cfg.block_l}, {cfg.num_warps}, '
                f'{"cg" if cfg.acc_cg else "nocg"}, {cfg.col_w})')

    best_f = min(rows, key=lambda r: r['fwd_ms'])
    best_b = min(rows, key=lambda r: r['bwd_ms'])
    lines = [f"- best fwd {name(best_f['cfg'])} {best_f['fwd_ms']:.3f} ms; "
             f"best bwd {name(best_b['cfg'])} {best_b['bwd_ms']:.3f} ms"]
    pairs = []
    for key in {(r['cfg'].block_l, r['cfg'].col_w) for r in rows}:
        group = [r for r in rows
                 if (r['cfg'].block_l, r['cfg'].col_w) == key]
        f = min(group, key=lambda r: r['fwd_ms'])
        b = min(group, key=lambda r: r['bwd_ms'])
        pairs.append((f['fwd_ms'] + b['bwd_ms'], f, b))
    total, f, b = min(pairs, key=lambda p: p[0])
    lines.append(f"- best shared pair: fwd {name(f['cfg'])} "
                 f"{f['fwd_ms']:.3f} + bwd {name(b['cfg'])} "
                 f"{b['bwd_ms']:.3f} = {total:.3f} ms")
    by_cfg = {r['cfg']: r for r in rows}
    if default[0] in by_cfg and default[1] in by_cfg:
        d_f, d_b = by_cfg[default[0]]['fwd_ms'], by_cfg[default[1]]['bwd_ms']
        lines.append(f'- defaults: fwd {d_f:.3f} + bwd {d_b:.3f} = '
                     f'{d_f + d_b:.3f} ms ({(d_f + d_b) / total:.2f}x the '
                     'best pair)')
    return lines


def breakdown(shape: Tuple[int, int, int, int], dtype: torch.dtype,
              device: str, repeats: int, warmup: int) -> List[Dict]:
    """Forward and forward+backward milliseconds of each op of
    ``SS2D.forward_core``, fused and unfused, under the same autocast as
    :func:`measure` (bf16: autocast with fp32 weights; fp32: TF32 as the
    process has it: off for matmuls, cuDNN's default for convolutions).
    The matmul rows compute the same projections with ``torch.matmul``, as
    a candidate replacement of the 1x1 convolutions."""
    import torch.nn.functional as F

    from mmmamba.ops import cross_merge, cross_scan, selective_scan, ss2d_scan
    batch, C, H, W = shape
    torch.manual_seed(0)
    m = build(C, 'fused', device)
    D, L, N, R = m.d_inner, H * W, m.d_state, m.dt_rank
    g = torch.Generator(device='cpu').manual_seed(0)

    def leaf(*size, scale=1.0):
        t = torch.randn(*size, generator=g) * scale
        return t.to(device, dtype).requires_grad_()

    x = leaf(batch, D, L)
    xs = leaf(batch, K * D, L)  # the four copies of the unfused path
    dts = leaf(batch, K * R, L)
    delta, Bs, Cs = leaf(batch, K, D, L, scale=0.5), leaf(
        batch, K, N, L), leaf(batch, K, N, L)
    ys = leaf(batch, K, D, L)
    A, Ds, bias = (t.detach() for t in m._scan_params())
    w_x, w_dt = m.x_proj_weight, m.dt_projs_weight
    x4 = x.detach().view(batch, D, H, W).requires_grad_()

    def autocast():
        return torch.autocast(device, dtype=dtype,
                              enabled=dtype != torch.float32)

    ops = [
        ('fused x_proj conv1d', lambda: F.conv1d(x, w_x.reshape(-1, D, 1))),
        ('fused x_proj matmul', lambda: torch.matmul(w_x.reshape(-1, D), x)),
        ('dt_proj conv1d (groups 4)', lambda: F.conv1d(
            dts, w_dt.reshape(K * D, R, 1), groups=K)),
        ('dt_proj matmul', lambda: torch.matmul(
            w_dt, dts.view(batch, K, R, L))),
        ('fused ss2d_scan kernel', lambda: ss2d_scan(
            x4, delta, A, Bs, Cs, Ds, bias, backend='triton')),
        ('fused forward_core', lambda: m.forward_core_fused(x4)),
        ('unfused cross_scan', lambda: cross_scan(x4)),
        ('unfused x_proj conv1d (groups 4)', lambda: F.conv1d(
            xs, w_x.reshape(-1, D, 1), groups=K)),
        ('unfused x_proj matmul', lambda: torch.matmul(
            w_x, xs.view(batch, K, D, L))),
        ('unfused selective_scan', lambda: selective_scan(
            xs, delta.view(batch, K * D, L), A, Bs, Cs, Ds,
            delta_bias=bias, delta_softplus=True, backend='triton')),
        ('unfused cross_merge', lambda: cross_merge(ys, H, W)),
        ('unfused forward_core', lambda: m.forward_core_unfused(x4)),
    ]
    rows = []
    for name, op in ops:

        def fwd(op=op):
            with torch.no_grad(), autocast():
                op()

        def fwd_bwd(op=op):
            with autocast():
                out = op()
            out.backward(torch.ones_like(out))

        row = dict(op=name, fwd_ms=time_it(fwd, device, repeats, warmup),
                   fwdbwd_ms=time_it(fwd_bwd, device, repeats, warmup))
        rows.append(row)
        print(f"| {name} | {row['fwd_ms']:.3f} | {row['fwdbwd_ms']:.3f} |",
              flush=True)
    return rows


BREAKDOWN_HEADER = '| op | fwd ms | fwd+bwd ms |\n|---|---|---|'


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


def select_shapes(table: Dict[str, Tuple[int, int, int, int]],
                  names: Sequence[str]) -> Dict[str, Tuple[int, int, int,
                                                           int]]:
    """``names``: keys of ``table`` or ``BxDxHxW`` strings (a shape the
    table does not have); anything else is an error."""
    shapes = {}
    for name in names:
        if name in table:
            shapes[name] = table[name]
            continue
        parts = name.lower().split('x')
        if len(parts) != 4 or not all(p.isdigit() for p in parts):
            raise SystemExit(f'unknown shape {name!r}: one of '
                             f'{sorted(table)} or BxDxHxW')
        shapes[name] = tuple(int(p) for p in parts)
    return shapes


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true',
                        help='toy shapes (CPU smoke test)')
    parser.add_argument('--paths', nargs='+', choices=PATHS,
                        help='default: fused unfused (plus reference on '
                        'CPU)')
    parser.add_argument('--shapes', nargs='*',
                        help='shape names of the table, or BxDxHxW')
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                        choices=['fp32', 'bf16'])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--sweep', action='store_true',
                        help='time the fused kernels over launch '
                        'configurations')
    parser.add_argument('--jobs', type=int,
                        default=min(16, os.cpu_count() or 1),
                        help='--sweep on GPU: processes that compile the '
                        'kernels before the timing (1: compile while '
                        'timing)')
    parser.add_argument('--max-configs', type=int, default=0,
                        help='--sweep: time at most this many '
                        'configurations per shape and dtype (defaults '
                        'first; 0: all)')
    parser.add_argument('--budget-s', type=float, default=0,
                        help='--sweep: start no configuration after this '
                        'many seconds (precompiling included; 0: no limit)')
    parser.add_argument('--breakdown', action='store_true',
                        help="time each op of forward_core, fused and "
                        'unfused')
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
        shapes = select_shapes(shapes, args.shapes)
    from mmmamba.ops import available_backends
    paths = args.paths or (['fused', 'unfused'] + (
        ['reference'] if args.device == 'cpu' else []))
    if 'triton' not in available_backends():
        paths = [p for p in paths if p == 'reference']
    if args.device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
    dtypes = {'fp32': torch.float32, 'bf16': torch.bfloat16}
    if args.sweep:
        start = time.perf_counter()
        deadline = start + args.budget_s if args.budget_s else None
        if args.device == 'cuda' and args.jobs > 1:
            tasks = [(shape, dtypes[dt], cfg, args.device)
                     for shape in shapes.values() for dt in args.dtypes
                     for cfg in sweep_configs(shape)[0]
                     [:args.max_configs or None]]
            precompile(tasks, args.jobs)
        rows = []
        for name, shape in shapes.items():
            for dt in args.dtypes:
                print(f'\n{name} {dt} ({time.perf_counter() - start:.0f} s)'
                      f'\n{SWEEP_HEADER}', flush=True)
                rows += [
                    dict(r, shape=name, dtype=dt)
                    for r in sweep(shape, dtypes[dt], args.device,
                                   args.repeats, args.warmup,
                                   args.max_configs, deadline)
                ]
        print(f'sweep: {time.perf_counter() - start:.0f} s', flush=True)
        return rows
    if args.breakdown:
        rows = []
        for name, shape in shapes.items():
            for dt in args.dtypes:
                print(f'\n{name} {dt}\n{BREAKDOWN_HEADER}', flush=True)
                rows += [
                    dict(r, shape=name, dtype=dt)
                    for r in breakdown(shape, dtypes[dt], args.device,
                                       args.repeats, args.warmup)
                ]
                if args.device == 'cuda':
                    torch.cuda.empty_cache()
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
        write_table(args.out, args.device, HEADER,
                    [fmt_row(r) for r in rows], summary)
    return rows


if __name__ == '__main__':
    main()
