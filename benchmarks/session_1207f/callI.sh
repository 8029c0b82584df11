#!/usr/bin/env bash
# callI (2026-12-07, sixth part): the one-launch conv kernel's row groups
# of 8 (BIDIR_CONFIG, adopted after callG): its GPU tests (one launch
# against two, row groups and prefetch bit for bit, BiMamba's one-launch
# core against the training path, Vim's inference paths), then Vim-Ti's
# kernel time by kernel at 2048² b64 (profile_train_step.py --inference).
set -uo pipefail
. benchmarks/device_preamble.sh callI
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 150 \
    -rfEs --durations=8 tests/test_ops/test_conv_proj.py \
    tests/test_models/test_layers/test_bimamba.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'bidir_launcher or row_group_and_prefetch or one_launch or inference or matches_cpu' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 150 python3 tools/analysis_tools/profile_train_step.py --inference \
    vim-tiny --batch-size 64 --resolution 2048 --top 24 \
    > "$D/prof_2048_b64.log" 2>&1
echo "prof rc $?"; tail -45 "$D/prof_2048_b64.log"
date -u >> "$D/env.txt"
