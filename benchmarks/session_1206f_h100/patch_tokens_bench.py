"""callE (2026-12-06, sixth part): Vim's input tokens in one kernel
(``mmmamba.ops.patch_tokens``) against the unfused path
(``VimPatchEmbed.embed_as_gemm`` + ``VisionMamba._tokens``).

Part 1: kernel ms (CUDA events, median of 20 after warm-up) of the unfused
path and of the fused kernel under a few tile configurations, bf16
autocast, fp32 images, Vim-Ti's tokens, and the outputs' difference.
Part 2: Vim-Ti end to end under CUDA graphs with
``vision_mamba.FUSED_TOKENS`` on and off (on, off, on, off) at 2048² b64 and
1248² b8, with the best configuration of part 1.

Usage: python benchmarks/session_1206f_h100/patch_tokens_bench.py
"""
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1206e_h100')
from mmmamba.models.backbones import vision_mamba as vm  # noqa: E402
from mmmamba.ops.patch_tokens import triton_kernels as ptk  # noqa: E402

DEV = 'cuda'
CONFIGS = [(64, 64, 64, 4, 3), (128, 64, 64, 4, 3), (64, 64, 32, 4, 4),
           (128, 64, 32, 4, 4), (64, 64, 128, 4, 2), (128, 64, 64, 8, 3),
           (64, 64, 64, 4, 2), (32, 64, 64, 4, 3)]


def timed(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    ev[0].record()
    for i in range(reps):
        fn()
        ev[i + 1].record()
    torch.cuda.synchronize()
    return statistics.median(a.elapsed_time(b) for a, b in zip(ev, ev[1:]))


def kernel_part():
    model = vm.VisionMamba(arch='tiny', img_size=224).to(DEV).eval()
    model.init_weights()
    default = ptk.PATCH_TOKENS_CONFIG
    best = {}
    for res, batch in ((2048, 64), (1248, 64), (1248, 8), (2048, 8),
                       (224, 128)):
        x = torch.randn(batch, 3, res, res, device=DEV)
        with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16):
            vm.FUSED_TOKENS = False
            ref, _ = model._input_tokens(x)
            t_ref = timed(lambda x=x: model._input_tokens(x))
            vm.FUSED_TOKENS = True
            line = [f'{res}² b{batch}: unfused {t_ref:.4f} ms']
            times = {}
            for cfg in CONFIGS:
                ptk.PATCH_TOKENS_CONFIG = cfg
                got, _ = model._input_tokens(x)
                d = (got - ref).abs()
                frac = (d > 0).float().mean().item()
                times[cfg] = timed(lambda x=x: model._input_tokens(x))
                line.append(f'  {cfg}: {times[cfg]:.4f} ms, max |diff| '
                            f'{d.max().item():.2e} (|ref| '
                            f'{ref.abs().max().item():.2f}), {frac:.1e} '
                            'differ')
            ptk.PATCH_TOKENS_CONFIG = default
        best[(res, batch)] = min(times, key=times.get)
        gb = (x.numel() * 4 + ref.numel() * 4) / 1e9
        line.append(f'  best {best[(res, batch)]}: '
                    f'{gb / times[best[(res, batch)]]:.2f} TB/s of '
                    f'{gb:.2f} GB (image read + tokens written)')
        print('\n'.join(line), flush=True)
        del x, ref
        torch.cuda.empty_cache()
    return best


def e2e_part(cfg):
    import streams_probe as sp
    ptk.PATCH_TOKENS_CONFIG = cfg
    for res, batch in ((2048, 64), (1248, 8)):
        feats = {}
        for on in (True, False, True, False):
            vm.FUSED_TOKENS = on
            try:
                feats[on] = sp.run(f'fused_tokens {on}', 'vim-tiny', res,
                                   batch)
            finally:
                vm.FUSED_TOKENS = True
        d = (feats[True] - feats[False]).abs()
        print(f'   featmap max |diff| on vs off {d.max():.3e} (max '
              f'{feats[False].abs().max():.3e})', flush=True)


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    best = kernel_part()
    cfg = best[(2048, 64)]
    print('e2e with', cfg, flush=True)
    e2e_part(cfg)


if __name__ == '__main__':
    main()
