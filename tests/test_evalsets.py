"""Evaluation sets: deterministic, pairing rules hold, references are really the EQ'd clip, held-out stays out."""

import numpy as np
import pytest
import scipy.signal

import eqlib.evalsets as ev
from eqlib.corpus import is_held_out_vctk, real_speech
from eqlib.evalsets import EVAL_SETS, available_eval_sets, build_eval_set, cache_path, load_eval_set
from eqlib.runtime import shared_corpora_dir

SR = 44100
CORPORA = shared_corpora_dir()
HAVE_SHARED = CORPORA is not None and (CORPORA / "real-speech").is_dir() and (CORPORA / "music").is_dir()
needs_corpus = pytest.mark.skipif(not HAVE_SHARED, reason="shared corpora ../shared/corpora are not present")
SOURCES = ["examples", pytest.param("shared", marks=needs_corpus)]


def _id(side: dict) -> tuple[str, int]:
    return side["path"], side["start"]


def _clear_pools():
    for f in (ev._example_excerpts, ev._speech_excerpts, ev._music_excerpts, ev._synth_excerpts):
        f.cache_clear()


@pytest.mark.parametrize("source", SOURCES)
def test_rebuild_is_bit_identical_and_seed_matters(source):
    a = build_eval_set("speech-other-speaker", num_pairs=20, seed=3, source=source)
    _clear_pools()  # reread every file from disk
    b = build_eval_set("speech-other-speaker", num_pairs=20, seed=3, source=source)
    assert len(a) == len(b) == 20
    for p, q in zip(a, b):
        assert p.meta == q.meta
        assert np.array_equal(p.input, q.input) and np.array_equal(p.reference, q.reference)
        assert np.array_equal(p.params, q.params)
    c = build_eval_set("speech-other-speaker", num_pairs=20, seed=4, source=source)
    assert not np.allclose(np.stack([p.params for p in a]), np.stack([p.params for p in c]))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", EVAL_SETS)
def test_pairing_rules(name, source):
    num_pairs = 100 if name == "cross-chain" else 40  # cross-chain: at least one pair per ordered pair of chains
    pairs = build_eval_set(name, num_pairs=num_pairs, source=source)
    assert pairs and len(pairs) <= num_pairs
    seen = set()
    for p in pairs:
        i, r = p.meta["input"], p.meta["reference"]
        assert p.input.shape == p.reference.shape == (3 * SR,) and p.input.dtype == np.float32
        assert p.params.shape == (4, 3)
        p.settings  # θ within DEFAULT_EQ ranges (EQSettings checks)
        if name == "speech-other-speaker":
            assert i["speaker"] != r["speaker"] and "unlabelled" not in i["speaker"] + r["speaker"]
        elif name == "speech-same-speaker":
            assert i["speaker"] == r["speaker"] and i["path"] != r["path"] and "unlabelled" not in i["speaker"]
        elif name == "speech-same-clip":
            assert _id(i) == _id(r) and np.array_equal(p.input, p.reference_clean)
        elif name == "cross-chain":  # another chain, or another LibriTTS reader (each recorded at home)
            assert i["speaker"] != r["speaker"] and (i["chain"] != r["chain"] or i["chain"] == "libritts")
        elif name == "music-other-track":
            assert i["speaker"] != r["speaker"]
        elif name == "music-same-track":
            assert i["speaker"] == r["speaker"] and _id(i) != _id(r)
            if i["path"] == r["path"]:  # two excerpts of one file must not overlap
                assert abs(i["start"] - r["start"]) >= 3 * SR
        if name.startswith("speech"):
            assert is_held_out_vctk(i["speaker"]) and is_held_out_vctk(r["speaker"])
        if name != "speech-same-clip":
            assert (_id(i), _id(r)) not in seen  # each combination once
            seen.add((_id(i), _id(r)))
        assert 7000 <= i["bandwidth_hz"] <= 20000 and 7000 <= r["bandwidth_hz"] <= 20000
    if name == "cross-chain":
        directions = {(p.meta["input"]["chain"], p.meta["reference"]["chain"]) for p in pairs}
        assert ("vctk", "hifitts") in directions and ("hifitts", "vctk") in directions
        if source == "shared":  # the band-limited chains of speech-other-chains, both ways
            assert ("libritts", "vctk") in directions and ("vctk", "ljspeech") in directions
            assert min(p.meta["input"]["bandwidth_hz"] for p in pairs) == pytest.approx(0.45 * 16000)


