"""Eighth part of 2026-12-05, CPU (Triton's interpreter): which
save-states flag VMamba-T's scans get under ``torch.inference_mode`` with
the scans' old rule (requires_grad alone, as ``ctx.needs_input_grad``)
and with the new one (``grad_needed``), unfused and fused SS2D, one
forward of a (1, 3, 64, 64) image: every scan call's flag is recorded by
wrapping the forward launchers.

    python benchmarks/session_1205h_h100/vmamba_save_states_cpu.py
"""
import os

os.environ.setdefault('TRITON_INTERPRET', '1')

import torch  # noqa: E402

from mmmamba.models.backbones import VMamba  # noqa: E402
from mmmamba.ops import _utils  # noqa: E402
from mmmamba.ops.selective_scan import triton as sst  # noqa: E402
from mmmamba.ops.ss2d_scan import triton as s2t  # noqa: E402


def old_rule(*tensors):
    return any(t is not None and t.requires_grad for t in tensors)


def recording(seen, name, fn, flag_index):
    def wrapped(*args, **kwargs):
        seen.append((name, args[flag_index]))
        return fn(*args, **kwargs)
    return wrapped


real = sst.selective_scan_fwd, s2t.ss2d_scan_fwd
for fused in (False, True):
    model = VMamba(arch='tiny', out_indices=(3, ), fuse_cross_scan=fused,
                   scan_backend='triton').eval()
    seen = []
    sst.selective_scan_fwd = recording(seen, 'selective_scan', real[0], 9)
    s2t.ss2d_scan_fwd = recording(seen, 'ss2d_scan', real[1], 10)
    x = torch.randn(1, 3, 64, 64)
    for rule in ('old', 'new'):
        sst.grad_needed = s2t.grad_needed = (
            old_rule if rule == 'old' else _utils.grad_needed)
        seen.clear()
        with torch.inference_mode():
            model(x)
        print(f'fuse_cross_scan={fused} {rule} rule: {len(seen)} scan calls,'
              f' (launcher, save_states) seen: {sorted(set(seen))}',
              flush=True)
sst.selective_scan_fwd, s2t.ss2d_scan_fwd = real
sst.grad_needed = s2t.grad_needed = _utils.grad_needed
