# Two commands: `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-postgres lint unit system-packages venv clean bench reliability

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The planner's hot modules compiled with mypyc (scripts/compile_scheduler.py;
# discflow.scheduler._accel runs the source instead when the build is stale).
COMPILED := src/discflow/scheduler/_compiled.json
$(COMPILED): $(STAMP) $(wildcard src/discflow/scheduler/*.py) scripts/compile_scheduler.py
	$(BIN)/python scripts/compile_scheduler.py

venv: $(STAMP) $(COMPILED)

system-packages:
	@bash scripts/ensure-system-packages.sh

demo: venv
	$(BIN)/discflow demo

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src
	$(BIN)/bandit -q -c pyproject.toml -r src
	$(BIN)/python scripts/audit_dependencies.py

unit: venv
	$(BIN)/pytest -q

PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

# The whole suite twice: on the embedded SQLite, then on PostgreSQL.
test: system-packages lint
	$(BIN)/pytest -q
	@bash scripts/ensure-postgres.sh
	DISCFLOW_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

test-postgres: venv
	@bash scripts/ensure-postgres.sh
	DISCFLOW_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

# the full fault campaign (2,000 requests, about 11 minutes here); `make test` runs a 200-request one
reliability: venv
	$(BIN)/python -m tests.reliability.campaign --requests $${REQUESTS:-2000} --seed $${SEED:-1}

bench: venv
	$(BIN)/python bench/scheduler.py

clean:
	rm -rf $(VENV) discflow-data .pytest_cache .mypy_cache .ruff_cache
	rm -f src/*__mypyc*.so src/discflow/scheduler/*.so $(COMPILED)
