#!/bin/bash
# Call B: the new forward defaults against HEAD's (time, outputs); GPU tests of the changed kernels and paths; Vim-Ti inference vs DeiT-Ti; scan and mixer vs mamba-ssm
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callB
S=benchmarks/session_1203e_h200
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callB/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> $OUT/callB/build_mamba_ssm.log) &
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callB/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callB/$name.log | tail -${TAILN:-12}; }
TAILN=8 T 60 defaults_fwd python3 $S/defaults_fwd.py
TAILN=6 T 190 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_causal_conv1d.py -k "not mamba_ssm"
for i in $(seq 1 60); do grep -q "build rc" $OUT/callB/build_mamba_ssm.log && break; sleep 2; done; tail -1 $OUT/callB/build_mamba_ssm.log
ONLY=seq T 80 ab_infer python3 benchmarks/session_1203d_h200/ab_infer.py
ONLY=deit T 60 ab_infer_deit python3 benchmarks/session_1203d_h200/ab_infer.py
export PYTHONPATH=$PYTHONPATH:/tmp/mssm
TAILN=14 T 70 scan_vs_mamba python3 tools/analysis_tools/benchmark_scan.py --shapes 'Vim-Ti 224² b128' 'Vim-Ti 1248² b8' 'Vim-Ti 1248² b64' 'Vim-Ti 2048² b8' --backends triton mamba_ssm --repeats 20 --layout channel-last --out $OUT/callB/scan_vs_mamba.md
TAILN=16 T 70 mixer_vs_mamba python3 tools/analysis_tools/benchmark_vim_mixer.py --dtypes bf16 --paths fused "triton x2" "mamba_ssm x2" --repeats 10
