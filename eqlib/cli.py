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

Exit codes (one ``eqlib: error: ...`` line on stderr, never a traceback):

====  =====================================================================
code  meaning
====  =====================================================================
0     success
1     unexpected internal error
2     usage error (unknown option, missing or non-numeric argument)
3     input file missing
4     input file unreadable or corrupt
5     input file is not audio
6     input file empty (0 bytes or no samples)
7     input silent (peak below -100 dBFS)
8     input contains NaN or infinite samples
9     input shorter than 0.5 s
10    input sample rate below 16000 Hz
11    input has more than 2 channels
12    output path is also an input path
13    output exists (pass --force to overwrite)
14    output unusable: folder missing or not writable, or unknown format
15    weights file missing or not an eqlib checkpoint
16    --amount outside [0, 1]
17    settings file malformed or out of range
18    one or more batch inputs failed (each is reported)
130   interrupted (Ctrl-C)
====  =====================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn, TextIO

NORMALIZE_PEAK_DBFS = -1.0
EXPORTS = ("table", "ffmpeg", "pedalboard", "eqapo")  # what --print writes on stdout
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # listed for --help without importing torch

# The limits in these texts are eqlib.audio's MIN_DURATION_S, MIN_SAMPLE_RATE and MAX_CHANNELS, written out so that
# `eqlib --help` imports nothing but the standard library (tests/test_cli.py keeps them equal).
EXIT_CODES: dict[str, tuple[int, str]] = {
    "internal": (1, "unexpected internal error"),
    "usage": (2, "usage error (unknown option, missing or non-numeric argument)"),
    "missing": (3, "input file missing"),
    "unreadable": (4, "input file unreadable or corrupt"),
    "not_audio": (5, "input file is not audio"),
    "empty": (6, "input file empty (0 bytes or no samples)"),
    "silent": (7, "input silent (peak below -100 dBFS)"),
    "nonfinite": (8, "input contains NaN or infinite samples"),
    "too_short": (9, "input shorter than 0.5 s"),
    "sample_rate": (10, "input sample rate below 16000 Hz"),
    "channels": (11, "input has more than 2 channels"),
    "same_path": (12, "output path is also an input path"),
    "exists": (13, "output exists (pass --force to overwrite)"),
    "output": (14, "output unusable: folder missing or not writable, or unknown format"),
    "weights": (15, "weights file missing or not an eqlib checkpoint"),
    "amount": (16, "--amount outside [0, 1]"),
    "settings": (17, "settings file malformed or out of range"),
    "batch": (18, "one or more batch inputs failed (each is reported)"),
    "interrupted": (130, "interrupted (Ctrl-C)"),
}


