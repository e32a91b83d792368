"""Command line: ``eqlib match``, ``eqlib apply``, ``eqlib info``; a thin shell over :mod:`eqlib.api`.

``eqlib match IN REF -o OUT`` predicts the 4-band EQ that gives IN the EQ style of REF, prints it as a
table and writes IN filtered through it; ``eqlib match IN1 IN2 ... --reference REF --out-dir DIR`` does so
for many inputs, analysing REF once. ``eqlib apply SETTINGS IN -o OUT`` re-applies saved settings (eqlib
JSON or a ParametricEQ.txt preset); ``eqlib info FILE`` describes a file.

Analysis runs at the model's rate (44.1 kHz) on the mono mid of the whole file; the EQ runs at
the file's own rate on every channel. Files are streamed in blocks (:mod:`eqlib.streaming`), so memory
stays bounded for hour-long files. Bands at or above 0.45 x the file's sample rate are clamped to
0.45 x fs (flagged under the table); saved settings hold the unclamped values, so ``apply``
clamps identically. Outputs go to temporary files renamed into place only when all of them are written.
``eqlib --help`` and ``eqlib info`` import neither torch nor scipy.signal.

Exit codes (one ``eqlib: error: ...`` line on stderr, never a traceback; no output created or changed on failure):

====  =====================================================================
code  meaning
====  =====================================================================
0     success
1     unexpected internal error
2     usage error (unknown option, missing or non-numeric argument, an option the mode does not use)
3     input file missing
4     input file unreadable, corrupt or in an unsupported format
5     input file is not audio
6     input file empty (0 bytes or no samples)
7     input silent (peak below -100 dBFS, or nothing between 20 Hz and 20 kHz to match)
8     input contains NaN, infinite or absurd samples (beyond 1e+06 x full scale)
9     input shorter than 0.5 s
10    input sample rate below 16000 Hz
11    input has more than 2 channels
12    output path is also an input path
13    output exists (pass --force to overwrite)
14    output unusable: no writable folder, name too long, format cannot hold the audio, stdout closed or full, write failed
15    weights file missing, unreadable or not an eqlib checkpoint
16    --amount outside [0, 1]
17    settings file unreadable, malformed or out of range
18    one or more batch inputs failed (each is reported)
129   hung up (SIGHUP)
130   interrupted (Ctrl-C, SIGINT)
143   terminated (SIGTERM)
====  =====================================================================

The promise, and how it is kept: every failure is an :class:`eqlib.errors.EqlibError` whose ``kind`` names its
code (:func:`eqlib.errors.describe` maps everything else, the one place that does); outputs go to temporary
files beside their destinations (:class:`eqlib.audio.OutputFiles`), and the report on stdout is written, and
the files renamed into place, together with SIGINT, SIGTERM and SIGHUP held off, so that on any failure nothing
was created or changed, and a signal that comes after says what was written. ``tests/test_fuzz_cli.py`` checks
this on generated files, names, settings, weights and signals.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Iterator, NoReturn

from eqlib.errors import EXIT_CODES, SIGNAL_KINDS, EqlibError, Interrupted, describe, from_os_error, reason

NORMALIZE_PEAK_DBFS = -1.0
EXPORTS = ("table", "ffmpeg", "pedalboard", "eqapo")  # what --print writes on stdout
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # listed for --help without importing torch
MIN_LOUDNESS_RATE = 8000  # Hz: below this BS.1770's K-weighting (a shelf near 1.7 kHz) does not fit under Nyquist
HANDLED_SIGNALS = tuple(signal.Signals(s) for s in SIGNAL_KINDS)
IMPORT_RETRY_S = 0.05  # s: how often a signal held back by an import looks again whether the import is over
LISTED_WRITTEN = 4  # a late failure names at most this many written files


class _Run:
    """What this run has written so far (renamed into place, complete), for a failure that comes after."""

    written: list[Path] = []


def failure(err: BaseException) -> tuple[str, str]:
    """``(kind, one-line message)`` of any failure (:func:`eqlib.errors.describe`), naming what was already
    written when the failure came after outputs were renamed into place (a batch's own lines list them)."""
    error = describe(err)
    message = str(error)
    written = _Run.written
    if written and error.kind != "batch":
        names = ", ".join(str(p) for p in written[-LISTED_WRITTEN:])
        more = f"{len(written)} files, the last {names}" if len(written) > LISTED_WRITTEN else names
        message += f" (after writing {more}: complete, and kept)"
    return error.kind, message


# --- checks on paths and options ------------------------------------------------------------------
def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop resolves nowhere (RuntimeError before Python 3.13)
        pass
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_output(out: Path, force: bool) -> None:
    """One output: not a folder, absent unless ``force``, a name the file system takes, in a writable folder."""
    import stat

    from eqlib.audio import new_temp, remove_temp

    try:
        mode = os.lstat(out).st_mode
        if stat.S_ISDIR(mode) or out.is_dir():
            raise EqlibError(f"{out}: is a folder; give an output file name", "output")
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):  # renaming onto a device node or pipe would replace it
            raise EqlibError(f"{out}: exists and is not a regular file (a device, pipe or socket); eqlib writes "
                             "files", "output")
        if not force:
            raise EqlibError(f"{out}: already exists; pass --force to overwrite", "exists")
    except FileNotFoundError:
        pass
    except OSError as err:  # a name too long, a parent that is a file, a symlink loop above it, no permission
        raise from_os_error(err, out, "output") from err
    parent = out.parent
    if not parent.is_dir():
        raise EqlibError(f"{out}: output folder {parent} does not exist", "output")
    try:
        remove_temp(new_temp(parent))
    except OSError as err:
        raise EqlibError(f"{out}: output folder {parent} is not writable ({reason(err)})", "output") from err


