"""callF (2026-12-06, sixth part): the one-launch scan's loads at clamped
positions without masks, the featmap transpose kernel, and today's tree
end to end against DeiT-Ti.

Part 1: kernel ms (CUDA events, ABBA) of ``BidirFwdLaunch`` with the
previous kernel (``triton_bidir_32c7aac.py``, the file at commit 32c7aac,
loaded as a module of ``mmmamba.ops.selective_scan``) and today's, at
2048² and 1248² b64 with delta formed from dt_proj's fp32 input; the
outputs must be equal. And ``tokens_to_featmap`` (kernel) against its
reference (cat + permuted copy) at Vim-Ti's 2048² b64, bf16.
Part 2: Vim-Ti under CUDA graphs (wall ms per batch, peak GiB; the fifth
part's ``streams_probe.run``): today's tree, ``FUSED_TOKENS`` off, the
previous scan kernel (twice each at 2048² b64 and 1248² b8, once at
1248² b64 and 2048² b8); DeiT-Ti SDPA once each.

Usage: python benchmarks/session_1206f_h100/callF_bench.py
"""
import importlib.util
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1206e_h100')
from mmmamba.models.backbones import vision_mamba as vm  # noqa: E402
from mmmamba.ops import token_layout  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir as tb  # noqa: E402

DEV = 'cuda'


def load_prev():
    name = 'mmmamba.ops.selective_scan._bidir_prev'
    spec = importlib.util.spec_from_file_location(
        name, 'benchmarks/session_1206f_h100/triton_bidir_32c7aac.py')
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def timed(fn, reps=10):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    ev[0].record()
    for i in range(reps):
        fn()
        ev[i + 1].record()
    torch.cuda.synchronize()
    return statistics.median(a.elapsed_time(b) for a, b in zip(ev, ev[1:]))


def kernel_part(prev):
    for name, batch, seqlen in (('2048² b64', 64, 16384),
                                ('1248² b64', 64, 6084)):
        g = torch.Generator(device='cpu').manual_seed(0)
        e, n, r = 384, 16, 16
        u = torch.randn(2, batch, seqlen, e, generator=g).to(
            DEV, torch.bfloat16)
        dtl = torch.randn(2, batch, seqlen, r, generator=g) * 0.5
        dtl[..., 12:] = 0
        dtl = dtl.to(DEV)
        W = (torch.randn(2, e, r, generator=g) * 0.2)
        W[..., 12:] = 0
        W = W.to(DEV)
        bias = torch.full((2, e), -4.6).to(DEV)
        A = -(torch.arange(1, n + 1).float()[None, None, :]
              * (0.8 + 0.4 * torch.rand(2, e, 1, generator=g))).to(DEV)
        B = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
        C = torch.randn(2, batch, seqlen, n, generator=g).to(DEV)
        D = torch.ones(2, e, device=DEV)
        xz = torch.randn(batch, seqlen, 2 * e, generator=g).to(
            DEV, torch.bfloat16)
        z, out = xz[..., e:], xz[..., :e]
        args = (u, dtl, A, B, C, D, z, out)
        launches = {'prev': prev.BidirFwdLaunch(*args, 0.5, W, bias),
                    'clamped': tb.BidirFwdLaunch(*args, 0.5, W, bias)}
        keys = list(launches)
        times = {k: [] for k in keys}
        for order in (keys, keys[::-1], keys, keys[::-1]):
            for k in order:
                times[k].append(timed(
                    lambda f=launches[k], a=args: f(*a, W, bias)))
        outs = {}
        for k in keys:
            out.copy_(xz[..., e:])  # the same prior contents for both
            launches[k](*args, W, bias)
            outs[k] = out.clone()
        same = torch.equal(outs['prev'], outs['clamped'])
        print(f'{name}: outputs equal {same}', flush=True)
        for k in keys:
            print(f'  {k}: ' + ' / '.join(f'{t:.4f}' for t in times[k])
                  + ' ms', flush=True)
        del args, launches, u, dtl, B, C, xz, z, out
        torch.cuda.empty_cache()
    feat = torch.randn(64, 16384, 192, device=DEV).bfloat16()
    ref = token_layout.tokens_to_featmap_ref(feat, (128, 128))
    got = token_layout.tokens_to_featmap(feat, (128, 128),
                                         backend='triton')
    t_ref = timed(lambda: token_layout.tokens_to_featmap_ref(
        feat, (128, 128)), 20)
    t_got = timed(lambda: token_layout.tokens_to_featmap(
        feat, (128, 128), backend='triton'), 20)
    gb = 2 * feat.numel() * 2 / 1e9
    print(f'featmap 2048² b64 bf16: reference {t_ref:.4f} ms, kernel '
          f'{t_got:.4f} ms ({gb / t_got:.2f} TB/s), equal '
          f'{torch.equal(ref, got)}', flush=True)


def e2e_part(prev):
    import streams_probe as sp
    new_kernel = tb._bidir_fwd_kernel
    for res, batch, reps in ((2048, 64, 2), (1248, 8, 2), (1248, 64, 1),
                             (2048, 8, 1)):
        for _ in range(reps):
            sp.run('today', 'vim-tiny', res, batch)
            vm.FUSED_TOKENS = False
            try:
                sp.run('tokens-off', 'vim-tiny', res, batch)
            finally:
                vm.FUSED_TOKENS = True
            tb._bidir_fwd_kernel = prev._bidir_fwd_kernel
            try:
                sp.run('prev-scan', 'vim-tiny', res, batch)
            finally:
                tb._bidir_fwd_kernel = new_kernel
        sp.run('deit-sdpa', 'deit-tiny-sdpa', res, batch, reps=5)


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    prev = load_prev()
    kernel_part(prev)
    e2e_part(prev)


if __name__ == '__main__':
    main()
