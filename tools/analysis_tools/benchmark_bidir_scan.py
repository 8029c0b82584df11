# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark Vim's two scan directions: the fused op against the mixer's
unfused pattern, and print a table.

Both paths start from the tensors as the Vim mixer has them: in_proj's
output xz (B, L, 2E), each direction's conv output u and dt_proj's output
(B, L, E), B / C (B, N, L); both end with the (B, L, E) tensor that
out_proj reads. Paths (``--paths``):

* ``unfused``: what ``BiMamba`` does today: ``.contiguous()`` copies of u,
  delta (transposed) and z into (B, E, L), two ``selective_scan`` calls
  (the second ``reverse=True``), ``(y_f + y_b).transpose(1, 2) / 2`` and the
  copy that out_proj's matmul makes of that non-contiguous view.
* ``fused``: :func:`mmmamba.ops.bidir_selective_scan` on the views (delta
  and z channel-last, u (B, E, L) contiguous as ``F.conv1d`` returns it).
  Its output takes u's layout, (B, E, L) contiguous, so out_proj's copy
  remains.
* ``fused-cl``: the same with u channel-last (a conv that writes
  (B, L, E)): the output is channel-last and its transpose is out_proj's
  (B, L, E) input without a copy.

Every path includes the copy out_proj's matmul would make of a
non-contiguous (B, L, E) view (a ``.contiguous()``, free when there is
nothing to copy); the table says where there was one.