def check_outputs(outputs: list[Path], inputs: list[Path], force: bool) -> None:
    """Reject outputs that equal an input or each other, exist without ``force``, or cannot be written."""
    for i, out in enumerate(outputs):
        for other in inputs + outputs[:i]:
            if _same_file(out, other):
                raise EqlibError(f"{out}: output path is also an input path; choose another output", "same_path")
    for out in outputs:
        _check_output(out, force)


def check_amount(amount: float) -> None:
    if not (0.0 <= amount <= 1.0):
        raise EqlibError(f"--amount must be between 0 and 1, got {amount:g}", "amount")


def _usage(message: str, command: str) -> EqlibError:
    return EqlibError(f"{message} (see eqlib {command} --help)", "usage")


# --- writing and reporting ------------------------------------------------------------------------
def _write_stdout(text: str) -> None:
    """Write and flush ``text`` on stdout; a stdout that cannot take it (full, a closed pipe) is an output error."""
    if not text:
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as err:
        raise EqlibError(f"stdout: cannot write the report ({reason(err)}); the outputs it names were not written",
                         "output") from err


def _one_line(text: str) -> str:
    """``text`` with control characters (a newline in a file name) escaped, so that it stays one line."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode() for c in text)


def _write_stderr(text: str) -> None:
    """Write ``text`` on stderr, if stderr takes it (a warning is not worth failing for)."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _lines(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def publish(files, stdout_text: str, stderr_text: str = "") -> None:
    """Write the report and rename ``files`` (:class:`eqlib.audio.OutputFiles`) into place, with SIGINT, SIGTERM
    and SIGHUP held off: both happen or, if stdout cannot take the report, neither."""
    from eqlib.audio import signals_held

    _honour_held_back_signal()
    with signals_held():
        _write_stdout(stdout_text)
        _write_stderr(stderr_text)
        try:
            files.commit()
        finally:
            _Run.written.extend(files.written)


