"""callA (2026-12-06, third part): Vim-Ti against DeiT-Ti SDPA at 1248²
and 2048², batch 64, bf16, replayed from CUDA graphs
(``benchmark_backbone.py --cuda-graph --kernel-time``), with both scan
directions in one launch (the tree's default there,
``triton_bidir.BIDIR_FUSED``) and, in the same process, with the two
launches of the previous tree: new (with DeiT-Ti), old, new.

Usage: python benchmarks/session_1206c_h100/e2e_bidir.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir  # noqa: E402

out = sys.argv[1]
common = ['--resolutions', '1248', '2048', '--batch-size', '64',
          '--precisions', 'bf16', '--warmup', '5', '--repeats', '15',
          '--kernel-time', '3', '--cuda-graph', '--no-plot']
for name, models, fused in (('new', ['vim-tiny', 'deit-tiny-sdpa'], True),
                            ('old', ['vim-tiny'], False),
                            ('new2', ['vim-tiny'], True)):
    triton_bidir.BIDIR_FUSED = fused
    print(f'== {name}', flush=True)
    bb.main(['--models', *models, *common, '--out-dir', osp.join(out, name)])
