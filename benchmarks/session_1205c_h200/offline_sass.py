"""Offline sm_90 SASS of the time-major scan kernels at Vim-Ti's 1248²
shapes, as the launcher specialises them (channel-last u / delta / z,
N-last B / C, unit strides constant), compiled by the device's Triton
(3.6) without a GPU: registers, stack and the main loop's instructions
per state update with an opcode histogram, per variant. The numbers of
``benchmarks/NOTES.md``, 2026-12-05, third part (the earlier parts used the
same functions from /tmp).

Usage (Triton 3.6 unpacked from its wheel at /tmp/t36)::

    PYTHONPATH=/tmp/t36:. python \
        benchmarks/session_1205c_h200/offline_sass.py [b8|b64|lanes|pre|more]
"""
import collections
import os
import re
import subprocess
import tempfile
os.environ.pop('TRITON_INTERPRET', None)
import triton
from mmmamba.ops.selective_scan import triton_kernels as tk
from mmmamba.testing.sm90 import compile_sm90

E, L, BATCH = 384, 6085, 64
BIN = os.path.join(os.path.dirname(triton.__file__), 'backends/nvidia/bin')
cl = (E * L, 1, E)
strides = dict(u=cl, dt=cl, z=(2 * E * L, 1, 2 * E), o=cl)


def build(fn, consts, warps, vals, maxnreg=None):
    """``fn`` compiled for sm_90 as the launcher specialises it at these
    argument values (:func:`mmmamba.testing.sm90.compile_sm90`): strides
    from ``strides``, other ints from ``vals``; ones compiled in,
    multiples of 16 marked divisible."""
    consts = dict(consts)
    consts.update({p.name: p.default for p in fn.params
                   if p.is_constexpr and p.name not in consts})  # defaults
    ints = {}
    for p in fn.params:
        n = p.name
        if p.is_constexpr or n.endswith('_ptr') or n.endswith('_scale'):
            continue
        if n[0] == 's' and n[-2:] in ('_b', '_d', '_l') \
                and n[1:-2] in strides:
            ints[n] = strides[n[1:-2]]['bdl'.index(n[-1])]
        else:
            ints[n] = vals[n]
    names = {p.name for p in fn.params}
    return compile_sm90(
        fn, consts, 'bf16', {k[:-4] for k in LOW},
        ones=[n for n, v in ints.items() if v == 1],
        div16=[n for n, v in ints.items() if v != 1 and v % 16 == 0],
        num_warps=warps, maxnreg=maxnreg,
        floats=[n for n in names if n.endswith('_scale')])


LOW = {'u_ptr', 'delta_ptr', 'B_ptr', 'C_ptr', 'z_ptr', 'out_ptr'}


def sass(kernel):
    with tempfile.NamedTemporaryFile(suffix='.cubin', delete=False) as f:
        f.write(kernel.asm['cubin'])
    out = subprocess.run([os.path.join(BIN, 'nvdisasm'), '-c', f.name],
                         capture_output=True, text=True).stdout
    return out


def resources(kernel):
    with tempfile.NamedTemporaryFile(suffix='.cubin', delete=False) as f:
        f.write(kernel.asm['cubin'])
    out = subprocess.run([os.path.join(BIN, 'cuobjdump'),
                          '--dump-resource-usage', f.name],
                         capture_output=True, text=True).stdout
    m = re.search(r'REG:(\d+) STACK:(\d+) SHARED:(\d+)', out)
    return 'regs %s stack %s smem %s' % m.groups() if m else out[-200:]


def loop_hist(text):
    """Instructions of the largest backward-branch loop body."""
    lines = text.splitlines()
    label_at = {}
    body_lines = []
    for l in lines:
        m = re.match(r'^\s*(\.L_x_\d+):', l)
        if m:
            label_at[m.group(1)] = len(body_lines)
            continue
        m = re.search(r'/\*[0-9a-f]{4}\*/\s+(.*?);', l)
        if m:
            body_lines.append(m.group(1))
    best = []
    for i, op in enumerate(body_lines):
        m = re.search(r'BRA\s+`\((\.L_x_\d+)\)', op)
        if m and m.group(1) in label_at and label_at[m.group(1)] <= i:
            body = body_lines[label_at[m.group(1)]:i + 1]
            if len(body) > len(best):
                best = body
    return best


def opname(o):
    o = re.sub(r'^@!?U?P\w+\s+', '', o.strip())
    return o.split()[0].split('.')[0]


