# Copyright (c) mmmamba contributors. All rights reserved.
"""Host time of Vim's eager inference: microseconds per call of the pieces
of one Vim-Ti layer, and print a table.

Eager Vim-Ti inference at small batches is bound by the host: each of its
24 layers launches ~7 kernels from Python, and at 1248² batch 8 the host
took 17-42 ms per forward on the lent H200 against ~18 ms of kernels
(``benchmarks/NOTES.md``). This tool times the host side of one layer at a
shape where the GPU has little to do (B = 1, L = 197: Vim-Ti at 224²),
bf16 autocast and ``inference_mode``, as ``benchmark_backbone.py`` runs
Vim:

- ``add_norm`` (drop path, residual add, RMSNorm: one Triton kernel),
- ``forward_core`` (both directions' conv + projections and scans: the
  fused inference core, four Triton launches at this shape),
- ``conv1d_silu_proj`` and ``selective_scan_into`` (one direction's op
  through its public function), and, on CUDA only, ``layer`` and the
  whole backbone forward (``model``).

On CUDA (default when available) the calls are queued and timed by the
wall clock with one synchronisation per loop: the host's time whenever it
exceeds the GPU's, as it does at this shape.

On CPU (``--device cpu``) the Triton path runs in Triton's interpreter
(``TRITON_INTERPRET=1`` is set if unset) with every kernel *launch replaced
by a no-op* (``--stub-kernels``, the default there; ``--no-stub-kernels``
runs the kernels in the interpreter): what is timed is the Python and
PyTorch dispatch around the launches, the part of the host time this
package's code decides. Triton's own launch cost (binding and
specialising ~40 arguments per launch, a few tens of microseconds on the
GPU machine) is not in it, and a CPU is not the GPU machine's host: use the
CPU table to compare two trees on one machine, not as the GPU's numbers.
``layer`` and ``model`` are left out on CPU, where ``in_proj`` and
``out_proj`` would be real CPU matrix products.

Examples::

    python tools/analysis_tools/host_overhead.py
    python tools/analysis_tools/host_overhead.py --device cpu --out benchmarks/host_cpu.md
"""  # noqa: E501
import argparse
import os
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import write_table  # noqa: E402

#: Vim-Ti at 224²: 14 x 14 patches and the class token.
SEQLEN = 197


def stub_triton_launches() -> None:
    """Make every kernel launch in Triton's interpreter a no-op (the
    interpreter must be on: ``TRITON_INTERPRET=1`` before triton is
    imported). Arguments are still bound by the caller's code; nothing is
    computed or written."""
    from triton.runtime import interpreter

    def run(self, *args, grid, warmup, **kwargs):
        return None

    interpreter.InterpretedFunction.run = run


def time_calls(fn: Callable, calls: int, rounds: int, device: str) -> float:
    """Median over ``rounds`` of the wall time per call of ``calls`` calls
    in a row (CUDA: synchronised once after each round), microseconds."""
    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    for _ in range(max(calls // 10, 3)):
        fn()
    sync()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        times.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(times)


def build_vim_tiny(device: str) -> torch.nn.Module:
    """Vim-Ti's feature model at 224² (``benchmark_backbone.py``'s), eval
    mode, on the Triton scan and norms (as on a GPU; on CPU in the
    interpreter)."""
    import benchmark_backbone as bb

    from mmmamba.models.layers.norm import RMSNorm
    torch.manual_seed(0)
    model = bb.build_feature_model(bb.parse_model('vim-tiny')[1], 224, None)
    for module in model.modules():
        if hasattr(module, 'scan_backend'):
            module.scan_backend = 'triton'
        if isinstance(module, RMSNorm):
            module.backend = 'triton'
    return model.to(device).eval()


def measure(device: str, calls: int, rounds: int) -> Dict[str, float]:
    """Microseconds per call of each piece (module docstring)."""
    from mmmamba.ops import conv1d_silu_proj, selective_scan_into
    model = build_vim_tiny(device)
    layer = model.body.layers[0]
    mixer = layer.mixer
    hidden = torch.randn(1, SEQLEN, mixer.embed_dims, device=device)
    dtype = torch.bfloat16
    results = {}
    with torch.inference_mode(), torch.autocast(device, dtype=dtype):
        _, residual = layer.add_norm(hidden, None)
        normed, _ = layer.add_norm(hidden.to(dtype), residual)
        xz = mixer.in_proj(normed)
        x = xz[..., :mixer.d_inner]
        A, *weights = mixer._inference_params(False, x.dtype)
        kwargs = dict(dt_rank=mixer.dt_rank, d_state=mixer.d_state,
                      delta_bias=mixer.dt_proj.bias, delta_softplus=True,
                      backend='triton')
        u, delta, B, C = conv1d_silu_proj(x, *weights, **kwargs)
        y = torch.empty_like(x)
        D = mixer.D.float()
        pieces = {
            'add_norm': lambda: layer.add_norm(hidden.to(dtype), residual),
            'forward_core': lambda: mixer.forward_core(xz),
            'conv1d_silu_proj': lambda: conv1d_silu_proj(
                x, *weights, **kwargs),
            'selective_scan_into': lambda: selective_scan_into(
                y.transpose(1, 2), u.transpose(1, 2), delta.transpose(1, 2),
                A, B, C, D, backend='triton'),
        }
        if device == 'cuda':
            image = torch.randn(1, 3, 224, 224, device=device)
            pieces['layer'] = lambda: layer(normed, residual)
            pieces['model'] = lambda: model(image)
        for name, fn in pieces.items():
            n = max(calls // 24, 10) if name == 'model' else calls
            results[name] = time_calls(fn, n, rounds, device)
    return results


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu', choices=['cuda', 'cpu'])
    p.add_argument('--calls', type=int, default=200,
                   help='calls per timed round')
    p.add_argument('--rounds', type=int, default=7,
                   help='timed rounds (the median is reported)')
    p.add_argument('--stub-kernels', action=argparse.BooleanOptionalAction,
                   default=None, help='CPU: replace kernel launches by '
                   'no-ops (default on CPU; not available on CUDA)')
    p.add_argument('--out', help='also write the table to this markdown file')
    args = p.parse_args(argv)
    if args.stub_kernels is None:
        args.stub_kernels = args.device == 'cpu'
    if args.stub_kernels and args.device == 'cuda':
        p.error('--stub-kernels works in Triton\'s CPU interpreter only: '
                'use --device cpu')
    if args.device == 'cuda' and not torch.cuda.is_available():
        p.error('CUDA is not available: use --device cpu')
    return args


def main(argv=None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.device == 'cpu':
        if os.environ.get('TRITON_INTERPRET', '0') in ('', '0') and \
                'triton' in sys.modules:
            raise SystemExit('host_overhead.py --device cpu needs Triton\'s '
                             'interpreter, which must be switched on before '
                             'triton is imported: run it in a fresh process '
                             'or with TRITON_INTERPRET=1')
        os.environ['TRITON_INTERPRET'] = '1'
        if args.stub_kernels:
            stub_triton_launches()
    results = measure(args.device, args.calls, args.rounds)
    lines = ['| piece (Vim-Ti layer, B=1, L=197, bf16) | µs per call |',
             '|---|---|']
    lines += [f'| {name} | {us:.1f} |' for name, us in results.items()]
    print('\n'.join(lines))
    if args.out:
        how = ('kernel launches stubbed (Triton interpreter)'
               if args.stub_kernels else 'real kernel launches')
        write_table(args.out, args.device, lines[0], lines[1:], [],
                    extra=f'; {how}\ncommand: python {" ".join(sys.argv)}')
    return results


if __name__ == '__main__':
    main()
