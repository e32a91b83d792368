"""The figures of notebooks 01 (biquads, the 4-band EQ), 02 (data synthesis) and 03 (training curves), for the
notebooks and ``make figures``.

- ``01_pole_zero``, ``01_band_grid``, ``01_four_band_response``, ``01_spectrogram_before_after``: the example
  setting ``EXAMPLE_SETTINGS`` on its own and on a shipped speech clip;
- ``02_spectrograms``: synthetic speakers next to a real one;
- ``02_ltas_vs_published``: the synthesiser's long-term spectrum against ANSI S3.5-1997 and Byrne et al. (1994);
- ``02_parameter_histograms``: the training distribution of the 12 knobs;
- ``02_pairs_<variant>``: training pairs of each variant;
- ``03_training_curves``: the training and validation curves of the shipped models (``eqlib/weights/*.metrics.csv``).

Every random choice has its own seed, so a figure does not depend on which others were drawn before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from eqlib.checkpoint import WEIGHTS_DIR
from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.examples import list_examples, load_example
from eqlib.features import FeatureConfig
from eqlib.pairs import VARIANTS, PairConfig, PairSampler, SpectrogramBank
from eqlib.inference import ENSEMBLE
from eqlib.models import MODEL_NAMES
from eqlib.plots import (plot_band_grid, plot_cascade, plot_parameter_histograms, plot_pole_zero,
                         plot_power_spectrogram, plot_spectrogram, plot_third_octave_ltas, plot_training_curves)
from eqlib.runtime import by_mode
from eqlib.speech_spectrum import (ANSI_S35_CENTRES_HZ, ansi_normal_band_levels_db, byrne_band_levels_db,
                                   pooled_ltas_db, third_octave_levels_db)
from eqlib.speech_synth import Speaker, speaker_ids, synthesize

SAMPLE_RATE = 44100  # Hz
EXCERPT_S = 3.0  # s, the paper's excerpt length
EXAMPLE_CLIP = "speech-p351-f"  # the shipped clip notebooks 01 and 02 listen to
#: Notebook 01's setting: a little low boost, a narrow cut at a "boxy" 450 Hz, presence at 2.5 kHz, less air.
EXAMPLE_SETTINGS = EQSettings(np.array([
    [4.0, 120.0, 0.707],    # low shelf: gain dB, freq Hz, Q
    [-8.0, 450.0, 2.0],     # mid 1 peak
    [5.0, 2500.0, 1.0],     # mid 2 peak
    [-4.0, 6000.0, 0.707],  # high shelf
]))
BYRNE_RANGE_HZ = (100.0, 10000.0)  # the band range the synthesiser is held to (tests/test_speech_synth.py)
PUBLISHED_STYLE = dict(color="0.1", lw=2.5)
SPECTROGRAM_SPEAKERS = 2  # synthetic speakers in 02_spectrograms


def num_utterances() -> int:
    """Synthetic utterances for the long-term spectrum and the pair bank: 12 in quick mode, else 300."""
    return by_mode(quick=12, class_=300, full=300)


def num_eq_draws() -> int:
    """EQ draws for the parameter histograms: 2,000 in quick mode, else 100,000."""
    return by_mode(quick=2000, class_=100_000, full=100_000)


def pairs_per_variant() -> int:
    """Training pairs shown per variant: 1 in quick mode, else 2."""
    return by_mode(quick=1, class_=2, full=2)


# --- notebook 01 -----------------------------------------------------------------------------------
def example_speech(seconds: float = EXCERPT_S) -> np.ndarray:
    """The first ``seconds`` of the shipped clip ``EXAMPLE_CLIP`` at 44.1 kHz, float64 ``(time,)``."""
    speech, rate = load_example(EXAMPLE_CLIP)
    return speech[: int(seconds * rate)].astype(np.float64)


def figure_pole_zero(settings: EQSettings = EXAMPLE_SETTINGS) -> plt.Figure:
    """Poles and zeros of each band's biquad at 44.1 kHz on the z-plane, legend outside."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5), constrained_layout=True)
    plot_pole_zero(settings.sos(SAMPLE_RATE), ax=ax, labels=[b.label for b in settings.spec.bands])
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return fig


