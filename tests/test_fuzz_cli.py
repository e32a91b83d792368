"""Fuzzing the command line's promise: whatever a person hands ``eqlib``, it ends with a documented exit code and,
on failure, exactly one ``eqlib: error: ...`` line, no traceback, no output created or changed, no temporary file
left; on success the output is complete and readable.

Inputs are generated: every container and subtype soundfile writes, random files with truncated, lying or
scrambled headers, extreme values, odd rates and channel counts (hypothesis); hostile names and paths; hostile
settings JSON and presets (hypothesis); hostile weights (a pickle that would run code must never run); signals
at random moments, stdout full, closed or a broken pipe, a file size limit while writing; permissions (as root,
without root's power over them). Every run is a separate process (``tests/warm_cli.py`` forks it from a worker that
imported eqlib once); two runs are cold ``python -m eqlib`` processes interrupted while torch imports.

``EQLIB_FUZZ=long`` (``make fuzz``) runs ten times as many random cases.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from conftest import make_speech_like
from eqlib.eq import EQSettings
from eqlib.errors import EXIT_CODES
from fuzz_inputs import FUZZ, LONG, SCALE, Payload, audio_files, content, settings_texts
from warm_cli import Run, WarmCLI, drop_file_overrides, wait_for_handlers

CODES = {0} | {code for code, _ in EXIT_CODES.values()}
SIGNAL_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
RATE = 44100
PROGRESS_BAR = re.compile(r"^\w[\w ]*: +\d+%\|")  # a tqdm bar on stderr, as eqlib draws them for long files


# --- the promise ---------------------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (not recursing): a file's bytes, a symlink's target, a folder's or pipe's kind."""
    entries = {}
    for path in folder.iterdir():
        if path.is_symlink():
            entries[path.name] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            entries[path.name] = path.read_bytes()
        else:
            entries[path.name] = b"<not a file>"
    return entries


def check_promise(run: Run, before: dict[str, bytes], after: dict[str, bytes], outputs: tuple[str, ...] = ()) -> None:
    """The promise for one run in a folder whose entries were ``before`` and are now ``after``; ``outputs`` are
    the names the run was asked to write."""
    assert run.code in CODES, f"exit {run.code} is not documented: {run.stderr[-400:]}"
    assert run.code != EXIT_CODES["internal"][0], f"internal error: {run.stderr[-400:]}"
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr[-2000:]
    # eqlib's own lines and its progress bars (tqdm: "measuring:  40%|####  | ..."), and no library's messages
    foreign = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith("eqlib: ")
               and not PROGRESS_BAR.search(line)]
    assert not foreign, foreign[:5]
    assert not [name for name in after if name.startswith(".eqlib-")], f"temporary files left: {sorted(after)}"
    errors = [line for line in run.stderr.splitlines() if line.startswith("eqlib: error: ")]
    if run.code == 0:
        assert not errors, run.stderr
        for name in outputs:
            assert name in after and before.get(name) != after[name], f"{name} not written"
        return
    assert len(errors) == 1 and run.stderr.splitlines()[-1] == errors[0], run.stderr
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    if "(after writing " in errors[0]:  # a signal after the outputs were renamed into place: all of them are there
        assert changed == set(outputs), (changed, errors[0])
    else:
        assert not changed, f"failed ({errors[0]}) but changed {sorted(changed)}"


def run_checked(cli: WarmCLI, folder: Path, argv: list, outputs: tuple[str, ...] = (), **options) -> Run:
    """Run ``eqlib argv`` in ``folder`` and check the promise there; return the run."""
    before = snapshot(folder)
    run = cli.run([str(a) for a in argv], folder, **options)
    check_promise(run, before, snapshot(folder), outputs)
    return run


