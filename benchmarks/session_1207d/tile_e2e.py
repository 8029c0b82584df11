"""callD (2026-12-07, fifth part): ``tile_bench.py``'s kernel variants,
then, if one of them beats the default by >= 1% over both shapes and
passes, Vim-Ti under CUDA graphs at 2048² and 1248² batch 64 with the
default and that variant alternated (default / variant / default /
variant, DeiT-Ti SDPA in the first round;
``tools/analysis_tools/benchmark_backbone.py``). The variant is set
through the module values a launch reads when it is made
(``BIDIR_STAGES``, ``BIDIR_AHEAD``, ``BIDIR_MAXNREG``,
``BIDIR_BLOCK_T``).

Usage: python benchmarks/session_1207d/tile_e2e.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import tile_bench  # noqa: E402 (sets ahead_bench.VARIANTS)


def main(out):
    ahead_bench = tile_bench.ahead_bench
    total = ahead_bench.kernels()
    default = ahead_bench.VARIANTS[0]
    best = min((v for v in ahead_bench.VARIANTS[1:]),
               key=lambda v: total[v[0]])
    gain = 1 - total[best[0]] / total[default[0]]
    print(f'best variant {best[0]}: {100 * gain:.2f}% below the default '
          'summed over both shapes and passes', flush=True)
    if gain < 0.01:
        print('no end-to-end run (under 1%)')
        return
    ahead_bench.graphs_rounds(
        [(label, f'{i}', ahead_bench.scan_schedule(*schedule))
         for i, (label, *schedule) in enumerate((default, best, default,
                                                 best))], out)


if __name__ == '__main__':
    main(sys.argv[1])
