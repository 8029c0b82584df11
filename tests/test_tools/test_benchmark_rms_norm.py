# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_rms_norm.py (the GPU
table is produced on a GPU machine: reference vs Triton add + RMSNorm at
Vim-Ti's shapes)."""
import os.path as osp

from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_rms_norm.py')


def test_floor_bytes():
    import torch
    bench = load_script(SCRIPT)
    rows, C = bench.GPU_SHAPES['Vim-Ti 224² b128']
    # forward: bf16 x and y, fp32 residual in and out
    assert bench.floor_bytes(rows, C, torch.bfloat16, False) == \
        rows * C * 12
    # backward: r, d(new residual), d(residual) fp32; dy, dx bf16
    assert bench.floor_bytes(rows, C, torch.bfloat16, True) == \
        rows * C * (12 + 16)
    # all fp32: d(residual) is dx, written once
    assert bench.floor_bytes(rows, C, torch.float32, True) == \
        rows * C * (16 + 16)


@requires_triton_interpreter
def test_quick_cpu_table(tmp_path):
    bench = load_script(SCRIPT)
    out = tmp_path / 'rms_norm.md'
    rows = bench.main([
        '--device', 'cpu', '--quick', '--repeats', '1', '--warmup', '0',
        '--out', str(out)
    ])
    assert [(r['dtype'], r['backend']) for r in rows] == [
        (dt, b) for dt in ('bfloat16', 'float32')
        for b in ('reference', 'triton')
    ]
    for r in rows:
        assert r['fwd_ms'] > 0 and r['fwdbwd_ms'] > 0, r
    text = out.read_text()
    assert text.count('| toy |') == 4
    assert 'reference/triton forward' in text


@requires_triton_interpreter
def test_quick_cpu_sweep(monkeypatch):
    """The --sweep code path (the kernels called with explicit
    configurations), in the interpreter; the defaults are marked."""
    bench = load_script(SCRIPT)
    monkeypatch.setattr(bench, 'SWEEP_BLOCK_M', (2, 8))
    monkeypatch.setattr(bench, 'SWEEP_WARPS', (4, ))
    monkeypatch.setattr(bench, 'SWEEP_PROGRAMS', (4, 8))
    rows = bench.main([
        '--device', 'cpu', '--quick', '--sweep', '--dtypes', 'bf16',
        '--repeats', '1', '--warmup', '0'
    ])
    assert [r['config'] for r in rows] == [
        '(2, 4, 4)', '(2, 4, 8)', '(8, 4, 4)', '(8, 4, 8)'
    ]
    assert [r['default'] for r in rows] == ['', '', 'fwd', 'bwd']
    for r in rows:
        assert r['bwd_ms'] > 0 and r['bwd_gbs'] > 0
