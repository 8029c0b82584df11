"""Eighth part of 2026-12-05: where the public ``selective_scan``'s
inference forward spends its time at batch 8 (Vim-Ti 1248² and 2048²,
bf16, Vim's layout: u, delta, z channel-last views, B and C N-last views,
as ``benchmark_scan.py --layout vim``), kernel ms per call by kernel
(torch.profiler, ``benchmark_scan.kernel_ms_by``), for variants of the
inputs: everything on (D, z, delta_bias, softplus: what callU timed
against mamba-ssm); B and C cast to fp32 N-last inside the timed call
(the batch-8 main kernel's pipelined 8-step tile needs fp32 B and C); no
gate z; no bias / softplus (delta handed over as the step itself). The
question: callU has the op at 0.340 ms per call at 1248² b8 where Vim's
mixer core spends ~0.205 ms per direction on its two scan kernels."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
from benchmark_scan import (GPU_SHAPES, _last_two_swapped,  # noqa: E402
                            kernel_ms_by, make_inputs)

from mmmamba.ops import selective_scan  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402


def fp32_n_last(t):
    return t.transpose(-1, -2).float().contiguous().transpose(-1, -2)


def short(name):
    for key in ('seg_kernel', 'tmajor_kernel', 'copy', 'elementwise'):
        if key in name:
            return key
    return name[:40]


for sname in ('Vim-Ti 1248² b8', 'Vim-Ti 2048² b8'):
    ins = make_inputs(GPU_SHAPES[sname], torch.bfloat16, 'cuda', False)
    moved = ('u', 'delta', 'z', 'B', 'C')
    ins = {k: _last_two_swapped(v) if k in moved else v
           for k, v in ins.items()}
    step = torch.nn.functional.softplus(
        ins['delta'].float() + ins['delta_bias'][:, None]).to(torch.bfloat16)
    step = _last_two_swapped(step)
    print(sname, 'config bf16 B, C:', tk.fwd_config(ins['u'], ins['B'], False))
    print(sname, 'config fp32 B, C:',
          tk.fwd_config(ins['u'], fp32_n_last(ins['B']), False))
    variants = {
        'all on': lambda: selective_scan(**ins, delta_softplus=True,
                                         backend='triton'),
        'B, C cast to fp32 in the call': lambda: selective_scan(
            **dict(ins, B=fp32_n_last(ins['B']), C=fp32_n_last(ins['C'])),
            delta_softplus=True, backend='triton'),
        'no z': lambda: selective_scan(**dict(ins, z=None),
                                       delta_softplus=True,
                                       backend='triton'),
        'no bias / softplus': lambda: selective_scan(
            **dict(ins, delta=step, delta_bias=None), backend='triton'),
        'no z, bias, softplus': lambda: selective_scan(
            **dict(ins, delta=step, delta_bias=None, z=None),
            backend='triton'),
    }
    ref = variants['all on']()
    for vname, fn in variants.items():
        with torch.no_grad():
            out = fn()
            per = kernel_ms_by(fn, 20, 3, group=short)
        diff = ((out.float() - ref.float()).abs().max()
                / ref.float().abs().max()).item()
        print(f'{sname} {vname:32s} {sum(per.values()):.4f} ms: '
              + ', '.join(f'{k} {v:.4f}' for k, v in sorted(per.items()))
              + f' (max rel diff vs all on {diff:.1e})', flush=True)
