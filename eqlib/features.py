"""Input representation: STFT power spectrogram on the device, then a mel filterbank (linear or dB).

Shapes: audio ``(batch, time)`` → power ``(batch, bins, frames)`` → mel ``(batch, mels, frames)``.
Because an EQ is linear and time-invariant, an equalised power spectrogram is approximately
``power * |H(f)|²`` (see ``eqlib.pairs`` and its test); training exploits this and never
filters waveforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import torch
from torch import nn

DB_FLOOR = 1e-10  # power floor before the log: -100 dB re full-scale sine power
DB_SCALE = 20.0  # dB values are divided by this so features are O(1)


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
    """Mel filterbank (librosa, Slaney norm) on power, returned as dB/``DB_SCALE`` or as linear magnitude."""

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config
        fb = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                                 fmin=config.fmin_hz, fmax=config.fmax_hz, norm=None)
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
