"""ConvProjConfig.row_group A/B (prepared 2026-12-05, no device that
session). The conv + projection kernel of Vim-Ti's fused inference, one
direction, bf16, weights as BiMamba's inference cache hands them (taps
(K, E)-contiguous in bf16), at SHAPES: GPU kernel time per call
(torch.profiler, 20 calls after 5) for row_group in GROUPS, both
directions; the outputs must equal row_group 1's bit for bit. Then Vim-Ti
eager bf16 img/s at E2E shapes with the default row_group and each of
E2E_GROUPS, alternating in one process (median of 15 event-timed batches,
3 rounds).

DEVICE=cpu runs tiny shapes in Triton's interpreter (a check of this
script, no timing worth reading)."""
import os
import statistics
import sys
import time

DEVICE = os.environ.get('DEVICE', 'cuda')
if DEVICE == 'cpu':
    os.environ.setdefault('TRITON_INTERPRET', '1')

import torch  # noqa: E402

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from benchmark_scan import kernel_ms  # noqa: E402
from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

DEFAULT = tk.default_config
GROUPS = [int(g) for g in os.environ.get('GROUPS', '1,2,4,8').split(',')]
E2E_GROUPS = [int(g) for g in os.environ.get('E2E_GROUPS', '4,8').split(',')]
CPU = DEVICE == 'cpu'


def use(group):
    def config(*args, **kwargs):
        return DEFAULT(*args, **kwargs)._replace(row_group=group)
    tk.default_config = config


def inputs(batch, seqlen, dim=384, R=12, N=16, K=4):
    g = torch.Generator().manual_seed(0)
    xz = torch.randn(batch, seqlen, 2 * dim, generator=g)
    taps = (torch.randn(K, dim, generator=g) * 0.5).bfloat16()
    return dict(
        x=xz[..., :dim].to(DEVICE, torch.bfloat16),
        weight=taps.to(DEVICE).t(),  # (E, K) view of (K, E) bf16
        bias=(torch.randn(dim, generator=g) * 0.1).to(DEVICE, torch.bfloat16),
        x_proj_weight=(torch.randn(R + 2 * N, dim, generator=g)
                       * dim**-0.5).to(DEVICE, torch.bfloat16),
        dt_proj_weight=(torch.randn(dim, R, generator=g)
                        * R**-0.5).to(DEVICE, torch.bfloat16),
        dt_rank=R, d_state=N,
        delta_bias=(torch.rand(dim, generator=g) - 4).to(DEVICE),
        delta_softplus=True)


def per_call_ms(fn):
    if CPU:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3
    return kernel_ms(fn, repeats=20, warmup=5)


default_shapes = '16x2,8x3' if CPU else '1248x64,2048x64,1248x8,2048x8,224x128'
for spec in os.environ.get('SHAPES', default_shapes).split(','):
    res, batch = map(int, spec.split('x'))
    seqlen = (res // 16)**2 + 1
    ins = inputs(batch, seqlen, dim=16 if CPU else 384)
    for reverse in (False, True):
        ref = None
        cells = []
        for group in GROUPS:
            use(group)

            def call():
                return tk.conv_proj_fwd(reverse=reverse, **ins)

            out = call()
            same = ''
            if ref is None:
                ref = out
            else:
                same = '=' if all(torch.equal(a, b)
                                  for a, b in zip(out, ref)) else '!='
            cells.append(f'G{group} {per_call_ms(call):.4f}{same}')
        print(f'{res}² b{batch} {"rev" if reverse else "fwd"}: ms/call '
              + ', '.join(cells), flush=True)
    if not CPU:
        torch.cuda.empty_cache()

default_e2e = '32x2' if CPU else '1248x64,2048x64,1248x8'
for spec in os.environ.get('E2E', default_e2e).split(','):
    res, batch = map(int, spec.split('x'))
    torch.manual_seed(0)
    m = bb.build_feature_model(bb.parse_model('vim-tiny')[1], res,
                               None).to(DEVICE).eval()
    x = torch.randn(batch, 3, res, res, device=DEVICE)

    def step():
        with torch.inference_mode(), torch.autocast(DEVICE, torch.bfloat16):
            return m(x)

    ys = {}
    for rnd in range(1 if CPU else 3):
        for group in [DEFAULT(1, 1).row_group] + E2E_GROUPS:
            use(group)
            times = bb.time_fn(step, torch.device(DEVICE), 1 if CPU else 3,
                               1 if CPU else 15)
            med = statistics.median(times)
            if rnd == 0:
                out = step()
                ys[group] = out if isinstance(out, torch.Tensor) else \
                    torch.cat([t.flatten() for t in out])
            print(f'round {rnd} G{group} Vim-Ti {res}² b{batch}: '
                  f'{batch / med:8.1f} img/s ({med * 1e3:.2f} ms/batch)',
                  flush=True)
    first = next(iter(ys.values()))
    print(f'{res}² b{batch} features equal across groups: '
          f'{all(torch.equal(first, y) for y in ys.values())}')
    if not CPU:
        torch.cuda.empty_cache()
