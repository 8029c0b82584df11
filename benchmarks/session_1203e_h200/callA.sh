#!/bin/bash
# Call A: time-major scan forward sweep (HEAD kernel vs rows-loaded A/segment states, prefetch, B/C fp32, d16/d32 tiles); single-direction conv sweep; GPU tests of the scan; mamba-ssm built in the background for call B
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callA
S=benchmarks/session_1203e_h200
(nice -n 19 bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callA/build_mamba_ssm.log 2>&1 &)
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callA/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callA/$name.log | tail -${TAILN:-40}; }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
TAILN=400 T 330 sweep_fwd python3 $S/sweep_fwd.py
TAILN=100 T 60 sweep_conv1 python3 $S/sweep_conv1.py
TAILN=15 T 150 gpu_tests_scan python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py
tail -3 $OUT/callA/build_mamba_ssm.log
