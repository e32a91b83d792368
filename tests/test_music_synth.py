"""The procedural music synthesiser, checked against independent signal facts and against real music excerpts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.signal import chirp, stft, welch

from eqlib.audio import loudness_lufs
from eqlib.corpus import CorpusError
from eqlib.figures_music import (COMPARISON_BAND_HZ, MUSIC_CENTRES_HZ, figure_music_ltas, pooled_deviation_db,
                                 real_music_levels_db, relative_levels_db, spread_features,
                                 synthetic_music_levels_db)
from eqlib.music_instruments import FAMILIES, draw_kit, draw_timbre
from eqlib.music_score import Hit, Note
from eqlib.music_sounds import _SINE, NoiseBank, control_times, midi_hz, oscillator, render_drums, render_part
from eqlib.music_synth import (NUM_ARRANGEMENTS, SPLIT_SIZES, STYLES, Arrangement, _room_ir, arrangement_ids,
                               synthesize, synthesize_batch)
from eqlib.speech_spectrum import third_octave_levels_db

SR = 44100
# Pooled LTAS of the test arrangements against the real excerpts, 40 Hz - 12.5 kHz bands (see the tests' docstrings).
POOLED_MAX_DB = 5.0
POOLED_RMS_DB = 2.0
COVERAGE_MIN = 0.85  # share of real excerpts inside the synthetic 2.5-97.5 % range, per feature

def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _peak_hz_db(x: np.ndarray, target_hz: float, width_hz: float) -> tuple[float, float]:
    """Frequency (Hz) and level (dB) of the largest Hann-windowed FFT peak within ``target_hz ± width_hz``."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1.0 / SR)
    inside = np.flatnonzero(np.abs(freqs - target_hz) <= width_hz)
    k = inside[np.argmax(spectrum[inside])]
    return float(freqs[k]), float(20 * np.log10(spectrum[k] + 1e-20))


# --- oscillators and instruments against numpy/scipy ---------------------------------------------------
def test_oscillator_matches_numpy_sine_and_scipy_chirp() -> None:
    t = np.arange(SR) / SR
    np.testing.assert_allclose(oscillator(_SINE, 441.3, SR, SR, 0.25), np.sin(2 * np.pi * (441.3 * t + 0.25)),
                               atol=2e-3)
    # a linear sweep 200 Hz -> 3 kHz given at the block edges (16 samples apart) against scipy.signal.chirp
    swept = oscillator(_SINE, 200.0 + 2800.0 * control_times(SR, SR), SR, SR)
    np.testing.assert_allclose(swept, chirp(t, 200.0, 1.0, 3000.0, method="linear", phi=-90), atol=5e-3)


def _render(family: str, note: Note, seconds: float, seed: int = 1) -> np.ndarray:
    timbre = draw_timbre(family, _rng(seed))
    return render_part([note], timbre, int(seconds * SR), SR, _rng(2), NoiseBank(_rng(3), SR))


def test_clarinet_even_harmonics_are_weak_below_1500_hz() -> None:
    # closed-pipe reed: odd harmonics dominate the low register (Benade 1976)
    f0 = midi_hz(50)
    x = _render("clarinet", Note(0.0, 1.0, 50, 0.8), 1.0)[int(0.2 * SR):int(0.9 * SR)]
    level = {k: _peak_hz_db(x, k * f0, 0.2 * f0)[1] for k in range(1, 9)}
    even_drop = [level[k] - (level[k - 1] + level[k + 1]) / 2 for k in (2, 4, 6)]
    assert np.mean(even_drop) < -8.0, np.round(even_drop, 1)


def test_piano_partials_run_sharp_and_upper_partials_decay_faster() -> None:
    f0 = midi_hz(40)
    x = _render("piano", Note(0.0, 2.0, 40, 0.9), 2.0)
    measured = {k: _peak_hz_db(x[:int(1.5 * SR)], k * f0 * (1 + 0.0003 * k * k / 2), 0.3 * f0)[0]
                for k in (1, 2, 6, 20)}
    ratio = {k: measured[k] / (k * measured[1]) for k in (2, 6, 20)}
    # stiff strings: f_k = k f0 sqrt(1 + B k^2) (Fletcher 1964), the stretch grows with k
    assert ratio[20] > ratio[6] > 1.0 and ratio[20] > 1.004, ratio
    f, t, spec = stft(x, fs=SR, nperseg=2048)
    power = np.abs(spec) ** 2

    def fall_db(lo: float, hi: float) -> float:
        band = power[(f >= lo) & (f < hi)].sum(axis=0)
        return 10 * np.log10(band[np.argmin(np.abs(t - 1.0))] / band[np.argmin(np.abs(t - 0.1))])

    assert fall_db(1500, 4000) < fall_db(60, 250) - 6.0


