"""Audio of any length in bounded memory: file headers and blocks, the resampled mono mid, filtering into a file.

A *source* is a file (:class:`FileSource`, from :func:`open_source`) or an array (:class:`ArraySource`); both
yield ``(channels, frames)`` float64 blocks of ``BLOCK_FRAMES``. Resampling, long-term spectra, latent
accumulation and IIR filtering all carry their state from block to block, so an hour-long file needs no more
memory than a short one. Every failure is an :class:`eqlib.audio.AudioError` whose ``kind`` the CLI maps to an
exit code. An output's format and subtype are chosen, and tried, before any work (:func:`output_plan`);
writing goes to a temporary file renamed into place only on success (:class:`eqlib.audio.OutputFiles`).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf

from eqlib.audio import (SILENCE_PEAK, TEMP_PREFIX, Audio, AudioError, check_file, check_properties, check_samples,
                         decoder_messages, decoder_note, new_temp, peak_dbfs, remove_temp)
from eqlib.errors import first_line, from_os_error
from eqlib.iir import Cascade

BLOCK_FRAMES = 1 << 16  # frames read, resampled and filtered at a time
LONG_FILE_S = 120.0  # sources longer than this show progress bars
#: subtypes whose decoder prints on stderr (libmpg123: each damaged frame it skips), captured in every block read
TALKING_SUBTYPES = ("MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III")
AUDIO_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM", b"ID3", b".snd", b"caff", b"wvpk", b"MAC ",
               b"BW64", b"riff")
#: audio containers libsndfile cannot read, by their first bytes (MP4's ``ftyp`` sits at offset 4)
UNSUPPORTED_AUDIO = {b"ftyp": "AAC/ALAC in MP4 (.m4a, .mp4)", b"\x1aE\xdf\xa3": "Matroska/WebM (.mka, .webm)",
                     b"0&\xb2u": "Windows Media (.wma)", b"#!AM": "AMR (.amr)", b"fRdL": "DSD (.dff)",
                     b"DSD ": "DSD (.dsf)"}
OUTPUT_FORMAT_ALIASES = {"AIF": "AIFF", "OGA": "OGG", "WAVE": "WAV"}
#: formats libsndfile writes as more than one file (SD2: its resource fork goes to ``._NAME`` beside it), which
#: cannot be written to a temporary name and renamed into place
SPLIT_FORMATS = {"SD2": "libsndfile writes its resource fork to a separate ._ file"}
#: sample formats an output keeps from its input where the output format holds them; any other input (MP3,
#: Vorbis, Opus, ADPCM, GSM, G.72x, DWVW, ...) is written as FLOAT, PCM_24 or PCM_16, the first the format holds
KEPT_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW", "ALAC_16",
                 "ALAC_20", "ALAC_24", "ALAC_32")
LOSSLESS_FALLBACKS = ("FLOAT", "PCM_24", "PCM_16")
#: subtypes that store samples beyond full scale as they are; every other subtype is clipped to [-1, 1] before
#: libsndfile sees it (libsndfile's u-law and A-law encoders crash on samples far beyond it)
UNCLIPPED_SUBTYPES = ("FLOAT", "DOUBLE", "VORBIS", "OPUS")
#: highest rate (Hz) libvorbis is handed: its encoder crashes (SIGSEGV) at 256 kHz and above in libsndfile 1.2.2
MAX_VORBIS_RATE = 192000
PROBE_FRAMES = 64  # frames written to try an output format before any work
# libsndfile logs a data chunk longer than the file as "data : 264600 (should be 132300)"; 0 and 0xFFFFFFFF are the
# sizes a recorder writes while streaming (length unknown), not a truncation
TRUNCATED_CHUNK = re.compile(r"^(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
STREAMED_SIZES = (0, 0xFFFFFFFF)

Sink = Callable[[np.ndarray], None]


class _NoProgress:
    """What :func:`_progress` returns for short sources: a bar that shows nothing (and needs no tqdm import)."""

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass


def _progress(total: int, label: str | None, duration_s: float, unit: str = "frame"):
    """A tqdm bar on stderr for a labelled source longer than ``LONG_FILE_S``, else a silent stand-in."""
    if label is None or duration_s <= LONG_FILE_S:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, desc=label, leave=False, file=sys.stderr)


@dataclass
class DecoderReport:
    """What the decoder said (``lines``, :func:`eqlib.audio.decoder_messages`) and how many frames it gave in one
    pass over a file."""

    lines: list[str] = field(default_factory=list)
    frames: int = 0

    def start(self) -> None:
        """Forget the previous pass."""
        self.lines.clear()
        self.frames = 0


@dataclass(frozen=True)
class FileSource:
    """An audio file's path and header (sample rate in Hz, channels, frames, format and subtype), and what its decoder
    said and gave in the last pass over its blocks."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str
    notes: tuple[str, ...] = ()  # warnings about the file's header that do not stop its use (e.g. a truncated file)
    last_pass: DecoderReport = field(default_factory=DecoderReport, compare=False, repr=False)

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def damage_notes(self) -> tuple[str, ...]:
        """A warning when the decoder skipped damaged data in the last pass over :meth:`blocks` (or none)."""
        return decoder_note(self.name, self.last_pass.lines, self.last_pass.frames / self.sample_rate,
                            self.duration_s)

    def blocks(self, progress: str | None = None) -> Iterator[np.ndarray]:
        """Yield ``(channels, frames)`` float64 blocks; ``AudioError`` on NaN/inf/absurd samples or a read failure.
        What the decoder prints meanwhile goes to ``last_pass`` (see :meth:`damage_notes`), not the terminal."""
        bar = _progress(self.frames, progress, self.duration_s)
        self.last_pass.start()
        talks = self.subtype in TALKING_SUBTYPES
        try:
            with sf.SoundFile(str(self.path)) as f:
                while True:
                    with decoder_messages(self.last_pass.lines) if talks else contextlib.nullcontext():
                        block = f.read(BLOCK_FRAMES, dtype="float64", always_2d=True)
                    if not len(block):
                        break
                    x = np.ascontiguousarray(block.T)
                    check_samples(x, str(self.path))
                    bar.update(x.shape[1])
                    self.last_pass.frames += x.shape[1]
                    yield x
        except (sf.LibsndfileError, RuntimeError) as err:
            done_s = self.last_pass.frames / self.sample_rate
            raise AudioError(f"{self.path}: corrupt or truncated audio after {done_s:.3f} s ({_libsndfile_reason(err)})",
                             "unreadable") from err
        except OSError as err:
            raise from_os_error(err, self.path, "input", AudioError) from err
        finally:
            bar.close()


