# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_bidir_scan.py (the GPU
table is produced on a GPU machine: the fused bidirectional scan against
the Vim mixer's copies, two scans and add/halve)."""
import os.path as osp

from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_bidir_scan.py')


@requires_triton_interpreter
def test_quick_cpu_table(tmp_path):
    """Every path runs and agrees with the unfused one (the tool raises
    otherwise); only the fused op on a channel-last u hands out_proj a
    (B, L, E) tensor without a copy (the output takes u's layout)."""
    bench = load_script(SCRIPT)
    out = tmp_path / 'bidir.md'
    rows = bench.main([
        '--device', 'cpu', '--quick', '--dtypes', 'fp32', '--repeats', '1',
        '--warmup', '0', '--out',
        str(out)
    ])
    assert [r['path'] for r in rows] == ['unfused', 'fused', 'fused-cl']
    assert [r['out_proj_copy'] for r in rows] == [True, True, False]
    for r in rows:
        assert r['fwd_ms'] > 0 and r['fwdbwd_ms'] > 0
    assert out.read_text().count('| toy b2 | fp32 |') == 3
