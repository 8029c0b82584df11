#!/bin/bash
# Call U (2026-12-05, eighth part): (1) mamba-ssm's CUDA scan built in the
# background again (into .mssm); (2) GPU tests of the conv + projection
# kernel with ConvProjConfig.prefetch (bit for bit against the plain conv
# pass, and against the reference); (3) convproj_prefetch.py: kernel ms,
# default against prefetch variants, four shapes, both directions; (4) the
# scan against mamba-ssm on kernel time (benchmark_scan.py --timing
# kernel, Vim's layout): callT's queued timing of the public op at batch
# 8 carried host time.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205h_h100
mkdir -p $OUT/callU
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz $PWD/.mssm 90 > /tmp/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> /tmp/build_mamba_ssm.log) &
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_conv_proj.py -k "prefetch or matches_reference" > $OUT/callU/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(FAILED|ERROR)|passed|failed" $OUT/callU/gpu_tests.log | tail -6
timeout 200 python3 $S/convproj_prefetch.py 2>&1 | grep -v "Warn\|warn" > $OUT/callU/prefetch.log; tail -10 $OUT/callU/prefetch.log
wait
tail -2 /tmp/build_mamba_ssm.log | tee $OUT/callU/build_mamba_ssm.log
export PYTHONPATH=.:/tmp/site:$PWD/.mssm
timeout 200 python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --layout vim --timing kernel --shapes "Vim-Ti 224² b128" "Vim-Ti 1248² b8" "Vim-Ti 1248² b64" "Vim-Ti 2048² b8" > $OUT/callU/scan_vs_mamba_kernel.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callU/scan_vs_mamba_kernel.log | tail -20
date -u
