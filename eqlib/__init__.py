"""eqlib: one-shot parametric EQ style transfer (Mimilakis, Bryan & Smaragdis, ICASSP 2020).

    import eqlib
    settings = eqlib.match("input.wav", "reference.wav")   # the 4-band EQ (gain dB, freq Hz, Q per band)
    processed = settings.apply(audio, sample_rate)         # (..., time) float64

The names below are resolved on first use (PEP 562), so ``import eqlib`` and the command line's
``--help`` and ``info`` load neither torch nor scipy. See :mod:`eqlib.api` for the documentation.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "match": "eqlib.api",
    "load_model": "eqlib.api",
    "MODES": "eqlib.api",
    "EQSettings": "eqlib.eq",
    "DEFAULT_EQ": "eqlib.eq",
    "DEFAULT_MODEL": "eqlib.inference",
    "to_parametric_eq": "eqlib.presets",
    "read_settings": "eqlib.presets",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'eqlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
