# Copyright (c) mmmamba contributors. All rights reserved.
"""Helpers for mmmamba's test-suite (skip marks). Imports pytest: import it
from tests only, never from library code."""
import pytest
import torch

from mmmamba.ops._utils import (is_mamba_ssm_cuda_available,
                                is_triton_available, triton_interpret)

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='requires a CUDA GPU')
requires_triton = pytest.mark.skipif(
    not is_triton_available(), reason='requires triton')
requires_triton_interpreter = pytest.mark.skipif(
    not (is_triton_available() and triton_interpret()),
    reason='requires triton with TRITON_INTERPRET=1 (set by conftest on CPU)')
requires_mamba_ssm = pytest.mark.skipif(
    not is_mamba_ssm_cuda_available(),
    reason="requires mamba-ssm's compiled selective_scan_cuda")

__all__ = [
    'requires_cuda', 'requires_triton', 'requires_triton_interpreter',
    'requires_mamba_ssm', 'parity_fixture_path', 'load_parity_fixture',
    'load_script', 'run_compiler_script', 'GRAD_MODES',
    'check_saves_states_only_with_grad'
]

#: Grad modes a forward may run under, by name: grad recorded, no_grad,
#: inference_mode.
GRAD_MODES = {
    'grad': torch.enable_grad,
    'no_grad': torch.no_grad,
    'inference_mode': torch.inference_mode,
}


def check_saves_states_only_with_grad(monkeypatch, module, launcher: str,
                                      flag_index: int, run, mode: str):
    """Assert that an autograd Function asks its forward launcher
    (``module.<launcher>``, whose positional argument ``flag_index`` says
    whether to save the backward's states) to save them exactly when a
    gradient will be taken: ``run()`` (inputs that require grad) under
    ``GRAD_MODES[mode]``. ``ctx.needs_input_grad`` would say True under
    no_grad and inference_mode too. The output must not depend on it."""
    seen = []
    real = getattr(module, launcher)

    def spy(*args, **kwargs):
        seen.append(args[flag_index])
        return real(*args, **kwargs)

    monkeypatch.setattr(module, launcher, spy)
    with GRAD_MODES[mode]():
        out = run()
    assert seen == [mode == 'grad']
    assert out.requires_grad == (mode == 'grad')
    with torch.no_grad():
        want = run()
    assert torch.equal(out.detach(), want)


def run_compiler_script(code: str, timeout: int = 600) -> str:
    """Run ``code`` in a fresh Python process without ``TRITON_INTERPRET``
    (Triton's compiler, not its interpreter: offline compiles for a GPU
    target need no GPU) and return its stdout; a non-zero exit fails the
    test with the end of its stderr. Skips when triton has no compiler
    backends."""
    import os
    import subprocess
    import sys
    pytest.importorskip('triton.backends.compiler')
    env = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=env, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def load_script(path: str):
    """Import a script (``tools/...py``, not a package module) by file path;
    the module is named after the file."""
    import importlib.util
    import os.path as osp
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parity_fixture_path(name: str) -> str:
    """Path of an official-output fixture (``vim_tiny_depth2.pt``, ...).

    Looked up in ``$MMMAMBA_FIXTURES``, then ``tests/data`` and the
    ``shared/fixtures/parity`` folder inside or beside the repository (where CI
    has it). A missing fixture is an error, never a skip: parity is what these
    tests exist for.
    """
    import os
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    folders = [
        os.environ.get('MMMAMBA_FIXTURES', ''),
        osp.join(root, 'tests', 'data'),
        osp.join(root, 'shared', 'fixtures', 'parity'),
        osp.join(osp.dirname(root), 'shared', 'fixtures', 'parity'),
    ]
    for folder in folders:
        path = osp.join(folder, name)
        if folder and osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{name} not found; set MMMAMBA_FIXTURES to the folder holding it '
        f'(looked in {[f for f in folders if f]})')


def load_parity_fixture(name: str) -> dict:
    """``torch.load`` of :func:`parity_fixture_path` with the safe loader."""
    import torch
    return torch.load(parity_fixture_path(name), map_location='cpu',
                      weights_only=True)
