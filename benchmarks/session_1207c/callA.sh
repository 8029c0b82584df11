#!/usr/bin/env bash
# callA (2026-12-07, third part): (1) norm_in_proj_bench.py, the add +
# RMSNorm + in_proj prototype kernel against the pair in a config sweep;
# (2) sweep_conv_bidir2.py, more configurations of the one-launch conv +
# projection kernel around BIDIR_CONFIG; (3) e2e_norm_in_proj.py, Vim-Ti
# under CUDA graphs with the prototype patched in, against today's.
set -uo pipefail
. benchmarks/device_preamble.sh callA
timeout 200 python3 benchmarks/session_1207c/norm_in_proj_bench.py \
    > "$D/norm_in_proj.log" 2>&1
echo "norm_in_proj rc $?"; cat "$D/norm_in_proj.log"
timeout 120 python3 benchmarks/session_1207c/sweep_conv_bidir2.py \
    > "$D/sweep_conv.log" 2>&1
echo "sweep rc $?"; cat "$D/sweep_conv.log"
timeout 250 python3 benchmarks/session_1207c/e2e_norm_in_proj.py \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"; grep -vi warn "$D/e2e.log" | tail -40
date -u >> "$D/env.txt"
