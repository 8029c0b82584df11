#!/usr/bin/env bash
# callA (2026-12-06, seventh part): the cuBLAS-workspace creep of one
# benchmark process (creep_probe.py), with the benchmark tool's GPU tests.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callA"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
timeout 120 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_tools/test_benchmark_backbone.py > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 420 python3 benchmarks/session_1206g_h100/creep_probe.py "$D" \
    > "$D/probe.log" 2>&1
echo "probe rc $?"; grep -E "^part|Error|error" "$D/probe.log" | tail -40
date -u >> "$D/env.txt"
