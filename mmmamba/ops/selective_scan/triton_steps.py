# Copyright (c) mmmamba contributors. All rights reserved.
"""Step-loop forward kernels of the selective scan (N > 1, the Vim case).

**Opt-in** (``ScanConfig(..., steps=True)``; :func:`.default_config` never
picks it): on the H200 it is no faster than the time-major forward yet
(``benchmarks/NOTES.md``, session of 2026-12-03, third part).

A program owns ``BLOCK_D`` channels of one batch element; its state is a
``(BLOCK_N, BLOCK_D)`` tile in registers, channels on lanes and, with 32
channels per warp, all N states of a channel in one thread (16 channels
per warp: two lanes share a channel's states). The kernel walks the
sequence one step at a time (``tl.static_range`` over ``BLOCK_T`` steps per
loop iteration), so per state a step costs what the recurrence needs::

    a = exp2(dt * A2)          # one FMUL + one MUFU.EX2
    h = a * h + (dt * u) * B   # one FMUL + one FFMA
    y += h * C                 # one FFMA, reduced in-thread over N

while u, delta and z are read once per (step, channel): their softplus
(MUFU exp2 and lg2 with ``FAST_MATH``), SiLU and the output epilogue cost
1/N per state. In the main kernel each step's loads are issued two steps
ahead (a software pipeline through loop-carried values); the segment
pre-pass loads each step where it uses it.

Measured (Vim-Ti 1248² b64 bf16, channel-last, ncu on the H200): 614 M
instructions against the time-major kernel's 1332 M (8.2 against 17.8 per
state update), but it issues at 1.18 instructions per cycle against 2.62,
stalled on L1TEX scoreboards (6.2 of 9.7 cycles per instruction): 2.02 ms
against 1.97. Saving states (training) costs it 16 strided stores per
saved state and doubles its time. The open question is why the loads
issued ahead do not hide their latency.

Layout: Triton picks a tile's layout from its 2D memory accesses; a 2D
load of A or of saved states (N-contiguous) put lanes on N (Triton 3.6:
threadsPerWarp [16, 2], 19.6 instructions per update through shared-memory
conversions every step). So every (N, D) tile is loaded and stored as N
rows of (D,) (``_rows_tile``, ``_rows_tile_store``), and the tiles keep
Triton's default layout (threadsPerWarp [1, 32]) in Triton 3.6 and 3.8.

B and C are read per step as N-vectors broadcast to all lanes: fp32 with
stride 1 along N (memory (batch, G, L, N)), one to four 16-byte loads; the
launcher makes that layout (``bc_steps_layout``, a small copy).

Sequence segments (``n_seg``) and saved states are those of the time-major
forward: a pre-pass computes each segment's end state from zero and its
sum of delta; each segment folds the earlier ones into its incoming state;
the state before every ``STATE_L``-th step is saved for the backward,
(batch, dim, n_state_chunks, N) fp32.
"""
import triton
import triton.language as tl
from triton.language.extra import libdevice

from .triton_kernels import (_program_rows, _rows, _rows_as, _rows_tile,
                             _rows_tile_store, _seq_pos)


@triton.jit
def _softplus_fast(x, FAST_MATH: tl.constexpr):
    """softplus(x) (beta 1, threshold 20, as torch's) as max(x, 0) +
    ln2 * log2(1 + 2^(-|x| log2 e)): two MUFU ops with ``FAST_MATH``
    (``lg2.approx``; Triton's ``tl.log`` is a ~25-instruction software
    log), ``tl.log2`` otherwise (the interpreter has no libdevice)."""
    t = 1.0 + tl.exp2(-tl.abs(x) * 1.4426950408889634)
    if FAST_MATH:
        lg = libdevice.fast_log2f(t)
    else:
        lg = tl.log2(t)
    return tl.where(x > 20.0, x, tl.maximum(x, 0.0) + lg * 0.6931471805599453)


