# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU tests of tools/analysis_tools/host_overhead.py (host time of one
Vim-Ti layer's inference pieces; the CUDA table is produced on a GPU
machine)."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmmamba.testing import load_script, requires_triton_interpreter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'host_overhead.py')
PIECES = ['add_norm', 'forward_core', 'conv1d_silu_proj',
          'selective_scan_into']


@requires_triton_interpreter
def test_cpu_table_with_stubbed_launches(tmp_path):
    """A fresh process (the stub replaces Triton's interpreter launches for
    the whole process): the CPU table names the pieces with a positive
    time each and records how it was measured."""
    out = tmp_path / 'host.md'
    env = dict(os.environ, TRITON_INTERPRET='1')
    proc = subprocess.run(
        [sys.executable, SCRIPT, '--device', 'cpu', '--calls', '5',
         '--rounds', '1', '--out', str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split('|')[1:3] for line in proc.stdout.splitlines()
            if line.startswith('| ') and 'piece' not in line]
    assert [name.strip() for name, _ in rows] == PIECES
    assert all(float(us) > 0 for _, us in rows)
    text = out.read_text()
    assert 'kernel launches stubbed' in text and '| forward_core |' in text


def test_stubbing_is_for_the_cpu_interpreter_only():
    tool = load_script(SCRIPT)
    with pytest.raises(SystemExit):
        tool.parse_args(['--device', 'cuda', '--stub-kernels'])
    args = tool.parse_args(['--device', 'cpu'])
    assert args.stub_kernels
    assert not tool.parse_args(['--device', 'cpu',
                                '--no-stub-kernels']).stub_kernels
