# Two commands: `make run` (set up, then run the main job: `wattwise audit` of the built-in
# workload, report in wattwise-audit.html) and `make test` (set up, then test).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.wattwise-installed

.PHONY: run test test-slow lint setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: its CPU build; an open range could pull a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,optimize,progress,hf,trl,lightning,mlflow,prometheus,disclose,schedule,server,postgres,serving]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/wattwise audit --out wattwise-audit.html

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

# the load tests and long sweeps kept out of the default suite (marked `slow`)
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