@triton.jit
def _steps_setup(pid, A_ptr, bias_ptr, n_batch, dim, dstate, dim_per_group,
                 sbc_b, sbc_g, HAS_BIAS: tl.constexpr,
                 BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """Per-program constants: batch index, channels ``offs_d`` (D,), states
    ``offs_n`` (N,) and their mask, ``A2`` (N, D) = A * log2(e) (0 on
    padded states), delta_bias (D,) and the offset of the program's B/C
    row (batch, group) at step 0. The launcher guarantees that
    ``BLOCK_D`` divides the channels per group (no channel mask)."""
    bidx, d0 = _program_rows(pid, dim, n_batch, BLOCK_D)
    gidx = d0 // dim_per_group
    offs_d = d0 + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_n = offs_n < dstate
    A2 = _rows_tile(A_ptr, offs_d * dstate, True, dstate, BLOCK_N,
                    BLOCK_D) * 1.4426950408889634
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d)
    else:
        bias = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    bc_row = bidx * sbc_b + gidx * sbc_g
    return bidx, offs_d, offs_n, mask_n, A2, bias, bc_row


@triton.jit
def _steps_pos(step, seqlen, REVERSE: tl.constexpr):
    """Memory position of scan step ``step`` (a scalar), clamped into the
    sequence so that a padded step's loads need no mask, and whether the
    step is inside it."""
    ok = step < seqlen
    return _seq_pos(tl.minimum(step, seqlen - 1), seqlen, REVERSE), ok


@triton.jit
def _steps_dt(dt, ok, bias, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
              FAST_MATH: tl.constexpr):
    """delta of one step (D,), as loaded, to fp32 after bias and softplus;
    0 on a padded step, so that it carries the state unchanged (a = 1,
    b = 0)."""
    dt = dt.to(tl.float32)
    if HAS_BIAS:
        dt = dt + bias
    if SOFTPLUS:
        dt = _softplus_fast(dt, FAST_MATH)
    return tl.where(ok, dt, 0.0)


@triton.jit
def _steps_loads(u_ptr, delta_ptr, z_ptr, out_ptr, B_ptr, C_ptr, row_u, su_l,
                 row_dt, sdt_l, row_z, sz_l, row_o, so_l, bc_row, offs_n,
                 mask_n, sbc_n, sbc_l, step, seqlen, HAS_Z: tl.constexpr,
                 ACCUMULATE: tl.constexpr, REVERSE: tl.constexpr,
                 EVEN_N: tl.constexpr):
    """Everything step ``step`` reads, in the tensors' dtypes: u, delta,
    z and the output to accumulate onto (D,) (u in place of an absent
    one), B and C (N,) fp32. Positions are clamped into the sequence, so a
    load for a step past the end (padding, or a prefetch) is harmless."""
    pos, _ = _steps_pos(step, seqlen, REVERSE)
    u = tl.load(u_ptr + row_u + pos * su_l)
    dt = tl.load(delta_ptr + row_dt + pos * sdt_l)
    Bt = _steps_bc(B_ptr, bc_row, offs_n, mask_n, sbc_n, sbc_l, pos, EVEN_N)
    Ct = _steps_bc(C_ptr, bc_row, offs_n, mask_n, sbc_n, sbc_l, pos, EVEN_N)
    zz = u
    if HAS_Z:
        zz = tl.load(z_ptr + row_z + pos * sz_l)
    prev = u
    if ACCUMULATE:
        prev = tl.load(out_ptr + row_o + pos * so_l)
    return u, dt, Bt, Ct, zz, prev


@triton.jit
def _steps_bc(ptr, bc_row, offs_n, mask_n, sbc_n, sbc_l, pos,
              EVEN_N: tl.constexpr):
    """B or C of one step: an (N,) vector in fp32 (0 on padded states)."""
    ptrs = ptr + bc_row + offs_n * sbc_n + pos * sbc_l
    if EVEN_N:
        return tl.load(ptrs).to(tl.float32)
    return tl.load(ptrs, mask=mask_n, other=0.0).to(tl.float32)


