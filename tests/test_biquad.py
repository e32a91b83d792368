"""Cookbook biquads (eqlib.biquad) against independent truth.

Truth sources: ffmpeg's ``equalizer``/``lowshelf``/``highshelf`` run in double precision,
pedalboard's JUCE filters (single precision), scipy.signal, numpy eigenvalues, and the
analytic special cases of the RBJ cookbook.
"""

from __future__ import annotations

import math

import numpy as np
import pedalboard
import pytest
import scipy.signal
import torch

from eqlib.biquad import (
    EQ_KINDS,
    FrequencyGrid,
    biquad_sos,
    cascade_response_db,
    eq_sos,
    is_stable,
    poles,
    sosfilt_exact,
    sosfilt_fft,
)
from eqlib.eq import DEFAULT_EQ

SAMPLE_RATES = (44100, 48000)
IR_SAMPLES = 1 << 16  # 1.4 s: the slowest pole (30 Hz shelf, Q 1.5) decays by > 80 nepers
DRAWS_PER_KIND = 24
TOLERANCE_DB = 0.01
FFMPEG_NAMES = {"low_shelf": "lowshelf", "peak": "equalizer", "high_shelf": "highshelf"}
PEDALBOARD_CLASSES = {
    "low_shelf": pedalboard.LowShelfFilter,
    "peak": pedalboard.PeakFilter,
    "high_shelf": pedalboard.HighShelfFilter,
}
# pedalboard (JUCE) computes coefficients and filters in float32. Below ~300 Hz the poles
# sit so close to z = 1 that float32 rounding alone moves the response by up to ~0.15 dB
# (measured over 300 draws per band), so the 0.01 dB bound applies from 300 Hz up and a
# float32-sized bound below; ffmpeg, in double precision, checks the whole range at 0.01 dB.
PEDALBOARD_EXACT_FROM_HZ = 300.0
PEDALBOARD_FLOAT32_TOLERANCE_DB = 0.25


def _draws(kind: str, num: int, seed: int) -> np.ndarray:
    """``(num, 3)`` random (gain dB, freq Hz, Q) of the DEFAULT_EQ bands of ``kind``."""
    params = DEFAULT_EQ.sample(num, torch.Generator().manual_seed(seed)).numpy()
    bands = [i for i, k in enumerate(DEFAULT_EQ.kinds) if k == kind]
    return np.concatenate([params[i :: len(bands), band] for i, band in enumerate(bands)])


def _log_grid_bins(sample_rate: int, num_samples: int) -> np.ndarray:
    """FFT bin indices nearest to a dense log grid (1500 points) from 20 Hz to 0.98 × Nyquist."""
    targets = np.geomspace(20.0, 0.98 * sample_rate / 2, 1500)
    return np.unique(np.round(targets * num_samples / sample_rate).astype(int))


def _impulse(num_samples: int) -> np.ndarray:
    x = np.zeros(num_samples)
    x[0] = 1.0
    return x