# --- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli() -> WarmCLI:
    scratch = Path(tempfile.mkdtemp(prefix="eqlib-fuzz-runs-"))
    runner = WarmCLI(scratch)
    yield runner
    runner.close()
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus() -> Path:
    """A world-readable folder (a run as another user can use it) with a 2-s input, a reference, settings JSON, a
    preset, untrained weights and a 20-s stereo 48 kHz file (long enough for a signal to land mid-work)."""
    import torch

    from eqlib.checkpoint import save_checkpoint
    from eqlib.models import build_model
    from eqlib.presets import to_parametric_eq

    folder = Path(tempfile.mkdtemp(prefix="eqlib-fuzz-"))
    folder.chmod(0o755)
    sf.write(folder / "in.wav", make_speech_like(2.0, RATE, 1), RATE, subtype="PCM_16")
    sf.write(folder / "ref.wav", make_speech_like(2.0, RATE, 2), RATE, subtype="PCM_16")
    sf.write(folder / "long.wav", np.stack([make_speech_like(20.0, 48000, 3), make_speech_like(20.0, 48000, 4)], 1),
             48000, subtype="FLOAT")
    eq = EQSettings(np.array([[4.0, 150.0, 0.7], [-6.0, 600.0, 1.5], [5.0, 3000.0, 2.0], [-3.0, 9000.0, 0.8]]))
    eq.save(folder / "eq.json")
    (folder / "ParametricEQ.txt").write_text(to_parametric_eq(eq))
    torch.manual_seed(0)
    save_checkpoint(folder / "tiny.pt", build_model("proposed_db"))
    for path in folder.iterdir():
        path.chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def work_folder(corpus: Path) -> Path:
    """A fresh world-writable folder holding copies of the corpus's small files (the weights stay in the corpus:
    every run snapshots its folder byte for byte)."""
    folder = Path(tempfile.mkdtemp(prefix="eqlib-fuzz-work-"))
    folder.chmod(0o777)
    for name in ("in.wav", "ref.wav", "eq.json", "ParametricEQ.txt"):
        shutil.copy(corpus / name, folder / name)
    return folder


@pytest.fixture
def work(corpus: Path) -> Path:
    folder = work_folder(corpus)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# --- every container and subtype soundfile offers --------------------------------------------------------
def writable_kinds() -> list[tuple[str, str, int]]:
    """(format, subtype, channels) that soundfile writes and reads back, at 44.1 kHz (Opus: 48 kHz)."""
    kinds = []
    x = 0.3 * np.random.default_rng(0).standard_normal((2048, 2))
    for fmt in sorted(sf.available_formats()):
        for subtype in sf.available_subtypes(fmt):
            if fmt in ("RAW", "SD2") or subtype.startswith("DWVW") or subtype in ("MPEG_LAYER_I", "MPEG_LAYER_II"):
                continue  # headerless; two files (SD2's resource fork goes to ._NAME, in the current folder when
                # written to memory); subtypes libsndfile 1.2.2 writes but cannot read back (crash risk)
            if (fmt, subtype) == ("WAV", "MPEG_LAYER_III"):
                continue
            for channels in (1, 2):
                rate = 48000 if subtype == "OPUS" else RATE
                try:
                    buf = io.BytesIO()
                    sf.write(buf, x[:, :channels], rate, format=fmt, subtype=subtype)
                    buf.seek(0)
                    sf.read(buf)
                except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
                    continue
                kinds.append((fmt, subtype, channels))
    return kinds


