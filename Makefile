# Two commands for a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test test-extended lint typecheck unit sysdeps wheel bench clean airflow-venv test-airflow flower-venv jars executor-env contract
JARS := jars
JARS_STAMP := $(JARS)/.verified

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, one pinned version: pip takes a local CPU wheel where the machine has one (PIP_FIND_LINKS),
	# otherwise the registry's build (CUDA libraries, ~4 GB; it runs on the CPU). Then nothing else moves it.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	# MovieLens 100K (GroupLens) ships inside the RecBole wheel; only its data files are read, so none of
	# RecBole's own dependencies are installed.
	$(BIN)/pip install -q --no-deps recbole==1.2.1
	touch $(STAMP)

install: $(STAMP)

# JVM jars for classic Spark and clusters (delta-spark, delta-storage, hadoop-aws, AWS SDK bundle), pinned in
# infra/jars/pom.xml, resolved from Maven Central at install time into jars/ and checked against jars.sha256.
$(JARS_STAMP): infra/jars/pom.xml infra/jars/jars.sha256 | sysdeps
	mvn -q -B -f infra/jars/pom.xml dependency:copy-dependencies -DexcludeTransitive=true \
	  -DoutputDirectory=$(CURDIR)/$(JARS)
	cd $(JARS) && sha256sum --quiet -c ../infra/jars/jars.sha256
	touch $(JARS_STAMP)

jars: $(JARS_STAMP)

# The Python environment shipped to cluster executors with --archives (build/executor-env.tar.gz).
executor-env: install
	$(BIN)/python -m socialflywheel.cluster.pack --out build/executor-env.tar.gz

# System packages the suites need: Java 17 for the compat and cluster suites (classic Spark), Maven for jars.
sysdeps:
	@command -v java >/dev/null 2>&1 || { echo "installing Java 17 (compat suite)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	  || echo "could not install Java 17: the compat suite will fail under CI=true"; }
	@command -v mvn >/dev/null 2>&1 || { echo "installing Maven (make jars)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null) \
	  || echo "could not install Maven: make jars will fail"; }
	@bash scripts/install_chromium.sh || echo "could not install Chromium: the browser test fails under CI=true"

demo: install
	$(BIN)/flywheel demo

lint: install
	$(BIN)/ruff check lib jobs tests bench infra
	$(BIN)/ruff format --check lib jobs tests bench infra

typecheck: install
	$(BIN)/mypy

# `extended` tests (heavier variants of behaviours the rest already cover) run in `make test-extended`.
unit: install sysdeps jars executor-env
	$(BIN)/pytest -q -m "not extended" --durations=40

test-extended: install sysdeps jars executor-env
	$(BIN)/pytest -q -m extended --durations=40

test: install sysdeps lint typecheck unit

# Airflow lives in its own virtual environment (.venv-airflow); the airflow tests create it when missing.
airflow-venv:
	scripts/airflow_venv.sh

test-airflow: install airflow-venv
	$(BIN)/pytest -q -m airflow tests/infra

# Flower lives in its own virtual environment (.venv-flower); the federated tests create it when missing.
flower-venv:
	scripts/flower_venv.sh

# The landing contract's JSON Schema is generated from socialflywheel/config/contract.py; never edit it by hand
# (tests/test_config_contract.py fails when the shipped file differs from the generator's output).
contract: install
	$(BIN)/python -m socialflywheel.config.contract --write

wheel: install
	$(BIN)/pip wheel --no-deps -w dist .

bench: install
	$(BIN)/python bench/bench_foundation.py

clean:
	rm -rf work .pytest_cache .mypy_cache .ruff_cache dist build jars

# RAPIDS qualification tool: the tools jar bundled in the spark-rapids-user-tools wheel and the Spark 3.5
# jars it needs (pyspark 3.5 sdist), hash-pinned pip downloads; nothing is fetched when it runs.
RAPIDS_TOOLS := build/rapids-tools
RAPIDS_TOOLS_STAMP := $(RAPIDS_TOOLS)/.installed
EVENTLOGS ?= /tmp/eventlogs/eventlog_v2_app-20261201123812-0001

$(RAPIDS_TOOLS_STAMP): scripts/rapids_qualification.py
	$(PY) scripts/rapids_qualification.py --install $(RAPIDS_TOOLS)

rapids-tools: $(RAPIDS_TOOLS_STAMP)

# Predicted GPU coverage of a feature job's event log -> infra/spark/qualification/ (needs Java 17). The cluster
# suite keeps its event logs; point EVENTLOGS at the features application's folder.
rapids-qualification: $(RAPIDS_TOOLS_STAMP) sysdeps
	$(PY) scripts/rapids_qualification.py --tools-dir $(RAPIDS_TOOLS) --out infra/spark/qualification $(EVENTLOGS)

.PHONY: rapids-tools rapids-qualification
