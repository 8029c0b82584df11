"""callA (2026-12-06, fourth part): Vim-Ti's batch-64 conv + projection,
one launch per direction against both directions in one launch
(``conv1d_silu_proj_bidir_launcher``), with the layouts and weights the
model hands the kernels (layer 12 of a ``VisionMamba(arch='tiny')``,
``BiMamba._inference_state`` / ``_bidir_buffers``), bf16, ``dt_low``.
Kernel ms per mixer core (both directions) from CUDA events over 20 calls
after 3 warm-up calls, in ABBA order; outputs compared bit for bit. Then
the whole mixer core (``forward_core``, both conv variants, the one-launch
scan) the same way.

Usage: python benchmarks/session_1206d_h100/conv_bidir_bench.py
"""
import torch

import mmmamba.models.layers.bimamba as bm
from mmmamba.models.backbones import VisionMamba
from mmmamba.ops.conv_proj import (conv1d_silu_proj_bidir_launcher,
                                   conv1d_silu_proj_launcher)

SHAPES = [(64, 197, 'L 197 b64'), (64, 6085, '1248² b64'),
          (64, 16385, '2048² b64')]


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
    model = VisionMamba(arch='tiny').cuda().eval()
    mixer = model.layers[12].mixer
    e = mixer.d_inner
    print('| shape | kernels | ms (1st) | ms (2nd) |')
    print('|---|---|---|---|')
    for batch, seqlen, name in SHAPES:
        xz = torch.randn(batch, seqlen, 2 * e, device='cuda').to(
            torch.bfloat16) * 0.6
        x = xz[..., :e]
        with torch.inference_mode():
            state = mixer._inference_state(torch.bfloat16)
            fwd, bwd = state.params[0][1:], state.params[1][1:]
            kw = dict(dt_rank=mixer.dt_rank, d_state=mixer.d_state,
                      bc_fp32=True, dt_low=True)
            pair = [conv1d_silu_proj_launcher(x, *w, reverse=bool(i), **kw)
                    for i, w in enumerate((fwd, bwd))]
            one = conv1d_silu_proj_bidir_launcher(x, fwd, bwd, **kw)
            buf_a = mixer._bidir_buffers(x)
            buf_b = mixer._bidir_buffers(x)

            def two_launches():
                for i, w in enumerate((fwd, bwd)):
                    pair[i](x, *w, outs=tuple(t[i] for t in buf_a))

            def one_launch():
                one(x, fwd, bwd, outs=buf_b)

            rows = {}
            for label, fn in (('conv x2 (two launches)', two_launches),
                              ('conv, one launch', one_launch),
                              ('conv, one launch ', one_launch),
                              ('conv x2 (two launches) ', two_launches)):
                rows.setdefault(label.strip(), []).append(time_ms(fn))
            same = all(torch.equal(a, b) for a, b in zip(buf_a, buf_b))
            for label, ms in rows.items():
                print(f'| {name} | {label} | {ms[0]:.4f} | {ms[1]:.4f} |')
            print(f'| {name} | outputs bit for bit | {same} | |')
            del buf_a, buf_b
            core = {}
            for flag in (False, True, True, False):
                bm.BIDIR_CONV_LAUNCH = flag
                mixer.__dict__.pop('_param_cache', None)
                ms = time_ms(lambda: mixer.forward_core(xz))
                core.setdefault(flag, []).append(ms)
            bm.BIDIR_CONV_LAUNCH = True
            for flag, ms in core.items():
                label = 'core, conv one launch' if flag else \
                    'core, conv two launches'
                print(f'| {name} | {label} | {ms[0]:.4f} | {ms[1]:.4f} |')
        mixer.__dict__.pop('_param_cache', None)
        torch.cuda.empty_cache()


if __name__ == '__main__':
    main()
