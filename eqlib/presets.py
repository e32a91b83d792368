"""EQ settings in other tools' formats: ParametricEQ.txt presets both ways, pedalboard code, settings files.

ParametricEQ.txt is the text AutoEq writes and EqualizerAPO (Windows), PipeWire's parametric-equalizer
module (Linux) and Squiglink read::

    Preamp: -6.4 dB
    Filter 1: ON LSC Fc 97.3 Hz Gain 1.23 dB Q 0.832
    Filter 2: ON PK Fc 263.0 Hz Gain -0.80 dB Q 1.600
    Filter 3: ON PK Fc 4275.0 Hz Gain 5.70 dB Q 1.910
    Filter 4: ON HSC Fc 4194.0 Hz Gain 4.30 dB Q 0.970

``LSC``/``HSC`` are shelves given by their Q and ``PK`` a peak; both readers build RBJ Audio EQ Cookbook
biquads from Fc, Gain and Q, with shelf ``alpha = sin(w0) / (2 Q)`` and Fc the cookbook's f0 (EqualizerAPO
``filters/BiQuad.cpp`` on the Q path, which ``LSC``/``HSC`` take; PipeWire ``biquad.c``), which is what
:mod:`eqlib.biquad` computes. ``Preamp`` keeps the cascade's peak gain at or below 0 dB. Number formats
fit both parsers: PipeWire reads at most 8 characters of Fc and 6 of Gain, Q and Preamp; EqualizerAPO
reads an Fc with a point three places from its end as a thousands separator (REW's), so Fc has one decimal.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from eqlib.eq import DEFAULT_EQ, EQSettings, EQSpec, read_settings_text
from eqlib.errors import EqlibError

PRESET_TYPES = {"low_shelf": "LSC", "peak": "PK", "high_shelf": "HSC"}
PREAMP_RATES_HZ = (44100, 48000, 96000)  # the peak gain is taken at the rates a player most often runs at
PREAMP_GRID_POINTS = 4000
PREAMP_RANGE_DB = (-60.0, 60.0)  # a preset's Preamp eqlib applies: four bands of at most 15 dB move no more
PREAMP_LINE = re.compile(r"^Preamp:\s*(?P<gain>\S+)\s*dB\s*$", re.IGNORECASE)
NUMBER = r"[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?|[-+]?(?:nan|inf)"
FILTER_LINE = re.compile(rf"^Filter\s*\d*:\s*(?P<state>ON|OFF)\s+(?P<type>[A-Za-z]+)\s+Fc\s+(?P<freq>{NUMBER})\s*Hz"
                         rf"\s+Gain\s+(?P<gain>{NUMBER})\s*dB\s+Q\s+(?P<q>{NUMBER})\s*$", re.IGNORECASE)


def peak_gain_db(settings: EQSettings) -> float:
    """Largest gain (dB) of the cascade from 10 Hz to 0.49 x the rate, at any of ``PREAMP_RATES_HZ``."""
    peaks = []
    for rate in PREAMP_RATES_HZ:
        freqs = np.geomspace(10.0, 0.49 * rate, PREAMP_GRID_POINTS)
        peaks.append(float(np.max(settings.response_db(freqs, rate))))
    return max(peaks)


def preamp_db(settings: EQSettings) -> float:
    """The gain (dB, ≤ 0, a multiple of 0.1) that brings the cascade's peak gain to 0 dB or just below."""
    tenths = round(max(0.0, peak_gain_db(settings)) * 10, 6)  # rounded first: float noise is no gain
    return -math.ceil(tenths) / 10 + 0.0  # + 0.0: never "-0.0"


def to_parametric_eq(settings: EQSettings) -> str:
    """``settings`` as ParametricEQ.txt text (see the module docstring), ending in a newline."""
    lines = [f"Preamp: {preamp_db(settings):.1f} dB"]
    for i, (band, (gain, freq, q)) in enumerate(zip(settings.spec.bands, settings.params), start=1):
        lines.append(f"Filter {i}: ON {PRESET_TYPES[band.kind]} Fc {freq:.1f} Hz Gain {gain + 0.0:.2f} dB Q {q:.3f}")
    return "\n".join(lines) + "\n"


