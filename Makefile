# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Every dependency comes from the pinned lock files in requirements/ and from infra/kafka/pom.xml.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
KAFKA_LIB := infra/kafka/lib
CHROMIUM_ROOT := infra/chromium/root
PROMTOOL_ROOT := infra/promtool/root

.PHONY: demo test lint typecheck schemas kafka-jars chromium promtool lock clean help

help:
	@echo "make demo    - install the runtime and run the main job on the embedded broker"
	@echo "make test    - install runtime+dev+export, fetch the Apache Kafka jars, Chromium and promtool, run lint, types and tests"
	@echo "make lock    - re-resolve requirements/*.lock from pyproject.toml"

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Stamp files record which lock the venv was synced to, so a changed lock re-installs.
$(VENV)/.runtime-installed: requirements/runtime.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/runtime.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(VENV)/.runtime-installed $@

$(KAFKA_LIB)/.complete: infra/kafka/pom.xml
	mvn -q -B -f infra/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime
	touch $@

kafka-jars: $(KAFKA_LIB)/.complete

# Debian's Chromium and the libraries it lacks here, unpacked without root, for the report's
# screenshot test; the versions and checksums are pinned in infra/chromium/packages.lock.
$(CHROMIUM_ROOT)/.complete: infra/chromium/fetch.sh infra/chromium/packages.lock infra/debian/debs.sh
	infra/chromium/fetch.sh

chromium: $(CHROMIUM_ROOT)/.complete

# promtool from Debian's `prometheus` package, unpacked without root, for the alert rules'
# unit tests (infra/prometheus/alerts_test.yml); pinned in infra/promtool/packages.lock.
$(PROMTOOL_ROOT)/.complete: infra/promtool/fetch.sh infra/promtool/packages.lock infra/debian/debs.sh
	infra/promtool/fetch.sh

promtool: $(PROMTOOL_ROOT)/.complete

demo: $(VENV)/.runtime-installed
	$(BIN)/engage-stream demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check engage_stream tests
	$(BIN)/ruff format --check engage_stream tests
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

test: $(VENV)/.dev-installed $(KAFKA_LIB)/.complete $(CHROMIUM_ROOT)/.complete $(PROMTOOL_ROOT)/.complete lint typecheck
	$(BIN)/pytest -q -ra

schemas: $(VENV)/.runtime-installed
	$(BIN)/engage-stream schemas export

# The runtime lock is resolved inside the dev lock, so demo and test environments agree.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --extra dev --extra export -q -o requirements/dev.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -c requirements/dev.lock -q -o requirements/runtime.lock

clean:
	rm -rf $(VENV) $(KAFKA_LIB) $(CHROMIUM_ROOT) infra/chromium/root.partial infra/chromium/debs $(PROMTOOL_ROOT) infra/promtool/root.partial infra/promtool/debs .pytest_cache .mypy_cache .ruff_cache
