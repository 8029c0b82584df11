"""callA (2026-12-07, third part): more launch configurations of the one-launch
conv + projection kernel (``ConvProjBidirLaunch``, ``dt_low``, bf16) at
Vim-Ti 1248² and 2048² batch 64, with the layouts and weights the model
hands it (layer 12 of ``VisionMamba(arch='tiny')``,
``BiMamba._inference_state`` / ``_bidir_buffers``). Kernel ms per call
(both directions) from CUDA events over 20 calls after 3 warm-up calls,
each configuration timed twice (the list, then the list reversed);
outputs against the default's bit for bit.

Variants of today's ``BIDIR_CONFIG`` (4 warps, cap 128) not in the fourth
part's sweep (``session_1206d_h100/sweep_conv_bidir.py``).

Usage: python benchmarks/session_1207c/sweep_conv_bidir2.py
"""
import torch

from mmmamba.models.backbones import VisionMamba
from mmmamba.ops.conv_proj import triton_kernels as tk

B = tk.BIDIR_CONFIG
CONFIGS = {
    'default': B,
    's3': B._replace(num_stages=3),
    's1': B._replace(num_stages=1),
    'cap96': B._replace(maxnreg=96),
    'ec32': B._replace(block_ec=32),
    'E128': B._replace(block_e=128),
    'G8': B._replace(row_group=8),
    'w8': B._replace(num_warps=8),
    'L128 w8': B._replace(block_l=128, num_warps=8),
    'prefetch cap168': B._replace(prefetch=True, maxnreg=168),
}
SHAPES = [(64, 6085, '1248² b64'), (64, 16385, '2048² b64'),
          (8, 6085, '1248² b8')]


def time_ms(fn, reps=20):
    for _ in range(3):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def main():
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
    torch.manual_seed(0)
    mixer = VisionMamba(arch='tiny').cuda().eval().layers[12].mixer
    e = mixer.d_inner
    print('| shape | config | ms (1st) | ms (2nd) | equal to default |')
    print('|---|---|---|---|---|')
    for batch, seqlen, name in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * e, device='cuda').to(
            torch.bfloat16) * 0.6
        x = xz[..., :e]
        with torch.inference_mode():
            state = mixer._inference_state(torch.bfloat16)
            fwd, bwd = state.params[0][1:], state.params[1][1:]
            ref = mixer._bidir_buffers(x)
            buf = mixer._bidir_buffers(x)
            times, same = {}, {}
            order = list(CONFIGS.items())
            for label, cfg in order + order[::-1]:
                launch = tk.ConvProjBidirLaunch(
                    x, fwd, bwd, mixer.dt_rank, mixer.d_state, config=cfg,
                    bc_fp32=True, dt_low=True)
                out = ref if label == 'default' else buf
                try:
                    ms = time_ms(lambda: launch(x, fwd, bwd, outs=out))
                except Exception as exc:  # a configuration that fails
                    print(f'| {name} | {label} | error: {exc!r:.80} | | |')
                    continue
                times.setdefault(label, []).append(ms)
                if label != 'default':
                    same[label] = all(torch.equal(a, b)
                                      for a, b in zip(ref, buf))
            for label, ms in times.items():
                print(f'| {name} | {label} | {ms[0]:.4f} | '
                      f'{ms[-1]:.4f} | {same.get(label, "-")} |')
        del ref, buf
        torch.cuda.empty_cache()


if __name__ == '__main__':
    main()