def write_outputs(files, src, settings, plan, texts: dict[Path, str], normalize: bool, gain_db: float = 0.0):
    """Filter ``src`` through ``settings`` (clamped to its rate) into a temporary file for ``plan`` and write
    ``texts`` (path → text) into temporary files, all in ``files`` (renamed into place by :func:`publish`).
    Returns ``(clamped settings, notes, output peak dBFS)``."""
    from eqlib import api, streaming

    effective, notes = api.clamp_to_rate(settings, src.sample_rate)
    try:
        for path, text in texts.items():
            files.temp(path).write_text(text)
        tmp = files.temp(plan.path)
    except OSError as err:
        raise from_os_error(err, err.filename or plan.path, "output") from err
    peak_db = streaming.render(src, effective.sos(src.sample_rate), plan, tmp, gain_db,
                               NORMALIZE_PEAK_DBFS if normalize else None)
    return effective, notes, peak_db


def export_text(settings, what: str) -> str:
    """What ``--print`` writes on stdout: an ffmpeg chain, pedalboard code or a ParametricEQ.txt preset (eqapo)."""
    from eqlib import presets

    if what == "ffmpeg":
        return settings.to_ffmpeg()
    if what == "pedalboard":
        return presets.pedalboard_code(settings)
    return presets.to_parametric_eq(settings).rstrip("\n")


def _settings_text(settings, notes: list[str]) -> str:
    return _lines(str(settings), *notes)


def _output_line(plan, peak_db: float) -> str:
    return _lines(f"wrote {plan.path} ({plan.sample_rate} Hz, {plan.channels} ch, {plan.subtype}), "
                  f"peak {peak_db:+.1f} dBFS")


def _clip_warning(plan, peak_db: float) -> str:
    if peak_db <= 0.0:
        return ""
    fate = ("samples above full scale were clipped" if plan.clips
            else "samples above full scale are kept but will clip on playback")
    return _lines(f"eqlib: warning: output peak {peak_db:+.1f} dBFS exceeds 0 dBFS ({fate}); "
                  f"rerun with --normalize to scale to {NORMALIZE_PEAK_DBFS:g} dBFS peak")


def _warn(*notes: str) -> None:
    """Warn (stderr) about inputs that are used despite a flaw: a header that promises more than the file holds
    (``FileSource.notes``), damaged data the decoder skipped (``FileSource.damage_notes``)."""
    _write_stderr(_lines(*(f"eqlib: warning: {note}" for note in notes)))


# --- commands -------------------------------------------------------------------------------------
def _shipped_models() -> str:
    """The shipped models' names for ``--help``, or why they cannot be listed (``eqlib/weights`` unreadable)."""
    try:
        return ", ".join(sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))) or "none found"
    except OSError as err:
        return f"none readable: {WEIGHTS_DIR}: {reason(err)}"


def _is_file(path: str | Path, role: str) -> bool:
    """Whether ``path`` names a file; the error of its ``role`` when it cannot be looked at (a folder on the way
    that this user may not enter)."""
    try:
        return Path(path).is_file()
    except OSError as err:
        raise from_os_error(err, path, role) from err


def _check_model_options(args: argparse.Namespace) -> None:
    if args.mode == "spectral" and (args.weights is not None or args.model is not None):
        raise _usage("--weights and --model choose the network of --mode oneshot and hybrid; --mode spectral uses "
                     "none", "match")


def _predictor(args: argparse.Namespace):
    """The model ``args.mode`` needs (``None`` for spectral), from ``--weights`` or ``--model``."""
    from eqlib import api

    if args.weights is not None and not _is_file(args.weights, "weights"):
        raise EqlibError(f"{args.weights}: no such weights file", "weights")
    try:
        return api.resolve_model(args.weights if args.weights is not None else args.model, args.mode)
    except EqlibError as err:
        hint = "" if args.weights is not None else " (pass --weights FILE, or --mode spectral, which needs no weights)"
        raise EqlibError(str(err) + hint, err.kind) from err


def cmd_match(args: argparse.Namespace) -> None:
    check_amount(args.amount)
    _check_model_options(args)
    if args.reference is None:
        if len(args.inputs) != 2 or args.output is None or args.out_dir is not None:
            raise _usage("give INPUT REFERENCE -o OUTPUT, or INPUT [INPUT ...] --reference REFERENCE --out-dir DIR",
                         "match")
        _match_pair(args)
    else:
        if args.out_dir is None or args.output is not None:
            raise _usage("with --reference, give --out-dir DIR (and no -o): each input is written there", "match")
        if args.json or args.preset or args.print != "table":
            raise _usage("--json, --preset and --print are for one input; a batch writes DIR/NAME and "
                         "DIR/NAME.json per input", "match")
        _match_batch(args)


