#!/bin/bash
# Call F (prepared 2026-12-05, third part; no device that session): batch 8
# without the host, and where the batch-8 scan's time goes.
# 1. GPU tests of benchmark_backbone's --cuda-graph step.
# 2. The README table's command with --cuda-graph (eager forward captured
#    in one CUDA graph, replayed) at 1248² / 2048², batch 8 and 64.
# 3. b8_tiles.py: the mixer core's kernels for split and lane-split tiles.
# 4. ncu of the default batch-8 scan kernels (stall reasons).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205c_h200
mkdir -p $OUT/callF
export PYTHONPATH=.:/tmp/site
date -u
timeout 90 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA -k cuda_graph tests/test_tools/test_benchmark_backbone.py > $OUT/callF/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callF/gpu_tests.log | tail -6
for b in 8 64; do
  timeout $((b == 64 ? 150 : 90)) python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --kernel-time --cuda-graph --no-plot --out-dir $OUT/callF/graph_b$b > $OUT/callF/graph_b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callF/graph_b$b/summary.md | tail -6
done
timeout 200 python3 $S/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callF/b8_tiles.log
SEC="--section SpeedOfLight --section WarpStateStats --section Occupancy --section SchedulerStats --print-details all"
timeout 120 ncu --clock-control none -k regex:"tmajor_kernel|seg_kernel" --launch-skip 4 -c 4 $SEC python3 $S/prof_mixer_b8.py > $OUT/callF/ncu_b8.log 2>&1; echo ncu rc=$?
grep -E "^  _|Duration|Issue Slots Busy|Executed Ipc A|Registers Per|Achieved Occ|Eligible Warps|Warp Cycles Per Issued|Stall|stall" $OUT/callF/ncu_b8.log | head -70
date -u
