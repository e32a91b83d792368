"""Optional espeak-ng voices: disjoint splits, determinism, level, and a clear error without the program."""

from __future__ import annotations

import numpy as np
import pytest

from eqlib import tts_voices
from eqlib.audio import loudness_lufs
from eqlib.sources import synth_excerpts

needs_espeak = pytest.mark.skipif(not tts_voices.available(),
                                  reason="espeak-ng is not installed (optional; Debian: apt-get install espeak-ng)")


def test_splits_are_disjoint_and_cover_every_voice() -> None:
    splits = {name: set(tts_voices.speaker_ids(name)) for name in tts_voices.SPLIT_SIZES}
    assert {k: len(v) for k, v in splits.items()} == tts_voices.SPLIT_SIZES
    assert not (splits["train"] & splits["val"] or splits["train"] & splits["test"] or splits["val"] & splits["test"])
    assert set().union(*splits.values()) == set(range(tts_voices.NUM_TTS_SPEAKERS))


def test_voices_differ_and_are_seeded() -> None:
    voices = [tts_voices.TTSVoice.from_id(i) for i in range(tts_voices.NUM_TTS_SPEAKERS)]
    assert voices[7] == tts_voices.TTSVoice.from_id(7)
    assert len({(v.voice, v.pitch, v.speed_wpm) for v in voices}) == len(voices)
    with pytest.raises(ValueError, match="outside"):
        tts_voices.TTSVoice.from_id(tts_voices.NUM_TTS_SPEAKERS)


def test_missing_engine_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts_voices.shutil, "which", lambda name: None)
    assert not tts_voices.available()
    with pytest.raises(tts_voices.TTSError, match="espeak-ng is not installed") as info:
        tts_voices.tts_excerpt(0, 3.0, 0)
    assert "\n" not in str(info.value)


@needs_espeak
def test_excerpt_is_deterministic_speech_at_the_target_loudness() -> None:
    a = tts_voices.tts_excerpt(tts_voices.speaker_ids("train")[0], 3.0, seed=1)
    assert a.dtype == np.float32 and a.shape == (3 * tts_voices.SAMPLE_RATE,)
    np.testing.assert_array_equal(a, tts_voices.tts_excerpt(tts_voices.speaker_ids("train")[0], 3.0, seed=1))
    assert loudness_lufs(a.astype(np.float64), tts_voices.SAMPLE_RATE) == pytest.approx(-23.0, abs=0.5)
    assert not np.array_equal(a, tts_voices.tts_excerpt(tts_voices.speaker_ids("train")[0], 3.0, seed=2))


@needs_espeak
def test_tts_share_replaces_part_of_the_synthetic_excerpts() -> None:
    audio, speakers, bandwidths = synth_excerpts("val", 4, 1.0, seed=0, tts_share=0.5)
    assert len(audio) == 4 and [s.split(":")[0] for s in speakers] == ["synth", "synth", "tts", "tts"]
    tts_val = {f"tts:{i}" for i in tts_voices.speaker_ids("val")}
    assert set(speakers[2:]) <= tts_val
    assert bandwidths == [20000.0, 20000.0, 0.45 * 22050, 0.45 * 22050]  # espeak-ng speech stops near 9.9 kHz


def test_tts_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="tts_share"):
        synth_excerpts("val", 4, 1.0, seed=0, tts_share=1.5)
