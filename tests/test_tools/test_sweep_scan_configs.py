# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU checks of tools/analysis_tools/sweep_scan_configs.py (the sweep itself
times CUDA kernels; its results are in benchmarks/scan_sweep_h200)."""
import os.path as osp

import pytest

from mmmamba.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'sweep_scan_configs.py')


def test_forward_candidates_are_valid_launches():
    """Every candidate keeps a program's channels in one group, a chunk
    that divides the saved-state spacing, and segments of >= 128 steps;
    the lane-major baseline the rows are compared with is included."""
    pytest.importorskip('triton')
    sweep = load_script(SCRIPT)
    from mmmamba.ops.selective_scan.triton_kernels import ScanConfig
    shape = (8, 384, 16, 6085, 1)
    cands = sweep.forward_candidates(shape, save_states=True)
    assert ScanConfig(2, 16, 1) in cands
    tmajor = [c for c in cands if c.block_t]
    assert tmajor and any(c.n_seg > 1 for c in tmajor)
    for c in tmajor:
        assert 384 % c.block_d == 0 and 16 % c.block_t == 0
        assert c.n_seg == 1 or 6085 // c.n_seg >= 128
    # 8 groups of 48 channels: block_d 32 does not divide them; L=640
    # leaves at most 5 segments of 128 steps
    grouped = sweep.forward_candidates((8, 384, 16, 640, 8), True)
    assert all(48 % c.block_d == 0 for c in grouped)
    assert {c.block_d for c in grouped} >= {2, 16}
    assert all(c.n_seg <= 4 for c in grouped if c.block_t)


def test_step_loop_candidates_only_for_channel_last_tensors():
    """The step-loop forward reads a step's channels as one row, so the
    sweep offers it only with --layout channel-last: tiles whose channels
    divide a group's, segments of >= 128 steps, no register caps (those
    apply to the time-major kernel)."""
    pytest.importorskip('triton')
    sweep = load_script(SCRIPT)
    shape = (8, 384, 16, 6085, 1)
    assert not any(c.steps for c in sweep.forward_candidates(shape, True))
    steps = [c for c in sweep.forward_candidates(shape, True, True)
             if c.steps]
    assert {c.block_d for c in steps} >= {16, 32}
    assert any(c.n_seg > 1 for c in steps)
    for c in steps:
        assert 384 % c.block_d == 0 and c.maxnreg == 0
        assert c.n_seg == 1 or 6085 // c.n_seg >= 128
        assert c.block_l % c.block_t == 0 or c.block_t % c.block_l == 0
    grouped = sweep.forward_candidates((8, 384, 16, 640, 8), True, True)
    assert all(48 % c.block_d == 0 for c in grouped if c.steps)


def test_config_labels():
    pytest.importorskip('triton')
    sweep = load_script(SCRIPT)
    from mmmamba.ops.selective_scan.triton_kernels import ScanConfig
    assert sweep.fmt_config(ScanConfig(2, 16, 1, prefetch=True)) == \
        'lanes d2 l16 w1 pf'
    assert sweep.fmt_config(ScanConfig(16, 16, 1, block_t=8, n_seg=32)) == \
        'tmajor d16 t8 w1 s32'
    # backward with states saved every 8 steps (no chunk recomputed twice)
    assert sweep.fmt_config(ScanConfig(8, 8, 1, block_t=8)) == \
        'tmajor d8 t8 w1 l8'
    assert sweep.fmt_config(ScanConfig(4, 16, 1, block_t=16,
                                       prefetch=True)) == 'tmajor d4 t16 w1 pf'
    # the split batch-8 inference tile, software-pipelined
    assert sweep.fmt_config(ScanConfig(32, 8, 1, block_t=8, n_seg=16,
                                       stages=4)) == \
        'tmajor d32 t8 w1 s16 l8 st4'
    assert sweep.fmt_config(ScanConfig(32, 8, 1, block_t=4, n_seg=8,
                                       steps=True)) == 'steps d32 t4 w1 s8'


def test_backward_tiles_fit_their_state_spacing():
    """A time-major backward chunk must divide the saved-state spacing, and
    equal it when it prefetches (the launcher refuses other tiles)."""
    sweep = load_script(SCRIPT)
    for bd, bt, nw, mr, state_l, prefetch in sweep.BWD_TILES:
        assert state_l in (8, 16, 32) and (bt == 0 or state_l % bt == 0)
        assert not (prefetch and bt) or bt == state_l
    assert any(t[4] == 8 and t[1] == 8 for t in sweep.BWD_TILES)
    assert any(t[5] and t[1] for t in sweep.BWD_TILES)


def test_needs_a_gpu(monkeypatch):
    sweep = load_script(SCRIPT)
    monkeypatch.setattr(sweep.torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match='needs a GPU'):
        sweep.main([])
