"""Session 1204d, call A: kernel-level variants at Vim-Ti's inference
shapes (bf16, H200).

1. The time-major forward as Vim's fused mixer calls it for its second
   direction (u, delta, z channel-last; B, C N-last views; reverse;
   0.5 * y added into a channel-last output): the default against
   ``pre_split`` 2 and 4 (the pre-pass on half / quarter segments), and
   the step-loop kernel reading the bf16 N-last B, C in place (its
   launcher's fp32 copy bypassed). Kernel ms: median of CUDA-event timings
   of queued calls; max |diff| against the default's output; then
   torch.profiler's per-kernel split for the default and the best.
2. VimPatchEmbed: the conv (cuDNN) against ``embed_as_gemm`` under bf16
   autocast, fp32 images, ms per call and max |diff|.
"""
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..',
                            'tools', 'analysis_tools'))
from benchmark_scan import (GPU_SHAPES, _last_two_swapped,  # noqa: E402
                            make_inputs, time_cuda)

from mmmamba.models.layers.embed import VimPatchEmbed  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402


def channel_last(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


def name(c):
    return (('steps ' if c.steps else '') + f'd{c.block_d} t{c.block_t} '
            f's{c.n_seg} pre{c.pre_split}')


def kernel_split(fn, n=20):
    from torch.profiler import ProfilerActivity, profile
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(n):
            fn()
        torch.cuda.synchronize()
    parts = {}
    for e in prof.key_averages():
        if e.device_type.name == 'CUDA':
            parts[e.key] = e.device_time_total / n / 1e3
    return ', '.join(f'{k.replace("_selective_scan_", "")[:40]} {v:.4f}'
                     for k, v in sorted(parts.items()) if v > 0)


def variants(base):
    out = [base]
    if base.n_seg > 1:
        out += [base._replace(pre_split=k) for k in (2, 4)]
    for d in (32, 16):
        out.append(tk.ScanConfig(d, 8, 1, block_t=8, n_seg=base.n_seg,
                                 steps=True))
    return out


real_bc_steps_layout = tk.bc_steps_layout


def bc_as_given(B, C):  # the step kernel reads the bf16 N-last views
    return B, C


print(f'{torch.cuda.get_device_name()}, torch {torch.__version__}',
      flush=True)
for shape_name in ('Vim-Ti 1248² b8', 'Vim-Ti 2048² b8', 'Vim-Ti 1248² b64'):
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
        tk.bc_steps_layout = bc_as_given if cfg.steps else \
            real_bc_steps_layout
        tk.selective_scan_fwd(u, dl, A, B, C, D, z, bias, True, False,
                              config=cfg, reverse=True, out=out,
                              out_scale=0.5)
        return out

    ref = call(base, out0.clone())
    rows = []
    for cfg in variants(base):
        try:
            diff = (call(cfg, out0.clone()).float()
                    - ref.float()).abs().max().item()
            out = out0.clone()
            ms = time_cuda(lambda cfg=cfg, out=out: call(cfg, out), 30,
                           queued=True)
            rows.append((ms, cfg, diff))
        except Exception as exc:  # noqa: BLE001 - report, go on
            print(f'{shape_name} {name(cfg)}: {type(exc).__name__}: {exc}',
                  flush=True)
    t0 = next(ms for ms, c, _ in rows if c == base)
    print(f'\n## {shape_name}: default {name(base)} {t0:.4f} ms')
    for ms, cfg, diff in sorted(rows, key=lambda r: r[0]):
        print(f'{shape_name} | {name(cfg):26s} | {ms:.4f} ms | '
              f'{t0 / ms:.3f}x | max|diff| {diff:.3g}', flush=True)
    best = min(rows, key=lambda r: r[0])[1]
    for cfg in dict.fromkeys((base, best)):
        o = out0.clone()
        print(f'  profile {name(cfg)}: '
              f'{kernel_split(lambda cfg=cfg, o=o: call(cfg, o))}',
              flush=True)
    del ins, u, dl, z, B, C, out0, ref
    torch.cuda.empty_cache()

print('\n## VimPatchEmbed under bf16 autocast (fp32 images)')
embed = VimPatchEmbed(3, 192, 16, 16).cuda().eval()
for res, batch in ((1248, 8), (1248, 64), (2048, 8), (224, 128)):
    x = torch.randn(batch, 3, res, res, device='cuda')
    with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
        conv = embed.projection(x).flatten(2).transpose(1, 2)
        gemm = embed.embed_as_gemm(x)
        diff = (conv.float() - gemm.float()).abs().max().item()
        t_conv = time_cuda(lambda: embed.projection(x), 20,
                           queued=True)
        t_gemm = time_cuda(lambda: embed.embed_as_gemm(x), 20,
                             queued=True)
    print(f'{res}² b{batch}: conv {t_conv:.3f} ms, gemm {t_gemm:.3f} ms '
          f'({t_conv / t_gemm:.2f}x), max|diff| {diff:.3g} '
          f'(|conv| max {conv.float().abs().max().item():.3g})', flush=True)
    del x, conv, gemm
