"""callL (2026-12-07, seventh part): Vim-Ti's out_proj + the next add +
RMSNorm, unfused (cuBLAS ``F.linear`` then the Triton add + RMSNorm
kernel, what the model runs) against ``linear_add_rms_norm``'s one kernel
(second version: the 192 output columns as three 64-wide accumulators,
no padding; ``reload``: the norm on the stored residual read back) in
several launch configurations, in the model's layouts: y
the x half of a (B, L, 2E) bf16 tensor (the one-launch core writes its
output there at batch 64; contiguous (B, L, E) at batch 8), out_proj's
weight (192, 384) bf16, the fp32 residual stream. Kernel ms per call from
CUDA events over 20 calls after 3 warm-up calls (``ahead_bench.time_ms``),
each row timed twice (the list, then the list reversed); max |diff| of
each output against the unfused pair. ``pick()`` returns the
configuration with the least summed time relative to the unfused pair
over the two batch-64 shapes.

Usage: python benchmarks/session_1207g/linear_norm_bench.py
"""
import os.path as osp
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'session_1207d'))
from ahead_bench import time_ms  # noqa: E402
from mmmamba.ops.rms_norm import add_rms_norm  # noqa: E402
from mmmamba.ops.rms_norm import linear_kernels as lk  # noqa: E402

E, D = 384, 192
SHAPES = [(64, 16385, '2048² b64', True), (64, 6085, '1248² b64', True),
          (8, 6085, '1248² b8', False), (8, 16385, '2048² b8', False)]
C = lk.LinearNormConfig
UNFUSED = 'unfused (cuBLAS + norm kernel)'
CONFIGS = {
    'default (M64 K64 w8 s3 reload)': None,
    'M64 K64 w8 s3': C(64, 64, 8, 3),
    'M64 K64 w8 s3 r128': C(64, 64, 8, 3, False, 128),
    'M64 K32 w8 s4 reload r128': C(64, 32, 8, 4, False, 128, True),
    'M64 K64 w8 s2 reload': C(64, 64, 8, 2, False, 0, True),
    'M64 K64 w8 s3 pre reload': C(64, 64, 8, 3, True, 0, True),
    'M64 K64 w16 s3': C(64, 64, 16, 3),
    'M128 K64 w16 s3 reload': C(128, 64, 16, 3, False, 0, True),
    'M64 K64 w4 s3 reload': C(64, 64, 4, 3, False, 0, True),
    'M32 K64 w4 s3': C(32, 64, 4, 3),
    'M32 K64 w4 s3 r128': C(32, 64, 4, 3, False, 128),
}


def sweep():
    """Print the table; return {shape: {label: best ms}}."""
    print(f'device {torch.cuda.get_device_name()}, torch {torch.__version__}')
    print('| shape | path | ms (1st) | ms (2nd) | max diff out / res |')
    print('|---|---|---|---|---|')
    g = torch.Generator(device='cuda').manual_seed(0)
    w = (torch.randn(D, E, generator=g, device='cuda') * E**-0.5).to(
        torch.bfloat16)
    nw = torch.randn(D, generator=g, device='cuda') * 0.2 + 1.0
    table = {}
    for batch, seqlen, name, strided in SHAPES:
        if strided:
            y = torch.randn(batch, seqlen, 2 * E, generator=g,
                            device='cuda').to(torch.bfloat16)[..., :E]
        else:
            y = torch.randn(batch, seqlen, E, generator=g,
                            device='cuda').to(torch.bfloat16)
        res = torch.randn(batch, seqlen, D, generator=g, device='cuda') * 3
        y2, res2 = y.reshape(-1, E), res.view(-1, D)
        with torch.inference_mode():
            def unfused():
                return add_rms_norm(F.linear(y, w), res, nw)

            want = unfused()
            runs = [(UNFUSED, unfused)]
            for label, cfg in CONFIGS.items():
                runs.append((label, lambda cfg=cfg: lk.linear_add_rms_norm_fwd(
                    y2, w, None, res2, nw, 1e-5, config=cfg)))
            times, diffs = {}, {}
            for label, fn in runs + runs[::-1]:
                try:
                    times.setdefault(label, []).append(time_ms(fn))
                except Exception as exc:
                    print(f'| {name} | {label} | error {exc!r:.60} | | |')
                    continue
                out, r = fn()
                diffs[label] = (
                    (out.float() - want[0].float().view_as(out)).abs().max()
                    .item(),
                    (r - want[1].view_as(r)).abs().max().item())
            for label, ms in times.items():
                d = diffs.get(label, (float('nan'), ) * 2)
                print(f'| {name} | {label} | {ms[0]:.4f} | {ms[-1]:.4f} | '
                      f'{d[0]:.3g} / {d[1]:.3g} |', flush=True)
            table[name] = {label: min(ms) for label, ms in times.items()
                           if len(ms) == 2}
        torch.cuda.empty_cache()
    return table


def pick(table, shapes=('2048² b64', '1248² b64')):
    """(label, config): the fused configuration with the least summed time
    relative to the unfused pair over ``shapes`` (errors excluded)."""
    scores = {}
    for label in CONFIGS:
        if all(label in table[s] for s in shapes):
            scores[label] = sum(table[s][label] / table[s][UNFUSED]
                                for s in shapes)
    label = min(scores, key=scores.get)
    print(f'picked {label!r}: ' + ', '.join(
        f'{s} {table[s][label] / table[s][UNFUSED]:.3f}' for s in shapes))
    cfg = CONFIGS[label] or lk.default_linear_config(D, E)
    return label, cfg


if __name__ == '__main__':
    pick(sweep())
