#!/bin/bash
# Call C: GPU tests of the opt-in step-loop forward and the selective-scan GPU suite (defaults unchanged), sweep with 64-channel tiles (two channels per thread)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/logs
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/logs/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$\|DEBUG\|_warn_once" $OUT/logs/$name.log | tail -${TAILN:-12}; }
TAILN=6 T 200 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py tests/test_ops/test_bidir_scan.py
TAILN=30 T 150 sweep python3 tools/analysis_tools/sweep_scan_configs.py --layout channel-last --kernels steps --dtypes bf16 --modes infer --shapes 'Vim-Ti 224² b128' 'Vim-Ti 1248² b64' --top 8 --repeats 10 --out $OUT/logs/sweep.csv
