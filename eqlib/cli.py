"""Command line: ``eqlib match``, ``eqlib apply``, ``eqlib info``.

``eqlib match IN REF -o OUT`` predicts the 4-band EQ that gives IN the EQ style of REF,
prints it as a table and writes IN filtered through it. ``eqlib apply SETTINGS.json IN -o OUT``
re-applies saved settings; ``eqlib info FILE`` describes a file.

Analysis runs at the model's rate (44.1 kHz) on the mono mid of the whole file; the EQ runs at
the file's own rate on every channel. Files are streamed in blocks (resampling, long-term
spectra, latent accumulation and IIR filtering all carry state between blocks), so memory stays
bounded for hour-long files. Bands at or above 0.45 x the file's sample rate are clamped to
0.45 x fs (flagged under the table); saved JSON holds the unclamped settings, so ``apply``
clamps identically. Output goes to a temporary file renamed into place only on success.

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
17    settings JSON malformed or out of range
130   interrupted (Ctrl-C)
====  =====================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NoReturn, TextIO

import numpy as np
import scipy.signal
import soundfile as sf

from eqlib.audio import (MAX_CHANNELS, MIN_DURATION_S, MIN_SAMPLE_RATE, SILENCE_PEAK, AudioError, atomic_path,
                         check_file, check_properties, peak_dbfs)
from eqlib.eq import EQSettings
from eqlib.spectral_fit import HYBRID_PRIOR_WEIGHT
from eqlib.spectrum import LoudnessMeter, WelchAccumulator

ANALYSIS_RATE = 44100  # Hz; the spectral mode's rate when no model is loaded (the model's rate otherwise)
BLOCK_FRAMES = 1 << 16  # frames read, resampled and filtered at a time
LONG_FILE_S = 120.0  # files longer than this show progress bars
MAX_BAND_FRACTION = 0.45  # bands are clamped to this fraction of the file's sample rate
NORMALIZE_PEAK_DBFS = -1.0
AUDIO_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM", b"ID3", b".snd", b"caff", b"wvpk", b"MAC ",
               b"BW64", b"riff")

EXIT_CODES: dict[str, tuple[int, str]] = {
    "internal": (1, "unexpected internal error"),
    "usage": (2, "usage error (unknown option, missing or non-numeric argument)"),
    "missing": (3, "input file missing"),
    "unreadable": (4, "input file unreadable or corrupt"),
    "not_audio": (5, "input file is not audio"),
    "empty": (6, "input file empty (0 bytes or no samples)"),
    "silent": (7, "input silent (peak below -100 dBFS)"),
    "nonfinite": (8, "input contains NaN or infinite samples"),
    "too_short": (9, f"input shorter than {MIN_DURATION_S:g} s"),
    "sample_rate": (10, f"input sample rate below {MIN_SAMPLE_RATE} Hz"),
    "channels": (11, f"input has more than {MAX_CHANNELS} channels"),
    "same_path": (12, "output path is also an input path"),
    "exists": (13, "output exists (pass --force to overwrite)"),
    "output": (14, "output unusable: folder missing or not writable, or unknown format"),
    "weights": (15, "weights file missing or not an eqlib checkpoint"),
    "amount": (16, "--amount outside [0, 1]"),
    "settings": (17, "settings JSON malformed or out of range"),
    "interrupted": (130, "interrupted (Ctrl-C)"),
}


class CLIError(Exception):
    """A failure reported as one stderr line; ``kind`` is a key of ``EXIT_CODES``."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# --- input ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """An input file's path and header: sample rate (Hz), channels, frames, format and subtype."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def _looks_like_audio(path: Path) -> bool:
    """True when the first bytes carry a known audio container signature (or an MPEG frame sync)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head.startswith(AUDIO_MAGIC) or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def open_source(path: str | Path, check: bool = True) -> Source:
    """Read a file's header; with ``check``, also reject what cannot be matched (rate, channels, length).

    Raises ``AudioError`` with kind missing / unreadable / not_audio / empty / sample_rate / channels / too_short.
    """
    path = check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        if _looks_like_audio(path):
            raise AudioError(f"{path}: corrupt or unsupported audio ({str(err).splitlines()[0]})", "unreadable") from err
        raise AudioError(f"{path}: not an audio file", "not_audio") from err
    src = Source(path, int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype)
    if src.frames <= 0:
        raise AudioError(f"{path}: contains no samples", "empty")
    if check:
        check_properties(str(path), src.sample_rate, src.channels, src.duration_s)
    return src


def read_blocks(src: Source, progress: str | None = None) -> Iterator[np.ndarray]:
    """Yield ``(channels, frames)`` float64 blocks of ``src``; ``AudioError`` on NaN/inf or a read failure."""
    from tqdm import tqdm

    bar = tqdm(total=src.frames, unit="frame", unit_scale=True, desc=progress, leave=False, file=sys.stderr,
               disable=progress is None or src.duration_s <= LONG_FILE_S)
    try:
        for block in sf.blocks(str(src.path), blocksize=BLOCK_FRAMES, dtype="float64", always_2d=True):
            x = np.ascontiguousarray(block.T)
            if not np.all(np.isfinite(x)):
                raise AudioError(f"{src.path}: contains NaN or infinite samples", "nonfinite")
            bar.update(x.shape[1])
            yield x
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{src.path}: corrupt audio ({str(err).splitlines()[0]})", "unreadable") from err
    finally:
        bar.close()


def analyse(src: Source, rate: int, sinks: list[Callable[[np.ndarray], None]], label: str) -> None:
    """Stream ``src``'s mono mid, resampled to ``rate`` Hz (soxr HQ), into every sink; reject silence."""
    import soxr

    stream = None if src.sample_rate == rate else soxr.ResampleStream(src.sample_rate, rate, 1, dtype="float64",
                                                                      quality="HQ")
    peak = 0.0

    def feed(mono: np.ndarray) -> None:
        if mono.size:
            for sink in sinks:
                sink(mono)

    for x in read_blocks(src, progress=f"analysing {label}"):
        peak = max(peak, float(np.max(np.abs(x))))
        mono = x.mean(axis=0)
        feed(stream.resample_chunk(mono) if stream is not None else mono)
    if stream is not None:
        feed(stream.resample_chunk(np.zeros(0), last=True))
    if peak < SILENCE_PEAK:
        raise AudioError(f"{src.path}: is silent (peak below -100 dBFS)", "silent")


