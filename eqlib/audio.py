"""Reading, checking, resampling and safe writing of audio files (loudness: :mod:`eqlib.spectrum`).

Audio arrays are ``(channels, time)`` float64 in [-1, 1]-ish full scale; sample rates in Hz.
Every failure is an :class:`AudioError`, an :class:`eqlib.errors.EqlibError` with a one-line message and a
``kind`` that the CLI maps to an exit code. Outputs are written to temporary files beside their destinations
and renamed onto them only when complete (:class:`OutputFiles`, :func:`atomic_path`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from eqlib.errors import EqlibError, from_os_error
from eqlib.spectrum import loudness_lufs  # noqa: F401 - the one loudness meter; corpus and figures import it here

SILENCE_PEAK = 1e-5  # -100 dBFS: below this everywhere, a file counts as silent
MIN_DURATION_S, MIN_SAMPLE_RATE, MAX_CHANNELS = 0.5, 16000, 2  # what analysis accepts by default
# Samples beyond this many times full scale (+120 dBFS) are corrupt data, not sound: no mix peaks there. Far above
# it things overflow: the model's float32 features between 1e20 and 1e25 x (measured), a float32 output of a
# +60 dB EQ at 3e35 x, and a float32 file may hold up to 3.4e38.
MAX_ABS_SAMPLE = 1e6
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # held off while outputs are renamed into place
TEMP_PREFIX = ".eqlib-"  # temporary outputs: hidden files beside their destinations


class AudioError(EqlibError):
    """A problem with an audio file or array; ``kind`` names the class of problem (a key of
    :data:`eqlib.errors.EXIT_CODES`)."""


@dataclass
class Audio:
    """Samples ``(channels, time)`` float64 and their sample rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def num_channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def mono(self) -> np.ndarray:
        """Mid signal (mean of the channels): ``(time,)``."""
        return self.samples.mean(axis=0)


def check_file(path: str | Path) -> Path:
    """``path`` as a ``Path``; raise ``AudioError`` unless it is a non-empty regular file this process may read:
    missing (also a name too long to exist), unreadable (no permission, a symlink loop, a folder, a pipe or
    device) or empty."""
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise AudioError(f"{path}: is a folder, not an audio file", "unreadable")
        if not stat.S_ISREG(info.st_mode):
            raise AudioError(f"{path}: is not a regular file (a pipe or a device); give an audio file", "unreadable")
        if info.st_size == 0:
            raise AudioError(f"{path}: file is empty (0 bytes)", "empty")
        with open(path, "rb"):
            pass
    except OSError as err:
        raise from_os_error(err, path, "input", AudioError) from err
    return path


def read_audio(path: str | Path) -> Audio:
    """Read a WAV/FLAC/OGG/… file as ``(channels, time)`` float64; raise ``AudioError`` if absent or unreadable."""
    path = check_file(path)
    try:
        data, sample_rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise AudioError(f"{path}: not a readable audio file ({str(err).splitlines()[0]})", "unreadable") from err
    return Audio(np.ascontiguousarray(data.T), int(sample_rate))


_CAPTURED_FROM: list[int] = []  # descriptor 2 as it was before each capture still running (decoder_messages)


@contextlib.contextmanager
def decoder_messages(lines: list[str]) -> Iterator[None]:
    """Meanwhile, append to ``lines`` what C decoders print on this process's stderr (file descriptor 2) instead of
    letting it reach the terminal: libmpg123 reports each damaged MP3 frame it skips there. Nothing is captured in a
    process started with descriptor 2 closed (``2>&-``), where 2 may since name another open file, nor without a
    writable temporary folder. Not for use while other threads write to descriptor 2; an error report after an
    exception that may have cut a capture short calls :func:`end_captures` first."""
    sink = None
    if sys.__stderr__ is not None:  # else Python found descriptor 2 closed at start-up: it may name another file now
        with contextlib.suppress(OSError):  # no temporary folder to write to: the messages go where they went
            sink = tempfile.TemporaryFile()
    if sink is None:
        yield
        return
    with sink:
        sys.__stderr__.flush()
        saved = os.dup(2)
        _CAPTURED_FROM.append(saved)
        try:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
        finally:
            _CAPTURED_FROM.remove(saved)
            os.close(saved)
        sink.seek(0)
        lines.extend(line for line in sink.read().decode(errors="replace").splitlines() if line.strip())


