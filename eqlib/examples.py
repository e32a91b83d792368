"""Short real example clips shipped with the package (``eqlib/data``), for notebooks, tests and demos.

Nine speech clips (3–4 s; eight from held-out VCTK speakers, one Hi-Fi TTS) and four music excerpts (6 s), mono, 44.1 kHz, original
levels. Sources, licences and changes: ``eqlib/data/ATTRIBUTION.md``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from eqlib.audio import read_audio

DATA_DIR = Path(__file__).resolve().parent / "data"
KINDS = ("speech", "music")


@lru_cache(maxsize=1)
def _manifest() -> dict[str, dict]:
    entries = json.loads((DATA_DIR / "examples.json").read_text())
    return {e["name"]: e for e in entries}


def example_info(name: str) -> dict:
    """Metadata of one example: kind, file, source file in the shared corpus, start and duration (s)."""
    manifest = _manifest()
    if name not in manifest:
        raise KeyError(f"unknown example {name!r}; valid names: {', '.join(manifest)}")
    return dict(manifest[name])


def list_examples(kind: str | None = None) -> list[str]:
    """Names of the shipped examples, all or only ``kind`` (``"speech"`` or ``"music"``)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown example kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return [n for n, e in _manifest().items() if kind is None or e["kind"] == kind]


def example_path(name: str) -> Path:
    """Path of the FLAC file of example ``name``."""
    return DATA_DIR / example_info(name)["file"]


def load_example(name: str) -> tuple[np.ndarray, int]:
    """Example ``name`` as float32 mono ``(time,)`` and its sample rate (Hz, 44100)."""
    audio = read_audio(example_path(name))
    return audio.mono().astype(np.float32), audio.sample_rate