def test_sung_melody_pitch_stays_in_the_voice_register() -> None:
    import librosa

    arrangement = next(Arrangement.from_id(a) for a in range(NUM_ARRANGEMENTS)
                       if Arrangement.from_id(a).style == "solo"
                       and Arrangement.from_id(a).parts[0].timbre.family.startswith("voice"))
    part = arrangement.parts[0]
    x = synthesize(arrangement.arrangement_id, 4.0, 5)
    f0 = librosa.yin(x, fmin=60, fmax=1200, sr=SR, frame_length=4096, hop_length=1024)
    rms = librosa.feature.rms(y=x, frame_length=4096, hop_length=1024)[0][:f0.size]
    median = float(np.median(f0[rms >= np.median(rms)]))
    low, high = midi_hz(part.register[0]), midi_hz(part.register[1])
    assert low / 1.06 <= median <= high * 1.06, (median, low, high)


def test_harmony_keeps_to_one_diatonic_scale() -> None:
    """CQT chroma (librosa) of tonal pieces: one rotation of the major scale holds most of the energy.

    White noise puts 0.59 of its chroma on the best rotation; the real music excerpts put 0.59-0.87 (median 0.69,
    tonal pieces 0.65-0.87); these pieces, rich in harmonics and stretched piano partials, measured 0.73-0.88.
    """
    import librosa

    major = np.zeros(12)
    major[[0, 2, 4, 5, 7, 9, 11]] = 1
    tonal = [a for a in arrangement_ids("test")
             if Arrangement.from_id(a).style in ("piano", "chamber", "orchestral", "acoustic")][:8]
    shares = []
    for a in tonal:
        chroma = librosa.feature.chroma_cqt(y=synthesize(a, 4.0, 11), sr=SR, hop_length=2048).sum(axis=1)
        shares.append(max(np.roll(major, k) @ chroma for k in range(12)) / chroma.sum())
    assert len(tonal) == 8 and np.median(shares) >= 0.78 and min(shares) >= 0.7, np.round(shares, 2)


def test_kick_is_low_and_hats_are_high() -> None:
    kit = draw_kit("acoustic", _rng(4))
    noise = NoiseBank(_rng(5), SR)

    def centroid_hz(piece: str) -> float:
        x = render_drums([Hit(0.05 + 0.25 * i, piece, 0.9) for i in range(4)], kit, SR, SR, _rng(6), noise)
        freqs, psd = welch(x, fs=SR, nperseg=4096)
        return float(np.sum(freqs * psd) / np.sum(psd))

    assert centroid_hz("kick") < 200.0 < 2000.0 < centroid_hz("snare") < 6000.0 < centroid_hz("hat_closed")


