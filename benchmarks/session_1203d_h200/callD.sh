#!/bin/bash
# Call D (the run command, verbatim, on the machine callC left warm): GPU tests of the changed layers and backbone
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite; mkdir -p $OUT/callD; timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_models/test_layers/test_bimamba.py tests/test_models/test_backbones/test_vision_mamba.py tests/test_ops/test_causal_conv1d.py 2>&1 | tail -15 | tee $OUT/callD/gpu_tests.log