def _match_pair(args: argparse.Namespace) -> None:
    from eqlib import api, presets, streaming
    from eqlib.audio import OutputFiles

    inputs = [Path(p) for p in args.inputs]
    out = Path(args.output)
    texts = [Path(p) for p in (args.json, args.preset) if p]
    check_outputs([out, *texts], inputs, args.force)
    src, ref = (streaming.open_source(p) for p in inputs)
    plan = streaming.output_plan(out, src.sample_rate, src.channels, src.subtype)
    _warn(*src.notes, *ref.notes)
    predictor = _predictor(args)
    settings = api.settings_from(api.analyse(src, args.mode, predictor, "input"),
                                 api.analyse(ref, args.mode, predictor, "reference"), args.mode,
                                 predictor).scaled(args.amount)
    _warn(*src.damage_notes(), *ref.damage_notes())
    contents = {}
    if args.json:
        contents[Path(args.json)] = settings.to_json() + "\n"
    if args.preset:
        contents[Path(args.preset)] = presets.to_parametric_eq(settings)
    with OutputFiles() as files:
        effective, notes, peak_db = write_outputs(files, src, settings, plan, contents, args.normalize)
        report = _settings_text(effective, notes) + _output_line(plan, peak_db)
        if args.json:
            report += _lines(f"wrote {args.json} (re-apply: eqlib apply {args.json} IN -o OUT)")
        if args.preset:
            report += _lines(f"wrote {args.preset} (ParametricEQ.txt for EqualizerAPO, PipeWire, AutoEq)")
        if args.print == "table":
            publish(files, report)
        else:
            publish(files, _lines(export_text(effective, args.print)), report)
    _write_stderr(_clip_warning(plan, peak_db))


def _batch_line(settings) -> str:
    return ", ".join(f"{band.name} {gain:+.1f} dB @ {freq:.0f} Hz"
                     for band, (gain, freq, _) in zip(settings.spec.bands, settings.params))


def _match_one(args: argparse.Namespace, path: Path, out_dir: Path, ref_analysis, predictor, bar) -> None:
    """Match one batch input to the analysed reference and publish ``DIR/NAME`` and ``DIR/NAME.json`` with its
    ``ok`` line."""
    from eqlib import api, streaming
    from eqlib.audio import OutputFiles

    out, settings_out = out_dir / path.name, out_dir / f"{path.stem}.json"
    check_outputs([out, settings_out], [path, Path(args.reference)], args.force)
    src = streaming.open_source(path)
    plan = streaming.output_plan(out, src.sample_rate, src.channels, src.subtype)
    _warn(*src.notes)
    settings = api.settings_from(api.analyse(src, args.mode, predictor, path.name), ref_analysis,
                                 args.mode, predictor).scaled(args.amount)
    _warn(*src.damage_notes())
    with OutputFiles() as files:
        effective, notes, peak_db = write_outputs(files, src, settings, plan, {settings_out: settings.to_json() + "\n"},
                                                  args.normalize)
        clipped = " (clipped: rerun with --normalize)" if peak_db > 0 else ""
        line = (f"ok    {path} -> {out} ({plan.subtype}, peak {peak_db:+.1f} dBFS{clipped}); {_batch_line(effective)}"
                + "".join(f" {note}" for note in notes))
        with bar.external_write_mode(file=sys.stdout):
            publish(files, _lines(line))


