"""callA (2026-12-06, fourth part): Vim-Ti against DeiT-Ti SDPA, bf16,
replayed from CUDA graphs (``benchmark_backbone.py --cuda-graph
--kernel-time``): at batch 64 (1248², 2048²) with the conv + projection in
one launch for both directions (the tree's default,
``bimamba.BIDIR_CONV_LAUNCH``) and, in the same process, one launch per
direction: new (with DeiT-Ti), old, new; then batch 8 (1248², 2048²; the
change does not run there) with DeiT-Ti, for this machine's numbers at
every target point.

Usage: python benchmarks/session_1206d_h100/e2e_conv.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba.models.layers.bimamba as bm  # noqa: E402

out = sys.argv[1]
common = ['--resolutions', '1248', '2048', '--precisions', 'bf16',
          '--warmup', '5', '--repeats', '15', '--kernel-time', '3',
          '--cuda-graph', '--no-plot']
for name, models, flag, batch in (
        ('new', ['vim-tiny', 'deit-tiny-sdpa'], True, 64),
        ('old', ['vim-tiny'], False, 64),
        ('new2', ['vim-tiny'], True, 64),
        ('b8', ['vim-tiny', 'deit-tiny-sdpa'], True, 8)):
    bm.BIDIR_CONV_LAUNCH = flag
    print(f'== {name}', flush=True)
    bb.main(['--models', *models, *common, '--batch-size', str(batch),
             '--out-dir', osp.join(out, name)])
