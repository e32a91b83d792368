"""Shared fixtures: per-test seeding, a speech-like test signal (and a damaged MP3 of one), a real-ffmpeg runner, an
untrained checkpoint."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from eqlib.runtime import pin_cpu_kernels, seed_everything

# Under the kernel caps the committed figures are written with (the CLI transcript test compares like with like),
# set before any test runs a model: the entry points that tests call in-process set it too, and test order must
# not decide which kernels a later test gets.
pin_cpu_kernels()


@pytest.fixture(autouse=True)
def _seed_rngs() -> None:
    """Every test starts from the same global random state (python, numpy, torch)."""
    seed_everything(0)


def make_speech_like(seconds: float, sample_rate: int, seed: int) -> np.ndarray:
    """A speech-like test signal ``(time,)`` float64, peak 0.5.

    Pink-ish noise (power ∝ 1/f above 80 Hz, rolled off below) modulated at a syllable
    rate of about 4 Hz, with silent pauses of 150–400 ms between phrases.
    """
    rng = np.random.default_rng(seed)
    num_samples = int(round(seconds * sample_rate))
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    freqs = np.fft.rfftfreq(num_samples, 1 / sample_rate)
    shape = 1 / np.sqrt(np.maximum(freqs, 80.0)) * (freqs / np.sqrt(freqs**2 + 60.0**2))
    noise = np.fft.irfft(spectrum * shape, n=num_samples)
    t = np.arange(num_samples) / sample_rate
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))) ** 1.5
    gate = np.ones(num_samples)
    start = int(0.4 * sample_rate)
    while start < num_samples:
        pause = int(rng.uniform(0.15, 0.4) * sample_rate)
        gate[start : start + pause] = 0.0
        start += pause + int(rng.uniform(0.6, 1.2) * sample_rate)
    ramp = np.hanning(int(0.02 * sample_rate))  # 10 ms fades so pauses do not click
    gate = np.convolve(gate, ramp / ramp.sum(), mode="same")
    signal = noise * syllables * gate
    return 0.5 * signal / np.abs(signal).max()


def make_damaged_mp3(seconds: float, sample_rate: int, seed: int) -> bytes:
    """An MP3 of :func:`make_speech_like` with 200 bytes inverted past its first frames: libmpg123 decodes it, skipping
    the frames it cannot read and saying so on stderr."""
    buf = io.BytesIO()
    sf.write(buf, make_speech_like(seconds, sample_rate, seed), sample_rate, format="MP3")
    data = bytearray(buf.getvalue())
    for i in np.random.default_rng(seed).integers(500, len(data), 200):
        data[i] ^= 0xFF
    return bytes(data)


@pytest.fixture
def speech_like() -> Callable[..., np.ndarray]:
    """Factory ``speech_like(seconds=3.0, sample_rate=44100, seed=0) -> (time,)`` float64."""

    def make(seconds: float = 3.0, sample_rate: int = 44100, seed: int = 0) -> np.ndarray:
        return make_speech_like(seconds, sample_rate, seed)

    return make


def _run_ffmpeg(audio: np.ndarray, sample_rate: int, graph: str, complex_graph: bool = False) -> np.ndarray:
    """Filter mono float64 ``audio`` through real ffmpeg; returns the mono float64 output samples.

    ``graph`` is an ``-af`` chain (output length = input length), or with ``complex_graph``
    a ``-filter_complex`` graph with one mono output (e.g. several filtered copies joined
    end to end by ``concat``).
    """
    flag = "-filter_complex" if complex_graph else "-af"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-f", "f64le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
           flag, graph, "-f", "f64le", "-acodec", "pcm_f64le", "pipe:1"]
    proc = subprocess.run(cmd, input=np.ascontiguousarray(audio, dtype="<f8").tobytes(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(proc.stdout, dtype="<f8").astype(np.float64)


@pytest.fixture(scope="session")
def ffmpeg() -> Callable[..., np.ndarray]:
    """The real-ffmpeg runner above; skips the test with a reason when ffmpeg is not installed."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed (apt-get install -y ffmpeg); ffmpeg cross-checks skipped")
    return _run_ffmpeg


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """A seeded, untrained proposed_db checkpoint: enough to test plumbing that does not depend on training."""
    import torch

    from eqlib.checkpoint import save_checkpoint
    from eqlib.models import build_model

    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, build_model("proposed_db"))
    return path
