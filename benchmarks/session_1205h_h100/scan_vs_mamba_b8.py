"""Eighth part of 2026-12-05: the public selective_scan's inference
forward against mamba-ssm's at batch 8 (Vim-Ti 1248² and 2048², bf16 and
fp32, D, z, delta_bias, softplus), kernel ms per call by kernel
(torch.profiler), inputs as ``benchmark_scan.py --layout vim`` makes
them, made once with requires_grad (as benchmark_scan.py makes them; the
forward runs under no_grad) and once without, three rounds alternating.
callU's benchmark_scan.py --timing kernel had 0.340 ms at 1248² b8 bf16,
callV's scan_op_parts.py 0.266 with inputs that do not require grad."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import (GPU_SHAPES, _last_two_swapped,  # noqa: E402
                            kernel_ms_by, make_inputs)

from mmmamba.ops import selective_scan  # noqa: E402
from mmmamba.ops.selective_scan import available_backends  # noqa: E402

backends = ['triton'] + (['mamba_ssm'] if 'mamba_ssm' in
                         available_backends() else [])
print('backends', backends)
for sname in ('Vim-Ti 1248² b8', 'Vim-Ti 2048² b8'):
    for dtype in (torch.bfloat16, torch.float32):
        sets = {}
        for rg in (True, False):
            ins = make_inputs(GPU_SHAPES[sname], dtype, 'cuda', rg)
            moved = ('u', 'delta', 'z', 'B', 'C')
            sets[rg] = (ins, {k: _last_two_swapped(v) if k in moved else v
                              for k, v in ins.items()})
        times = {}
        outs = {}
        for rnd in range(3):
            for rg, (plain, vim) in sets.items():
                for backend in backends:
                    b_ins = plain if backend == 'mamba_ssm' else vim

                    def fwd(b_ins=b_ins, backend=backend):
                        with torch.no_grad():
                            return selective_scan(**b_ins,
                                                  delta_softplus=True,
                                                  backend=backend)

                    outs[rg, backend] = fwd()
                    per = kernel_ms_by(fwd, 20, 3)
                    times.setdefault((rg, backend), []).append(per)
        ref = outs[False, 'triton'].float()
        for (rg, backend), pers in times.items():
            tot = [sum(p.values()) for p in pers]
            diff = ((outs[rg, backend].float() - ref).abs().max()
                    / ref.abs().max()).item()
            top = sorted(pers[-1].items(), key=lambda kv: -kv[1])[:3]
            print(f'{sname} {str(dtype)[6:]:8s} {backend:9s} '
                  f'requires_grad={rg!s:5s} '
                  + '/'.join(f'{t:.4f}' for t in tot) + ' ms; last: '
                  + ', '.join(f'{k[:48]} {v:.4f}' for k, v in top)
                  + f'; rel diff vs triton {diff:.1e}', flush=True)
