#!/bin/bash
# Call B: the committed backward defaults (8 channels, segments below 1024 programs, prefetching pre-pass): against HEAD (bwd_ab.py QUICK); GPU tests; compiled Vim-Ti training step; scan and fused mixer vs mamba-ssm
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callB
S=benchmarks/session_1203f_h200
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callB/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> $OUT/callB/build_mamba_ssm.log) &
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callB/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callB/$name.log | tail -${TAILN:-12}; }
QUICK=1 TAILN=40 T 90 bwd_ab python3 $S/bwd_ab.py
TAILN=8 T 120 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py tests/test_ops/test_bidir_scan.py tests/test_models/test_layers/test_bimamba.py -k "not mamba_ssm and (1248 or bidir or bimamba or mixer)"
TAILN=30 T 100 train_step python3 tools/analysis_tools/profile_train_step.py --compile reduce-overhead vim-tiny --top 12
for i in $(seq 1 60); do grep -q "build rc" $OUT/callB/build_mamba_ssm.log && break; sleep 2; done; tail -1 $OUT/callB/build_mamba_ssm.log
export PYTHONPATH=$PYTHONPATH:/tmp/mssm
TAILN=14 T 80 scan_vs_mamba python3 tools/analysis_tools/benchmark_scan.py --shapes 'Vim-Ti 224² b128' 'Vim-Ti 1248² b8' 'Vim-Ti 1248² b64' 'Vim-Ti 2048² b8' --backends triton mamba_ssm --repeats 20 --layout channel-last --out $OUT/callB/scan_vs_mamba.md
TAILN=16 T 60 mixer_vs_mamba python3 tools/analysis_tools/benchmark_vim_mixer.py --dtypes bf16 --paths fused "triton x2" "mamba_ssm x2" --repeats 10
