#!/bin/bash
# Call N (2026-12-05, seventh part): ncu of Vim-Ti's inference mixer core
# at 1248² b8 bf16 with this part's defaults, all six kernels of one call
# (per direction: conv + projections, pre-pass, main scan): speed of
# light, pipe utilisation (the MUFU's is the XU pipe), shared-memory
# wavefronts and bank conflicts, occupancy. Which limit each kernel is at.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callN
export PYTHONPATH=.:/tmp/site
date -u
timeout 300 ncu --clock-control none --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables --section Occupancy --section LaunchStats --section WarpStateStats --metrics l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_lsu.avg.pct_of_peak_sustained_active,l1tex__throughput.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum -k regex:"tmajor_kernel|seg_kernel|conv_proj_fwd" --launch-skip 6 -c 6 -o $OUT/callN/mix python3 benchmarks/session_1205c_h200/prof_mixer_b8.py > $OUT/callN/ncu_run.log 2>&1; echo ncu rc=$?
ncu -i $OUT/callN/mix.ncu-rep --page details --csv > $OUT/callN/details.csv 2>&1; echo details rc=$?
rm -f $OUT/callN/mix.ncu-rep
python3 benchmarks/session_1205g_h100/ncu_table.py $OUT/callN/details.csv
date -u
