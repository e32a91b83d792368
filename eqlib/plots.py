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


def plot_level_removal(freqs_hz: np.ndarray, diff_db: np.ndarray, ax: plt.Axes | None = None) -> plt.Axes:
    """The difference ``diff_db`` ``(freqs,)`` of a predicted and a true response (dB) at ``freqs_hz`` (Hz), its mean
    over the grid (the level, dashed) and, shaded, ``|diff − mean|``: the quantity the level-free error averages."""
    ax = ax or plt.gca()
    d = np.asarray(diff_db, dtype=np.float64)
    level = float(d.mean())
    ax.plot(freqs_hz, d, color="#d62728", lw=1.8, label="predicted − ideal, d(f)")
    ax.axhline(level, color="0.3", lw=1.2, ls="--", label=f"mean of d(f): the level, {level:+.2f} dB")
    ax.fill_between(freqs_hz, level, d, color="#d62728", alpha=0.18, lw=0,
                    label=f"|d − mean|: averages to {np.abs(d - level).mean():.2f} dB")
    format_freq_axis(ax)
    ax.set_ylabel("difference (dB)")
    ax.legend(loc="best", fontsize="small")
    return ax


def save_figure(fig: plt.Figure, name: str, formats: tuple[str, ...] = ("png",),
                directory: Path | None = None) -> list[Path]:
    """Save ``fig`` as ``<directory>/<name>.<fmt>`` (default ``figures/``) for each format, with
    deterministic metadata; return the paths."""
    paths = []
    directory = figures_dir() if directory is None else Path(directory)
    for fmt in formats:
        path = directory / f"{name}.{fmt}"
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
    return _draw_spectrogram(ax, times_s, freqs_hz, power, sample_rate, db_range, colorbar=True)


def plot_latent(vector: np.ndarray, ax: plt.Axes | None = None, title: str | None = None,
                colour: str = "#1f77b4") -> plt.Axes:
    """A latent vector ``(dim,)`` as a stem-like strip: one vertical line per element (value vs index)."""
    ax = ax or plt.gca()
    v = np.asarray(vector, dtype=np.float64).ravel()
    ax.vlines(np.arange(len(v)), 0.0, v, color=colour, lw=0.6)
    ax.axhline(0.0, color="0.3", lw=0.6)
    ax.set_xlim(-0.5, len(v) - 0.5)
    ax.set_xlabel("latent element")
    ax.set_ylabel("value")
    if title:
        ax.set_title(title)
    return ax


def plot_latent_map(vector: np.ndarray, channels: int, ax: plt.Axes | None = None, title: str | None = None,
                    symmetric: bool = False) -> plt.Axes:
    """A latent ``(channels * rows,)``, stored channel by channel, as an image: channels up, mel rows (low to high
    frequency) across. ``symmetric`` centres the colour scale on 0 (for signed latents such as differences)."""
    ax = ax or plt.gca()
    v = np.asarray(vector, dtype=np.float64).ravel()
    if v.size % channels:
        raise ValueError(f"a latent of {v.size} elements is not {channels} channels of equal length")
    grid = v.reshape(channels, -1)
    limit = float(np.abs(grid).max()) or 1.0
    image = ax.imshow(grid, aspect="auto", origin="lower", interpolation="nearest",
                      cmap="RdBu_r" if symmetric else "magma", vmin=-limit if symmetric else 0.0, vmax=limit)
    ax.figure.colorbar(image, ax=ax, label="value")
    ax.set_xlabel("mel row (low → high frequency)")
    ax.set_ylabel("channel")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def plot_error_distribution(errors: dict[str, np.ndarray], ax: plt.Axes | None = None,
                            label: str = "response error (dB)") -> plt.Axes:
    """One box (median, quartiles, 1.5 IQR whiskers) plus the individual points per system, side by side."""
    ax = ax or plt.gca()
    names = list(errors)
    values = [np.asarray(errors[n], dtype=np.float64).ravel() for n in names]
    ax.boxplot(values, orientation="horizontal", widths=0.6, showfliers=False, medianprops=dict(color="#d62728", lw=1.8))
    jitter = np.random.default_rng(0)  # fixed jitter: identical pictures on every run
    for i, v in enumerate(values, start=1):
        ax.scatter(v, i + jitter.uniform(-0.18, 0.18, len(v)), s=6, color="0.25", alpha=0.45, lw=0)
    ax.set_yticks(range(1, len(names) + 1), names)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    return ax


