"""callG (2026-12-07, sixth part): what is left at 2048² b64 after the
8-step chunks. Part 1, the one-launch scan alone on layer 12's buffers
(``session_1207d/ahead_bench.kernels``) at 2048² and 1248² b64: 4-step
chunks (the fourth part's default), 8-step chunks at 4 stages (today's
default under Triton 3.6) and at 5 stages. Part 2, Vim-Ti under CUDA
graphs (``tools/analysis_tools/benchmark_backbone.py``) at 2048² and
1248² b64, eight rounds in one process, DeiT-Ti SDPA in the first:

- ``new``: today's defaults (8-step chunks, 4 stages; the one-launch
  conv kernel's row groups of 4);
- ``old``: 4-step chunks (the fourth part's default);
- ``G8``: ``new`` with the conv kernel's row groups of 8
  (``BIDIR_CONFIG``; 1-2% faster in the kernel, 16 bytes of stack);
- ``G8 s5``: ``G8`` with the scan at 5 stages,

in the order new, old, G8, G8 s5, new, old, G8, G8 s5.

Usage: python benchmarks/session_1207f/rounds_e2e.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'session_1207d'))
import ahead_bench  # noqa: E402
from mmmamba.ops.conv_proj import triton_kernels as ck  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir as tb  # noqa: E402

NEW = tb.BIDIR_BLOCK_T
assert NEW == 8, f'run under Triton 3.6 (default block_t {NEW})'
CONV = ck.BIDIR_CONFIG
assert CONV.row_group == 4, CONV


def schedule(stages, block_t, row_group):
    scan = ahead_bench.scan_schedule(stages, 2, 168, block_t)

    def apply():
        scan()
        ck.BIDIR_CONFIG = CONV._replace(row_group=row_group)
    return apply


ROUNDS = {'new': (4, NEW, 4), 'old': (4, 4, 4), 'G8': (4, NEW, 8),
          'G8 s5': (5, NEW, 8)}


def main(out):
    ahead_bench.VARIANTS = [('t4 s4', 4, 2, 168, 4),
                            ('t8 s4 (new)', 4, 2, 168, 8),
                            ('t8 s5', 5, 2, 168, 8)]
    ahead_bench.kernels()
    order = ['new', 'old', 'G8', 'G8 s5'] * 2
    ahead_bench.graphs_rounds(
        [(name, f'{i}', schedule(*ROUNDS[name]))
         for i, name in enumerate(order)], out)
    schedule(*ROUNDS['new'])()


if __name__ == '__main__':
    main(sys.argv[1])