@dataclass
class ArraySource(Audio):
    """:class:`eqlib.audio.Audio` already in memory, ``(channels, time)`` float64, named ``name`` in messages."""

    name: str = "audio"

    @property
    def channels(self) -> int:
        return self.num_channels

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    def blocks(self, progress: str | None = None) -> Iterator[np.ndarray]:
        """Yield ``(channels, frames)`` views of ``BLOCK_FRAMES`` frames."""
        with _progress(self.frames, progress, self.duration_s) as bar:
            for start in range(0, self.frames, BLOCK_FRAMES):
                block = self.samples[:, start:start + BLOCK_FRAMES]
                bar.update(block.shape[1])
                yield block


Source = FileSource | ArraySource


def _libsndfile_reason(err: BaseException) -> str:
    """libsndfile's own words for ``err``, without the file name soundfile puts in front."""
    return first_line(getattr(err, "error_string", None) or err)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(12)


def _unsupported_audio(head: bytes) -> str | None:
    """The name of a known audio container libsndfile cannot read, from a file's first bytes."""
    for magic, name in UNSUPPORTED_AUDIO.items():
        if head[4:8] == magic if magic == b"ftyp" else head.startswith(magic):
            return name
    return None


def _looks_like_audio(head: bytes) -> bool:
    """True when the first bytes carry a known audio container signature (or an MPEG frame sync)."""
    return head.startswith(AUDIO_MAGIC) or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _refusal(name: str, head: bytes, err: BaseException, hint: str = "") -> AudioError:
    """The error for a file libsndfile could not open (``err``), told by its first bytes ``head``: a known container
    it cannot decode (with ``hint``), corrupt audio (kind unreadable), or not audio at all (kind not_audio)."""
    unsupported = _unsupported_audio(head)
    if unsupported is not None:
        return AudioError(f"{name}: {unsupported} audio is not supported (libsndfile cannot decode it){hint}",
                          "unreadable")
    if _looks_like_audio(head):
        return AudioError(f"{name}: corrupt or unsupported audio ({_libsndfile_reason(err)})", "unreadable")
    return AudioError(f"{name}: not an audio file", "not_audio")


