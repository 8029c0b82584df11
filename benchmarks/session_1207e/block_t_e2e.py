"""callE (2026-12-07, fifth part): the one-launch scan's 8-step chunks
(``BIDIR_BLOCK_T`` 8, the new default under Triton 3.6) against 4-step
ones. Part 1, the kernel alone on layer 12's buffers
(``session_1207d/ahead_bench.kernels``) at 2048² and 1248² b64 and 224²
b128, with 4-5 stages. Part 2, Vim-Ti under CUDA graphs
(``tools/analysis_tools/benchmark_backbone.py``), 8 / 4 / 8 / 4 steps
alternated in one process at 2048² and 1248² b64 (DeiT-Ti SDPA in the
first round), on an H100 only (callD ran it on an H200). (224² b128 end
to end and the conv kernel's row groups were dropped from the call
before it ran: too little device time.)

Usage: python benchmarks/session_1207e/block_t_e2e.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'session_1207d'))
import ahead_bench  # noqa: E402
import torch  # noqa: E402
from mmmamba.ops.selective_scan import triton_bidir as tb  # noqa: E402

NEW = tb.BIDIR_BLOCK_T
assert NEW == 8, f'run under Triton 3.6 (default block_t {NEW})'


def main(out):
    ahead_bench.VARIANTS = [('t4 s4', 4, 2, 168, 4), ('t8 s4 (new)', 4, 2,
                                                      168, 8),
                            ('t8 s5', 5, 2, 168, 8)]
    ahead_bench.kernels(ahead_bench.SHAPES + ((128, 197, '224² b128'), ))
    if 'H100' not in torch.cuda.get_device_name():
        print('not an H100: no end-to-end part (callD ran it on an H200)')
        return
    ahead_bench.graphs_rounds(
        [(f'block_t={block_t} b64', f'b64_{i}',
          ahead_bench.scan_schedule(4, 2, 168, block_t))
         for i, block_t in enumerate((NEW, 4, NEW, 4))], out)
    tb.BIDIR_BLOCK_T = NEW


if __name__ == '__main__':
    main(sys.argv[1])
