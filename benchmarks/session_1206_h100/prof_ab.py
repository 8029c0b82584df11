"""callF (2026-12-06): where callD's +4.7% at Vim-Ti 2048² b64 comes from.
Kernel time by category and the top kernels of Vim-Ti inference
(``profile_train_step.py --inference``, eager, bf16 autocast) at 2048² and
1248², batch 64, with the pipelined long-sequence tile on (fp32 B and C
from the conv kernel, d32 t8, 3 stages) and off (bf16 B and C, the d16 t8
register-prefetch tile), in one process (``tile_rule.py``: "new" is the
rule callF ran, before ``TMAJOR_PIPELINE_MAX_L`` bounded it).

Usage: python benchmarks/session_1206_h100/prof_ab.py [RESOLUTION ...]
"""
import os.path as osp
import sys

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import profile_train_step as pts  # noqa: E402
from tile_rule import set_pipelined_tile  # noqa: E402

for res in sys.argv[1:] or ['2048', '1248']:
    for name in ('new', 'old'):
        set_pipelined_tile(name == 'new')
        print(f'== {name} {res}', flush=True)
        pts.main(['vim-tiny', '--inference', '--batch-size', '64',
                  '--resolution', res, '--warmup', '2', '--steps', '3',
                  '--profile-steps', '2', '--top', '10'])
