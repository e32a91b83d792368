# Two commands set up and test the project: `make setup`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is installed first and pinned (tests/test_environment.py keeps environment.yml in step);
# e.g. `make setup TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"` for a CPU-only wheel.
TORCH_PIN := torch==2.13.0
TORCH_PIP_ARGS ?=
PYTEST := MPLBACKEND=Agg EQLIB_MODE=quick EQLIB_QUICK=1 $(BIN)/python -m pytest
NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=600

.PHONY: bench-gpu fuzz setup test test-unit test-notebooks test-e2e lab notebooks data figures figures-check benchmarks clean

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
	$(PYTEST) $(NBVAL_ARGS) notebooks -q

# The browser test skips, with the reason shown, where no browser is installed (never when CI=true).
test-e2e:
	$(PYTEST) tests/e2e -q -rs

# The command line's promise (tests/test_fuzz_cli.py), with ten times the random cases of `make test`, fresh ones
# each run, both channel counts of every container and subtype, and more signals.
fuzz:
	EQLIB_FUZZ=long $(PYTEST) tests/test_fuzz_cli.py tests/test_fuzz_api.py -q

lab:
	$(BIN)/jupyter lab notebooks

# The committed notebooks with their outputs: each run top to bottom in class mode from the shipped weights, audio
# players and widgets replaced by a note; a notebook that fails is left as it was (`NOTEBOOKS=notebooks/03_*.ipynb`
# runs some).
notebooks:
	MPLBACKEND=Agg $(BIN)/python -m eqlib.notebook_build --mode class $(NOTEBOOKS)

# The evaluation corpora into data/corpora, each file from its public source (corpora/*/MANIFEST.tsv), converted
# and verified against corpora/*/CHECKSUMS.tsv; resumable. `make data CORPORA=music` fetches one.
data:
	$(BIN)/python -m eqlib.corpus_fetch $(if $(CORPORA),--corpora $(CORPORA))

# Every file in figures/: make_all, then the slider-panel screenshot from the browser test (skips, with the
# reason, where no Chromium is installed). Needs the corpora (make data); `make figures EXAMPLES=1` builds from
# the small example sets instead, into cache/figures-examples/, every file marked as such (no screenshot). Then the
# README's generated blocks are rewritten from the new files (eqlib.readme_sync).
figures:
	EQLIB_MODE=full EQLIB_QUICK=0 MPLBACKEND=Agg $(BIN)/python -m eqlib.figures $(if $(EXAMPLES),--examples)
	$(if $(EXAMPLES),,EQLIB_MODE=full EQLIB_QUICK=0 EQLIB_SAVE_SCREENSHOT=1 MPLBACKEND=Agg $(BIN)/python -m pytest tests/e2e -q -rs)
	$(if $(EXAMPLES),,$(BIN)/python -m eqlib.readme_sync)

# Regenerate into cache/figures-check/ and compare with figures/: numbers exactly, images within a pixel tolerance.
# Both this and `make figures` cap torch's CPU kernels at AVX2 (eqlib.runtime.pin_cpu_kernels).
figures-check:
	EQLIB_MODE=full EQLIB_QUICK=0 MPLBACKEND=Agg $(BIN)/python -m eqlib.figures_check

# Every benchmark; each one's printout is also kept in benchmarks/results/<name>.txt, which the README's benchmark
# blocks are generated from (eqlib.readme_sync). `make benchmarks BENCH=train` runs bench_train.py alone.
benchmarks:
	@set -e; mkdir -p benchmarks/results; for script in benchmarks/bench_$(or $(BENCH),*).py; do \
	  name=$$(basename "$$script" .py); echo "== $$script"; \
	  MPLBACKEND=Agg $(BIN)/python "$$script" > "benchmarks/results/$$name.txt.new"; \
	  mv "benchmarks/results/$$name.txt.new" "benchmarks/results/$$name.txt"; cat "benchmarks/results/$$name.txt"; \
	done
	$(BIN)/python -m eqlib.readme_sync

# On a machine with a CUDA GPU: training pairs/s at batch 64, 256 and 1024 (bf16), GPU busy share, peak memory.
bench-gpu:
	MPLBACKEND=Agg $(BIN)/python benchmarks/bench_gpu.py

clean:
	rm -rf $(VENV) build *.egg-info
