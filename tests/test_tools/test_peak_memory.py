# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU tests of tools/analysis_tools/peak_memory.py: the replay of the
allocator's history to its peak, the site names, the report and the CLI's
error without CUDA (the tables themselves come from a GPU machine)."""
import os.path as osp

import pytest
import torch

from mmmamba.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'peak_memory.py')


def frame(path, line, name):
    return dict(filename=path, line=line, name=name)


VIM = frame('/x/mmmamba/ops/conv_proj/triton_kernels.py', 305, 'fwd')
NN = frame('/venv/lib/site-packages/torch/nn/modules/linear.py', 134,
           'forward')
OTHER = frame('/venv/lib/python3/site-packages/torch/_ops.py', 10, 'call')


def ev(action, addr, size, *frames):
    return dict(action=action, addr=addr, size=size, frames=list(frames))


def test_replay_finds_the_peak_and_its_live_set():
    tool = load_script(SCRIPT)
    events = [
        ev('segment_alloc', 0, 1 << 20),
        ev('alloc', 1, 100, OTHER, NN),      # site: the torch.nn frame
        ev('alloc', 2, 50, VIM),
        ev('free_requested', 2, 50),         # not yet free
        ev('free_completed', 2, 50),
        ev('alloc', 3, 70, VIM),             # peak: 10 + 100 + 70
        ev('free_completed', 1, 100),
        ev('alloc', 4, 120, VIM),            # 10 + 70 + 120 = 200: new peak
        ev('free_completed', 4, 120),
        ev('free_completed', 99, 5),         # allocated before: ignored
    ]
    peak, live = tool.replay_to_peak(events, base=10)
    assert peak == 200
    assert sorted(live) == [3, 4]
    assert live[3] == (70, 'mmmamba/ops/conv_proj/triton_kernels.py:305 fwd')
    peak, live = tool.replay_to_peak(events[:6], base=10)
    assert peak == 180 and sorted(live) == [1, 3]
    assert live[1][1] == 'torch/nn/modules/linear.py:134 forward'
    assert tool.replay_to_peak([], base=7) == (7, {})


def test_sites_groups_and_report():
    tool = load_script(SCRIPT)
    assert tool.site_of([OTHER]) == '/venv/lib/python3/site-packages/' \
        'torch/_ops.py:10'
    assert tool.site_of([]) == '?'
    mib = 2**20
    blocks = {1: (3 * mib, 'a'), 2: (5 * mib, 'b'), 3: (2 * mib, 'a'),
              4: (mib // 2, 'c')}
    assert tool.group_by_site(blocks) == [('a', 5 * mib, 2),
                                          ('b', 5 * mib, 1),
                                          ('c', mib // 2, 1)]
    text = tool.format_report('vim-tiny', 1248, 8, 0.01, 20 * mib, blocks,
                              min_mib=1.0)
    assert '| `a` | 5.00 | 25.0 | 2 |' in text
    assert '| (smaller sites) | 0.50 | 2.5 | 1 |' in text
    assert 'vim-tiny 1248² batch 8' in text


def test_shape_parsing_and_cpu_error(monkeypatch):
    tool = load_script(SCRIPT)
    assert tool.parse_shape('1248x8') == (1248, 8)
    with pytest.raises(Exception, match='RESxBATCH'):
        tool.parse_shape('1248')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match='CUDA GPU'):
        tool.main(['--shapes', '224x1'])
