"""The spectral "match EQ" baseline: fits against known EQs (its spectra: tests/test_spectrum.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from eqlib.audio import AudioError
from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.spectral_fit import fit_eq_to_target, match_spectra, spectral_match, spectral_match_batch
from eqlib.spectrum import log_grid_hz

SR = 44100
GRID = np.geomspace(20, 20000, 400)


def _level_free_error_db(a: EQSettings, b: EQSettings, sample_rate: int = SR) -> float:
    """Mean |dB difference| of two cascades on a log grid after removing the mean (computed with scipy)."""
    da = np.zeros_like(GRID)
    db = np.zeros_like(GRID)
    for sos, acc in ((a.sos(sample_rate), da), (b.sos(sample_rate), db)):
        _, h = scipy.signal.sosfreqz(sos, worN=GRID, fs=sample_rate)
        acc += 20 * np.log10(np.abs(h))
    d = da - db
    return float(np.abs(d - d.mean()).mean())


def _coloured_noise(seed: int, seconds: float = 3.0) -> np.ndarray:
    """Noise with a speech-like downward tilt (first-order lowpass at 500 Hz over white)."""
    x = np.random.default_rng(seed).standard_normal(int(SR * seconds))
    b, a = scipy.signal.butter(1, 500, fs=SR)
    return 0.1 * scipy.signal.lfilter(b, a, x) + 0.01 * x


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_exact_recovery_when_reference_is_filtered_input(seed):
    truth = EQSettings(DEFAULT_EQ.sample(1, torch.Generator().manual_seed(seed))[0].numpy())
    x = _coloured_noise(seed)
    reference = 0.5 * truth.apply(x, SR)  # a level change must not matter
    fitted = spectral_match(x, reference, SR)
    assert _level_free_error_db(fitted, truth) < 0.5


def test_batch_gives_each_pair_its_own_fit():
    # like julius's fast paths: the batched fit is kept only because it agrees with fitting each pair alone
    g = torch.Generator().manual_seed(2)
    truths = [EQSettings(p.numpy()) for p in DEFAULT_EQ.sample(3, g)]
    inputs = [_coloured_noise(seed, 1.0) for seed in (20, 21, 22)]
    references = [t.apply(_coloured_noise(seed + 10, 1.0), SR) for seed, t in zip((20, 21, 22), truths)]
    inits = truths[::-1]
    for kwargs in ({}, {"prior_weight": 100.0}):
        batch = spectral_match_batch(inputs, references, SR, inits=inits if kwargs else None, **kwargs)
        for k, fitted in enumerate(batch):
            alone = spectral_match(inputs[k], references[k], SR, init=inits[k] if kwargs else None, **kwargs)
            assert _level_free_error_db(fitted, alone) < 1e-3


def test_match_spectra_fits_audible_points_and_ignores_silent_ones():
    truth = EQSettings(np.array([[4.0, 150.0, 0.7], [-6.0, 600.0, 1.5], [5.0, 3000.0, 2.0], [-3.0, 9000.0, 0.8]]))
    grid = log_grid_hz(SR)
    _, h = scipy.signal.sosfreqz(truth.sos(SR), worN=grid, fs=SR)
    input_db = -60.0 - 6 * np.log2(grid / 500)  # a speech-like tilt
    reference_db = input_db + 20 * np.log10(np.abs(h)) - 7.0  # a level change must not matter
    silent = grid > 16000
    input_db[silent], reference_db[silent] = -250.0, -90.0  # input silent there: the 160 dB step must be ignored
    fitted = match_spectra(grid, input_db, reference_db, SR)
    _, g = scipy.signal.sosfreqz(fitted.sos(SR), worN=grid[~silent], fs=SR)
    error = 20 * np.log10(np.abs(g)) - 20 * np.log10(np.abs(h[~silent]))
    assert np.abs(error - error.mean()).max() < 0.3
    with pytest.raises(AudioError, match="no audible content") as info:
        match_spectra(grid, np.full_like(grid, -250.0), reference_db, SR)
    assert info.value.kind == "silent"


def test_fit_respects_ranges_for_an_unreachable_target():
    freqs = log_grid_hz(SR)
    target = np.where(freqs > 4000, 60.0, 0.0)  # a 60 dB step: beyond any setting
    fitted = fit_eq_to_target(target, freqs, SR)
    lo, hi = DEFAULT_EQ.minimum.numpy(), DEFAULT_EQ.maximum.numpy()
    assert np.all(fitted.params >= lo) and np.all(fitted.params <= hi)
    assert fitted.params[3, 0] > 14.0  # the high shelf is pushed to its +15 dB limit


def test_hybrid_with_huge_prior_stays_at_init():
    g = torch.Generator().manual_seed(5)
    init, other = (EQSettings(p.numpy()) for p in DEFAULT_EQ.sample(2, g))
    freqs = log_grid_hz(SR)
    fitted = fit_eq_to_target(other.response_db(freqs, SR), freqs, SR, init=init, prior_weight=1e7, steps=100)
    np.testing.assert_allclose(fitted.to_norm(), init.to_norm(), atol=2e-3)
    free = fit_eq_to_target(other.response_db(freqs, SR), freqs, SR, init=init, steps=100)
    assert np.abs(free.to_norm() - init.to_norm()).max() > 0.05


@pytest.mark.parametrize("call, message", [
    (lambda: fit_eq_to_target(np.zeros(5), np.ones(4), SR), "matching 1-D"),
    (lambda: fit_eq_to_target(np.zeros(4), np.geomspace(20, 2e4, 4), SR, prior_weight=1.0), "needs an init"),
    (lambda: spectral_match(np.zeros(SR), np.zeros(SR), SR), "no audible content"),
    (lambda: fit_eq_to_target(np.zeros(4), np.geomspace(20, 7000, 4), 16000), "resample to above 32000 Hz"),
])
def test_bad_input_raises_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_fit_with_level_keeps_the_gains_where_a_level_free_fit_may_lift_them_all():
    """A target that is an EQ's own response (scipy's ``sosfreqz``): fitted level included, the answer reproduces
    it, level and all; a flat +6 dB on the target changes a level-free fit not at all, a fit with level a lot."""
    from eqlib.spectral_fit import ENSEMBLE_GRID_HZ, fit_eq_to_targets

    rate = 44100
    truth = EQSettings(np.array([[-4.0, 120.0, 0.7], [3.0, 900.0, 1.2], [-2.0, 3500.0, 2.0], [5.0, 8000.0, 0.7]]))
    _, h = scipy.signal.sosfreqz(truth.sos(rate), worN=ENSEMBLE_GRID_HZ, fs=rate)
    response_db = 20 * np.log10(np.abs(h))
    fitted = fit_eq_to_targets(response_db[None], ENSEMBLE_GRID_HZ, rate, level_free=False)[0]
    np.testing.assert_allclose(fitted.response_db(ENSEMBLE_GRID_HZ, rate), response_db, atol=0.1)
    np.testing.assert_allclose(fitted.params[:, 0], truth.params[:, 0], atol=0.1)
    lifted = fit_eq_to_targets(response_db[None] + 6.0, ENSEMBLE_GRID_HZ, rate)[0]  # level-free: +6 dB is invisible
    unlifted = fit_eq_to_targets(response_db[None], ENSEMBLE_GRID_HZ, rate)[0]
    np.testing.assert_allclose(lifted.params[:, 0], unlifted.params[:, 0], atol=0.1)
    lifted_with_level = fit_eq_to_targets(response_db[None] + 6.0, ENSEMBLE_GRID_HZ, rate, level_free=False)[0]
    assert lifted_with_level.params[:, 0].mean() > fitted.params[:, 0].mean() + 2.0  # with level, it is seen