def _truncation_note(path: Path, info: sf._SoundFileInfo) -> tuple[str, ...]:
    """A warning when the header promises more audio than the file holds (libsndfile then reads what is there)."""
    match = TRUNCATED_CHUNK.search(info.extra_info)
    if match is None or int(match[1]) in STREAMED_SIZES or int(match[2]) <= 0:
        return ()
    promised_s = info.frames / info.samplerate * int(match[1]) / int(match[2])
    return (f"{path}: truncated: its header promises {promised_s:.3f} s, the file holds {info.duration:.3f} s; "
            f"the {info.duration:.3f} s it holds are used",)


def open_source(path: str | Path, check: bool = True) -> FileSource:
    """Read a file's header; with ``check``, also reject what cannot be matched (rate, channels, length).

    Raises ``AudioError`` with kind missing / unreadable / not_audio / empty / sample_rate / channels / too_short.
    A file whose header promises more than it holds is read as far as it goes, with a note (``FileSource.notes``).
    """
    path = check_file(path)
    said: list[str] = []
    try:
        head = _head(path)
        with decoder_messages(said):  # libsndfile tries libmpg123 on what it cannot otherwise name (fuzz: 12 zeros)
            info = sf.info(str(path))
    except OSError as err:
        raise from_os_error(err, path, "input", AudioError) from err
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        hint = f"; convert it first, e.g. ffmpeg -i {path.name} {path.stem}.flac"
        raise _refusal(str(path), head, err, hint) from err
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(f"{path}: corrupt header ({info.samplerate} Hz, {info.channels} channels)", "unreadable")
    src = FileSource(path, int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype,
                     _truncation_note(path, info) + decoder_note(str(path), said))
    if src.frames <= 0:
        raise AudioError(f"{path}: contains no samples", "empty")
    if check:
        check_properties(str(path), src.sample_rate, src.channels, src.duration_s)
    return src


class UploadBuffer(io.BytesIO):
    """An upload in memory as libsndfile reads it: a seek before the start lands on the start. A corrupt header can
    ask for one (e.g. an AIFF whose sound chunk is misnamed); ``BytesIO`` would raise inside soundfile's callback,
    which prints the ignored exception and hands libsndfile position 0 all the same."""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: len(self.getbuffer())}[whence]
        return super().seek(max(0, origin + offset))


