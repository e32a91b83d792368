"""The one place that decides where the evaluation corpora come from, and what they were.

Evaluation (:mod:`eqlib.evalsets`), training (:mod:`eqlib.sources`) and figures (:mod:`eqlib.figures`) all ask
:func:`locate_corpora` (through :func:`eqlib.runtime.shared_corpora_dir`). It takes the first of:

1. ``$EQLIB_CORPORA`` — an explicit folder wins as it is (``EQLIB_CORPORA=none`` means "no corpora": the small
   example sets in ``eqlib/data``);
2. ``data/corpora`` in the checkout — what ``make data`` fetched, once it holds every corpus of ``CORPORA``;
3. ``../shared/corpora`` beside the checkout, when it holds every corpus of ``CORPORA``.

A fetched corpus appears in ``data/corpora`` only when all its files are converted and verified (it is built in a
hidden folder and renamed), so a half-finished ``make data`` is never picked up. The folder layout is that of
``../shared/corpora``: ``<corpus>/MANIFEST.tsv``, ``<corpus>/README.md`` and the audio under ``<corpus>/``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from eqlib.runtime import repo_root

log = logging.getLogger(__name__)

CORPORA_ENV = "EQLIB_CORPORA"
NO_CORPORA = "none"  # EQLIB_CORPORA=none: use no corpora (the example sets)
CORPORA = ("real-speech", "music", "speech-other-chains")  # what `make data` fetches
FETCH_COMMAND = "make data"


class CorporaMissingError(RuntimeError):
    """The evaluation corpora are needed and not here; the message says where it looked and how to fetch them."""


@dataclass(frozen=True)
class CorporaLocation:
    """A folder of corpora and why it was chosen (``origin``: ``$EQLIB_CORPORA``, ``make data`` or ``shared``)."""

    path: Path
    origin: str

    def corpora(self) -> list[str]:
        """Names of the corpora in this folder (sub-folders with a ``MANIFEST.tsv``), sorted."""
        return sorted(p.parent.name for p in self.path.glob("*/MANIFEST.tsv"))


def fetched_dir() -> Path:
    """Where ``make data`` puts the corpora: ``data/corpora`` in the checkout (ignored by git)."""
    return repo_root() / "data" / "corpora"


def shared_dir() -> Path:
    """``../shared/corpora`` beside the checkout (the project's shared, read-only copy)."""
    return repo_root().parent / "shared" / "corpora"


def missing_corpora(folder: Path) -> list[str]:
    """The corpora of ``CORPORA`` that ``folder`` lacks (a corpus counts when its ``MANIFEST.tsv`` is there)."""
    return [name for name in CORPORA if not (folder / name / "MANIFEST.tsv").is_file()]


def locate_corpora() -> CorporaLocation | None:
    """The folder the corpora come from (see the module docstring for the order), or ``None``."""
    explicit = os.environ.get(CORPORA_ENV, "").strip()
    if explicit.lower() == NO_CORPORA:
        return None
    if explicit:
        if Path(explicit).is_dir():
            return CorporaLocation(Path(explicit), f"${CORPORA_ENV}")
        _warn_not_a_folder(explicit)
    for path, origin in ((fetched_dir(), FETCH_COMMAND), (shared_dir(), "shared")):
        if path.is_dir() and not missing_corpora(path):
            return CorporaLocation(path, origin)
    return None


@lru_cache(maxsize=None)
def _warn_not_a_folder(value: str) -> None:
    """Say once per value that ``$EQLIB_CORPORA`` names no folder (the search goes on without it)."""
    log.warning("$%s=%s is not a folder; looking in data/corpora and ../shared/corpora", CORPORA_ENV, value)


def missing_reason() -> str:
    """One line: why no corpora were found, and the commands that fetch them or build from the examples."""
    explicit = os.environ.get(CORPORA_ENV, "").strip()
    if explicit.lower() == NO_CORPORA:
        return f"${CORPORA_ENV}={explicit} asks for no corpora (unset it; `{FETCH_COMMAND}` fetches them)"
    looked = [f"${CORPORA_ENV} is {'not a folder' if explicit else 'unset'}"]
    for path, name in ((fetched_dir(), "data/corpora"), (shared_dir(), "../shared/corpora")):
        missing = missing_corpora(path) if path.is_dir() else list(CORPORA)
        looked.append(f"{name} lacks {', '.join(missing)}" if path.is_dir() else f"no {name}")
    return "the evaluation corpora are not here (" + "; ".join(looked) + f"): fetch them with `{FETCH_COMMAND}`"


def require_corpora() -> CorporaLocation:
    """:func:`locate_corpora`, or :class:`CorporaMissingError` with :func:`missing_reason`."""
    location = locate_corpora()
    if location is None:
        raise CorporaMissingError(missing_reason())
    return location


@contextmanager
def no_corpora() -> Iterator[None]:
    """Inside the block :func:`locate_corpora` finds nothing (``EQLIB_CORPORA=none``): the example sets are used."""
    before = os.environ.get(CORPORA_ENV)
    os.environ[CORPORA_ENV] = NO_CORPORA
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CORPORA_ENV, None)
        else:
            os.environ[CORPORA_ENV] = before


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1-MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digests(location: CorporaLocation) -> dict[str, str]:
    """Corpus name → SHA-256 (hex) of its ``MANIFEST.tsv``, for every corpus in ``location``."""
    return {name: file_sha256(location.path / name / "MANIFEST.tsv") for name in location.corpora()}
