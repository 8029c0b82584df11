"""One launch each of the step-loop and the time-major forward at Vim-Ti
1248² b64 bf16 (channel-last, no saved states), for ncu (call A)."""
import torch

from mmmamba.ops.selective_scan import triton_kernels as tk

b, d, N, L = 64, 384, 16, 6085


def cl(t):
    return t.transpose(1, 2).contiguous().transpose(1, 2)


u, delta, z = (cl(torch.randn(b, d, L, device='cuda', dtype=torch.bfloat16))
               for _ in range(3))
A = -torch.rand(d, N, device='cuda') - 0.5
B, C = (torch.randn(b, 1, N, L, device='cuda', dtype=torch.bfloat16)
        for _ in range(2))
Bs, Cs = tk.bc_steps_layout(B, C)
D, bias = torch.ones(d, device='cuda'), torch.zeros(d, device='cuda')
steps = tk.default_config(L, N, d, backward=False, save_states=False,
                          n_rows=b * d, channel_last=True)
old = tk.default_config(L, N, d, backward=False, save_states=False,
                        n_rows=b * d)
print(steps, old)
tk.selective_scan_fwd(u, delta, A, Bs, Cs, D, z, bias, True, False,
                      config=steps)
tk.selective_scan_fwd(u, delta, A, B, C, D, z, bias, True, False, config=old)
torch.cuda.synchronize()
