"""How far a predicted EQ is from the truth: parameter errors, response errors, spectrum distance, CIs.

All parameter tensors are physical ``(..., bands, 3)`` as (gain dB, frequency Hz, Q); numpy
arrays are accepted and every metric returns torch tensors (float64) batched over ``...``.
Response errors ignore the overall level (the mean over frequency is removed), because a
pure gain change is not an EQ-style difference and loudness is normalised elsewhere.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats
import torch

from eqlib.eq import DEFAULT_EQ, EQSpec
from eqlib.spectrum import band_levels_db, long_term_n_fft, long_term_spectrum_db, third_octave_centres_hz

ERROR_FREQ_MIN_HZ, ERROR_FREQ_MAX_HZ = 20.0, 20000.0
POINTS_PER_BAND = 16  # linear-frequency samples per third-octave band when averaging a response's power


def _as_params(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    return x.to(torch.float64) if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))


def param_errors(predicted: torch.Tensor | np.ndarray, true: torch.Tensor | np.ndarray) -> dict[str, torch.Tensor]:
    """Absolute per-band parameter errors.

    Returns a dict of ``(..., bands)`` tensors: ``gain_db`` (|Δgain| in dB), ``freq_oct``
    (|log2 ratio| of frequencies, in octaves) and ``q_oct`` (|log2 ratio| of Q, in octaves).
    """
    p, t = _as_params(predicted), _as_params(true)
    if p.shape != t.shape or p.shape[-1] != 3:
        raise ValueError(f"predicted and true parameters must share a (..., bands, 3) shape, got "
                         f"{tuple(p.shape)} and {tuple(t.shape)}")
    return {
        "gain_db": (p[..., 0] - t[..., 0]).abs(),
        "freq_oct": torch.log2(p[..., 1] / t[..., 1]).abs(),
        "q_oct": torch.log2(p[..., 2] / t[..., 2]).abs(),
    }


def level_free_error_db(predicted_db: torch.Tensor, true_db: torch.Tensor) -> torch.Tensor:
    """Mean |difference| (dB) of two curves ``(..., freqs)`` after removing their mean offset: ``(...)``."""
    diff = predicted_db - true_db
    return (diff - diff.mean(dim=-1, keepdim=True)).abs().mean(dim=-1)


def error_grid_hz(sample_rate: float, num: int = 512, max_freq_hz: float | None = None) -> torch.Tensor:
    """Log-spaced grid from 20 Hz to min(20 kHz, 0.49·sample_rate, ``max_freq_hz``): ``(num,)`` in Hz."""
    top = min(ERROR_FREQ_MAX_HZ, 0.49 * sample_rate, max_freq_hz or ERROR_FREQ_MAX_HZ)
    return torch.as_tensor(np.geomspace(ERROR_FREQ_MIN_HZ, top, num))


def response_error_db(predicted: torch.Tensor | np.ndarray, true: torch.Tensor | np.ndarray, sample_rate: float = 44100,
                      num_freqs: int = 512, spec: EQSpec = DEFAULT_EQ, max_freq_hz: float | None = None
                      ) -> torch.Tensor:
    """Mean absolute dB difference of the cascaded responses on a log grid (20 Hz–20 kHz), level removed.

    Args:
        predicted, true: physical parameters ``(..., bands, 3)``.
        sample_rate: sampling rate in Hz at which both EQs run.
        num_freqs: log-spaced evaluation frequencies.
        max_freq_hz: top of the grid when the recordings hold content only below it (band-limited
            originals: an EQ above their band cannot be heard, so it is not scored).

    Returns:
        ``(...)`` errors in dB.
    """
    grid = error_grid_hz(sample_rate, num_freqs, max_freq_hz)
    return level_free_error_db(spec.response_db(_as_params(predicted), grid, sample_rate),
                               spec.response_db(_as_params(true), grid, sample_rate))


def third_octave_response_db(params: torch.Tensor | np.ndarray, sample_rate: float,
                             spec: EQSpec = DEFAULT_EQ, max_freq_hz: float | None = None) -> torch.Tensor:
    """Power-averaged cascaded response in each third-octave band (whose upper edge is below ``max_freq_hz``,
    when given): ``(..., bands_3oct)`` in dB."""
    centres = torch.as_tensor(third_octave_centres_hz(sample_rate))
    if max_freq_hz is not None:
        centres = centres[centres * 2 ** (1 / 6) <= max_freq_hz]
    lo, hi = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    steps = (torch.arange(POINTS_PER_BAND, dtype=torch.float64) + 0.5) / POINTS_PER_BAND  # midpoint rule
    freqs = (lo[:, None] + (hi - lo)[:, None] * steps).reshape(-1)
    power = 10 ** (spec.response_db(_as_params(params), freqs, sample_rate) / 10)
    return 10 * torch.log10(power.reshape(*power.shape[:-1], len(centres), POINTS_PER_BAND).mean(dim=-1))


def third_octave_response_error_db(predicted: torch.Tensor | np.ndarray, true: torch.Tensor | np.ndarray,
                                   sample_rate: float = 44100, spec: EQSpec = DEFAULT_EQ,
                                   max_freq_hz: float | None = None) -> torch.Tensor:
    """Like :func:`response_error_db` but on third-octave band levels (what an ear or an RTA resolves): ``(...)`` dB."""
    return level_free_error_db(third_octave_response_db(predicted, sample_rate, spec, max_freq_hz),
                               third_octave_response_db(true, sample_rate, spec, max_freq_hz))


def lts_distance_db(processed: np.ndarray, reference: np.ndarray, sample_rate: float) -> float:
    """Third-octave long-term-spectrum distance (dB) between two recordings, level removed.

    Args:
        processed, reference: ``(time,)`` or ``(channels, time)`` at ``sample_rate`` Hz.

    Returns:
        Mean |difference| of the level-normalised third-octave band levels, in dB.
    """
    n_fft = long_term_n_fft(sample_rate, min(np.shape(processed)[-1], np.shape(reference)[-1]))
    centres = third_octave_centres_hz(sample_rate)
    levels = [band_levels_db(*long_term_spectrum_db(x, sample_rate, n_fft), centres, 3) for x in (processed, reference)]
    return float(level_free_error_db(torch.as_tensor(levels[0]), torch.as_tensor(levels[1])))


def mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t); half-width is NaN for one value."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"mean_ci95 needs finite values, got {v.size} values")
    if v.size == 1:
        return float(v[0]), math.nan
    half = scipy.stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), float(half)
