#!/bin/bash
# Call X (2026-12-05, ninth part): VMamba-T/S/B at 224² batch 128 with
# today's defaults (Triton LayerNorm2d, the scans' grad_needed rule),
# unfused SS2D (the model default) and fused (fuse_cross_scan=True) in one
# run: inference fp32 / bf16 and the AMP bf16 training step. Decides
# whether the fused SS2D should be the default, and replaces the README's
# VMamba table of 2026-11-23.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
M=()
for a in tiny:0.2 small:0.3 base:0.6; do
  n=${a%%:*}; d=${a##*:}
  M+=("vmamba-$n" "vmamba-$n-fused={\"type\":\"mmmamba.VMamba\",\"arch\":\"$n\",\"drop_path_rate\":$d,\"fuse_cross_scan\":true}")
done
timeout 500 python3 tools/analysis_tools/benchmark_backbone.py --mode vmamba-throughput --models "${M[@]}" --measures inference train_step --out-dir $OUT/callX --no-plot 2>&1 | grep -v "Warn\|warn"
date -u
