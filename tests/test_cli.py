"""The command line: exit codes and messages for bad input, exact filtering against scipy, JSON and preset
round trips, exports checked with real ffmpeg and pedalboard, loudness against pyloudnorm, batch matching,
and a start that imports neither torch nor scipy.signal for --help and info."""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import soundfile as sf

from eqlib import cli, streaming
from eqlib.audio import resample, write_audio_atomic
from eqlib.eq import EQSettings
from eqlib.errors import Interrupted
from eqlib.presets import parse_parametric_eq
from eqlib.spectral_fit import HYBRID_PRIOR_WEIGHT, spectral_match
from eqlib.spectrum import log_grid_hz

from conftest import make_damaged_mp3

EQLIB_SCRIPT = Path(sys.executable).parent / "eqlib"
SETTINGS = np.array([[4.0, 150.0, 0.7], [-6.0, 600.0, 1.5], [5.0, 3000.0, 2.0], [-3.0, 9000.0, 0.8]])


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``eqlib.cli.main`` in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def write(path: Path, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> Path:
    """Write ``(channels, time)`` or ``(time,)`` audio; return the path."""
    sf.write(str(path), np.atleast_2d(audio).T, sample_rate, subtype=subtype)
    return path


def assert_same_audio(a: Path, b: Path) -> None:
    """Two files hold the same audio bit for bit: format, subtype, rate, channels and every sample. (Not the
    same bytes: libsndfile stamps float files' PEAK chunk with the second they were written.)"""
    info_a, info_b = sf.info(str(a)), sf.info(str(b))
    assert (info_a.format, info_a.subtype, info_a.samplerate, info_a.channels) == \
        (info_b.format, info_b.subtype, info_b.samplerate, info_b.channels)
    assert np.array_equal(sf.read(str(a))[0], sf.read(str(b))[0])  # float64 holds every subtype's samples exactly


@pytest.fixture
def pair(tmp_path: Path, speech_like) -> tuple[Path, Path]:
    """A 3-s stereo 48 kHz float input and a 3-s mono 44.1 kHz PCM_16 reference with a different tilt."""
    left, right = speech_like(3.0, 48000, seed=1), speech_like(3.0, 48000, seed=2)
    inp = write(tmp_path / "in.wav", np.stack([left, 0.8 * right]), 48000, "FLOAT")
    ref_sos = EQSettings(np.array([[-8.0, 200.0, 0.7], [0.0, 450.0, 1.0], [6.0, 2500.0, 1.0], [8.0, 6000.0, 0.7]])).sos(44100)
    ref = scipy.signal.sosfilt(ref_sos, speech_like(3.0, 44100, seed=3))
    return inp, write(tmp_path / "ref.wav", 0.5 * ref / np.abs(ref).max(), 44100, "PCM_16")


@pytest.fixture
def settings_json(tmp_path: Path) -> Path:
    path = tmp_path / "eq.json"
    EQSettings(SETTINGS).save(path)
    return path


# --- bad input: one line, its own exit code, nothing written --------------------------------------
def _bad_files(tmp: Path, speech_like) -> dict[str, Path]:
    rate = 44100
    good = speech_like(1.0, rate, seed=5)
    (tmp / "text.wav").write_text("this is not audio\n" * 20)
    (tmp / "empty.wav").write_bytes(b"")
    (tmp / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    nan = good.copy()
    nan[1000] = np.nan
    return {
        "missing": tmp / "nope.wav",
        "unreadable": tmp / "corrupt.wav",
        "not_audio": tmp / "text.wav",
        "empty": tmp / "empty.wav",
        "silent": write(tmp / "silent.wav", np.zeros(rate), rate, "FLOAT"),
        "nonfinite": write(tmp / "nan.wav", nan, rate, "FLOAT"),
        "too_short": write(tmp / "short.wav", good[: int(0.3 * rate)], rate),
        "sample_rate": write(tmp / "8k.wav", speech_like(1.0, 8000, seed=6), 8000),
        "channels": write(tmp / "3ch.wav", np.stack([good] * 3), rate),
    }


@pytest.mark.parametrize("kind", ["missing", "unreadable", "not_audio", "empty", "silent", "nonfinite", "too_short",
                                  "sample_rate", "channels"])
@pytest.mark.parametrize("command", ["match", "apply"])
def test_bad_input_file(kind, command, tmp_path, capsys, speech_like, pair, settings_json):
    bad = _bad_files(tmp_path, speech_like)[kind]
    out = tmp_path / "out" / "result.wav"
    out.parent.mkdir()
    if command == "match":
        argv = ["match", bad, pair[1], "-o", out, "--mode", "spectral"]
    else:
        argv = ["apply", settings_json, bad, "-o", out]
    code, _, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_CODES[kind][0], err
    assert err.startswith("eqlib: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(bad) in err
    assert list(out.parent.iterdir()) == []  # no output, no temporary left behind


def test_bad_reference_is_named(tmp_path, capsys, speech_like, pair):
    bad = _bad_files(tmp_path, speech_like)["silent"]
    code, _, err = run_cli(capsys, "match", pair[0], bad, "-o", tmp_path / "o.wav", "--mode", "spectral")
    assert code == cli.EXIT_CODES["silent"][0] and str(bad) in err
    assert not (tmp_path / "o.wav").exists()


def _expect(capsys, kind: str, *argv) -> str:
    code, _, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_CODES[kind][0], err
    assert err.startswith("eqlib: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_output_equal_to_input(pair, capsys, tmp_path, settings_json):
    before = pair[0].read_bytes()
    _expect(capsys, "same_path", "match", pair[0], pair[1], "-o", pair[0], "--force", "--mode", "spectral")
    _expect(capsys, "same_path", "match", pair[0], pair[1], "-o", tmp_path / "o.wav", "--json", pair[1], "--force",
            "--mode", "spectral")
    _expect(capsys, "same_path", "apply", settings_json, pair[0], "-o", tmp_path / "." / "in.wav", "--force")
    assert pair[0].read_bytes() == before


def test_output_exists_without_force(pair, capsys, tmp_path, settings_json):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    err = _expect(capsys, "exists", "apply", settings_json, pair[0], "-o", out)
    assert "--force" in err and out.read_bytes() == b"keep me"
    code, _, _ = run_cli(capsys, "apply", settings_json, pair[0], "-o", out, "--force")
    assert code == 0 and sf.info(str(out)).frames == sf.info(str(pair[0])).frames


def test_output_folder_missing_unwritable_or_unknown_format(pair, capsys, tmp_path, settings_json):
    _expect(capsys, "output", "apply", settings_json, pair[0], "-o", tmp_path / "no" / "such" / "o.wav")
    _expect(capsys, "output", "apply", settings_json, pair[0], "-o", pair[1] / "o.wav")  # parent is a file
    _expect(capsys, "output", "apply", settings_json, pair[0], "-o", tmp_path / "o.txt")
    if Path("/proc").is_dir():  # not writable even for root
        _expect(capsys, "output", "apply", settings_json, pair[0], "-o", "/proc/eqlib-test.wav")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _expect(capsys, "output", "apply", settings_json, pair[0], "-o", locked / "o.wav")
        assert list(locked.iterdir()) == []


def test_weights_file_missing(pair, capsys, tmp_path):
    _expect(capsys, "weights", "match", pair[0], pair[1], "-o", tmp_path / "o.wav", "--weights", tmp_path / "x.pt")
    assert not (tmp_path / "o.wav").exists()


def test_weights_file_not_a_checkpoint(pair, capsys, tmp_path):
    fake = tmp_path / "fake.pt"
    fake.write_text("not a checkpoint")
    _expect(capsys, "weights", "match", pair[0], pair[1], "-o", tmp_path / "o.wav", "--weights", fake)
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("amount", ["1.5", "-0.1", "nan"])
def test_amount_out_of_range(pair, capsys, tmp_path, settings_json, amount):
    _expect(capsys, "amount", "apply", settings_json, pair[0], "-o", tmp_path / "o.wav", "--amount", amount)
    _expect(capsys, "amount", "match", pair[0], pair[1], "-o", tmp_path / "o.wav", "--amount", amount)
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("text", ["{not json", json.dumps({"format": "other"}), "[]"])
def test_settings_malformed(pair, capsys, tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    _expect(capsys, "settings", "apply", path, pair[0], "-o", tmp_path / "o.wav")


def test_settings_out_of_range(pair, capsys, tmp_path):
    data = EQSettings(SETTINGS).to_dict()
    data["bands"][1]["gain_db"] = 40.0
    path = tmp_path / "loud.json"
    path.write_text(json.dumps(data))
    err = _expect(capsys, "settings", "apply", path, pair[0], "-o", tmp_path / "o.wav")
    assert "mid1.gain" in err


def test_usage_errors(capsys, pair):
    code, _, err = run_cli(capsys, "match", pair[0], pair[1])  # no -o
    assert code == cli.EXIT_CODES["usage"][0] and err.startswith("eqlib: error: ") and err.count("\n") == 1
    code, _, err = run_cli(capsys, "apply", "a.json", "in.wav", "-o", "o.wav", "--amount", "half")
    assert code == cli.EXIT_CODES["usage"][0]


SLOW_TO_IMPORT = """
import os, signal, time
os.kill(os.getpid(), signal.SIGINT)
deadline = time.monotonic() + 0.2
while time.monotonic() < deadline:  # the handler runs between these bytecodes, inside the import
    pass
FINISHED = True
"""


@pytest.fixture
def interrupting_module(tmp_path_factory, monkeypatch):
    """The name of a fresh module whose import sends this process SIGINT and runs on for 0.2 s, with SIGINT's
    default handler installed as in a terminal (a shell gives a background job an ignored SIGINT, which the CLI
    rightly keeps ignored); the inherited handler comes back afterwards."""
    folder = tmp_path_factory.mktemp("modules")
    (folder / "slow_to_import.py").write_text(SLOW_TO_IMPORT)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "slow_to_import", raising=False)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield "slow_to_import"
    signal.signal(signal.SIGINT, inherited)
    sys.modules.pop("slow_to_import", None)


def test_signal_during_an_import_waits_until_it_is_over(interrupting_module):
    """Ctrl-C while a module is being imported stops the run as an interruption once the import is over, not inside
    it, where a native library's initialisation (numpy's, torch's) turns it into an ImportError or an abort."""
    alarm_handler = signal.getsignal(signal.SIGALRM)
    with pytest.raises(Interrupted) as caught:
        with cli._signal_handling(restore=True):
            importlib.import_module(interrupting_module)
            time.sleep(5)  # the held-back signal arrives here, within IMPORT_RETRY_S
    assert caught.value.signum == signal.SIGINT
    assert getattr(sys.modules.get(interrupting_module), "FINISHED", False), "interrupted inside the import"
    assert signal.getsignal(signal.SIGALRM) is alarm_handler and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_signal_held_back_by_an_import_stops_the_run_before_anything_is_published(interrupting_module, tmp_path,
                                                                                    monkeypatch, capsys):
    """Work that ends within IMPORT_RETRY_S of the import that held a signal back (a short clip after a late
    import) does not outrun it: the signal is honoured before the report and the outputs are published."""
    from eqlib.audio import OutputFiles

    monkeypatch.setattr(cli, "IMPORT_RETRY_S", 30.0)  # the clock cannot run out during the test: publish must act
    alarm_handler = signal.getsignal(signal.SIGALRM)
    with pytest.raises(Interrupted) as caught:
        with cli._signal_handling(restore=True):
            importlib.import_module(interrupting_module)  # SIGINT inside: held back, its clock runs on
            with OutputFiles() as files:
                files.temp(tmp_path / "o.txt").write_text("settings")
                cli.publish(files, "the report\n")
    assert caught.value.signum == signal.SIGINT
    assert capsys.readouterr().out == "" and not list(tmp_path.iterdir())  # no report, no output, no temporary file
    assert signal.getsignal(signal.SIGALRM) is alarm_handler and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_exit_codes_distinct_and_documented(capsys):
    from eqlib.audio import MAX_ABS_SAMPLE, MAX_CHANNELS, MIN_DURATION_S, MIN_SAMPLE_RATE

    assert cli.EXIT_CODES["nonfinite"][1].endswith(f"(beyond {MAX_ABS_SAMPLE:g} x full scale)")
    assert cli.EXIT_CODES["too_short"][1] == f"input shorter than {MIN_DURATION_S:g} s"
    assert cli.EXIT_CODES["sample_rate"][1] == f"input sample rate below {MIN_SAMPLE_RATE} Hz"
    assert cli.EXIT_CODES["channels"][1] == f"input has more than {MAX_CHANNELS} channels"
    codes = [code for code, _ in cli.EXIT_CODES.values()]
    assert len(set(codes)) == len(codes) and 0 not in codes
    code, out, _ = run_cli(capsys, "match", "--help")
    assert code == 0
    for code, meaning in cli.EXIT_CODES.values():
        assert f"{code:>3}  {meaning}" in out
        assert f"{code:<6}{meaning}" in cli.__doc__


def test_readme_exit_code_table_equals_the_cli_table():
    """README's table under "When something is wrong" lists exactly the codes and meanings of ``EXIT_CODES``."""
    import re

    from eqlib.runtime import repo_root

    readme = (repo_root() / "README.md").read_text()
    section = readme.split("### When something is wrong", 1)[1].split("\n#", 1)[0]
    rows = {(int(code), meaning) for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)}
    assert rows == {(0, "success"), *cli.EXIT_CODES.values()}


# --- filtering: the file's own rate, every channel, exact --------------------------------------------
def test_apply_equals_scipy_sosfilt_on_whole_file(pair, capsys, tmp_path, settings_json, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_FRAMES", 10007)  # many blocks: the filter state must carry over
    out = tmp_path / "out.wav"
    code, stdout, _ = run_cli(capsys, "apply", settings_json, pair[0], "-o", out)
    assert code == 0 and "High shelf" in stdout
    x, rate = sf.read(str(pair[0]), always_2d=True)
    y, out_rate = sf.read(str(out), always_2d=True)
    assert out_rate == rate == 48000 and y.shape == x.shape and sf.info(str(out)).subtype == "FLOAT"
    sos = EQSettings(SETTINGS).sos(rate)
    expected = scipy.signal.sosfilt(sos, x, axis=0).astype(np.float32)
    # float32 output: equal to one float32 step of the peak (eqlib.iir agrees with sosfilt to ~1e-10)
    np.testing.assert_allclose(y, expected, rtol=0, atol=np.spacing(np.abs(expected).max()))


def test_amount_scales_gains(pair, capsys, tmp_path, settings_json):
    out = tmp_path / "half.wav"
    assert run_cli(capsys, "apply", settings_json, pair[0], "-o", out, "--amount", "0.5")[0] == 0
    x, rate = sf.read(str(pair[0]), always_2d=True)
    half = SETTINGS.copy()
    half[:, 0] /= 2
    expected = scipy.signal.sosfilt(EQSettings(half).sos(rate), x, axis=0)
    np.testing.assert_allclose(sf.read(str(out), always_2d=True)[0], expected, atol=1e-6)


def test_low_rate_file_clamps_bands_and_says_so(tmp_path, capsys, speech_like, settings_json):
    inp = write(tmp_path / "16k.wav", speech_like(2.0, 16000, seed=7), 16000, "PCM_24")
    out = tmp_path / "out.flac"
    code, stdout, _ = run_cli(capsys, "apply", settings_json, inp, "-o", out)
    assert code == 0
    assert "High shelf: 9000 Hz clamped to 7200 Hz" in stdout and "Mid 2" not in stdout.split("* ")[-1]
    clamped = SETTINGS.copy()
    clamped[3, 1] = 7200.0
    x, _ = sf.read(str(inp))
    expected = scipy.signal.sosfilt(EQSettings(clamped).sos(16000), x)
    y, rate = sf.read(str(out))
    assert rate == 16000 and sf.info(str(out)).subtype == "PCM_24"
    np.testing.assert_allclose(y, expected, atol=2 ** -22)


def test_clipping_is_reported_and_normalize_fixes_it(tmp_path, capsys, speech_like):
    loud = EQSettings(np.array([[15.0, 200.0, 0.7], [15.0, 500.0, 1.0], [15.0, 2500.0, 1.0], [15.0, 6000.0, 0.7]]))
    path = tmp_path / "loud.json"
    loud.save(path)
    inp = write(tmp_path / "in.flac", 1.6 * speech_like(2.0, 44100, seed=8), 44100, "PCM_16")
    code, stdout, err = run_cli(capsys, "apply", path, inp, "-o", tmp_path / "clip.wav")
    assert code == 0 and "exceeds 0 dBFS" in err and "--normalize" in err and "clipped" in err
    code, stdout, err = run_cli(capsys, "apply", path, inp, "-o", tmp_path / "norm.wav", "--normalize")
    assert code == 0 and err == "" and "peak -1.0 dBFS" in stdout
    y, _ = sf.read(str(tmp_path / "norm.wav"))
    assert 20 * np.log10(np.abs(y).max()) == pytest.approx(-1.0, abs=0.01)
    assert sf.info(str(tmp_path / "norm.wav")).subtype == "PCM_16"


def test_output_subtype_follows_input_where_possible():
    assert streaming.output_subtypes("WAV", "PCM_16")[0] == "PCM_16"
    assert streaming.output_subtypes("FLAC", "FLOAT")[0] == "PCM_24"
    assert streaming.output_subtypes("WAV", "VORBIS")[0] == "FLOAT"  # an Ogg Vorbis input
    assert streaming.output_subtypes("WAV", "MPEG_LAYER_III")[0] == "FLOAT"  # an MP3 input: WAV can't take MP3 data
    assert streaming.output_subtypes("WAV", "IMA_ADPCM")[0] == "FLOAT"  # a compressed input is not re-compressed
    assert streaming.output_subtypes("OGG", "PCM_16") == ["VORBIS"]


def test_write_audio_atomic_round_trips_and_fails_cleanly(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 1000))
    out = tmp_path / "x.wav"
    write_audio_atomic(out, x, 44100, "FLOAT")
    y, rate = sf.read(str(out), always_2d=True)
    assert rate == 44100 and np.array_equal(y.T, x.astype(np.float32))
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's private 0600
    with pytest.raises(ValueError, match="subtype"):
        write_audio_atomic(out, x, 44100, "NO_SUCH_SUBTYPE")
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"] and np.array_equal(sf.read(str(out))[0].T, y.T)


# --- analysis streams: equal to the in-memory library functions -------------------------------------
def test_streamed_resampling_equals_whole_file_resampling(pair, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_FRAMES", 12345)
    chunks: list[np.ndarray] = []
    streaming.mono_stream(streaming.open_source(pair[0]), 44100, [chunks.append], "input")
    x, rate = sf.read(str(pair[0]), always_2d=True)
    expected = resample(x.mean(axis=1), rate, 44100)
    np.testing.assert_allclose(np.concatenate(chunks), expected, atol=1e-9)


# --- match: JSON round trip, ffmpeg and pedalboard exports ------------------------------------------
@pytest.fixture
def matched(pair, tmp_path, capsys):
    """One spectral-mode match with --json and --print ffmpeg: (out path, json path, stdout, stderr)."""
    out, js = tmp_path / "matched.wav", tmp_path / "matched.json"
    code, stdout, stderr = run_cli(capsys, "match", pair[0], pair[1], "-o", out, "--json", js, "--mode", "spectral",
                                   "--print", "ffmpeg")
    assert code == 0, stderr
    return out, js, stdout, stderr


def test_match_spectral_equals_library_spectral_match(pair, matched):
    saved = EQSettings.load(matched[1])
    x, rate = sf.read(str(pair[0]), always_2d=True)
    r, ref_rate = sf.read(str(pair[1]), always_2d=True)
    direct = spectral_match(resample(x.mean(axis=1), rate, 44100), r.mean(axis=1), 44100)
    grid = log_grid_hz(44100)  # compare responses: a band with little effect may settle anywhere
    difference = saved.response_db(grid, 44100) - direct.response_db(grid, 44100)
    assert np.abs(difference - difference.mean()).max() < 0.5
    assert "Low shelf" in matched[3] and "wrote" in matched[3]  # table on stderr when stdout carries the chain


def test_json_reapplies_bit_for_bit(pair, matched, tmp_path, capsys):
    again = tmp_path / "again.wav"
    assert run_cli(capsys, "apply", matched[1], pair[0], "-o", again)[0] == 0
    assert_same_audio(again, matched[0])


def test_ffmpeg_chain_matches_our_output(pair, matched, ffmpeg):
    chain = matched[2].strip()
    assert chain.count("\n") == 0 and chain.startswith("lowshelf=")
    x, rate = sf.read(str(pair[0]), always_2d=True)
    ours = sf.read(str(matched[0]), always_2d=True)[0].T
    for channel in range(x.shape[1]):
        theirs = np.asarray(ffmpeg(x[:, channel], rate, chain)).reshape(-1)  # mono in, mono out
        error_db = 20 * np.log10(np.abs(theirs - ours[channel]).max() / np.abs(ours[channel]).max())
        assert error_db < -60, f"channel {channel}: ffmpeg differs by {error_db:.1f} dB"


def test_pedalboard_code_matches_our_output(pair, tmp_path, capsys, settings_json):
    out = tmp_path / "o.wav"
    code, stdout, stderr = run_cli(capsys, "match", pair[0], pair[1], "-o", out, "--mode", "spectral",
                                   "--print", "pedalboard", "--amount", "0.7")
    assert code == 0, stderr
    namespace: dict = {}
    exec(stdout, namespace)  # the printed code is a complete program
    x, rate = sf.read(str(pair[0]), always_2d=True, dtype="float32")
    theirs = namespace["board"](x.T, rate)
    ours = sf.read(str(out), always_2d=True)[0].T
    error_db = 20 * np.log10(np.abs(theirs - ours).max() / np.abs(ours).max())
    assert error_db < -60, f"pedalboard differs by {error_db:.1f} dB"


# --- oneshot and hybrid: the model, streamed ------------------------------------------------------
def test_oneshot_equals_predictor_on_whole_arrays(pair, weights, tmp_path, capsys, monkeypatch):
    from eqlib import inference

    monkeypatch.setattr(streaming, "BLOCK_FRAMES", 20011)  # file blocks do not line up with the model's blocks
    monkeypatch.setattr(inference, "BLOCK_S", 1.0)  # several model blocks in a 3-s file
    js = tmp_path / "one.json"
    code, stdout, stderr = run_cli(capsys, "match", pair[0], pair[1], "-o", tmp_path / "o.wav", "--weights", weights,
                                   "--json", js)
    assert code == 0, stderr
    predictor = inference.load_predictor(weights=weights)
    x, rate = sf.read(str(pair[0]), always_2d=True)
    r, _ = sf.read(str(pair[1]), always_2d=True)
    direct = predictor.predict(resample(x.mean(axis=1), rate, 44100), r.mean(axis=1))
    np.testing.assert_allclose(EQSettings.load(js).params, direct.params, rtol=1e-4)


def test_hybrid_equals_library_fit_from_prediction(pair, weights, tmp_path, capsys):
    from eqlib import inference

    js = tmp_path / "hybrid.json"
    code, stdout, stderr = run_cli(capsys, "match", pair[0], pair[1], "-o", tmp_path / "o.wav", "--weights", weights,
                                   "--mode", "hybrid", "--json", js)
    assert code == 0, stderr
    x, rate = sf.read(str(pair[0]), always_2d=True)
    r, _ = sf.read(str(pair[1]), always_2d=True)
    x44, r44 = resample(x.mean(axis=1), rate, 44100), r.mean(axis=1)
    prediction = inference.load_predictor(weights=weights).predict(x44, r44)
    direct = spectral_match(x44, r44, 44100, init=prediction, prior_weight=HYBRID_PRIOR_WEIGHT)
    grid = log_grid_hz(44100)
    difference = EQSettings.load(js).response_db(grid, 44100) - direct.response_db(grid, 44100)
    assert np.abs(difference - difference.mean()).max() < 0.5


# --- info -----------------------------------------------------------------------------------------
def test_info_against_soundfile_and_pyloudnorm(pair, capsys, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_FRAMES", 9973)
    code, stdout, _ = run_cli(capsys, "info", pair[0])
    assert code == 0
    x, rate = sf.read(str(pair[0]))
    fields = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in stdout.splitlines())
    assert fields["sample rate"].strip() == "48000 Hz" and fields["channels"].strip() == "2"
    assert fields["duration"].strip() == f"{len(x) / rate:.3f} s" and fields["subtype"].strip() == "FLOAT (WAV)"
    assert fields["sample peak"].strip() == f"{20 * np.log10(np.abs(x).max()):.1f} dBFS"
    expected = pyloudnorm.Meter(rate).integrated_loudness(x)
    assert fields["loudness"].strip() == f"{expected:.1f} LUFS"


def test_info_reports_errors_too(tmp_path, capsys, speech_like):
    bad = _bad_files(tmp_path, speech_like)
    _expect(capsys, "not_audio", "info", bad["not_audio"])
    _expect(capsys, "nonfinite", "info", bad["nonfinite"])


# --- the installed console script -------------------------------------------------------------------
def test_console_script(pair, tmp_path, settings_json):
    if not EQLIB_SCRIPT.exists():
        pytest.skip(f"console script not installed at {EQLIB_SCRIPT} (pip install -e .)")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ok = subprocess.run([str(EQLIB_SCRIPT), "apply", str(settings_json), str(pair[0]), "-o", str(tmp_path / "o.wav")],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "wrote" in ok.stdout and (tmp_path / "o.wav").exists()
    bad = subprocess.run([str(EQLIB_SCRIPT), "info", str(tmp_path / "missing.wav")], capture_output=True, text=True,
                         env=env)
    assert bad.returncode == cli.EXIT_CODES["missing"][0]
    assert bad.stderr.startswith("eqlib: error: ") and bad.stderr.count("\n") == 1


# --- presets: --print eqapo, --preset, apply reads them ---------------------------------------------
def test_preset_printed_written_and_applied_with_its_preamp(pair, tmp_path, capsys):
    out, preset, js = tmp_path / "m.wav", tmp_path / "ParametricEQ.txt", tmp_path / "m.json"
    code, stdout, stderr = run_cli(capsys, "match", pair[0], pair[1], "-o", out, "--mode", "spectral",
                                   "--print", "eqapo", "--preset", preset, "--json", js)
    assert code == 0, stderr
    assert stdout == preset.read_text() and stdout.startswith("Preamp: -") and "Low shelf" in stderr
    from_preset, preamp = parse_parametric_eq(stdout)
    np.testing.assert_allclose(from_preset.params, EQSettings.load(js).params, atol=0.05)
    again = tmp_path / "again.wav"
    code, stdout, _ = run_cli(capsys, "apply", preset, pair[0], "-o", again)
    assert code == 0 and f"preamp {preamp:+.1f} dB applied" in stdout
    x, rate = sf.read(str(pair[0]), always_2d=True)
    expected = (10 ** (preamp / 20) * scipy.signal.sosfilt(from_preset.sos(rate), x, axis=0)).astype(np.float32)
    np.testing.assert_allclose(sf.read(str(again), always_2d=True)[0], expected, rtol=0,
                               atol=np.spacing(np.abs(expected).max()))


def test_apply_rejects_a_preset_that_is_not_the_four_band_eq(pair, tmp_path, capsys):
    bad = tmp_path / "eq.txt"
    bad.write_text("Preamp: -2 dB\nFilter 1: ON PK Fc 1000 Hz Gain 2 dB Q 1\n")
    err = _expect(capsys, "settings", "apply", bad, pair[0], "-o", tmp_path / "o.wav")
    assert "1 LSC, 2 PK, 1 HSC" in err and not (tmp_path / "o.wav").exists()


# --- batch: one reference, many inputs ---------------------------------------------------------------
def test_batch_reports_each_file_continues_past_a_failure_and_writes_nothing_half(pair, tmp_path, capsys,
                                                                                 speech_like):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = [write(inputs / f"ep{k}.wav", speech_like(2.0, 44100, seed=20 + k), 44100, "PCM_16") for k in (1, 2)]
    bad = write(inputs / "ep3.flac", np.zeros(44100), 44100, "PCM_16")  # silent
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, stdout, stderr = run_cli(capsys, "match", good[0], bad, good[1], "--reference", pair[1], "--out-dir",
                                   out_dir, "--mode", "spectral")
    assert code == cli.EXIT_CODES["batch"][0]
    assert stderr.endswith("eqlib: error: 1 of 3 inputs failed (listed above)\n") and "Traceback" not in stderr
    lines = stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["ok", "FAIL", "ok"] and str(bad) in lines[1]
    assert f"[exit {cli.EXIT_CODES['silent'][0]}: silent]" in lines[1]
    assert lines[3].startswith("2 of 3 inputs matched")
    assert sorted(p.name for p in out_dir.iterdir()) == ["ep1.json", "ep1.wav", "ep2.json", "ep2.wav"]
    for path in good:  # each output is what a one-pair match gives
        single = tmp_path / f"single-{path.stem}.json"
        assert run_cli(capsys, "match", path, pair[1], "-o", tmp_path / f"single-{path.name}", "--mode", "spectral",
                       "--json", single)[0] == 0
        assert (out_dir / f"{path.stem}.json").read_text() == single.read_text()
        assert_same_audio(out_dir / path.name, tmp_path / f"single-{path.name}")


def test_batch_refuses_existing_outputs_per_file(pair, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "in.json").write_text("keep")
    code, stdout, _ = run_cli(capsys, "match", pair[0], "--reference", pair[1], "--out-dir", out_dir,
                              "--mode", "spectral")
    assert code == cli.EXIT_CODES["batch"][0] and "--force" in stdout
    assert (out_dir / "in.json").read_text() == "keep" and not (out_dir / "in.wav").exists()


@pytest.mark.parametrize("argv, kind", [
    (["match", "a.wav", "b.wav", "c.wav", "-o", "o.wav"], "usage"),  # three positionals without --reference
    (["match", "a.wav", "--reference", "r.wav"], "usage"),  # batch without --out-dir
    (["match", "a.wav", "--reference", "r.wav", "--out-dir", ".", "--json", "x.json"], "usage"),
    (["match", "a.wav", "b.wav", "--out-dir", "."], "usage"),  # --out-dir without --reference
    (["match", "x/a.wav", "y/a.wav", "--reference", "r.wav", "--out-dir", "."], "usage"),  # same output twice
    (["match", "a.wav", "--reference", "r.wav", "--out-dir", "no/such/dir"], "output"),
])
def test_batch_usage_errors(argv, kind, capsys):
    _expect(capsys, kind, *argv)


class _ClosedFolder(type(Path())):
    """A folder this user may not enter: listing it raises PermissionError, as ``eqlib/weights`` does in a
    checkout that is closed to the user who runs ``eqlib``."""

    def glob(self, pattern: str):
        raise PermissionError(13, "Permission denied", str(self))


def test_help_when_the_shipped_weights_cannot_be_listed(capsys, monkeypatch):
    monkeypatch.setattr(cli, "WEIGHTS_DIR", _ClosedFolder("/closed/weights"))
    code, out, err = run_cli(capsys, "match", "--help")
    assert code == 0 and err == ""
    assert "none readable: /closed/weights: permission denied" in " ".join(out.split())


# --- a fast start ----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, also_absent", [(["--help"], ["numpy"]), (["match", "--help"], ["numpy"]),
                                               (["info", "{wav}"], [])])
def test_help_and_info_import_neither_torch_nor_scipy_signal(argv, also_absent, pair):
    """``eqlib --help`` imports nothing but the standard library, ``eqlib info`` numpy and soundfile but no torch."""
    code = ("import json, runpy, sys\n"
            "absent = json.loads(sys.argv.pop())\n"
            "sys.argv = ['eqlib'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('eqlib', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('LOADED', [m for m in absent if m in sys.modules])")
    absent = ["torch", "scipy.signal", "numba", "librosa", *also_absent]
    argv = [a.format(wav=pair[0]) for a in argv]
    out = subprocess.run([sys.executable, "-c", code, *argv, json.dumps(absent)], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "LOADED []"


def test_a_damaged_mp3_is_used_with_one_warning_in_place_of_the_decoders_messages(tmp_path, capfd, speech_like):
    """libmpg123 prints each frame it skips on descriptor 2; eqlib says it once, in its own words, and goes on."""
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(make_damaged_mp3(3.0, 44100, 2))
    ref = write(tmp_path / "ref.wav", speech_like(seed=2), 44100)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["match", str(damaged), str(ref), "-o", str(tmp_path / "out.wav"), "--mode", "spectral"])
    err = capfd.readouterr().err.splitlines()
    assert exit_info.value.code == 0 and (tmp_path / "out.wav").is_file()
    assert all(line.startswith("eqlib: warning: ") for line in err), err
    said = [line for line in err if "damaged" in line]
    assert len(said) == 1 and said[0].startswith(
        f"eqlib: warning: {damaged}: damaged audio data: the decoder skipped what it could not read, 1.20 s of the "
        "3.00 s its header promises, and said so 4 times (first: 'Note: Illegal Audio-MPEG-Header "), err
    os.write(2, b"descriptor 2 is the terminal's again\n")
    assert capfd.readouterr().err == "descriptor 2 is the terminal's again\n"


def test_a_damaged_mp3_is_read_without_a_temporary_folder_for_the_decoders_messages(tmp_path, capsys, monkeypatch):
    """Where no temporary file can hold libmpg123's messages, they go to the terminal as before and the file is
    still used."""
    import tempfile

    def refuse() -> None:
        raise PermissionError(13, "Permission denied", "/tmp")

    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(make_damaged_mp3(3.0, 44100, 2))
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    code, out, _ = run_cli(capsys, "info", damaged)
    assert code == 0 and "MPEG_LAYER_III" in out


def test_an_error_cutting_a_capture_short_is_still_reported():
    """Ctrl-C raises inside the command line; raised inside a capture of decoder messages before it gave descriptor 2
    back, it lost the run's one error line (``make fuzz``: exit 130, empty stderr). Here a capture is left open, as
    such a signal leaves it, in a process of its own (descriptor 2 real, not pytest's)."""
    code = """if True:
        from eqlib import audio, cli
        left_open = []

        def interrupted(args):
            left_open.append(audio.decoder_messages([]))
            left_open[0].__enter__()  # not left: descriptor 2 now points at the capture
            raise KeyboardInterrupt

        cli.cmd_info = interrupted
        cli.main(["info", "any.wav"])
    """
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 130 and run.stderr == "eqlib: error: interrupted\n", run.stderr


def test_zeros_named_mp3_are_refused_in_one_line_without_the_decoders(tmp_path, capfd):
    """libsndfile hands what it cannot name to libmpg123, which printed three lines of its own before eqlib's
    refusal (found by ``make fuzz``)."""
    zeros = tmp_path / "x.mp3"
    zeros.write_bytes(bytes(12))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info", str(zeros)])
    assert exit_info.value.code == 5 and capfd.readouterr().err == f"eqlib: error: {zeros}: not an audio file\n"
