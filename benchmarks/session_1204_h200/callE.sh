#!/bin/bash
# Call E (on callD's still-warm machine, mamba-ssm already built in /tmp/mssm): the mixer benchmark's two host-bound shapes again, twice, 50 repeats
mkdir -p $OUT/callE; ls /tmp/mssm >/dev/null 2>&1 && echo mssm-present; export PYTHONPATH=.:/tmp/site:/tmp/mssm; uptime; for i in 1 2; do timeout 100 python3 tools/analysis_tools/benchmark_vim_mixer.py --paths fused "mamba_ssm x2" --dtypes bf16 --shapes "Vim-Ti 1248² b8" "Vim-Ti 224² b128" --repeats 50 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callE/mixer_vs_mamba_rerun.log; done