def decode_bytes(data: bytes, name: str) -> tuple[np.ndarray, int, tuple[str, ...]]:
    """Decode a whole audio file held in memory (an upload) to ``(channels, time)`` float64, its rate in Hz and the
    warnings that do not stop its use (damaged data the decoder skipped, :func:`eqlib.audio.decoder_note`).

    Raises ``AudioError``: empty, not_audio, or unreadable (corrupt, an unsupported container such as AAC/MP4, or a
    header that promises more audio than memory holds).
    """
    if not data:
        raise AudioError(f"{name}: file is empty (0 bytes)", "empty")
    said: list[str] = []
    try:
        with decoder_messages(said), sf.SoundFile(UploadBuffer(data)) as f:
            promised, sample_rate = f.frames, f.samplerate
            samples = f.read(dtype="float64", always_2d=True)
    except MemoryError as err:
        raise AudioError(f"{name}: its header promises more audio than memory holds (corrupt?)", "unreadable") from err
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise _refusal(name, data[:12], err) from err
    note = decoder_note(name, said, samples.shape[0] / sample_rate, promised / sample_rate)
    return np.ascontiguousarray(samples.T), int(sample_rate), note


def mono_stream(src: Source, rate: int, sinks: list[Sink], label: str) -> None:
    """Stream ``src``'s mono mid, resampled to ``rate`` Hz (soxr HQ), into every sink; reject silence."""
    import soxr

    stream = None if src.sample_rate == rate else soxr.ResampleStream(src.sample_rate, rate, 1, dtype="float64",
                                                                      quality="HQ")
    peak = 0.0

    def feed(mono: np.ndarray) -> None:
        if mono.size:
            for sink in sinks:
                sink(mono)

    for x in src.blocks(progress=f"analysing {label}"):
        peak = max(peak, float(np.max(np.abs(x))))
        mono = x.mean(axis=0)
        feed(stream.resample_chunk(mono) if stream is not None else mono)
    if stream is not None:
        feed(stream.resample_chunk(np.zeros(0), last=True))
    if peak < SILENCE_PEAK:
        raise AudioError(f"{src.name}: is silent (peak below -100 dBFS)", "silent")


class Rechunker:
    """Buffer a stream of mono blocks and pass it on in chunks of exactly ``step`` samples (the last shorter)."""

    def __init__(self, step: int, sink: Sink) -> None:
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


# --- filtering into a file ----------------------------------------------------------------------------
def filter_blocks(src: Source, sos: np.ndarray, progress: str | None = None) -> Iterator[np.ndarray]:
    """Yield ``src`` filtered through ``sos`` ``(sections, 6)`` block by block, carrying the filter state: one
    ``scipy.signal.sosfilt`` over the whole file, to about 1e-12 of its peak (:mod:`eqlib.iir`, which needs no
    scipy.signal import). Rejects a silent input at the end."""
    cascade = Cascade(sos)
    state = None
    peak = 0.0
    for x in src.blocks(progress):
        peak = max(peak, float(np.max(np.abs(x))))
        y, state = cascade(x, state)
        yield y
    if peak < SILENCE_PEAK:
        raise AudioError(f"{src.name}: is silent (peak below -100 dBFS)", "silent")


def output_format(path: Path) -> str:
    """The soundfile format named by ``path``'s extension; ``AudioError`` (kind output) if there is none."""
    fmt = path.suffix.lstrip(".").upper()
    fmt = OUTPUT_FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in sf.available_formats():
        raise AudioError(f"{path}: unknown output format {path.suffix or '(no extension)'!r}; use .wav or .flac",
                         "output")
    if fmt in SPLIT_FORMATS:
        raise AudioError(f"{path}: {fmt} output is not supported ({SPLIT_FORMATS[fmt]}); choose another format, "
                         "e.g. .wav", "output")
    return fmt


@dataclass(frozen=True)
class OutputPlan:
    """How an output is written: soundfile ``format`` and ``subtype``, at the input's rate (Hz) and channels."""

    path: Path
    format: str
    subtype: str
    sample_rate: int
    channels: int

    @property
    def clips(self) -> bool:
        """True when samples beyond full scale are clipped on writing (every subtype but float and Vorbis/Opus)."""
        return self.subtype not in UNCLIPPED_SUBTYPES


