"""Run-time switches shared by notebooks, scripts and tests: the run mode, paths, seeds.

Three modes size every notebook and ``make figures`` without changing their code path:

- ``quick``: seconds per notebook, small data and few steps (CI, nbval; ``EQLIB_QUICK=1`` also selects it);
- ``class``: a lecture's pace, minutes per notebook on a 2-core CPU (notebook 03 trains long enough to show a
  real learning curve); the mode ``make notebooks`` runs;
- ``full``: the real thing (full evaluation sets, full training), the default.

``EQLIB_MODE=quick|class|full`` chooses; when it is unset, ``EQLIB_QUICK`` decides between quick and full.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

# Caps on the CPU kernels torch picks (environment variable → value), read when the first operation or oneDNN
# kernel runs, not when torch is imported: AVX2, the widest instruction set that current x86-64 CPUs share.
KERNEL_CAPS = {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2"}
QUICK_ENV = "EQLIB_QUICK"
MODE_ENV = "EQLIB_MODE"
MODES = ("quick", "class", "full")
MODE_PURPOSE = {"quick": "seconds per notebook, small data and few steps (CI)",
                "class": "minutes per notebook on a 2-core CPU",
                "full": "full evaluation sets and full training"}
T = TypeVar("T")


def mode() -> str:
    """The run mode, one of ``MODES``: ``$EQLIB_MODE`` if set, else ``quick`` when ``EQLIB_QUICK`` is true, else ``full``.

    Raises ``ValueError`` naming the valid modes when ``EQLIB_MODE`` holds anything else.
    """
    chosen = os.environ.get(MODE_ENV, "").strip().lower()
    if chosen:
        if chosen not in MODES:
            raise ValueError(f"{MODE_ENV}={chosen!r} is not a mode; use one of {', '.join(MODES)}")
        return chosen
    quick = os.environ.get(QUICK_ENV, "0").strip().lower() not in ("", "0", "false", "no")
    return "quick" if quick else "full"


def is_quick() -> bool:
    """True in quick mode: small data and few steps (CI, nbval)."""
    return mode() == "quick"


def by_mode(quick: T, class_: T, full: T) -> T:
    """The value for the current :func:`mode`, e.g. ``by_mode(quick=6, class_=20, full=50)`` pairs to check."""
    return {"quick": quick, "class": class_, "full": full}[mode()]


def mode_note() -> str:
    """One line for the top of a notebook's output: the mode it ran in, what that means, how to change it."""
    return (f"mode: {mode()} ({MODE_PURPOSE[mode()]}); set {MODE_ENV}=quick|class|full before starting "
            f"Jupyter to change it")


def repo_root() -> Path:
    """The repository checkout this package lives in (parent of ``eqlib/``)."""
    return Path(__file__).resolve().parent.parent


def figures_dir() -> Path:
    """Where figures and tables are written (created on demand): ``figures/`` at the repository root in full
    mode, else ``cache/figures-<mode>/``, so that tests, CI and classes never overwrite committed figures."""
    path = repo_root() / "figures" if mode() == "full" else repo_root() / "cache" / f"figures-{mode()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_corpora_dir() -> Path | None:
    """The folder of evaluation corpora, else ``None``: ``$EQLIB_CORPORA``, then ``data/corpora`` (``make data``),
    then ``../shared/corpora`` (decided in one place, :func:`eqlib.corpora.locate_corpora`)."""
    from eqlib.corpora import locate_corpora  # eqlib.corpora imports this module

    location = locate_corpora()
    return None if location is None else location.path


def pin_cpu_kernels() -> dict[str, str]:
    """Cap torch's CPU kernels (its own and oneDNN's) at AVX2 for this process, each cap unless the caller's
    environment already sets it (``KERNEL_CAPS``); return the caps in force. Call it before the first model runs:
    the entry points that write committed numbers do (``eqlib.figures``, ``eqlib.figures_check``,
    ``eqlib.evaluate``, ``eqlib.notebook_build``); ``eqlib match`` does not.

    Kernels of another width round differently, and a knob fit magnifies that: left to choose on an AVX-512 CPU,
    the README's ``eqlib match`` example prints a low shelf at 155 Hz instead of the 154 it prints with the caps.
    MKL's own choice of kernels (by CPU maker) is not capped: ``MKL_CBWR=COMPATIBLE`` would fix it across makers,
    but it changes the numbers on this project's machines too (the same example's second bell: 6749 Hz instead of
    6748) and slows every matrix product, so ``results.md`` names the CPU it was computed on instead
    (:func:`eqlib.provenance.computed_with`).
    """
    return {name: os.environ.setdefault(name, value) for name, value in KERNEL_CAPS.items()}


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator seeded alike for explicit use."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, then restore the previous count.

    For many small tensors (the spectral fit, batch-1 inference) waking the thread pool costs more than
    the work: on 2 busy cores a float64 ``log10`` of 9,120 elements took 7.8 ms with 2 threads, 0.02 ms
    with one, and one ``proposed_db`` prediction 100 ms against 12 ms.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
