"""Prototype (not in the package): Vim's add + RMSNorm and the next
in_proj in one Triton kernel, against the pair the model runs (the Triton
add + RMSNorm kernel, then cuBLAS ``F.linear``), in the model's layouts
and dtypes: hidden (M, D) bf16, the fp32 residual stream, in_proj's weight
(2E, D) bf16; M = batch x 6085 or 16385 rows (Vim-Ti, D = 192, 2E = 768).

Why: the pair writes the normalised hidden (M, D) bf16 and in_proj reads it
back, 768 of its 4224 bytes per row (18%). The fused kernel owns BLOCK_M
whole rows: add, store the new residual, normalise in registers, then
loops over in_proj's output columns in BLOCK_N tiles on the tensor cores,
the normalised rows held in registers as the dots' first operand and the
weight tiles read from L2 (re-read per row block: the trap of the out_proj
fusion of 2026-12-06, fourth part, measured here rather than argued).

D is split as D1 + D2, both powers of two (192 = 128 + 64), so no MMA runs
on padding.

Usage:
    python benchmarks/session_1207c/norm_in_proj_bench.py          # GPU
    TRITON_INTERPRET=1 python benchmarks/session_1207c/\
norm_in_proj_bench.py check  # CPU: the kernel against the pair, small M
"""
import os
import sys

import torch
import torch.nn.functional as F
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

from mmmamba.ops.rms_norm.triton_kernels import add_rms_norm_fwd

sys.path.insert(0, 'benchmarks/session_1206d_h100')
from sweep_conv_b8 import time_ms  # noqa: E402

INTERPRET = tl.constexpr(os.environ.get('TRITON_INTERPRET') == '1')


@triton.jit
def _dot(a, b, acc):
    if INTERPRET:  # the interpreter multiplies bf16 tiles as raw bits
        return tl.dot(a.to(tl.float32), b.to(tl.float32), acc,
                      input_precision='ieee')
    return tl.dot(a, b, acc)


