"""callD (2026-12-07, fourth part): the one-launch scan with the look-ahead
(``BIDIR_AHEAD`` 2, cap 168, the new default) at more pipelining stages and
on 8-step chunks, which the look-ahead brings under the cap without stack
in Triton 3.6 (offline sm_90; Triton 3.8 spills 208-224 bytes there).
Kernel ms per call on layer 12's buffers (``ahead_bench.kernels``).

Usage: python benchmarks/session_1207d/tile_bench.py
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import ahead_bench  # noqa: E402

ahead_bench.VARIANTS = [('t4 s4 (default)', 4, 2, 168, 4),
                        ('t4 s5', 5, 2, 168, 4), ('t4 s6', 6, 2, 168, 4),
                        ('t8 s4', 4, 2, 168, 8), ('t8 s3', 3, 2, 168, 8),
                        ('t8 s4 no look-ahead', 4, 0, 168, 8)]

if __name__ == '__main__':
    ahead_bench.kernels()
