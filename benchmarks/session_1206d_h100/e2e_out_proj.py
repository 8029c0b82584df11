"""callE (2026-12-06, fourth part): Vim-Ti against DeiT-Ti SDPA, bf16,
replayed from CUDA graphs, at the four target points (1248², 2048²; batch
64 and 8) with out_proj fused into the next add + RMSNorm
(``vision_mamba.FUSE_OUT_PROJ``, the tree's default) and, in the same
process, without: new (with DeiT-Ti), old, new.

Usage: python benchmarks/session_1206d_h100/e2e_out_proj.py OUT_DIR
"""
import os.path as osp
import sys

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba.models.backbones.vision_mamba as vm  # noqa: E402

out = sys.argv[1]
common = ['--resolutions', '1248', '2048', '--precisions', 'bf16',
          '--warmup', '5', '--repeats', '15', '--kernel-time', '3',
          '--cuda-graph', '--no-plot']
for name, models, flag in (('new', ['vim-tiny', 'deit-tiny-sdpa'], True),
                           ('old', ['vim-tiny'], False),
                           ('new2', ['vim-tiny'], True)):
    vm.FUSE_OUT_PROJ = flag
    for batch in ('64', '8'):
        print(f'== {name} b{batch}', flush=True)
        bb.main(['--models', *models, *common, '--batch-size', batch,
                 '--out-dir', osp.join(out, f'{name}_b{batch}')])
