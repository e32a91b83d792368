"""Reading, checking, resampling and safe writing of audio files (loudness: :mod:`eqlib.spectrum`).

Audio arrays are ``(channels, time)`` float64 in [-1, 1]-ish full scale; sample rates in Hz.
Every failure is an :class:`AudioError` with a one-line message and a ``kind`` that the CLI
maps to an exit code.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from eqlib.spectrum import loudness_lufs  # noqa: F401 - the one loudness meter; corpus and figures import it here

SILENCE_PEAK = 1e-5  # -100 dBFS: below this everywhere, a file counts as silent
MIN_DURATION_S, MIN_SAMPLE_RATE, MAX_CHANNELS = 0.5, 16000, 2  # what analysis accepts by default


class AudioError(ValueError):
    """A problem with an audio file or array; ``kind`` names the class of problem."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


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
    """``path`` as a ``Path``; raise ``AudioError`` (missing / unreadable / empty) unless it is a non-empty file."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file", "missing")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file", "unreadable")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)", "empty")
    return path


def read_audio(path: str | Path) -> Audio:
    """Read a WAV/FLAC/OGG/… file as ``(channels, time)`` float64; raise ``AudioError`` if absent or unreadable."""
    path = check_file(path)
    try:
        data, sample_rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise AudioError(f"{path}: not a readable audio file ({str(err).splitlines()[0]})", "unreadable") from err
    return Audio(np.ascontiguousarray(data.T), int(sample_rate))


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
    if not np.all(np.isfinite(audio.samples)):
        raise AudioError(f"{name}: contains NaN or infinite samples", "nonfinite")
    check_properties(name, audio.sample_rate, audio.num_channels, audio.duration_s, min_duration_s, min_sample_rate,
                     max_channels)
    if np.max(np.abs(audio.samples)) < SILENCE_PEAK:
        raise AudioError(f"{name}: is silent (peak below -100 dBFS)", "silent")
    return audio


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
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, the umask's permissions), renamed onto ``path`` only
    if the ``with`` block succeeds and removed otherwise: a failed write leaves ``path`` untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".eqlib-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_audio_atomic(path: str | Path, samples: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write ``(channels, time)`` audio to ``path`` through :func:`atomic_path`.

    The format follows the file extension; ``subtype`` (e.g. ``"PCM_16"``, ``"FLOAT"``) defaults to
    soundfile's choice for that format. A failed write leaves no partial file and ``path`` untouched.
    """
    with atomic_path(path) as tmp:
        sf.write(tmp, np.asarray(samples).T, sample_rate, subtype=subtype)
