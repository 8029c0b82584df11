"""How far the widened time-major forward (ScanConfig.widen_bc, the
inference default since this session) is from the plain one, compiled:
max |widened - plain| / max |plain| of the output and the last state, and
the share of output elements that differ, for the cases of
tests/test_ops/test_selective_scan.py::test_gpu_widen_bc_forward_matches_plain
(their inputs, their helper)."""
import sys

import torch

sys.path.insert(0, 'tests/test_ops')
from test_selective_scan import _widen_bc_runs  # noqa: E402

for name, shape in (('unsplit', (16, 1000, 1, 16, 8)),
                    ('split', (2, 2049, 16, 32, 4))):
    batch, seqlen, n_seg, block_d, block_t = shape
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        (plain, *widened), _ = _widen_bc_runs('cuda', dtype, batch, 384,
                                              seqlen, n_seg, block_d,
                                              block_t)
        for label, (out, last) in zip(('bc', 'bc+ud'), widened):
            row = []
            for t, ref in ((out, plain[0]), (last, plain[1])):
                d = (t.double() - ref.double()).abs().max().item()
                row.append(f'{d / ref.double().abs().max().item():.3e}')
            frac = (out != plain[0]).double().mean().item()
            print(f'{name:7s} {str(dtype)[6:]:8s} {label:5s} max rel diff '
                  f'out {row[0]} last {row[1]}; out elements differing '
                  f'{frac:.2%}', flush=True)
