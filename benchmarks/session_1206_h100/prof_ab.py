"""callF (2026-12-06): where callD's +4.7% at Vim-Ti 2048² b64 comes from.
Kernel time by category and the top kernels of Vim-Ti inference
(``profile_train_step.py --inference``, eager, bf16 autocast) at 2048² and
1248², batch 64, with the tree's rule (fp32 B and C from the conv kernel,
the unsplit pipelined scan tile) and the previous one (bf16 B and C, the
d16 t8 register-prefetch tile), in one process.

Usage: python benchmarks/session_1206_h100/prof_ab.py [RESOLUTION ...]
"""
import sys

sys.path.insert(0, 'tools/analysis_tools')
import profile_train_step as pts  # noqa: E402
from mmmamba.models.layers import bimamba  # noqa: E402

NEW = bimamba.triton_prefers_fp32_bc


def previous_prefers(batch, dim, seqlen, d_state, itemsize):
    """The rule before 4628da6: fp32 B and C only where the scan splits the
    sequence (the batch-8 pipelined tile)."""
    from mmmamba.ops.selective_scan import triton_kernels as tk
    cfg = tk.default_config(seqlen, d_state, dim, backward=False,
                            save_states=False, n_rows=batch * dim,
                            itemsize=itemsize, bc_itemsize=4)
    return cfg.stages > 1 and cfg.n_seg > 1


for res in sys.argv[1:] or ['2048', '1248']:
    for name, prefers in (('new', NEW), ('old', previous_prefers)):
        bimamba.triton_prefers_fp32_bc = prefers
        print(f'== {name} {res}', flush=True)
        pts.main(['vim-tiny', '--inference', '--batch-size', '64',
                  '--resolution', res, '--warmup', '2', '--steps', '3',
                  '--profile-steps', '2', '--top', '10'])
