"""Put the softplus of the scan kernels back to its form before this
session (tl.log(1 + tl.exp(-|x|)), a software log) for A/B runs. Call
patch() before any scan kernel compiles in the process."""
import triton
import triton.language as tl


@triton.jit
def _softplus_old(x):
    return tl.where(x > 20.0, x,
                    tl.maximum(x, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(x))))


def patch():
    from mmmamba.ops.selective_scan import triton_kernels as tk
    from mmmamba.ops.ss2d_scan import triton_kernels as sk
    tk._softplus = _softplus_old
    sk._softplus = _softplus_old
