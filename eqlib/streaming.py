"""Audio of any length in bounded memory: file headers and blocks, the resampled mono mid, filtering into a file.

A *source* is a file (:class:`FileSource`, from :func:`open_source`) or an array (:class:`ArraySource`); both
yield ``(channels, frames)`` float64 blocks of ``BLOCK_FRAMES``. Resampling, long-term spectra, latent
accumulation and IIR filtering all carry their state from block to block, so an hour-long file needs no more
memory than a short one. Every failure is an :class:`eqlib.audio.AudioError` whose ``kind`` the CLI maps to an
exit code. Writing goes through a temporary file renamed into place only on success.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf

from eqlib.audio import SILENCE_PEAK, Audio, AudioError, atomic_path, check_file, check_properties, peak_dbfs
from eqlib.iir import Cascade

BLOCK_FRAMES = 1 << 16  # frames read, resampled and filtered at a time
LONG_FILE_S = 120.0  # sources longer than this show progress bars
AUDIO_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM", b"ID3", b".snd", b"caff", b"wvpk", b"MAC ",
               b"BW64", b"riff")
OUTPUT_FORMAT_ALIASES = {"AIF": "AIFF", "OGA": "OGG", "WAVE": "WAV"}

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


@dataclass(frozen=True)
class FileSource:
    """An audio file's path and header: sample rate (Hz), channels, frames, format and subtype."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def blocks(self, progress: str | None = None) -> Iterator[np.ndarray]:
        """Yield ``(channels, frames)`` float64 blocks; ``AudioError`` on NaN/inf or a read failure."""
        bar = _progress(self.frames, progress, self.duration_s)
        try:
            for block in sf.blocks(str(self.path), blocksize=BLOCK_FRAMES, dtype="float64", always_2d=True):
                x = np.ascontiguousarray(block.T)
                if not np.all(np.isfinite(x)):
                    raise AudioError(f"{self.path}: contains NaN or infinite samples", "nonfinite")
                bar.update(x.shape[1])
                yield x
        except (sf.LibsndfileError, RuntimeError) as err:
            raise AudioError(f"{self.path}: corrupt audio ({str(err).splitlines()[0]})", "unreadable") from err
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


def _looks_like_audio(path: Path) -> bool:
    """True when the first bytes carry a known audio container signature (or an MPEG frame sync)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head.startswith(AUDIO_MAGIC) or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def open_source(path: str | Path, check: bool = True) -> FileSource:
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
    src = FileSource(path, int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype)
    if src.frames <= 0:
        raise AudioError(f"{path}: contains no samples", "empty")
    if check:
        check_properties(str(path), src.sample_rate, src.channels, src.duration_s)
    return src


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
    return fmt


def output_subtype(out_format: str, in_subtype: str) -> str:
    """The input's subtype where the output format allows it, else FLOAT, PCM_24 or the format's default."""
    for candidate in (in_subtype, "FLOAT", "PCM_24", sf.default_subtype(out_format)):
        if candidate and sf.check_format(out_format, candidate):
            return candidate
    raise AudioError(f"no sample format available for {out_format} output", "output")


def render(src: Source, sos: np.ndarray, out: Path, subtype_hint: str, gain_db: float = 0.0,
           normalize_dbfs: float | None = None) -> tuple[float, str]:
    """Filter ``src`` through ``sos`` ``(sections, 6)`` at its own rate into ``out``, atomically.

    The output is scaled by ``gain_db`` (a preset's preamp), or, with ``normalize_dbfs``, to that sample
    peak (a first pass measures it). The subtype follows ``subtype_hint`` where the format allows. Returns
    (output peak in dBFS before any PCM clipping, subtype written).
    """
    gain = 10 ** (gain_db / 20)
    if normalize_dbfs is not None:
        peak = max(float(np.max(np.abs(y))) for y in filter_blocks(src, sos, progress="measuring peak"))
        gain = 10 ** (normalize_dbfs / 20) / peak
    out_format = output_format(out)
    subtype = output_subtype(out_format, subtype_hint)
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