@triton.jit
def _add_norm_linear_kernel(x_ptr, res_ptr, nw_ptr, w_ptr, res_out_ptr,
                            out_ptr, n_rows, eps,
                            HAS_RES: tl.constexpr, D1: tl.constexpr,
                            D2: tl.constexpr, N: tl.constexpr,
                            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                            STAGES: tl.constexpr):
    D: tl.constexpr = D1 + D2
    pid = tl.program_id(0)
    rows = (pid * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    rmask = (rows < n_rows)[:, None]
    c1 = tl.arange(0, D1)
    c2 = D1 + tl.arange(0, D2)
    r1 = tl.load(x_ptr + rows[:, None] * D + c1[None, :], mask=rmask,
                 other=0.).to(tl.float32)
    r2 = tl.load(x_ptr + rows[:, None] * D + c2[None, :], mask=rmask,
                 other=0.).to(tl.float32)
    if HAS_RES:
        r1 = tl.load(res_ptr + rows[:, None] * D + c1[None, :], mask=rmask,
                     other=0.) + r1
        r2 = tl.load(res_ptr + rows[:, None] * D + c2[None, :], mask=rmask,
                     other=0.) + r2
    tl.store(res_out_ptr + rows[:, None] * D + c1[None, :], r1, mask=rmask)
    tl.store(res_out_ptr + rows[:, None] * D + c2[None, :], r2, mask=rmask)
    rstd = tl.math.rsqrt(
        (tl.sum(r1 * r1, axis=1) + tl.sum(r2 * r2, axis=1)) / D + eps)
    dtype = out_ptr.dtype.element_ty
    w1 = tl.load(nw_ptr + c1).to(tl.float32)
    w2 = tl.load(nw_ptr + c2).to(tl.float32)
    a1 = ((r1 * rstd[:, None]) * w1[None, :]).to(dtype)
    a2 = ((r2 * rstd[:, None]) * w2[None, :]).to(dtype)
    for n0 in tl.range(0, N, BLOCK_N, num_stages=STAGES):
        cn = n0 + tl.arange(0, BLOCK_N)
        wt1 = tl.load(w_ptr + cn[None, :] * D + c1[:, None])  # (D1, BN)
        wt2 = tl.load(w_ptr + cn[None, :] * D + c2[:, None])  # (D2, BN)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        acc = _dot(a1, wt1, acc)
        acc = _dot(a2, wt2, acc)
        tl.store(out_ptr + rows[:, None] * N + cn[None, :], acc.to(dtype),
                 mask=rmask)


@triton.jit
def _add_norm_linear_tma_kernel(x_ptr, res_ptr, nw_ptr, w_desc, res_out_ptr,
                                out_desc, n_rows, eps,
                                HAS_RES: tl.constexpr, D: tl.constexpr,
                                N: tl.constexpr, BLOCK_M: tl.constexpr,
                                BLOCK_N: tl.constexpr, STAGES: tl.constexpr):
    """The same with D in chunks of 64 and the weight tiles read, and the
    output tiles written, by TMA (host tensor descriptors: no pointer
    tensors in registers)."""
    tl.static_assert(D % 64 == 0)
    pid = tl.program_id(0)
    row0 = pid * BLOCK_M
    rows = (row0 + tl.arange(0, BLOCK_M)).to(tl.int64)
    rmask = (rows < n_rows)[:, None]
    c = tl.arange(0, 64)
    KC: tl.constexpr = D // 64
    rs = ()
    ss = tl.zeros((BLOCK_M, ), dtype=tl.float32)
    for k in tl.static_range(KC):
        off = rows[:, None] * D + (k * 64 + c)[None, :]
        r = tl.load(x_ptr + off, mask=rmask, other=0.).to(tl.float32)
        if HAS_RES:
            r = tl.load(res_ptr + off, mask=rmask, other=0.) + r
        tl.store(res_out_ptr + off, r, mask=rmask)
        ss += tl.sum(r * r, axis=1)
        rs = rs + (r, )
    rstd = tl.math.rsqrt(ss / D + eps)
    dtype = out_desc.dtype
    a_s = ()
    for k in tl.static_range(KC):
        w = tl.load(nw_ptr + k * 64 + c).to(tl.float32)
        a_s = a_s + (((rs[k] * rstd[:, None]) * w[None, :]).to(dtype), )
    for n0 in tl.range(0, N, BLOCK_N, num_stages=STAGES):
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k in tl.static_range(KC):
            wt = w_desc.load([n0, k * 64])  # (BLOCK_N, 64)
            acc = _dot(a_s[k], wt.T, acc)
        out_desc.store([row0, n0], acc.to(dtype))


def split_dim(d):
    d1 = 1 << (d.bit_length() - 1)
    d2 = d - d1
    if d2 and d2 & (d2 - 1):
        raise ValueError(f'D = {d} is not a sum of two powers of two')
    return d1, d2


def fused(x, res, nw, w, eps, block_m=128, block_n=128, warps=8, stages=2):
    """x (M, D) bf16, res (M, D) fp32 or None, nw (D,) fp32, w (N, D)
    bf16 -> (xz (M, N) in w's dtype, new residual (M, D) fp32)."""
    m, d = x.shape
    n = w.shape[0]
    d1, d2 = split_dim(d)
    res_out = torch.empty(m, d, dtype=torch.float32, device=x.device)
    out = torch.empty(m, n, dtype=w.dtype, device=x.device)
    grid = (triton.cdiv(m, block_m), )
    _add_norm_linear_kernel[grid](
        x, x if res is None else res, nw, w, res_out, out, m, eps,
        HAS_RES=res is not None, D1=d1, D2=d2, N=n, BLOCK_M=block_m,
        BLOCK_N=block_n, STAGES=stages, num_warps=warps)
    return out, res_out


def fused_tma(x, res, nw, w, eps, block_m=128, block_n=128, warps=8,
              stages=2):
    """:func:`fused` on the TMA kernel (D a multiple of 64)."""
    m, d = x.shape
    n = w.shape[0]
    res_out = torch.empty(m, d, dtype=torch.float32, device=x.device)
    out = torch.empty(m, n, dtype=w.dtype, device=x.device)
    w_desc = TensorDescriptor.from_tensor(w, [block_n, 64])
    out_desc = TensorDescriptor.from_tensor(out, [block_m, block_n])
    grid = (triton.cdiv(m, block_m), )
    _add_norm_linear_tma_kernel[grid](
        x, x if res is None else res, nw, w_desc, res_out, out_desc, m, eps,
        HAS_RES=res is not None, D=d, N=n, BLOCK_M=block_m,
        BLOCK_N=block_n, STAGES=stages, num_warps=warps)
    return out, res_out


def pair(x, res, nw, w, eps):
    y, res_out = add_rms_norm_fwd(x, res, nw, eps, torch.float32)
    return F.linear(y, w), res_out


def inputs(m, d=192, n=768, device='cuda', seed=0):
    g = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(m, d, generator=g, device=device).to(torch.bfloat16)
    res = torch.randn(m, d, generator=g, device=device) * 4
    nw = torch.randn(d, generator=g, device=device) * 0.2 + 1.0
    w = (torch.randn(n, d, generator=g, device=device) * d**-0.5).to(
        torch.bfloat16)
    return x, res, nw, w


def check_cpu():
    """Interpreter: the kernel against the pair's arithmetic in PyTorch
    (fp32 reference of the pair: residual exactly, xz within bf16)."""
    for m, has_res, cfg in [(37, True, (16, 64, 4, 1)),
                            (64, False, (32, 128, 4, 2))]:
        x, res, nw, w = inputs(m, device='cpu')
        res = res if has_res else None
        for fn in (fused, fused_tma):
            check_one(fn, m, x, res, nw, w, has_res, cfg)
    print('check ok')


def check_one(fn, m, x, res, nw, w, has_res, cfg):
    out, res_out = fn(x, res, nw, w, 1e-5, *cfg)
    r = x.float() + (res if has_res else 0)
    rstd = torch.rsqrt(r.pow(2).mean(-1, keepdim=True) + 1e-5)
    y = ((r * rstd) * nw).to(torch.bfloat16)
    ref = (y.float() @ w.float().t())
    assert torch.equal(res_out, r), 'residual'
    err = (out.float() - ref).abs().max().item()
    tol = 2e-2 * ref.abs().max().item()
    print(f'{fn.__name__} M={m} res={has_res} cfg={cfg}: max |xz - ref|'
          f' {err:.3g} (tol {tol:.3g})')
    assert err <= tol, 'xz'


CONFIGS = [  # block_m, block_n, warps, stages
    (128, 128, 8, 2), (128, 128, 8, 3), (128, 256, 8, 2), (128, 64, 4, 3),
    (64, 128, 4, 2), (64, 256, 4, 2), (64, 256, 8, 2), (64, 64, 4, 3),
    (128, 256, 8, 1),
]
# TMA kernel: shared memory per program ~ 2 x 3 weight tiles + the
# normalised rows + the output tile (offline Triton 3.8: 180 KB at
# (128, 128, 8, 2), 107 KB at (64, 64, 4, 3))
TMA_CONFIGS = [
    (128, 128, 8, 2), (128, 64, 8, 2), (128, 64, 8, 3), (64, 128, 4, 2),
    (64, 64, 4, 2), (64, 64, 4, 3), (128, 256, 8, 1), (64, 128, 8, 2),
]
VARIANTS = ([('ptr', cfg) for cfg in CONFIGS]
            + [('tma', cfg) for cfg in TMA_CONFIGS])
KERNELS = {'ptr': fused, 'tma': fused_tma}
SHAPES = [(64 * 16385, '2048² b64'), (64 * 6085, '1248² b64'),
          (8 * 16385, '2048² b8'), (8 * 6085, '1248² b8')]


def main():
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}'
          f', triton {triton.__version__}')
    eps = 1e-5
    for m, name in SHAPES:
        x, res, nw, w = inputs(m)
        ref, ref_res = pair(x, res, nw, w, eps)
        bytes_pair = m * (2304 + 1920)
        bytes_fused = m * (768 + 384 + 768 + 1536)
        rows = []
        t_pair = [time_ms(lambda: pair(x, res, nw, w, eps))]
        for kind, cfg in VARIANTS:
            fn = KERNELS[kind]
            try:
                out, res_out = fn(x, res, nw, w, eps, *cfg)
            except Exception as exc:  # e.g. out of shared memory
                rows.append(((kind, cfg), None, None, type(exc).__name__))
                continue
            diff = (out.float() - ref.float()).abs().max().item()
            same_res = torch.equal(res_out, ref_res)
            rows.append(((kind, cfg),
                         time_ms(lambda: fn(x, res, nw, w, eps, *cfg)),
                         diff, same_res))
        t_pair.append(time_ms(lambda: pair(x, res, nw, w, eps)))
        # second pass over the configs, reversed
        second = {}
        for (kind, cfg), t, _, _ in reversed(rows):
            if t is not None:
                second[kind, cfg] = time_ms(
                    lambda: KERNELS[kind](x, res, nw, w, eps, *cfg))
        t_pair.append(time_ms(lambda: pair(x, res, nw, w, eps)))
        tp = min(t_pair)
        pair_ms = " / ".join(f"{t:.4f}" for t in t_pair)
        # bytes / ms / 1e9 is TB/s (callA's log printed it as "GB/s")
        print(f'\n## {name} (M = {m}): pair {pair_ms} ms'
              f' ({bytes_pair / tp / 1e9:.2f} TB/s by the pair\'s bytes);'
              f' fused byte floor at 2.9 TB/s {bytes_fused / 2.9e9:.4f} ms')
        print('| kernel, config (M, N, warps, stages) | ms 1st / 2nd |'
              ' vs pair | max |xz diff| | residual equal |')
        print('|---|---|---|---|---|')
        for cfg, t, diff, same in rows:
            if t is None:
                print(f'| {cfg} | failed ({same}) | | | |')
                continue
            t2 = second[cfg]
            print(f'| {cfg} | {t:.4f} / {t2:.4f} | {min(t, t2) / tp:.3f} |'
                  f' {diff:.3g} | {same} |')
        x = res = ref = ref_res = None  # noqa: F841
        torch.cuda.empty_cache()


if __name__ == '__main__':
    if sys.argv[1:] == ['check']:
        check_cpu()
    else:
        main()
