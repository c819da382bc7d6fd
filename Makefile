# Every target creates what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
CHECKOV_VENV := .venv-checkov

.PHONY: install test lint typecheck unit demo bench package clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo needs the package and moto only: a newcomer's `make demo` does not wait for the
# dev tools. Both stamps share the one .venv, so `make demo` and `make test` work in either
# order (the dev install includes the demo's).
$(DEMO_STAMP): pyproject.toml
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then \
		echo "$(VENV) has the dev install, which includes the demo's"; \
	else \
		[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV); \
		echo "$(BIN)/pip install --quiet -e '.[demo]'"; \
		$(BIN)/pip install --quiet -e '.[demo]'; \
	fi
	touch $@

# checkov pins an older botocore than aiobotocore allows, so it lives in its own venv.
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.2'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(CHECKOV_VENV)/.installed lint typecheck
	CHECKOV=$(abspath $(CHECKOV_VENV))/bin/checkov $(BIN)/pytest -q

demo: $(DEMO_STAMP)
	$(BIN)/ecr-findings demo

# One consumer that owns the account's CreateLogStream quota (the shipped defaults are sized
# for two concurrent consumers); `python -m bench.run --help` for other settings.
BENCH_ARGS ?= --set CREATE_LOG_STREAM_RATE=45
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

package: $(STAMP)
	$(BIN)/python -m infra.package

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
