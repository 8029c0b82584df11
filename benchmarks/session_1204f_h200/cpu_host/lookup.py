"""Host time of the inference core's parameter lookups per layer (both
directions) on this 2-core CPU: head (2a3a89f: _state_matrix and
_prologue_weights, five lookups per direction) or tree
(_inference_params, one). Usage: PYTHONPATH=<mmmamba root> python
lookup.py LABEL"""
import sys
import timeit

import torch
from mmmamba.models.layers import BiMamba
m = BiMamba(192).eval()
dt = torch.bfloat16
if hasattr(BiMamba, '_inference_params'):
    def f():
        m._inference_params(False, dt)
        m._inference_params(True, dt)
else:
    def f():
        m._state_matrix(m.A_log, 'f'); m._state_matrix(m.A_b_log, 'b')
        m._prologue_weights(m.conv1d, m.x_proj, m.dt_proj, dt, 'f')
        m._prologue_weights(m.conv1d_b, m.x_proj_b, m.dt_proj_b, dt, 'b')
with torch.inference_mode():
    f()
    t = min(timeit.repeat(f, number=2000, repeat=7)) / 2000 * 1e6
print(sys.argv[1], f'{t:.2f} us per layer (both directions)')
