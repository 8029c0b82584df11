"""callK part 2 (2026-12-07, sixth part): is the batch-64 scan's time set
by its busiest SMs? Vim-Ti's scan runs batch x 12 channel blocks as
programs of 2 warps, 6 to an SM under the 168-register cap (792 on the
H100's 132 SMs at once). Batches 56 to 66 (672 to 792 programs) all put
6 programs on the busiest SMs; at 64, 108 SMs run 6 and 24 run 5. If an
SM's issue rate is the limit, the kernel takes about as long at 56 as at
66; if the time follows the work, 56 / 66 of it. Batch 72 (864) needs a
second wave. The scan alone, today's defaults (``triton_bidir``), on
layer 12's buffers at L = 16385 (2048²)
(``session_1207d/ahead_bench.kernels``, one variant).

Usage: python benchmarks/session_1207f/wave_check.py
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'session_1207d'))
import ahead_bench  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir as tb  # noqa: E402


def main():
    ahead_bench.VARIANTS = [('default', tb.BIDIR_STAGES, tb.BIDIR_AHEAD,
                             tb.BIDIR_MAXNREG, tb.BIDIR_BLOCK_T)]
    batches = (56, 60, 64, 66, 72)
    ahead_bench.kernels(tuple((b, 16385, f'2048² b{b}') for b in batches))


if __name__ == '__main__':
    main()
