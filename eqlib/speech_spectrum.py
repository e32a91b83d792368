"""Published long-term average speech spectra and third-octave band levels to compare against them.

Two tables:

* Byrne et al. (1994), "An international comparison of long-term average speech spectra",
  J. Acoust. Soc. Am. 96(4), 2108-2120, doi:10.1121/1.410152: the "universal" LTASS (male and
  female talkers of 12 languages averaged), one-third-octave band levels in dB SPL for an overall
  level of 70 dB SPL, 63 Hz - 16 kHz. The 25 values sum to 70.0 dB SPL (checked in the tests); the
  same values appear, e.g., in openMHA's ``LTASS_speech_level_in_frequency_bands`` tests.
* ANSI S3.5-1997, *Methods for Calculation of the Speech Intelligibility
Index*, Table 3 ("One-third octave band SII procedure"), column "Standard speech spectrum level
for stated vocal effort: normal": spectrum levels (dB SPL per Hz) of speech at normal vocal effort
(overall 62.35 dB SPL) in the 18 one-third-octave bands 160 Hz - 8 kHz. The same table is
shipped, e.g., as ``onethird$normal`` in the R package ``SII`` (Warnes, CRAN); its 18 band levels
sum to the 62.35 dB SPL the standard states for normal effort (checked in the tests).

Spectrum levels become band levels by adding ``10 log10(bandwidth_hz)`` with the exact base-2
third-octave bandwidth ``fc (2^(1/6) - 2^(-1/6))``.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

#: Centre frequencies of ANSI S3.5-1997 Table 3, Hz ``(18,)``.
ANSI_S35_CENTRES_HZ: np.ndarray = np.array(
    [160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000],
    dtype=np.float64,
)

#: ANSI S3.5-1997 Table 3 standard speech spectrum level, normal vocal effort, dB SPL per Hz ``(18,)``.
ANSI_S35_NORMAL_SPECTRUM_LEVEL_DB: np.ndarray = np.array(
    [32.41, 34.48, 34.75, 33.98, 34.59, 34.27, 32.06, 28.30, 25.01, 23.00,
     20.15, 17.32, 13.18, 11.55, 9.33, 5.31, 2.59, 1.13],
    dtype=np.float64,
)

#: Centre frequencies of the Byrne et al. (1994) universal LTASS, Hz ``(25,)``.
BYRNE_1994_CENTRES_HZ: np.ndarray = np.array(
    [63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000,
     6300, 8000, 10000, 12500, 16000],
    dtype=np.float64,
)

#: Byrne et al. (1994) universal LTASS, one-third-octave band levels, dB SPL at 70 dB SPL overall ``(25,)``.
BYRNE_1994_BAND_LEVELS_DB: np.ndarray = np.array(
    [38.6, 43.5, 54.4, 57.7, 56.8, 60.2, 60.3, 59.0, 62.1, 62.1, 60.5, 56.8, 53.7, 53.0, 52.0, 48.7, 48.1, 46.8,
     45.6, 44.5, 44.3, 43.7, 43.4, 41.3, 40.7],
    dtype=np.float64,
)

_THIRD_OCTAVE_HALF = 2.0 ** (1.0 / 6.0)


def third_octave_bandwidth_hz(centres_hz: np.ndarray) -> np.ndarray:
    """Exact base-2 one-third-octave bandwidth in Hz of each centre frequency ``(bands,)``."""
    centres_hz = np.asarray(centres_hz, dtype=np.float64)
    return centres_hz * (_THIRD_OCTAVE_HALF - 1.0 / _THIRD_OCTAVE_HALF)


def byrne_band_levels_db(low_hz: float = 100.0, high_hz: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    """The Byrne et al. (1994) universal LTASS between ``low_hz`` and ``high_hz``: centres (Hz), band levels (dB SPL)."""
    keep = (BYRNE_1994_CENTRES_HZ >= low_hz) & (BYRNE_1994_CENTRES_HZ <= high_hz)
    if not keep.any():
        raise ValueError(f"byrne_band_levels_db: no band between {low_hz:g} and {high_hz:g} Hz")
    return BYRNE_1994_CENTRES_HZ[keep], BYRNE_1994_BAND_LEVELS_DB[keep]


def ansi_normal_band_levels_db() -> np.ndarray:
    """ANSI S3.5-1997 normal-effort speech as one-third-octave *band* levels, dB SPL ``(18,)``."""
    return ANSI_S35_NORMAL_SPECTRUM_LEVEL_DB + 10.0 * np.log10(third_octave_bandwidth_hz(ANSI_S35_CENTRES_HZ))


def third_octave_levels_db(audio: np.ndarray, sample_rate: int, centres_hz: np.ndarray,
                           nperseg: int = 8192) -> np.ndarray:
    """Long-term power in one-third-octave bands, dB re full scale.

    Args:
        audio: ``(time,)`` or ``(batch, time)`` samples; a batch is pooled (mean power over items).
        sample_rate: Hz.
        centres_hz: band centres in Hz ``(bands,)``; each band spans ``fc 2^(-1/6)`` to ``fc 2^(1/6)``.
        nperseg: Welch segment length in samples (resolution ``sample_rate / nperseg`` Hz).

    Returns:
        Band power in dB ``(bands,)`` (10 log10 of the PSD integrated over the band).
    """
    x = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    if x.shape[-1] < 16:
        raise ValueError(f"third_octave_levels_db: need at least 16 samples, got {x.shape[-1]}")
    centres_hz = np.asarray(centres_hz, dtype=np.float64)
    if np.any(centres_hz * _THIRD_OCTAVE_HALF > sample_rate / 2):
        raise ValueError(f"third_octave_levels_db: a band above {centres_hz.max():g} Hz exceeds Nyquist "
                         f"({sample_rate / 2:g} Hz)")
    freqs, psd = welch(x, fs=sample_rate, nperseg=min(nperseg, x.shape[-1]), axis=-1)
    psd = psd.mean(axis=0)
    df = freqs[1] - freqs[0]
    # Integrate the PSD over the exact band edges, counting edge bins by their overlap.
    lo_edge = np.maximum(freqs - df / 2, 0.0)
    hi_edge = freqs + df / 2
    band_lo = centres_hz[:, None] / _THIRD_OCTAVE_HALF
    band_hi = centres_hz[:, None] * _THIRD_OCTAVE_HALF
    overlap = np.clip(np.minimum(hi_edge, band_hi) - np.maximum(lo_edge, band_lo), 0.0, None)
    power = overlap @ psd
    return 10.0 * np.log10(np.maximum(power, 1e-30))


def pooled_ltas_db(levels_db: np.ndarray) -> np.ndarray:
    """Pooled long-term spectrum ``(bands,)`` of per-recording band levels ``(recordings, bands)`` (dB): each
    recording re its total power in the bands, then the mean power over recordings (every talker weighs alike)."""
    levels_db = np.atleast_2d(np.asarray(levels_db, dtype=np.float64))
    relative = levels_db - 10 * np.log10(np.sum(10 ** (levels_db / 10), axis=-1, keepdims=True))
    return 10 * np.log10(np.mean(10 ** (relative / 10), axis=0))
