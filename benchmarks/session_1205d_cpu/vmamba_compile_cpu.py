"""VMamba-T (reference scan) compiled by Inductor on CPU against eager, both
under bf16 autocast, each compared with the fp32 model: relative L2 error
of the four stage outputs (the CPU counterpart of the tolerance in
test_gpu_reduce_overhead_bf16_inference)."""
import time

import torch

from mmmamba.models.backbones import VMamba

torch.manual_seed(0)
model = VMamba(arch='tiny', out_indices=(0, 1, 2, 3),
               scan_backend='reference').eval()
model.init_weights()


def rel(g, w):
    g, w = g.float(), w.float()
    return ((g - w).norm() / w.norm()).item()


compiled = torch.compile(model, fullgraph=True)
t = time.time()
for step in range(2):
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            got = [o.clone() for o in compiled(x)]
            want = model(x)
    print(step, [(round(rel(g, r), 5), round(rel(w, r), 5))
                 for g, w, r in zip(got, want, ref)], time.time() - t,
          flush=True)