def end_captures() -> None:
    """Give descriptor 2 back as it was before any :func:`decoder_messages` capture still running. A signal's
    exception (``eqlib.cli`` raises one) can land inside a capture's own clean-up, before it restores descriptor 2,
    and the run's error line would then go into the capture."""
    if _CAPTURED_FROM:
        os.dup2(_CAPTURED_FROM[0], 2)


def decoder_note(name: str, lines: list[str], decoded_s: float | None = None,
                 promised_s: float | None = None) -> tuple[str, ...]:
    """The warning for audio decoded past damage (``lines``: what the decoder said, :func:`decoder_messages`;
    ``decoded_s`` of the ``promised_s`` seconds the header promises came out, where a whole pass was read), or none
    when it said nothing."""
    if not lines:
        return ()
    first = re.sub(r"^\[[^]]*\]\s*", "", lines[0])  # libmpg123 prefixes errors with [source file:function():line]
    said = "once" if len(lines) == 1 else f"{len(lines)} times"
    lost = (f", {promised_s - decoded_s:.2f} s of the {promised_s:.2f} s its header promises"
            if decoded_s is not None and promised_s is not None and promised_s - decoded_s >= 0.005 else "")
    return (f"{name}: damaged audio data: the decoder skipped what it could not read{lost}, and said so {said} "
            f"(first: {first!r}); the rest is used",)


def check_properties(name: str, sample_rate: int, num_channels: int, duration_s: float,
                     min_duration_s: float = MIN_DURATION_S, min_sample_rate: int = MIN_SAMPLE_RATE,
                     max_channels: int = MAX_CHANNELS) -> None:
    """Reject a sample rate (Hz), channel count or duration (s) that cannot be analysed (``AudioError``)."""
    if sample_rate < min_sample_rate:
        raise AudioError(f"{name}: sample rate {sample_rate} Hz is below the minimum {min_sample_rate} Hz",
                         "sample_rate")
    if num_channels > max_channels:
        raise AudioError(f"{name}: has {num_channels} channels; at most {max_channels} are supported", "channels")
    if duration_s < min_duration_s:
        raise AudioError(f"{name}: {duration_s:.2f} s is shorter than the minimum {min_duration_s:g} s", "too_short")


def check_audio(audio: Audio, name: str = "audio", min_duration_s: float = MIN_DURATION_S,
                min_sample_rate: int = MIN_SAMPLE_RATE, max_channels: int = MAX_CHANNELS) -> Audio:
    """Reject audio that cannot be analysed: empty, NaN/inf, silent, too short, too low a rate, too many channels."""
    if audio.samples.size == 0:
        raise AudioError(f"{name}: contains no samples", "empty")
    check_samples(audio.samples, name)
    check_properties(name, audio.sample_rate, audio.num_channels, audio.duration_s, min_duration_s, min_sample_rate,
                     max_channels)
    if np.max(np.abs(audio.samples)) < SILENCE_PEAK:
        raise AudioError(f"{name}: is silent (peak below -100 dBFS)", "silent")
    return audio


def check_samples(samples: np.ndarray, name: str) -> None:
    """Reject NaN, infinite or absurd samples (beyond ``MAX_ABS_SAMPLE`` x full scale): ``AudioError`` nonfinite."""
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{name}: contains NaN or infinite samples", "nonfinite")
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > MAX_ABS_SAMPLE:
        raise AudioError(f"{name}: contains absurd samples (peak {peak:.3g} x full scale, {peak_dbfs(samples):+.0f} "
                         f"dBFS; at most {MAX_ABS_SAMPLE:g} x): corrupt data, not sound", "nonfinite")