def _match_batch(args: argparse.Namespace) -> None:
    """Every input matched to one reference, analysed once; a failing input is reported and skipped."""
    from tqdm import tqdm

    from eqlib import api, streaming

    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        raise EqlibError(f"{out_dir}: output folder does not exist", "output")
    inputs = [Path(p) for p in args.inputs]
    names = [p.name for p in inputs]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise _usage(f"two inputs are named {duplicate}; both would be written to {out_dir / duplicate}", "match")
    reference = streaming.open_source(args.reference)
    _warn(*reference.notes)
    predictor = _predictor(args)
    ref_analysis = api.analyse(reference, args.mode, predictor, "reference")
    _warn(*reference.damage_notes())
    failed = 0
    with tqdm(inputs, unit="file", desc="matching", file=sys.stderr, leave=False) as bar:
        for path in bar:
            try:
                _match_one(args, path, out_dir, ref_analysis, predictor, bar)
            except EqlibError as err:  # reported per file; the batch goes on, unless stdout itself failed
                if str(err).startswith("stdout:"):
                    raise
                failed += 1
                named = str(err) if str(err).startswith(str(path)) else f"{path}: {err}"
                with bar.external_write_mode(file=sys.stdout):
                    _write_stdout(_lines(f"FAIL  {named} [exit {err.exit_code}: {err.kind}]"))
    _write_stdout(_lines(f"{len(inputs) - failed} of {len(inputs)} inputs matched to {args.reference}, written to "
                         f"{out_dir} with their settings (NAME.json)"))
    if failed:
        raise EqlibError(f"{failed} of {len(inputs)} inputs failed (listed above)", "batch")


def cmd_apply(args: argparse.Namespace) -> None:
    from eqlib import streaming
    from eqlib.audio import OutputFiles
    from eqlib.presets import read_settings

    check_amount(args.amount)
    settings_path, inp, out = Path(args.settings), Path(args.input), Path(args.output)
    check_outputs([out], [settings_path, inp], args.force)
    settings, preamp = read_settings(settings_path)
    settings = settings.scaled(args.amount)
    src = streaming.open_source(inp)
    plan = streaming.output_plan(out, src.sample_rate, src.channels, src.subtype)
    _warn(*src.notes)
    with OutputFiles() as files:
        effective, notes, peak_db = write_outputs(files, src, settings, plan, {}, args.normalize, preamp)
        report = _settings_text(effective, notes)
        if preamp and not args.normalize:
            report += _lines(f"preamp {preamp:+.1f} dB applied (from the preset)")
        publish(files, report + _output_line(plan, peak_db))
    _warn(*src.damage_notes())
    _write_stderr(_clip_warning(plan, peak_db))


def cmd_info(args: argparse.Namespace) -> None:
    from eqlib.audio import peak_dbfs
    from eqlib.spectrum import LoudnessMeter
    from eqlib.streaming import open_source

    src = open_source(args.file, check=False)
    _warn(*src.notes)
    meter = LoudnessMeter(src.sample_rate, src.channels) if src.sample_rate >= MIN_LOUDNESS_RATE else None
    peak = 0.0
    for block in src.blocks(progress="measuring"):
        peak = max(peak, float(abs(block).max()))
        if meter is not None:
            meter.add(block)
    _warn(*src.damage_notes())
    loudness = meter.integrated_lufs() if meter is not None else math.nan
    if meter is None:
        loudness_text = f"n/a (BS.1770 needs at least {MIN_LOUDNESS_RATE} Hz)"
    else:
        loudness_text = "n/a (shorter than 0.4 s)" if math.isnan(loudness) else f"{loudness:.1f} LUFS"
    rows = [
        ("file", str(src.path)),
        ("duration", f"{src.duration_s:.3f} s"),
        ("sample rate", f"{src.sample_rate} Hz"),
        ("channels", str(src.channels)),
        ("subtype", f"{src.subtype} ({src.format})"),
        ("loudness", loudness_text),
        ("sample peak", f"{peak_dbfs([peak]):.1f} dBFS"),
    ]
    width = max(len(k) for k, _ in rows)
    _write_stdout(_lines(*(f"{key.ljust(width)}  {value}" for key, value in rows)))


