# Sourced by the device call scripts (benchmarks/session_*/call*.sh), from
# the repository root on the device machine: installs the pure-Python
# wheels the machine lacks (carried in .whl/) into /tmp/site, puts them
# and the checkout on PYTHONPATH, makes the call's log folder $OUT/$1 (as
# $D) and starts its env.txt (date, GPU, torch and Triton versions).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/$1"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
