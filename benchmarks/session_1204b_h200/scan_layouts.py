"""Time-major forward at Vim-Ti's inference shapes (bf16, the call of
Vim's second direction, as scan_variants.py) with B and C in three
layouts: ``c`` contiguous (batch, 1, N, L) bf16 (what the launcher copies
to today), ``nl`` transposed views of (batch, 1, L, N) bf16 tensors (the x
projection's own layout, read without a copy: BC_NL) and ``nl32`` the same
in fp32 (bf16 values widened: no conversion in the kernel), each with a
few ``bc_f32`` / ``n_seg`` settings. Two rounds over all variants (the
second in reverse order) to show the noise; ms per call, queued."""
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..',
                            'tools', 'analysis_tools'))
from benchmark_scan import GPU_SHAPES, make_inputs, time_cuda  # noqa: E402

from mmmamba.ops.selective_scan.triton_kernels import (  # noqa: E402
    default_config, selective_scan_fwd)


def channel_last(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


def n_last(t, dtype):
    return t.transpose(2, 3).to(dtype).contiguous().transpose(2, 3)


print(f'{torch.cuda.get_device_name()}, torch {torch.__version__}')
for shape_name in ('Vim-Ti 1248² b8', 'Vim-Ti 2048² b8', 'Vim-Ti 1248² b64',
                   'Vim-Ti 224² b128'):
    batch, dim, dstate, seqlen, groups = GPU_SHAPES[shape_name]
    ins = make_inputs(GPU_SHAPES[shape_name], torch.bfloat16, 'cuda', False)
    u, dl, z = (channel_last(ins[k]) for k in ('u', 'delta', 'z'))
    A, D, bias = ins['A'], ins['D'], ins['delta_bias']
    bc = dict(c=(ins['B'], ins['C']),
              nl=(n_last(ins['B'], torch.bfloat16),
                  n_last(ins['C'], torch.bfloat16)),
              nl32=(n_last(ins['B'], torch.float32),
                    n_last(ins['C'], torch.float32)))
    out0 = channel_last(torch.randn_like(ins['u']))
    base = default_config(seqlen, dstate, dim // groups, backward=False,
                          save_states=False, n_rows=batch * dim, itemsize=2)
    if base.n_seg > 1:
        cfgs = [base._replace(bc_f32=b, n_seg=s) for s in (16, 32)
                for b in (0, 1, 7)]
        cfgs.append(base._replace(bc_f32=7, maxnreg=184))
    else:
        cfgs = [base._replace(bc_f32=b) for b in (0, 4, 6)]
    cases = [(lay, c) for lay in ('c', 'nl', 'nl32') for c in cfgs
             if not (lay == 'nl32' and c.bc_f32)]

    def call(lay, cfg, out):
        B, C = bc[lay]
        selective_scan_fwd(u, dl, A, B, C, D, z, bias, True, False,
                           config=cfg, reverse=True, out=out, out_scale=0.5)
        return out

    ref = call('c', base, out0.clone())
    times = {}
    for rnd, order in enumerate((cases, cases[::-1])):
        for lay, cfg in order:
            out = out0.clone()
            if rnd == 0:
                d = (call(lay, cfg, out0.clone()).float()
                     - ref.float()).abs().max().item()
                times[(lay, cfg)] = [d]
            times[(lay, cfg)].append(time_cuda(
                lambda: call(lay, cfg, out), 30, queued=True))
    t0 = min(times[('c', base)][1:])
    print(f'\n## {shape_name}: default {base}')
    for (lay, cfg), (d, *ms) in sorted(times.items(),
                                       key=lambda kv: min(kv[1][1:])):
        print(f'{shape_name} | {lay:4s} s{cfg.n_seg} bcf{cfg.bc_f32}'
              f'{" r%d" % cfg.maxnreg if cfg.maxnreg else "":5s} | '
              f'{ms[0]:.4f} {ms[1]:.4f} ms | {t0 / min(ms):.3f}x | '
              f'max|diff| {d:.3g}', flush=True)
