#!/bin/bash
# Call W (2026-12-05, eighth part): (1) mamba-ssm built in the background;
# (2) GPU tests: the split forward widening 16-bit B and C
# (fp32_bc_pays) bit for bit, the batch-8 paths against the reference;
# (3) scan_vs_mamba_b8.py: the public op at batch 8 with inputs that do
# and do not require grad, mamba-ssm beside it, three rounds; (4) the
# benchmark_scan.py table on kernel time with the widening; (5) Vim's
# fused mixer core against two bare mamba-ssm scans (kernel time, bf16);
# (6) grad_mode_ab.py: VMamba-T inference with the Functions' old
# save-states rule against the new one (grad_needed).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205h_h100
mkdir -p $OUT/callW
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz $PWD/.mssm 90 > /tmp/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> /tmp/build_mamba_ssm.log) &
export PYTHONPATH=.:/tmp/site
timeout 120 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py tests/test_ops/test_ss2d_scan.py -k "widens_16bit or td_first or pipelined or matches_fp32_oracle or (backend_matches_fp32_reference and triton)" > $OUT/callW/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(FAILED|ERROR)|passed|failed" $OUT/callW/gpu_tests.log | tail -6
wait
tail -2 /tmp/build_mamba_ssm.log | tee $OUT/callW/build_mamba_ssm.log
export PYTHONPATH=.:/tmp/site:$PWD/.mssm
timeout 100 python3 $S/grad_mode_ab.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callW/grad_mode_ab.log
timeout 120 python3 $S/scan_vs_mamba_b8.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callW/b8.log
timeout 130 python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --layout vim --timing kernel --shapes "Vim-Ti 224² b128" "Vim-Ti 1248² b8" "Vim-Ti 1248² b64" "Vim-Ti 2048² b8" --out $OUT/callW/scan_vs_mamba_kernel.md > $OUT/callW/scan_vs_mamba_kernel.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callW/scan_vs_mamba_kernel.log | tail -20
timeout 60 python3 tools/analysis_tools/benchmark_vim_mixer.py --paths fused "mamba_ssm x2" --dtypes bf16 --timing kernels > $OUT/callW/mixer_vs_mamba.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callW/mixer_vs_mamba.log | tail -12
date -u
