"""callA (2026-12-07, third part): more launch configurations of the
one-launch conv + projection kernel (``ConvProjBidirLaunch``, ``dt_low``,
bf16): variants of ``BIDIR_CONFIG`` (4 warps, cap 128) not in the fourth
part's sweep, at Vim-Ti 1248² / 2048² batch 64 and 1248² batch 8. The
fourth part's script (``session_1206d_h100/sweep_conv_bidir.py``: kernel
ms per call from CUDA events over 20 calls after 3 warm-up calls, each
configuration timed twice, the list and then the list reversed; outputs
against the default's bit for bit) with these configurations and shapes.

Usage: python benchmarks/session_1207c/sweep_conv_bidir2.py
"""
import sys

sys.path.insert(0, 'benchmarks/session_1206d_h100')
import sweep_conv_bidir as base  # noqa: E402

from mmmamba.ops.conv_proj import triton_kernels as tk  # noqa: E402

# the defaults as callA ran them (BIDIR_CONFIG before 2026-12-07's change)
B = tk.ConvProjConfig(64, 64, 4, 2, True, block_ec=64, maxnreg=128,
                      row_group=4)
base.CONFIGS = {
    'default': B,
    's3': B._replace(num_stages=3),
    's1': B._replace(num_stages=1),
    'cap96': B._replace(maxnreg=96),
    'ec32': B._replace(block_ec=32),
    'E128': B._replace(block_e=128),
    'G8': B._replace(row_group=8),
    'w8': B._replace(num_warps=8),
    'L128 w8': B._replace(block_l=128, num_warps=8),
    'prefetch cap168': B._replace(prefetch=True, maxnreg=168),
}
base.SHAPES = [(64, 6085, '1248² b64'), (64, 16385, '2048² b64'),
               (8, 6085, '1248² b8')]

if __name__ == '__main__':
    base.main()
