#!/usr/bin/env bash
# callB (2026-12-07, third part): conv_stages.py, the conv + projection
# kernels' stages / row groups / projection chunks, then Vim-Ti under CUDA
# graphs with the picked configurations against today's.
set -uo pipefail
. benchmarks/device_preamble.sh callB
timeout 560 python3 benchmarks/session_1207c/conv_stages.py \
    > "$D/conv_stages.log" 2>&1
echo "conv_stages rc $?"; grep -vi warn "$D/conv_stages.log" | tail -75
date -u >> "$D/env.txt"