def _ours_db(kind: str, p: np.ndarray, freqs_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    sos = biquad_sos(kind, float(p[0]), float(p[1]), float(p[2]), sample_rate)
    _, h = scipy.signal.sosfreqz(sos[None], worN=freqs_hz, fs=sample_rate)
    return 20 * np.log10(np.abs(h))


def _ir_db(ir: np.ndarray, bins: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.abs(np.fft.rfft(ir)[bins]))


# --- scipy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_torch_cascade_response_matches_scipy_sosfreqz(sample_rate: int) -> None:
    params = DEFAULT_EQ.sample(16, torch.Generator().manual_seed(1))
    sos = DEFAULT_EQ.sos(params, sample_rate)
    freqs = np.geomspace(20, 0.98 * sample_rate / 2, 800)
    ours = cascade_response_db(sos, torch.as_tensor(freqs), sample_rate).numpy()
    for i in range(len(params)):
        _, h = scipy.signal.sosfreqz(sos[i].numpy(), worN=freqs, fs=sample_rate)
        np.testing.assert_allclose(ours[i], 20 * np.log10(np.abs(h)), atol=1e-9)


@pytest.mark.parametrize("kinds", [DEFAULT_EQ.kinds, ("high_shelf", "peak", "low_shelf", "high_shelf", "peak")])
def test_vectorised_core_matches_the_per_kind_cookbook_formulas(kinds) -> None:
    """eq_sos (all bands in one call, any layout) gives biquad_sos's sections, which ffmpeg and pedalboard check."""
    assert set(kinds) <= set(EQ_KINDS)
    gen = torch.Generator().manual_seed(11)
    spec_by_kind = {b.kind: b for b in DEFAULT_EQ.bands}
    params = torch.stack([torch.stack([spec_by_kind[k].gain.from_norm(torch.rand(2000, generator=gen, dtype=torch.float64)),
                                       spec_by_kind[k].freq.from_norm(torch.rand(2000, generator=gen, dtype=torch.float64)),
                                       spec_by_kind[k].q.from_norm(torch.rand(2000, generator=gen, dtype=torch.float64))],
                                      dim=-1) for k in kinds], dim=1)  # (2000, bands, 3)
    ours = eq_sos(params, kinds, 44100)
    per_kind = torch.stack([biquad_sos(k, params[:, i, 0], params[:, i, 1], params[:, i, 2], 44100)
                            for i, k in enumerate(kinds)], dim=1)
    torch.testing.assert_close(ours, per_kind, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_frequency_grid_power_matches_scipy_sosfreqz(sample_rate: int) -> None:
    params = DEFAULT_EQ.sample(16, torch.Generator().manual_seed(2))
    sos = DEFAULT_EQ.sos(params, sample_rate)
    freqs = np.geomspace(1.0, 0.98 * sample_rate / 2, 800)  # down to 1 Hz, where |H|² is a near-cancellation
    grid = FrequencyGrid(freqs, sample_rate)
    ours_db = 10 * np.log10(grid.power(sos).numpy())  # (16, bands, freqs)
    for i in range(len(params)):
        for band in range(DEFAULT_EQ.num_bands):
            _, h = scipy.signal.sosfreqz(sos[i, band].numpy()[None], worN=freqs, fs=sample_rate)
            np.testing.assert_allclose(ours_db[i, band], 20 * np.log10(np.abs(h)), atol=1e-9)


# --- ffmpeg (double precision) --------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("kind", list(FFMPEG_NAMES))
def test_matches_ffmpeg_impulse_responses(ffmpeg, kind: str, sample_rate: int) -> None:
    draws = _draws(kind, DRAWS_PER_KIND, seed=sample_rate + len(kind))
    k = len(draws)
    # One ffmpeg process: the impulse is split into k copies, each through its own filter
    # (t=q: width is Q; r=f64: double-precision filtering), then joined end to end.
    graph = f"[0:a]asplit={k}" + "".join(f"[s{i}]" for i in range(k)) + ";"
    graph += "".join(
        f"[s{i}]{FFMPEG_NAMES[kind]}=f={p[1]!r}:t=q:w={p[2]!r}:g={p[0]!r}:r=f64[o{i}];"
        for i, p in enumerate(draws.tolist())
    )
    graph += "".join(f"[o{i}]" for i in range(k)) + f"concat=n={k}:v=0:a=1"
    irs = ffmpeg(_impulse(IR_SAMPLES), sample_rate, graph, complex_graph=True).reshape(k, IR_SAMPLES)
    bins = _log_grid_bins(sample_rate, IR_SAMPLES)
    freqs = bins * sample_rate / IR_SAMPLES
    for p, ir in zip(draws, irs):
        ours = _ours_db(kind, p, freqs, sample_rate)
        deviation = np.abs(ours - _ir_db(ir, bins)).max()
        assert deviation <= TOLERANCE_DB, f"{kind} {p} at {sample_rate} Hz: {deviation:.3g} dB from ffmpeg"


# --- pedalboard (JUCE, single precision) ----------------------------------------------------


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("kind", list(PEDALBOARD_CLASSES))
def test_matches_pedalboard_impulse_responses(kind: str, sample_rate: int) -> None:
    draws = _draws(kind, DRAWS_PER_KIND, seed=7 * sample_rate + len(kind))
    if kind == "low_shelf":  # the extreme corner of the range, where float32 hurts most
        draws = np.vstack([draws, [[15.0, 30.0, 1.5], [-15.0, 30.0, 0.5]]])
    impulse = _impulse(IR_SAMPLES).astype(np.float32)[None]
    bins = _log_grid_bins(sample_rate, IR_SAMPLES)
    freqs = bins * sample_rate / IR_SAMPLES
    for gain_db, freq_hz, q in draws.tolist():
        board = PEDALBOARD_CLASSES[kind](cutoff_frequency_hz=freq_hz, gain_db=gain_db, q=q)
        ir = board(impulse, sample_rate)[0].astype(np.float64)
        ours = _ours_db(kind, np.array([gain_db, freq_hz, q]), freqs, sample_rate)
        deviation = np.abs(ours - _ir_db(ir, bins)).max()
        bound = TOLERANCE_DB if freq_hz >= PEDALBOARD_EXACT_FROM_HZ else PEDALBOARD_FLOAT32_TOLERANCE_DB
        assert deviation <= bound, f"{kind} ({gain_db:.2f} dB, {freq_hz:.1f} Hz, Q {q:.2f}): {deviation:.3g} dB"


# --- analytic special cases -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["low_shelf", "peak", "high_shelf"])
def test_zero_gain_is_identity(kind: str) -> None:
    freq = np.array([30.0, 440.0, 5000.0, 16000.0])
    q = np.array([0.3, 0.707, 1.5, 5.0])
    sos = biquad_sos(kind, np.zeros(4), freq, q, 44100)
    np.testing.assert_allclose(sos[:, :3], sos[:, 3:], rtol=0, atol=1e-14)
    x = np.random.default_rng(0).standard_normal(2048)
    np.testing.assert_allclose(scipy.signal.sosfilt(sos, x), x, atol=1e-12)


@pytest.mark.parametrize("gain_db", [-15.0, -6.0, 3.0, 15.0])
def test_shelf_asymptotes_and_corner(gain_db: float) -> None:
    sr = 48000
    edges = np.array([0.0, sr / 2])  # DC and Nyquist
    low = biquad_sos("low_shelf", gain_db, 200.0, 0.707, sr)
    high = biquad_sos("high_shelf", gain_db, 4000.0, 0.707, sr)
    _, h_low = scipy.signal.sosfreqz(low[None], worN=edges, fs=sr)
    _, h_high = scipy.signal.sosfreqz(high[None], worN=edges, fs=sr)
    np.testing.assert_allclose(20 * np.log10(np.abs(h_low)), [gain_db, 0.0], atol=1e-9)
    np.testing.assert_allclose(20 * np.log10(np.abs(h_high)), [0.0, gain_db], atol=1e-9)
    # at the corner frequency a cookbook shelf has exactly half its dB gain
    for sos, f0 in ((low, 200.0), (high, 4000.0)):
        _, h = scipy.signal.sosfreqz(sos[None], worN=[f0], fs=sr)
        assert 20 * np.log10(abs(h[0])) == pytest.approx(gain_db / 2, abs=1e-9)


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_peak_gain_at_centre_equals_gain(sample_rate: int) -> None:
    draws = _draws("peak", 50, seed=3)
    for gain_db, freq_hz, q in draws.tolist():
        sos = biquad_sos("peak", gain_db, freq_hz, q, sample_rate)
        freqs = np.array([freq_hz, 0.0, sample_rate / 2])
        _, h = scipy.signal.sosfreqz(sos[None], worN=freqs, fs=sample_rate)
        np.testing.assert_allclose(20 * np.log10(np.abs(h)), [gain_db, 0.0, 0.0], atol=1e-9)
        # the peak is the extremum of the response
        dense = 20 * np.log10(np.abs(scipy.signal.sosfreqz(sos[None], worN=4096, fs=sample_rate)[1]))
        assert np.abs(dense).max() <= abs(gain_db) + 1e-9


def test_lowpass_highpass_corner() -> None:
    sr = 44100
    for f0 in (100.0, 1000.0, 10000.0):
        for kind, flat in (("lowpass", 0.0), ("highpass", sr / 2)):
            sos = biquad_sos(kind, 0.0, f0, 1 / math.sqrt(2), sr)
            _, h = scipy.signal.sosfreqz(sos[None], worN=[f0, flat], fs=sr)
            db = 20 * np.log10(np.abs(h))
            assert db[0] == pytest.approx(-3.0103, abs=1e-4)  # Butterworth: half power at f0
            assert db[1] == pytest.approx(0.0, abs=1e-9)
            # in general the cookbook pass filters have |H(f0)| = Q
            sos = biquad_sos(kind, 0.0, f0, 2.5, sr)
            _, h = scipy.signal.sosfreqz(sos[None], worN=[f0], fs=sr)
            assert abs(h[0]) == pytest.approx(2.5, rel=1e-9)


def test_bad_kind_and_q_raise() -> None:
    with pytest.raises(ValueError, match="unknown biquad kind"):
        biquad_sos("notch", 0.0, 1000.0, 1.0, 44100)
    with pytest.raises(ValueError, match="Q must be positive"):
        biquad_sos("peak", 3.0, 1000.0, 0.0, 44100)


# --- gradients -------------------------------------------------------------------------------


def test_gradcheck_cascade_db_wrt_gain_freq_q() -> None:
    params = DEFAULT_EQ.sample(2, torch.Generator().manual_seed(5)).requires_grad_(True)
    freqs = torch.tensor(np.geomspace(25, 20000, 24))
    # eps 1e-4: below ~100 Hz |H|² of a low-frequency section is a difference of nearly equal
    # terms, so float64 forward values carry ~1e-10 dB of noise that a smaller step amplifies
    assert torch.autograd.gradcheck(
        lambda p: DEFAULT_EQ.response_db(p, freqs, 44100), (params,), eps=1e-4, atol=1e-5, rtol=1e-4
    )
    # every knob influences the response (no silently detached parameter)
    DEFAULT_EQ.response_db(params, freqs, 44100).sum().backward()
    assert bool((params.grad.abs() > 0).all())


# --- stability ----------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", [16000, 22050, 44100, 48000])
def test_every_section_below_nyquist_is_stable(sample_rate: int) -> None:
    params = DEFAULT_EQ.sample(100_000, torch.Generator().manual_seed(sample_rate))
    nyquist = sample_rate / 2
    checked = 0
    for band, kind in enumerate(DEFAULT_EQ.kinds):
        gain, freq, q = params[:, band].unbind(-1)
        ok = freq < nyquist
        if bool((~ok).any()):
            with pytest.raises(ValueError, match=r"outside \(0, .*Nyquist"):
                biquad_sos(kind, gain, freq, q, sample_rate)
        if not bool(ok.any()):
            continue
        sos = biquad_sos(kind, gain[ok], freq[ok], q[ok], sample_rate)
        a1, a2 = sos[:, 4].numpy(), sos[:, 5].numpy()
        companion = np.zeros((len(a1), 2, 2))
        companion[:, 0, 0], companion[:, 0, 1], companion[:, 1, 0] = -a1, -a2, 1.0
        radius = np.abs(np.linalg.eigvals(companion))  # independent of eqlib.biquad.poles
        assert radius.max() < 1.0, f"{kind} at {sample_rate} Hz: pole radius {radius.max()}"
        assert bool(is_stable(sos).all())
        ours = np.sort(poles(sos).abs().numpy(), axis=-1)
        np.testing.assert_allclose(ours, np.sort(radius, axis=-1), atol=1e-9)
        checked += int(ok.sum())
    assert checked >= 100_000 * (2 if sample_rate == 16000 else 3)


@pytest.mark.parametrize("freq_hz", [8000.0, 8000.5, 12000.0])
def test_frequency_at_or_above_nyquist_raises(freq_hz: float) -> None:
    with pytest.raises(ValueError, match="8000.0\\) Hz, the open band below Nyquist at sample rate 16000"):
        biquad_sos("high_shelf", 3.0, freq_hz, 0.7, 16000)


# --- fast frequency-sampling path vs exact time-domain filtering ---------------------------


EXTREME_EQS = np.array(
    [
        [[15.0, 30.0, 1.5], [15.0, 100.0, 5.0], [-15.0, 800.0, 5.0], [15.0, 16000.0, 1.5]],
        [[-15.0, 30.0, 0.5], [-15.0, 100.0, 5.0], [15.0, 8000.0, 5.0], [-15.0, 2000.0, 0.5]],
        [[15.0, 30.0, 1.5], [15.0, 100.0, 5.0], [15.0, 800.0, 5.0], [15.0, 2000.0, 1.5]],
    ]
)


def test_sosfilt_fft_matches_exact_on_speech_like(speech_like) -> None:
    sr = 44100
    audio = speech_like(seconds=3.0, sample_rate=sr, seed=11)
    params = torch.cat([DEFAULT_EQ.sample(13, torch.Generator().manual_seed(2)), torch.as_tensor(EXTREME_EQS)])
    sos = DEFAULT_EQ.sos(params, sr)
    batch = torch.as_tensor(audio).expand(len(params), -1)
    fast = sosfilt_fft(sos, batch).numpy()
    for i in range(len(params)):
        exact = sosfilt_exact(sos[i].numpy(), audio)
        residual_db = 10 * np.log10(np.sum((fast[i] - exact) ** 2) / np.sum(exact**2))
        assert residual_db <= -60.0, f"EQ {params[i].tolist()}: fast path residual {residual_db:.1f} dB"


def test_sosfilt_fft_keeps_dtype_and_shared_sections(speech_like) -> None:
    audio = torch.as_tensor(speech_like(seconds=0.5, sample_rate=22050, seed=1), dtype=torch.float32)
    sos = DEFAULT_EQ.sos(torch.as_tensor(EXTREME_EQS[1]), 22050)
    out = sosfilt_fft(sos, audio.expand(2, -1))
    assert out.dtype == torch.float32 and out.shape == (2, audio.shape[0])
    exact = sosfilt_exact(sos.numpy(), audio.double().numpy())
    assert 10 * np.log10(np.sum((out[0].double().numpy() - exact) ** 2) / np.sum(exact**2)) <= -60.0
