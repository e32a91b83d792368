"""Input representation: STFT power spectrogram on the device, then a mel filterbank (linear or dB).

Shapes: audio ``(batch, time)`` → power ``(batch, bins, frames)`` → mel ``(batch, mels, frames)``.
Because an EQ is linear and time-invariant, an equalised power spectrogram is approximately
``power * |H(f)|²`` (see ``eqlib.pairs`` and its test); training exploits this and never
filters waveforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

DB_FLOOR = 1e-10  # power floor before the log: -100 dB re full-scale sine power
DB_SCALE = 20.0  # dB values are divided by this so features are O(1)
# Slaney's mel scale (Auditory Toolbox): linear below 1 kHz, logarithmic above
SLANEY_HZ_PER_MEL, SLANEY_BREAK_HZ, SLANEY_LOG_STEP = 200.0 / 3, 1000.0, np.log(6.4) / 27.0


def hz_to_slaney_mel(freqs_hz: np.ndarray) -> np.ndarray:
    """Slaney mel values of frequencies in Hz (any shape)."""
    freqs_hz = np.asarray(freqs_hz, dtype=np.float64)
    linear = freqs_hz / SLANEY_HZ_PER_MEL
    break_mel = SLANEY_BREAK_HZ / SLANEY_HZ_PER_MEL
    with np.errstate(divide="ignore"):
        logarithmic = break_mel + np.log(freqs_hz / SLANEY_BREAK_HZ) / SLANEY_LOG_STEP
    return np.where(freqs_hz >= SLANEY_BREAK_HZ, logarithmic, linear)


def slaney_mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Frequencies in Hz of Slaney mel values (any shape)."""
    mels = np.asarray(mels, dtype=np.float64)
    break_mel = SLANEY_BREAK_HZ / SLANEY_HZ_PER_MEL
    logarithmic = SLANEY_BREAK_HZ * np.exp(SLANEY_LOG_STEP * (mels - break_mel))
    return np.where(mels >= break_mel, logarithmic, SLANEY_HZ_PER_MEL * mels)


def slaney_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """Triangular mel filters (Slaney scale, peak 1, no area normalisation): ``(mels, n_fft // 2 + 1)`` float64.

    Band ``i`` rises from centre ``i - 1`` to centre ``i`` and falls to centre ``i + 1``, the ``mels + 2``
    centres equally spaced in mel between ``fmin_hz`` and ``fmax_hz``; what librosa's
    ``filters.mel(htk=False, norm=None)`` computes, without importing librosa (and numba).
    """
    edges_hz = slaney_mel_to_hz(np.linspace(hz_to_slaney_mel(fmin_hz), hz_to_slaney_mel(fmax_hz), n_mels + 2))
    bins_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - bins_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    return np.maximum(0.0, np.minimum(rising, falling))


@dataclass(frozen=True)
class FeatureConfig:
    """Analysis settings. Defaults: 44.1 kHz, 4096-point Hann STFT (10.8 Hz bins), hop 2048 (46 ms)."""

    sample_rate: int = 44100
    n_fft: int = 4096
    hop_length: int = 2048
    n_mels: int = 128
    fmin_hz: float = 20.0
    fmax_hz: float = 20000.0
    db: bool = True

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1

    def bin_freqs_hz(self) -> np.ndarray:
        """Centre frequency in Hz of every STFT bin: ``(bins,)``."""
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate)

    def num_frames(self, num_samples: int) -> int:
        """Frames of a centred STFT of ``num_samples`` samples."""
        return 1 + num_samples // self.hop_length


class PowerSpectrogram(nn.Module):
    """Centred Hann-window STFT power ``|X|²`` (full-scale sine ≈ 0 dB after the window normalisation)."""

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config
        window = torch.hann_window(config.n_fft, periodic=True, dtype=torch.float32)
        self.register_buffer("window", window / window.sum() * 2, persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``(batch, time)`` samples → ``(batch, bins, frames)`` power."""
        spec = torch.stft(audio.float(), self.config.n_fft, self.config.hop_length, window=self.window,
                          center=True, pad_mode="constant", return_complex=True)
        return spec.real.square() + spec.imag.square()


class MelFrontend(nn.Module):
    """Mel filterbank (Slaney scale, each band the mean power it covers) on power, returned as dB/``DB_SCALE`` or as
    linear magnitude."""

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config
        # float32 before normalising, as the weights were built when the shipped models were trained
        fb = slaney_mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin_hz,
                                   config.fmax_hz).astype(np.float32)
        fb = fb / np.maximum(fb.sum(axis=1, keepdims=True), 1e-12)  # each band averages the power it covers
        self.register_buffer("filterbank", torch.as_tensor(fb, dtype=torch.float32), persistent=False)

    def mel_power(self, power: torch.Tensor) -> torch.Tensor:
        """``(batch, bins, frames)`` power → ``(batch, mels, frames)`` mel power."""
        return torch.matmul(self.filterbank, power.float())

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """``(batch, bins, frames)`` power → features ``(batch, mels, frames)``: dB/20 or magnitude·10."""
        mel = self.mel_power(power)
        if self.config.db:
            return 10 * torch.log10(mel.clamp_min(DB_FLOOR)) / DB_SCALE
        return torch.sqrt(mel.clamp_min(0)) * 10  # linear magnitudes of loudness-normalised speech are O(0.1)
