#!/usr/bin/env bash
# callF (2026-12-06, fourth part): ncu of the one-launch scan and conv +
# projection kernels at Vim-Ti 2048² b64 (the third of three calls): where
# the scan stands against its issue and MUFU (XU pipe) limits, and what
# bounds the conv kernel.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callF"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
for k in _bidir_fwd_kernel _conv_proj_bidir_kernel; do
    timeout 200 ncu --clock-control none -k "$k" -s 2 -c 1 \
        --section SpeedOfLight --section ComputeWorkloadAnalysis \
        --section WarpStateStats --section Occupancy \
        --section InstructionStats --section MemoryWorkloadAnalysis \
        --metrics sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__issue_active.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,smsp__warps_active.avg.per_cycle_active \
        python3 benchmarks/session_1206d_h100/ncu_core.py > "$D/ncu_$k.log" 2>&1
    echo "ncu $k rc $?"
    grep -E "Duration|Throughput|Pipe|pipe_xu|issue_active|pipe_fma|warps_active|Issue Slots|Executed Ipc|Stall|Occupancy|Registers|L2 Hit|DRAM" "$D/ncu_$k.log" | head -40
done
