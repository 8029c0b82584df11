"""Vim's per-direction prologue, bf16 (CUDA), kernel time in ms (median of
triton.testing.do_bench): the unfused sequence of the inference path before
this session (single-direction conv kernel, x_proj and dt_proj GEMMs, B and
C copies into (B, N, L)) against conv1d_silu_proj (one kernel), at Vim-Ti's
shapes, both directions; then a sweep of the new kernel's launch
configuration. Outputs of the new kernel against the old sequence: max
|diff| / max |old| per output. SWEEP=0 skips the sweep."""
import os

import torch
import torch.nn.functional as F
import triton

from mmmamba.ops import conv1d_silu, conv1d_silu_proj
from mmmamba.ops.conv_proj import triton_kernels as tk

E, R, N, K = 384, 12, 16, 4
SHAPES = (('224² b128', 128, 197), ('1248² b8', 8, 6085),
          ('1248² b64', 64, 6085), ('2048² b8', 8, 16385))
dev = torch.device('cuda')
torch.manual_seed(0)
w = torch.randn(E, K, device=dev).bfloat16() * 0.5
b = torch.randn(E, device=dev).bfloat16()
wx = torch.randn(R + 2 * N, E, device=dev) / E**0.5
wdt = torch.randn(E, R, device=dev) / R**0.5


def old(x, reverse):
    u = conv1d_silu(x, w, b, reverse=reverse, backend='triton')
    x_dbl = F.linear(u, wx.bfloat16())
    dt, Bm, Cm = torch.split(x_dbl, [R, N, N], dim=-1)
    delta = F.linear(dt, wdt.bfloat16())
    return u, delta, Bm.transpose(1, 2).contiguous(), \
        Cm.transpose(1, 2).contiguous()


def new(x, reverse, config=None):
    if config is None:
        return conv1d_silu_proj(x, w, b, wx, wdt, dt_rank=R, d_state=N,
                                reverse=reverse, backend='triton')
    return tk.conv_proj_fwd(x, w, b, wx, wdt, R, N, reverse, config)


def bench(fn):
    return triton.testing.do_bench(fn, warmup=10, rep=50,
                                   return_mode='median')


print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}, '
      f'triton {triton.__version__}, default {tk.FWD_CONFIG}')
print('| shape | dir | old ms | new ms | speed-up | max rel diff u, delta, '
      'B, C |')
print('|---|---|---|---|---|---|')
with torch.inference_mode():
    for name, batch, seqlen in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
        x = xz[..., :E]
        for reverse in (False, True):
            a, bb = old(x, reverse), new(x, reverse)
            diffs = ', '.join(
                f'{(p.float() - q.float()).abs().max().item() / p.float().abs().max().item():.1e}'  # noqa
                for p, q in zip(a, bb))
            t_old = bench(lambda: old(x, reverse))
            t_new = bench(lambda: new(x, reverse))
            print(f'| {name} | {"bwd" if reverse else "fwd"} | {t_old:.3f} '
                  f'| {t_new:.3f} | {t_old / t_new:.2f}x | {diffs} |',
                  flush=True)
        del xz, x
    if os.environ.get('SWEEP', '1') != '0':
        print('\nsweep (forward direction): block_l block_e warps -> ms')
        for name, batch, seqlen in SHAPES:
            xz = torch.randn(batch, seqlen, 2 * E, device=dev).bfloat16()
            x = xz[..., :E]
            res = []
            for bl in (32, 64, 128):
                for be in (32, 64, 128):
                    for nw in (2, 4, 8):
                        cfg = tk.ConvProjConfig(bl, be, nw)
                        try:
                            t = bench(lambda: new(x, False, cfg))
                        except Exception as e:  # noqa: BLE001
                            print(f'  {name} {cfg}: {type(e).__name__}')
                            continue
                        res.append((t, bl, be, nw))
            res.sort()
            print(f'{name}: ' + '; '.join(
                f'{bl} {be} {nw}: {t:.3f}' for t, bl, be, nw in res[:6]),
                flush=True)
            del xz, x
