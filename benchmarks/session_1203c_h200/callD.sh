#!/bin/bash
# Call D: step-loop forward with fp32 vs bf16 B/C N-vectors (is it waiting on the broadcast B/C loads?)
export PYTHONPATH=.
mkdir -p $OUT/logs
timeout 150 python3 benchmarks/session_1203c_h200/time_bc.py 2>&1 | tee $OUT/logs/time_bc.log | grep -v Warn