@triton.jit
def _selective_scan_fwd_steps_seg_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, bias_ptr, hend_ptr, dtsum_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_seg, chunks_per_seg,
    su_b, su_d, su_l, sdt_b, sdt_d, sdt_l, sbc_b, sbc_g, sbc_n, sbc_l,
    HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
    REVERSE: tl.constexpr, DT_AS_U: tl.constexpr, EVEN_N: tl.constexpr,
    FAST_MATH: tl.constexpr,
):
    """Pass 1 of a sequence split: the state at the end of segment ``seg``
    started from zero (hend, (batch, dim, n_seg, N)) and the sum of delta
    over it (dtsum, (batch, dim, n_seg)). Segments 0 .. n_seg-2 only (full
    segments: no step past the end)."""
    pid = tl.program_id(0)
    seg = tl.program_id(1)
    bidx, offs_d, offs_n, mask_n, A2, bias, bc_row = _steps_setup(
        pid, A_ptr, bias_ptr, n_batch, dim, dstate, dim_per_group, sbc_b,
        sbc_g, HAS_BIAS, BLOCK_D, BLOCK_N)
    row_u = _rows(bidx, offs_d, su_b, su_d)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    h = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    dsum = tl.zeros((BLOCK_D, ), dtype=tl.float32)
    c0 = seg * chunks_per_seg
    for c in range(c0, c0 + chunks_per_seg):
        for t in tl.static_range(BLOCK_T):
            pos, ok = _steps_pos(c * BLOCK_T + t, seqlen, REVERSE)
            u = tl.load(u_ptr + row_u + pos * su_l).to(tl.float32)
            dt = _steps_dt(tl.load(delta_ptr + row_dt + pos * sdt_l), ok,
                           bias, HAS_BIAS, SOFTPLUS, FAST_MATH)
            Bt = _steps_bc(B_ptr, bc_row, offs_n, mask_n, sbc_n, sbc_l, pos,
                           EVEN_N)
            h = (tl.exp2(dt[None, :] * A2) * h
                 + (dt * u)[None, :] * Bt[:, None])
            dsum += dt
    seg_row = (bidx * dim + offs_d) * n_seg + seg
    _rows_tile_store(hend_ptr, seg_row * dstate, h, True, dstate, BLOCK_N)
    tl.store(dtsum_ptr + seg_row, dsum)


