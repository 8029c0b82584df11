"""What holds Vim-Ti's inference memory: memory_allocated (GiB) after each
stage of the first layer and its mixer, and the peak during each, for the
feature model of benchmark_backbone.py (bf16 autocast, inference_mode).
Usage: python mem_vim.py RES BATCH [bidir]: 'bidir' runs the fused core's
two-direction ops in inference too (the path before this session)."""
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
import mmmamba.models.layers.bimamba as bm  # noqa: E402

res, batch = int(sys.argv[1]), int(sys.argv[2])
G = 2**30
active = [True]


def mark(what):
    if active[0]:
        torch.cuda.synchronize()
        print(f'  {what:<34} alloc {torch.cuda.memory_allocated() / G:6.3f}'
              f'  peak so far {torch.cuda.max_memory_allocated() / G:6.3f}')


def wrap(name):
    fn = getattr(bm, name) if hasattr(bm, name) else None
    def inner(*a, **k):
        out = fn(*a, **k)
        mark(name)
        return out
    setattr(bm, name, inner)


if sys.argv[3:] == ['bidir']:
    bm.BiMamba._needs_grad = lambda self, xz: True
for name in ('bidir_conv1d_silu', 'bidir_selective_scan', 'conv1d_silu',
             'selective_scan_into'):
    wrap(name)
orig_proj = bm.BiMamba._projections
def proj(self, *a):
    out = orig_proj(self, *a)
    mark('_projections (delta, B, C)')
    return out
bm.BiMamba._projections = proj

model = bb.build_feature_model(bb.parse_model('vim-tiny')[1], res, None)
model = model.cuda().eval()
body = model.body
print(f'weights {sum(p.numel() * p.element_size() for p in model.parameters()) / G:.3f} GiB')
for name, mod in [('patch_embed', body.patch_embed), ('layer0.norm', body.layers[0].norm),
                  ('layer0.in_proj', body.layers[0].mixer.in_proj),
                  ('layer0.out_proj', body.layers[0].mixer.out_proj)]:
    mod.register_forward_hook(lambda m, i, o, name=name: mark(f'after {name}'))
def after(name, keep_active):
    def hook(module, inputs, output):  # returns None: output unchanged
        active[0] = True
        mark(f'after {name}')
        active[0] = keep_active
    return hook


for k, layer in enumerate(body.layers):  # the loop calls norm and mixer
    layer.mixer.register_forward_hook(after(f'layer{k}', k == 0))
body.norm_f.register_forward_hook(after('norm_f', True))
x = torch.randn(batch, 3, res, res, device='cuda')
torch.cuda.synchronize()
print(f'{res}² b{batch}: image {x.numel() * 4 / G:.3f} GiB, alloc before '
      f'{torch.cuda.memory_allocated() / G:.3f}')
torch.cuda.reset_peak_memory_stats()
with torch.inference_mode(), torch.autocast('cuda', dtype=torch.bfloat16):
    out = model(x)
torch.cuda.synchronize()
print(f'peak of the whole forward {torch.cuda.max_memory_allocated() / G:.3f} GiB;'
      f' output {[tuple(o.shape) for o in out]} {out[0].dtype}')
