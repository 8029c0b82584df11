"""Register caps (``maxnreg``) on the time-major forward as Vim's fused
inference now calls it: direction 1 without bias, softplus or z (it writes
its ungated y), direction 2 reversed, gating the sum into the output
(``gate_sum``), both without bias and softplus (the conv + projection
kernel computed the step). bf16; u, delta channel-last, z the strided half
of a (B, L, 2E) tensor, B, C N-last views. Kernel ms: median of CUDA-event
timings of queued calls; max |diff| against the default's output (a cap
changes no arithmetic: 0 expected)."""
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
SHAPES = os.environ.get('SHAPES', 'Vim-Ti 1248² b64,Vim-Ti 224² b128,'
                        'Vim-Ti 1248² b8,Vim-Ti 2048² b8').split(',')
for shape_name in SHAPES:
    batch, dim, dstate, seqlen, groups = GPU_SHAPES[shape_name]
    ins = make_inputs(GPU_SHAPES[shape_name], torch.bfloat16, 'cuda', False)
    u, dl = (channel_last(ins[k]) for k in ('u', 'delta'))
    dl = torch.nn.functional.softplus(dl.float()).to(dl.dtype)
    zz = torch.randn(batch, seqlen, 2 * dim, device='cuda').bfloat16()
    z = zz[..., dim:].transpose(1, 2)
    B, C = (_last_two_swapped(ins[k]) for k in ('B', 'C'))
    A, D = ins['A'], ins['D']
    out0 = channel_last(torch.randn_like(ins['u']))
    base = tk.default_config(seqlen, dstate, dim // groups, backward=False,
                             save_states=False, n_rows=batch * dim,
                             itemsize=2)

    def call(cfg, out, second):
        tk.selective_scan_fwd(u, dl, A, B, C, D, z if second else None,
                              None, False, False, config=cfg,
                              reverse=second, out=out,
                              out_scale=0.5 if second else 1.0,
                              accumulate=second, gate_sum=second)
        return out

    for second in (False, True):
        ref = call(base, out0.clone(), second)
        rows = []
        for r in (base.maxnreg, 0, 168, 144, 128):
            cfg = base._replace(maxnreg=r)
            diff = (call(cfg, out0.clone(), second).float()
                    - ref.float()).abs().max().item()
            out = out0.clone()
            ms = time_cuda(lambda cfg=cfg, out=out: call(cfg, out, second),
                           30, queued=True)
            rows.append((ms, cfg, diff))
        t0 = rows[0][0]
        for ms, c, diff in rows:
            print(f'{shape_name} dir{2 if second else 1} | d{c.block_d} '
                  f't{c.block_t} s{c.n_seg} maxnreg {c.maxnreg:3d} | '
                  f'{ms:.4f} ms | {t0 / ms:.3f}x | max|diff| {diff:.3g}',
                  flush=True)
    del ins, u, dl, z, zz, B, C, out0, ref
    torch.cuda.empty_cache()
