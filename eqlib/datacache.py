"""Training banks built once: the synthesised and loaded excerpts' bank rows, cached on disk.

Synthesising a training run's excerpts takes minutes; their bank rows (``eqlib.pairs.SpectrogramBank``)
are stored in ``cache/data/`` under a key made of everything they depend on: the data source and its
sizes, split and seed, the analysis settings that shape the rows, the source code of every module that
makes the audio, and the list (names and sizes) of the corpus files read. Change any of these and the
key changes, so a stale bank is never used; the folder is outside git and safe to delete.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from eqlib.checkpoint import write_atomic
from eqlib.runtime import repo_root

log = logging.getLogger(__name__)

CACHE_FORMAT = "eqlib.datacache/1"


def cache_dir() -> Path:
    """``cache/data`` in the checkout (created on demand)."""
    path = repo_root() / "cache" / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def code_digest(modules: Sequence[str]) -> str:
    """SHA-256 over the source files of the named ``eqlib`` modules that exist in this checkout."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in modules:
        path = package / f"{name}.py"
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def files_listing(roots: Sequence[Path]) -> list[tuple[str, int]]:
    """``(relative path, size in bytes)`` of every WAV/FLAC file below ``roots`` (sorted)."""
    return sorted((str(p.relative_to(root.parent)), p.stat().st_size) for root in roots if root.is_dir()
                  for p in root.rglob("*") if p.suffix.lower() in (".wav", ".flac"))


def cache_path(name: str, key: dict) -> Path:
    """``cache/data/<name>-<hash of key>.pt``."""
    text = json.dumps({"format": CACHE_FORMAT, **key}, sort_keys=True, default=str)
    return cache_dir() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.pt"


def load_or_build(name: str, key: dict, build: Callable[[], dict]) -> dict:
    """The cached ``dict`` of tensors and lists for ``key``, or ``build()``'s, then cached (atomically).

    A file that fails to load (truncated, foreign) is rebuilt and replaced. Loading uses ``weights_only=True``.
    """
    path = cache_path(name, key)
    if path.is_file():
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(payload, dict) and payload.get("key") == json.loads(json.dumps(key, default=str)):
                log.info("loaded %s from %s", name, path)
                return payload["data"]
        except Exception as err:  # noqa: BLE001 - any unreadable cache file is rebuilt
            log.warning("rebuilding %s: %s is unreadable (%s)", name, path, type(err).__name__)
    data = build()
    write_atomic(path, {"key": json.loads(json.dumps(key, default=str)), "data": data})
    return data
