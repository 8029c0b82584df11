"""callA (2026-12-07, third part): Vim-Ti end to end under CUDA graphs with
each layer's add + RMSNorm and in_proj in the prototype kernel of
``norm_in_proj_bench.py`` (``VisionMamba.forward`` patched here, not in the
package), against today's forward, alternated (today, fused, today,
fused), DeiT-Ti SDPA once; ``benchmark_backbone`` rows (wall ms, peak GiB).
First, the patched forward's output against today's at 1248² b8 (eager).

Usage::

    python benchmarks/session_1207c/e2e_norm_in_proj.py \\
        [ptr|tma M N WARPS STAGES]

(without a configuration: the fastest of ``nb.VARIANTS`` at 2048² b64)
"""
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, 'benchmarks/session_1207c')
import benchmark_backbone as bb  # noqa: E402
from conv_stages import grid  # noqa: E402
import norm_in_proj_bench as nb  # noqa: E402

from mmmamba.models.backbones import vision_mamba as vm  # noqa: E402

ORIG = vm.VisionMamba.forward
CFG = ('ptr', (128, 128, 8, 2))


def fused_forward(self, x):
    """Today's inference forward with add + RMSNorm + in_proj fused
    (eval, bf16 autocast, CUDA, out_indices the last layer only)."""
    if not (vm._eager_inference()
            and torch.is_autocast_enabled(x.device.type)):
        return ORIG(self, x)
    hidden, grid = self._input_tokens(x)
    hidden = self.drop_after_pos(hidden)
    residual = None
    outs = []
    last = self.num_layers - 1
    for i, layer in enumerate(self.layers):
        mixer = layer.mixer
        w_in, b_in, w_out, b_out = mixer._autocast_linears(hidden)
        assert b_in is None
        b, l, d = hidden.shape
        kind, cfg = CFG
        xz, residual = nb.KERNELS[kind](
            hidden.reshape(b * l, d),
            None if residual is None else residual.reshape(b * l, d),
            layer.norm.weight, w_in, layer.norm.eps, *cfg)
        del hidden
        xz = xz.view(b, l, -1)
        residual = residual.view(b, l, d)
        y = mixer.forward_core(xz, overwrite_x=True)
        del xz
        hidden = F.linear(y, w_out, b_out)
        del y
        if i not in self.out_indices:
            continue
        assert i == last and self.final_norm
        feat, _ = self.norm_f(hidden, residual)
        outs.append(self._format_output(feat, grid))
    return tuple(outs)


def compare():
    torch.manual_seed(0)
    model = bb.build_feature_model(bb.parse_model('vim-tiny')[1], 1248,
                                   None).cuda().eval()
    x = torch.randn(8, 3, 1248, 1248, device='cuda')
    with torch.inference_mode(), torch.autocast('cuda', torch.bfloat16):
        vm.VisionMamba.forward = ORIG
        ref = model(x)
        vm.VisionMamba.forward = fused_forward
        out = model(x)
        vm.VisionMamba.forward = ORIG
    for a, b in zip(ref, out):
        a, b = a.float(), b.float()
        print(f'compare 1248² b8: max |fused - today| '
              f'{(a - b).abs().max().item():.4g}, max |today| '
              f'{a.abs().max().item():.4g}, rel l2 '
              f'{((a - b).norm() / a.norm()).item():.3g}', flush=True)


def pick_config():
    """The prototype's fastest configuration at 2048² b64 (one timing of
    each of ``nb.VARIANTS``)."""
    x, res, nw, w = nb.inputs(64 * 16385)
    best = None
    for kind, cfg in nb.VARIANTS:
        fn = nb.KERNELS[kind]
        try:
            ms = nb.time_ms(lambda: fn(x, res, nw, w, 1e-5, *cfg), reps=10)
        except Exception:  # a configuration that does not compile
            continue
        if best is None or ms < best[0]:
            best = (ms, (kind, cfg))
    print(f'picked {best[1]} ({best[0]:.4f} ms at 2048² b64)', flush=True)
    x = res = nw = w = None  # noqa: F841
    torch.cuda.empty_cache()
    return best[1]


def main():
    global CFG
    if len(sys.argv) == 6:
        CFG = (sys.argv[1], tuple(int(a) for a in sys.argv[2:]))
    else:
        CFG = pick_config()
    print(torch.cuda.get_device_name(), torch.__version__, 'CFG', CFG,
          flush=True)
    compare()
    points = [(2048, 64), (1248, 8), (1248, 64), (2048, 8)]
    grid('deit', ['deit-tiny-sdpa'], points)
    for rnd, pts in enumerate((points, points[:2])):
        vm.VisionMamba.forward = ORIG
        grid(f'today{rnd}', ['vim-tiny'], pts)
        vm.VisionMamba.forward = fused_forward
        grid(f'fused{rnd}', ['vim-tiny'], pts)
    vm.VisionMamba.forward = ORIG


if __name__ == '__main__':
    main()
