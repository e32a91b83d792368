"""The procedural music source against real music: pooled one-third-octave long-term spectra and their spread.

- :func:`real_music_levels_db`: band levels of every excerpt of the shared ``music`` corpus (mono mid, 44.1 kHz);
  :func:`reference_music_levels_db`: those, or without the corpus the music examples shipped in ``eqlib/data``;
- :func:`synthetic_music_levels_db`: band levels of synthetic excerpts of the test arrangements;
- :func:`spread_features`: per excerpt, the spectral slope and the levels of the octaves at 100 Hz, 1 kHz, 8 kHz;
- :func:`plot_music_ltas` and :func:`plot_music_spread` (each takes ``ax=None``), :func:`figure_music_ltas`.

Levels are dB re the excerpt's total power in the bands (spectral shape only); pooling weighs every excerpt alike
(:func:`eqlib.speech_spectrum.pooled_ltas_db`), as the speech synthesiser is compared with Byrne et al. (1994).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

from eqlib.music_synth import arrangement_ids, synthesize
from eqlib.plots import format_freq_axis
from eqlib.speech_spectrum import pooled_ltas_db, third_octave_levels_db

SAMPLE_RATE = 44100  # Hz
EXCERPT_S = 3.0  # s, the paper's excerpt length
#: One-third-octave centres 25 Hz - 16 kHz (base 2, 1 kHz reference) ``(29,)``.
MUSIC_CENTRES_HZ: np.ndarray = 1000.0 * 2.0 ** (np.arange(-16, 13) / 3)
#: Edges (Hz) of the third-octave bands 40 Hz - 12.5 kHz (nominal), where the real excerpts hold energy: below
#: 40 Hz few do, and several of lossy origin stop at 11-19 kHz.
COMPARISON_BAND_HZ = (35.4, 14250.0)
SLOPE_BAND_HZ = (100.0, 10000.0)  # the band a spectral slope is fitted over
SPREAD_BANDS_HZ = (100.0, 1000.0, 8000.0)
SYNTHETIC_STYLE = dict(color="#1f77b4")
REAL_STYLE = dict(color="0.15")


def relative_levels_db(levels_db: np.ndarray) -> np.ndarray:
    """Band levels ``(excerpts, bands)`` re each excerpt's total power in the bands (dB)."""
    levels_db = np.atleast_2d(np.asarray(levels_db, dtype=np.float64))
    return levels_db - 10 * np.log10(np.sum(10 ** (levels_db / 10), axis=-1, keepdims=True))


def real_music_levels_db(centres_hz: np.ndarray = MUSIC_CENTRES_HZ) -> np.ndarray:
    """Band levels (dB re full scale) of every excerpt of the shared music corpus, whole files, mono mid resampled
    to 44.1 kHz: ``(excerpts, bands)``. Raises :class:`eqlib.corpus.CorpusError` when the corpus is absent."""
    from eqlib.corpus import SPLITS, real_music

    folder = real_music(progress=False)
    clips = [clip for split in SPLITS for clip in folder.clips(split)]
    return np.stack([third_octave_levels_db(clip.audio, clip.sample_rate, centres_hz) for clip in clips])


def reference_music_levels_db(centres_hz: np.ndarray = MUSIC_CENTRES_HZ) -> tuple[np.ndarray, str]:
    """:func:`real_music_levels_db` and ``"music corpus"``; without the corpus (a fresh clone, CI) the band levels
    of the music examples shipped in ``eqlib/data`` and ``"shipped music examples"``."""
    from eqlib.corpus import CorpusError
    from eqlib.examples import list_examples, load_example

    try:
        return real_music_levels_db(centres_hz), "music corpus"
    except CorpusError:
        clips = [load_example(name) for name in list_examples("music")]
        return (np.stack([third_octave_levels_db(audio, rate, centres_hz) for audio, rate in clips]),
                "shipped music examples")


def synthetic_music_levels_db(split: str = "test", excerpts_per_arrangement: int = 2, duration_s: float = EXCERPT_S,
                              centres_hz: np.ndarray = MUSIC_CENTRES_HZ, seed: int = 0) -> np.ndarray:
    """Band levels (dB re full scale) of ``excerpts_per_arrangement`` excerpts of every arrangement of ``split``,
    content seeds ``seed, seed + 1, …``: ``(excerpts, bands)``."""
    jobs = [(a, seed + k) for k, a in enumerate(arrangement_ids(split) * excerpts_per_arrangement)]
    return np.stack([third_octave_levels_db(synthesize(a, duration_s, s), SAMPLE_RATE, centres_hz)
                     for a, s in tqdm(jobs, desc="synthetic music", unit="excerpt", leave=False)])


def spectral_slope_db_per_oct(levels_db: np.ndarray, centres_hz: np.ndarray = MUSIC_CENTRES_HZ,
                              band_hz: tuple[float, float] = SLOPE_BAND_HZ) -> np.ndarray:
    """Least-squares slope (dB per octave) of each excerpt's band levels over ``band_hz``: ``(excerpts,)``."""
    keep = (centres_hz >= band_hz[0]) & (centres_hz <= band_hz[1])
    octaves = np.log2(centres_hz[keep])
    return np.polyfit(octaves, relative_levels_db(levels_db)[:, keep].T, 1)[0]


