"""The command line's promise, in Python: ``eqlib.match``, ``EQSettings.load``/``from_json``, ``read_settings``,
``eqlib.load_model``, ``EQSettings.save`` and the notebook panels (the match panel's uploads, the EQ panel's settings
loading) give a result or one exception type, :class:`eqlib.errors.EqlibError`, whose ``kind`` is one the command
line maps to an exit code; never another exception, never a half-written file; a panel says what went wrong (the
reason and its kind) instead of raising. Inputs are the generated ones of ``tests/fuzz_inputs.py``."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import eqlib
from eqlib.errors import EqlibError
from eqlib.eq import EQSettings
from eqlib.presets import read_settings
from fuzz_inputs import FUZZ, Payload, audio_files, settings_texts

#: the kinds an input recording can fail with (as exit codes 3 to 11)
AUDIO_KINDS = {"missing", "unreadable", "not_audio", "empty", "silent", "nonfinite", "too_short", "sample_rate",
               "channels"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    import soundfile as sf

    from conftest import make_speech_like

    path = tmp_path_factory.mktemp("fuzz-api") / "ref.wav"
    sf.write(path, make_speech_like(2.0, 44100, 2), 44100, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def eq_panel():
    from eqlib.widgets import EQPanel

    return EQPanel(example=None, seed=0)


@pytest.fixture(scope="module")
def match_panel():
    from eqlib.match_panel import MatchPanel

    return MatchPanel(mode="spectral")


def _settings_or_error(read) -> EQSettings | EqlibError:
    try:
        return read()
    except EqlibError as err:
        assert err.kind == "settings" and "\n" not in str(err), (err.kind, str(err))
        return err


@FUZZ
@given(settings_texts())
def test_hostile_settings_give_settings_or_one_error_everywhere(tmp_path_factory, eq_panel, text):
    """The same text through ``EQSettings.from_json``, ``EQSettings.load``, ``read_settings`` and the EQ panel's
    loader: each gives settings in range or an ``EqlibError`` kind settings; the panel never raises."""
    path = tmp_path_factory.mktemp("settings") / "s.json"
    path.write_bytes(text)
    loaded = _settings_or_error(lambda: EQSettings.load(path))
    either = _settings_or_error(lambda: read_settings(path))
    if isinstance(loaded, EQSettings):  # a valid eqlib JSON file reads the same both ways
        assert isinstance(either, tuple) and np.array_equal(either[0].params, loaded.params)
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return
    parsed = _settings_or_error(lambda: EQSettings.from_json(decoded))
    assert isinstance(parsed, EQSettings) == isinstance(loaded, EQSettings)
    assert eq_panel.load_json(decoded) == isinstance(parsed, EQSettings)
    assert ("could not load settings" in eq_panel.message.value) != isinstance(parsed, EQSettings)


@FUZZ
@given(audio_files())
def test_random_audio_files_give_settings_or_one_error(tmp_path_factory, reference, match_panel, case):
    """A generated file as ``eqlib.match``'s input and as its reference (spectral mode: no model needed), and as an
    upload to the match panel: settings, or an ``EqlibError`` of an input kind; the panel says the same reason."""
    name, data = case
    path = tmp_path_factory.mktemp("audio") / name
    path.write_bytes(data)
    kinds = []
    for recording, ref in ((path, reference), (reference, path)):
        try:
            settings = eqlib.match(recording, ref, mode="spectral")
        except EqlibError as err:
            assert err.kind in AUDIO_KINDS and "\n" not in str(err), (err.kind, str(err))
            kinds.append(err.kind)
        else:
            assert isinstance(settings, EQSettings) and np.isfinite(settings.params).all()
    loaded = match_panel.load_recording("input", data, name)
    if loaded:
        assert "could not use" not in match_panel.status.value
    else:
        assert f"could not use {name} as the input" in match_panel.status.value
        assert any(f"[{kind}]" in match_panel.status.value for kind in AUDIO_KINDS), match_panel.status.value


def test_arrays_with_absurd_values_and_shapes_give_one_error(reference):
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(48000)
    cases = [("nonfinite", x * np.where(np.arange(48000) == 100, np.nan, 1.0)), ("nonfinite", x * 1e300),
             ("silent", np.zeros(48000)), ("too_short", x[:1000]), ("channels", np.stack([x] * 3)),
             ("not_audio", np.array(["a", "b"]))]
    for kind, samples in cases:
        with pytest.raises(EqlibError) as caught:
            eqlib.match(samples, reference, 48000, mode="spectral")
        assert caught.value.kind == kind, (kind, caught.value.kind, str(caught.value))
    with pytest.raises(EqlibError) as caught:
        eqlib.match(x, reference, 8000, mode="spectral")
    assert caught.value.kind == "sample_rate"
    with pytest.raises(EqlibError) as caught:
        eqlib.match(x, reference, mode="spectral")
    assert caught.value.kind == "usage"


def test_hostile_weights_give_one_error_and_never_run(tmp_path, weights):
    """``eqlib.load_model`` on a malicious pickle, foreign and damaged checkpoints: ``EqlibError`` kind weights
    (also a ``CheckpointError``), and the pickled payload never runs."""
    import torch

    from eqlib.checkpoint import CheckpointError

    marker = tmp_path / "PAYLOAD-RAN"
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump(Payload(marker), f)
    torch.save({"format": "eqlib.checkpoint/1", "model_config": {}, "state_dict": Payload(marker)},
               tmp_path / "evil.pt")
    torch.save({"format": "other"}, tmp_path / "foreign.pt")
    (tmp_path / "cut.pt").write_bytes(weights.read_bytes()[:300_000])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "dir.pt").mkdir()
    for name in ("evil.pkl", "evil.pt", "foreign.pt", "cut.pt", "empty.pt", "dir.pt", "missing.pt"):
        with pytest.raises(EqlibError) as caught:
            eqlib.load_model(tmp_path / name)
        assert caught.value.kind == "weights" and isinstance(caught.value, CheckpointError), (name, caught.value)
    assert not marker.exists(), "a pickled payload ran"
    assert eqlib.load_model(weights) is not None


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    """``EQSettings.save`` over an existing file, the disk filling up half-way: ``EqlibError`` kind output, the old
    file unchanged, no temporary file left; into a missing folder: the same kind, nothing created."""
    old = tmp_path / "eq.json"
    EQSettings.identity().save(old)
    before = old.read_bytes()
    real_write = Path.write_text

    def half_then_full(self: Path, text: str, *args, **kwargs) -> int:
        real_write(self, text[: len(text) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", half_then_full)
    settings = EQSettings(np.array([[3.0, 100.0, 0.7], [1.0, 500.0, 1.0], [-2.0, 2000.0, 1.0], [1.0, 8000.0, 0.7]]))
    with pytest.raises(EqlibError) as caught:
        settings.save(old)
    assert caught.value.kind == "output" and "eq.json" in str(caught.value)
    monkeypatch.undo()
    assert old.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["eq.json"]
    with pytest.raises(EqlibError) as caught:
        settings.save(tmp_path / "no-such-folder" / "eq.json")
    assert caught.value.kind == "output"
