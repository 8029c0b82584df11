#!/usr/bin/env bash
# Copyright (c) mmmamba contributors. All rights reserved.
# Distributed training with torchrun, one process per GPU.
#
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
#
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun, e.g. on
# each of 2 nodes: NNODES=2 NODE_RANK=<0|1> MASTER_ADDR=<node0> bash
# tools/dist_train.sh CONFIG 8. PYTHON selects the interpreter (default:
# python). On a machine without CUDA the processes use the gloo backend.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
