"""Spectral analysis in one place: long-term spectra, band levels, smoothing, loudness.

- :func:`long_term_spectrum_db` (Welch) and its streaming form :class:`WelchAccumulator`;
- :func:`band_levels_db` (power averages over fractional-octave bands), :func:`smoothed_spectrum_db`
  (a long-term spectrum smoothed on the log grid :func:`log_grid_hz`), :func:`third_octave_centres_hz`;
- :class:`LoudnessMeter` and :func:`loudness_lufs`: integrated loudness after ITU-R BS.1770-4, streaming.

Audio is ``(time,)`` or ``(channels, time)`` float64 at ``sample_rate`` Hz; spectra are power spectral
densities in dB re 1/Hz. Only numpy is imported with this module (scipy.signal when a Welch spectrum is
computed), so that ``eqlib info`` starts in a fraction of a second.
"""

from __future__ import annotations

import math

import numpy as np

from eqlib.iir import BlockedBiquad

POWER_FLOOR = 1e-20  # -200 dB: keeps log10 finite for digital silence
GRID_MIN_HZ, GRID_MAX_HZ = 20.0, 20000.0
SMOOTHING_FRACTION = 6.0  # default smoothing: 1/6-octave bands
FINE_BIN_HZ = 5.5  # long-term spectra resolve at least this finely, so Welch leakage stays out of 20-60 Hz bands


