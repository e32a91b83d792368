"""The public API: ``import eqlib`` stays light; ``eqlib.match`` gives the same EQ for arrays and files, equals the
library's predictor and spectral fit, and rejects unusable input with a clear error."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import eqlib
from eqlib.api import clamp_to_rate
from eqlib.audio import AudioError, resample
from eqlib.checkpoint import CheckpointError, default_weights
from eqlib.eq import EQSettings
from eqlib.inference import DEFAULT_MODEL, Predictor
from eqlib.spectral_fit import HYBRID_PRIOR_WEIGHT, spectral_match
from eqlib.spectrum import log_grid_hz

from conftest import make_damaged_mp3

TILT = EQSettings(np.array([[-8.0, 200.0, 0.7], [0.0, 450.0, 1.0], [6.0, 2500.0, 1.0], [8.0, 6000.0, 0.7]]))


@pytest.fixture
def recordings(speech_like) -> tuple[np.ndarray, np.ndarray]:
    """A 3-s stereo input at 48 kHz ``(2, time)`` and a 3-s mono reference at 48 kHz with another tilt."""
    x = np.stack([speech_like(3.0, 48000, seed=1), 0.8 * speech_like(3.0, 48000, seed=2)])
    r = TILT.apply(speech_like(3.0, 48000, seed=3), 48000)
    return x, 0.5 * r / np.abs(r).max()


def _response_gap_db(a: EQSettings, b: EQSettings) -> float:
    """Largest level-free difference (dB) of two cascades, computed with scipy."""
    grid = log_grid_hz(44100)
    da, db = (20 * np.log10(np.abs(scipy.signal.sosfreqz(s.sos(44100), worN=grid, fs=44100)[1])) for s in (a, b))
    d = da - db
    return float(np.abs(d - d.mean()).max())


def test_import_eqlib_is_light_and_resolves_names_on_use():
    code = ("import sys, eqlib; light = 'torch' not in sys.modules and 'scipy' not in sys.modules; "
            "f = eqlib.match; print(light, f.__module__, 'torch' in sys.modules, sorted(eqlib.__all__) == eqlib.__all__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "eqlib.api", "True", "True"]
    assert {"match", "load_model", "EQSettings"} <= set(dir(eqlib))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        eqlib.nope  # noqa: B018


def test_arrays_and_files_give_the_same_settings(recordings, weights, tmp_path):
    x, r = recordings
    sf.write(tmp_path / "x.wav", x.T, 48000, subtype="FLOAT")
    sf.write(tmp_path / "r.wav", r, 48000, subtype="FLOAT")
    model = eqlib.load_model(weights)
    from_arrays = eqlib.match(x.astype(np.float32), r, sample_rate=48000, model=model)
    from_files = eqlib.match(tmp_path / "x.wav", str(tmp_path / "r.wav"), model=weights)
    np.testing.assert_allclose(from_arrays.params, from_files.params, rtol=1e-5)


def test_files_used_despite_a_flaw_are_named_in_a_warning(recordings, tmp_path, capfd):
    """A truncated WAV and a damaged MP3 are used, as on the command line, each with one ``UserWarning``, and
    nothing of the MP3 decoder's own reaches descriptor 2."""
    x, r = recordings
    sf.write(tmp_path / "x.wav", x.T, 48000, subtype="FLOAT")
    data = (tmp_path / "x.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) * 3 // 4])
    (tmp_path / "damaged.mp3").write_bytes(make_damaged_mp3(3.0, 44100, 2))
    with pytest.warns(UserWarning) as said:
        eqlib.match(tmp_path / "cut.wav", tmp_path / "damaged.mp3", mode="spectral")
    assert [str(w.message).split(": ")[:2] for w in said] == [[str(tmp_path / "cut.wav"), "truncated"],
                                                             [str(tmp_path / "damaged.mp3"), "damaged audio data"]]
    assert capfd.readouterr().err == ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eqlib.match(tmp_path / "x.wav", r, sample_rate=48000, mode="spectral")


def test_oneshot_equals_the_predictor_on_whole_arrays(recordings, weights):
    x, r = recordings
    model = eqlib.load_model(weights)
    ours = eqlib.match(x, r, sample_rate=48000, model=model)
    direct = model.predict(resample(x.mean(axis=0), 48000, 44100), resample(r, 48000, 44100))
    np.testing.assert_allclose(ours.params, direct.params, rtol=1e-4)


def test_spectral_and_hybrid_equal_the_library_fits(recordings, weights):
    x, r = recordings
    x44, r44 = resample(x.mean(axis=0), 48000, 44100), resample(r, 48000, 44100)
    assert _response_gap_db(eqlib.match(x, r, 48000, mode="spectral"), spectral_match(x44, r44, 44100)) < 0.05
    model = eqlib.load_model(weights)
    direct = spectral_match(x44, r44, 44100, init=model.predict(x44, r44), prior_weight=HYBRID_PRIOR_WEIGHT)
    assert _response_gap_db(eqlib.match(x, r, 48000, mode="hybrid", model=model), direct) < 0.05


def test_the_result_applies_and_clamps_for_low_rates(recordings):
    x, r = recordings
    settings = eqlib.match(x, r, 48000, mode="spectral")
    assert isinstance(settings, eqlib.EQSettings) and settings.apply(x, 48000).shape == x.shape
    high = EQSettings(np.array([[0.0, 120.0, 0.7], [0.0, 450.0, 1.0], [0.0, 2500.0, 1.0], [3.0, 9000.0, 0.7]]))
    clamped, notes = clamp_to_rate(high, 16000)
    assert clamped.params[3, 1] == 7200.0 and len(notes) == 1 and "9000 Hz clamped to 7200 Hz" in notes[0]
    assert clamp_to_rate(high, 48000)[1] == []


@pytest.mark.parametrize("call, error, message", [
    (lambda x, r: eqlib.match(x, r), ValueError, "needs sample_rate"),
    (lambda x, r: eqlib.match(x.T, r, 48000), AudioError, "pass its .T"),
    (lambda x, r: eqlib.match(x, np.zeros(48000), 48000, mode="spectral"), AudioError, "silent"),
    (lambda x, r: eqlib.match(x, r[:1000], 48000, mode="spectral"), AudioError, "shorter than"),
    (lambda x, r: eqlib.match(x, r, 8000, mode="spectral"), AudioError, "below the minimum 16000 Hz"),
    (lambda x, r: eqlib.match(x, r, 48000, mode="best"), ValueError, "unknown mode 'best'"),
    (lambda x, r: eqlib.match(x, r, 48000, model="no_such_model"), CheckpointError, "neither a shipped model"),
    (lambda x, r: eqlib.match("missing.wav", r, 48000, mode="spectral"), AudioError, "no such file"),
])
def test_bad_input_raises_one_clear_error(recordings, call, error, message):
    with pytest.raises(error, match=message):
        call(*recordings)


def test_shipped_model_is_loaded_once():
    if not default_weights(DEFAULT_MODEL).is_file():
        pytest.skip(f"no shipped weights at {default_weights(DEFAULT_MODEL)}")
    model = eqlib.load_model(DEFAULT_MODEL)
    assert isinstance(model, Predictor) and eqlib.load_model(DEFAULT_MODEL) is model
