#!/bin/bash
# Call A: time-major backward (flip-scan, shifted decays, sequence segments) against HEAD (bwd_ab.py); GPU tests of the scan; scan vs mamba-ssm in Vim's layout
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callA
S=benchmarks/session_1203f_h200
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callA/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> $OUT/callA/build_mamba_ssm.log) &
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callA/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callA/$name.log | tail -${TAILN:-12}; }
TAILN=150 T 300 bwd_ab python3 $S/bwd_ab.py
TAILN=6 T 150 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py -k "not mamba_ssm"
for i in $(seq 1 60); do grep -q "build rc" $OUT/callA/build_mamba_ssm.log && break; sleep 2; done; tail -1 $OUT/callA/build_mamba_ssm.log
export PYTHONPATH=$PYTHONPATH:/tmp/mssm
TAILN=14 T 80 scan_vs_mamba python3 tools/analysis_tools/benchmark_scan.py --shapes 'Vim-Ti 224² b128' 'Vim-Ti 1248² b8' 'Vim-Ti 1248² b64' 'Vim-Ti 2048² b8' --backends triton mamba_ssm --repeats 20 --layout channel-last --out $OUT/callA/scan_vs_mamba.md