# --- long-term spectra --------------------------------------------------------------------------
def long_term_spectrum_db(audio: np.ndarray, sample_rate: float, n_fft: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average power spectrum (Welch, Hann, 50 % overlap) in dB.

    Args:
        audio: ``(time,)`` or ``(channels, time)`` samples; channel powers are averaged.
        sample_rate: sampling rate in Hz.
        n_fft: segment length in samples (must not exceed the signal length).

    Returns:
        ``(freqs_hz, level_db)``, both ``(n_fft // 2 + 1,)``; level in dB re 1 (power density).
    """
    import scipy.signal

    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim not in (1, 2) or audio.shape[-1] == 0:
        raise ValueError(f"audio must be (time,) or (channels, time) with samples, got shape {audio.shape}")
    if audio.shape[-1] < n_fft:
        raise ValueError(f"audio has {audio.shape[-1]} samples, fewer than n_fft = {n_fft}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or infinite samples")
    freqs, power = scipy.signal.welch(audio, fs=sample_rate, window="hann", nperseg=n_fft, axis=-1)
    if power.ndim == 2:
        power = power.mean(axis=0)
    return freqs, 10 * np.log10(np.maximum(power, POWER_FLOOR))


def long_term_n_fft(sample_rate: float, num_samples: int) -> int:
    """Welch segment length for long-term spectra: the power of two giving bins of at most ``FINE_BIN_HZ``
    (8192 at 44.1 kHz), halved until it fits ``num_samples`` (not below 256)."""
    n_fft = 2 ** math.ceil(math.log2(sample_rate / FINE_BIN_HZ))
    while n_fft > num_samples and n_fft > 256:
        n_fft //= 2
    return n_fft


class WelchAccumulator:
    """Streaming :func:`long_term_spectrum_db` of mono audio (Hann, ``n_fft``, 50 % overlap): the same
    segments and mean as one call on the concatenated signal, in bounded memory."""

    def __init__(self, sample_rate: float, n_fft: int) -> None:
        self.sample_rate, self.n_fft, self.hop = sample_rate, n_fft, n_fft // 2
        self._pending = np.zeros(0)
        self._total: np.ndarray | None = None
        self._count = 0

    def add(self, block: np.ndarray) -> None:
        """Append mono samples ``(time,)``."""
        import scipy.signal

        buf = np.concatenate([self._pending, block])
        segments = (len(buf) - self.n_fft) // self.hop + 1 if len(buf) >= self.n_fft else 0
        if segments > 0:
            used = (segments - 1) * self.hop + self.n_fft
            self.freqs, power = scipy.signal.welch(buf[:used], fs=self.sample_rate, window="hann", nperseg=self.n_fft)
            self._total = power * segments if self._total is None else self._total + power * segments
            self._count += segments
            buf = buf[segments * self.hop:]
        self._pending = buf

    def spectrum_db(self) -> tuple[np.ndarray, np.ndarray]:
        """``(freqs_hz, level_db)`` of everything added, as :func:`long_term_spectrum_db` returns them."""
        if self._total is None:
            raise ValueError(f"fewer than {self.n_fft} samples to analyse")
        return self.freqs, 10 * np.log10(np.maximum(self._total / self._count, POWER_FLOOR))


# --- band levels and smoothing ---------------------------------------------------------------------
def _interp_rows(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(x, xp, row)`` for every row of ``fp`` ``(..., len(xp))`` at once (clamped at the ends)."""
    x = np.clip(x, xp[0], xp[-1])
    idx = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    t = (x - xp[idx]) / (xp[idx + 1] - xp[idx])
    return fp[..., idx] * (1 - t) + fp[..., idx + 1] * t


def band_levels_db(freqs_hz: np.ndarray, level_db: np.ndarray, centres_hz: np.ndarray,
                   fraction: float) -> np.ndarray:
    """Power-average a spectrum over fractional-octave bands ``[fc·2^(−1/2n), fc·2^(1/2n)]``.

    Each input bin covers the span between the midpoints to its neighbours; band averages
    integrate that piecewise-constant power exactly, so bands narrower than a bin still get
    a well-defined value (the level of the bins they overlap).

    Args:
        freqs_hz: increasing bin frequencies ``(bins,)`` in Hz.
        level_db: levels ``(..., bins)`` in dB.
        centres_hz: band centre frequencies ``(bands,)`` in Hz.
        fraction: bands per octave ``n`` (3 = third-octave).

    Returns:
        Band levels ``(..., bands)`` in dB.
    """
    freqs_hz = np.asarray(freqs_hz, dtype=np.float64)
    mids = (freqs_hz[1:] + freqs_hz[:-1]) / 2
    edges = np.concatenate([[freqs_hz[0] - (mids[0] - freqs_hz[0])], mids, [freqs_hz[-1] + (freqs_hz[-1] - mids[-1])]])
    power = 10 ** (np.asarray(level_db, dtype=np.float64) / 10)
    cumulative = np.concatenate([np.zeros((*power.shape[:-1], 1)), np.cumsum(power * np.diff(edges), axis=-1)], axis=-1)
    half = 2 ** (1 / (2 * fraction))
    lo, hi = np.asarray(centres_hz) / half, np.asarray(centres_hz) * half
    sums = _interp_rows(hi, edges, cumulative) - _interp_rows(lo, edges, cumulative)
    mean_power = sums / (hi - lo)
    return 10 * np.log10(np.maximum(mean_power, POWER_FLOOR))


def log_grid_hz(sample_rate: float, points_per_octave: int = 12) -> np.ndarray:
    """Log-spaced grid from 20 Hz to min(20 kHz, 0.45·sample_rate): ``(points,)`` in Hz."""
    f_max = min(GRID_MAX_HZ, 0.45 * sample_rate)
    num = int(math.floor(points_per_octave * math.log2(f_max / GRID_MIN_HZ))) + 1
    return GRID_MIN_HZ * 2.0 ** (np.arange(num) / points_per_octave)


def third_octave_centres_hz(sample_rate: float) -> np.ndarray:
    """Base-2 third-octave centres ``1000·2^(k/3)`` Hz from 20 Hz up to 20 kHz whose upper edge is below Nyquist."""
    centres = 1000.0 * 2.0 ** (np.arange(-17, 14) / 3)
    return centres[centres * 2 ** (1 / 6) < sample_rate / 2]


def smoothed_spectrum_db(audio: np.ndarray, sample_rate: float, fraction: float = SMOOTHING_FRACTION,
                         points_per_octave: int = 12, n_fft: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Long-term spectrum smoothed over ``1/fraction``-octave bands on :func:`log_grid_hz`.

    ``n_fft`` defaults to :func:`long_term_n_fft`. Returns ``(grid_hz, level_db)``, both ``(points,)``.
    """
    if n_fft is None:
        n_fft = long_term_n_fft(sample_rate, np.shape(audio)[-1])
    freqs, level = long_term_spectrum_db(audio, sample_rate, n_fft)
    grid = log_grid_hz(sample_rate, points_per_octave)
    return grid, band_levels_db(freqs, level, grid, fraction)


# --- loudness (ITU-R BS.1770-4) -----------------------------------------------------------------------
# K-weighting as pyloudnorm's "K-weighting" meter builds it at any rate: a +4 dB RBJ high shelf at 1500 Hz
# (Q 1/sqrt 2), then an RBJ high pass at 38 Hz (Q 0.5).
K_SHELF_GAIN_DB, K_SHELF_HZ, K_SHELF_Q = 4.0, 1500.0, 1 / math.sqrt(2)
K_HIGHPASS_HZ, K_HIGHPASS_Q = 38.0, 0.5
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs
GATE_BLOCK_S, GATE_STEP_S, ABSOLUTE_GATE_LUFS, RELATIVE_GATE_LU = 0.4, 0.1, -70.0, -10.0


def k_weighting_ba(sample_rate: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting stages at ``sample_rate`` Hz as ``(b, a)`` pairs, each ``(3,)`` with ``a[0] == 1``
    (RBJ Audio EQ Cookbook high shelf and high pass)."""
    amp = 10 ** (K_SHELF_GAIN_DB / 40)
    w0 = 2 * math.pi * K_SHELF_HZ / sample_rate
    cos_w0, shelf = math.cos(w0), 2 * math.sqrt(amp) * math.sin(w0) / (2 * K_SHELF_Q)
    shelf_b = amp * np.array([(amp + 1) + (amp - 1) * cos_w0 + shelf, -2 * ((amp - 1) + (amp + 1) * cos_w0),
                              (amp + 1) + (amp - 1) * cos_w0 - shelf])
    shelf_a = np.array([(amp + 1) - (amp - 1) * cos_w0 + shelf, 2 * ((amp - 1) - (amp + 1) * cos_w0),
                        (amp + 1) - (amp - 1) * cos_w0 - shelf])
    w0 = 2 * math.pi * K_HIGHPASS_HZ / sample_rate
    cos_w0, alpha = math.cos(w0), math.sin(w0) / (2 * K_HIGHPASS_Q)
    pass_b = np.array([(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2])
    pass_a = np.array([1 + alpha, -2 * cos_w0, 1 - alpha])
    return [(shelf_b / shelf_a[0], shelf_a / shelf_a[0]), (pass_b / pass_a[0], pass_a / pass_a[0])]


class LoudnessMeter:
    """Integrated loudness (LUFS, ITU-R BS.1770-4, gated as pyloudnorm does) and sample peak of audio
    fed block by block ``(channels, time)``, in bounded memory (one energy value per 100 ms)."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self._stages = [BlockedBiquad(b, a) for b, a in k_weighting_ba(sample_rate)]
        self._states = [np.zeros((channels, 2)) for _ in self._stages]
        self._weights = np.array([CHANNEL_WEIGHTS[c] if c < len(CHANNEL_WEIGHTS) else 1.0 for c in range(channels)])
        self._energy = np.zeros(0)  # channel-weighted sum of squares per 100-ms step
        self._frames = 0
        self.peak = 0.0

    def add(self, block: np.ndarray) -> None:
        """Add ``(channels, time)`` samples."""
        x = np.asarray(block, dtype=np.float64)
        if x.shape[1] == 0:
            return
        self.peak = max(self.peak, float(np.max(np.abs(x))))
        for i, stage in enumerate(self._stages):
            x, self._states[i] = stage(x, self._states[i])
        steps_per_s = round(1 / GATE_STEP_S)
        index = (np.arange(self._frames, self._frames + x.shape[1]) * steps_per_s) // self.sample_rate
        if index[-1] >= len(self._energy):
            self._energy = np.concatenate([self._energy, np.zeros(index[-1] + 1 - len(self._energy))])
        self._energy += np.bincount(index, weights=self._weights @ (x * x), minlength=len(self._energy))
        self._frames += x.shape[1]

    def integrated_lufs(self) -> float:
        """Gated integrated loudness in LUFS: NaN below one 0.4-s block, -inf for digital silence."""
        duration_s = self._frames / self.sample_rate
        if duration_s < GATE_BLOCK_S:
            return float("nan")
        num_blocks = int(np.round((duration_s - GATE_BLOCK_S) / GATE_STEP_S)) + 1
        per_block = int(round(GATE_BLOCK_S / GATE_STEP_S))
        padded = np.concatenate([self._energy, np.zeros(per_block)])
        z = np.array([padded[j:j + per_block].sum() for j in range(num_blocks)]) / (GATE_BLOCK_S * self.sample_rate)
        with np.errstate(divide="ignore"):
            level = -0.691 + 10 * np.log10(z)
            gated = z[level >= ABSOLUTE_GATE_LUFS]
            if gated.size == 0:
                return float("-inf")
            relative = -0.691 + 10 * np.log10(gated.mean()) + RELATIVE_GATE_LU
            final = z[(level > relative) & (level > ABSOLUTE_GATE_LUFS)]
            return float(-0.691 + 10 * np.log10(final.mean() if final.size else 0.0))


def loudness_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4, LUFS) of ``(channels, time)`` or ``(time,)`` audio (see
    :class:`LoudnessMeter`)."""
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    meter = LoudnessMeter(sample_rate, x.shape[0])
    meter.add(x)
    return meter.integrated_lufs()
