"""callM part 1 (2026-12-07, eighth part): ``linear_norm_bench.py``'s
sweep at Vim-S's out_proj (K = 768, D = 384: three 128-wide sub-tiles)
at 1248² and 2048² b64 and 1248² b8: does the fused kernel beat cuBLAS +
the norm kernel at that width (``FUSE_OUT_PROJ_MAX_DIMS`` is 192 until
it is measured)? Offline Triton 3.6 sm_90, bf16: the default (32 rows,
8 warps; mma.sync, not wgmma, below 64 rows) 146 registers, 104 KB;
64 rows x 8 warps 184 registers (wgmma), 168 KB; 16 warps 96.

Usage: python benchmarks/session_1207h/vims_bench.py
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'session_1207g'))
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'session_1207d'))
import linear_norm_bench as lnb  # noqa: E402

C = lnb.lk.LinearNormConfig
lnb.E, lnb.D = 768, 384
lnb.SHAPES = [(64, 16385, '2048² b64', True), (64, 6085, '1248² b64', True),
              (8, 6085, '1248² b8', False)]
lnb.CONFIGS = {
    'default (M32 K64 w8 s3 reload)': None,
    'M64 K64 w8 s3 reload': C(64, 64, 8, 3, False, 0, True),
    'M64 K32 w8 s3 reload': C(64, 32, 8, 3, False, 0, True),
    'M64 K64 w8 s2 reload': C(64, 64, 8, 2, False, 0, True),
    'M64 K64 w16 s3 reload': C(64, 64, 16, 3, False, 0, True),
}

if __name__ == '__main__':
    lnb.pick(lnb.sweep())
