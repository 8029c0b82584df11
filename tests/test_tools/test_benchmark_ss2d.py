# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_ss2d.py (the GPU table
is produced on a GPU machine: fused vs unfused SS2D at VMamba-T's stage
shapes)."""
import os.path as osp

from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_ss2d.py')


def test_byte_model_predicts_fewer_bytes_fused():
    bench = load_script(SCRIPT)
    for batch, C, H, W in bench.GPU_SHAPES.values():
        R = -(-C // 16)
        for itemsize in (4, 2):
            for backward in (False, True):
                fused, unfused = (bench.core_bytes(batch, C, H, W, 1, R,
                                                   itemsize, path, backward)
                                  for path in ('fused', 'unfused'))
                assert 0 < fused < unfused


@requires_triton_interpreter
def test_quick_cpu_table(tmp_path):
    bench = load_script(SCRIPT)
    out = tmp_path / 'ss2d.md'
    rows = bench.main([
        '--device', 'cpu', '--quick', '--shapes', 'toy stage1 b1',
        '--paths', 'fused', 'unfused', '--repeats', '1', '--warmup', '0',
        '--out',
        str(out)
    ])
    assert [(r['dtype'], r['path']) for r in rows] == [
        (dt, p) for dt in ('float32', 'bfloat16')
        for p in ('fused', 'unfused')
    ]
    for r in rows:
        for key in ('core_fwd_ms', 'core_fwdbwd_ms', 'ss2d_fwd_ms',
                    'ss2d_fwdbwd_ms', 'core_fwd_mb', 'core_fwdbwd_mb'):
            assert r[key] > 0, (r, key)
    text = out.read_text()
    assert text.count('| toy stage1 b1 |') == 4
    assert 'unfused/fused' in text


@requires_triton_interpreter
def test_quick_cpu_sweep(monkeypatch):
    """The --sweep code path (kernels called directly with explicit
    configurations), one configuration on a toy shape."""
    bench = load_script(SCRIPT)
    monkeypatch.setattr(bench, 'SWEEP_GRID', [(2, 128, 2)])
    monkeypatch.setattr(bench, 'SWEEP_TILES', [(1, 1, 2)])
    rows = bench.main([
        '--device', 'cpu', '--quick', '--sweep', '--shapes', 'toy stage1 b1',
        '--dtypes', 'bf16', '--repeats', '1', '--warmup', '0'
    ])
    assert [r['config'] for r in rows] == [
        '(2, 128, 2, acc_cg=True, col_w=0)',
        '(1, 128, 1, acc_cg=True, col_w=2)',
        '(1, 128, 1, acc_cg=False, col_w=2)'
    ]
    assert rows[0]['default'] == 'fwd'  # (2, 128, 2) is the N=1 forward's
    assert all(r['fwd_ms'] > 0 and r['bwd_ms'] > 0 for r in rows)
