# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_vim_mixer.py (the GPU
table comes from a GPU machine: Vim's fused mixer core against the
unfused one and two bare scans)."""
import os.path as osp

import pytest

from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_vim_mixer.py')


@requires_triton_interpreter
def test_quick_cpu_rows(capsys):
    """The fused mixer core runs on the toy shape (Triton's interpreter;
    ~1 minute, so the other paths, which share the timing code, are left
    to the GPU runs) and its row has a time for the forward and the
    forward+backward."""
    bench = load_script(SCRIPT)
    rows = bench.main(['--device', 'cpu', '--quick', '--dtypes', 'fp32',
                       '--paths', 'fused',
                       '--repeats', '1', '--warmup', '0'])
    assert [r['path'] for r in rows] == ['fused']
    for r in rows:
        assert r['shape'] == 'toy b2' and r['dtype'] == 'fp32'
        assert r['fwd_ms'] > 0 and r['fwdbwd_ms'] > 0
    out = capsys.readouterr().out
    assert 'timing: events' in out
    assert '| toy b2 | fp32 | fused |' in out


def test_kernel_timing_needs_cuda():
    bench = load_script(SCRIPT)
    with pytest.raises(SystemExit, match='--timing kernels needs'):
        bench.main(['--device', 'cpu', '--quick', '--timing', 'kernels'])
