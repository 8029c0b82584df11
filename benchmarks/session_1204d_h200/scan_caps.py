"""Call D: the time-major forward with register caps (``maxnreg``) and 8
channels per program (4 state lanes per channel: twice the programs of
the 16-channel default at batch 64) against its default at Vim-Ti's inference shapes, called as Vim's fused mixer calls
it for its second direction (bf16; u, delta, z channel-last; B, C N-last
views; reverse; 0.5 * y added into a channel-last output). Kernel ms:
median of CUDA-event timings of queued calls; max |diff| against the
default's output (a cap changes no arithmetic: 0 expected; other tiles sum
<C, h> over other lanes). CAPS="r1,r2,..." (call E) times only the
default tile under these caps, in this order, at SHAPES (default: all)."""
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..',
                            'tools', 'analysis_tools'))
from benchmark_scan import (GPU_SHAPES, _last_two_swapped,  # noqa: E402
                            make_inputs, time_cuda)

from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402


def channel_last(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


print(f'{torch.cuda.get_device_name()}, torch {torch.__version__}',
      flush=True)
CAPS = [int(r) for r in os.environ.get('CAPS', '').split(',') if r]
SHAPES = os.environ.get('SHAPES', 'Vim-Ti 1248² b64,Vim-Ti 1248² b8,'
                        'Vim-Ti 2048² b8,Vim-Ti 224² b128').split(',')
for shape_name in SHAPES:
    batch, dim, dstate, seqlen, groups = GPU_SHAPES[shape_name]
    ins = make_inputs(GPU_SHAPES[shape_name], torch.bfloat16, 'cuda', False)
    u, dl, z = (channel_last(ins[k]) for k in ('u', 'delta', 'z'))
    B, C = (_last_two_swapped(ins[k]) for k in ('B', 'C'))
    A, D, bias = (ins[k] for k in ('A', 'D', 'delta_bias'))
    out0 = channel_last(torch.randn_like(ins['u']))
    base = tk.default_config(seqlen, dstate, dim // groups, backward=False,
                             save_states=False, n_rows=batch * dim,
                             itemsize=2)

    def call(cfg, out):
        tk.selective_scan_fwd(u, dl, A, B, C, D, z, bias, True, False,
                              config=cfg, reverse=True, out=out,
                              out_scale=0.5)
        return out

    ref = call(base, out0.clone())
    rows = []
    cfgs = [base._replace(maxnreg=r) for r in (0, 168, 144, 128, 96)]
    cfgs += [base._replace(block_d=8, block_t=t, maxnreg=r)
             for t, r in ((8, 0), (8, 128), (4, 0), (4, 96))]
    if CAPS:
        cfgs = [base._replace(maxnreg=r) for r in CAPS]
    for cfg in cfgs:
        diff = (call(cfg, out0.clone()).float()
                - ref.float()).abs().max().item()
        out = out0.clone()
        ms = time_cuda(lambda cfg=cfg, out=out: call(cfg, out), 30,
                       queued=True)
        rows.append((ms, cfg, diff))
    t0 = rows[0][0]
    for ms, c, diff in rows:
        print(f'{shape_name} | d{c.block_d} t{c.block_t} s{c.n_seg} '
              f'maxnreg {c.maxnreg:3d} | {ms:.4f} ms | {t0 / ms:.3f}x | '
              f'max|diff| {diff:.3g}', flush=True)
    del ins, u, dl, z, B, C, out0, ref
    torch.cuda.empty_cache()