def parse_parametric_eq(text: str, spec: EQSpec = DEFAULT_EQ) -> tuple[EQSettings, float]:
    """Read ParametricEQ.txt text into ``(settings, preamp in dB)``.

    The ``ON`` filters must be the 4-band EQ's: one ``LSC``, two ``PK`` (mid 1, then mid 2, in file order)
    and one ``HSC``, each within its range; ``#`` comments, blank and ``OFF`` lines are skipped. Raises
    ``ValueError`` naming the first line or knob that does not fit.
    """
    preamp = 0.0
    filters: dict[str, list[tuple[float, float, float]]] = {t: [] for t in PRESET_TYPES.values()}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if (m := PREAMP_LINE.match(line)) is not None:
            preamp = _number(m["gain"], number)
            if not PREAMP_RANGE_DB[0] <= preamp <= PREAMP_RANGE_DB[1]:
                raise ValueError(f"line {number}: Preamp {preamp:g} dB is outside [{PREAMP_RANGE_DB[0]:g}, "
                                 f"{PREAMP_RANGE_DB[1]:g}] dB")
            continue
        m = FILTER_LINE.match(line)
        if m is None:
            raise ValueError(f"line {number}: {_short(line)} is neither a Preamp nor a 'Filter N: ON TYPE Fc .. Hz Gain "
                             ".. dB Q ..' line")
        if m["state"].upper() == "OFF":
            continue
        kind = m["type"].upper()
        if kind not in filters:
            raise ValueError(f"line {number}: filter type {m['type']} is not one of LSC, PK, HSC (the 4-band EQ)")
        filters[kind].append((_number(m["gain"], number), _number(m["freq"], number), _number(m["q"], number)))
    found = {t: len(v) for t, v in filters.items()}
    wanted = {t: sum(PRESET_TYPES[b.kind] == t for b in spec.bands) for t in filters}
    if found != wanted:
        raise ValueError("the ON filters must be " + ", ".join(f"{n} {t}" for t, n in wanted.items())
                         + " (the 4-band EQ); found " + ", ".join(f"{n} {t}" for t, n in found.items()))
    rows = [filters[PRESET_TYPES[band.kind]].pop(0) for band in spec.bands]
    return EQSettings(np.array(rows), spec), preamp


def _short(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut to about ``limit`` characters (a hostile line may be megabytes long)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _number(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"line {line}: {_short(text)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"line {line}: {text!r} is not a finite number")
    return value


def read_settings(path: str | Path, spec: EQSpec = DEFAULT_EQ) -> tuple[EQSettings, float]:
    """``(settings, preamp in dB)`` from an eqlib settings JSON (preamp 0) or a ParametricEQ.txt file, told
    apart by content. Raises :class:`eqlib.errors.EqlibError`: kind ``missing`` if absent, ``settings`` if
    unreadable, neither format, or out of range; the message names the file."""
    text = read_settings_text(path)
    try:
        if text.lstrip().startswith(("{", "[")):
            return EQSettings.from_json(text, spec), 0.0
        try:
            return parse_parametric_eq(text, spec)
        except ValueError as err:
            raise EqlibError(f"neither eqlib JSON settings nor a ParametricEQ.txt preset ({err})", "settings") from None
    except EqlibError as err:
        raise EqlibError(f"{path}: invalid EQ settings: {err}", err.kind) from None


def pedalboard_code(settings: EQSettings) -> str:
    """Python source that builds ``board``, a ``pedalboard.Pedalboard`` equal to ``settings.to_pedalboard()``."""
    lines = ["import pedalboard", "", "board = pedalboard.Pedalboard(["]
    for plugin, (gain, freq, q) in zip(settings.to_pedalboard(), settings.params):
        lines.append(f"    pedalboard.{type(plugin).__name__}(cutoff_frequency_hz={float(freq)!r}, "
                     f"gain_db={float(gain)!r}, q={float(q)!r}),")
    lines.append("])")
    return "\n".join(lines)
