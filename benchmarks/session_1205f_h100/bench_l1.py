"""benchmark_backbone.py with the split inference scan configs given
ScanConfig.l1_ahead = $L1 (sixth part of 2026-12-05: the end-to-end
effect of the L1 prefetch before it is a default). Arguments are
benchmark_backbone.py's."""
import os
import runpy
import sys

sys.path.insert(0, os.getcwd())
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402

BASE = tk.default_config
AHEAD = int(os.environ.get('L1', '2'))


def config(*args, **kwargs):
    cfg = BASE(*args, **kwargs)
    if cfg.block_t and cfg.n_seg > 1 and cfg.widen_bc:
        cfg = cfg._replace(l1_ahead=AHEAD)
    return cfg


tk.default_config = config
sys.argv = ['benchmark_backbone.py'] + sys.argv[1:]
runpy.run_path('tools/analysis_tools/benchmark_backbone.py',
               run_name='__main__')