def test_every_readable_container_and_subtype_is_matched_or_refused(cli, work):
    """Each (format, subtype) soundfile writes and reads back, as the input of ``apply`` to .wav or to its own
    format (alternating): success with the input's rate and channels, or a documented refusal. With
    ``EQLIB_FUZZ=long``: mono and stereo, both outputs, and ``info``."""
    kinds = writable_kinds()
    assert len(kinds) > 60
    if not LONG:  # one channel count per (format, subtype), alternating where both are written
        counts: dict[tuple[str, str], list[int]] = {}
        for fmt, subtype, channels in kinds:
            counts.setdefault((fmt, subtype), []).append(channels)
        kinds = [(*key, options[i % len(options)]) for i, (key, options) in enumerate(counts.items())]
    x = np.stack([make_speech_like(0.6, 48000, 7), make_speech_like(0.6, 48000, 8)], 1)
    ok = tried = 0
    for i, (fmt, subtype, channels) in enumerate(kinds):
        rate = 48000 if subtype == "OPUS" else RATE
        name = f"k-{fmt}-{subtype}-{channels}.{fmt.lower()}"
        sf.write(work / name, x[: int(0.6 * rate), :channels], rate, format=fmt, subtype=subtype)
        given = sf.info(str(work / name))
        outs = list(dict.fromkeys((f"{name}.out.wav", f"{name}.out.{fmt.lower()}")))
        for out in outs if LONG else outs[i % len(outs):][:1]:
            run = run_checked(cli, work, ["apply", "eq.json", name, "-o", out], outputs=(out,))
            tried += 1
            if run.code == 0:
                info = sf.info(str(work / out))
                assert (info.samplerate, info.channels) == (given.samplerate, given.channels), (name, out)
                if info.subtype in ("VORBIS", "OPUS", "MPEG_LAYER_III"):  # lossy codecs: their delay and padding
                    assert abs(info.frames - given.frames) < 0.1 * given.frames, (name, out)
                else:
                    assert info.frames >= given.frames, (name, out)  # block codecs may pad, never cut
                ok += 1
                (work / out).unlink()
            elif given.samplerate < 16000:  # formats with a fixed low rate (WVE: 8 kHz)
                assert run.code == EXIT_CODES["sample_rate"][0], (name, out, run.stderr)
            else:
                assert run.code in (EXIT_CODES["output"][0], EXIT_CODES["too_short"][0]), (name, out, run.stderr)
        if LONG:
            assert run_checked(cli, work, ["info", name]).code == 0, name
        (work / name).unlink()  # each run snapshots the folder: keep it small
    assert ok >= 0.8 * tried  # nearly all are written


def test_output_formats_the_extension_names(cli, work):
    """Every output extension soundfile knows, from a mono and a stereo 44.1 kHz WAV: written (rate, channels
    kept) or refused with code 14 and libsndfile's reason, before any work."""
    sf.write(work / "st.wav", np.stack([make_speech_like(1.0, RATE, 9)] * 2, 1), RATE, subtype="PCM_24")
    refused = []
    for fmt in sorted(sf.available_formats()):
        for source in ("in.wav", "st.wav"):
            out = f"o-{source}.{fmt.lower()}"
            run = run_checked(cli, work, ["apply", "eq.json", source, "-o", out], outputs=(out,))
            if run.code == 0:
                info = sf.info(str(work / out)) if fmt != "RAW" else None
                assert info is None or info.channels == sf.info(str(work / source)).channels
            else:
                assert run.code == EXIT_CODES["output"][0], run.stderr
                assert "cannot hold" in run.stderr or "not supported" in run.stderr, run.stderr
                refused.append(out)
            assert not [p for p in work.iterdir() if p.name.startswith("._")], "a format wrote a second file"
    assert "o-st.wav.xi" in refused and "o-in.wav.sd2" in refused
    assert "o-in.wav.wav" not in refused and "o-in.wav.mp3" not in refused


@pytest.mark.parametrize("case, rate, out, code", [
    ("mp3 input to wav", RATE, "o.wav", 0),
    ("96 kHz to mp3", 96000, "o.mp3", 14),
    ("1 MHz to flac", 1_000_000, "o.flac", 14),
    ("1 MHz to ogg (libvorbis would crash)", 1_000_000, "o.ogg", 14),
    ("1 MHz to wav", 1_000_000, "o.wav", 0),
])
def test_rates_and_formats_from_the_issue(cli, work, case, rate, out, code):
    source = "in.mp3" if "mp3 input" in case else "in-rate.wav"
    if source == "in.mp3":
        sf.write(work / source, make_speech_like(1.0, RATE, 3), RATE, format="MP3")
    else:
        sf.write(work / source, content("speech", int(0.6 * rate), 1, 3), rate, subtype="PCM_16")
    run = run_checked(cli, work, ["apply", "eq.json", source, "-o", out], outputs=(out,))
    assert run.code == code, run.stderr


# --- random files: truncated, lying and scrambled headers, extreme values, odd rates and channels ------------