def figure_band_grid(settings: EQSettings = EXAMPLE_SETTINGS) -> plt.Figure:
    """Each band's magnitude response on its own (the paper's 2×2 layout)."""
    return plot_band_grid(settings).flat[0].figure


def figure_four_band_response(settings: EQSettings = EXAMPLE_SETTINGS) -> plt.Figure:
    """The four bands and their cascade (dB)."""
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    plot_cascade(settings, ax=ax)
    return fig


def figure_spectrogram_before_after(speech: np.ndarray, processed: np.ndarray,
                                    sample_rate: int = SAMPLE_RATE) -> plt.Figure:
    """Spectrograms of ``speech`` and ``processed`` ``(time,)`` on one colour scale, one above the other."""
    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    for ax, audio, title in zip(axes, (speech, processed), ("original", "through the EQ")):
        plot_spectrogram(audio, sample_rate, ax=ax)
        ax.set_title(title)
    return fig


# --- notebook 02 -----------------------------------------------------------------------------------
def synthetic_utterances(num: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """``num`` 3-s utterances by ``num // 2`` train-split speakers drawn with ``seed``, two utterances each.

    Returns:
        The speaker id of each utterance ``(num,)`` and the utterances, ``(time,)`` at 44.1 kHz each.
    """
    rng = np.random.default_rng(seed)
    speakers = rng.choice(speaker_ids("train"), size=num // 2, replace=False).repeat(2)
    return speakers, [synthesize(int(s), EXCERPT_S, seed=k) for k, s in enumerate(speakers)]


def real_speech_clips() -> list[np.ndarray]:
    """Every shipped real speech clip (``eqlib/data``), ``(time,)`` at 44.1 kHz each."""
    return [load_example(name)[0] for name in list_examples("speech")]


def figure_spectrograms(synthetic: Mapping[int, np.ndarray], real: np.ndarray, real_name: str = EXAMPLE_CLIP
                        ) -> plt.Figure:
    """Spectrograms of synthetic speakers (speaker id → ``(time,)``) above a real clip, on one colour scale."""
    fig, axes = plt.subplots(len(synthetic) + 1, 1, figsize=(8, 2.7 * (len(synthetic) + 1)), sharex=True,
                             constrained_layout=True)
    for ax, (sid, audio) in zip(axes, synthetic.items()):
        plot_spectrogram(audio, SAMPLE_RATE, ax=ax)
        ax.set_title(f"synthetic speaker {sid} ({Speaker.from_id(int(sid)).voice_class})")
    plot_spectrogram(real, SAMPLE_RATE, ax=axes[-1])
    axes[-1].set_title(f"real: {real_name}")
    return fig


def published_ltas() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Published speech spectra: name → (third-octave centres in Hz ``(bands,)``, band levels in dB SPL ``(bands,)``).

    ANSI S3.5-1997 normal effort, 160 Hz–8 kHz; Byrne et al. (1994) universal LTASS over ``BYRNE_RANGE_HZ``.
    """
    return {"ANSI S3.5-1997, normal effort": (ANSI_S35_CENTRES_HZ, ansi_normal_band_levels_db()),
            "Byrne et al. 1994, universal LTASS": byrne_band_levels_db(*BYRNE_RANGE_HZ)}


def ltas_levels_db(recordings: Sequence[np.ndarray], centres_hz: np.ndarray) -> np.ndarray:
    """Third-octave band levels (dB re full scale) of each recording ``(time,)``: ``(recordings, bands)``."""
    return np.stack([third_octave_levels_db(x, SAMPLE_RATE, centres_hz) for x in recordings])


def ltas_deviation_db(levels_db: np.ndarray, published_db: np.ndarray) -> np.ndarray:
    """Shape of the pooled spectrum of ``levels_db`` ``(recordings, bands)`` minus the shape of ``published_db``
    ``(bands,)``, each re its mean over the bands (dB, ``(bands,)``): levels in dB SPL and dB FS compare."""
    pooled = pooled_ltas_db(levels_db)
    return (pooled - pooled.mean()) - (published_db - np.mean(published_db))


def figure_ltas_vs_published(synthetic: Sequence[np.ndarray], real: Sequence[np.ndarray]) -> plt.Figure:
    """One panel per published spectrum (``published_ltas``): it, the pooled synthetic and real spectra, and the
    10–90 % spread of single synthetic utterances, each shifted to a 0 dB mean over the panel's bands."""
    tables = published_ltas()
    fig, axes = plt.subplots(1, len(tables), figsize=(6.5 * len(tables), 4.4), sharey=True, constrained_layout=True)
    for ax, (name, (centres, published)) in zip(np.atleast_1d(axes), tables.items()):
        synth = ltas_levels_db(synthetic, centres)
        curves = {name: published, f"synthetic, pooled ({len(synthetic)} utterances)": pooled_ltas_db(synth),
                  f"real clips, pooled ({len(real)})": pooled_ltas_db(ltas_levels_db(real, centres))}
        plot_third_octave_ltas(centres, curves, ax=ax, styles={name: PUBLISHED_STYLE},
                               spread={f"synthetic, pooled ({len(synthetic)} utterances)": synth})
        ax.set_title(f"{name}, {centres[0]:g} Hz–{centres[-1] / 1000:g} kHz", fontsize="medium")
    return fig


def figure_parameter_histograms(draws: np.ndarray) -> plt.Figure:
    """Histograms of EQ draws ``(draws, bands, 3)``: one row per band, one column per knob."""
    return plot_parameter_histograms(draws).flat[0].figure


def parameter_draws(num: int, seed: int = 0) -> np.ndarray:
    """``num`` training draws of θ by ``DEFAULT_EQ.sample`` from ``seed``: ``(num, bands, 3)``."""
    return DEFAULT_EQ.sample(num, torch.Generator().manual_seed(seed)).numpy()


def pair_sampler(utterances: Sequence[np.ndarray], speakers: Sequence[int],
                 features: FeatureConfig = FeatureConfig()) -> PairSampler:
    """A training :class:`PairSampler` over a :class:`SpectrogramBank` of synthetic ``utterances``."""
    return PairSampler(SpectrogramBank(list(utterances), [f"synth:{s}" for s in speakers], features), PairConfig())


def figure_training_pairs(sampler: PairSampler, variant: str, num_pairs: int, seed: int = 0) -> plt.Figure:
    """``num_pairs`` pairs of ``variant`` drawn with ``seed``: input and reference spectrograms and θ, one row each."""
    batch = sampler.sample(num_pairs, torch.Generator().manual_seed(seed), variant=variant)
    features = sampler.bank.config
    fig, axes = plt.subplots(num_pairs, 3, figsize=(13, 3.2 * num_pairs), constrained_layout=True, squeeze=False)
    for row in range(num_pairs):
        plot_power_spectrogram(batch["power_in"][row].numpy(), features.sample_rate, features.hop_length,
                               ax=axes[row, 0], colorbar=False)
        plot_power_spectrogram(batch["power_ref"][row].numpy(), features.sample_rate, features.hop_length,
                               ax=axes[row, 1])
        plot_cascade(EQSettings.from_norm(batch["params_norm"][row].numpy()), ax=axes[row, 2])
        for ax, title in zip(axes[row], ("input", "reference = EQ_θ(…)", "θ (target)")):
            ax.set_title(title)
    fig.suptitle(f"variant: {variant}")
    return fig


# --- notebook 03 -----------------------------------------------------------------------------------
def shipped_training_logs() -> dict[str, Path]:
    """Label → ``eqlib/weights/<name>.metrics.csv`` for every shipped model whose training log is present (the
    ensemble's is that of its second member, labelled so)."""
    logs = {name: WEIGHTS_DIR / f"{name}.metrics.csv" for name in MODEL_NAMES}
    logs[f"{ENSEMBLE}'s proposed_db (speech + music)"] = WEIGHTS_DIR / f"{ENSEMBLE}.metrics.csv"
    return {name: path for name, path in logs.items() if path.is_file()}


def figure_training_curves(logs: Mapping[str, Path] | None = None) -> plt.Figure:
    """Training (dashed) and validation (solid) response error (dB) against step of the shipped models (``logs``:
    name → ``metrics.csv``, default :func:`shipped_training_logs`)."""
    logs = shipped_training_logs() if logs is None else dict(logs)
    fig, ax = plt.subplots(figsize=(8, 4.2), constrained_layout=True)
    if logs:
        plot_training_curves(dict(logs), ax=ax)
    else:
        ax.text(0.5, 0.5, "no training logs shipped in eqlib/weights/", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_title("shipped models: training and validation curves")
    return fig


# --- all of them -------------------------------------------------------------------------------------
def music_excerpts_per_arrangement() -> int:
    """Synthetic music excerpts per test arrangement in ``02_music_ltas`` (1 in quick mode, else 2)."""
    return by_mode(quick=1, class_=2, full=2)


def figure_music_vs_real() -> plt.Figure:
    """The music synthesiser's test arrangements against real music (:mod:`eqlib.figures_music`)."""
    from eqlib.figures_music import figure_music_ltas, reference_music_levels_db, synthetic_music_levels_db

    real, source = reference_music_levels_db()
    fig = figure_music_ltas(synthetic_music_levels_db(excerpts_per_arrangement=music_excerpts_per_arrangement()), real)
    fig.suptitle(f"synthetic music (test arrangements) against real music ({source}, {len(real)} excerpts)")
    return fig


def figure_names() -> list[str]:
    """The names (without ``.png``) that :func:`basic_figures` yields, in order."""
    return ["01_pole_zero", "01_band_grid", "01_four_band_response", "01_spectrogram_before_after",
            "02_spectrograms", "02_ltas_vs_published", "02_parameter_histograms", "02_music_ltas",
            *(f"02_pairs_{v}" for v in VARIANTS),
            "03_training_curves"]


def basic_figures() -> Iterator[tuple[str, plt.Figure]]:
    """Every figure of notebooks 01 and 02 as ``(name, figure)``, one at a time (close each after saving)."""
    speech = example_speech()
    yield "01_pole_zero", figure_pole_zero()
    yield "01_band_grid", figure_band_grid()
    yield "01_four_band_response", figure_four_band_response()
    yield "01_spectrogram_before_after", figure_spectrogram_before_after(speech,
                                                                          EXAMPLE_SETTINGS.apply(speech, SAMPLE_RATE))
    speakers, utterances = synthetic_utterances(num_utterances())
    shown = {int(s): synthesize(int(s), EXCERPT_S, seed=k)
             for k, s in enumerate(speaker_ids("train")[:SPECTROGRAM_SPEAKERS])}
    yield "02_spectrograms", figure_spectrograms(shown, speech)
    yield "02_ltas_vs_published", figure_ltas_vs_published(utterances, real_speech_clips())
    yield "02_parameter_histograms", figure_parameter_histograms(parameter_draws(num_eq_draws()))
    yield "02_music_ltas", figure_music_vs_real()
    sampler = pair_sampler(utterances, speakers)
    for variant in VARIANTS:
        yield f"02_pairs_{variant}", figure_training_pairs(sampler, variant, pairs_per_variant())
    yield "03_training_curves", figure_training_curves()
