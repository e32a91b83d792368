"""The match panel in Python (the browser test drives it in JupyterLab): uploads are checked like eqlib.match's
arrays, a prediction lands in the sliders, the processed player and the downloads are the input through them."""

from __future__ import annotations

import base64
import io
import re
import sys

import numpy as np
import pytest
import soundfile as sf

import eqlib
from eqlib.audio import resample
from eqlib.match_panel import PLAYER_PEAK, PREVIEW_S, MatchPanel
from eqlib.presets import parse_parametric_eq

from conftest import make_damaged_mp3


def _flac(samples: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.atleast_2d(samples).T, sample_rate, format="FLAC", subtype="PCM_24")
    return buf.getvalue()


def _unclipped(samples: np.ndarray) -> np.ndarray:
    """``samples`` scaled to a 0.99 peak if louder: what the panel writes rather than clip."""
    return samples * min(1.0, PLAYER_PEAK / np.abs(samples).max())


def _wav(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(data), always_2d=True)
    return samples.T, rate


@pytest.fixture
def uploads(speech_like) -> dict[str, tuple[bytes, np.ndarray, int]]:
    """A stereo 48 kHz input and a brighter mono 44.1 kHz reference, as uploaded bytes and as arrays."""
    x = np.stack([speech_like(2.0, 48000, seed=1), 0.7 * speech_like(2.0, 48000, seed=2)])
    r = np.diff(speech_like(2.0, 44100, seed=3), prepend=0.0)
    r = 0.5 * r / np.abs(r).max()
    return {"input": (_flac(x, 48000), x, 48000), "reference": (_flac(r, 44100), r, 44100)}


def _load(panel: MatchPanel, uploads) -> None:
    for role, (data, _, _) in uploads.items():
        assert panel.load_recording(role, data, f"{role}.flac"), panel.status.value


def test_prediction_lands_in_the_sliders_and_equals_eqlib_match(uploads):
    panel = MatchPanel(mode="spectral")
    _load(panel, uploads)
    settings = panel.predict()
    np.testing.assert_array_equal(panel.eq.settings.params, settings.params)
    assert "predicted (spectral)" in panel.status.value and "Mid 2 (peak)" in panel.status.value
    # what eqlib.match gives for the decoded uploads (both at 48 kHz: match takes one rate for its arrays)
    decoded = {role: sf.read(io.BytesIO(data), always_2d=True) for role, (data, _, _) in uploads.items()}
    reference_48k = resample(decoded["reference"][0].T, 44100, 48000)
    panel.load_recording("reference", _flac(reference_48k, 48000), "reference-48k.flac")
    np.testing.assert_allclose(panel.predict().params, eqlib.match(decoded["input"][0].T, sf.read(
        io.BytesIO(_flac(reference_48k, 48000)), always_2d=True)[0].T, 48000, mode="spectral").params, rtol=1e-6)


def test_oneshot_uses_the_given_model(uploads, weights):
    panel = MatchPanel(model=weights)
    _load(panel, uploads)
    settings = panel.predict()
    assert settings is not None and "with proposed_db" in panel.status.value


def test_players_and_downloads_are_the_input_through_the_sliders(uploads):
    panel = MatchPanel(mode="spectral")
    _load(panel, uploads)
    panel.predict()
    _, x, rate = uploads["input"]
    x24 = sf.read(io.BytesIO(uploads["input"][0]), always_2d=True)[0].T  # what the panel decoded
    expected = panel.eq.settings.apply(x24, rate)
    played, played_rate = _wav(panel.players["processed"].value)
    assert played_rate == rate and played.shape == (2, min(x.shape[1], int(PREVIEW_S * rate)))
    assert np.abs(played - _unclipped(expected[:, : played.shape[1]])).max() <= 2 ** -15 + 1e-12
    assert _wav(panel.players["reference"].value)[1] == 44100
    panel.prepare_downloads()
    links = dict(re.findall(r"download='([^']+)' href='data:[^;]+;base64,([^']+)'", panel.downloads.value))
    assert set(links) == {"input-matched.wav", "ParametricEQ.txt", "input-eq.json"}
    audio, audio_rate = _wav(base64.b64decode(links["input-matched.wav"]))
    assert audio_rate == rate and audio.shape == x.shape and np.abs(audio - _unclipped(expected)).max() <= 2 ** -15 + 1e-12
    preset, _ = parse_parametric_eq(base64.b64decode(links["ParametricEQ.txt"]).decode())
    np.testing.assert_allclose(preset.params, panel.eq.settings.params, atol=0.05)
    panel.eq.reset()  # moving the sliders re-renders the processed player and withdraws the stale links
    assert panel.downloads.value == "" and np.abs(_wav(panel.players["processed"].value)[0]
                                                  - x24[:, : played.shape[1]]).max() <= 2 ** -15 + 1e-12


def test_an_upload_whose_header_seeks_before_its_start_is_refused_quietly(monkeypatch):
    """A misnamed sound chunk makes libsndfile seek to -1: said in the panel, no ignored exception printed."""
    ignored = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    buf = io.BytesIO()
    sf.write(buf, 0.1 * np.sin(np.arange(4000) / 5.0), 16000, format="AIFF", subtype="PCM_32")
    data = bytearray(buf.getvalue())
    assert data[38:42] == b"SSND"
    data[40] = 235  # "SSND" -> "SS\xebD"
    panel = MatchPanel(mode="spectral")
    assert not panel.load_recording("input", bytes(data), "damaged.aiff")
    assert "could not use damaged.aiff as the input" in panel.status.value and "[unreadable]" in panel.status.value
    assert ignored == []


def test_a_damaged_mp3_upload_is_used_with_a_warning_in_place_of_the_decoders_messages(capfd):
    """libmpg123 prints each frame it skips on descriptor 2 (the terminal behind the notebook); the panel says it
    once, in the status line."""
    panel = MatchPanel(mode="spectral")
    assert panel.load_recording("input", make_damaged_mp3(3.0, 44100, 2), "damaged.mp3")
    status = panel.status.value
    assert ("input: damaged.mp3, 1.8 s, 44100 Hz, 1 ch; warning: damaged.mp3: damaged audio data: the decoder skipped "
            "what it could not read, 1.20 s of the 3.00 s its header promises, and said so 4 times (first: ") in status
    assert capfd.readouterr().err == ""


def test_unusable_uploads_and_a_missing_reference_are_said_not_raised(uploads, speech_like):
    panel = MatchPanel(mode="spectral")
    assert not panel.load_recording("input", b"not audio at all", "notes.txt")
    assert "could not use notes.txt as the input: notes.txt: not an audio file [not_audio]" in panel.status.value
    assert not panel.load_recording("input", _flac(np.zeros(48000), 48000), "silent.flac")
    assert "silent" in panel.status.value
    assert panel.load_recording("input", uploads["input"][0], "input.flac")
    assert panel.predict() is None and "upload the reference first" in panel.status.value
    empty = MatchPanel()
    empty.prepare_downloads()
    assert empty.downloads.value == "" and "upload an input first" in empty.status.value
