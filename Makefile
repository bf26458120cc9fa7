# Two commands set everything up on a fresh machine: `make run` and `make test`.
# uv is bootstrapped into .tools/ from PyPI; the environment (.venv) follows uv.lock exactly.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib

.PHONY: run test lint bench env env-dev clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

env: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet

env-dev: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --extra dev --quiet

# The main job on embedded defaults: check the law data, decide the bundled example cases, then
# serve the workspace on the SQLite file safethird.db with a demo login and the examples as cases
# (the facts key of the demo is kept in .cache/demo-fact-keys unless SAFETHIRD_FACT_KEYS is set).
run: export SAFETHIRD_FACT_KEYS_FILE ?= $(CURDIR)/.cache/demo-fact-keys
run: env
	$(BIN)/safethird law check
	@for case in examples/*.json; do \
	  echo; echo "════ $$case"; $(BIN)/safethird decide "$$case" || exit $$?; \
	done
	@mkdir -p .cache
	@test -n "$$SAFETHIRD_FACT_KEYS" || test -s "$$SAFETHIRD_FACT_KEYS_FILE" || \
	  (umask 077; $(BIN)/safethird store new-key > "$$SAFETHIRD_FACT_KEYS_FILE")
	$(BIN)/safethird store seed-demo
	$(BIN)/safethird serve

test: env-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: env-dev
	$(BIN)/ruff check src tests benchmarks

bench: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --extra dev --extra bench --quiet
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(TOOLS) $(VENV) .cache .pytest_cache
