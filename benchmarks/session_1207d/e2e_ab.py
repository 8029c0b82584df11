"""callC (2026-12-07, fourth part): Vim-Ti under CUDA graphs at 2048² and
1248² batch 64 with the one-launch scan's old schedule (``BIDIR_AHEAD``
0, no register cap) and the new default (look-ahead 2, cap 168),
alternated old / new / old / new in one process, DeiT-Ti SDPA in the
first round (``tools/analysis_tools/benchmark_backbone.py``). Then the
kernel alone on the model's buffers (``ahead_bench.kernels`` with this
script's variants).

Usage: python benchmarks/session_1207d/e2e_ab.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import ahead_bench  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir as tb  # noqa: E402

NEW = (tb.BIDIR_AHEAD, tb.BIDIR_MAXNREG)
assert NEW == (2, 168), NEW
OLD = (0, 0)


def main(out):
    ahead_bench.graphs_rounds(
        [(f'{name} ahead={cfg[0]} maxnreg={cfg[1]}', f'{i}_{name}',
          ahead_bench.scan_schedule(tb.BIDIR_STAGES, *cfg))
         for i, (name, cfg) in enumerate((('old', OLD), ('new', NEW),
                                          ('old', OLD), ('new', NEW)))],
        out)
    tb.BIDIR_AHEAD, tb.BIDIR_MAXNREG = 0, 0  # the kernel bench's baseline
    ahead_bench.VARIANTS = [('a0', 4, 0, 0), ('a0 cap168', 4, 0, 168),
                            ('a1 cap168', 4, 1, 168),
                            ('a2 cap168 (new)', 4, 2, 168)]
    ahead_bench.kernels()


if __name__ == '__main__':
    main(sys.argv[1])
