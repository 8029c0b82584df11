"""callD (2026-12-06, fourth part): the one-direction conv + projection
kernel (``ConvProjLaunch``, the batch-8 path: the scan's step, fp32 B and
C where ``BiMamba._fp32_bc`` says) with 2 warps under a 168-register cap
(``FWD_CONFIG``) against 4 warps under 128 (callC's best for the
one-launch kernel) and 4 under 168, at Vim-Ti 1248² and 2048² batch 8,
with the model's layouts and weights (layer 12 of
``VisionMamba(arch='tiny')``); and the one-launch kernel (``dt_low``) at
224² batch 128, where Vim's core also runs it, with ``FWD_CONFIG``
against ``BIDIR_CONFIG``. Kernel ms per call (both directions: the sum
of two launches, or the one launch) from CUDA events over 20 calls after
3 warm-up calls, the configurations timed in order and then in reverse;
outputs against the first configuration's bit for bit.

Usage: python benchmarks/session_1206d_h100/sweep_conv_b8.py
"""
import torch

from mmmamba.models.backbones import VisionMamba
from mmmamba.ops.conv_proj import triton_kernels as tk

F = tk.FWD_CONFIG
ONE = {'2w cap168 (FWD_CONFIG)': F,
       '4w cap128': F._replace(num_warps=4, maxnreg=128),
       '4w cap168': F._replace(num_warps=4, maxnreg=168)}
BIDIR = {'FWD_CONFIG': F, 'BIDIR_CONFIG': tk.BIDIR_CONFIG}


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


def sweep(name, configs, make_call):
    """Time ``configs`` (the list, then reversed) and print a row each;
    returns ({label: least ms}, {label: outputs equal to the first's})."""
    times, same, first = {}, {}, None
    order = list(configs.items())
    for label, cfg in order + order[::-1]:
        call, outs = make_call(cfg)
        times.setdefault(label, []).append(time_ms(call))
        if first is None:
            first = [t.clone() for t in outs()]
        else:
            same[label] = all(torch.equal(a, b)
                              for a, b in zip(first, outs()))
    for label, ms in times.items():
        print(f'| {name} | {label} | {ms[0]:.4f} | {ms[-1]:.4f} | '
              f'{same.get(label, "-")} |', flush=True)
    return {k: min(v) for k, v in times.items()}, same


#: (batch, L, name, one-launch kernel) of this call.
SHAPES = ((8, 6085, '1248² b8', False), (8, 16385, '2048² b8', False),
          (128, 197, '224² b128', True))


def main(shapes=SHAPES, one=ONE, bidir_configs=BIDIR):
    """Sweep ``one`` (two one-direction launches with the scan's step) or
    ``bidir_configs`` (the one launch, ``dt_low``) at each of ``shapes``;
    returns {name: sweep's result}."""
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
    torch.manual_seed(0)
    mixer = VisionMamba(arch='tiny').cuda().eval().layers[12].mixer
    e = mixer.d_inner
    print('| shape | config | ms (1st) | ms (2nd) | equal to the first |')
    print('|---|---|---|---|---|')
    res = {}
    for batch, seqlen, name, bidir in shapes:
        xz = torch.randn(batch, seqlen, 2 * e, device='cuda').to(
            torch.bfloat16) * 0.6
        x = xz[..., :e]
        with torch.inference_mode():
            state = mixer._inference_state(torch.bfloat16)
            w = [p[1:] for p in state.params]
            if bidir:
                buf = mixer._bidir_buffers(x)

                def make_call(cfg):
                    launch = tk.ConvProjBidirLaunch(
                        x, *w, mixer.dt_rank, mixer.d_state, config=cfg,
                        bc_fp32=True, dt_low=True)
                    return (lambda: launch(x, *w, outs=buf)), lambda: buf

                res[name] = sweep(name, bidir_configs, make_call)
            else:
                bias = [sp[1] for sp in state.scan_params]
                fp32 = mixer._fp32_bc(x)
                out = {}

                def make_call(cfg):
                    ls = [tk.ConvProjLaunch(
                        x, *w[i], mixer.dt_rank, mixer.d_state, bool(i),
                        config=cfg, delta_bias=bias[i], delta_softplus=True,
                        bc_fp32=fp32) for i in (0, 1)]

                    def call():
                        out['o'] = [ls[i](x, *w[i], bias[i])
                                    for i in (0, 1)]

                    return call, lambda: [t for o in out['o'] for t in o]

                res[name] = sweep(name, one, make_call)
        xz = x = None  # noqa: F841
        torch.cuda.empty_cache()
    return res


if __name__ == '__main__':
    main()
