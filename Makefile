# The two commands of the README. Both set everything up first (idempotent:
# tools/install.sh returns at once when .venv is already complete).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test bench-cpu clean

setup:
	PYTHON=$(PYTHON) MMMAMBA_VENV=$(abspath $(VENV)) bash tools/install.sh

# Main job on the embedded default: ADE20K-format demo data -> train
# UperNet + Vim with tools/train.py -> tools/test.py prints mIoU.
demo: setup
	bash tools/run_demo.sh $(PY)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench-cpu: setup
	$(PY) tools/analysis_tools/benchmark_scan.py --device cpu

clean:
	rm -rf work_dirs data/demo
