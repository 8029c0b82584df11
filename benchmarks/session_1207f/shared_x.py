"""callK (2026-12-07, sixth part): the one-launch conv + projection
kernel with both directions in one program (``ConvProjConfig.shared_x``:
the two conv passes on one load of the G + 2 (K - 1) row sets they read,
then each direction's projections) and with row groups of 16, against
today's ``BIDIR_CONFIG`` (4 warps, cap 128, row groups of 8, 3 stages).

Part 1, kernel ms per call in the model's layouts and weights (layer 12
of ``VisionMamba(arch='tiny')``, ``dt_low``; CUDA events, 20 calls after
3 warm-ups, the list then reversed; outputs bit for bit against the
default's), at 2048² and 1248² b64 and 224² b128
(``session_1206d_h100/sweep_conv_b8.main``). Part 2, Vim-Ti under CUDA
graphs at 2048² and 1248² b64, default / picked / default / picked
(``session_1207c/conv_stages.pick``: the least summed time relative to
the default at both b64 shapes, among those equal to the default's
outputs), DeiT-Ti SDPA in the first round
(``session_1207d/ahead_bench.graphs_rounds``).

Usage: python benchmarks/session_1207f/shared_x.py OUT_DIR
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'session_1206d_h100'))
sys.path.insert(0, osp.join(HERE, '..', 'session_1207d'))
sys.path.insert(0, osp.join(HERE, '..', 'session_1207c'))
import ahead_bench  # noqa: E402
import conv_stages  # noqa: E402
import sweep_conv_b8  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

B = tk.BIDIR_CONFIG
assert (B.num_warps, B.maxnreg, B.row_group, B.num_stages) == (4, 128, 8, 3)
S = B._replace(shared_x=True, num_warps=8)
CONFIGS = {
    'default': B,
    'G16': B._replace(row_group=16),
    'shared 8w': S,
    'shared 8w G16': S._replace(row_group=16),
    'shared 4w': S._replace(num_warps=4),
    'shared 8w s2': S._replace(num_stages=2),
}
SHAPES = ((64, 16385, '2048² b64', True), (64, 6085, '1248² b64', True),
          (128, 197, '224² b128', True))


def use(cfg):
    def apply():
        tk.BIDIR_CONFIG = cfg
    return apply


def main(out):
    res = sweep_conv_b8.main(SHAPES, {}, CONFIGS)
    variants = {k: v for k, v in CONFIGS.items() if k != 'default'}
    best = conv_stages.pick(res, ['2048² b64', '1248² b64'], variants)
    ahead_bench.graphs_rounds(
        [(label, f'{i}', use(cfg)) for i, (label, cfg) in enumerate(
            (('default', B), ('picked', best)) * 2)], out)
    tk.BIDIR_CONFIG = B


if __name__ == '__main__':
    main(sys.argv[1])
