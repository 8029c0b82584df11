#!/bin/bash
# Call H: backward prefetch sweep; queued vs sync timing; host overhead; scan table at Vim shapes vs mamba-ssm
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/logs
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/logs/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$\|DEBUG\|_warn_once" $OUT/logs/$name.log | tail -${TAILN:-12}; }
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > /tmp/build.log 2>&1; echo "build rc=$?" >> /tmp/build.log) &
BP=$!
TAILN=80 T 300 sweep_bwd python3 tools/analysis_tools/sweep_scan_configs.py --shapes 'Vim-Ti 1248² b8' 'Vim-Ti 224² b128' --dtypes fp32 bf16 --modes bwd --repeats 20 --top 30 --out $OUT/logs/sweep_bwd.csv
wait $BP; tail -2 /tmp/build.log
export PYTHONPATH=$PYTHONPATH:/tmp/mssm
TAILN=30 T 100 overhead python3 .dev/overhead.py
TAILN=10 T 70 scan_queued python3 tools/analysis_tools/benchmark_scan.py --shapes 'Vim-Ti 1248² b8' 'Vim-Ti 224² b128' --backends triton mamba_ssm --repeats 30 --out $OUT/logs/scan_queued.md
TAILN=10 T 70 scan_sync python3 tools/analysis_tools/benchmark_scan.py --shapes 'Vim-Ti 1248² b8' 'Vim-Ti 224² b128' --backends triton mamba_ssm --repeats 30 --timing sync --out $OUT/logs/scan_sync.md
