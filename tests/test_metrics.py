"""Metrics against hand-computed cases and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import scipy.stats
import torch

from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.metrics import (level_free_error_db, lts_distance_db, mean_ci95, param_errors, response_error_db,
                           third_octave_centres_hz, third_octave_response_db, third_octave_response_error_db)

SR = 44100


def _identity() -> np.ndarray:
    return DEFAULT_EQ.default.numpy()


def _with(row: int, col: int, value: float, base: np.ndarray | None = None) -> np.ndarray:
    p = (_identity() if base is None else base).copy()
    p[row, col] = value
    return p


def test_identical_params_have_zero_error():
    p = DEFAULT_EQ.sample(5, torch.Generator().manual_seed(0))
    errors = param_errors(p, p)
    assert all(float(e.abs().max()) == 0 for e in errors.values())
    assert float(response_error_db(p, p).abs().max()) == 0
    assert float(third_octave_response_error_db(p, p).abs().max()) == 0


def test_hand_computed_param_errors():
    true = _with(1, 0, -3.0, _with(1, 1, 400.0, _with(1, 2, 1.0)))
    pred = _with(1, 0, 3.0, _with(1, 1, 800.0, _with(1, 2, 2.0)))
    e = param_errors(pred, true)
    assert e["gain_db"].shape == (4,)
    assert float(e["gain_db"][1]) == pytest.approx(6.0)
    assert float(e["freq_oct"][1]) == pytest.approx(1.0)
    assert float(e["q_oct"][1]) == pytest.approx(1.0)
    assert float(e["freq_oct"][0]) == 0.0


def test_level_offset_is_not_an_error():
    curve = torch.linspace(-5, 5, 100, dtype=torch.float64) ** 2
    assert float(level_free_error_db(curve + 6.0, curve)) == pytest.approx(0.0, abs=1e-12)
    # frequencies and Q of 0 dB bands change nothing: still the identity response
    moved = _with(1, 1, 1500.0, _with(2, 2, 4.0))
    assert float(response_error_db(moved, _identity())) < 1e-9


def test_response_error_matches_scipy():
    g = torch.Generator().manual_seed(1)
    a, b = DEFAULT_EQ.sample(2, g).numpy()
    grid = np.geomspace(20, 20000, 512)
    curves = []
    for p in (a, b):
        _, h = scipy.signal.sosfreqz(EQSettings(p).sos(SR), worN=grid, fs=SR)
        curves.append(20 * np.log10(np.abs(h)))
    d = curves[0] - curves[1]
    expected = np.abs(d - d.mean()).mean()
    assert float(response_error_db(a, b, SR)) == pytest.approx(expected, rel=1e-9)


def test_third_octave_levels_match_dense_scipy_average():
    p = _with(1, 0, 12.0, _with(1, 1, 1000.0, _with(1, 2, 4.0)))
    centres = third_octave_centres_hz(SR)
    assert len(centres) == 30 and centres[0] == pytest.approx(19.69, abs=0.01) and centres[-1] == pytest.approx(16000)
    ours = third_octave_response_db(p, SR).numpy()
    for k in (np.argmin(np.abs(centres - 1000)), np.argmin(np.abs(centres - 250))):
        f = np.linspace(centres[k] * 2 ** (-1 / 6), centres[k] * 2 ** (1 / 6), 5000)
        _, h = scipy.signal.sosfreqz(EQSettings(p).sos(SR), worN=f, fs=SR)
        assert ours[k] == pytest.approx(10 * np.log10(np.mean(np.abs(h) ** 2)), abs=0.02)


def test_third_octave_error_is_batched():
    p = DEFAULT_EQ.sample(6, torch.Generator().manual_seed(2)).reshape(2, 3, 4, 3)
    err = third_octave_response_error_db(p, p.flip(0))
    assert err.shape == (2, 3) and bool((err > 0).all())


def test_lts_distance():
    x = np.random.default_rng(0).standard_normal(SR * 2)
    assert lts_distance_db(3.0 * x, x, SR) == pytest.approx(0.0, abs=1e-9)
    eq = EQSettings(_with(1, 0, 12.0, _with(1, 1, 1000.0)))
    measured = lts_distance_db(eq.apply(x, SR), x, SR)
    assert measured == pytest.approx(float(third_octave_response_error_db(eq.params, _identity(), SR)), abs=0.15)


def test_mean_ci95_hand_case_and_scipy():
    mean, half = mean_ci95(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    v = np.random.default_rng(3).normal(5, 2, 40)
    lo, hi = scipy.stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=scipy.stats.sem(v))
    assert mean_ci95(v)[1] == pytest.approx((hi - lo) / 2)
    assert np.isnan(mean_ci95([4.0])[1])
    with pytest.raises(ValueError, match="finite"):
        mean_ci95([1.0, np.nan])


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="share a"):
        param_errors(np.zeros((4, 3)), np.zeros((3, 3)))
