"""callD (2026-12-06): Vim-Ti against DeiT-Ti SDPA at 1248² and 2048²,
batch 64, bf16, replayed from CUDA graphs (``benchmark_backbone.py
--cuda-graph --kernel-time``), with the tree's default (the unsplit
pipelined scan tile, fp32 B and C from the conv kernel) and, in the same
process, with the previous one (bf16 B and C, so the d16 t8
register-prefetch tile): new (with DeiT-Ti), old, new.

Usage: python benchmarks/session_1206_h100/e2e_ab.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from mmmamba.models.layers import bimamba  # noqa: E402

out = sys.argv[1]
PREFERS = bimamba.triton_prefers_fp32_bc


def previous_prefers(batch, dim, seqlen, d_state, itemsize):
    """The rule before this change: fp32 B and C only where the scan
    splits the sequence (the batch-8 pipelined tile)."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    cfg = tk.default_config(seqlen, d_state, dim, backward=False,
                            save_states=False, n_rows=batch * dim,
                            itemsize=itemsize, bc_itemsize=4)
    return cfg.stages > 1 and cfg.n_seg > 1


common = ['--resolutions', '1248', '2048', '--batch-size', '64',
          '--precisions', 'bf16', '--warmup', '5', '--repeats', '15',
          '--kernel-time', '3', '--cuda-graph', '--no-plot']
for name, models, prefers in (
        ('new', ['vim-tiny', 'deit-tiny-sdpa'], PREFERS),
        ('old', ['vim-tiny'], previous_prefers),
        ('new2', ['vim-tiny'], PREFERS)):
    bimamba.triton_prefers_fp32_bc = prefers
    print(f'== {name}', flush=True)
    bb.main(['--models', *models, *common, '--out-dir', osp.join(out, name)])