def spread_features(levels_db: np.ndarray, centres_hz: np.ndarray = MUSIC_CENTRES_HZ) -> dict[str, np.ndarray]:
    """Per-excerpt features ``(excerpts,)`` by name: the spectral slope (dB/oct) and the levels (dB re total) of
    the octaves centred on ``SPREAD_BANDS_HZ`` (three third-octave bands each: one bass note or drum more or
    less moves a single third-octave band a lot)."""
    power = 10 ** (relative_levels_db(levels_db) / 10)
    features = {"slope 100 Hz-10 kHz (dB/oct)": spectral_slope_db_per_oct(levels_db, centres_hz)}
    for f in SPREAD_BANDS_HZ:
        i = int(np.argmin(np.abs(centres_hz - f)))
        name = f"{f / 1000:g} kHz octave (dB)" if f >= 1000 else f"{f:g} Hz octave (dB)"
        features[name] = 10 * np.log10(power[:, max(i - 1, 0):i + 2].sum(axis=1))
    return features


def pooled_deviation_db(synthetic_db: np.ndarray, real_db: np.ndarray, centres_hz: np.ndarray = MUSIC_CENTRES_HZ,
                        band_hz: tuple[float, float] = COMPARISON_BAND_HZ) -> tuple[np.ndarray, np.ndarray]:
    """Pooled synthetic minus pooled real spectrum over ``band_hz``, each pooled within that band:
    ``(centres Hz, deviation dB)``, both ``(bands,)``."""
    keep = (centres_hz >= band_hz[0]) & (centres_hz <= band_hz[1])
    return centres_hz[keep], pooled_ltas_db(synthetic_db[:, keep]) - pooled_ltas_db(real_db[:, keep])


def plot_music_ltas(synthetic_db: np.ndarray, real_db: np.ndarray, centres_hz: np.ndarray = MUSIC_CENTRES_HZ,
                    ax: plt.Axes | None = None) -> plt.Axes:
    """Pooled spectra of synthetic and real excerpts ``(excerpts, bands)`` (dB re total) with the 10-90 % range of
    single excerpts shaded; the comparison band is left unshaded."""
    ax = ax or plt.gca()
    for name, levels, style in (("synthetic", synthetic_db, SYNTHETIC_STYLE), ("real", real_db, REAL_STYLE)):
        rel = relative_levels_db(levels)
        ax.plot(centres_hz, pooled_ltas_db(levels), marker="o", ms=3, lw=2,
                label=f"{name}, pooled ({len(rel)} excerpts)", **style)
        lo, hi = np.percentile(rel, [10, 90], axis=0)
        ax.fill_between(centres_hz, lo, hi, alpha=0.15, lw=0, label=f"{name}, 10–90 % of excerpts", **style)
    for edge in ((centres_hz[0] / 1.2, COMPARISON_BAND_HZ[0]), (COMPARISON_BAND_HZ[1], centres_hz[-1] * 1.2)):
        ax.axvspan(*edge, color="0.9", zorder=0)
    format_freq_axis(ax)
    ax.set_xlim(centres_hz[0] / 1.2, centres_hz[-1] * 1.2)
    ax.set_ylabel("one-third-octave band level re total (dB)")
    ax.set_title("long-term spectra; compared over the 40 Hz–12.5 kHz bands")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def plot_music_spread(synthetic: dict[str, np.ndarray], real: dict[str, np.ndarray], names: Sequence[str],
                      ax: plt.Axes | None = None) -> plt.Axes:
    """Box plots (5-95 % whiskers) of per-excerpt features ``names`` (keys of :func:`spread_features`), synthetic
    beside real, in the features' own unit."""
    ax = ax or plt.gca()
    positions = np.arange(len(names)) * 3.0
    sets = ((-0.5, synthetic, SYNTHETIC_STYLE, "synthetic"), (0.5, real, REAL_STYLE, "real"))
    for offset, data, style, label in sets:
        box = ax.boxplot([data[n] for n in names], positions=positions + offset, widths=0.8, whis=(5, 95),
                         patch_artist=True, showfliers=True, flierprops=dict(ms=2, alpha=0.5))
        for patch in box["boxes"]:
            patch.set(facecolor=style["color"], alpha=0.35)
        ax.plot([], [], lw=6, alpha=0.35, label=label, **style)
    ax.set_xticks(positions, [n.rsplit(" (", 1)[0] for n in names])
    ax.set_ylabel(names[0].rsplit(" (", 1)[1].rstrip(")"))
    ax.legend(loc="best", fontsize="small")
    return ax


def figure_music_ltas(synthetic_db: np.ndarray, real_db: np.ndarray,
                      centres_hz: np.ndarray = MUSIC_CENTRES_HZ) -> plt.Figure:
    """Pooled spectra (left), band-level spread (middle) and slope spread (right) of synthetic and real music."""
    fig = plt.figure(figsize=(15, 4.6), constrained_layout=True)
    grid = fig.add_gridspec(1, 4)
    plot_music_ltas(synthetic_db, real_db, centres_hz, ax=fig.add_subplot(grid[0, :2]))
    synthetic, real = spread_features(synthetic_db, centres_hz), spread_features(real_db, centres_hz)
    names = list(synthetic)
    plot_music_spread(synthetic, real, names[1:], ax=fig.add_subplot(grid[0, 2])).set_title("octave levels re total")
    plot_music_spread(synthetic, real, names[:1], ax=fig.add_subplot(grid[0, 3])).set_title("spectral slope")
    return fig