@pytest.mark.parametrize("name", ["speech-other-speaker", "music-other-track"])
def test_reference_is_the_eqd_clip(name, ffmpeg):
    """Independent truth: scipy's sosfilt, the measured transfer function vs scipy's sosfreqz, and ffmpeg."""
    pairs = build_eval_set(name, num_pairs=3, source="examples")
    for p in pairs:
        clean = p.reference_clean.astype(np.float64)
        sos = p.settings.sos(SR)
        np.testing.assert_allclose(p.reference, scipy.signal.sosfilt(sos, clean), atol=2e-6)
        f, pxy = scipy.signal.csd(clean, p.reference.astype(np.float64), fs=SR, nperseg=4096)
        _, pxx = scipy.signal.welch(clean, fs=SR, nperseg=4096)
        _, h = scipy.signal.sosfreqz(sos, worN=f, fs=SR)
        band = (f > 60) & (f < 16000) & (pxx > pxx.max() * 1e-6)
        err_db = 20 * np.log10(np.abs(pxy[band] / pxx[band])) - 20 * np.log10(np.abs(h[band]))
        assert np.median(np.abs(err_db)) < 0.1 and np.percentile(np.abs(err_db), 95) < 0.5
    p = pairs[0]
    via_ffmpeg = ffmpeg(p.reference_clean.astype(np.float64), SR, p.settings.to_ffmpeg())
    np.testing.assert_allclose(p.reference, via_ffmpeg, atol=1e-4)


def test_loudness_of_inputs_is_normalised():
    import pyloudnorm

    meter = pyloudnorm.Meter(SR)
    for p in build_eval_set("music-same-track", num_pairs=4, source="examples"):
        assert meter.integrated_loudness(p.input.astype(np.float64)) == pytest.approx(-23.0, abs=0.05)
        assert p.meta["input"]["loudness_lufs"] >= -35.0


def test_cache_roundtrip_and_regeneration(tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "repo_root", lambda: tmp_path)
    path = cache_path("cross-chain", num_pairs=10, seed=1, source="examples")
    assert path.parent == tmp_path / "cache" / "evalsets" and path.name.startswith("cross-chain-")
    assert cache_path("cross-chain", num_pairs=10, seed=2, source="examples") != path
    built = build_eval_set("cross-chain", num_pairs=10, seed=1, source="examples")
    first = load_eval_set("cross-chain", num_pairs=10, seed=1, source="examples")
    assert path.exists()
    again = load_eval_set("cross-chain", num_pairs=10, seed=1, source="examples")  # from the file
    path.unlink()
    regenerated = load_eval_set("cross-chain", num_pairs=10, seed=1, source="examples")
    assert path.exists()
    for sets in zip(built, first, again, regenerated):
        assert all(np.array_equal(sets[0].reference, s.reference) and np.array_equal(sets[0].input, s.input)
                   and np.array_equal(sets[0].params, s.params) and sets[0].meta == s.meta for s in sets)


def test_unknown_set_and_availability():
    with pytest.raises(ValueError, match="valid: speech-other-speaker, .*music-same-track"):
        build_eval_set("speech-everything")
    avail = available_eval_sets()
    assert tuple(avail) == EVAL_SETS and set(avail.values()) == {"shared" if HAVE_SHARED else "examples"}


@needs_corpus
def test_shared_sets_use_only_held_out_speakers_never_in_train():
    corpus = real_speech(progress=False)
    train = {e.speaker for e in corpus.excerpts("train")} | {e.speaker for e in corpus.excerpts("valid")}
    assert train and not any(is_held_out_vctk(s) or s.startswith("hifitts") for s in train)
    for name in ("speech-other-speaker", "cross-chain"):
        pairs = build_eval_set(name, source="shared")
        used = {p.meta[side]["speaker"] for p in pairs for side in ("input", "reference")}
        assert not used & train
    assert len(build_eval_set("speech-other-speaker", source="shared")) == 150
