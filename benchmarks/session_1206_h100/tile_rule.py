"""The long-sequence scan tile rule of 2026-12-06, switchable for A/B runs
(``prof_ab.py``, ``harness_check.py``).

``set_pipelined_tile(True)``: unsplit inference with 16-bit u takes the
pipelined one-lane-per-channel tile (d32 t8, 3 stages, fp32 B and C from
the conv kernel) at every length from ``min_l`` on: the rule of 4628da6,
before ``TMAJOR_PIPELINE_MAX_L`` bounded it. ``False``: never (the d16 t8
register-prefetch tile with bf16 B and C, the rule before 4628da6).
``default_config`` and ``triton_prefers_fp32_bc`` read the module's
constants at each call; models and mixers built (or launchers made) after
the switch use it.
"""
from mmmamba.ops.selective_scan import triton_kernels as tk

TREE_MIN_L = tk.TMAJOR_PIPELINE_MIN_L


def set_pipelined_tile(on: bool, min_l: int = TREE_MIN_L) -> None:
    tk.TMAJOR_PIPELINE_MIN_L = min_l
    tk.TMAJOR_PIPELINE_MAX_L = (1 << 30) if on else 0
