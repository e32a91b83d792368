"""The four-band parametric EQ of the paper: one parameter table drives everything.

Bands, in the paper's order: low shelf, peak (mid 1), peak (mid 2), high shelf; each with
gain (dB), frequency (Hz) and Q. ``DEFAULT_EQ`` holds the ranges; normalisation to
``[0, 1]^12``, random sampling, responses, filtering, JSON, the printed table, the ffmpeg
and pedalboard exports, plot labels and slider ranges all read it.

Shapes: physical parameters are ``(..., bands, 3)`` as (gain dB, frequency Hz, Q);
normalised parameters ``params_norm`` are ``(..., bands * 3)`` in band-major order.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from eqlib.biquad import (FrequencyGrid, bands_sos, cascade_response_db, check_below_nyquist, sos_response_db,
                          sosfilt_exact)
from eqlib.errors import EqlibError, from_os_error

SETTINGS_FORMAT = "eqlib.eq/1"
SETTINGS_KNOBS = ("gain_db", "freq_hz", "q")  # a band's numbers in the settings JSON
MAX_SETTINGS_BYTES = 1 << 20  # a settings file or preset is a few hundred bytes; a larger one is something else


@dataclass(frozen=True)
class ParamSpec:
    """One knob: name, unit, range, default and the scale it is normalised and sampled on."""

    name: str
    unit: str
    minimum: float
    maximum: float
    default: float
    log_scale: bool

    def to_norm(self, value: torch.Tensor) -> torch.Tensor:
        """Physical value → [0, 1] (log scale for frequency and Q)."""
        if self.log_scale:
            return (torch.log(value) - math.log(self.minimum)) / (math.log(self.maximum) - math.log(self.minimum))
        return (value - self.minimum) / (self.maximum - self.minimum)

    def from_norm(self, value_norm: torch.Tensor) -> torch.Tensor:
        """[0, 1] → physical value."""
        if self.log_scale:
            return torch.exp(math.log(self.minimum) + value_norm * (math.log(self.maximum) - math.log(self.minimum)))
        return self.minimum + value_norm * (self.maximum - self.minimum)

    @property
    def label(self) -> str:
        """Axis/slider label with unit, e.g. ``"gain (dB)"``."""
        return f"{self.name} ({self.unit})" if self.unit else self.name


def _gain(default: float = 0.0) -> ParamSpec:
    return ParamSpec("gain", "dB", -15.0, 15.0, default, log_scale=False)


def _freq(lo: float, hi: float, default: float) -> ParamSpec:
    return ParamSpec("freq", "Hz", lo, hi, default, log_scale=True)


def _q(lo: float, hi: float, default: float) -> ParamSpec:
    return ParamSpec("Q", "", lo, hi, default, log_scale=True)


@dataclass(frozen=True)
class BandSpec:
    """One band: short name, display label, biquad kind and its three knobs."""

    name: str
    label: str
    kind: str
    gain: ParamSpec
    freq: ParamSpec
    q: ParamSpec

    @property
    def params(self) -> tuple[ParamSpec, ParamSpec, ParamSpec]:
        return (self.gain, self.freq, self.q)


@dataclass(frozen=True)
class EQSpec:
    """The EQ: an ordered tuple of bands and the functions every part of eqlib shares."""

    bands: tuple[BandSpec, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(b.kind for b in self.bands)

    @property
    def num_bands(self) -> int:
        return len(self.bands)

    @property
    def num_params(self) -> int:
        return 3 * len(self.bands)

    @property
    def param_names(self) -> list[str]:
        """Flat names in ``params_norm`` order, e.g. ``"mid1.freq"``."""
        return [f"{b.name}.{p.name}" for b in self.bands for p in b.params]

    def _table(self, attr: str) -> torch.Tensor:
        return torch.tensor([[getattr(p, attr) for p in b.params] for b in self.bands], dtype=torch.float64)

    @property
    def minimum(self) -> torch.Tensor:
        """Lower bounds ``(bands, 3)``."""
        return self._table("minimum")

    @property
    def maximum(self) -> torch.Tensor:
        """Upper bounds ``(bands, 3)``."""
        return self._table("maximum")

    @property
    def default(self) -> torch.Tensor:
        """Defaults ``(bands, 3)`` (all gains 0 dB: the identity EQ)."""
        return self._table("default")

    def to_norm(self, params: torch.Tensor) -> torch.Tensor:
        """Physical ``(..., bands, 3)`` → ``params_norm`` ``(..., bands * 3)`` in [0, 1] (one vectorised call)."""
        low, span, log_scale = _norm_tables(self, params.device, params.dtype)
        flat = params.reshape(*params.shape[:-2], self.num_params)
        return (torch.where(log_scale, torch.log(flat), flat) - low) / span

    def from_norm(self, params_norm: torch.Tensor) -> torch.Tensor:
        """``params_norm`` ``(..., bands * 3)`` → physical ``(..., bands, 3)`` (one vectorised call)."""
        low, span, log_scale = _norm_tables(self, params_norm.device, params_norm.dtype)
        value = low + params_norm * span
        return torch.where(log_scale, torch.exp(value), value).reshape(*params_norm.shape[:-1], self.num_bands, 3)

    def sample_norm(self, batch: int, generator: torch.Generator, device: torch.device | str | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Uniform ``params_norm`` ``(batch, bands * 3)``: uniform gains, log-uniform frequencies and Q.

        Drawn in float64 on the generator's device (so a seeded CPU generator gives the same draws as
        ever, and a CUDA generator never waits on the host), then moved to ``device`` and ``dtype``.
        """
        u = torch.rand(batch, self.num_params, generator=generator, dtype=torch.float64, device=generator.device)
        return u.to(device=device if device is not None else generator.device, dtype=dtype)

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Random physical parameters ``(batch, bands, 3)`` (float64)."""
        return self.from_norm(self.sample_norm(batch, generator, dtype=torch.float64))

    def sos(self, params: torch.Tensor | np.ndarray, sample_rate: float) -> torch.Tensor | np.ndarray:
        """Sections ``(..., bands, 6)`` of physical parameters ``(..., bands, 3)``; no range checks
        (the differentiable path: :class:`EQSettings` checks its ranges and the Nyquist limit)."""
        return bands_sos(self.kinds, params, sample_rate)

    def power_response(self, params: torch.Tensor, grid: FrequencyGrid) -> torch.Tensor:
        """Cascaded ``|H(f)|²`` of physical parameters ``(..., bands, 3)`` on ``grid``: ``(..., freqs)``."""
        return grid.power(self.sos(params, grid.sample_rate)).prod(dim=-2)

    def grid_response_db(self, params: torch.Tensor, grid: FrequencyGrid) -> torch.Tensor:
        """Cascaded magnitude (dB) of physical parameters ``(..., bands, 3)`` on ``grid``: ``(..., freqs)``;
        differentiable (a sum of per-band dB: its backward needs no product's zero check)."""
        return (10 * torch.log10(grid.power(self.sos(params, grid.sample_rate)))).sum(dim=-2)

    def band_response_db(self, params: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
        """Per-band magnitude (dB) ``(..., bands, freqs)``."""
        return sos_response_db(self.sos(params, sample_rate), freqs_hz, sample_rate)

    def response_db(self, params: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
        """Cascaded magnitude (dB) ``(..., freqs)``; differentiable."""
        return cascade_response_db(self.sos(params, sample_rate), freqs_hz, sample_rate)

    def check(self, params: np.ndarray) -> None:
        """Raise ``ValueError`` naming the first knob of ``(bands, 3)`` outside its range."""
        params = np.asarray(params, dtype=np.float64)
        if params.shape != (self.num_bands, 3):
            raise ValueError(f"expected {self.num_bands} bands × 3 parameters, got shape {params.shape}")
        for i, band in enumerate(self.bands):
            for j, spec in enumerate(band.params):
                v = params[i, j]
                if not np.isfinite(v) or not (spec.minimum - 1e-9 <= v <= spec.maximum + 1e-9):
                    unit = f" {spec.unit}" if spec.unit else ""
                    raise ValueError(
                        f"{band.name}.{spec.name} = {v:g}{unit} is outside its range "
                        f"[{spec.minimum:g}, {spec.maximum:g}]{unit}"
                    )


@functools.lru_cache(maxsize=32)
def _norm_tables(spec: EQSpec, device: torch.device, dtype: torch.dtype
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(low, span, log_scale)``, each ``(bands * 3,)``: a knob's value on its sampling scale is
    ``low + params_norm * span`` (its logarithm where ``log_scale``)."""
    knobs = [p for b in spec.bands for p in b.params]
    low = [math.log(p.minimum) if p.log_scale else p.minimum for p in knobs]
    high = [math.log(p.maximum) if p.log_scale else p.maximum for p in knobs]
    table = torch.tensor([low, [h - lo for h, lo in zip(high, low)]], dtype=torch.float64)
    low_t, span_t = table.to(device=device, dtype=dtype)
    return low_t, span_t, torch.tensor([p.log_scale for p in knobs], device=device)


DEFAULT_EQ = EQSpec(
    bands=(
        BandSpec("low", "Low shelf", "low_shelf", _gain(), _freq(30.0, 500.0, 120.0), _q(0.5, 1.5, 0.707)),
        BandSpec("mid1", "Mid 1 (peak)", "peak", _gain(), _freq(100.0, 2000.0, 450.0), _q(0.3, 5.0, 1.0)),
        BandSpec("mid2", "Mid 2 (peak)", "peak", _gain(), _freq(800.0, 8000.0, 2500.0), _q(0.3, 5.0, 1.0)),
        BandSpec("high", "High shelf", "high_shelf", _gain(), _freq(2000.0, 16000.0, 6000.0), _q(0.5, 1.5, 0.707)),
    )
)


@dataclass
class EQSettings:
    """A concrete setting of the EQ: physical parameters ``(bands, 3)`` plus the spec they obey."""

    params: np.ndarray
    spec: EQSpec = field(default=DEFAULT_EQ)

    def __post_init__(self) -> None:
        self.params = np.array(self.params, dtype=np.float64).reshape(self.spec.num_bands, 3)
        self.spec.check(self.params)

    @classmethod
    def identity(cls, spec: EQSpec = DEFAULT_EQ) -> "EQSettings":
        """All gains 0 dB at the default frequencies and Q."""
        return cls(spec.default.numpy(), spec)

    @classmethod
    def from_norm(cls, params_norm: np.ndarray | torch.Tensor, spec: EQSpec = DEFAULT_EQ) -> "EQSettings":
        """From normalised ``(bands * 3,)`` values (clipped to [0, 1])."""
        p = torch.as_tensor(np.asarray(params_norm, dtype=np.float64)).clamp(0, 1)
        return cls(spec.from_norm(p).numpy(), spec)

    def to_norm(self) -> np.ndarray:
        """Normalised ``(bands * 3,)`` values."""
        return self.spec.to_norm(torch.as_tensor(self.params)).numpy()

    def scaled(self, amount: float) -> "EQSettings":
        """The same EQ with every gain multiplied by ``amount`` in [0, 1] (0 = identity)."""
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"amount must be in [0, 1], got {amount:g}")
        return self.gains_times(amount)

    def gains_times(self, factor: float) -> "EQSettings":
        """The same EQ with every gain (dB) multiplied by ``factor`` >= 0 and clipped to its band's gain range;
        frequencies and Q unchanged."""
        p = self.params.copy()
        p[:, 0] = np.clip(p[:, 0] * factor, self.spec.minimum[:, 0].numpy(), self.spec.maximum[:, 0].numpy())
        return EQSettings(p, self.spec)

    def sos(self, sample_rate: float) -> np.ndarray:
        """Sections ``(bands, 6)`` at ``sample_rate`` Hz; raises if a band sits at or above Nyquist."""
        check_below_nyquist(torch.as_tensor(self.params[:, 1]), sample_rate)
        return self.spec.sos(self.params, sample_rate)

    def response_db(self, freqs_hz: np.ndarray, sample_rate: float) -> np.ndarray:
        """Cascaded magnitude (dB) at ``freqs_hz``: ``(freqs,)``."""
        return cascade_response_db(torch.as_tensor(self.sos(sample_rate)), torch.as_tensor(freqs_hz),
                                   sample_rate).numpy()

    def band_response_db(self, freqs_hz: np.ndarray, sample_rate: float) -> np.ndarray:
        """Per-band magnitude (dB): ``(bands, freqs)``."""
        return sos_response_db(torch.as_tensor(self.sos(sample_rate)), torch.as_tensor(freqs_hz), sample_rate).numpy()

    def apply(self, audio: np.ndarray, sample_rate: float) -> np.ndarray:
        """Filter ``(..., time)`` audio exactly (time-domain ``sosfilt``), every channel alike; float64."""
        return sosfilt_exact(self.sos(sample_rate), audio)

    # --- exchange formats -------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": SETTINGS_FORMAT,
            "bands": [
                {"name": b.name, "kind": b.kind, "gain_db": float(p[0]), "freq_hz": float(p[1]), "q": float(p[2])}
                for b, p in zip(self.spec.bands, self.params)
            ],
        }

    def to_json(self) -> str:
        """JSON text; ``from_json`` gives the same float64 values back (repr round trip)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict, spec: EQSpec = DEFAULT_EQ) -> "EQSettings":
        """Validate and read settings written by :meth:`to_dict`, strictly: exactly its keys, numbers as JSON
        numbers (not ``"300"`` or ``true``), every knob in range. ``EqlibError`` (kind ``settings``) on anything
        off."""
        if not isinstance(data, dict) or data.get("format") != SETTINGS_FORMAT:
            raise _settings_error(f"not an eqlib EQ settings object (expected format {SETTINGS_FORMAT!r})")
        _check_keys(data, {"format", "bands"}, "settings")
        bands = data.get("bands")
        if not isinstance(bands, list) or len(bands) != spec.num_bands:
            raise _settings_error(f"settings must list {spec.num_bands} bands")
        rows = []
        for band, entry in zip(spec.bands, bands):
            if not isinstance(entry, dict) or entry.get("name") != band.name or entry.get("kind") != band.kind:
                raise _settings_error(f"band entry {_short_repr(entry)} does not match band {band.name!r} "
                                      f"({band.kind})")
            values = [entry.get(knob) for knob in SETTINGS_KNOBS]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise _settings_error(f"band {band.name!r}: missing or non-numeric gain_db/freq_hz/q (JSON numbers, "
                                      f"not strings or true/false; got {_short_repr(values)})")
            _check_keys(entry, {"name", "kind", *SETTINGS_KNOBS}, f"band {band.name!r}")
            rows.append([float(v) for v in values])
        try:
            return cls(np.array(rows), spec)
        except ValueError as err:  # a knob out of its range
            raise _settings_error(str(err)) from None

    @classmethod
    def from_json(cls, text: str, spec: EQSpec = DEFAULT_EQ) -> "EQSettings":
        """Read JSON text written by :meth:`to_json` (no repeated keys; a NaN or Infinity fails the range check);
        ``EqlibError`` (kind ``settings``) on anything off, however deep or large the text."""
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as err:
            raise _settings_error(f"settings are not valid JSON: {err.msg} (line {err.lineno})") from None
        except RecursionError:
            raise _settings_error("settings are not eqlib settings: JSON nested too deeply") from None
        except ValueError as err:  # a repeated key, an integer of thousands of digits
            raise _settings_error(f"settings are not valid JSON: {str(err).splitlines()[0]}") from None
        return cls.from_dict(data, spec)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` atomically: a failed write leaves ``path`` as it was."""
        from eqlib.audio import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path, spec: EQSpec = DEFAULT_EQ) -> "EQSettings":
        """Read a settings file written by :meth:`save`; ``EqlibError`` kind ``missing`` or ``settings``."""
        return cls.from_json(read_settings_text(path), spec)

    def to_ffmpeg(self) -> str:
        """An ffmpeg ``-af`` chain (``lowshelf``/``equalizer``/``highshelf`` with ``t=q``) that
        reproduces :meth:`apply`."""
        names = {"low_shelf": "lowshelf", "peak": "equalizer", "high_shelf": "highshelf"}
        return ",".join(
            f"{names[b.kind]}=f={p[1]:.17g}:t=q:w={p[2]:.17g}:g={p[0]:.17g}"
            for b, p in zip(self.spec.bands, self.params)
        )

    def to_pedalboard(self):
        """A ``pedalboard.Pedalboard`` of JUCE cookbook filters that reproduces :meth:`apply`.

        pedalboard filters in float32: the residual against :meth:`apply` is below -80 dB for bands
        at or above 200 Hz, and can reach about -50 dB for strong bands at 30–100 Hz (see tests).
        """
        import pedalboard

        classes = {"low_shelf": pedalboard.LowShelfFilter, "peak": pedalboard.PeakFilter,
                   "high_shelf": pedalboard.HighShelfFilter}
        return pedalboard.Pedalboard([
            classes[b.kind](cutoff_frequency_hz=float(p[1]), gain_db=float(p[0]), q=float(p[2]))
            for b, p in zip(self.spec.bands, self.params)
        ])

    # --- display ----------------------------------------------------------------------
    def rows(self) -> list[tuple[str, str, str, str]]:
        """Display rows: (band, gain dB, frequency Hz, Q) as formatted strings."""
        return [(b.label, f"{p[0]:+.1f}", f"{p[1]:.0f}", f"{p[2]:.2f}") for b, p in zip(self.spec.bands, self.params)]

    def __str__(self) -> str:
        header = ("band", "gain (dB)", "freq (Hz)", "Q")
        rows = [header, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("band", "gain (dB)", "freq (Hz)", "Q"))
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --- the settings exchange format: reading files strictly -----------------------------------------
def _settings_error(message: str) -> EqlibError:
    return EqlibError(message, "settings")


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_keys(entry: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    missing = sorted(allowed - set(entry))
    if unknown or missing:
        raise _settings_error(f"{where}: " + "; ".join(
            part for part in (f"unknown keys {_short_repr(unknown)}" if unknown else "",
                              f"missing keys {missing}" if missing else "") if part))


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    repeated = next((k for k in keys if keys.count(k) > 1), None)
    if repeated is not None:
        raise ValueError(f"key {_short_repr(repeated)} appears twice in one object")
    return dict(pairs)


def read_settings_text(path: str | Path) -> str:
    """The text of a settings file or preset: ``EqlibError`` kind ``missing`` if absent, else kind ``settings`` if
    it is not a regular file (a folder, a pipe, a device), larger than ``MAX_SETTINGS_BYTES``, unreadable or not
    UTF-8."""
    import stat

    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise _settings_error(f"{path}: is not a regular file (a folder, a pipe or a device)")
        if info.st_size > MAX_SETTINGS_BYTES:
            raise _settings_error(f"{path}: {info.st_size} bytes is too large for EQ settings (at most "
                                  f"{MAX_SETTINGS_BYTES} bytes)")
        with open(path, "rb") as f:
            data = f.read(MAX_SETTINGS_BYTES + 1)
    except OSError as err:
        raise from_os_error(err, path, "settings") from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _settings_error(f"{path}: not UTF-8 text (byte {err.start})") from None
