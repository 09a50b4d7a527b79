# The commands of the README (demo; lint, typecheck and test, as CI runs them), plus the
# benchmark. Needs only python3 (3.11+), pip and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench screenshots clean

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

test: $(STAMP)  ## the whole test suite, notebooks and docstring examples included, on every core
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)  ## ruff over the package, the tests and the benchmarks (rules in pyproject.toml)
	$(BIN)/ruff check wfsim tests benchmarks

typecheck: $(STAMP)  ## mypy over the package (settings in pyproject.toml)
	$(BIN)/mypy wfsim

bench: $(STAMP)  ## throughput benchmark against plain SimPy (run by hand)
	$(BIN)/python benchmarks/bench_continuum.py --devices 1000 --json

screenshots: $(STAMP)  ## the browser test alone, keeping its screenshots of the views in docs/screenshots
	WFSIM_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/browser/test_jupyterlab.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis .mypy_cache .ruff_cache
