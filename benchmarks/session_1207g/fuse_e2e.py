"""callL part 2 (2026-12-07, seventh part): the kernel sweep
(``linear_norm_bench.py``), then Vim-Ti under CUDA graphs
(``session_1207d/ahead_bench.graphs_rounds``: ``benchmark_backbone.py``,
bf16, 5 warm-up and 15 timed batches) at 2048² and 1248² b64 in four
rounds, DeiT-Ti SDPA in the first: unfused (``FUSE_OUT_PROJ`` off),
fused with the picked configuration, unfused, fused; then the same two
paths once each at batch 8.

Usage: python benchmarks/session_1207g/fuse_e2e.py OUT_DIR
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'session_1207d'))
import ahead_bench  # noqa: E402
import linear_norm_bench as lnb  # noqa: E402
import mmmamba.models.backbones.vision_mamba as vm  # noqa: E402
from mmmamba.ops.rms_norm import linear_kernels as lk  # noqa: E402

DEFAULT = lk.default_linear_config
FUSE = vm.FUSE_OUT_PROJ


def schedule(fuse, cfg=None):
    def apply():
        vm.FUSE_OUT_PROJ = fuse
        lk.default_linear_config = (DEFAULT if cfg is None else
                                    (lambda out_features, in_features: cfg))
    return apply


def main(out):
    label, cfg = lnb.pick(lnb.sweep())
    rounds = [('unfused', schedule(False)), (f'fused {label}',
                                             schedule(True, cfg))] * 2
    ahead_bench.graphs_rounds([(h, f'{i}', a)
                               for i, (h, a) in enumerate(rounds)], out)
    ahead_bench.graphs_rounds([(h, f'b8_{i}', a)
                               for i, (h, a) in enumerate(rounds[:2])], out,
                              batch=8)
    schedule(FUSE)()  # the module values as they were


if __name__ == '__main__':
    main(sys.argv[1])
