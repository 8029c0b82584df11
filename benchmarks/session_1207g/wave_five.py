"""callL part 3 (2026-12-07, seventh part): the batch-64 scan's time per
SM load. callK (``session_1207f/wave_check.py``) found batches 56-66 as
fast as each other (six two-warp programs on the busiest SMs); this
measures the scan alone (today's defaults, 2048², layer 12's buffers) at
batch 44 (528 programs: four on every SM of 132), 55 (660: five on
every SM) and 64 (768: six on 108 SMs), so that five programs' time per
SM (``t5``) against six's (``t6``) bounds what balancing batch 64's
programs over the SMs could give: about ``t6 - (t6 - t5) * 24 / 132``
if an SM's time follows its programs between five and six.

Usage: python benchmarks/session_1207g/wave_five.py
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
    ahead_bench.kernels(tuple((b, 16385, f'2048² b{b}')
                              for b in (44, 55, 64)))


if __name__ == '__main__':
    main()