# --- argument parsing ----------------------------------------------------------------------------
def _epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in
                                       sorted([(0, "success"), *EXIT_CODES.values()]))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CODES["usage"][0], f"eqlib: error: {message} (see eqlib {self.prog.split()[-1]} --help)\n"
                  if " " in self.prog else f"eqlib: error: {message} (see eqlib --help)\n")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="eqlib", description="One-shot parametric EQ style transfer.", epilog=_epilog(),
                     formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{match,apply,info}", parser_class=_Parser)

    def common(p: argparse.ArgumentParser, output_required: bool) -> None:
        p.add_argument("-o", "--output", required=output_required, help="output audio file (.wav, .flac, ...)")
        p.add_argument("--amount", type=float, default=1.0, help="scale every gain by this factor in [0, 1] (default 1)")
        p.add_argument("--normalize", action="store_true", help=f"scale the output to {NORMALIZE_PEAK_DBFS:g} dBFS peak")
        p.add_argument("--force", action="store_true", help="overwrite existing outputs")

    shipped = _shipped_models()
    match = sub.add_parser(
        "match", help="give INPUT the EQ style of REFERENCE", epilog=_epilog(), formatter_class=fmt,
        usage="eqlib match INPUT REFERENCE -o OUTPUT [options]\n"
              "       eqlib match INPUT [INPUT ...] --reference REFERENCE --out-dir DIR [options]",
        description="Predict the 4-band EQ that gives INPUT the EQ style of REFERENCE, print it, and write INPUT\n"
                    "filtered through it. With --reference, match every INPUT to that one reference (analysed\n"
                    "once) into DIR: DIR/NAME (audio) and DIR/NAME.json (settings) per input, one line each; a\n"
                    "failing input is reported and the others are still processed.")
    match.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="recording to equalise, then the reference (any speaker, any words); with --reference, "
                            "all recordings to equalise")
    match.add_argument("--reference", help="batch mode: the one reference for every INPUT")
    match.add_argument("--out-dir", help="batch mode: existing folder for the outputs")
    common(match, output_required=False)
    match.add_argument("--mode", choices=("oneshot", "spectral", "hybrid"), default="oneshot",
                       help="oneshot: the network's prediction (default); spectral: fit to the long-term spectra; "
                            "hybrid: the spectral fit started from, and held near, the prediction")
    match.add_argument("--model", help=f"shipped model for oneshot/hybrid ({shipped}; default: "
                                       "eqlib.inference.DEFAULT_MODEL) or a checkpoint file")
    match.add_argument("--weights", help="checkpoint file (instead of a shipped model)")
    match.add_argument("--json", metavar="SETTINGS.json", help="also save the settings (after --amount) as JSON")
    match.add_argument("--preset", metavar="ParametricEQ.txt",
                       help="also save them as a ParametricEQ.txt preset (EqualizerAPO, PipeWire, AutoEq)")
    match.add_argument("--print", choices=EXPORTS, default="table",
                       help="print an ffmpeg -af chain, pedalboard code or a ParametricEQ.txt preset (eqapo) on "
                            "stdout (the table then goes to stderr)")
    match.set_defaults(func=cmd_match)

    apply = sub.add_parser("apply", help="apply saved EQ settings", epilog=_epilog(), formatter_class=fmt,
                           description="Filter INPUT through settings saved by 'eqlib match --json' or a "
                                       "ParametricEQ.txt preset (its Preamp is applied unless --normalize).")
    apply.add_argument("settings", help="settings JSON (eqlib match --json) or ParametricEQ.txt")
    apply.add_argument("input", help="recording to equalise")
    common(apply, output_required=True)
    apply.set_defaults(func=cmd_apply)

    info = sub.add_parser("info", help="describe an audio file", epilog=_epilog(), formatter_class=fmt,
                          description="Duration, sample rate, channels, subtype, integrated loudness and sample peak.")
    info.add_argument("file", help="audio file")
    info.set_defaults(func=cmd_info)
    return parser


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """The first SIGINT, SIGTERM or SIGHUP: stop the work (the outputs' temporary files are removed on the way
    out); any later one is only noted, so that the clean-up runs to its end. One that comes while a module is
    being imported waits until the import is over (:func:`_importing`), looking again every ``IMPORT_RETRY_S``."""
    if _importing(frame):
        signal.signal(signal.SIGALRM, functools.partial(_after_import, signum))
        signal.setitimer(signal.ITIMER_REAL, IMPORT_RETRY_S)
        return
    _quiet_signals()
    raise Interrupted(signum)


