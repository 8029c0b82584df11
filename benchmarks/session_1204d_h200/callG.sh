#!/bin/bash
# Call G: the fused Vim mixer core against two bare scans (mamba-ssm's CUDA kernel, ours) by GPU kernel time (benchmark_vim_mixer.py --timing kernels), which host-bound points need; mamba-ssm built in the background meanwhile
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callG
date -u
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callG/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> $OUT/callG/build_mamba_ssm.log) &
export PYTHONPATH=.:/tmp/site
timeout 200 python3 tools/analysis_tools/benchmark_vim_mixer.py --timing kernels --paths fused "triton x2" --dtypes bf16 fp32 2>&1 | grep -v "Warn\|warn" | tee $OUT/callG/mixer_kernels_ours.log
wait
tail -2 $OUT/callG/build_mamba_ssm.log
export PYTHONPATH=.:/tmp/site:/tmp/mssm
timeout 120 python3 tools/analysis_tools/benchmark_vim_mixer.py --timing kernels --paths fused "mamba_ssm x2" --dtypes bf16 fp32 2>&1 | grep -v "Warn\|warn" | tee $OUT/callG/mixer_kernels_mamba.log
date -u
