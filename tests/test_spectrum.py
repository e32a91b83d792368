"""Spectra against Parseval and analytic values; the streaming Welch against scipy's; the K-weighting filter
against pyloudnorm's and the BS.1770 table; loudness against pyloudnorm (an independent BS.1770 implementation)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
from pyloudnorm.iirfilter import IIRfilter

from eqlib.spectrum import (LoudnessMeter, WelchAccumulator, band_levels_db, k_weighting_ba,
                            log_grid_hz, long_term_n_fft, long_term_spectrum_db, loudness_lufs, smoothed_spectrum_db,
                            third_octave_centres_hz)

SR = 44100


def _coloured_noise(seed: int, seconds: float = 3.0, sample_rate: int = SR) -> np.ndarray:
    """Noise with a speech-like downward tilt (first-order lowpass at 500 Hz over white)."""
    x = np.random.default_rng(seed).standard_normal(int(sample_rate * seconds))
    b, a = scipy.signal.butter(1, 500, fs=sample_rate)
    return 0.1 * scipy.signal.lfilter(b, a, x) + 0.01 * x


# --- long-term spectra and band levels ------------------------------------------------------------
def test_white_noise_level_matches_parseval():
    sigma = 0.3
    x = np.random.default_rng(0).normal(0, sigma, SR * 4)
    freqs, level = long_term_spectrum_db(x, SR, n_fft=2048)
    expected = 10 * np.log10(2 * sigma**2 / SR)  # one-sided PSD of white noise
    inner = (freqs > 100) & (freqs < 20000)
    assert abs(level[inner].mean() - expected) < 0.1
    assert freqs[1] - freqs[0] == pytest.approx(SR / 2048)


def test_stereo_averages_channel_power():
    x = np.random.default_rng(1).standard_normal((2, SR))
    x[1] *= 0.0
    _, both = long_term_spectrum_db(x, SR)
    _, left = long_term_spectrum_db(x[0], SR)
    np.testing.assert_allclose(both, left - 10 * np.log10(2), atol=1e-9)


def test_band_levels_of_flat_and_linear_spectra():
    freqs = np.linspace(0, 22050, 20001)
    centres = np.array([100.0, 1000.0, 10000.0])
    np.testing.assert_allclose(band_levels_db(freqs, np.full_like(freqs, -12.0), centres, 3), -12.0, atol=1e-9)
    # power ∝ f: the band mean is the midpoint of the band edges
    lo, hi = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    got = band_levels_db(freqs, 10 * np.log10(np.maximum(freqs, 1e-9)), centres, 3)
    np.testing.assert_allclose(got, 10 * np.log10((lo + hi) / 2), atol=1e-3)


def test_grids_stop_below_nyquist():
    assert log_grid_hz(16000)[-1] <= 0.45 * 16000
    assert log_grid_hz(48000)[0] == 20.0 and log_grid_hz(48000)[-1] <= 20000
    assert third_octave_centres_hz(16000)[-1] * 2 ** (1 / 6) < 8000
    assert long_term_n_fft(44100, 10**6) == 8192 and long_term_n_fft(44100, 3000) == 2048


def test_smoothed_spectrum_shapes():
    grid, level = smoothed_spectrum_db(_coloured_noise(0, 1.0), SR)
    assert grid.shape == level.shape and np.all(np.isfinite(level))


@pytest.mark.parametrize("audio, message", [(np.zeros(100), "fewer than n_fft"), (np.full(5000, np.nan), "NaN")])
def test_bad_spectrum_input_raises_clear_error(audio, message):
    with pytest.raises(ValueError, match=message):
        long_term_spectrum_db(audio, SR)


def test_welch_accumulator_equals_long_term_spectrum():
    x = _coloured_noise(9)
    acc = WelchAccumulator(SR, 8192)
    for start in range(0, len(x), 7919):
        acc.add(x[start:start + 7919])
    freqs, level = acc.spectrum_db()
    ref_freqs, ref_level = long_term_spectrum_db(x, SR, 8192)
    np.testing.assert_array_equal(freqs, ref_freqs)
    np.testing.assert_allclose(level, ref_level, atol=1e-9)


# --- the K-weighting filter -------------------------------------------------------------------------
@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000, 96000])
def test_k_weighting_coefficients_equal_pyloudnorm(sample_rate):
    theirs = [IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf"),
              IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")]
    for (b, a), stage in zip(k_weighting_ba(sample_rate), theirs):
        np.testing.assert_allclose(b, stage.b, rtol=1e-12)
        np.testing.assert_allclose(a, stage.a, rtol=1e-12)


def test_k_weighting_response_close_to_the_bs1770_table_at_48k():
    """ITU-R BS.1770-4 tabulates the 48 kHz coefficients; the cookbook design is within 0.05 dB of them."""
    published = [([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585]),
                 ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])]
    freqs = np.geomspace(20, 20000, 200)
    for (b, a), (pb, pa) in zip(k_weighting_ba(48000), published):
        ours = np.abs(scipy.signal.freqz(b, a, worN=freqs, fs=48000)[1])
        theirs = np.abs(scipy.signal.freqz(pb, pa, worN=freqs, fs=48000)[1])
        assert np.abs(20 * np.log10(ours / theirs)).max() < 0.05


# --- loudness ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample_rate, channels", [(16000, 1), (44100, 2), (48000, 1), (96000, 2)])
def test_loudness_equals_pyloudnorm(sample_rate, channels):
    x = np.stack([_coloured_noise(c, 3.3, sample_rate) for c in range(channels)])
    x[:, : sample_rate // 2] *= 1e-3  # a quiet start the gates must drop
    expected = pyloudnorm.Meter(sample_rate).integrated_loudness(x.T)
    assert loudness_lufs(x, sample_rate) == pytest.approx(expected, abs=1e-6)
    meter = LoudnessMeter(sample_rate, channels)
    for start in range(0, x.shape[1], 7919):  # streamed in blocks that do not line up with the 100-ms steps
        meter.add(x[:, start:start + 7919])
    assert meter.integrated_lufs() == pytest.approx(expected, abs=1e-6)
    assert meter.peak == np.abs(x).max()


def test_loudness_of_short_and_silent_audio():
    assert np.isnan(loudness_lufs(np.ones(int(0.3 * SR)), SR))
    assert loudness_lufs(np.zeros(SR), SR) == float("-inf")
    assert loudness_lufs(_coloured_noise(1, 1.0), SR) == pytest.approx(
        pyloudnorm.Meter(SR).integrated_loudness(_coloured_noise(1, 1.0)), abs=1e-6)


def test_importing_the_module_leaves_scipy_signal_and_torch_alone():
    code = "import sys, eqlib.spectrum; print(sorted(m for m in ('scipy.signal', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