@FUZZ
@given(audio_files(), st.sampled_from(["apply", "info", "spectral", "spectral-ref"]), st.sampled_from(["wav", "flac"]))
def test_random_audio_files_keep_the_promise(cli, corpus, case, command, out_ext):
    name, data = case
    folder = work_folder(corpus)
    try:
        (folder / name).write_bytes(data)
        out = f"out.{out_ext}"
        argv = {"apply": ["apply", "eq.json", name, "-o", out], "info": ["info", name],
                "spectral": ["match", name, "ref.wav", "-o", out, "--mode", "spectral"],
                "spectral-ref": ["match", "in.wav", name, "-o", out, "--mode", "spectral"]}[command]
        run_checked(cli, folder, argv, outputs=(out,) if command != "info" else ())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_truncated_wav_is_used_as_far_as_it_goes_with_a_warning(cli, work):
    data = (work / "in.wav").read_bytes()
    (work / "cut.wav").write_bytes(data[: 44 + (len(data) - 44) // 2])  # the header still promises 2 s
    run = run_checked(cli, work, ["apply", "eq.json", "cut.wav", "-o", "o.wav"], outputs=("o.wav",))
    assert run.code == 0 and "eqlib: warning: cut.wav: truncated: its header promises 2.000 s" in run.stderr
    assert sf.info(str(work / "o.wav")).duration == pytest.approx(1.0, abs=0.01)


# --- hostile names and paths -----------------------------------------------------------------------------
def _hostile_paths(folder: Path) -> dict[str, tuple[list[str], int]]:
    """case → (argv, expected exit code), after creating what the case needs in ``folder``."""
    os.symlink("loop-b", folder / "loop-a")
    os.symlink("loop-a", folder / "loop-b")
    os.symlink("nowhere.wav", folder / "dangling.wav")
    os.mkfifo(folder / "fifo.wav")
    (folder / "dir.wav").mkdir()
    shutil.copy(folder / "in.wav", folder / "é ü 漢字 name with spaces.wav")
    shutil.copy(folder / "in.wav", folder / "new\nline.wav")
    shutil.copy(folder / "in.wav", folder / "-dash.wav")
    (folder / "existing.wav").write_bytes(b"keep me")
    os.mkfifo(folder / "fifo-out.wav")
    long_name = "a" * 300 + ".wav"
    return {
        "input name too long": (["apply", "eq.json", long_name, "-o", "o.wav"], 3),
        "output name too long": (["apply", "eq.json", "in.wav", "-o", long_name], 14),
        "output name of 255 bytes": (["apply", "eq.json", "in.wav", "-o", "b" * 251 + ".wav"], 0),
        "path too long": (["apply", "eq.json", "/".join(["d" * 200] * 30) + "/x.wav", "-o", "o.wav"], 3),
        "symlink loop input": (["apply", "eq.json", "loop-a", "-o", "o.wav"], 4),
        "symlink loop settings": (["apply", "loop-a", "in.wav", "-o", "o.wav"], 17),
        "symlink loop weights": (["match", "in.wav", "ref.wav", "-o", "o.wav", "--weights", "loop-a"], 15),
        "symlink loop output": (["apply", "eq.json", "in.wav", "-o", "loop-a"], 13),
        "dangling symlink input": (["apply", "eq.json", "dangling.wav", "-o", "o.wav"], 3),
        "fifo input (must not block)": (["apply", "eq.json", "fifo.wav", "-o", "o.wav"], 4),
        "fifo settings": (["apply", "fifo.wav", "in.wav", "-o", "o.wav"], 17),
        "fifo output with --force": (["apply", "eq.json", "in.wav", "-o", "fifo-out.wav", "--force"], 14),
        "folder input": (["apply", "eq.json", "dir.wav", "-o", "o.wav"], 4),
        "folder output": (["apply", "eq.json", "in.wav", "-o", "dir.wav", "--force"], 14),
        "device input": (["info", "/dev/zero"], 4),
        "device settings": (["apply", "/dev/zero", "in.wav", "-o", "o.wav"], 17),
        "unicode and spaces": (["apply", "eq.json", "é ü 漢字 name with spaces.wav", "-o", "ü o.flac"], 0),
        "newline in a name": (["apply", "eq.json", "new\nline.wav", "-o", "o\nx.wav"], 0),
        "newline in a missing name": (["apply", "eq.json", "no\nsuch.wav", "-o", "o.wav"], 3),
        "dash name is an option": (["apply", "eq.json", "-dash.wav", "-o", "o.wav"], 2),
        "dash name written ./": (["apply", "eq.json", "./-dash.wav", "-o", "o.wav"], 0),
        "output is the input via ./": (["apply", "eq.json", "in.wav", "-o", "./in.wav", "--force"], 12),
        "output exists": (["apply", "eq.json", "in.wav", "-o", "existing.wav"], 13),
        "output in a file": (["apply", "eq.json", "in.wav", "-o", "in.wav/o.wav"], 14),
        "output without extension": (["apply", "eq.json", "in.wav", "-o", "out"], 14),
        "empty argument (the folder .)": (["apply", "eq.json", "", "-o", "o.wav"], 4),
        "not-utf8 name": (["apply", "eq.json", os.fsdecode(b"\xff\xfe.wav"), "-o", "o.wav"], 3),
    }


def test_hostile_names_and_paths(cli, work):
    cases = _hostile_paths(work)
    for case, (argv, code) in cases.items():
        outputs = tuple(argv[argv.index("-o") + 1:argv.index("-o") + 2]) if "-o" in argv else ()
        run = run_checked(cli, work, argv, outputs=outputs)
        assert run.code == code, f"{case}: exit {run.code}: {run.stderr}"
        for name in outputs:
            if run.code == 0:
                (work / name).unlink()
    assert (work / "fifo-out.wav").exists() and not (work / "fifo-out.wav").is_file()


# --- hostile settings and presets ------------------------------------------------------------------------


@FUZZ
@given(settings_texts())
def test_hostile_settings_keep_the_promise(cli, corpus, text):
    folder = work_folder(corpus)
    try:
        (folder / "hostile.json").write_bytes(text)
        run = run_checked(cli, folder, ["apply", "hostile.json", "in.wav", "-o", "o.wav"], outputs=("o.wav",))
        assert run.code in (0, EXIT_CODES["settings"][0]), run.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("text, message", [
    ('{"format": "eqlib.eq/1", "bands": ' + '[' * 100_000, "nested too deeply"),
    ('{"format": "eqlib.eq/1", "bands": [' + '{' * 3, "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (json.dumps(EQSettings.identity().to_dict()).replace("0.707", '"0.707"', 1), "JSON numbers"),
    (json.dumps(EQSettings.identity().to_dict()).replace("0.707", "true", 1), "JSON numbers"),
])
def test_settings_json_is_strict(cli, work, text, message):
    (work / "s.json").write_text(text)
    run = run_checked(cli, work, ["apply", "s.json", "in.wav", "-o", "o.wav"])
    assert run.code == EXIT_CODES["settings"][0] and message in run.stderr, run.stderr


def test_settings_larger_than_a_megabyte_are_refused_unread(cli, work):
    (work / "big.json").write_bytes(b" " * (2 << 20) + b"{}")
    run = run_checked(cli, work, ["apply", "big.json", "in.wav", "-o", "o.wav"])
    assert run.code == EXIT_CODES["settings"][0] and "too large" in run.stderr


# --- hostile weights: a pickle that would run code must never run ------------------------------------------
def test_hostile_weights_are_refused_and_never_run(cli, corpus, work):
    import torch

    marker = work / "PAYLOAD-RAN"
    pickle.dump(Payload(marker), open(work / "evil.pkl", "wb"))
    torch.save({"format": "eqlib.checkpoint/1", "model_config": {}, "state_dict": Payload(marker)}, work / "evil.pt")
    torch.save({"format": "other"}, work / "foreign.pt")
    torch.save([1, 2, 3], work / "list.pt")
    good = (corpus / "tiny.pt").read_bytes()
    (work / "cut.pt").write_bytes(good[:300_000])  # a zip cut short
    (work / "noise.pt").write_bytes(np.random.default_rng(0).bytes(5000))
    (work / "empty.pt").write_bytes(b"")
    (work / "dir.pt").mkdir()
    os.mkfifo(work / "fifo.pt")
    for weights in ("evil.pkl", "evil.pt", "foreign.pt", "list.pt", "cut.pt", "noise.pt", "empty.pt", "dir.pt",
                    "fifo.pt", "missing.pt"):
        for flag in ("--weights", "--model"):
            run = run_checked(cli, work, ["match", "in.wav", "ref.wav", "-o", "o.wav", flag, weights])
            assert run.code == EXIT_CODES["weights"][0], (weights, run.stderr)
    assert not marker.exists(), "a pickled payload ran"
    run = run_checked(cli, work, ["match", "in.wav", "ref.wav", "-o", "o.wav", "--weights", corpus / "tiny.pt",
                                  "--mode", "spectral"])
    assert run.code == EXIT_CODES["usage"][0] and "--mode spectral uses none" in run.stderr


# --- signals at random moments, stdout that fails, a file size limit -----------------------------------------
def _signal_run(cli: WarmCLI, folder: Path, argv: list[str], outputs: tuple[str, ...], signum: int, delay_s: float):
    before = snapshot(folder)
    pid, out, err = cli.start(argv, folder)
    if wait_for_handlers(pid):
        time.sleep(delay_s)
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    run = cli.wait(out, err)
    check_promise(run, before, snapshot(folder), outputs)
    assert run.code in (0, SIGNAL_CODES[signum]), run.stderr
    return run


def test_signals_at_random_moments_leave_nothing_half_done(cli, corpus, work):
    shutil.copy(corpus / "long.wav", work / "long.wav")
    commands = [
        (["apply", "eq.json", "long.wav", "-o", "o.wav", "--force"], ("o.wav",)),
        (["apply", "eq.json", "long.wav", "-o", "o.flac", "--force", "--normalize"], ("o.flac",)),
        (["match", "long.wav", "ref.wav", "-o", "m.wav", "--json", "m.json", "--force", "--mode", "spectral"],
         ("m.wav", "m.json")),
    ]
    timed = []  # each command with its own run time on this machine (s), so that most signals land during a run
    for argv, outputs in commands:
        start = time.monotonic()
        assert run_checked(cli, work, argv, outputs).code == 0
        timed.append((argv, outputs, time.monotonic() - start))
        for name in outputs:
            (work / name).unlink(missing_ok=True)
    rng = random.Random(17)
    codes = []
    for k in range(8 * SCALE):
        signum = rng.choice(list(SIGNAL_CODES))
        argv, outputs, duration_s = rng.choice(timed)
        run = _signal_run(cli, work, argv, outputs, signum, rng.uniform(0.0, 1.5 * duration_s))
        codes.append(run.code)
        for name in outputs:  # the next run creates them afresh (a rewrite with equal bytes would look unchanged)
            (work / name).unlink(missing_ok=True)
    assert any(code != 0 for code in codes), "no signal landed before the end: the runs are too short"


@pytest.mark.parametrize("stdout, code", [("/dev/full", 14), ("closed", 14), ("broken-pipe", 14)])
@pytest.mark.parametrize("command", ["apply", "match", "info"])
def test_stdout_full_closed_or_broken_creates_nothing(cli, work, stdout, code, command):
    argv = {"apply": ["apply", "eq.json", "in.wav", "-o", "o.wav"],
            "match": ["match", "in.wav", "ref.wav", "-o", "o.wav", "--json", "o.json", "--mode", "spectral"],
            "info": ["info", "in.wav"]}[command]
    run = run_checked(cli, work, argv, stdout=stdout)
    assert run.code == code, run.stderr
    assert not (work / "o.wav").exists() and not (work / "o.json").exists()


def test_a_file_size_limit_while_writing_leaves_nothing(cli, work):
    run = run_checked(cli, work, ["apply", "eq.json", "in.wav", "-o", "o.wav"], max_file_bytes=20_000)
    assert run.code == EXIT_CODES["output"][0] and "could not write" in run.stderr, run.stderr


def test_ctrl_c_while_torch_imports_gives_one_line(corpus, tmp_path):
    """Cold ``python -m eqlib`` processes, interrupted at random moments after eqlib's handlers are installed,
    while torch and the model load: exit 130, one line, nothing written. Each starts with SIGINT's default
    disposition, as from a terminal (a shell gives background jobs an ignored SIGINT, which eqlib keeps ignored)."""
    shutil.copy(corpus / "in.wav", tmp_path / "in.wav")
    shutil.copy(corpus / "ref.wav", tmp_path / "ref.wav")
    shutil.copy(corpus / "tiny.pt", tmp_path / "tiny.pt")

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "eqlib", "match", "in.wav", "ref.wav", "-o", "o.wav",
                                 "--weights", "tiny.pt"], cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert wait_for_handlers(proc.pid)
        return proc

    # One run left alone measures how long the work after the handlers takes on this machine, so that every
    # interrupt below lands inside it (a fixed delay let a fast machine finish first and exit 0).
    proc = start()
    began = time.monotonic()
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    work_s = time.monotonic() - began
    (tmp_path / "o.wav").unlink()
    rng = random.Random(3)
    for k in range(2 * SCALE):
        before = snapshot(tmp_path)
        proc = start()
        time.sleep(rng.uniform(0.0, 0.5 * work_s))
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
        run = Run(proc.returncode, stdout, stderr)
        check_promise(run, before, snapshot(tmp_path), ("o.wav",))
        assert run.code == 130, run.stderr
        assert run.stderr == "eqlib: error: interrupted\n", run.stderr


# --- permissions, as a user who is not root -------------------------------------------------------------
def _unprivileged() -> bool:
    """Whether runs must drop root's power over file permissions (the tests run as root, which reads and writes
    everything; :func:`warm_cli.drop_file_overrides`); skips the test, with the reason, where root cannot drop
    it here. Without root the runs already have no such power."""
    if os.geteuid() != 0:
        return False
    locked = Path(tempfile.mkdtemp(prefix="eqlib-fuzz-locked-"))
    (locked / "secret").write_text("x")
    (locked / "secret").chmod(0o000)
    pid = os.fork()
    if pid == 0:  # try it in a child, which exits at once either way: 0 when the locked file is then refused
        try:
            drop_file_overrides()
        except OSError:
            os._exit(1)
        try:
            (locked / "secret").read_text()
        except PermissionError:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(locked)
    if os.waitstatus_to_exitcode(status) != 0:
        pytest.skip("running as root, which cannot give up its power over file permissions here: every file is "
                    "readable, so the permission cases cannot be tried")
    return True


def test_permissions_as_a_normal_user(cli, corpus, work):
    """As the owner of every file, without root's power over permissions: unreadable, unwritable and
    untraversable files each end in their documented exit code; the shipped model and readable files work."""
    unprivileged = _unprivileged()
    for name in ("in.wav", "eq.json", "tiny.pt"):
        shutil.copy(corpus / name, work / f"locked-{name}")
        (work / f"locked-{name}").chmod(0o000)
    (work / "ro").mkdir()
    (work / "ro").chmod(0o555)
    (work / "noexec").mkdir()
    shutil.copy(work / "in.wav", work / "noexec" / "in.wav")
    shutil.copy(corpus / "tiny.pt", work / "noexec" / "tiny.pt")
    (work / "noexec").chmod(0o600)
    cases = {
        "unreadable input": (["apply", "eq.json", "locked-in.wav", "-o", "o.wav"], 4),
        "unreadable settings": (["apply", "locked-eq.json", "in.wav", "-o", "o.wav"], 17),
        "unreadable weights": (["match", "in.wav", "ref.wav", "-o", "o.wav", "--weights", "locked-tiny.pt"], 15),
        "unwritable output folder": (["apply", "eq.json", "in.wav", "-o", "ro/o.wav"], 14),
        "input in an untraversable folder": (["apply", "eq.json", "noexec/in.wav", "-o", "o.wav"], 4),
        "weights in an untraversable folder": (["match", "in.wav", "ref.wav", "-o", "o.wav", "--weights",
                                                "noexec/tiny.pt"], 15),
        "readable input": (["apply", "eq.json", "in.wav", "-o", "o.wav"], 0),
        "the shipped model": (["match", "in.wav", "ref.wav", "-o", "o.wav", "--force"], 0),
    }
    for case, (argv, code) in cases.items():
        run = run_checked(cli, work, argv, outputs=("o.wav",), unprivileged=unprivileged)
        assert run.code == code, f"{case}: {run.stderr}"
        assert list((work / "ro").iterdir()) == []
    (work / "noexec").chmod(0o700)