# --- the EQ at the file's rate ----------------------------------------------------------------
def effective_settings(settings: EQSettings, sample_rate: int) -> tuple[EQSettings, list[str]]:
    """Clamp band frequencies to ``0.45 * sample_rate``; return the EQ to run and one note per clamped band."""
    limit = MAX_BAND_FRACTION * sample_rate
    params = settings.params.copy()
    notes = []
    for band, row in zip(settings.spec.bands, params):
        if row[1] >= limit:
            notes.append(f"* {band.label}: {row[1]:.0f} Hz clamped to {limit:.0f} Hz "
                         f"({MAX_BAND_FRACTION:g} x the {sample_rate} Hz sample rate)")
            row[1] = limit
    return EQSettings(params, settings.spec), notes


def filter_blocks(src: Source, sos: np.ndarray, progress: str | None = None) -> Iterator[np.ndarray]:
    """Yield ``src`` filtered through ``sos`` ``(sections, 6)`` block by block, carrying the filter state;
    identical to one ``scipy.signal.sosfilt`` over the whole file. Rejects a silent input at the end."""
    zi = np.zeros((sos.shape[0], src.channels, 2))
    peak = 0.0
    for x in read_blocks(src, progress):
        peak = max(peak, float(np.max(np.abs(x))))
        y, zi = scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)
        yield y
    if peak < SILENCE_PEAK:
        raise AudioError(f"{src.path}: is silent (peak below -100 dBFS)", "silent")


def output_subtype(out_format: str, in_subtype: str) -> str:
    """The input's subtype where the output format allows it, else FLOAT, PCM_24 or the format's default."""
    for candidate in (in_subtype, "FLOAT", "PCM_24", sf.default_subtype(out_format)):
        if candidate and sf.check_format(out_format, candidate):
            return candidate
    raise CLIError(f"no sample format available for {out_format} output", "output")


