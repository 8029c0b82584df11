#!/bin/bash
# Call T (2026-12-05, eighth part): (1) mamba-ssm's CUDA scan built in the
# background (tools/analysis_tools/build_mamba_ssm_cuda.sh, sdist carried in
# .whl) into .mssm (ignored; kept on the warm machine for the next call);
# (2) ncu's source page of the conv + projection kernel at 1248² b8 (the
# seventh part's callS); (3) the batch-8 main kernel at 8 / 16 / 32
# segments with the current tiles; (4) GPU tests after the _step_dt
# refactor; (5) the scan against mamba-ssm, Vim's layout, once built.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205h_h100
mkdir -p $OUT/callT
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz $PWD/.mssm 90 > /tmp/build_mamba_ssm.log 2>&1; echo "build rc=$?" >> /tmp/build_mamba_ssm.log) &
export PYTHONPATH=.:/tmp/site
timeout 150 ncu --clock-control none --section SourceCounters --section WarpStateStats --section SpeedOfLight -k regex:"conv_proj_fwd" --launch-skip 2 -c 2 -o $OUT/callT/conv python3 benchmarks/session_1205c_h200/prof_mixer_b8.py > $OUT/callT/ncu_run.log 2>&1; echo ncu rc=$?
ncu -i $OUT/callT/conv.ncu-rep --page source --csv --print-source sass > $OUT/callT/source.csv 2>&1; echo source rc=$?
ncu -i $OUT/callT/conv.ncu-rep --page details --csv > $OUT/callT/details.csv 2>&1
rm -f $OUT/callT/conv.ncu-rep
for reason in stall_long_sb stall_barrier stall_wait stall_math_pipe_throttle stall_lg_throttle; do
  python3 benchmarks/session_1205f_h100/stalls.py $OUT/callT/source.csv $reason 6
done > $OUT/callT/stalls.log 2>&1
head -40 $OUT/callT/stalls.log
TILES='def,d32t8s8wr168+p16t8+s4+ptd,def,d32t8s32wr168+p16t8+s4+ptd' SHAPES='1248x8,2048x8' timeout 120 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" > $OUT/callT/nseg.log; tail -12 $OUT/callT/nseg.log
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py -k "td_first or pipelined or launchers_equal or matches_fp32_reference" > $OUT/callT/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(FAILED|ERROR)|passed|failed" $OUT/callT/gpu_tests.log | tail -6
wait
head -3 /tmp/build_mamba_ssm.log > $OUT/callT/build_mamba_ssm.log; tail -3 /tmp/build_mamba_ssm.log >> $OUT/callT/build_mamba_ssm.log; tail -2 /tmp/build_mamba_ssm.log
export PYTHONPATH=.:/tmp/site:$PWD/.mssm
timeout 150 python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --layout vim --shapes "Vim-Ti 224² b128" "Vim-Ti 1248² b8" "Vim-Ti 1248² b64" "Vim-Ti 2048² b8" > $OUT/callT/scan_vs_mamba_vim.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callT/scan_vs_mamba_vim.log | tail -20
date -u
