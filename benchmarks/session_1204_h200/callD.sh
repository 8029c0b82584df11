#!/bin/bash
# Call D (commit candidate: no fast launch): HEAD / tree / DeiT-Ti alternated at the host-bound points; GPU tests; mixer core vs two mamba-ssm scans (mamba-ssm built in the background)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callD
S=benchmarks/session_1204_h200
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callD/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> $OUT/callD/build_mamba_ssm.log) &
uptime
for r in 1 2; do
  for who in head tree deit; do
    case $who in head) P=.head_src:/tmp/site; M=vim-tiny;; tree) P=.:/tmp/site; M=vim-tiny;; deit) P=.:/tmp/site; M=deit-tiny-sdpa;; esac
    PYTHONPATH=$P MODEL=$M SHAPES=224x1,1248x8 PIECES=$([ $r = 2 ] && echo 1 || echo 0) LABEL=$who$r timeout 100 python3 $S/ab_host.py 2>&1 | grep -v "Warn\|warn" | grep "img/s\|µs\|checksum" >> $OUT/callD/ab_alt.log
  done
done
cat $OUT/callD/ab_alt.log
export PYTHONPATH=.:/tmp/site
timeout 170 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py tests/test_ops/test_rms_norm.py tests/test_models/test_layers/test_bimamba.py tests/test_models/test_backbones/test_vision_mamba.py > $OUT/callD/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callD/gpu_tests.log | tail -4
wait
tail -2 $OUT/callD/build_mamba_ssm.log
PYTHONPATH=.:/tmp/site:/tmp/mssm timeout 200 python3 tools/analysis_tools/benchmark_vim_mixer.py --paths fused "mamba_ssm x2" --dtypes bf16 > $OUT/callD/mixer_vs_mamba.log 2>&1; echo rc=$?
cat $OUT/callD/mixer_vs_mamba.log | grep -v "Warn\|warn"