def render(src: Source, settings: EQSettings, out: Path, normalize: bool) -> tuple[float, str]:
    """Filter ``src`` through ``settings`` (already clamped to its rate) into ``out``, atomically.

    With ``normalize`` a first pass measures the filtered peak and the written audio is scaled to
    -1 dBFS peak. Returns (output peak in dBFS before any PCM clipping, subtype written).
    """
    sos = settings.sos(src.sample_rate)
    gain = 1.0
    if normalize:
        peak = max(float(np.max(np.abs(y))) for y in filter_blocks(src, sos, progress="measuring peak"))
        gain = 10 ** (NORMALIZE_PEAK_DBFS / 20) / peak
    out_format = _output_format(out)
    subtype = output_subtype(out_format, src.subtype)
    peak = 0.0
    with atomic_path(out) as tmp:
        with sf.SoundFile(str(tmp), "w", samplerate=src.sample_rate, channels=src.channels, format=out_format,
                          subtype=subtype) as f:
            for y in filter_blocks(src, sos, progress="filtering"):
                if gain != 1.0:
                    y = y * gain
                peak = max(peak, float(np.max(np.abs(y))))
                f.write(y.T)
    return peak_dbfs(np.array([peak])), subtype


# --- checks on paths and options ------------------------------------------------------------------
def _output_format(path: Path) -> str:
    fmt = path.suffix.lstrip(".").upper()
    fmt = {"AIF": "AIFF", "OGA": "OGG", "WAVE": "WAV"}.get(fmt, fmt)
    if fmt not in sf.available_formats():
        raise CLIError(f"{path}: unknown output format {path.suffix or '(no extension)'!r}; use .wav or .flac",
                       "output")
    return fmt


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


