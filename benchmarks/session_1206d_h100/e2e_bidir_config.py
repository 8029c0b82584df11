"""callD (2026-12-06, fourth part): Vim-Ti against DeiT-Ti SDPA, bf16,
replayed from CUDA graphs, at 1248² and 2048² batch 64 and 224² batch 128
(where the one-launch conv + projection runs) with its new default
``BIDIR_CONFIG`` (4 warps, cap 128) and, in the same process, with
``FWD_CONFIG`` (2 warps, cap 168): new (with DeiT-Ti), old, new.

Usage: python benchmarks/session_1206d_h100/e2e_bidir_config.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

out = sys.argv[1]
new = tk.BIDIR_CONFIG
common = ['--precisions', 'bf16', '--warmup', '5', '--repeats', '15',
          '--kernel-time', '3', '--cuda-graph', '--no-plot']
for name, models, cfg in (('new', ['vim-tiny', 'deit-tiny-sdpa'], new),
                          ('old', ['vim-tiny'], tk.FWD_CONFIG),
                          ('new2', ['vim-tiny'], new)):
    tk.BIDIR_CONFIG = cfg
    for res, batch in (('1248 2048', '64'), ('224', '128')):
        print(f'== {name} {res} b{batch}', flush=True)
        bb.main(['--models', *models, '--resolutions', *res.split(),
                 '--batch-size', batch, *common, '--out-dir',
                 osp.join(out, f'{name}_b{batch}')])
