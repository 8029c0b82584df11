#!/bin/bash
# Call A: what is alive at the peak of eager bf16 inference (Vim-Ti, DeiT-Ti; mem_peak.py), then the scan against mamba-ssm's CUDA scan at the Vim shapes with the inference layout (B, C N-last) and contiguous inputs (mamba-ssm built in the background)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204c_h200
mkdir -p $OUT/callA
date -u; uptime; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > $OUT/callA/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> $OUT/callA/build_mamba_ssm.log) &
export PYTHONPATH=.:/tmp/site
for m in vim-tiny deit-tiny-sdpa; do
  MODEL=$m SHAPES=1248x8,2048x8,1248x64,738x64 timeout 200 python3 $S/mem_peak.py 2>&1 | grep -v "Warn\|warn" >> $OUT/callA/mem_peak.log
done
cat $OUT/callA/mem_peak.log
wait
tail -2 $OUT/callA/build_mamba_ssm.log
export PYTHONPATH=.:/tmp/site:/tmp/mssm
for lay in vim contiguous; do
  timeout 200 python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --layout $lay --shapes "Vim-Ti 224² b128" "Vim-Ti 1248² b8" "Vim-Ti 1248² b64" "Vim-Ti 2048² b8" > $OUT/callA/scan_vs_mamba_$lay.log 2>&1; echo rc=$?
  grep -v "Warn\|warn" $OUT/callA/scan_vs_mamba_$lay.log
done