def plot_long_term_spectra(recordings: dict[str, np.ndarray], sample_rate: int, ax: plt.Axes | None = None,
                           fraction: float = 6.0, styles: dict[str, dict] | None = None) -> plt.Axes:
    """Long-term spectra (1/``fraction``-octave smoothed, dB) of mono recordings ``(time,)``, one curve each.

    Levels are relative: each curve is shifted so its mean over 100 Hz–10 kHz is 0 dB, which shows the
    spectral shape (the EQ style) independent of loudness.
    """
    from eqlib.spectrum import smoothed_spectrum_db

    ax = ax or plt.gca()
    for label, audio in recordings.items():
        grid, level = smoothed_spectrum_db(audio, sample_rate, fraction)
        band = (grid >= 100.0) & (grid <= 10000.0)
        ax.plot(grid, level - level[band].mean(), label=label, **(styles or {}).get(label, {}))
    format_freq_axis(ax)
    ax.set_ylabel("relative level (dB)")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_parameter_histograms(params: np.ndarray, spec=None, axes: np.ndarray | None = None,
                              bins: int = 30) -> np.ndarray:
    """Histograms of physical EQ parameters ``(draws, bands, 3)``: one row per band, one column per knob.

    Frequency and Q (the spec's log-scale knobs) get log-spaced bins on a log x axis, so a
    log-uniform draw looks flat. ``spec`` defaults to ``eqlib.eq.DEFAULT_EQ``.
    """
    from matplotlib.ticker import LogLocator

    from eqlib.eq import DEFAULT_EQ

    spec = spec or DEFAULT_EQ
    params = np.asarray(params, dtype=np.float64).reshape(-1, spec.num_bands, 3)
    if axes is None:
        _, axes = plt.subplots(spec.num_bands, 3, figsize=(10, 2.1 * spec.num_bands), constrained_layout=True)
    axes = np.asarray(axes).reshape(spec.num_bands, 3)
    for i, band in enumerate(spec.bands):
        for j, knob in enumerate(band.params):
            ax = axes[i, j]
            edges = (np.geomspace(knob.minimum, knob.maximum, bins + 1) if knob.log_scale
                     else np.linspace(knob.minimum, knob.maximum, bins + 1))
            ax.hist(params[:, i, j], bins=edges, color=BAND_COLOURS[i % len(BAND_COLOURS)], alpha=0.8)
            if knob.log_scale:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"))
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(knob.label)
            ax.set_ylabel("draws" if j == 0 else "")
            ax.set_title(f"{band.label} · {knob.name}", fontsize="small")
    return axes


def plot_third_octave_ltas(centres_hz: np.ndarray, levels_db: dict[str, np.ndarray], ax: plt.Axes | None = None,
                           styles: dict[str, dict] | None = None,
                           spread: dict[str, np.ndarray] | None = None) -> plt.Axes:
    """One-third-octave long-term spectra, each shifted to a 0 dB mean over its bands (spectral shape only).

    Args:
        centres_hz: band centres in Hz ``(bands,)``.
        levels_db: label → band levels in dB, ``(bands,)`` for one curve or ``(items, bands)`` for many
            (drawn as the mean with a 10–90 % band, each item shifted alone).
        styles: optional matplotlib keyword arguments per label.
        spread: optional label → ``(items, bands)`` levels (dB) whose 10–90 % range, each item shifted
            alone, is shaded in the colour of that label's curve.
    """
    ax = ax or plt.gca()
    for label, levels in levels_db.items():
        rel = _shape_db(levels)
        line, = ax.plot(centres_hz, rel.mean(axis=0), marker="o", ms=3,
                        label=label if len(rel) == 1 else f"{label} (mean of {len(rel)})", **(styles or {}).get(label, {}))
        items = rel if len(rel) > 1 else (_shape_db(spread[label]) if spread and label in spread else None)
        if items is not None:
            lo, hi = np.percentile(items, [10, 90], axis=0)
            ax.fill_between(centres_hz, lo, hi, color=line.get_color(), alpha=0.2, lw=0,
                            label=f"{label} 10–90 %" if len(rel) > 1 else "10–90 % of single recordings")
    format_freq_axis(ax)
    ax.set_ylabel("one-third-octave band level re mean (dB)")
    ax.legend(loc="best", fontsize="small")
    return ax


def _shape_db(levels_db: np.ndarray) -> np.ndarray:
    """Band levels ``(bands,)`` or ``(items, bands)`` (dB) as ``(items, bands)``, each row re its mean."""
    rel = np.atleast_2d(np.asarray(levels_db, dtype=np.float64))
    return rel - rel.mean(axis=1, keepdims=True)


