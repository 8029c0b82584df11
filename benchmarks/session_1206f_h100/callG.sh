#!/usr/bin/env bash
# callG (2026-12-06, sixth part): the GPU tests callF's 120 s cap cut off
# (VisionMamba's, and the BiMamba test it stopped in, with its own cap).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callG"
mkdir -p "$D"
date -u > "$D/env.txt"
timeout 100 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 90 \
    -rfEs tests/test_models/test_backbones/test_vision_mamba.py \
    > "$D/tests_vim.log" 2>&1
echo "vim rc $?"; grep -E "PASSED|FAILED|ERROR|passed|failed" "$D/tests_vim.log" | tail -6
timeout 100 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 90 \
    -rfEs tests/test_models/test_layers/test_bimamba.py \
    -k autocast_inference_linears > "$D/tests_bimamba.log" 2>&1
echo "bimamba rc $?"; grep -E "PASSED|FAILED|ERROR|passed|failed|Timeout" "$D/tests_bimamba.log" | tail -6
date -u >> "$D/env.txt"
