#!/usr/bin/env bash
# callC (2026-12-06, fourth part): (1) sweep_conv_bidir.py, the one-launch
# conv + projection kernel's configurations in the model's layouts; (2)
# profile_train_step.py --inference: Vim-Ti's kernel time by kernel at
# 2048² b64 and 1248² b8 with today's tree (eager, bf16).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callC"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 200 python3 benchmarks/session_1206d_h100/sweep_conv_bidir.py \
    > "$D/sweep.log" 2>&1
echo "sweep rc $?"; cat "$D/sweep.log"
for a in "2048 64" "1248 8"; do
    set -- $a
    timeout 120 python3 tools/analysis_tools/profile_train_step.py \
        vim-tiny --inference --batch-size $2 --resolution $1 --warmup 2 \
        --steps 3 --profile-steps 2 --top 14 > "$D/prof_r$1b$2.log" 2>&1
    echo "prof $1 b$2 rc $?"; grep -v Warn "$D/prof_r$1b$2.log" | tail -32
done
