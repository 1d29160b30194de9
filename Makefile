# One command to run, one to test.  Both create .venv from pyproject.toml when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 0.0.0.0
PORT ?= 5000
DATA ?= data

.PHONY: run test lint types unit bench clean setup browser balancer

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/motcua demo --config config.yaml --data-dir $(DATA) --host $(HOST) --port $(PORT)

browser:
	@bash scripts/ensure-chromium.sh

balancer:
	@bash scripts/ensure-haproxy.sh

lint: $(STAMP)
	$(BIN)/ruff check server kiosk display tests benchmarks
	$(BIN)/ruff format --check server kiosk display tests benchmarks

types: $(STAMP)
	$(BIN)/mypy server kiosk display

unit: $(STAMP) browser balancer
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -n "$$MOTCUA_TEST_DATABASE_URL" ]; then \
	  echo "== the suite again on PostgreSQL ($$MOTCUA_TEST_DATABASE_URL) and Redis"; \
	  MOTCUA_TEST_ENGINE=postgresql $(BIN)/python -m pytest -q -p no:cacheprovider \
	    -m "not sqlite_only"; \
	fi

test: lint types unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
