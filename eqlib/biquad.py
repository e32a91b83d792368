"""Second-order IIR sections (biquads) from the RBJ Audio-EQ-Cookbook, batched in torch.

Coefficients follow R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
coefficients" (W3C Audio EQ Cookbook note). Every function is a pure function of tensors,
differentiable with respect to gain, frequency and Q, and works on any device. Numpy
arrays are accepted too; then numpy arrays come back.

A section is stored as six numbers ``(b0, b1, b2, a0, a1, a2)`` normalised so that
``a0 == 1``: the layout of ``scipy.signal.sosfilt``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.signal
import torch

BIQUAD_KINDS = ("low_shelf", "peak", "high_shelf", "lowpass", "highpass")

ArrayLike = torch.Tensor | np.ndarray | float


def _as_tensor(x: ArrayLike, like: torch.Tensor | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    dtype = like.dtype if like is not None else torch.float64
    device = like.device if like is not None else None
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)


def check_below_nyquist(freq_hz: torch.Tensor, sample_rate: float) -> None:
    """Raise ``ValueError`` if any frequency (Hz) is not strictly inside (0, sample_rate / 2)."""
    nyquist = sample_rate / 2
    if bool(((freq_hz <= 0) | (freq_hz >= nyquist)).any()):
        bad = float(freq_hz.detach().flatten()[((freq_hz <= 0) | (freq_hz >= nyquist)).flatten()][0])
        raise ValueError(
            f"filter frequency {bad:.1f} Hz is outside (0, {nyquist:.1f}) Hz, the open band below "
            f"Nyquist at sample rate {sample_rate:g} Hz"
        )


def _normalise(b0, b1, b2, a0, a1, a2) -> torch.Tensor:
    return torch.stack([b0 / a0, b1 / a0, b2 / a0, torch.ones_like(a0), a1 / a0, a2 / a0], dim=-1)


def _peak(amp, cos_w0, alpha):
    return _normalise(1 + alpha * amp, -2 * cos_w0, 1 - alpha * amp, 1 + alpha / amp, -2 * cos_w0, 1 - alpha / amp)


def _low_shelf(amp, cos_w0, alpha):
    two_sqrt_a_alpha = 2 * torch.sqrt(amp) * alpha
    return _normalise(
        amp * ((amp + 1) - (amp - 1) * cos_w0 + two_sqrt_a_alpha),
        2 * amp * ((amp - 1) - (amp + 1) * cos_w0),
        amp * ((amp + 1) - (amp - 1) * cos_w0 - two_sqrt_a_alpha),
        (amp + 1) + (amp - 1) * cos_w0 + two_sqrt_a_alpha,
        -2 * ((amp - 1) + (amp + 1) * cos_w0),
        (amp + 1) + (amp - 1) * cos_w0 - two_sqrt_a_alpha,
    )


def _high_shelf(amp, cos_w0, alpha):
    two_sqrt_a_alpha = 2 * torch.sqrt(amp) * alpha
    return _normalise(
        amp * ((amp + 1) + (amp - 1) * cos_w0 + two_sqrt_a_alpha),
        -2 * amp * ((amp - 1) + (amp + 1) * cos_w0),
        amp * ((amp + 1) + (amp - 1) * cos_w0 - two_sqrt_a_alpha),
        (amp + 1) - (amp - 1) * cos_w0 + two_sqrt_a_alpha,
        2 * ((amp - 1) - (amp + 1) * cos_w0),
        (amp + 1) - (amp - 1) * cos_w0 - two_sqrt_a_alpha,
    )


def _lowpass(amp, cos_w0, alpha):
    return _normalise((1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2, 1 + alpha, -2 * cos_w0, 1 - alpha)


def _highpass(amp, cos_w0, alpha):
    return _normalise((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2, 1 + alpha, -2 * cos_w0, 1 - alpha)


_FORMULAE: dict[str, Callable[..., torch.Tensor]] = {
    "low_shelf": _low_shelf,
    "peak": _peak,
    "high_shelf": _high_shelf,
    "lowpass": _lowpass,
    "highpass": _highpass,
}


def biquad_sos(
    kind: str, gain_db: ArrayLike, freq_hz: ArrayLike, q: ArrayLike, sample_rate: float
) -> torch.Tensor | np.ndarray:
    """Cookbook coefficients of one biquad kind.

    Args:
        kind: one of ``BIQUAD_KINDS``.
        gain_db: gain in dB, any shape (ignored by lowpass/highpass).
        freq_hz: centre or corner frequency in Hz, broadcastable with ``gain_db``.
        q: quality factor (> 0), broadcastable with ``gain_db``.
        sample_rate: sampling rate in Hz.

    Returns:
        Normalised sections of shape ``(..., 6)``; numpy if every input was numpy/float.
    """
    if kind not in _FORMULAE:
        raise ValueError(f"unknown biquad kind {kind!r}; expected one of {BIQUAD_KINDS}")
    to_numpy = not any(isinstance(x, torch.Tensor) for x in (gain_db, freq_hz, q))
    like = next((x for x in (gain_db, freq_hz, q) if isinstance(x, torch.Tensor)), None)
    gain_db, freq_hz, q = (_as_tensor(x, like) for x in (gain_db, freq_hz, q))
    gain_db, freq_hz, q = torch.broadcast_tensors(gain_db, freq_hz, q)
    check_below_nyquist(freq_hz, sample_rate)
    if bool((q <= 0).any()):
        raise ValueError("Q must be positive")
    amp = torch.pow(10.0, gain_db / 40)
    w0 = 2 * math.pi * freq_hz / sample_rate
    alpha = torch.sin(w0) / (2 * q)
    sos = _FORMULAE[kind](amp, torch.cos(w0), alpha)
    return sos.detach().cpu().numpy() if to_numpy else sos


def bands_sos(
    kinds: tuple[str, ...], params: torch.Tensor | np.ndarray, sample_rate: float
) -> torch.Tensor | np.ndarray:
    """Sections for a cascade of bands.

    Args:
        kinds: band kinds, one per band (e.g. the 4-band EQ's kinds).
        params: physical parameters ``(..., bands, 3)`` as (gain dB, frequency Hz, Q).
        sample_rate: sampling rate in Hz.

    Returns:
        ``(..., bands, 6)`` normalised sections (numpy in, numpy out).
    """
    to_numpy = not isinstance(params, torch.Tensor)
    p = _as_tensor(params)
    if p.shape[-2:] != (len(kinds), 3):
        raise ValueError(f"params must have shape (..., {len(kinds)}, 3), got {tuple(p.shape)}")
    sos = torch.stack(
        [biquad_sos(kind, p[..., i, 0], p[..., i, 1], p[..., i, 2], sample_rate) for i, kind in enumerate(kinds)],
        dim=-2,
    )
    return sos.detach().cpu().numpy() if to_numpy else sos


def sos_response(sos: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Complex frequency response of each section.

    Args:
        sos: sections ``(..., sections, 6)``.
        freqs_hz: evaluation frequencies in Hz, shape ``(freqs,)``.
        sample_rate: sampling rate in Hz.

    Returns:
        Complex tensor ``(..., sections, freqs)``.
    """
    sos = _as_tensor(sos)
    w = 2 * math.pi * _as_tensor(freqs_hz, sos) / sample_rate
    z1 = torch.polar(torch.ones_like(w), -w)  # z^-1 on the unit circle
    z2 = z1 * z1
    num = sos[..., 0:1] + sos[..., 1:2] * z1 + sos[..., 2:3] * z2
    den = sos[..., 3:4] + sos[..., 4:5] * z1 + sos[..., 5:6] * z2
    return num / den


def sos_power(sos: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Squared magnitude response |H(f)|² of each section, in real arithmetic.

    Shapes as in :func:`sos_response`; returns a real tensor ``(..., sections, freqs)``.
    """
    sos = _as_tensor(sos)
    w = 2 * math.pi * _as_tensor(freqs_hz, sos) / sample_rate
    cos1, sin1, cos2, sin2 = torch.cos(w), torch.sin(w), torch.cos(2 * w), torch.sin(2 * w)

    def power(c0, c1, c2):
        re = c0 + c1 * cos1 + c2 * cos2
        im = c1 * sin1 + c2 * sin2
        return re * re + im * im

    return power(sos[..., 0:1], sos[..., 1:2], sos[..., 2:3]) / power(sos[..., 3:4], sos[..., 4:5], sos[..., 5:6])


def sos_response_db(sos: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Magnitude response in dB of each section: ``(..., sections, freqs)``."""
    return 10 * torch.log10(sos_power(sos, freqs_hz, sample_rate))


def cascade_response_db(sos: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Magnitude response in dB of a cascade of sections ``(..., sections, 6)`` → ``(..., freqs)``."""
    return sos_response_db(sos, freqs_hz, sample_rate).sum(dim=-2)


def poles(sos: torch.Tensor) -> torch.Tensor:
    """Complex poles of each section: ``(..., sections, 2)``."""
    sos = _as_tensor(sos)
    a0, a1, a2 = sos[..., 3], sos[..., 4], sos[..., 5]
    disc = torch.sqrt((a1 * a1 - 4 * a0 * a2).to(torch.complex128))
    return torch.stack([(-a1 + disc) / (2 * a0), (-a1 - disc) / (2 * a0)], dim=-1)


def zeros(sos: torch.Tensor) -> torch.Tensor:
    """Complex zeros of each section: ``(..., sections, 2)``."""
    sos = _as_tensor(sos)
    b0, b1, b2 = sos[..., 0], sos[..., 1], sos[..., 2]
    disc = torch.sqrt((b1 * b1 - 4 * b0 * b2).to(torch.complex128))
    return torch.stack([(-b1 + disc) / (2 * b0), (-b1 - disc) / (2 * b0)], dim=-1)


def is_stable(sos: torch.Tensor) -> torch.Tensor:
    """True where both poles of a section lie strictly inside the unit circle: ``(..., sections)``.

    Uses the stability triangle of a monic quadratic: ``|a2| < 1`` and ``|a1| < 1 + a2``.
    """
    sos = _as_tensor(sos)
    a1, a2 = sos[..., 4] / sos[..., 3], sos[..., 5] / sos[..., 3]
    return (a2.abs() < 1) & (a1.abs() < 1 + a2)


def sosfilt_exact(sos: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """Filter audio through a cascade exactly, in the time domain (``scipy.signal.sosfilt``).

    Args:
        sos: ``(sections, 6)`` sections.
        audio: ``(..., time)`` samples; filtered along the last axis in float64.

    Returns:
        Filtered audio, same shape, float64.
    """
    return scipy.signal.sosfilt(np.asarray(sos, dtype=np.float64), np.asarray(audio, dtype=np.float64), axis=-1)


DEFAULT_TAIL_SAMPLES = 1 << 15


def sosfilt_fft(sos: torch.Tensor, audio: torch.Tensor, tail_samples: int = DEFAULT_TAIL_SAMPLES) -> torch.Tensor:
    """Filter a batch through per-item cascades by frequency sampling (fast, batched, on device).

    The response is sampled on the FFT grid of the zero-padded signal; the padding of
    ``tail_samples`` (0.74 s at 44.1 kHz by default) holds the decaying IIR tail so that
    circular wrap-around stays below -60 dB for the EQ's parameter ranges (see tests).

    Args:
        sos: ``(batch, sections, 6)`` sections (or ``(sections, 6)`` shared by the batch).
        audio: ``(batch, time)`` samples.
        tail_samples: zero padding in samples.

    Returns:
        ``(batch, time)`` filtered audio, dtype of ``audio``.
    """
    num_samples = audio.shape[-1]
    n_fft = scipy.fft.next_fast_len(num_samples + tail_samples, real=True)
    spectrum = torch.fft.rfft(audio.to(torch.float64), n=n_fft)
    w = torch.linspace(0, math.pi, n_fft // 2 + 1, dtype=torch.float64, device=audio.device)
    sos64 = sos.to(device=audio.device, dtype=torch.float64)
    response = sos_response(sos64, w * (1 / (2 * math.pi)), 1.0).prod(dim=-2)
    return torch.fft.irfft(spectrum * response, n=n_fft)[..., :num_samples].to(audio.dtype)
