"""callM part 2 (2026-12-07, eighth part): HEAD's defaults (out_proj fused
into the next add + RMSNorm, 4-warp configuration) under CUDA graphs
(``benchmark_backbone.py``, bf16, 5 warm-up and 15 timed batches):
2048² / 1248² b64 with DeiT-Ti SDPA in two rounds, the unfused loop
(``FUSE_OUT_PROJ`` off) between them; 2048² / 1248² b8 with DeiT-Ti; then
738² / 1024² at b8 and b64 with DeiT-Ti for peak memory. Each run's
``results.csv`` is copied to ``OUT_DIR/NAME.csv`` (the device returns
files one folder deep).

Usage: python benchmarks/session_1207h/confirm.py OUT_DIR [quick]
(``quick``: the first batch-64 round only)
"""
import os.path as osp
import shutil
import sys
import tempfile

import mmmamba.models.backbones.vision_mamba as vm

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402

COMMON = ['--precisions', 'bf16', '--warmup', '5', '--repeats', '15',
          '--cuda-graph', '--no-plot']
BOTH = ['vim-tiny', 'deit-tiny-sdpa']


def run(out, name, models, resolutions, batch, fuse=True):
    vm.FUSE_OUT_PROJ = fuse
    print(f'== {name} (FUSE_OUT_PROJ={fuse})', flush=True)
    tmp = tempfile.mkdtemp()
    try:
        bb.main(['--models', *models, '--resolutions', *resolutions,
                 *COMMON, '--batch-size', str(batch), '--out-dir', tmp])
        shutil.copy(osp.join(tmp, 'results.csv'), osp.join(out,
                                                           f'{name}.csv'))
    finally:
        vm.FUSE_OUT_PROJ = True


def main(out, quick=False):
    big = ['2048', '1248']
    run(out, 'b64_0', BOTH, big, 64)
    if quick:
        return
    run(out, 'b64_unfused', ['vim-tiny'], big, 64, fuse=False)
    run(out, 'b64_1', BOTH, big, 64)
    run(out, 'b8_0', BOTH, big, 8)
    run(out, 'b8_unfused', ['vim-tiny'], big, 8, fuse=False)
    run(out, 'mem_b8', BOTH, ['738', '1024'], 8)
    run(out, 'mem_b64', BOTH, ['738', '1024'], 64)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:] == ['quick'])
