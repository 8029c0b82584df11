# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_layer_norm2d.py (the GPU
table is produced on a GPU machine: reference vs Triton channel LayerNorm at
VMamba-T's stage shapes)."""
import os.path as osp

from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools',
                  'benchmark_layer_norm2d.py')


def test_floor_bytes():
    bench = load_script(SCRIPT)
    shape = bench.GPU_SHAPES['VMamba-T s1 b128']
    n = 128 * 96 * 56 * 56
    # forward: bf16 x in, y out in fp32 or bf16
    assert bench.floor_bytes(shape, 4, False) == n * 6
    assert bench.floor_bytes(shape, 2, False) == n * 4
    # backward: x, dy (y's dtype) in, dx (bf16) out
    assert bench.floor_bytes(shape, 4, True) == n * (6 + 8)
    assert bench.floor_bytes(shape, 2, True) == n * (4 + 6)


@requires_triton_interpreter
def test_quick_cpu_table(tmp_path):
    bench = load_script(SCRIPT)
    out = tmp_path / 'ln2d.md'
    rows = bench.main([
        '--device', 'cpu', '--quick', '--repeats', '1', '--warmup', '0',
        '--out', str(out)
    ])
    assert [(r['layout'], r['out'], r['backend']) for r in rows] == [
        (layout, y, b) for layout in ('cl', 'nchw') for y in ('fp32', 'bf16')
        for b in ('reference', 'triton')
    ]
    for r in rows:
        assert r['fwd_ms'] > 0 and r['fwdbwd_ms'] > 0, r
    text = out.read_text()
    assert text.count('| toy |') == 8
    assert 'reference/triton forward' in text
    assert 'command: benchmark_layer_norm2d.py --device cpu' in text


@requires_triton_interpreter
def test_quick_cpu_sweep(monkeypatch):
    """The --sweep code path (the kernels called with explicit
    configurations), in the interpreter; the defaults are marked."""
    bench = load_script(SCRIPT)
    monkeypatch.setattr(bench, 'SWEEP_BLOCK_P', (4, 8))
    monkeypatch.setattr(bench, 'SWEEP_WARPS', (4, ))
    rows = bench.main([
        '--device', 'cpu', '--quick', '--sweep', '--layouts', 'cl',
        '--repeats', '1', '--warmup', '0'
    ])
    # toy: C = 24 (a 32-channel tile), 35 positions: the defaults, (64,
    # 4) both ways, are not in this grid
    assert [r['config'] for r in rows] == ['(4, 4)', '(8, 4)']
    assert all(r['fwd_gbs'] > 0 and r['bwd_gbs'] > 0 for r in rows)