Times forward and forward+backward (a (B, L, E) gradient into the output;
gradients down to xz, u, the dt_proj outputs and the scan parameters) as
the median of CUDA-event timings, and checks once that the paths agree.
On CPU (``--device cpu --quick``, Triton's interpreter) it only exercises
the code at a toy shape.

Examples::

    python tools/analysis_tools/benchmark_bidir_scan.py
    python tools/analysis_tools/benchmark_bidir_scan.py --dtypes bf16 \
        --shapes 'Vim-Ti 224² b128' --out benchmarks/bidir_scan.md
"""
import argparse
import datetime
import os.path as osp
import platform
import sys
from typing import Callable, Dict, List, Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import time_cpu, time_cuda  # noqa: E402

# name: (batch, E = d_inner, N, L); Vim-Ti: embed 192, expand 2
GPU_SHAPES = {
    'Vim-Ti 224² b128': (128, 384, 16, 197),
    'Vim-Ti 224² b64': (64, 384, 16, 197),
    'Vim-Ti 1248² b8': (8, 384, 16, 6085),
}
CPU_SHAPES = {'toy b2': (2, 8, 4, 21)}
PATHS = ('unfused', 'fused', 'fused-cl')
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}


def make_leaves(shape: Sequence[int], dtype: torch.dtype, device: str,
                u_channel_last: bool) -> Dict[str, torch.Tensor]:
    """Leaf tensors in the mixer's memory layouts (fixed seed; u's values
    do not depend on its layout)."""
    batch, dim, dstate, seqlen = shape
    g = torch.Generator().manual_seed(0)

    def rnd(*s, scale=1.0, dt=dtype, transpose=False):
        t = torch.randn(*s, generator=g) * scale
        if transpose:  # same values, memory (B, L, E)
            t = t.transpose(1, 2).contiguous()
        return t.to(device, dt).requires_grad_(True)

    leaves = dict(xz=rnd(batch, seqlen, 2 * dim))
    for s in ('f', 'b'):
        leaves.update({
            f'u_{s}': rnd(batch, dim, seqlen, transpose=u_channel_last),
            f'dt_{s}': rnd(batch, seqlen, dim, scale=0.5),
            f'A_{s}': (-torch.rand(dim, dstate, generator=g) - 0.5).to(
                device).requires_grad_(True),
            f'B_{s}': rnd(batch, dstate, seqlen),
            f'C_{s}': rnd(batch, dstate, seqlen),
            f'D_{s}': rnd(dim, dt=torch.float32),
            f'bias_{s}': rnd(dim, scale=0.1, dt=torch.float32),
        })
    return leaves


def path_fn(path: str, leaves: Dict[str, torch.Tensor], dim: int,
            backend: str) -> Callable[[], torch.Tensor]:
    """The path's computation from the leaves to out_proj's (B, L, E)
    input."""
    from mmmamba.ops import bidir_selective_scan, selective_scan

    def u_of(s):
        u = leaves[f'u_{s}']
        return u.transpose(1, 2) if path == 'fused-cl' else u

    def direction(s):
        return (u_of(s), leaves[f'dt_{s}'].transpose(1, 2), leaves[f'A_{s}'],
                leaves[f'B_{s}'], leaves[f'C_{s}'], leaves[f'D_{s}'],
                leaves[f'bias_{s}'])

    def unfused():
        z = leaves['xz'][..., dim:].transpose(1, 2).contiguous()
        ys = []
        for s, reverse in (('f', False), ('b', True)):
            u, dt, A, B, C, D, bias = direction(s)
            ys.append(
                selective_scan(u.contiguous(), dt.contiguous(), A, B, C, D, z,
                               bias, delta_softplus=True, reverse=reverse,
                               backend=backend))
        return (ys[0] + ys[1]).transpose(1, 2) / 2

    def fused():
        z = leaves['xz'][..., dim:].transpose(1, 2)
        y = bidir_selective_scan(*direction('f'), *direction('b'), z,
                                 delta_softplus=True, out_scale=0.5,
                                 backend=backend)
        return y.transpose(1, 2)

    return unfused if path == 'unfused' else fused


def for_out_proj(y: torch.Tensor) -> torch.Tensor:
    """What out_proj's matmul reads: (B, L, E) contiguous (a copy if y is
    not)."""
    return y.contiguous()


def run(shapes: Dict[str, Sequence[int]], dtypes: Sequence[str],
        paths: Sequence[str], device: str, repeats: int,
        warmup: int) -> List[Dict]:
    backend = 'triton'
    timer = time_cuda if device == 'cuda' else time_cpu
    rows = []
    for name, shape in shapes.items():
        dim = shape[1]
        for dt_name in dtypes:
            dtype = DTYPES[dt_name]
            outs = {}
            for path in paths:
                leaves = make_leaves(shape, dtype, device, path == 'fused-cl')
                core = path_fn(path, leaves, dim, backend)
                copied = not core().is_contiguous()

                def fn(core=core):
                    return for_out_proj(core())

                out = fn()
                gy = torch.randn(out.shape, generator=torch.Generator(
                ).manual_seed(1)).to(out.device, out.dtype)
                tensors = list(leaves.values())
                outs[path] = (out.detach().float(),
                              torch.autograd.grad(out, leaves['xz'], gy)[0]
                              .float())

                def fwd(fn=fn):
                    with torch.no_grad():
                        fn()

                def fwd_bwd(fn=fn, gy=gy, tensors=tensors):
                    torch.autograd.grad(fn(), tensors, gy)

                rows.append(
                    dict(shape=name, dtype=dt_name, path=path,
                         fwd_ms=timer(fwd, repeats, warmup),
                         fwdbwd_ms=timer(fwd_bwd, repeats, warmup),
                         out_proj_copy=copied))
            ref = outs[paths[0]]
            for path in paths[1:]:  # same leaves (seeded): same results
                for got, want in zip(outs[path], ref):
                    err = (got - want).abs().max().item()
                    tol = (1e-3 if dtype == torch.float32 else 5e-2) * max(
                        1.0, want.abs().max().item())
                    if err > tol:
                        raise RuntimeError(f'{name} {dt_name}: {path} and '
                                           f'{paths[0]} differ by {err}')
    return rows


def fmt_table(rows: List[Dict]) -> str:
    lines = [
        '| shape | dtype | path | fwd ms | fwd+bwd ms | copy for out_proj '
        '| fwd+bwd vs unfused |',
        '|---|---|---|---|---|---|---|'
    ]
    base = {(r['shape'], r['dtype']): r['fwdbwd_ms']
            for r in rows if r['path'] == 'unfused'}
    for r in rows:
        ref = base.get((r['shape'], r['dtype']))
        ratio = f"{ref / r['fwdbwd_ms']:.2f}x" if ref else '-'
        lines.append(f"| {r['shape']} | {r['dtype']} | {r['path']} | "
                     f"{r['fwd_ms']:.3f} | {r['fwdbwd_ms']:.3f} | "
                     f"{'yes' if r['out_proj_copy'] else 'no'} | "
                     f'{ratio} |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> List[Dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', choices=('cuda', 'cpu'))
    parser.add_argument('--quick', action='store_true',
                        help='CPU: the toy shape (Triton interpreter)')
    parser.add_argument('--shapes', nargs='*', help='subset of shape names')
    parser.add_argument('--dtypes', nargs='+', default=list(DTYPES),
                        choices=list(DTYPES))
    parser.add_argument('--paths', nargs='+', default=list(PATHS),
                        choices=PATHS)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--out', help='also write the table (markdown) here')
    args = parser.parse_args(argv)
    shapes = GPU_SHAPES if args.device == 'cuda' else CPU_SHAPES
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    rows = run(shapes, args.dtypes, args.paths, args.device, args.repeats,
               args.warmup)
    table = fmt_table(rows)
    device = (torch.cuda.get_device_name()
              if args.device == 'cuda' else platform.processor() or 'cpu')
    now = datetime.datetime.now(datetime.timezone.utc)
    header = (f'Bidirectional scan, {device}, torch {torch.__version__}, '
              f'{now:%Y-%m-%d %H:%M} UTC, median of {args.repeats}\n\n')
    print(header + table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(header + table + '\n')
    return rows


if __name__ == '__main__':
    main()
