# Two commands: `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint unit system-packages venv clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-packages:
	@bash scripts/ensure-system-packages.sh

demo: venv
	$(BIN)/discflow demo

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy --strict src

unit: venv
	$(BIN)/pytest -q

test: system-packages lint
	$(BIN)/pytest -q

bench: venv
	$(BIN)/python bench/scheduler.py

clean:
	rm -rf $(VENV) discflow-data .pytest_cache .mypy_cache .ruff_cache
