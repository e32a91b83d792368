# Two commands set up and test the project: `make setup`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export EQLIB_QUICK ?= 1

.PHONY: setup test test-unit test-notebooks test-e2e lab figures train benchmarks clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'

test: test-unit test-notebooks

test-unit:
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -x -q --ignore=tests/e2e

test-notebooks:
	MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax notebooks -q

test-e2e:
	$(BIN)/python -m pytest tests/e2e -q

lab:
	$(BIN)/jupyter lab notebooks

figures:
	EQLIB_QUICK=0 MPLBACKEND=Agg $(BIN)/python -m eqlib.figures

clean:
	rm -rf $(VENV) build *.egg-info