def resample(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Resample ``(..., time)`` from ``sample_rate`` to ``target_rate`` Hz (soxr, high quality)."""
    if sample_rate == target_rate:
        return samples
    import librosa

    return librosa.resample(samples, orig_sr=sample_rate, target_sr=target_rate, res_type="soxr_hq", axis=-1)


def peak_dbfs(samples: np.ndarray) -> float:
    """Sample peak in dBFS (-inf for digital silence)."""
    peak = float(np.max(np.abs(samples))) if np.size(samples) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held off (delivered when the block ends): a rename is never cut in half."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_LIVE_TEMPS: set[Path] = set()  # temporary files of this process not yet renamed into place or removed


def new_temp(folder: str | Path, suffix: str = "", prefix: str = TEMP_PREFIX) -> Path:
    """A new empty hidden file in ``folder`` (the umask's permissions), registered until it is renamed or removed:
    created and registered with signals held off, so that :func:`remove_live_temps` finds it whenever a signal
    comes."""
    with signals_held():
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
        _LIVE_TEMPS.add(Path(tmp))
        os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    return Path(tmp)


def remove_temp(tmp: Path) -> None:
    """Remove a file made by :func:`new_temp` (if still there) and forget it."""
    with signals_held():
        tmp.unlink(missing_ok=True)
        _LIVE_TEMPS.discard(tmp)


def remove_live_temps() -> None:
    """Remove every temporary file of this process not yet renamed into place (the command line calls it on its
    way out of any failure)."""
    for tmp in list(_LIVE_TEMPS):
        remove_temp(tmp)


class OutputFiles:
    """Outputs written all together or not at all: each to a temporary file beside its destination, renamed onto
    the destinations by :meth:`commit` with signals held off; leaving the ``with`` block any other way (an error,
    Ctrl-C, SIGTERM) removes the temporary files and leaves the destinations untouched.

    ``written`` lists the destinations renamed into place so far (all of them once ``commit`` returns).
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []
        self.written: list[Path] = []

    def temp(self, destination: str | Path) -> Path:
        """A new empty temporary file beside ``destination`` (same suffix, the umask's permissions)."""
        destination = Path(destination)
        tmp = new_temp(destination.parent, destination.suffix)
        self._pending.append((tmp, destination))
        return tmp

    def commit(self) -> None:
        """Rename every temporary file onto its destination (``AudioError`` kind output if one cannot be)."""
        with signals_held():
            while self._pending:
                tmp, destination = self._pending[0]
                try:
                    os.replace(tmp, destination)
                except OSError as err:
                    raise from_os_error(err, destination, "output", AudioError) from err
                _LIVE_TEMPS.discard(tmp)
                self._pending.pop(0)
                self.written.append(destination)

    def discard(self) -> None:
        """Remove the temporary files not yet renamed."""
        for tmp, _ in self._pending:
            remove_temp(tmp)
        self._pending.clear()

    def __enter__(self) -> "OutputFiles":
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, the umask's permissions), renamed onto ``path`` only
    if the ``with`` block succeeds and removed otherwise: a failed write leaves ``path`` untouched. An ``OSError``
    (no such folder, no permission, a full disk) becomes ``AudioError`` kind output naming ``path``."""
    with OutputFiles() as files:
        try:
            tmp = files.temp(path)
        except OSError as err:
            raise from_os_error(err, path, "output", AudioError) from err
        try:
            yield tmp
        except OSError as err:
            raise from_os_error(err, path, "output", AudioError) from err
        files.commit()


def write_audio_atomic(path: str | Path, samples: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write ``(channels, time)`` audio to ``path`` through :func:`atomic_path`.

    The format follows the file extension; ``subtype`` (e.g. ``"PCM_16"``, ``"FLOAT"``) defaults to
    soundfile's choice for that format. A failed write leaves no partial file and ``path`` untouched.
    """
    with atomic_path(path) as tmp:
        sf.write(tmp, np.asarray(samples).T, sample_rate, subtype=subtype)