def _after_import(signum: int, alarm: int, frame: FrameType | None) -> None:
    """The clock of signal ``signum`` held back by an import: handle it now, unless the work has ended meanwhile."""
    if signal.getsignal(signum) is _on_signal:
        _on_signal(signum, frame)


def _honour_held_back_signal() -> None:
    """A signal still held back by an import (its clock not run out yet): handle it now. Called before the report
    and the outputs are published, so that work ending within ``IMPORT_RETRY_S`` of a late import (a short clip)
    does not outrun the signal and exit 0."""
    alarm = signal.getsignal(signal.SIGALRM)
    if isinstance(alarm, functools.partial) and alarm.func is _after_import:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _after_import(*alarm.args, signal.SIGALRM, None)


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside an import. An exception raised there can cross a native library's
    initialisation (numpy's, torch's), which turns it into an ImportError or aborts the process."""
    while frame is not None:
        if frame.f_globals.get("__name__") in ("importlib._bootstrap", "importlib._bootstrap_external"):
            return True
        frame = frame.f_back
    return False


def _quiet_signals() -> None:
    for s in HANDLED_SIGNALS:
        if signal.getsignal(s) is _on_signal:
            signal.signal(s, _noted)


def _noted(signum: int, frame: object) -> None:
    """A signal during clean-up or after the work: the run ends as already decided."""


@contextlib.contextmanager
def _signal_handling(restore: bool) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`eqlib.errors.Interrupted` (a signal a parent set to be ignored, as
    ``nohup`` does, stays ignored). Afterwards they are ignored (the process is ending), or with ``restore``
    the previous handlers come back (``main`` called in-process, e.g. by tests)."""
    previous = {s: signal.getsignal(s) for s in HANDLED_SIGNALS}
    previous_alarm = signal.getsignal(signal.SIGALRM)  # replaced only while a signal waits for an import
    for s, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(s, _on_signal)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGALRM) is not previous_alarm:  # a signal was held back: stop its clock
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
        for s, handler in previous.items():
            if handler is not signal.SIG_IGN:  # ignored, not noted: Python's shutdown resets its own handlers to
                signal.signal(s, handler if restore else signal.SIG_IGN)  # the default, and a late signal killed it


def _check_standard_streams() -> None:
    """Refuse a closed stdout before any work (the report would be lost, and a file opened later could take its
    descriptor); a closed stdin or stderr is given /dev/null for the same reason. File names that are not valid
    in the streams' encoding are written with backslash escapes, not refused."""
    for fd in (0, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # takes the lowest free descriptor: this one
    try:
        os.fstat(1)
    except OSError:
        os.open(os.devnull, os.O_WRONLY)
        raise EqlibError("stdout is closed; redirect it (e.g. > /dev/null) to discard the report", "output") from None
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """After stdout failed: point it at /dev/null so that the flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (e.g. captured by pytest)
        pass


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line; always ends in ``SystemExit`` with a code from ``EXIT_CODES`` (0 on success)."""
    _Run.written = []
    with _signal_handling(restore=argv is not None):
        try:
            try:
                _check_standard_streams()
                args = build_parser().parse_args(argv)
                args.func(args)
            finally:
                _quiet_signals()  # from here on a signal is only noted: the clean-up and the report run to the end
        except SystemExit:
            raise
        except BaseException as err:  # noqa: BLE001 - the CLI promises one line, never a traceback
            audio = sys.modules.get("eqlib.audio")  # not imported here if it was not needed
            if audio is not None:
                audio.end_captures()
                audio.remove_live_temps()
            kind, message = failure(err)
            if message.startswith("stdout:"):
                _silence_stdout()
            _write_stderr(f"eqlib: error: {_one_line(message)}\n")
            raise SystemExit(EXIT_CODES[kind][0]) from None
    raise SystemExit(0)
