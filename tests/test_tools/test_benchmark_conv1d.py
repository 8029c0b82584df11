# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_conv1d.py (the GPU table
is produced on a GPU machine: BiMamba's PyTorch convs against the fused
Triton op at Vim-Ti shapes)."""
import os.path as osp

import torch

from mmmamba.ops import bidir_conv1d_silu_ref
from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_conv1d.py')


def test_pytorch_baseline_computes_the_op():
    """The timed PyTorch path (BiMamba's pads and convs) gives the op's
    outputs, so the two paths are compared on the same work."""
    bench = load_script(SCRIPT)
    ins = bench.make_inputs((2, 9, 5), torch.float64, 'cpu')
    args = [
        ins[k].double()
        for k in ('xz', 'weight_f', 'bias_f', 'weight_b', 'bias_b')
    ]
    got = bench.pytorch_path(*args)
    want = bidir_conv1d_silu_ref(args[0][..., :5], args[1].squeeze(1),
                                 args[2], args[3].squeeze(1), args[4])
    for g, w in zip(got, want):
        assert g.is_contiguous() and g.shape == (2, 9, 5)
        torch.testing.assert_close(g, w)


def test_byte_model():
    bench = load_script(SCRIPT)
    for shape in bench.GPU_SHAPES.values():
        for itemsize in (4, 2):
            for backward in (False, True):
                floor = bench.floor_bytes(*shape, itemsize, backward)
                fused, base = (bench.model_bytes(*shape, itemsize, path,
                                                 backward)
                               for path in ('triton', 'pytorch'))
                assert 0 < floor == fused < base


@requires_triton_interpreter
def test_quick_cpu_table(tmp_path):
    bench = load_script(SCRIPT)
    out = tmp_path / 'conv1d.md'
    rows = bench.main([
        '--device', 'cpu', '--quick', '--paths', 'pytorch', 'triton',
        '--repeats', '1', '--warmup', '0', '--out',
        str(out)
    ])
    assert [(r['dtype'], r['path']) for r in rows] == [
        (dt, p) for dt in ('float32', 'bfloat16')
        for p in ('pytorch', 'triton')
    ]
    for r in rows:
        for key in ('fwd_ms', 'fwdbwd_ms', 'floor_fwd_mb', 'model_fwd_mb',
                    'floor_fwdbwd_mb', 'model_fwdbwd_mb'):
            assert r[key] > 0, (r, key)
    text = out.read_text()
    assert text.count('| toy b2 |') == 4
    assert 'pytorch/triton forward' in text


@requires_triton_interpreter
def test_quick_cpu_sweep(monkeypatch):
    """The --sweep code path: kernels called with explicit configurations
    and checked against the defaults."""
    bench = load_script(SCRIPT)
    monkeypatch.setattr(bench, 'SWEEP_FWD', [(4, 8, 1)])
    monkeypatch.setattr(bench, 'SWEEP_BWD', [(2, 8, 1, 4, 2)])
    rows = bench.main([
        '--device', 'cpu', '--quick', '--sweep', '--dtypes', 'bf16',
        '--repeats', '1', '--warmup', '0'
    ])
    assert [(r['kernel'], r['config']) for r in rows] == [
        ('fwd', '(4, 8, 1, 1, 4)'), ('bwd', '(2, 8, 1, 4, 2)')
    ]
    assert all(r['ms'] > 0 for r in rows)
