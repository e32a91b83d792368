"""Figure helpers: one seaborn theme, log-frequency axes in Hz, dB on y, stable file names.

Every helper takes an optional ``ax``, draws into it and returns it; none shows or saves.
Notebooks call ``plt.show()``; ``save_figure`` writes under ``figures/``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from eqlib.eq import EQSettings
from eqlib.runtime import figures_dir

FREQ_MIN_HZ, FREQ_MAX_HZ = 20.0, 20000.0
PLOT_SAMPLE_RATE = 44100
BAND_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a")
IDEAL_STYLE = dict(color="0.15", lw=2.0, label="ideal")
PREDICTED_STYLE = dict(color="#d62728", lw=1.8, ls="--", label="predicted")

sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9)
matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "svg.hashsalt": "eqlib", "pdf.compression": 6})


def freq_grid(num: int = 512) -> np.ndarray:
    """Log-spaced frequencies from 20 Hz to 20 kHz: ``(num,)``."""
    return np.geomspace(FREQ_MIN_HZ, FREQ_MAX_HZ, num)


def format_freq_axis(ax: plt.Axes) -> plt.Axes:
    """Log x axis 20 Hz–20 kHz with tick labels in Hz/kHz."""
    ax.set_xscale("log")
    ax.set_xlim(FREQ_MIN_HZ, FREQ_MAX_HZ)
    ticks = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda f, _: f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("frequency (Hz)")
    return ax


def plot_response(settings: EQSettings, ax: plt.Axes | None = None, band: int | None = None,
                  sample_rate: int = PLOT_SAMPLE_RATE, **style) -> plt.Axes:
    """Magnitude response (dB) of the whole cascade, or of one band if ``band`` is an index."""
    ax = ax or plt.gca()
    f = freq_grid()
    db = settings.response_db(f, sample_rate) if band is None else settings.band_response_db(f, sample_rate)[band]
    ax.plot(f, db, **style)
    format_freq_axis(ax)
    ax.set_ylabel("magnitude (dB)")
    return ax


def plot_band_grid(ideal: EQSettings, predicted: EQSettings | None = None, axes: np.ndarray | None = None,
                   sample_rate: int = PLOT_SAMPLE_RATE) -> np.ndarray:
    """The paper's 2×2 grid of per-band responses (Low, Mid 1, Mid 2, High), ideal vs predicted."""
    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(9, 5.5), sharex=True, sharey=True, constrained_layout=True)
    for i, (ax, band) in enumerate(zip(np.ravel(axes), ideal.spec.bands)):
        plot_response(ideal, ax, band=i, sample_rate=sample_rate, **IDEAL_STYLE)
        if predicted is not None:
            plot_response(predicted, ax, band=i, sample_rate=sample_rate, **PREDICTED_STYLE)
        ax.set_title(band.label)
        ax.legend(loc="best", fontsize="small")
    return axes


def plot_cascade(ideal: EQSettings, predicted: EQSettings | None = None, ax: plt.Axes | None = None,
                 sample_rate: int = PLOT_SAMPLE_RATE) -> plt.Axes:
    """Cascaded 4-band response, ideal vs predicted, with each ideal band faintly in its colour."""
    ax = ax or plt.gca()
    f = freq_grid()
    for i, band in enumerate(ideal.spec.bands):
        ax.plot(f, ideal.band_response_db(f, sample_rate)[i], color=BAND_COLOURS[i], lw=1, alpha=0.5, label=band.label)
    plot_response(ideal, ax, sample_rate=sample_rate, **IDEAL_STYLE)
    if predicted is not None:
        plot_response(predicted, ax, sample_rate=sample_rate, **PREDICTED_STYLE)
    ax.set_title("cascaded response")
    ax.legend(loc="best", fontsize="small", ncol=2)
    return ax


def save_figure(fig: plt.Figure, name: str, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Save ``fig`` as ``figures/<name>.<fmt>`` for each format (deterministic metadata); return the paths."""
    paths = []
    for fmt in formats:
        path = figures_dir() / f"{name}.{fmt}"
        metadata = {"Software": None} if fmt == "png" else ({"Date": None} if fmt in ("svg", "pdf") else None)
        if fmt == "pdf":
            metadata.update({"Creator": None, "Producer": None, "CreationDate": None})
            metadata.pop("Date")
        fig.savefig(path, format=fmt, metadata=metadata, bbox_inches="tight")
        paths.append(path)
    return paths


def plot_pole_zero(sos: np.ndarray, ax: plt.Axes | None = None, labels: list[str] | None = None) -> plt.Axes:
    """Poles (×) and zeros (○) of each section ``(sections, 6)`` on the z-plane with the unit circle.

    Sections are coloured like the bands (``BAND_COLOURS``); ``labels`` name them in the legend.
    """
    from eqlib.biquad import poles, zeros

    ax = ax or plt.gca()
    sos = np.asarray(sos, dtype=np.float64).reshape(-1, 6)
    theta = np.linspace(0, 2 * np.pi, 512)
    ax.plot(np.cos(theta), np.sin(theta), color="0.5", lw=1, ls=":", label="unit circle")
    p, z = poles(sos).numpy(), zeros(sos).numpy()
    for i in range(len(sos)):
        colour = BAND_COLOURS[i % len(BAND_COLOURS)]
        name = labels[i] if labels else f"section {i}"
        ax.scatter(z[i].real, z[i].imag, marker="o", s=60, facecolors="none", edgecolors=colour, label=f"{name} zeros")
        ax.scatter(p[i].real, p[i].imag, marker="x", s=60, color=colour, label=f"{name} poles")
    ax.set_aspect("equal")
    ax.set_xlabel("real part")
    ax.set_ylabel("imaginary part")
    return ax


def plot_spectrogram(samples: np.ndarray, sample_rate: int, ax: plt.Axes | None = None,
                     db_range: tuple[float, float] = (-110.0, -20.0), n_fft: int = 2048) -> plt.Axes:
    """Power spectrogram (dB re full scale, Hann window) of mono ``(time,)`` samples; log-frequency axis (Hz).

    A fixed ``db_range`` makes before/after spectrograms directly comparable.
    """
    import scipy.signal

    ax = ax or plt.gca()
    freqs_hz, times_s, power = scipy.signal.spectrogram(np.asarray(samples, dtype=np.float64), fs=sample_rate,
                                                        window="hann", nperseg=n_fft, noverlap=3 * n_fft // 4,
                                                        scaling="spectrum")
    keep = freqs_hz >= FREQ_MIN_HZ
    mesh = ax.pcolormesh(times_s, freqs_hz[keep], 10 * np.log10(power[keep] + 1e-20), shading="auto",
                         cmap="magma", vmin=db_range[0], vmax=db_range[1], rasterized=True)
    ax.set_yscale("log")
    ax.set_ylim(FREQ_MIN_HZ, min(FREQ_MAX_HZ, sample_rate / 2))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda f, _: f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.figure.colorbar(mesh, ax=ax, label="power (dB)")
    ax.grid(False)
    return ax