def test_every_family_plays_finite_notes_at_several_rates() -> None:
    for rate in (16000, 44100, 96000):
        for family in FAMILIES:
            timbre = draw_timbre(family, _rng(7))
            midi = (timbre.low_midi + timbre.high_midi) // 2
            x = render_part([Note(0.01, 0.3, midi, 0.8)], timbre, rate // 2, rate, _rng(8), NoiseBank(_rng(9), rate))
            assert np.all(np.isfinite(x)) and np.max(np.abs(x)) > 1e-3, (family, rate)


# --- room and chain -------------------------------------------------------------------------------------
def test_room_tail_decays_at_its_rt60() -> None:
    """Schroeder (1965) backward integration of the tail: T20 (-5 to -25 dB) times 3 is the RT60."""
    checked = 0
    for a in arrangement_ids("test"):
        arrangement = Arrangement.from_id(a)
        if arrangement.rt60_s > 2.0:  # longer tails are cut at 1.5 s, before -25 dB
            continue
        ir = _room_ir(dataclasses.replace(arrangement, reflections=()), SR, _rng(a)).astype(np.float64)
        edc = 10 * np.log10(np.cumsum(ir[::-1] ** 2)[::-1] / np.sum(ir ** 2))
        t5, t25 = np.argmax(edc <= -5) / SR, np.argmax(edc <= -25) / SR
        assert 3 * (t25 - t5) == pytest.approx(arrangement.rt60_s, rel=0.1), a
        checked += 1
    assert checked >= 20


def test_lossy_chains_are_empty_above_their_cutoff() -> None:
    lossy = [Arrangement.from_id(a) for a in arrangement_ids("test") if Arrangement.from_id(a).lossy]
    assert len(lossy) >= 8
    for arrangement in lossy[:4]:
        freqs, psd = welch(synthesize(arrangement.arrangement_id, 3.0, 1).astype(np.float64), fs=SR, nperseg=8192)
        above = psd[(freqs > arrangement.lowpass_hz + 1000) & (freqs < 0.45 * SR)].sum()
        below = psd[freqs < arrangement.lowpass_hz - 500].sum()
        assert 10 * np.log10(above / below + 1e-30) < -60.0, arrangement.arrangement_id


def test_excerpts_of_one_arrangement_share_a_sound() -> None:
    """Two excerpts of one arrangement (same ensemble, room and chain) have closer spectra than two of different
    arrangements, as two utterances of one speaker do."""
    ids = arrangement_ids("test")[:16]
    levels = relative_levels_db(np.array([third_octave_levels_db(synthesize(a, 3.0, seed), SR, MUSIC_CENTRES_HZ)
                                          for seed in (21, 22) for a in ids]))
    keep = (MUSIC_CENTRES_HZ >= COMPARISON_BAND_HZ[0]) & (MUSIC_CENTRES_HZ <= COMPARISON_BAND_HZ[1])
    first, second = levels[:len(ids), keep], levels[len(ids):, keep]
    distance = np.sqrt(np.mean((first[:, None, :] - second[None, :, :]) ** 2, axis=-1))
    within = np.diag(distance).mean()
    between = distance[~np.eye(len(ids), dtype=bool)].mean()
    assert within < 0.6 * between, (within, between)


# --- determinism, splits, arrangements, safety ------------------------------------------------------------
def test_same_seed_same_bytes_and_different_seeds_differ() -> None:
    a, b = synthesize(5, 1.5, 3), synthesize(5, 1.5, 3)
    assert a.dtype == np.float32 and a.shape == (int(round(1.5 * SR)),)
    assert a.tobytes() == b.tobytes()
    assert not np.allclose(a, synthesize(5, 1.5, 4))
    assert not np.allclose(a, synthesize(6, 1.5, 3))


def test_batch_is_the_stack_of_single_excerpts() -> None:
    batch = synthesize_batch([1, 2], [10, 11], 1.0)
    assert batch.shape == (2, SR)
    assert batch[1].tobytes() == synthesize(2, 1.0, 11).tobytes()


def test_arrangement_splits_are_disjoint_and_cover_every_id() -> None:
    splits = {name: set(arrangement_ids(name)) for name in SPLIT_SIZES}
    assert {name: len(ids) for name, ids in splits.items()} == SPLIT_SIZES
    assert set.union(*splits.values()) == set(range(NUM_ARRANGEMENTS))
    assert sum(len(s) for s in splits.values()) == NUM_ARRANGEMENTS
    assert arrangement_ids("test") == arrangement_ids("test")


def test_arrangements_span_every_style_with_and_without_drums() -> None:
    arrangements = [Arrangement.from_id(a) for a in range(NUM_ARRANGEMENTS)]
    assert {a.style for a in arrangements} == set(STYLES)
    test = [Arrangement.from_id(a) for a in arrangement_ids("test")]
    assert 0.25 <= np.mean([a.drum_free for a in test]) <= 0.75
    assert Arrangement.from_id(7) == Arrangement.from_id(7)


def test_output_is_finite_peak_safe_and_loudness_normalised() -> None:
    for a in arrangement_ids("val")[:24]:
        x = synthesize(a, 3.0, a)
        assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0
        assert -26.5 <= loudness_lufs(x, SR) <= -19.5, (a, Arrangement.from_id(a).style)


@pytest.mark.parametrize("rate", [16000, 48000, 96000])
def test_other_sample_rates(rate: int) -> None:
    x = synthesize(3, 1.0, 0, sample_rate=rate)
    assert x.shape == (rate,) and np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0


def test_short_excerpts() -> None:
    x = synthesize(11, 0.1, 2)
    assert x.shape == (int(0.1 * SR),) and np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: synthesize(NUM_ARRANGEMENTS, 1.0, 0), ValueError, "outside"),
    (lambda: synthesize(-1, 1.0, 0), ValueError, "outside"),
    (lambda: synthesize(1.5, 1.0, 0), TypeError, "must be an int"),
    (lambda: synthesize(0, 0.0, 0), ValueError, "duration_s"),
    (lambda: synthesize(0, float("nan"), 0), ValueError, "duration_s"),
    (lambda: synthesize(0, 61.0, 0), ValueError, "duration_s"),
    (lambda: synthesize(0, 1.0, -3), ValueError, "seed"),
    (lambda: synthesize(0, 1.0, 0, sample_rate=8000), ValueError, "sample_rate"),
    (lambda: arrangement_ids("dev"), ValueError, "unknown split"),
    (lambda: synthesize_batch([0, 1], [0], 1.0), ValueError, "seeds"),
    (lambda: synthesize_batch([], [], 1.0), ValueError, "empty"),
    (lambda: draw_timbre("theremin", _rng()), ValueError, "unknown instrument family"),
])
def test_bad_arguments_raise_clear_errors(call, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# --- against the real music excerpts ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_levels() -> np.ndarray:
    try:
        return real_music_levels_db()
    except CorpusError as err:
        pytest.skip(f"real music corpus not found: {err}")


@pytest.fixture(scope="module")
def synthetic_levels() -> np.ndarray:
    """Two 3-s excerpts of each of the 60 test arrangements."""
    return synthetic_music_levels_db("test", excerpts_per_arrangement=2)


def test_pooled_ltas_close_to_the_real_music_excerpts(synthetic_levels: np.ndarray, real_levels: np.ndarray) -> None:
    """Pooled third-octave LTAS, 40 Hz - 12.5 kHz bands, within POOLED_MAX_DB in every band and POOLED_RMS_DB overall.

    Measured while building: all 480 train arrangements deviate by at most 2.3 dB (at 40 Hz), 1.0 dB RMS. The
    pooled spectrum of 60 arrangements is noisy (a few bright or bass-heavy mixes dominate a band's mean power):
    95 % of random sets of 60 train arrangements stay within 4.9 dB and 2.0 dB RMS, and resampling the 44 real
    excerpts alone moves their pooled spectrum by up to 3.4 dB (median), 5.1 dB (95 %). The tolerances are that
    sampling spread, not a bias.
    """
    centres, deviation = pooled_deviation_db(synthetic_levels, real_levels)
    report = ", ".join(f"{c:.0f} Hz {d:+.1f}" for c, d in zip(centres, deviation))
    rms = float(np.sqrt(np.mean(deviation ** 2)))
    print(f"synthetic minus real pooled LTAS (dB): {report}; RMS {rms:.2f}")
    assert np.max(np.abs(deviation)) <= POOLED_MAX_DB, report
    assert rms <= POOLED_RMS_DB, f"RMS {rms:.2f} dB: {report}"


def test_spread_of_single_excerpts_covers_the_real_spread(synthetic_levels: np.ndarray,
                                                          real_levels: np.ndarray) -> None:
    """At least COVERAGE_MIN of the real excerpts lie inside the 2.5-97.5 % range of the synthetic ones, for the
    spectral slope 100 Hz-10 kHz and the octave levels at 100 Hz, 1 kHz and 8 kHz (re total).

    Measured while building: over all 480 train arrangements the share is 0.95-1.00 per feature; random sets of
    120 of those excerpts fall below 0.85 in at most 3.3 % of draws. A synthesiser with the spread of one style
    (or of speech) covers far less: e.g. half the real excerpts lie below -30 dB in the 8 kHz octave.
    """
    synthetic, real = spread_features(synthetic_levels), spread_features(real_levels)
    report = {}
    for name in synthetic:
        low, high = np.percentile(synthetic[name], [2.5, 97.5])
        report[name] = (float(np.mean((real[name] >= low) & (real[name] <= high))), low, high)
    print("; ".join(f"{n}: {share:.2f} of real inside synthetic {lo:.1f}..{hi:.1f}" for n, (share, lo, hi)
                    in report.items()))
    assert all(share >= COVERAGE_MIN for share, _, _ in report.values()), report


def test_figure_draws_both_sets(synthetic_levels: np.ndarray, real_levels: np.ndarray) -> None:
    import matplotlib.pyplot as plt

    fig = figure_music_ltas(synthetic_levels, real_levels)
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) >= 2
    plt.close(fig)


def test_reference_music_without_corpora_is_the_shipped_examples() -> None:
    from eqlib.corpora import no_corpora
    from eqlib.examples import list_examples
    from eqlib.figures_music import reference_music_levels_db

    with no_corpora():
        levels, source = reference_music_levels_db()
    assert source == "shipped music examples"
    assert levels.shape == (len(list_examples("music")), len(MUSIC_CENTRES_HZ)) and np.isfinite(levels).all()