def output_subtypes(out_format: str, in_subtype: str) -> list[str]:
    """Subtypes to try, best first: the input's where it is a plain sample format the output format holds, then
    FLOAT, PCM_24, PCM_16 and the format's own default (the codec of .ogg and .mp3)."""
    candidates = [in_subtype] if in_subtype in KEPT_SUBTYPES else []
    candidates += [*LOSSLESS_FALLBACKS, sf.default_subtype(out_format)]
    return [c for c in dict.fromkeys(candidates) if c and sf.check_format(out_format, c)]


def _try_write(out_format: str, subtype: str, sample_rate: int, channels: int, folder: Path) -> str | None:
    """None if libsndfile writes ``PROBE_FRAMES`` frames of this format into a file in ``folder``, else why not."""
    if subtype == "VORBIS" and sample_rate > MAX_VORBIS_RATE:
        return f"Vorbis holds rates up to {MAX_VORBIS_RATE} Hz"
    probe = new_temp(folder, prefix=TEMP_PREFIX + "probe-")
    try:
        with sf.SoundFile(probe, "w", samplerate=sample_rate, channels=channels, format=out_format,
                          subtype=subtype) as f:
            f.write(np.zeros((PROBE_FRAMES, channels)))
        return None
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        return _libsndfile_reason(err)
    finally:
        remove_temp(probe)


def output_plan(path: Path, sample_rate: int, channels: int, in_subtype: str) -> OutputPlan:
    """Choose and try how ``path`` is written (before any work): the format its extension names, the first of
    :func:`output_subtypes` that libsndfile writes at ``sample_rate`` Hz with ``channels``. ``AudioError`` (kind
    output) naming libsndfile's reason when none does (e.g. 96 kHz to MP3, 1 MHz to FLAC, stereo to .htk)."""
    out_format = output_format(path)
    reasons = {}
    try:
        for subtype in output_subtypes(out_format, in_subtype):
            reasons[subtype] = _try_write(out_format, subtype, sample_rate, channels, path.parent)
            if reasons[subtype] is None:
                return OutputPlan(path, out_format, subtype, sample_rate, channels)
    except OSError as err:
        raise from_os_error(err, path, "output", AudioError) from err
    why = "; ".join(f"{subtype}: {reason}" for subtype, reason in reasons.items()) or "no subtype"
    raise AudioError(f"{path}: {out_format} cannot hold {channels} channel(s) at {sample_rate} Hz ({why}); "
                     "choose another format, e.g. .wav", "output")


def render(src: Source, sos: np.ndarray, plan: OutputPlan, tmp: Path, gain_db: float = 0.0,
           normalize_dbfs: float | None = None) -> float:
    """Filter ``src`` through ``sos`` ``(sections, 6)`` at its own rate into ``tmp`` as ``plan`` says.

    The output is scaled by ``gain_db`` (a preset's preamp), or, with ``normalize_dbfs``, to that sample
    peak (a first pass measures it); where ``plan.clips``, samples are clipped to [-1, 1]. Returns the output
    peak in dBFS before any clipping. A failed write raises ``AudioError`` kind output naming ``plan.path``.
    """
    gain = 10 ** (gain_db / 20)
    if normalize_dbfs is not None:
        peak = max(float(np.max(np.abs(y))) for y in filter_blocks(src, sos, progress="measuring peak"))
        gain = 10 ** (normalize_dbfs / 20) / peak
    peak = 0.0
    try:
        with sf.SoundFile(str(tmp), "w", samplerate=plan.sample_rate, channels=plan.channels, format=plan.format,
                          subtype=plan.subtype) as f:
            for y in filter_blocks(src, sos, progress="filtering"):
                if gain != 1.0:
                    y = y * gain
                peak = max(peak, float(np.max(np.abs(y))))
                f.write((np.clip(y, -1.0, 1.0) if plan.clips else y).T)
    except OSError as err:
        raise from_os_error(err, plan.path, "output", AudioError) from err
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{plan.path}: could not write ({_libsndfile_reason(err)})", "output") from err
    return peak_dbfs(np.array([peak]))