@triton.jit
def _selective_scan_fwd_steps_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    out_ptr, states_ptr, last_ptr, hend_ptr, dtsum_ptr,
    n_batch, dim, seqlen, dstate, dim_per_group, n_chunks,
    n_state_chunks, n_seg, chunks_per_seg,
    su_b, su_d, su_l, sdt_b, sdt_d, sdt_l, sz_b, sz_d, sz_l,
    so_b, so_d, so_l, sbc_b, sbc_g, sbc_n, sbc_l, out_scale,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, SAVE_STATES: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
    STATE_L: tl.constexpr, REVERSE: tl.constexpr, ACCUMULATE: tl.constexpr,
    DT_AS_U: tl.constexpr, Z_AS_U: tl.constexpr, OUT_AS_U: tl.constexpr,
    EVEN_N: tl.constexpr, FAST_MATH: tl.constexpr,
):
    """Forward, one step at a time (module docstring). Program (pid, seg)
    runs segment ``seg`` of ``chunks_per_seg`` chunks of ``BLOCK_T`` steps;
    its incoming state is folded from pass 1's results. The state before
    every ``STATE_L``-th step is saved (``STATE_L`` a multiple or a divisor
    of ``BLOCK_T``). B and C share the strides ``sbc_*``. ``EVEN_N``:
    BLOCK_N == dstate (no state mask on B and C). ``FAST_MATH``: MUFU log
    in the softplus (compiled kernels; the interpreter has no libdevice).

    Epilogue: out = out_scale * y, or out += out_scale * y (ACCUMULATE)."""
    pid = tl.program_id(0)
    seg = tl.program_id(1)
    bidx, offs_d, offs_n, mask_n, A2, bias, bc_row = _steps_setup(
        pid, A_ptr, bias_ptr, n_batch, dim, dstate, dim_per_group, sbc_b,
        sbc_g, HAS_BIAS, BLOCK_D, BLOCK_N)
    row_u = _rows(bidx, offs_d, su_b, su_d)
    row_dt, sdt_l = _rows_as(DT_AS_U, row_u, su_l, bidx, offs_d, sdt_b,
                             sdt_d, sdt_l)
    row_z, sz_l = _rows_as(Z_AS_U, row_u, su_l, bidx, offs_d, sz_b, sz_d,
                           sz_l)
    row_o, so_l = _rows_as(OUT_AS_U, row_u, su_l, bidx, offs_d, so_b, so_d,
                           so_l)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d)
    h = tl.zeros((BLOCK_N, BLOCK_D), dtype=tl.float32)
    seg_row = (bidx * dim + offs_d) * n_seg
    for s in range(0, seg):  # incoming state: fold segments 0 .. seg-1
        dts = tl.load(dtsum_ptr + seg_row + s)
        he = _rows_tile(hend_ptr, (seg_row + s) * dstate, True, dstate,
                        BLOCK_N, BLOCK_D)
        h = tl.exp2(A2 * dts[None, :]) * h + he
    st_row = (bidx * dim + offs_d) * n_state_chunks * dstate
    c0 = seg * chunks_per_seg
    c1 = tl.minimum(c0 + chunks_per_seg, n_chunks)
    # software pipeline: the loads of steps t+1 and t+2 are in flight while
    # step t computes (each step's loads are otherwise waited on at once:
    # ncu, H200, 2026-12-03)
    u1, dt1, B1, C1, z1, o1 = _steps_loads(
        u_ptr, delta_ptr, z_ptr, out_ptr, B_ptr, C_ptr, row_u, su_l, row_dt,
        sdt_l, row_z, sz_l, row_o, so_l, bc_row, offs_n, mask_n, sbc_n,
        sbc_l, c0 * BLOCK_T, seqlen, HAS_Z, ACCUMULATE, REVERSE, EVEN_N)
    u2, dt2, B2, C2, z2, o2 = _steps_loads(
        u_ptr, delta_ptr, z_ptr, out_ptr, B_ptr, C_ptr, row_u, su_l, row_dt,
        sdt_l, row_z, sz_l, row_o, so_l, bc_row, offs_n, mask_n, sbc_n,
        sbc_l, c0 * BLOCK_T + 1, seqlen, HAS_Z, ACCUMULATE, REVERSE, EVEN_N)
    for c in range(c0, c1):
        for t in tl.static_range(BLOCK_T):
            step = c * BLOCK_T + t
            pos, ok = _steps_pos(step, seqlen, REVERSE)
            if SAVE_STATES:
                if t % STATE_L == 0:  # t == 0 when STATE_L > BLOCK_T
                    _rows_tile_store(states_ptr,
                                     st_row + (step // STATE_L) * dstate, h,
                                     ok & (step % STATE_L == 0), dstate,
                                     BLOCK_N)
            u, dt, Bt, Ct, zz, prev = u1, dt1, B1, C1, z1, o1
            u1, dt1, B1, C1, z1, o1 = u2, dt2, B2, C2, z2, o2
            u2, dt2, B2, C2, z2, o2 = _steps_loads(
                u_ptr, delta_ptr, z_ptr, out_ptr, B_ptr, C_ptr, row_u, su_l,
                row_dt, sdt_l, row_z, sz_l, row_o, so_l, bc_row, offs_n,
                mask_n, sbc_n, sbc_l, step + 2, seqlen, HAS_Z, ACCUMULATE,
                REVERSE, EVEN_N)
            u = u.to(tl.float32)
            dt = _steps_dt(dt, ok, bias, HAS_BIAS, SOFTPLUS, FAST_MATH)
            h = (tl.exp2(dt[None, :] * A2) * h
                 + (dt * u)[None, :] * Bt[:, None])
            y = tl.sum(h * Ct[:, None], axis=0)  # (D,)
            if HAS_D:
                y += Dv * u
            if HAS_Z:
                zz = zz.to(tl.float32)
                y = y * zz / (1.0 + tl.exp2(zz * -1.4426950408889634))
            y = y * out_scale
            if ACCUMULATE:
                y += prev.to(tl.float32)
            tl.store(out_ptr + row_o + pos * so_l,
                     y.to(out_ptr.dtype.element_ty), mask=ok)
    if c1 == n_chunks:  # the segment that holds the final step
        _rows_tile_store(last_ptr, (bidx * dim + offs_d) * dstate, h, True,
                         dstate, BLOCK_N)