def plot_power_spectrogram(power: np.ndarray, sample_rate: int, hop_length: int, ax: plt.Axes | None = None,
                           db_range: tuple[float, float] = (-110.0, -20.0), colorbar: bool = True) -> plt.Axes:
    """An STFT power spectrogram ``(bins, frames)`` (linear power, e.g. a training pair) in dB on a log-Hz axis."""
    ax = ax or plt.gca()
    power = np.asarray(power, dtype=np.float64)
    freqs_hz = np.linspace(0.0, sample_rate / 2, power.shape[0])
    times_s = np.arange(power.shape[1]) * hop_length / sample_rate
    return _draw_spectrogram(ax, times_s, freqs_hz, power, sample_rate, db_range, colorbar)


def plot_mel_power(mel_power: np.ndarray, centres_hz: np.ndarray, sample_rate: int, hop_length: int,
                   ax: plt.Axes | None = None, db_range: tuple[float, float] = (-110.0, -20.0),
                   colorbar: bool = True) -> plt.Axes:
    """A mel power spectrogram ``(mels, frames)`` (linear power, what a model's front end computes) in dB, each
    band drawn at its centre frequency ``centres_hz`` ``(mels,)`` on a log-Hz axis."""
    ax = ax or plt.gca()
    times_s = np.arange(np.shape(mel_power)[1]) * hop_length / sample_rate
    return _draw_spectrogram(ax, times_s, np.asarray(centres_hz, dtype=np.float64),
                             np.asarray(mel_power, dtype=np.float64), sample_rate, db_range, colorbar)


def plot_mel_filterbank(filterbank: np.ndarray, freqs_hz: np.ndarray, ax: plt.Axes | None = None,
                        every: int = 1) -> plt.Axes:
    """Triangular mel filters ``(mels, bins)`` against the bin frequencies ``freqs_hz`` ``(bins,)`` (Hz, log axis);
    every ``every``-th band is drawn, alternating two colours so that neighbours can be told apart."""
    ax = ax or plt.gca()
    fb = np.asarray(filterbank, dtype=np.float64)
    keep = np.asarray(freqs_hz) >= FREQ_MIN_HZ
    for i in range(0, len(fb), every):
        ax.plot(np.asarray(freqs_hz)[keep], fb[i, keep], color=BAND_COLOURS[(i // every) % 2], lw=1.0)
    format_freq_axis(ax)
    ax.set_ylabel("filter weight")
    ax.set_title(f"{len(fb)} mel filters" + (f" (every {every}th drawn)" if every > 1 else ""))
    return ax


def _draw_spectrogram(ax: plt.Axes, times_s: np.ndarray, freqs_hz: np.ndarray, power: np.ndarray, sample_rate: int,
                      db_range: tuple[float, float], colorbar: bool) -> plt.Axes:
    """Power ``(freqs, frames)`` in dB as a mesh on a log-Hz axis from 20 Hz."""
    keep = freqs_hz >= FREQ_MIN_HZ
    mesh = ax.pcolormesh(times_s, freqs_hz[keep], 10 * np.log10(power[keep] + 1e-20), shading="auto", cmap="magma",
                         vmin=db_range[0], vmax=db_range[1], rasterized=True)
    ax.set_yscale("log")
    ax.set_ylim(FREQ_MIN_HZ, min(FREQ_MAX_HZ, sample_rate / 2))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda f, _: f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="power (dB)")
    ax.grid(False)
    return ax


def read_metrics_csv(path: str | Path) -> dict[str, np.ndarray]:
    """A training log ``metrics.csv`` (``eqlib.train``) as column name → float array (empty cells → NaN)."""
    import csv

    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no rows in training log")
    return {k: np.array([float(r[k]) if r.get(k) not in (None, "") else np.nan for r in rows]) for k in rows[0]}


def plot_training_curves(metrics_by_model: dict[str, dict | str | Path], ax: plt.Axes | None = None,
                         metric: str = "response_db") -> plt.Axes:
    """Training (dashed) and validation (solid) curves of ``train_<metric>`` / ``val_<metric>`` against step.

    Args:
        metrics_by_model: model name → a ``metrics.csv`` path or a dict of columns (``step`` and the metrics).
        metric: column suffix; ``"response_db"`` is the mean absolute response error in dB.
    """
    ax = ax or plt.gca()
    for i, (name, log) in enumerate(metrics_by_model.items()):
        cols = read_metrics_csv(log) if isinstance(log, (str, Path)) else {k: np.asarray(v, float) for k, v in log.items()}
        colour = f"C{i}"
        if f"train_{metric}" in cols:
            ax.plot(cols["step"], cols[f"train_{metric}"], color=colour, ls="--", lw=1.2, label=f"{name} train")
        if f"val_{metric}" in cols:
            ax.plot(cols["step"], cols[f"val_{metric}"], color=colour, lw=2.0, marker="o", ms=3, label=f"{name} validation")
    ax.set_xlabel("training step")
    ax.set_ylabel("response error (dB)" if metric == "response_db" else metric)
    ax.legend(loc="best", fontsize="small")
    return ax
