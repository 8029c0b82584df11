# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark Vim's bidirectional mixer core: fused against unfused, and
against two bare calls of mamba-ssm's CUDA selective scan.

The *core* is what :meth:`BiMamba.forward_core` computes: from ``xz``
(B, L, 2E), in_proj's output, to the averaged, gated output of both
directions (B, L, E), out_proj's input: the two depthwise convs + SiLU,
x_proj/dt_proj, both scans, the sum and the halving. Rows (``--paths``):

* ``fused``: ``BiMamba(scan_backend='triton', fuse_mixer=True)``: one
  Triton kernel for both convs, both scans reading the projections'
  channel-last layouts, the reverse scan adding into the forward one's
  output (no copies, no separate add/halve);
* ``unfused``: ``fuse_mixer=False``, the previous path: PyTorch conv1d per
  direction, ``.contiguous()`` (B, E, L) copies, two Triton scans, add,
  halve;
* ``mamba_ssm x2`` / ``triton x2``: only the two selective scans (inputs
  prepared (B, E, L)-contiguous beforehand, the reverse direction given
  pre-flipped inputs and not flipped back): the bar the issue sets for the
  fused mixer, "faster than two calls of mamba-ssm's scan alone". Needs
  mamba-ssm's compiled extension for the first.

fp32 and bf16: the mixer rows run under ``torch.autocast`` (fp32 weights,
as AMP training does); the bare-scan rows get inputs in that dtype. Times
(``--timing``): ``events``, the median of CUDA events, one synchronised
call per timing (benchmark_scan's ``time_cuda``: the host's launch time
included, which decides where a call's kernels are shorter than its
Python); ``kernels``, the GPU kernel time per call summed by
``torch.profiler`` (the device's work alone). Forward under
``torch.no_grad``, forward+backward with every input and parameter
requiring grad.

CPU (``--device cpu --quick``): toy shapes, Triton in its interpreter (the
CI smoke test; the times say nothing about speed).

Example::

    PYTHONPATH=.:/tmp/mssm python tools/analysis_tools/benchmark_vim_mixer.py
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import kernel_ms, time_cpu, time_cuda  # noqa: E402

# name: (batch, embed_dims D, L); Vim-Ti: E = 2D = 384, N = 16
GPU_SHAPES = {
    'Vim-Ti 224² b128': (128, 192, 197),
    'Vim-Ti 1248² b8': (8, 192, 6085),
    'Vim-Ti 2048² b8': (8, 192, 16385),
}
QUICK_SHAPES = {'toy b2': (2, 16, 19)}
PATHS = ('fused', 'unfused', 'triton x2', 'mamba_ssm x2')
HEADER = ('| shape | dtype | path | fwd ms | fwd+bwd ms |\n'
          '|---|---|---|---|---|')


def build_mixer(dims: int, fuse: bool, device: str):
    from mmmamba.models.layers import BiMamba
    torch.manual_seed(0)
    return BiMamba(dims, scan_backend='triton', fuse_mixer=fuse).to(device)


def time_it(fn, device: str, repeats: int, warmup: int,
            timing: str = 'events') -> float:
    """ms per call of ``fn``: ``timing`` 'events' (CUDA events, host
    included) or 'kernels' (:func:`kernel_ms`) on CUDA, wall time on CPU."""
    if device == 'cuda':
        if timing == 'kernels':
            return kernel_ms(fn, repeats, warmup)
        return time_cuda(fn, repeats, warmup)
    return time_cpu(fn, repeats, warmup)


def measure_mixer(shape: Tuple[int, int, int], dtype: torch.dtype,
                  fuse: bool, device: str, repeats: int, warmup: int,
                  timing: str = 'events') -> Tuple[float, float]:
    batch, dims, length = shape
    m = build_mixer(dims, fuse, device)
    xz = torch.randn(batch, length, 2 * m.d_inner, device=device,
                     dtype=dtype, requires_grad=True)
    grad = torch.randn(batch, length, m.d_inner, device=device, dtype=dtype)
    amp = dict(device_type=device, dtype=dtype,
               enabled=dtype != torch.float32)

    def fwd():
        with torch.no_grad(), torch.autocast(**amp):
            m.forward_core(xz)

    def fwd_bwd():
        with torch.autocast(**amp):
            out = m.forward_core(xz)
        out.backward(grad.to(out.dtype))

    return (time_it(fwd, device, repeats, warmup, timing),
            time_it(fwd_bwd, device, repeats, warmup, timing))


def measure_two_scans(shape: Tuple[int, int, int], dtype: torch.dtype,
                      backend: str, device: str, repeats: int, warmup: int,
                      timing: str = 'events') -> Tuple[float, float]:
    from mmmamba.ops import selective_scan
    batch, dims, length = shape
    E, N = 2 * dims, 16
    g = torch.Generator(device='cpu').manual_seed(0)

    def rnd(*s, scale=1.0, dt=dtype):
        return (torch.randn(*s, generator=g) * scale).to(device, dt) \
            .requires_grad_(True)

    dirs = [dict(u=rnd(batch, E, length), delta=rnd(batch, E, length,
                                                    scale=0.5),
                 A=(-torch.rand(E, N, generator=g) - 0.5).to(device)
                 .requires_grad_(True),
                 B=rnd(batch, N, length), C=rnd(batch, N, length),
                 D=torch.ones(E, device=device, requires_grad=True),
                 delta_bias=rnd(E, scale=0.1, dt=torch.float32))
            for _ in range(2)]
    z = rnd(batch, E, length)
    grad = torch.randn(batch, E, length, device=device, dtype=dtype)

    def both():
        return [selective_scan(**d, z=z, delta_softplus=True, backend=backend)
                for d in dirs]

    def fwd():
        with torch.no_grad():
            both()

    def fwd_bwd():
        ys = both()
        torch.autograd.backward(ys, [grad, grad])

    return (time_it(fwd, device, repeats, warmup, timing),
            time_it(fwd_bwd, device, repeats, warmup, timing))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu', choices=['cuda', 'cpu'])
    p.add_argument('--quick', action='store_true',
                   help='toy shapes (CPU smoke test)')
    p.add_argument('--paths', nargs='+', choices=PATHS, default=list(PATHS))
    p.add_argument('--shapes', nargs='*', help='subset of shape names')
    p.add_argument('--dtypes', nargs='+', default=['fp32', 'bf16'],
                   choices=['fp32', 'bf16'])
    p.add_argument('--repeats', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--timing', choices=['events', 'kernels'],
                   default='events',
                   help='events: wall time of synchronised calls (CUDA '
                   'events); kernels: summed GPU kernel time per call '
                   '(torch.profiler; CUDA only)')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    if args.timing == 'kernels' and args.device != 'cuda':
        raise SystemExit('benchmark_vim_mixer: --timing kernels needs '
                         '--device cuda (it sums CUDA kernel times)')
    if args.device == 'cpu':
        os.environ.setdefault('TRITON_INTERPRET', '1')
    from mmmamba.ops import available_backends
    shapes = QUICK_SHAPES if args.quick else GPU_SHAPES
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    have = available_backends()
    paths = [p for p in args.paths
             if not (p == 'mamba_ssm x2' and 'mamba_ssm' not in have)]
    if 'triton' not in have:
        raise SystemExit('benchmark_vim_mixer: needs the triton backend')
    if args.device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
    dtypes = {'fp32': torch.float32, 'bf16': torch.bfloat16}
    print(f'timing: {args.timing}', flush=True)
    print(HEADER, flush=True)
    rows = []
    for name, shape in shapes.items():
        for dt in args.dtypes:
            for path in paths:
                if path in ('fused', 'unfused'):
                    f, fb = measure_mixer(shape, dtypes[dt], path == 'fused',
                                          args.device, args.repeats,
                                          args.warmup, args.timing)
                else:
                    f, fb = measure_two_scans(shape, dtypes[dt],
                                              path.split()[0], args.device,
                                              args.repeats, args.warmup,
                                              args.timing)
                rows.append(dict(shape=name, dtype=dt, path=path, fwd_ms=f,
                                 fwdbwd_ms=fb))
                print(f'| {name} | {dt} | {path} | {f:.3f} | {fb:.3f} |',
                      flush=True)
            if args.device == 'cuda':
                torch.cuda.empty_cache()
    index = {(r['shape'], r['dtype'], r['path']): r for r in rows}
    for (name, dt, path), r in index.items():
        if path != 'fused':
            continue
        parts = []
        for other in ('unfused', 'mamba_ssm x2', 'triton x2'):
            o = index.get((name, dt, other))
            if o:
                parts.append(f'{other}/fused fwd {o["fwd_ms"] / r["fwd_ms"]:.2f}x'
                             f' fwd+bwd {o["fwdbwd_ms"] / r["fwdbwd_ms"]:.2f}x')
        print(f'- {name} {dt}: ' + '; '.join(parts))
    return rows


if __name__ == '__main__':
    main()
