"""The procedural speech synthesiser, checked against published facts about speech and real recordings."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfiltfilt, stft, welch

from eqlib.audio import loudness_lufs, resample
from eqlib.runtime import shared_corpora_dir
from eqlib.speech_spectrum import (ANSI_S35_CENTRES_HZ, BYRNE_1994_BAND_LEVELS_DB, ansi_normal_band_levels_db,
                                   byrne_band_levels_db, pooled_ltas_db, third_octave_bandwidth_hz,
                                   third_octave_levels_db)
from eqlib.speech_synth import (NUM_SPEAKERS, Speaker, speaker_ids, synthesize, synthesize_batch)

SR = 44100


def _normalised(levels_db: np.ndarray) -> np.ndarray:
    """Band levels re their total power (dB)."""
    return levels_db - 10 * np.log10(np.sum(10 ** (levels_db / 10), axis=-1, keepdims=True))


@pytest.fixture(scope="module")
def test_utterances() -> list[np.ndarray]:
    """One 3-s utterance by each of the 40 test-split speakers."""
    return [synthesize(s, 3.0, 100 + s) for s in speaker_ids("test")]


def _pooled_ltas(utterances: list[np.ndarray], centres_hz: np.ndarray) -> np.ndarray:
    """Pooled third-octave LTAS, each utterance re its total power in the bands (dB ``(bands,)``)."""
    return pooled_ltas_db(np.array([third_octave_levels_db(u, SR, centres_hz) for u in utterances]))


@pytest.fixture(scope="module")
def ltas_synth(test_utterances: list[np.ndarray]) -> np.ndarray:
    """Pooled third-octave LTAS of the test speakers in the ANSI bands, 160 Hz - 8 kHz."""
    return _pooled_ltas(test_utterances, ANSI_S35_CENTRES_HZ)


# --- the band-level helper and the published table ------------------------------------------------------
def test_third_octave_levels_of_a_sine_and_white_noise() -> None:
    t = np.arange(4 * SR) / SR
    sine = 0.5 * np.sin(2 * np.pi * 1000 * t)
    levels = third_octave_levels_db(sine, SR, np.array([250.0, 1000.0, 4000.0]))
    assert levels[1] == pytest.approx(10 * np.log10(0.5 ** 2 / 2), abs=0.1)  # all its power, in one band
    assert levels[0] < levels[1] - 60 and levels[2] < levels[1] - 60
    noise = np.random.default_rng(0).standard_normal(20 * SR)
    centres = np.array([200.0, 1000.0, 8000.0])
    expected = 10 * np.log10(third_octave_bandwidth_hz(centres) / (SR / 2))  # unit variance spread over Nyquist
    np.testing.assert_allclose(third_octave_levels_db(noise, SR, centres), expected, atol=0.3)


def test_third_octave_levels_reject_bands_above_nyquist() -> None:
    with pytest.raises(ValueError, match="Nyquist"):
        third_octave_levels_db(np.zeros(16000), 16000, np.array([8000.0]))


def test_ansi_table_sums_to_the_published_overall_level() -> None:
    # ANSI S3.5-1997 states 62.35 dB SPL overall for normal vocal effort
    total = 10 * np.log10(np.sum(10 ** (ansi_normal_band_levels_db() / 10)))
    assert total == pytest.approx(62.35, abs=0.05)


# --- (a) long-term average spectrum vs ANSI S3.5-1997 -----------------------------------------------------
def test_ltas_matches_ansi_s35_normal_speech(ltas_synth: np.ndarray) -> None:
    deviation = ltas_synth - _normalised(ansi_normal_band_levels_db())
    worst = int(np.argmax(np.abs(deviation)))
    assert np.all(np.abs(deviation) <= 4.0), (
        f"LTAS deviates {deviation[worst]:+.1f} dB at {ANSI_S35_CENTRES_HZ[worst]:g} Hz; all: {np.round(deviation, 1)}")


def test_byrne_table_sums_to_its_overall_level() -> None:
    # Byrne et al. (1994) give the universal LTASS for an overall level of 70 dB SPL
    assert 10 * np.log10(np.sum(10 ** (BYRNE_1994_BAND_LEVELS_DB / 10))) == pytest.approx(70.0, abs=0.05)


def test_ltas_matches_byrne_1994_from_100_hz_to_10_khz(test_utterances: list[np.ndarray]) -> None:
    centres, published = byrne_band_levels_db(100.0, 10000.0)
    assert centres[0] == 100 and centres[-1] == 10000 and centres.size == 21
    deviation = _pooled_ltas(test_utterances, centres) - _normalised(published)
    report = ", ".join(f"{c:g} Hz {d:+.1f}" for c, d in zip(centres, deviation))
    assert np.all(np.abs(deviation) <= 4.0), f"synthetic minus Byrne 1994 LTASS (dB): {report}"


# --- (b) syllabic modulation ----------------------------------------------------------------------------
def _modulation_spectrum(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Power per log-frequency (f · P(f)) of the 100-Hz low-passed amplitude envelope, at 200 Hz."""
    env = sosfiltfilt(butter(4, 100, fs=sample_rate, output="sos"), np.abs(x))[:: sample_rate // 200]
    freqs, power = welch(env - env.mean(), fs=200, nperseg=256)
    return freqs, freqs * power / np.mean(env ** 2)


def test_envelope_modulation_peaks_at_the_syllable_rate() -> None:
    total = 0.0
    for s in speaker_ids("val")[:12]:
        freqs, mod = _modulation_spectrum(synthesize(s, 3.0, 7).astype(np.float64), SR)
        total = total + mod
    band = (freqs >= 0.5) & (freqs <= 32)
    peak_hz = freqs[band][np.argmax(total[band])]
    assert 2.0 <= peak_hz <= 8.0, f"modulation spectrum peaks at {peak_hz:.2f} Hz"


# --- (c) determinism, splits, speakers, bandwidth, safety -----------------------------------------------
def test_same_seed_same_bytes_and_different_seeds_differ() -> None:
    a, b = synthesize(5, 1.5, 3), synthesize(5, 1.5, 3)
    assert a.dtype == np.float32 and a.shape == (int(round(1.5 * SR)),)
    assert a.tobytes() == b.tobytes()
    assert not np.allclose(a, synthesize(5, 1.5, 4))
    assert not np.allclose(a, synthesize(6, 1.5, 3))


def test_batch_is_the_stack_of_single_utterances() -> None:
    batch = synthesize_batch([1, 2], [10, 11], 1.0)
    assert batch.shape == (2, SR)
    assert batch[1].tobytes() == synthesize(2, 1.0, 11).tobytes()


def test_speaker_splits_are_disjoint_and_cover_every_id() -> None:
    splits = {name: set(speaker_ids(name)) for name in ("train", "val", "test")}
    assert sum(len(s) for s in splits.values()) == NUM_SPEAKERS
    assert set.union(*splits.values()) == set(range(NUM_SPEAKERS))
    assert not (splits["train"] & splits["val"] or splits["train"] & splits["test"] or splits["val"] & splits["test"])
    assert speaker_ids("test") == speaker_ids("test")


def test_speakers_span_male_female_and_child_voices() -> None:
    speakers = [Speaker.from_id(i) for i in range(NUM_SPEAKERS)]
    by_class = {c: [s for s in speakers if s.voice_class == c] for c in ("male", "female", "child")}
    assert all(len(v) >= 10 for v in by_class.values())
    median_f0 = {c: np.median([s.f0_hz for s in v]) for c, v in by_class.items()}
    median_scale = {c: np.median([s.formant_scale for s in v]) for c, v in by_class.items()}
    assert 95 < median_f0["male"] < 150 < median_f0["female"] < 250 < median_f0["child"] < 330
    assert median_scale["male"] < median_scale["female"] < median_scale["child"]
    assert Speaker.from_id(7) == Speaker.from_id(7)


def _median_f0_hz(x: np.ndarray) -> float:
    """Median YIN f0 (librosa, an independent estimator) over the loudest half of the frames."""
    import librosa

    f0 = librosa.yin(x, fmin=60, fmax=500, sr=SR, frame_length=2048, hop_length=512)
    rms = librosa.feature.rms(y=x, frame_length=2048, hop_length=512)[0][: f0.size]
    return float(np.median(f0[rms >= np.median(rms)]))


def test_measured_pitch_follows_the_speaker() -> None:
    speakers = [Speaker.from_id(i) for i in speaker_ids("test")]
    low = min(speakers, key=lambda s: s.f0_hz)
    high = max(speakers, key=lambda s: s.f0_hz)
    f0_low = _median_f0_hz(synthesize(low.speaker_id, 3.0, 1))
    f0_high = _median_f0_hz(synthesize(high.speaker_id, 3.0, 1))
    assert f0_low == pytest.approx(low.f0_hz, rel=0.25)
    assert f0_high == pytest.approx(high.f0_hz, rel=0.25)
    assert f0_high > 1.6 * f0_low


def test_high_band_level_like_real_speech_and_sibilants_reach_16k() -> None:
    ratios, sibilant_16k = [], []
    for s in speaker_ids("test")[:12]:
        x = synthesize(s, 3.0, 2).astype(np.float64)
        freqs, psd = welch(x, fs=SR, nperseg=4096)
        band = lambda lo, hi: psd[(freqs >= lo) & (freqs < hi)].sum()  # noqa: E731
        ratios.append(10 * np.log10(band(12000, 20000) / band(300, 3000)))
        f, _, spec = stft(x, fs=SR, nperseg=1024)
        power = np.abs(spec) ** 2
        hf_share = power[f > 4000].sum(0) / (power.sum(0) + 1e-20)
        sib = power[:, hf_share > 0.6]  # fricative frames: most of their energy above 4 kHz
        assert sib.shape[1] > 0, f"speaker {s}: no sibilant frames"
        sibilant_16k.append(10 * np.log10(sib[(f >= 14000) & (f < 18000)].sum() / sib[(f >= 4000) & (f < 8000)].sum()))
    # real-speech corpus: 12-20 kHz re 300-3000 Hz is -18 to -49 dB (MANIFEST.tsv); allow 3 dB either side
    assert all(-52 <= r <= -15 for r in ratios), np.round(ratios, 1)
    # sibilant noise keeps energy at 14-18 kHz, not a 8-kHz band-limited hiss
    assert np.median(sibilant_16k) > -20, np.round(sibilant_16k, 1)


def test_output_is_finite_peak_safe_and_loudness_normalised() -> None:
    for s, seed in [(0, 0), (123, 5), (399, 9), (250, 77)]:
        x = synthesize(s, 3.0, seed)
        assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0
        assert -26.5 <= loudness_lufs(x, SR) <= -19.5


@pytest.mark.parametrize("rate", [16000, 48000])
def test_other_sample_rates(rate: int) -> None:
    x = synthesize(3, 1.0, 0, sample_rate=rate)
    assert x.shape == (rate,) and np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: synthesize(NUM_SPEAKERS, 1.0, 0), "outside"),
    (lambda: synthesize(-1, 1.0, 0), "outside"),
    (lambda: synthesize(0, 0.0, 0), "duration_s"),
    (lambda: synthesize(0, float("nan"), 0), "duration_s"),
    (lambda: synthesize(0, 1.0, -3), "seed"),
    (lambda: synthesize(0, 1.0, 0, sample_rate=8000), "sample_rate"),
    (lambda: speaker_ids("dev"), "unknown split"),
    (lambda: synthesize_batch([0, 1], [0], 1.0), "seeds"),
])
def test_bad_arguments_raise_clear_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- (d) against the real-speech corpus ---------------------------------------------------------------
def test_ltas_close_to_the_real_speech_corpus(ltas_synth: np.ndarray) -> None:
    corpora = shared_corpora_dir()
    folder = corpora / "real-speech" if corpora else None
    if folder is None or not folder.is_dir():
        pytest.skip("real-speech corpus not found (../shared/corpora/real-speech or $EQLIB_CORPORA)")
    levels = []
    for path in sorted(folder.glob("*/*.flac")):
        x, rate = sf.read(path, dtype="float64", always_2d=True)
        levels.append(third_octave_levels_db(resample(x[:, 0], rate, SR), SR, ANSI_S35_CENTRES_HZ))
    real = pooled_ltas_db(np.array(levels))
    deviation = ltas_synth - real
    report = ", ".join(f"{c:g} Hz {d:+.1f}" for c, d in zip(ANSI_S35_CENTRES_HZ, deviation))
    print(f"synthetic minus real LTAS (dB): {report}")
    assert np.all(np.abs(deviation) <= 8.0), report


def test_f0_contour_stays_within_its_span_for_short_phrases():
    """Regression: a short phrase once bent f0 to 6 kHz (and a 288 GiB jitter array); now it stays in range."""
    from eqlib.speech_synth import F0_SPAN_ST, Speaker, _compose, _f0_contour

    for speaker_id, seed in [(167, 1474813088), *((s, s * 7919) for s in range(40))]:
        speaker = Speaker.from_id(speaker_id)
        rng = np.random.default_rng(seed)
        score = _compose(speaker, 3.0, rng)
        f0 = _f0_contour(speaker, score, np.arange(0, 3.0, 0.005), rng)
        assert np.all(np.isfinite(f0))
        assert f0.max() <= speaker.f0_hz * 2 ** (F0_SPAN_ST / 12) + 1e-6
        assert f0.min() >= speaker.f0_hz * 2 ** (-F0_SPAN_ST / 12) - 1e-6
