# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_ss2d.py (the GPU table
is produced on a GPU machine: fused vs unfused SS2D at VMamba-T's stage
shapes)."""
import os.path as osp
import sys

import pytest
import torch

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
def test_quick_cpu_sweep(monkeypatch, capsys):
    """The --sweep code path (kernels called directly with explicit
    configurations) on a toy shape: the defaults first, the grid without
    duplicates, --max-configs, the summary; and --budget-s."""
    bench = load_script(SCRIPT)
    monkeypatch.setattr(bench, 'SWEEP_GRID', [(1, 128, 1, False, 2),
                                              (2, 128, 2, True, 0),
                                              (1, 128, 2, False, 0)])
    args = ['--device', 'cpu', '--quick', '--sweep', '--shapes',
            'toy stage1 b1', '--dtypes', 'bf16', '--repeats', '1',
            '--warmup', '0']
    rows = bench.main(args + ['--max-configs', '3'])
    assert [r['config'] for r in rows] == [
        '(2, 128, 2, acc_cg=True, col_w=0)',
        '(4, 128, 4, acc_cg=True, col_w=0)',
        '(1, 128, 1, acc_cg=False, col_w=2)'
    ]
    assert [r['default'] for r in rows] == ['fwd', 'bwd', '']
    assert all(r['fwd_ms'] > 0 and r['bwd_ms'] > 0 for r in rows)
    out = capsys.readouterr().out
    assert '- best shared pair: fwd (' in out
    assert '- defaults: fwd ' in out
    rows = bench.main(args + ['--budget-s', '1e-9'])
    assert rows == []
    assert 'configurations not timed' in capsys.readouterr().out


@requires_triton_interpreter
def test_precompile_in_spawned_processes(monkeypatch):
    """--jobs: the worker function pickles into spawned processes, which
    import this script and run a configuration (here in the interpreter,
    which TRITON_INTERPRET passes on to them)."""
    bench = load_script(SCRIPT)
    # as a script it is __main__; loaded here, pickle finds it by name
    monkeypatch.setitem(sys.modules, bench.__name__, bench)
    from mmmamba.ops.ss2d_scan.triton_kernels import SS2DScanConfig
    shape = bench.QUICK_SHAPES['toy stage2 b1']
    task = (shape, torch.float32, SS2DScanConfig(1, 4, 1, False, 2), 'cpu')
    assert bench.precompile([task], 1) == 1


def test_sweep_configs_at_vmamba_stages():
    """The grid at VMamba-T's stages: the defaults first, 16 grid points
    (4 at stage 1 are the defaults), column tiles everywhere they fit."""
    bench = load_script(SCRIPT)
    for name, shape in bench.GPU_SHAPES.items():
        configs, defaults = bench.sweep_configs(shape)
        assert configs[:2] == list(defaults), name
        assert len(configs) == 16 + (0 if shape[2] == 56 else 2), name
        assert sum(c.col_w == 4 for c in configs) == 8, name


def test_custom_shapes():
    bench = load_script(SCRIPT)
    shapes = bench.select_shapes(bench.GPU_SHAPES,
                                 ['VMamba-T stage2 b128', '8x96x40x30'])
    assert shapes == {'VMamba-T stage2 b128': (128, 192, 28, 28),
                      '8x96x40x30': (8, 96, 40, 30)}
    with pytest.raises(SystemExit, match='unknown shape'):
        bench.select_shapes(bench.GPU_SHAPES, ['stage1'])


@requires_triton_interpreter
def test_quick_cpu_breakdown():
    """--breakdown: every op of both cores is timed, forward and
    forward+backward."""
    bench = load_script(SCRIPT)
    rows = bench.main([
        '--device', 'cpu', '--quick', '--breakdown', '--shapes',
        'toy stage2 b1', '--dtypes', 'fp32', '--repeats', '1', '--warmup',
        '0'
    ])
    assert len(rows) == 12
    assert {'fused ss2d_scan kernel', 'unfused forward_core',
            'dt_proj matmul'} <= {r['op'] for r in rows}
    assert all(r['fwd_ms'] > 0 and r['fwdbwd_ms'] > 0 for r in rows)
