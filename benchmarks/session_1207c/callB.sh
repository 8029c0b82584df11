#!/usr/bin/env bash
# callB (2026-12-07, third part): conv_stages.py, the conv + projection
# kernels' stages / row groups / projection chunks, then Vim-Ti under CUDA
# graphs with the picked configurations against today's.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callB"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
timeout 560 python3 benchmarks/session_1207c/conv_stages.py \
    > "$D/conv_stages.log" 2>&1
echo "conv_stages rc $?"; grep -vi warn "$D/conv_stages.log" | tail -75
date -u >> "$D/env.txt"