class CLIError(Exception):
    """A failure reported as one stderr line; ``kind`` is a key of ``EXIT_CODES``."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def failure(err: BaseException) -> tuple[str, str]:
    """``(kind, one-line message)`` of any failure: the one place that maps errors to exit codes."""
    from eqlib.audio import AudioError
    from eqlib.checkpoint import CheckpointError

    if isinstance(err, (CLIError, AudioError)):
        return err.kind, str(err)
    if isinstance(err, CheckpointError):
        return "weights", str(err).splitlines()[0]
    if isinstance(err, KeyboardInterrupt):
        return "interrupted", "interrupted"
    detail = str(err).splitlines()[0] if str(err) else ""
    return "internal", f"internal error: {type(err).__name__}: {detail} (please report it)"


# --- checks on paths and options ------------------------------------------------------------------
def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    return a.exists() and b.exists() and os.path.samefile(a, b)


def check_outputs(outputs: list[Path], inputs: list[Path], force: bool) -> None:
    """Reject outputs that equal an input or each other, exist without ``force``, or cannot be written."""
    for i, out in enumerate(outputs):
        for other in inputs + outputs[:i]:
            if _same_file(out, other):
                raise CLIError(f"{out}: output path is also an input path; choose another output", "same_path")
    for out in outputs:
        if out.is_dir():
            raise CLIError(f"{out}: is a folder; give an output file name", "output")
        if out.exists() and not force:
            raise CLIError(f"{out}: already exists; pass --force to overwrite", "exists")
        parent = out.parent
        if not parent.is_dir():
            raise CLIError(f"{out}: output folder {parent} does not exist", "output")
        try:
            fd, probe = tempfile.mkstemp(prefix=".eqlib-probe-", dir=parent)
        except OSError as err:
            raise CLIError(f"{out}: output folder {parent} is not writable ({err.strerror})", "output") from err
        os.close(fd)
        os.unlink(probe)


def check_amount(amount: float) -> None:
    if not (0.0 <= amount <= 1.0):
        raise CLIError(f"--amount must be between 0 and 1, got {amount:g}", "amount")


def load_settings(path: Path):
    """``(EQSettings, preamp dB)`` from eqlib JSON or ParametricEQ.txt (:func:`eqlib.presets.read_settings`)."""
    from eqlib.presets import read_settings

    if not path.exists():
        raise CLIError(f"{path}: no such settings file", "missing")
    try:
        return read_settings(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise CLIError(f"{path}: invalid EQ settings: {err}", "settings") from err
    except OSError as err:
        raise CLIError(f"{path}: cannot read settings ({err.strerror})", "settings") from err


def _usage(message: str, command: str) -> CLIError:
    return CLIError(f"{message} (see eqlib {command} --help)", "usage")


# --- writing and reporting ------------------------------------------------------------------------
def write_outputs(src, settings, out: Path, texts: dict[Path, str], normalize: bool, gain_db: float = 0.0):
    """Filter ``src`` through ``settings`` (clamped to its rate) into ``out`` and write ``texts`` (path → text):
    all of them, or, on any failure, none. Returns ``(clamped settings, notes, output peak dBFS, subtype)``."""
    from eqlib import api, streaming
    from eqlib.audio import atomic_path

    effective, notes = api.clamp_to_rate(settings, src.sample_rate)
    with contextlib.ExitStack() as stack:
        for path, text in texts.items():
            stack.enter_context(atomic_path(path)).write_text(text)
        peak_db, subtype = streaming.render(src, effective.sos(src.sample_rate), out, src.subtype, gain_db,
                                            NORMALIZE_PEAK_DBFS if normalize else None)
    return effective, notes, peak_db, subtype


def export_text(settings, what: str) -> str:
    """What ``--print`` writes on stdout: an ffmpeg chain, pedalboard code or a ParametricEQ.txt preset (eqapo)."""
    from eqlib import presets

    if what == "ffmpeg":
        return settings.to_ffmpeg()
    if what == "pedalboard":
        return presets.pedalboard_code(settings)
    return presets.to_parametric_eq(settings).rstrip("\n")


def _report_settings(settings, notes: list[str], stream: TextIO) -> None:
    print(settings, file=stream)
    for note in notes:
        print(note, file=stream)


def _report_output(out: Path, src, subtype: str, peak_db: float, stream: TextIO) -> None:
    print(f"wrote {out} ({src.sample_rate} Hz, {src.channels} ch, {subtype}), peak {peak_db:+.1f} dBFS", file=stream)
    if peak_db > 0.0:
        fate = ("samples above full scale were clipped" if subtype.startswith(("PCM", "ALAC", "ULAW", "ALAW"))
                else "samples above full scale are kept but will clip on playback")
        print(f"eqlib: warning: output peak {peak_db:+.1f} dBFS exceeds 0 dBFS ({fate}); "
              f"rerun with --normalize to scale to {NORMALIZE_PEAK_DBFS:g} dBFS peak", file=sys.stderr)


# --- commands -------------------------------------------------------------------------------------
def _predictor(args: argparse.Namespace):
    """The model ``args.mode`` needs (``None`` for spectral), from ``--weights`` or ``--model``."""
    from eqlib import api

    if args.weights is not None and not Path(args.weights).is_file():
        raise CLIError(f"{args.weights}: no such weights file", "weights")
    try:
        return api.resolve_model(args.weights if args.weights is not None else args.model, args.mode)
    except CLIError:
        raise
    except ValueError as err:  # CheckpointError
        hint = "" if args.weights is not None else " (pass --weights FILE, or --mode spectral, which needs no weights)"
        raise CLIError(str(err).splitlines()[0] + hint, "weights") from err


def cmd_match(args: argparse.Namespace) -> None:
    check_amount(args.amount)
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

    inputs = [Path(p) for p in args.inputs]
    out = Path(args.output)
    texts = [Path(p) for p in (args.json, args.preset) if p]
    check_outputs([out, *texts], inputs, args.force)
    src, ref = (streaming.open_source(p) for p in inputs)
    streaming.output_format(out)
    predictor = _predictor(args)
    settings = api.settings_from(api.analyse(src, args.mode, predictor, "input"),
                                 api.analyse(ref, args.mode, predictor, "reference"), args.mode,
                                 predictor).scaled(args.amount)
    contents = {}
    if args.json:
        contents[Path(args.json)] = settings.to_json() + "\n"
    if args.preset:
        contents[Path(args.preset)] = presets.to_parametric_eq(settings)
    effective, notes, peak_db, subtype = write_outputs(src, settings, out, contents, args.normalize)
    stream = sys.stdout if args.print == "table" else sys.stderr
    _report_settings(effective, notes, stream)
    if args.print != "table":
        print(export_text(effective, args.print))
    _report_output(out, src, subtype, peak_db, stream)
    if args.json:
        print(f"wrote {args.json} (re-apply: eqlib apply {args.json} IN -o OUT)", file=stream)
    if args.preset:
        print(f"wrote {args.preset} (ParametricEQ.txt for EqualizerAPO, PipeWire, AutoEq)", file=stream)


def _batch_line(settings) -> str:
    return ", ".join(f"{band.name} {gain:+.1f} dB @ {freq:.0f} Hz"
                     for band, (gain, freq, _) in zip(settings.spec.bands, settings.params))


def _match_batch(args: argparse.Namespace) -> None:
    """Every input matched to one reference, analysed once; a failing input is reported and skipped."""
    from tqdm import tqdm

    from eqlib import api, streaming

    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        raise CLIError(f"{out_dir}: output folder does not exist", "output")
    inputs = [Path(p) for p in args.inputs]
    names = [p.name for p in inputs]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise _usage(f"two inputs are named {duplicate}; both would be written to {out_dir / duplicate}", "match")
    reference = streaming.open_source(args.reference)
    predictor = _predictor(args)
    ref_analysis = api.analyse(reference, args.mode, predictor, "reference")
    failed = 0
    with tqdm(inputs, unit="file", desc="matching", file=sys.stderr, leave=False) as bar:
        for path in bar:
            out, settings_out = out_dir / path.name, out_dir / f"{path.stem}.json"
            try:
                check_outputs([out, settings_out], [path, Path(args.reference)], args.force)
                src = streaming.open_source(path)
                streaming.output_format(out)
                settings = api.settings_from(api.analyse(src, args.mode, predictor, path.name), ref_analysis,
                                             args.mode, predictor).scaled(args.amount)
                effective, notes, peak_db, subtype = write_outputs(
                    src, settings, out, {settings_out: settings.to_json() + "\n"}, args.normalize)
            except Exception as err:  # noqa: BLE001 - reported per file; the batch goes on
                kind, message = failure(err)
                failed += 1
                named = message if message.startswith(str(path)) else f"{path}: {message}"
                bar.write(f"FAIL  {named} [exit {EXIT_CODES[kind][0]}: {kind}]", file=sys.stdout)
                continue
            clipped = " (clipped: rerun with --normalize)" if peak_db > 0 else ""
            bar.write(f"ok    {path} -> {out} ({subtype}, peak {peak_db:+.1f} dBFS{clipped}); {_batch_line(effective)}"
                      + "".join(f" {note}" for note in notes), file=sys.stdout)
    print(f"{len(inputs) - failed} of {len(inputs)} inputs matched to {args.reference}, written to {out_dir}"
          f" with their settings (NAME.json)")
    if failed:
        raise CLIError(f"{failed} of {len(inputs)} inputs failed (listed above)", "batch")


def cmd_apply(args: argparse.Namespace) -> None:
    from eqlib import streaming

    check_amount(args.amount)
    settings_path, inp, out = Path(args.settings), Path(args.input), Path(args.output)
    check_outputs([out], [settings_path, inp], args.force)
    settings, preamp = load_settings(settings_path)
    settings = settings.scaled(args.amount)
    src = streaming.open_source(inp)
    streaming.output_format(out)
    effective, notes, peak_db, subtype = write_outputs(src, settings, out, {}, args.normalize, preamp)
    _report_settings(effective, notes, sys.stdout)
    if preamp and not args.normalize:
        print(f"preamp {preamp:+.1f} dB applied (from the preset)")
    _report_output(out, src, subtype, peak_db, sys.stdout)


def cmd_info(args: argparse.Namespace) -> None:
    from eqlib.audio import peak_dbfs
    from eqlib.spectrum import LoudnessMeter
    from eqlib.streaming import open_source

    src = open_source(args.file, check=False)
    meter = LoudnessMeter(src.sample_rate, src.channels)
    for block in src.blocks(progress="measuring"):
        meter.add(block)
    loudness = meter.integrated_lufs()
    rows = [
        ("file", str(src.path)),
        ("duration", f"{src.duration_s:.3f} s"),
        ("sample rate", f"{src.sample_rate} Hz"),
        ("channels", str(src.channels)),
        ("subtype", f"{src.subtype} ({src.format})"),
        ("loudness", "n/a (shorter than 0.4 s)" if math.isnan(loudness) else f"{loudness:.1f} LUFS"),
        ("sample peak", f"{peak_dbfs([meter.peak]):.1f} dBFS"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


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

    shipped = ", ".join(sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))) or "none found"
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


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line; always ends in ``SystemExit`` with a code from ``EXIT_CODES`` (0 on success)."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except BaseException as err:  # noqa: BLE001 - the CLI promises one line, never a traceback
        if isinstance(err, SystemExit):
            raise
        kind, message = failure(err)
        _fail(message, kind)
    raise SystemExit(0)


def _fail(message: str, kind: str) -> NoReturn:
    print(f"eqlib: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_CODES[kind][0])
