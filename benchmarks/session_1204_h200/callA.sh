#!/bin/bash
# Call A: where Vim-Ti's eager inference spends host time (HEAD 25cd8bc)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callA
S=benchmarks/session_1204_h200
SKIP1=1 timeout 280 python3 $S/host_cost.py > $OUT/callA/host_cost.log 2>&1; echo rc=$?
grep -v "Warning\|warn" $OUT/callA/host_cost.log | head -150
