"""callH (prepared 2026-12-06): why the mixer-core harness and the model
disagree at Vim-Ti 2048² b64 (callC: the unsplit pipelined tile 6.3%
faster; callF, in the model: the scan 9.6% slower).

Main-scan kernel ms per mixer core (torch.profiler, 10 calls after 3) of
(mixer, input) pairs under both rules (``old``: bf16 B and C, d16 t8;
``new``: fp32 B and C, the d32 t8 pipelined tile, forced at any length):
- ``model``: layer LAYER's BiMamba of a Vim-Ti built as the benchmark
  builds it, on the ``xz`` it received in a forward of random images;
- ``model/randn``: the same mixer on ``randn`` of that shape (the
  harness's input);
- ``harness``: ``b8_tiles.py``'s BiMamba(192) (parameters perturbed by
  0.02 randn) on ``randn`` (callC's setup).
If the model's rows reproduce callF's ratio and the harness's callC's,
the input data (or the parameters) decide the tile's speed.

DEVICE=cpu: Triton's interpreter on a Vim-Ti at 64², batch 1 (a check of
the script, no timing). Usage: python .../harness_check.py [RES] [BATCH]
"""
import os
import sys

DEVICE = os.environ.get('DEVICE', 'cuda')
CPU = DEVICE == 'cpu'
if CPU:
    os.environ.setdefault('TRITON_INTERPRET', '1')

import torch  # noqa: E402

sys.path.insert(0, 'tools/analysis_tools')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_scan import kernel_ms_by  # noqa: E402
from mmmamba.models.backbones import VisionMamba  # noqa: E402
from mmmamba.models.layers import BiMamba  # noqa: E402
from mmmamba.ops.selective_scan import triton_kernels as tk  # noqa: E402
from tile_rule import TREE_MIN_L, set_pipelined_tile  # noqa: E402

RES = int(sys.argv[1]) if len(sys.argv) > 1 else (64 if CPU else 2048)
BATCH = int(sys.argv[2]) if len(sys.argv) > 2 else (1 if CPU else 64)
LAYER = 1 if CPU else 12
MIN_L = 4 if CPU else TREE_MIN_L  # where the new rule takes the tile


def core_ms(mixer: BiMamba, xz: torch.Tensor):
    mixer.__dict__.pop('_param_cache', None)  # launchers of this rule

    def call():
        with torch.inference_mode(), torch.autocast(DEVICE, torch.bfloat16):
            return mixer.forward_core(xz)

    y = call()
    if CPU:
        return y, {}
    return y, kernel_ms_by(call, 10, 3, lambda n: (
        'main' if 'tmajor_kernel' in n else 'rest'))


torch.manual_seed(0)
model = VisionMamba(arch='tiny', img_size=RES, out_type='cls_token',
                    scan_backend='triton').to(DEVICE).eval()
mixers = [m for m in model.modules() if isinstance(m, BiMamba)]
mixer = mixers[LAYER]
seen = {}


class Captured(Exception):
    """Raised by :func:`record`: the layers after LAYER are not run."""


def record(xz):
    seen['xz'] = xz.clone()
    raise Captured


mixer.forward_core = record
try:
    with torch.inference_mode(), torch.autocast(DEVICE, torch.bfloat16):
        model(torch.randn(BATCH, 3, RES, RES, device=DEVICE))
except Captured:
    pass
del mixer.forward_core
xz_model = seen['xz'].clone()  # out of inference mode
del model
print(f'{RES}² b{BATCH}, layer {LAYER}: xz {tuple(xz_model.shape)} '
      f'{xz_model.dtype}, std {xz_model.float().std().item():.3f}',
      flush=True)
harness = BiMamba(192 if not CPU else mixer.embed_dims,
                  scan_backend='triton').to(DEVICE).eval()
with torch.no_grad():
    for p in harness.parameters():
        p.add_(torch.randn_like(p) * 0.02)
xz_randn = torch.randn_like(xz_model)
for name, m, xz in (('model', mixer, xz_model),
                    ('model/randn', mixer, xz_randn),
                    ('harness', harness, xz_randn)):
    out = {}
    for rule in ('old', 'new', 'old2'):
        set_pipelined_tile(rule == 'new', MIN_L)
        cfg = tk.default_config(
            xz.shape[1], mixer.d_state, mixer.d_inner, backward=False,
            save_states=False, n_rows=xz.shape[0] * mixer.d_inner,
            itemsize=2, bc_itemsize=4)
        assert (cfg.stages > 1) == (rule == 'new'), cfg
        y, per = core_ms(m, xz)
        out[rule] = y.float()
        print(f'{name:12s} {rule:4s} main {per.get("main", 0):.4f} ms, '
              f'rest {per.get("rest", 0):.4f} ms per core', flush=True)
    diff = ((out['new'] - out['old']).abs().max()
            / out['old'].abs().max()).item()
    assert torch.isfinite(out['new']).all() and diff < 1e-2, diff
    print(f'{name:12s} new vs old rel diff {diff:.1e}', flush=True)