def load_settings(path: Path) -> EQSettings:
    if not path.exists():
        raise CLIError(f"{path}: no such settings file", "missing")
    try:
        return EQSettings.load(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise CLIError(f"{path}: invalid EQ settings: {err}", "settings") from err
    except OSError as err:
        raise CLIError(f"{path}: cannot read settings ({err.strerror})", "settings") from err


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


# --- exports ----------------------------------------------------------------------------------
def pedalboard_code(settings: EQSettings) -> str:
    """Python source that builds ``board``, a ``pedalboard.Pedalboard`` equal to ``settings.to_pedalboard()``."""
    lines = ["import pedalboard", "", "board = pedalboard.Pedalboard(["]
    for plugin, (gain, freq, q) in zip(settings.to_pedalboard(), settings.params):
        lines.append(f"    pedalboard.{type(plugin).__name__}(cutoff_frequency_hz={float(freq)!r}, "
                     f"gain_db={float(gain)!r}, q={float(q)!r}),")
    lines.append("])")
    return "\n".join(lines)


def _report_settings(settings: EQSettings, notes: list[str], what: str, stream: TextIO) -> None:
    print(settings, file=stream)
    for note in notes:
        print(note, file=stream)
    if what == "ffmpeg":
        print(settings.to_ffmpeg())
    elif what == "pedalboard":
        print(pedalboard_code(settings))


def _report_output(out: Path, src: Source, subtype: str, peak_db: float, stream: TextIO) -> None:
    print(f"wrote {out} ({src.sample_rate} Hz, {src.channels} ch, {subtype}), peak {peak_db:+.1f} dBFS", file=stream)
    if peak_db > 0.0:
        fate = ("samples above full scale were clipped" if subtype.startswith(("PCM", "ALAC", "ULAW", "ALAW"))
                else "samples above full scale are kept but will clip on playback")
        print(f"eqlib: warning: output peak {peak_db:+.1f} dBFS exceeds 0 dBFS ({fate}); "
              f"rerun with --normalize to scale to {NORMALIZE_PEAK_DBFS:g} dBFS peak", file=sys.stderr)


# --- commands -------------------------------------------------------------------------------------
class Rechunker:
    """Buffer a stream of mono blocks and pass it on in chunks of exactly ``step`` samples (the last shorter)."""

    def __init__(self, step: int, sink: Callable[[np.ndarray], None]) -> None:
        self.step, self.sink = step, sink
        self._parts: list[np.ndarray] = []
        self._size = 0

    def add(self, block: np.ndarray) -> None:
        self._parts.append(block)
        self._size += len(block)
        if self._size >= self.step:
            buf = np.concatenate(self._parts)
            cut = len(buf) - len(buf) % self.step
            for start in range(0, cut, self.step):
                self.sink(buf[start:start + self.step])
            self._parts, self._size = [buf[cut:]], len(buf) - cut

    def flush(self) -> None:
        if self._size:
            self.sink(np.concatenate(self._parts))
        self._parts, self._size = [], 0


def _predict(args: argparse.Namespace, sources: tuple[Source, Source]) -> EQSettings:
    """The EQ for ``args.mode``: the network's prediction, a spectral fit, or the fit started at the prediction.

    Both files are streamed once; the model's latent accumulator gets the same ``inference.BLOCK_S``
    blocks as ``Predictor.predict`` on the whole array, so the prediction is the same, in bounded memory.
    """
    from eqlib import spectral_fit, spectrum

    predictor = _load_predictor(args.model, args.weights) if args.mode in ("oneshot", "hybrid") else None
    rate = predictor.sample_rate if predictor is not None else ANALYSIS_RATE
    spectra, latents = [], []
    for src, label in zip(sources, ("input", "reference")):
        sinks, finish = [], []
        if args.mode in ("spectral", "hybrid"):
            num_samples = int(src.frames * rate / src.sample_rate)  # length after resampling (±1)
            welch = WelchAccumulator(rate, spectrum.long_term_n_fft(rate, num_samples))
            sinks.append(welch.add)
            finish.append(lambda w=welch: spectra.append(
                spectrum.band_levels_db(*w.spectrum_db(), spectrum.log_grid_hz(rate), spectrum.SMOOTHING_FRACTION)))
        if predictor is not None:
            from eqlib.inference import BLOCK_S

            acc = predictor.latent_accumulator()
            chunker = Rechunker(int(BLOCK_S * rate), acc.add)
            sinks.append(chunker.add)
            finish.append(lambda c=chunker, a=acc: (c.flush(), latents.append(a.latent())))
        analyse(src, rate, sinks, label)
        for step in finish:
            step()
    prediction = predictor.predict_from_latents(*latents) if predictor is not None else None
    if args.mode == "oneshot":
        return prediction
    return spectral_fit.match_spectra(spectrum.log_grid_hz(rate), spectra[0], spectra[1], rate, init=prediction,
                                      prior_weight=HYBRID_PRIOR_WEIGHT if prediction is not None else 0.0)


def _load_predictor(model: str, weights: str | None):
    if weights is not None and not Path(weights).is_file():
        raise CLIError(f"{weights}: no such weights file", "weights")
    from eqlib import inference

    try:
        return inference.load_predictor(model, weights, device="cpu")
    except inference.CheckpointError as err:
        hint = "" if weights is not None else " (pass --weights FILE, or --mode spectral, which needs no weights)"
        raise CLIError(str(err).splitlines()[0] + hint, "weights") from err


def cmd_match(args: argparse.Namespace) -> None:
    check_amount(args.amount)
    inputs = [Path(args.input), Path(args.reference)]
    outputs = [Path(args.output)] + ([Path(args.json)] if args.json else [])
    check_outputs(outputs, inputs, args.force)
    src, ref = open_source(inputs[0]), open_source(inputs[1])
    _output_format(outputs[0])
    settings = _predict(args, (src, ref)).scaled(args.amount)
    eff, notes = effective_settings(settings, src.sample_rate)
    stream = sys.stderr if args.print in ("ffmpeg", "pedalboard") else sys.stdout
    peak_db, subtype = render(src, eff, outputs[0], args.normalize)
    if args.json:
        write_text_atomic(outputs[1], settings.to_json() + "\n")
    _report_settings(eff, notes, args.print, stream)
    _report_output(outputs[0], src, subtype, peak_db, stream)
    if args.json:
        print(f"wrote {outputs[1]} (re-apply: eqlib apply {outputs[1]} IN -o OUT)", file=stream)


def cmd_apply(args: argparse.Namespace) -> None:
    check_amount(args.amount)
    settings_path, inp, out = Path(args.settings), Path(args.input), Path(args.output)
    check_outputs([out], [settings_path, inp], args.force)
    settings = load_settings(settings_path).scaled(args.amount)
    src = open_source(inp)
    _output_format(out)
    eff, notes = effective_settings(settings, src.sample_rate)
    peak_db, subtype = render(src, eff, out, args.normalize)
    _report_settings(eff, notes, "table", sys.stdout)
    _report_output(out, src, subtype, peak_db, sys.stdout)


def stream_loudness(src: Source) -> tuple[float, float]:
    """Integrated loudness (LUFS, ITU-R BS.1770-4) and sample peak (dBFS) of a file, in one bounded-memory pass.
    Loudness is NaN for files shorter than one 0.4-s gating block."""
    meter = LoudnessMeter(src.sample_rate, src.channels)
    for x in read_blocks(src, progress="measuring"):
        meter.add(x)
    return meter.integrated_lufs(), peak_dbfs(np.array([meter.peak]))


def cmd_info(args: argparse.Namespace) -> None:
    src = open_source(args.file, check=False)
    loudness, peak_db = stream_loudness(src)
    rows = [
        ("file", str(src.path)),
        ("duration", f"{src.duration_s:.3f} s"),
        ("sample rate", f"{src.sample_rate} Hz"),
        ("channels", str(src.channels)),
        ("subtype", f"{src.subtype} ({src.format})"),
        ("loudness", "n/a (shorter than 0.4 s)" if np.isnan(loudness) else f"{loudness:.1f} LUFS"),
        ("sample peak", f"{peak_db:.1f} dBFS"),
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

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-o", "--output", required=True, help="output audio file (.wav, .flac, ...)")
        p.add_argument("--amount", type=float, default=1.0, help="scale every gain by this factor in [0, 1] (default 1)")
        p.add_argument("--normalize", action="store_true", help=f"scale the output to {NORMALIZE_PEAK_DBFS:g} dBFS peak")
        p.add_argument("--force", action="store_true", help="overwrite an existing output")

    match = sub.add_parser("match", help="give INPUT the EQ style of REFERENCE", epilog=_epilog(), formatter_class=fmt,
                           description="Predict the 4-band EQ that gives INPUT the EQ style of REFERENCE, print it, "
                                       "and write INPUT filtered through it.")
    match.add_argument("input", help="recording to equalise")
    match.add_argument("reference", help="recording whose EQ style to copy (any speaker, any words)")
    common(match)
    match.add_argument("--mode", choices=("oneshot", "spectral", "hybrid"), default="oneshot",
                       help="oneshot: the network's prediction (default); spectral: fit to the long-term spectra; "
                            "hybrid: the spectral fit started from, and held near, the prediction")
    match.add_argument("--model", default="proposed_db", help="model name for oneshot/hybrid (default proposed_db)")
    match.add_argument("--weights", help="checkpoint file (default: the packaged weights of --model)")
    match.add_argument("--json", metavar="SETTINGS.json", help="also save the settings (after --amount) as JSON")
    match.add_argument("--print", choices=("table", "ffmpeg", "pedalboard"), default="table",
                       help="print an ffmpeg -af chain or pedalboard code on stdout (the table then goes to stderr)")
    match.set_defaults(func=cmd_match)

    apply = sub.add_parser("apply", help="apply saved EQ settings", epilog=_epilog(), formatter_class=fmt,
                           description="Filter INPUT through EQ settings saved by 'eqlib match --json'.")
    apply.add_argument("settings", help="settings JSON written by eqlib match --json")
    apply.add_argument("input", help="recording to equalise")
    common(apply)
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
    except (CLIError, AudioError) as err:
        _fail(str(err), err.kind)
    except KeyboardInterrupt:
        _fail("interrupted", "interrupted")
    except Exception as err:  # noqa: BLE001 - the CLI promises one line, never a traceback
        _fail(f"internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''} "
              "(please report it)", "internal")
    raise SystemExit(0)


def _fail(message: str, kind: str) -> NoReturn:
    print(f"eqlib: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_CODES[kind][0])
