# The two commands of the README, plus the benchmark. Needs only python3 (3.11+), pip and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

# flloat (the LTLf oracle in the tests) depends on lark-parser, which installs into
# the same lark/ folder as the lark that jupyter needs: the last step puts lark back.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps 'lark>=1.2'
	touch $(STAMP)

demo: $(STAMP)  ## run experiments/quickstart.yaml, results in results/quickstart
	$(BIN)/wfsim run experiments/quickstart.yaml --out results/quickstart

test: $(STAMP)  ## the whole test suite, notebooks included
	$(BIN)/python -m pytest

bench: $(STAMP)  ## throughput benchmark against plain SimPy (run by hand)
	$(BIN)/python benchmarks/bench_continuum.py --devices 1000 --json

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
