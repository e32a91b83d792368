# Two commands set up and test the project: `make setup`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is installed first and pinned (tests/test_environment.py keeps environment.yml in step);
# e.g. `make setup TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"` for a CPU-only wheel.
TORCH_PIN := torch==2.13.0
TORCH_PIP_ARGS ?=
PYTEST := MPLBACKEND=Agg EQLIB_QUICK=1 $(BIN)/python -m pytest
NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=600

# Run a pytest command where collecting nothing (exit code 5) is fine: a folder with no
# notebooks or browser tests yet. Any other non-zero exit code fails the target.
define pytest_allow_empty
	rc=0; $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "$(2): pytest collected no tests; nothing to run"; rc=0; fi; \
	exit $$rc
endef

.PHONY: setup test test-unit test-notebooks test-e2e lab figures benchmarks clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(TORCH_PIN) $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install -e '.[dev]'

# Unit tests, then every notebook under nbval in quick mode, then the browser tests.
test: test-unit test-notebooks test-e2e

test-unit:
	$(PYTEST) tests -q --ignore=tests/e2e

test-notebooks:
	@if [ -d notebooks ]; then \
	  $(call pytest_allow_empty,$(PYTEST) $(NBVAL_ARGS) notebooks -q,test-notebooks); \
	else echo "test-notebooks: no notebooks/ folder; nothing to run"; fi

# The browser tests skip, with the reason shown, where no browser is installed.
test-e2e:
	@if [ -d tests/e2e ]; then \
	  $(call pytest_allow_empty,$(PYTEST) tests/e2e -q -rs,test-e2e); \
	else echo "test-e2e: no tests/e2e folder; nothing to run"; fi

lab:
	$(BIN)/jupyter lab notebooks

figures:
	EQLIB_QUICK=0 MPLBACKEND=Agg $(BIN)/python -m eqlib.figures

benchmarks:
	@set -e; for script in benchmarks/bench_*.py; do \
	  [ -e "$$script" ] || { echo "benchmarks: no benchmarks/bench_*.py scripts"; break; }; \
	  echo "== $$script"; MPLBACKEND=Agg $(BIN)/python "$$script"; \
	done

clean:
	rm -rf $(VENV) build *.egg-info
