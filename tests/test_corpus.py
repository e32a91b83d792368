"""AudioFolder on a small tree written here (every bad-input class, split rules) and on the shared corpus."""

import hashlib
import logging
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from eqlib.corpus import SPLITS, AudioFolder, CorpusError, is_held_out_vctk, real_speech, stable_fraction
from eqlib.runtime import shared_corpora_dir

SR = 44100


def speechlike(seconds: float, sr: int, seed: int, level: float = 0.1) -> np.ndarray:
    """Noise with a 4 Hz syllable-like envelope (never silent for long), peak around ``level``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return (level * env * rng.standard_normal(t.size) / 3).astype(np.float64)


def write(path: Path, x: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.T if x.ndim == 2 else x, sr, subtype=subtype)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write(root / "alice" / "a1.wav", speechlike(4.0, 48000, 1), 48000)
    write(root / "alice" / "sub" / "a2.flac", speechlike(7.0, SR, 2), SR)  # deeper level still alice
    write(root / "bob" / "b1.FLAC", speechlike(3.5, SR, 3), SR)
    x = speechlike(4.0, SR, 4)
    write(root / "carol" / "stereo.wav", np.stack([x, 0.5 * x]), SR, "FLOAT")
    write(root / "carol" / "narrow.wav", speechlike(4.0, 8000, 5), 8000)
    nan = speechlike(4.0, SR, 6)
    nan[1000] = np.nan
    write(root / "dave" / "nan.wav", nan, SR, "FLOAT")
    (root / "dave" / "empty.wav").write_bytes(b"")
    (root / "dave" / "garbage.flac").write_bytes(b"this is not audio" * 100)
    write(root / "dave" / "silent.wav", np.zeros(4 * SR), SR)
    write(root / "erin" / "quiet.wav", speechlike(4.0, SR, 7, level=0.001), SR)  # about -60 LUFS
    write(root / "loose.wav", speechlike(4.0, SR, 8), SR)  # not in a speaker folder
    (root / "bob" / "notes.txt").write_text("not audio")
    return root


def test_bad_inputs_are_skipped_with_one_logged_line_each(tree, caplog):
    caplog.set_level(logging.WARNING, logger="eqlib.corpus")
    corpus = AudioFolder(tree, split_fractions=(1.0, 0.0, 0.0))
    assert corpus.speakers == ["alice", "bob", "carol", "dave", "erin"]
    clips = corpus.clips("train")
    assert sorted(c.path.name for c in clips) == ["a1.wav", "a2.flac", "b1.FLAC", "quiet.wav", "stereo.wav"]
    reasons = {p.name: r for p, r in corpus.skipped.items()}
    assert "not inside a speaker folder" in reasons["loose.wav"]
    assert "8000 Hz is below the minimum" in reasons["narrow.wav"]
    assert "NaN" in reasons["nan.wav"]
    assert "empty" in reasons["empty.wav"]
    assert "not a readable audio file" in reasons["garbage.flac"]
    assert "silent" in reasons["silent.wav"]
    assert set(reasons) == {"loose.wav", "narrow.wav", "nan.wav", "empty.wav", "garbage.flac", "silent.wav"}
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 6 and all(m.startswith("skipped ") and "\n" not in m for m in logged)
    ex = corpus.excerpts("train")
    assert "quiet.wav" not in {e.path.name for e in ex}  # below -35 LUFS: dropped
    assert {e.speaker for e in ex} == {"alice", "bob", "carol"}


def test_excerpts_are_resampled_normalised_and_mono(tree):
    corpus = AudioFolder(tree, split_fractions=(1.0, 0.0, 0.0))
    ex = corpus.excerpts("train")
    meter = pyloudnorm.Meter(SR)
    for e in ex:
        assert e.audio.dtype == np.float32 and e.audio.shape == (3 * SR,) and e.sample_rate == SR
        assert meter.integrated_loudness(e.audio.astype(np.float64)) == pytest.approx(-23.0, abs=0.05)
    assert sum(e.path.name == "a2.flac" for e in ex) == 2  # 7 s → two non-overlapping 3-s excerpts
    stereo = next(c for c in corpus.clips("train") if c.path.name == "stereo.wav")
    left = sf.read(str(stereo.path))[0][:, 0]
    np.testing.assert_allclose(stereo.audio, 0.75 * left, atol=1e-6)  # mid = (L + R) / 2 with R = L / 2


def test_48k_file_is_resampled_to_44k(tmp_path):
    t = np.arange(4 * 48000) / 48000
    write(tmp_path / "s" / "tone.wav", 0.3 * np.sin(2 * np.pi * 1000 * t), 48000, "FLOAT")
    (clip,) = AudioFolder(tmp_path, split_fractions=(1, 0, 0)).clips("train")
    assert clip.sample_rate == SR and abs(clip.audio.size - 4 * SR) <= 1
    spec = np.abs(np.fft.rfft(clip.audio * np.hanning(clip.audio.size)))
    assert np.fft.rfftfreq(clip.audio.size, 1 / SR)[np.argmax(spec)] == pytest.approx(1000, abs=0.5)


def test_excerpt_skips_leading_and_trailing_silence(tmp_path):
    x = np.concatenate([np.zeros(int(1.5 * SR)), speechlike(3.0, SR, 9), np.zeros(int(2.0 * SR))])
    write(tmp_path / "s" / "padded.wav", x, SR, "FLOAT")
    (e,) = AudioFolder(tmp_path, split_fractions=(1, 0, 0)).excerpts("train")
    assert abs(e.start - int(1.5 * SR)) <= int(0.05 * SR)


def test_folder_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such folder"):
        AudioFolder(tmp_path / "missing")
    (tmp_path / "spk").mkdir()
    (tmp_path / "spk" / "readme.txt").write_text("no audio here")
    with pytest.raises(CorpusError, match="no audio files"):
        AudioFolder(tmp_path)
    write(tmp_path / "spk" / "short.wav", speechlike(1.0, SR, 1), SR)
    corpus = AudioFolder(tmp_path, split_fractions=(1, 0, 0))
    with pytest.raises(CorpusError, match="no usable 3-s excerpts"):
        corpus.excerpts("train")  # readable but shorter than one excerpt
    with pytest.raises(CorpusError, match="valid splits: train, valid, test"):
        corpus.excerpts("dev")
    with pytest.raises(CorpusError, match="split must be one of"):
        AudioFolder(tmp_path, pins={"spk": "holdout"})


def test_stable_hash_is_sha256_not_python_hash():
    expected = int.from_bytes(hashlib.sha256(b"eqlib:vctk-p225").digest()[:8], "big") / 2**64
    assert stable_fraction("vctk-p225") == expected
    assert 0.39 < expected < 0.40  # a literal: the same on every machine and every run


def test_splits_are_speaker_disjoint_stable_and_pinnable(tmp_path):
    for i in range(40):
        write(tmp_path / f"spk{i:02d}" / "x.wav", speechlike(0.6, 16000, i), 16000)
    a = AudioFolder(tmp_path)
    b = AudioFolder(tmp_path)
    parts = {s: set(a.split_speakers(s)) for s in SPLITS}
    assert {s: set(b.split_speakers(s)) for s in SPLITS} == parts  # same assignment on every construction
    assert set().union(*parts.values()) == set(a.speakers) and sum(map(len, parts.values())) == 40
    assert all(parts[s] for s in SPLITS)  # 40 speakers at 80/10/10: every split populated
    assert AudioFolder(tmp_path, salt="other").split_speakers("test") != a.split_speakers("test")

    train_speaker = sorted(parts["train"])[0]
    pinned = AudioFolder(tmp_path, pins={train_speaker: "test"})
    assert pinned.split_of(train_speaker) == "test"
    group = sorted(parts["train"])[:3] + sorted(parts["valid"])[:1]
    grouped = AudioFolder(tmp_path, groups={"g": group}, pins={"g": "test"})
    assert {grouped.split_of(s) for s in group} == {"test"}
    unpinned = AudioFolder(tmp_path, groups={"g": group})
    assert len({unpinned.split_of(s) for s in group}) == 1  # hashed as one


def test_speaker_level_and_function(tree):
    by_file = AudioFolder(tree, speaker_level=0)
    assert "loose" in by_file.speakers and "a1" in by_file.speakers
    by_prefix = AudioFolder(tree, speaker_level=lambda rel: rel.name[0])
    assert by_prefix.files[tree / "alice" / "a1.wav"] == "a"


def test_held_out_vctk_names():
    assert is_held_out_vctk("vctk-p347") and is_held_out_vctk("vctk-p376") and is_held_out_vctk("vctk-s5")
    assert is_held_out_vctk("vctk-testset-unlabelled")
    assert not is_held_out_vctk("vctk-p346") and not is_held_out_vctk("vctk-p377") and not is_held_out_vctk("p350")


# --- the shared corpus (skipped in a fresh clone) -------------------------------------------------
CORPORA = shared_corpora_dir()
needs_corpus = pytest.mark.skipif(CORPORA is None or not (CORPORA / "real-speech").is_dir(),
                                  reason="shared corpus ../shared/corpora/real-speech is not present")


@needs_corpus
def test_real_speech_reads_unchanged_layout_and_mixed_rates():
    root = CORPORA / "real-speech"
    manifest = (root / "MANIFEST.tsv").read_text().strip().splitlines()[1:]
    corpus = real_speech(progress=False)
    assert len(corpus.files) == len(manifest) and not corpus.skipped
    assert {line.split("\t")[2] for line in manifest} == set(corpus.speakers)
    test_files = corpus.split_files("test")
    assert {sf.info(str(p)).samplerate for p in test_files} == {44100, 48000}
    clips = corpus.clips("test")
    assert len(clips) == len(test_files) and {c.sample_rate for c in clips} == {44100}


@needs_corpus
def test_real_speech_held_out_group_is_test_only():
    corpus = real_speech(progress=False)
    test = set(corpus.split_speakers("test"))
    held = {s for s in corpus.speakers if is_held_out_vctk(s)}
    assert "vctk-testset-unlabelled" in test and held <= test and "hifitts-unknown" in test
    train_speakers = {e.speaker for e in corpus.excerpts("train")}
    assert train_speakers and not train_speakers & (held | {"hifitts-unknown"})
    assert not {e.path.parent.name for e in corpus.excerpts("valid")} & held
