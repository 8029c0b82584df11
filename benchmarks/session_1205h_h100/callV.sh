#!/bin/bash
# Call V (2026-12-05, eighth part): scan_op_parts.py, the public
# selective_scan's batch-8 inference forward by kernel, with variants of
# its inputs (B and C cast to fp32, no gate, no bias / softplus).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callV
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 300 python3 benchmarks/session_1205h_h100/scan_op_parts.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callV/parts.log
date -u
