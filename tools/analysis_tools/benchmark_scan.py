# Copyright (c) mmmamba contributors. All rights reserved.
"""Benchmark the selective-scan backends and print a table.

GPU (default when CUDA is available): every available backend at the shapes
that matter (Vim-Ti 224² and 1248², VMamba-T stage 1), fp32 and bf16, forward
and forward+backward, each time also as a percentage of two floors measured in
the same run: the memory floor (each input read once, each output written
once, at the measured device-to-device copy bandwidth) and the exp floor
(batch·dim·L·N exponentials at the measured exp2 throughput). Times are
GPU times of calls queued back to back (``--timing queued``, the default,
as ``triton.testing.do_bench``); ``--timing sync`` synchronises before each
call, which adds each backend's host launch overhead; ``--timing kernel``
sums the device time of the kernels each call runs (torch.profiler: no
host time, no launch gaps), copies the call makes included. ``--layout
channel-last`` gives the mmmamba backends u, delta and z (and the output
gradient) as transposed views of (batch, L, dim) tensors, as Vim's fused
mixer passes them (mamba-ssm needs contiguous ones, and gets those); B and
C stay contiguous (the step-loop kernel's layout copy is timed). ``--layout
vim`` also gives B and C as transposed views of (batch, G, L, N) tensors,
the layout of Vim's inference (``conv1d_silu_proj``'s output), which the
time-major forward reads in place (the backward copies them).

CPU (``--device cpu``): the reference backend against a per-time-step loop
(forward) and against autograd through that loop (forward+backward), at
(batch 2, dim 384, N 16, L 1024, fp32).

Examples::

    python tools/analysis_tools/benchmark_scan.py --out benchmarks/scan.md
    python tools/analysis_tools/benchmark_scan.py --device cpu
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from mmmamba.ops import available_backends, selective_scan

# name: (batch, dim, dstate, seqlen, groups)
GPU_SHAPES = {
    'Vim-Ti 224² b128': (128, 384, 16, 197, 1),
    'Vim-Ti 1248² b8': (8, 384, 16, 6085, 1),
    'Vim-Ti 1248² b64': (64, 384, 16, 6085, 1),
    'Vim-Ti 2048² b8': (8, 384, 16, 16385, 1),
    'VMamba-T stage1 b128': (128, 384, 1, 3136, 4),
}
CPU_SHAPE = (2, 384, 16, 1024, 1)


def make_inputs(shape: Tuple[int, ...], dtype: torch.dtype, device: str,
                requires_grad: bool) -> Dict[str, torch.Tensor]:
    """Inputs as Vim / VMamba feed them: D, z, delta_bias and softplus on."""
    batch, dim, dstate, seqlen, groups = shape
    g = torch.Generator(device='cpu').manual_seed(0)

    def rnd(*s, scale=1.0, dt=dtype):
        return (torch.randn(*s, generator=g) * scale).to(device, dt)

    ins = dict(
        u=rnd(batch, dim, seqlen),
        delta=rnd(batch, dim, seqlen, scale=0.5),
        A=-torch.rand(dim, dstate, generator=g).add(0.5).to(device),
        B=rnd(batch, groups, dstate, seqlen),
        C=rnd(batch, groups, dstate, seqlen),
        D=torch.ones(dim, device=device),
        z=rnd(batch, dim, seqlen),
        delta_bias=rnd(dim, scale=0.1, dt=torch.float32),
    )
    if requires_grad:
        for t in ins.values():
            t.requires_grad_(True)
    return ins


def scan_loop(u, delta, A, B, C, D=None, z=None, delta_bias=None,
              delta_softplus=False):
    """The per-time-step loop that the reference is measured against, in the
    usual form (as mamba-ssm's ``selective_scan_ref``): exp(delta*A) and
    delta*B*u for all steps up front, then one state update and one output
    contraction per time step."""
    batch, dim, seqlen = u.shape
    groups = B.shape[1]
    Bx = B.repeat_interleave(dim // groups, 1)  # (b, d, N, L)
    Cx = C.repeat_interleave(dim // groups, 1)
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    delta_a = torch.exp(torch.einsum('bdl,dn->bdln', delta, A))
    delta_b_u = torch.einsum('bdl,bdnl,bdl->bdln', delta, Bx, u)
    # unbind, not indexing: the backward of L index ops would allocate L
    # full-size zero tensors and make the baseline look far slower.
    steps_a, steps_bu = delta_a.unbind(2), delta_b_u.unbind(2)
    steps_c = Cx.unbind(3)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(seqlen):
        h = steps_a[t] * h + steps_bu[t]
        ys.append(torch.einsum('bdn,bdn->bd', h, steps_c[t]))
    y = torch.stack(ys, -1)
    if D is not None:
        y = y + D[:, None] * u
    if z is not None:
        y = y * F.silu(z)
    return y


def time_cuda(fn: Callable, repeats: int, warmup: int = 3,
              queued: bool = False) -> float:
    """Median milliseconds of ``fn`` over ``repeats`` CUDA-event timings.

    ``queued=False`` synchronises before every call: the GPU idles until
    the host has launched the call's kernels, so each time includes the
    host's launch overhead (Python, autograd, the launchers) as well as the
    kernels. ``queued=True`` records an event between consecutive calls
    and synchronises once at the end, as ``triton.testing.do_bench`` does:
    while the host stays ahead of the GPU the queue never drains and each
    interval is the GPU's time for one call; where the host is slower than
    the kernels the intervals still include it.
    """
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    if queued:
        events = [torch.cuda.Event(enable_timing=True)
                  for _ in range(repeats + 1)]
        events[0].record()
        for i in range(repeats):
            fn()
            events[i + 1].record()
        torch.cuda.synchronize()
        return statistics.median(
            a.elapsed_time(b) for a, b in zip(events, events[1:]))
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def time_cpu(fn: Callable, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def add_common_args(parser: argparse.ArgumentParser, repeats: int,
                    warmup: int) -> None:
    """The options the op benchmarks share: --device, --quick, --shapes
    (:func:`pick_shapes` reads them), --repeats, --warmup, --sweep and
    --out (:func:`write_table`)."""
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true',
                        help='a toy shape (CPU smoke test)')
    parser.add_argument('--shapes', nargs='*', help='subset of shape names')
    parser.add_argument('--repeats', type=int, default=repeats)
    parser.add_argument('--warmup', type=int, default=warmup)
    parser.add_argument('--sweep', action='store_true',
                        help='time the Triton kernels over launch '
                        'configurations')
    parser.add_argument('--out', help='also write the table (markdown) here '
                        '(not with --sweep)')


def kernel_ms_by(fn: Callable, repeats: int, warmup: int = 0,
                 group: Optional[Callable[[str], str]] = None
                 ) -> Dict[str, float]:
    """GPU kernel milliseconds per call of ``fn``, per kernel name (or per
    ``group(name)``): the device time of the CUDA kernels (and copies)
    torch.profiler records over ``repeats`` calls, divided by
    ``repeats``; host time and launch gaps excluded."""
    from torch.profiler import ProfilerActivity, profile
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(repeats):
            fn()
        torch.cuda.synchronize()
    per: Dict[str, float] = {}
    for e in prof.key_averages():
        if e.device_type.name == 'CUDA':
            key = group(e.key) if group else e.key
            per[key] = per.get(key, 0.0) + e.device_time_total / repeats / 1e3
    return per


def kernel_ms(fn: Callable, repeats: int, warmup: int = 0) -> float:
    """GPU kernel milliseconds per call of ``fn`` (:func:`kernel_ms_by`,
    all kernels)."""
    return sum(kernel_ms_by(fn, repeats, warmup).values())


def pick_shapes(args, gpu: Dict, cpu: Dict, quick: Dict) -> Dict:
    """The shapes a benchmark script's ``main`` runs: ``quick`` with
    ``--quick``, else ``gpu`` or ``cpu`` by ``--device``, filtered by
    ``--shapes`` names. On CPU it first turns Triton's interpreter on
    (``TRITON_INTERPRET=1`` if unset), which must happen before any kernel
    module is imported."""
    if args.device == 'cpu':
        os.environ.setdefault('TRITON_INTERPRET', '1')
    shapes = quick if args.quick else (gpu if args.device == 'cuda' else cpu)
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    return shapes


def write_table(path: str, device: str, header: str, lines: List[str],
                summary: List[str], extra: str = '') -> None:
    """Write a benchmark table as markdown: the date (UTC), the device
    (``device``: 'cuda' or 'cpu', described), torch's version and ``extra``
    on the first lines, then ``header``, the table's ``lines`` and the
    ``summary`` lines."""
    name = (torch.cuda.get_device_name(0) if device == 'cuda' else
            f'{platform.processor() or platform.machine()}, '
            f'{torch.get_num_threads()} threads')
    now = datetime.datetime.now(datetime.timezone.utc)
    with open(path, 'w') as f:
        f.write(f'date: {now:%Y-%m-%d %H:%M} UTC\n'
                f'device: {name}; torch {torch.__version__}{extra}\n\n')
        f.write(header + '\n')
        f.write('\n'.join(lines) + '\n\n')
        f.write('\n'.join(summary) + '\n')


def measure_copy_bandwidth() -> float:
    """Device-to-device copy, bytes read + written per second."""
    x = torch.empty(256 * 2**20, dtype=torch.uint8, device='cuda')
    y = torch.empty_like(x)
    ms = time_cuda(lambda: y.copy_(x), repeats=20)
    return 2 * x.numel() / (ms * 1e-3)


def measure_exp_throughput() -> Optional[float]:
    """exp2 evaluations per second from a register-resident Triton loop."""
    try:
        import triton
        import triton.language as tl
    except ImportError:
        return None

    @triton.jit
    def _exp_kernel(out_ptr, ITERS: tl.constexpr, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        x = offs.to(tl.float32) * 1e-9 - 0.5
        acc = tl.zeros((BLOCK, ), dtype=tl.float32)
        for _ in range(ITERS):
            x = tl.exp2(x) - 1.0  # dependent chain: not hoisted
            acc += x
        tl.store(out_ptr + offs, acc)

    block, iters = 1024, 512
    n_prog = torch.cuda.get_device_properties(0).multi_processor_count * 32
    out = torch.empty(n_prog * block, device='cuda')
    ms = time_cuda(
        lambda: _exp_kernel[(n_prog, )](out, ITERS=iters, BLOCK=block),
        repeats=10)
    return n_prog * block * iters / (ms * 1e-3)


def floor_bytes(shape, dtype: torch.dtype, backward: bool) -> int:
    """Minimum bytes: forward reads u, delta, z, B, C and writes y; the
    backward also reads those plus dy and writes du, ddelta, dz, dB, dC."""
    batch, dim, dstate, seqlen, groups = shape
    el = torch.finfo(dtype).bits // 8
    big = batch * dim * seqlen * el
    bc = batch * groups * dstate * seqlen * el
    fwd = 4 * big + 2 * bc
    if not backward:
        return fwd
    return fwd + (4 * big + 2 * bc) + (3 * big + 2 * bc)


def _last_two_swapped(t: torch.Tensor) -> torch.Tensor:
    """The same values with the last two axes swapped in memory: a
    (batch, dim, L) tensor with stride 1 along dim, or a (batch, G, N, L)
    one with stride 1 along N (a leaf that requires grad if ``t`` does)."""
    out = t.detach().transpose(-1, -2).contiguous().transpose(-1, -2)
    return out.requires_grad_(t.requires_grad)


def run_gpu(args) -> List[Dict]:
    torch.backends.cuda.matmul.allow_tf32 = False
    bw = measure_copy_bandwidth()
    exp_rate = measure_exp_throughput()
    print(f'copy bandwidth {bw / 1e12:.2f} TB/s; exp2 throughput '
          f'{(exp_rate or 0) / 1e12:.2f} T/s')
    backends = [b for b in available_backends() if b in args.backends]
    rows = []
    for name, shape in GPU_SHAPES.items():
        if args.shapes and name not in args.shapes:
            continue
        batch, dim, dstate, seqlen, groups = shape
        for dtype in (torch.float32, torch.bfloat16):
            ins = make_inputs(shape, dtype, 'cuda', requires_grad=True)
            grad = torch.randn_like(ins['u'])
            cl_ins, cl_grad = ins, grad
            if args.layout != 'contiguous':
                moved = ('u', 'delta', 'z')
                if args.layout == 'vim':
                    moved += ('B', 'C')
                cl_ins = {k: _last_two_swapped(v) if k in moved else v
                          for k, v in ins.items()}
                cl_grad = _last_two_swapped(grad)
            for backend in backends:
                b_ins, b_grad = ((ins, grad) if backend == 'mamba_ssm' else
                                 (cl_ins, cl_grad))
                if backend == 'reference' and batch * dim * seqlen * dstate \
                        > 2**31 // 4:
                    continue  # the oracle's (b, d, L, N) tensors do not fit

                def fwd():
                    with torch.no_grad():
                        selective_scan(**b_ins, delta_softplus=True,
                                       backend=backend)

                def fwd_bwd():
                    out = selective_scan(**b_ins, delta_softplus=True,
                                         backend=backend)
                    out.backward(b_grad)

                # the oracle takes up to seconds per call: fewer repeats
                reps = 3 if backend == 'reference' else args.repeats
                try:
                    if args.timing == 'kernel':
                        t_f = sum(kernel_ms_by(fwd, reps, 3).values())
                        t_fb = sum(kernel_ms_by(fwd_bwd, max(3, reps // 2),
                                                3).values())
                    else:
                        queued = args.timing == 'queued'
                        t_f = time_cuda(fwd, reps, queued=queued)
                        t_fb = time_cuda(fwd_bwd, max(3, reps // 2),
                                         queued=queued)
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    continue
                mem_f = floor_bytes(shape, dtype, False) / bw * 1e3
                mem_fb = floor_bytes(shape, dtype, True) / bw * 1e3
                n_exp = batch * dim * seqlen * dstate
                exp_f = n_exp / exp_rate * 1e3 if exp_rate else float('nan')
                rows.append(
                    dict(shape=name, dtype=str(dtype).split('.')[-1],
                         backend=backend, fwd_ms=t_f, fwdbwd_ms=t_fb,
                         mem_floor_fwd_ms=mem_f,
                         pct_mem_fwd=100 * mem_f / t_f,
                         pct_exp_fwd=100 * exp_f / t_f,
                         mem_floor_fwdbwd_ms=mem_fb,
                         pct_mem_fwdbwd=100 * mem_fb / t_fb,
                         # backward recomputes a_t and a_{t+1}: 3 exps/state
                         pct_exp_fwdbwd=100 * 3 * exp_f / t_fb))
                print(fmt_row(rows[-1]), flush=True)
            torch.cuda.empty_cache()
    return rows


def run_cpu(args) -> List[Dict]:
    torch.manual_seed(0)
    ins = make_inputs(CPU_SHAPE, torch.float32, 'cpu', requires_grad=True)
    grad = torch.randn_like(ins['u'])
    rows = []
    impls = {
        'reference': lambda: selective_scan(
            **ins, delta_softplus=True, backend='reference'),
        'per-step loop': lambda: scan_loop(**ins, delta_softplus=True),
    }
    for name, fn in impls.items():

        def fwd():
            with torch.no_grad():
                fn()

        def fwd_bwd():
            fn().backward(grad)

        batch, dim, dstate, seqlen, _ = CPU_SHAPE
        rows.append(dict(shape=f'b{batch} d{dim} N{dstate} L{seqlen}',
                         dtype='float32',
                         backend=name, fwd_ms=time_cpu(fwd, args.repeats),
                         fwdbwd_ms=time_cpu(fwd_bwd, args.repeats)))
        print(fmt_row(rows[-1]), flush=True)
    ref, loop = rows
    print(f'speed-up of the reference: forward '
          f'{loop["fwd_ms"] / ref["fwd_ms"]:.2f}x, forward+backward '
          f'{loop["fwdbwd_ms"] / ref["fwdbwd_ms"]:.2f}x')
    return rows


def fmt_row(r: Dict) -> str:
    cells = [r['shape'], r['dtype'], r['backend'], f'{r["fwd_ms"]:.3f}',
             f'{r["fwdbwd_ms"]:.3f}']
    if 'pct_mem_fwd' in r:
        cells += [
            f'{r["mem_floor_fwd_ms"]:.3f}', f'{r["pct_mem_fwd"]:.1f}',
            f'{r["pct_exp_fwd"]:.1f}', f'{r["mem_floor_fwdbwd_ms"]:.3f}',
            f'{r["pct_mem_fwdbwd"]:.1f}', f'{r["pct_exp_fwdbwd"]:.1f}'
        ]
    return '| ' + ' | '.join(cells) + ' |'


HEADER_GPU = ('| shape | dtype | backend | fwd ms | fwd+bwd ms | mem floor fwd ms '
              '| % mem floor fwd | % exp floor fwd | mem floor fwd+bwd ms '
              '| % mem floor fwd+bwd | % exp floor fwd+bwd |\n'
              '|---|---|---|---|---|---|---|---|---|---|---|')
HEADER_CPU = ('| shape | dtype | implementation | fwd ms | fwd+bwd ms |\n'
              '|---|---|---|---|---|')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--backends', nargs='+',
                        default=['reference', 'triton', 'mamba_ssm'])
    parser.add_argument('--shapes', nargs='*', help='subset of shape names')
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument(
        '--timing', choices=('queued', 'sync', 'kernel'), default='queued',
        help='queued: calls back to back, an event between each (GPU time '
        'while the host keeps ahead, as triton.testing.do_bench); sync: '
        'synchronise before each call (adds the host launch overhead); '
        'kernel: the device time of the kernels (and copies) each call '
        'runs, from torch.profiler (no host time, no launch gaps)')
    parser.add_argument(
        '--layout', choices=('contiguous', 'channel-last', 'vim'),
        default='contiguous',
        help='layout of u, delta, z (vim: and B, C) for the mmmamba '
        'backends (module docstring)')
    parser.add_argument('--out', help='also write the table (markdown) here')
    args = parser.parse_args()
    if args.device == 'cuda':
        print(HEADER_GPU)
        rows = run_gpu(args)
        header = HEADER_GPU
        device = torch.cuda.get_device_name(0)
    else:
        print(HEADER_CPU)
        rows = run_cpu(args)
        header = HEADER_CPU
        device = f'{platform.processor() or platform.machine()}, ' \
                 f'{torch.get_num_threads()} threads'
    if args.out:
        with open(args.out, 'w') as f:
            f.write(f'date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n'
                    f'device: {device}; torch {torch.__version__}\n'
                    f'command: {" ".join(sys.argv)}\n'
                    + (f'timing: {args.timing}; layout of the mmmamba '
                       f'backends: {args.layout}\n' if args.device == 'cuda'
                       else '') + '\n')
            f.write(header + '\n')
            f.write('\n'.join(fmt_row(r) for r in rows) + '\n')


if __name__ == '__main__':
    main()
