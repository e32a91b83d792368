"""Input representation: STFT power spectrogram on the device, then a mel filterbank (linear or dB),
or fractional-octave band powers.

Shapes: audio ``(batch, time)`` → power ``(batch, bins, frames)`` → bank rows ``(batch, rows, frames)``
(the STFT bins themselves for the paper's models; ``bands_per_octave`` bands for the statistics model,
:class:`BandPooling`) → mel ``(batch, mels, frames)`` for the paper's models.
Because an EQ is linear and time-invariant, an equalised power spectrogram is approximately
``power * |H(f)|²`` (see ``eqlib.pairs`` and its test); training exploits this and never
filters waveforms. The training bank holds the rows, and the EQ is applied at ``bank_freqs_hz``.
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
    bands_per_octave: int = 0  # 0: the bank holds STFT bins; n > 0: 1/n-octave bands from fmin_hz to fmax_hz

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1

    def band_centres_hz(self) -> np.ndarray:
        """Centres ``fmin_hz · 2^(k/n)`` (Hz) of the 1/n-octave bands whose upper edge is at most ``fmax_hz``."""
        n = self.bands_per_octave
        if n <= 0:
            raise ValueError("band_centres_hz needs bands_per_octave > 0")
        count = int(np.floor(n * np.log2(self.fmax_hz / self.fmin_hz) - 0.5)) + 1
        return self.fmin_hz * 2.0 ** (np.arange(count) / n)

    @property
    def num_bank_rows(self) -> int:
        """Rows per frame of the training bank: STFT bins, or bands."""
        return self.num_bins if self.bands_per_octave <= 0 else len(self.band_centres_hz())

    def bank_freqs_hz(self) -> np.ndarray:
        """Where the EQ is evaluated for each bank row (Hz): bin centres (DC at 1 Hz, where a shelf's gain is
        its DC gain) or band centres."""
        if self.bands_per_octave > 0:
            return self.band_centres_hz()
        freqs = self.bin_freqs_hz()
        freqs[0] = 1.0
        return freqs

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


def band_pooling_matrix(config: FeatureConfig) -> np.ndarray:
    """``(bands, bins)`` weights turning STFT bin powers into each 1/n-octave band's mean power density.

    Each bin's power is spread evenly over its span (between the midpoints to its neighbours) and each
    band integrates that piecewise-constant density exactly, then divides by its width: a flat spectrum
    gives every band the bin level, and bands narrower than a bin take the level of the bins they overlap.
    """
    centres = config.band_centres_hz()
    half = 2 ** (1 / (2 * config.bands_per_octave))
    low, high = centres / half, centres * half
    bins = config.bin_freqs_hz()
    step = bins[1] - bins[0]
    bin_low, bin_high = bins - step / 2, bins + step / 2
    overlap = np.clip(np.minimum(high[:, None], bin_high[None]) - np.maximum(low[:, None], bin_low[None]), 0, None)
    return overlap / (high - low)[:, None]


class BandPooling(nn.Module):
    """STFT power ``(batch, bins, frames)`` → the bank's rows ``(batch, rows, frames)``: the bins themselves
    (``bands_per_octave == 0``) or 1/n-octave band powers (:func:`band_pooling_matrix`)."""

    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config
        weights = band_pooling_matrix(config) if config.bands_per_octave > 0 else np.zeros((0, 0))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32), persistent=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        if self.config.bands_per_octave <= 0:
            return power
        return torch.matmul(self.weights, power.float())


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
