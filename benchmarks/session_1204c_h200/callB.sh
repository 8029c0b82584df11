#!/bin/bash
# Call B (tree: layer 0's norm output in autocast's dtype; selective_scan and the bidirectional scan take B, C N-last views in place): GPU tests of the changed ops (mamba-ssm built in the background), peak memory per shape in fresh processes, the scan against mamba-ssm with the inference layout
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204c_h200
mkdir -p $OUT/callB
date -u; uptime
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > /tmp/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> /tmp/build_mamba_ssm.log) &
export PYTHONPATH=.:/tmp/site
for spec in 1248x8 738x64 2048x8 1248x64; do
  MODEL=vim-tiny SHAPES=$spec timeout 100 python3 $S/mem_peak.py 2>&1 | grep -v "Warn\|warn" >> $OUT/callB/mem_peak.log
done
grep "max_memory" $OUT/callB/mem_peak.log
timeout 240 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_rms_norm.py tests/test_models/test_backbones/test_vision_mamba.py tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_bidir_scan.py tests/test_ops/test_selective_scan.py -k "not mamba_ssm" > $OUT/callB/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callB/gpu_tests.log | tail -6
wait
tail -1 /tmp/build_mamba_ssm.log
export PYTHONPATH=.:/tmp/site:/tmp/mssm
timeout 150 python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --layout vim --shapes "Vim-Ti 224² b128" "Vim-Ti 1248² b8" "Vim-Ti 1248² b64" "Vim-Ti 2048² b8" > $OUT/callB/scan_vs_mamba_vim.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callB/scan_vs_mamba_vim.log
