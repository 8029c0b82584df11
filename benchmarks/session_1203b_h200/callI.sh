#!/bin/bash
# Call I: new backward defaults (time-major t8, states every 8, prefetch): GPU tests, full scan table (queued + sync), host profile, Vim-Ti train steps
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/logs
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/logs/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$\|DEBUG\|_warn_once" $OUT/logs/$name.log | tail -${TAILN:-12}; }
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > /tmp/build.log 2>&1; echo "build rc=$?" >> /tmp/build.log) &
BP=$!
TAILN=6 T 150 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py tests/test_ops/test_bidir_scan.py tests/test_models/test_layers/test_bimamba.py
TAILN=40 T 40 host_profile python3 .dev/overhead2.py

wait $BP; tail -2 /tmp/build.log
export PYTHONPATH=$PYTHONPATH:/tmp/mssm
TAILN=25 T 130 scan_queued python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --repeats 30 --out $OUT/logs/scan_queued.md
TAILN=25 T 100 scan_sync python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --repeats 30 --timing sync --out $OUT/logs/scan_sync.md
