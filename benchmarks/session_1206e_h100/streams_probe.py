"""callA (2026-12-06, fifth part): does running a batch as two (or four)
sub-batches on concurrent CUDA streams shorten Vim-Ti's inference?

The batch-64 scan is latency-bound (ncu: 65% issue, 67% MUFU, 2.6 warps per
scheduler) and the kernels around it are bandwidth-bound; two sub-batches on
two streams can run one's scan beside the other's conv, GEMMs and norm.
Each variant is the eager forward captured in one CUDA graph (the streams
forked from and joined to the capture stream), timed by CUDA events over
replays (wall ms per batch; kernel-time sums do not show overlap), with
DeiT-Ti SDPA in the same process.

Variants: ``full`` (one stream), ``split2`` / ``split4`` (sub-batches on 2 /
4 streams, each sub-batch taking the path its size picks), ``split2-bidir``
(halves forced onto the one-launch scan path), ``split2-lag`` (the second
stream starts when the first has finished layer 0's in_proj).

Usage: python benchmarks/session_1206e_h100/streams_probe.py
"""
import statistics
import sys

import torch

sys.path.insert(0, 'tools/analysis_tools')
import benchmark_backbone as bb  # noqa: E402
from mmmamba.models.layers import bimamba  # noqa: E402

DEV = torch.device('cuda')


def build(kind, res):
    spec = bb.PRESETS[kind]
    return bb.build_feature_model(spec, res, None).to(DEV).eval()


def forward_fn(model, x, parts, lag=False):
    if parts == 1:
        return lambda: model(x)
    xs = x.chunk(parts)
    streams = [torch.cuda.Stream(DEV) for _ in xs]
    ev = torch.cuda.Event()
    hook = [None]

    def fwd():
        cur = torch.cuda.current_stream(DEV)
        for s in streams:
            s.wait_stream(cur)
        outs = []
        for i, (s, xi) in enumerate(zip(streams, xs)):
            if lag and i == 0:
                mod = model.body.layers[0].mixer.in_proj
                hook[0] = mod.register_forward_hook(
                    lambda *a: ev.record(torch.cuda.current_stream(DEV)))
            with torch.cuda.stream(s):
                if lag and i == 1:
                    s.wait_event(ev)
                outs.append(model(xi))
            if lag and i == 0:
                hook[0].remove()
        for s in streams:
            cur.wait_stream(s)
        return outs
    return fwd


def measure(step, reps):
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        step()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts), min(ts)


def run(label, kind, res, batch, parts=1, lag=False, force_bidir=False,
        reps=10):
    pays = bimamba.triton_bidir_fused_pays
    if force_bidir:
        bimamba.triton_bidir_fused_pays = lambda *a: True
    try:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        model = build(kind, res)
        x = torch.randn(batch, 3, res, res, device=DEV)
        step = bb.cuda_graph_step(forward_fn(model, x, parts, lag), DEV,
                                  'bf16')
        med, lo = measure(step, reps)
        peak = torch.cuda.max_memory_allocated() / 2**30
        out = step()
        outs = out if isinstance(out, list) else [out]
        feat = torch.cat([o[0] if isinstance(o, (tuple, list)) else o
                          for o in outs])
        print(f'{label:14s} {res}² b{batch:<3d} wall {med:8.2f} ms '
              f'(min {lo:8.2f})  peak {peak:5.2f} GiB', flush=True)
        del step, model, x
        return feat.float().cpu()
    finally:
        bimamba.triton_bidir_fused_pays = pays


def main():
    print(torch.cuda.get_device_name(), torch.__version__, flush=True)
    for res, batch in ((2048, 64), (1248, 64), (1248, 8), (2048, 8)):
        ref = run('full', 'vim-tiny', res, batch)
        got = run('split2', 'vim-tiny', res, batch, parts=2)
        print(f'   split2 max |diff| vs full {(got - ref).abs().max():.3e}')
        if batch == 64:
            got = run('split2-bidir', 'vim-tiny', res, batch, parts=2,
                      force_bidir=True)
            print('   split2-bidir max |diff| vs full '
                  f'{(got - ref).abs().max():.3e}')
            run('split4', 'vim-tiny', res, batch, parts=4)
        else:
            run('split4', 'vim-tiny', res, batch, parts=4)
        run('split2-lag', 'vim-tiny', res, batch, parts=2, lag=True)
        run('full', 'vim-tiny', res, batch)
        run('deit-sdpa', 'deit-tiny-sdpa', res, batch, reps=5)


if __name__ == '__main__':
    main()
