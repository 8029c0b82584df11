# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_scan.py (the GPU table is
produced on a GPU machine; see benchmarks/selective_scan_h100.md)."""
import os.path as osp
import sys

import torch

from mmmamba.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_scan.py')


def test_loop_baseline_matches_reference():
    bench = load_script(SCRIPT)
    ins = bench.make_inputs((2, 8, 4, 33, 2), torch.float64, 'cpu', False)
    from mmmamba.ops import selective_scan_ref
    torch.testing.assert_close(
        bench.scan_loop(**ins, delta_softplus=True),
        selective_scan_ref(**ins, delta_softplus=True))


def test_cpu_table(tmp_path, monkeypatch):
    bench = load_script(SCRIPT)
    monkeypatch.setattr(bench, 'CPU_SHAPE', (1, 8, 4, 40, 1))
    out = tmp_path / 'cpu.md'
    monkeypatch.setattr(sys, 'argv', [
        SCRIPT, '--device', 'cpu', '--repeats', '1', '--out',
        str(out)
    ])
    bench.main()
    lines = out.read_text().splitlines()
    rows = [line for line in lines if line.startswith('| b1 d8 N4 L40')]
    assert [r.split(' | ')[2] for r in rows] == ['reference', 'per-step loop']
    for row in rows:
        fwd, fwd_bwd = (float(c) for c in row.strip(' |').split(' | ')[3:5])
        assert 0 < fwd and 0 < fwd_bwd


def test_swapped_layout_inputs_keep_values_and_grad():
    """--layout channel-last / vim hand the mmmamba backends the same values
    with stride 1 along dim (u, delta, z) or N (B, C under vim), as leaves
    that still require grad (the fwd+bwd rows time gradients into them)."""
    from mmmamba.ops.selective_scan.triton_kernels import is_n_last
    bench = load_script(SCRIPT)
    t = torch.randn(2, 6, 5, requires_grad=True)
    cl = bench._last_two_swapped(t)
    assert cl.stride(1) == 1 and cl.stride(2) == 6
    assert cl.requires_grad and cl.is_leaf
    torch.testing.assert_close(cl, t.detach())
    assert not bench._last_two_swapped(t.detach()).requires_grad
    bc = bench._last_two_swapped(torch.randn(2, 1, 4, 7))  # (b, G, N, L)
    assert bc.stride() == (28, 28, 1, 4) and is_n_last(bc)
