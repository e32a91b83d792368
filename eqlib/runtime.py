"""Run-time switches shared by notebooks, scripts and tests: quick mode, paths, seeds."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

QUICK_ENV = "EQLIB_QUICK"


def is_quick() -> bool:
    """True when ``EQLIB_QUICK`` is set to a true value: small data and few steps (CI, nbval)."""
    return os.environ.get(QUICK_ENV, "0").strip().lower() not in ("", "0", "false", "no")


def repo_root() -> Path:
    """The repository checkout this package lives in (parent of ``eqlib/``)."""
    return Path(__file__).resolve().parent.parent


def figures_dir() -> Path:
    """Where figures and tables are written (created on demand): ``figures/`` at the repository root,
    or ``cache/figures-quick/`` in quick mode so that tests and CI never overwrite committed figures."""
    path = repo_root() / "cache" / "figures-quick" if is_quick() else repo_root() / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_corpora_dir() -> Path | None:
    """``../shared/corpora`` beside the checkout (or ``$EQLIB_CORPORA``) if present, else ``None``."""
    candidates = [os.environ.get("EQLIB_CORPORA"), repo_root().parent / "shared" / "corpora"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return None


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