VALS = dict(n_batch=BATCH, dim=E, seqlen=L, dstate=16, dim_per_group=E,
            n_groups=1, n_chunks=(L + 7) // 8, n_state_chunks=(L + 7) // 8,
            n_seg=1, chunks_per_seg=(L + 7) // 8)


def variant(name, fn=tk._selective_scan_fwd_tmajor_kernel, warps=1,
            maxnreg=168, **kw):
    base = dict(HAS_D=True, HAS_Z=False, HAS_BIAS=False, SOFTPLUS=False,
                SAVE_STATES=False, BLOCK_D=16, BLOCK_T=8, BLOCK_N=16,
                STATE_L=8, REVERSE=False, ACCUMULATE=False, DT_AS_U=True,
                Z_AS_U=False, OUT_AS_U=True, T_IN_THREAD=True,
                PREFETCH=True, BC_NL=True, GATE_SUM=False)
    base.update(kw)
    names = {p.name for p in fn.params if p.is_constexpr}
    k = build(fn, {a: b for a, b in base.items() if a in names}, warps, VALS,
              maxnreg)
    text = sass(k)
    body = loop_hist(text)
    h = collections.Counter(opname(o) for o in body)
    upd = base['BLOCK_D'] * base['BLOCK_T'] * 16 / (32 * warps)
    regs = resources(k)
    print(f'{name:28s} {regs} '
          f'loop {len(body):4d} ({len(body)/upd:.2f}/update) '
          + ' '.join(f'{a}:{b}' for a, b in h.most_common(14)))
    return k, text


def b8_shape(block_t, n_seg=16, seg_steps=384):
    VALS.update(n_batch=8, n_seg=n_seg, chunks_per_seg=seg_steps // block_t,
                n_chunks=(L + block_t - 1) // block_t)


DIR2 = dict(HAS_Z=True, ACCUMULATE=True, GATE_SUM=True, REVERSE=True)


def spills(text):
    body = loop_hist(text)
    print('   LDL/STL in loop',
          sum(1 for o in body if 'LDL' in o or 'STL' in o))


def run_b8():
    """The default batch-8 tiles: main kernel both directions, pre-pass."""
    b8_shape(4)
    for nm, kw in (('dir1', {}), ('dir2', DIR2)):
        variant(f'b8 {nm} wbc cap168', BLOCK_D=32, BLOCK_T=4, maxnreg=168,
                WIDEN_BC=True, **kw)
    variant('b8 pre wbc', fn=tk._selective_scan_fwd_seg_kernel, BLOCK_D=32,
            BLOCK_T=4, maxnreg=None, WIDEN_BC=True)


def run_b64():
    for nm, kw in (('dir1', {}), ('dir2', DIR2)):
        variant(f'b64 {nm} wbc cap168', WIDEN_BC=True, **kw)


def run_lanes():
    """Lane-split main tiles without a split."""
    for bd in (8, 4, 2):
        for bt in (8, 16):
            b8_shape(bt, 1, L)
            VALS.update(n_state_chunks=(L + 7) // 8)
            for nm, kw in (('dir1', {}), ('dir2', DIR2)):
                _, text = variant(f'd{bd} t{bt} {nm} wbc', BLOCK_D=bd,
                                  BLOCK_T=bt, maxnreg=None, WIDEN_BC=True,
                                  **kw)
                spills(text)


def run_pre():
    """The pre-pass on its own tile."""
    for bd, bt in ((32, 4), (32, 8), (16, 8), (16, 4), (16, 16), (8, 8),
                   (8, 16), (4, 16)):
        b8_shape(bt)
        variant(f'pre d{bd} t{bt} wbc', fn=tk._selective_scan_fwd_seg_kernel,
                BLOCK_D=bd, BLOCK_T=bt, maxnreg=None, WIDEN_BC=True)


def run_more():
    """Main tiles with fewer registers (more segments)."""
    for bd, bt, cap in ((32, 2, None), (32, 2, 128), (32, 4, 128),
                        (16, 4, None), (16, 4, 128), (16, 8, 168)):
        b8_shape(bt, 32, 192)
        for nm, kw in (('dir1', {}), ('dir2', DIR2)):
            _, text = variant(f'main d{bd} t{bt} {nm} cap{cap}', BLOCK_D=bd,
                              BLOCK_T=bt, maxnreg=cap, WIDEN_BC=True, **kw)
            spills(text)


if __name__ == '__main__':
    import sys
    print('triton', triton.__version__)
    for what in sys.argv[1:] or ['b8', 'b64', 'lanes', 'pre', 'more']:
        globals()['run_' + what]()
