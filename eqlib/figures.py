"""Every figure in ``figures/`` from the shipped weights: ``python -m eqlib.figures`` (``make figures``).

Notebooks 01–02 (via :mod:`eqlib.figures_basics`) and 04–07 call the same ``figure_*`` functions, so they draw
exactly the pictures saved here; :func:`output_names` lists every file :func:`make_all` writes.
Pair selection is fixed (the first pairs of the seeded evaluation sets; good/poor picks by test
error), jitter and θ draws are seeded, and PNGs carry no timestamps: re-running gives the same files.

- ``04_responses_pair<k>.png``: per-band (2×2) and cascaded responses, ideal vs the default model
  (``SHOWN_MODEL``, which also draws the application and music figures);
- ``04_error_distribution.png`` + ``04_errors.md``: response error over the held-out speech test set;
- ``05_application_cases.png``: harsh sibilance / muddy bass, both directions, long-term spectra (two committed
  speakers, to listen to); ``05_application_cases.md`` and ``05_application_probe.png``: the same cases measured
  over every held-out speaker pair of ``speech-other-speaker`` (150 with the corpora; :mod:`eqlib.application`);
- ``05_music_pair<k>.png``: responses on music from held-out tracks (the paper's models never trained on music);
- ``06_latents_<model>.png``, ``06_latent_pca.png``, ``06_latent_statistics.md``: the latents;
- ``results.md``: ``eqlib.evaluate``'s table (identity, spectral match, every model, the default ensemble, its
  networks without the gate, and the hybrid mode on every evaluation set); its spectral fits of the test set also serve the
  error distribution; ``findings.md``: the default model's paired comparisons (:mod:`eqlib.findings`).

``01_slider_panel.png`` is not made here: it is a screenshot of the EQ panel in JupyterLab, taken in headless
Chromium by the browser test, which ``make figures`` runs after this module (``SCREENSHOTS``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from eqlib import application
from eqlib.application import DIRECTIONS, normalise_lufs
from eqlib.audio import loudness_lufs
from eqlib.checkpoint import CheckpointError, default_weights
from eqlib.corpora import CorporaMissingError, locate_corpora, no_corpora, require_corpora
from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.evalsets import EvalPair, load_eval_set
from eqlib.examples import list_examples, load_example
from eqlib.findings import findings_markdown
from eqlib.inference import DEFAULT_MODEL, ENSEMBLE_LEAD, SHIPPED_MODELS, Predictor, load_predictor
from eqlib.latents import collect_latents, latent_summary, pca_2d, pick_good_and_poor
from eqlib.metrics import mean_ci95, response_error_db
from eqlib.models import MODEL_NAMES
from eqlib.plots import (plot_band_grid, plot_cascade, plot_error_distribution, plot_latent,
                         plot_long_term_spectra, save_figure)
from eqlib.provenance import console_lines, mark_examples
from eqlib.runtime import by_mode, figures_dir, is_quick, one_thread, pin_cpu_kernels, repo_root
from eqlib.spectral_fit import spectral_match_batch

SAMPLE_RATE = 44100
TEST_SET = "speech-other-speaker"
MUSIC_SET = "music-other-track"
QUICK_PAIRS = 10  # pairs per set in quick mode (enough for 7 response figures and a 2 + 2 latent pick)
RESPONSE_PAIRS = 7  # the supplementary material shows 7 test pairs
MUSIC_PAIRS = 2
LATENT_PICK = 2  # good and poor pairs each in the latent figures
MIN_LUFS = -35.0  # latent picks: input and reference louder than this
PCA_BAND = 0  # colour the PCA by the low shelf's true gain
SYSTEM_COLOURS = {"input": "#1f77b4", "reference": "#ff7f0e", "fed": "#2ca02c"}
BASELINES = ("identity", "spectral")
PROBLEMS = {name: settings for name, (settings, _) in application.PROBLEMS.items()}  # the +9 dB problem EQs
SHOWN_MODEL = DEFAULT_MODEL  # the model of the response, music and application figures
EVALUATE_SYSTEMS = ("identity", "spectral", *MODEL_NAMES, DEFAULT_MODEL, f"network_{DEFAULT_MODEL}",
                    f"hybrid_{DEFAULT_MODEL}")
APPLICATION_SYSTEMS = ("spectral", "proposed_db", ENSEMBLE_LEAD, DEFAULT_MODEL)  # 05_application_cases.md
APPLICATION_SPEECH = ("speech-p351-f", "speech-p363-m")  # committed examples: input speaker, reference speaker
EXAMPLES_DIR = "cache/figures-examples"  # make_all(examples=True) writes here, never over the committed figures/
SCREENSHOTS = ("01_slider_panel.png",)  # in figures/ but taken by the browser test (tests/e2e), not by make_all


# --- data, models, predictions ------------------------------------------------------------------
def test_pairs(name: str = TEST_SET) -> list[EvalPair]:
    """The fixed evaluation set ``name`` (all its pairs; ``QUICK_PAIRS`` in quick mode)."""
    return load_eval_set(name, num_pairs=QUICK_PAIRS if is_quick() else None)


def load_predictors(weights: Mapping[str, str | Path] | None = None,
                    names: Sequence[str] = SHIPPED_MODELS) -> dict[str, Predictor]:
    """Predictors of ``names`` from ``weights`` (name → file; default: the shipped ``eqlib/weights/<name>.pt``).

    Raises :class:`CheckpointError` naming every missing file at once.
    """
    paths = {n: Path((weights or {}).get(n, default_weights(n))) for n in names}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise CheckpointError(f"weights not found: {', '.join(missing)} (train and ship them: python -m eqlib.train, "
                              f"python -m eqlib.ship)")
    return {n: load_predictor(n, p) for n, p in paths.items()}


def predict_pairs(predictor: Predictor | Callable[[np.ndarray, np.ndarray], EQSettings], pairs: Sequence[EvalPair],
                  desc: str = "predicting") -> list[EQSettings]:
    """Predicted settings for every pair (a :class:`Predictor`'s batch, whose gate fits all pairs at once, or any
    ``f(input, reference)`` pair by pair)."""
    if isinstance(predictor, Predictor):
        return predictor.predict_batch([p.input for p in pairs], [p.reference for p in pairs])
    return [predictor(p.input, p.reference) for p in tqdm(pairs, desc=desc, unit="pair", leave=False)]


def spectral_predictions(pairs: Sequence[EvalPair]) -> list[EQSettings]:
    """The spectral match-EQ baseline on every pair (``spectral_fit.spectral_match_batch``)."""
    return spectral_match_batch([p.input for p in pairs], [p.reference for p in pairs], SAMPLE_RATE)


def response_errors(predicted: Sequence[EQSettings], pairs: Sequence[EvalPair]) -> np.ndarray:
    """Level-free mean |Δ| (dB) of cascaded responses (``metrics.response_error_db``) per pair: ``(pairs,)``."""
    pred = np.stack([s.params for s in predicted])
    true = np.stack([p.params for p in pairs])
    return response_error_db(pred, true, SAMPLE_RATE).numpy()


def system_predictions(pairs: Sequence[EvalPair], predictors: Mapping[str, Predictor],
                       spectral: bool | Sequence[EQSettings] = True) -> dict[str, list[EQSettings]]:
    """Predictions of the identity EQ, the spectral baseline and every model.

    ``spectral``: ``True`` fits the spectral baseline here, ``False`` leaves it out, a sequence of settings
    (one per pair, e.g. from ``eqlib.evaluate``'s results) is used as it is.
    """
    out = {"identity": [EQSettings.identity() for _ in pairs]}
    if spectral is True:
        out["spectral"] = spectral_predictions(pairs)
    elif spectral is not False:
        out["spectral"] = list(spectral)
    for name, predictor in predictors.items():
        out[name] = predict_pairs(predictor, pairs, desc=name)
    return out


def errors_table(errors: Mapping[str, np.ndarray]) -> str:
    """Markdown table: mean ± 95 % CI and median of each system's errors (dB)."""
    lines = ["| system | pairs | mean error (dB) ± 95 % CI | median (dB) |", "|---|---:|---:|---:|"]
    for name, e in errors.items():
        mean, half = mean_ci95(e)
        lines.append(f"| {name} | {len(e)} | {mean:.2f} ± {half:.2f} | {np.median(e):.2f} |")
    return "\n".join(lines)


# --- figures: frequency responses and errors ------------------------------------------------
def figure_frequency_responses(pair: EvalPair, predicted: EQSettings, title: str | None = None) -> plt.Figure:
    """The paper's figure: per-band responses (2×2: Low, Mid 1, Mid 2, High) and the cascade, ideal vs predicted."""
    fig = plt.figure(figsize=(13, 5.2), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, width_ratios=(1, 1, 1.4))
    bands = np.array([[fig.add_subplot(grid[r, c]) for c in range(2)] for r in range(2)])
    for ax in bands.ravel()[1:]:
        ax.sharey(bands[0, 0])
    plot_band_grid(EQSettings(pair.params), predicted, axes=bands)
    for ax in bands[0]:
        ax.set_xlabel("")
    plot_cascade(EQSettings(pair.params), predicted, ax=fig.add_subplot(grid[:, 2]))
    error = float(response_errors([predicted], [pair])[0])
    fig.suptitle(f"{title + ' · ' if title else ''}response error {error:.2f} dB")
    return fig


def figure_error_distribution(errors: Mapping[str, np.ndarray], title: str | None = None) -> plt.Figure:
    """Distribution of per-pair response errors (dB), one row per system."""
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(errors) + 1.4), constrained_layout=True)
    plot_error_distribution(dict(errors), ax, label="cascaded response error, level removed (dB)")
    if title:
        ax.set_title(title)
    return fig


# --- application cases ------------------------------------------------------------------------
@dataclass
class ApplicationCase:
    """One problem (``PROBLEMS``) in one direction: the recordings, the prediction and the processed input."""

    problem: str
    direction: str
    input: np.ndarray
    reference: np.ndarray
    predicted: EQSettings
    processed: np.ndarray


def application_cases(predictor: Predictor, speech: Sequence[str] = APPLICATION_SPEECH) -> list[ApplicationCase]:
    """Each problem in both directions with two committed speakers (input speaker, reference speaker).

    "reference has it": the reference carries the +9 dB problem, the input is clean (the model should add it);
    "input has it": the input carries it, the reference is clean (the model should remove it).
    """
    clean_in, clean_ref = (load_example(n)[0] for n in speech)
    cases = []
    for problem in PROBLEMS:
        for direction in DIRECTIONS:
            x, r = application.case_recordings(clean_in, clean_ref, problem, direction)
            predicted = predictor.predict(x.astype(np.float32), r.astype(np.float32))
            cases.append(ApplicationCase(problem, direction, x, r, predicted, predicted.apply(x, SAMPLE_RATE)))
    return cases


def figure_application_cases(cases: Sequence[ApplicationCase]) -> plt.Figure:
    """Long-term spectra (1/6 octave, relative dB) of input, reference and processed input, one panel per case."""
    rows = sorted({c.problem for c in cases}, key=list(PROBLEMS).index)
    fig, axes = plt.subplots(len(rows), len(DIRECTIONS), figsize=(13, 4.2 * len(rows)), squeeze=False,
                             sharey=True, constrained_layout=True)
    styles = {"input": dict(color=SYSTEM_COLOURS["input"], lw=1.4),
              "reference": dict(color="0.15", lw=2.0),
              "processed": dict(color="#d62728", lw=1.6, ls="--")}
    for case in cases:
        ax = axes[rows.index(case.problem), DIRECTIONS.index(case.direction)]
        plot_long_term_spectra({"input": case.input, "reference": case.reference, "processed": case.processed},
                               SAMPLE_RATE, ax, styles=styles)
        gains = ", ".join(f"{b.name} {g:+.1f}" for b, g in zip(DEFAULT_EQ.bands, case.predicted.params[:, 0]))
        ax.set_title(f"{case.problem}: {case.direction}\npredicted gains (dB): {gains}", fontsize="small")
    return fig


def measured_application_cases(predictors: Mapping[str, Predictor],
                               systems: Sequence[str] = APPLICATION_SYSTEMS) -> dict[str, list[application.CaseResult]]:
    """:func:`eqlib.application.measure_cases` of ``systems`` (``"spectral"`` or a name in ``predictors``) over every
    pair of the held-out speaker set in full mode, ``application.CASE_PAIRS`` in class mode and
    ``application.QUICK_CASE_PAIRS`` in quick mode."""
    from eqlib.spectral_fit import spectral_match

    def system(name: str) -> application.System:
        if name == "spectral":
            return spectral_match
        return lambda x, r, _rate: predictors[name].predict(x, r)

    num_pairs = by_mode(application.QUICK_CASE_PAIRS, application.CASE_PAIRS, None)
    return application.measure_cases({name: system(name) for name in systems}, application.case_pairs(num_pairs))


# --- music of other lengths -----------------------------------------------------------------------
def music_pairs_other_lengths(lengths_s: Sequence[tuple[float, float]] = ((6.0, 4.0), (4.0, 6.0)),
                              seed: int = 0) -> list[EvalPair]:
    """Pairs from the committed music examples with other lengths than the 3-s training excerpts.

    Pair ``k`` takes track ``k`` as input and track ``k+1`` (cyclic) as reference, cut to
    ``lengths_s[k]`` (input s, reference s), each at -23 LUFS; θ is drawn by ``DEFAULT_EQ.sample`` from ``seed``.
    """
    names = list_examples("music")
    thetas = DEFAULT_EQ.sample(len(lengths_s), torch.Generator().manual_seed(seed)).numpy()
    pairs = []
    for k, ((len_in, len_ref), theta) in enumerate(zip(lengths_s, thetas)):
        a, b = names[k % len(names)], names[(k + 1) % len(names)]
        x = normalise_lufs(load_example(a)[0][: int(len_in * SAMPLE_RATE)])
        clean = normalise_lufs(load_example(b)[0][: int(len_ref * SAMPLE_RATE)])
        ref = EQSettings(theta).apply(clean, SAMPLE_RATE)
        meta = {"set": "music-other-lengths", "input": {"example": a, "seconds": len(x) / SAMPLE_RATE},
                "reference": {"example": b, "seconds": len(ref) / SAMPLE_RATE}, "sample_rate": SAMPLE_RATE}
        pairs.append(EvalPair(x.astype(np.float32), ref.astype(np.float32), theta, meta, clean.astype(np.float32)))
    return pairs


def audio_example_html(title: str, recordings: Mapping[str, np.ndarray], settings: Mapping[str, EQSettings],
                       sample_rate: int = SAMPLE_RATE) -> str:
    """One HTML row for a notebook: audio players (``recordings``) and EQ tables (``settings``) side by side.

    All recordings of a row share one scale (only lowered if a peak exceeds full scale), so their levels compare.
    """
    from IPython.display import Audio

    peak = max(float(np.max(np.abs(v))) for v in recordings.values())
    scale = 1.0 / peak if peak > 1.0 else 1.0
    players = "".join(f"<td><b>{k}</b><br>{Audio(np.asarray(v) * scale, rate=sample_rate, normalize=False)._repr_html_()}"
                      "</td>" for k, v in recordings.items())
    tables = "".join(f"<td><b>{k}</b>{s._repr_html_()}</td>" for k, s in settings.items())
    return f"<h4>{title}</h4><table><tr>{players}</tr></table><table><tr>{tables}</tr></table>"


# --- latents ---------------------------------------------------------------------------------------
def loudness_ok(pairs: Sequence[EvalPair], min_lufs: float = MIN_LUFS) -> np.ndarray:
    """``(pairs,)``: input and (EQ'd) reference both louder than ``min_lufs`` (LUFS, measured here)."""
    return np.array([min(loudness_lufs(p.input, SAMPLE_RATE), loudness_lufs(p.reference, SAMPLE_RATE)) > min_lufs
                     for p in pairs])


def latent_pick(errors: np.ndarray, pairs: Sequence[EvalPair], k: int = LATENT_PICK) -> tuple[list[int], list[str]]:
    """Indices and labels of ``k`` good then ``k`` poor pairs by ``errors`` among loud-enough pairs."""
    good, poor = pick_good_and_poor(errors, loudness_ok(pairs), k)
    index = [*good.tolist(), *poor.tolist()]
    labels = [f"{'good' if n < k else 'poor'} · pair {i} · {errors[i]:.2f} dB" for n, i in enumerate(index)]
    return index, labels


def figure_latents(latents: Mapping[str, np.ndarray], index: Sequence[int], labels: Sequence[str],
                   model: str) -> plt.Figure:
    """For one model: per selected pair (rows) the extracted input and reference latents and the fed latent."""
    fig, axes = plt.subplots(len(index), 3, figsize=(14, 1.9 * len(index) + 0.8), squeeze=False, constrained_layout=True)
    for row, (i, label) in enumerate(zip(index, labels)):
        for col, kind in enumerate(("input", "reference", "fed")):
            ax = axes[row, col]
            name = "fed to the predictor" if kind == "fed" else f"extracted ({kind})"
            plot_latent(latents[kind][i], ax, title=f"{name} · {label}", colour=SYSTEM_COLOURS[kind])
            ax.title.set_fontsize("small")
            if row < len(index) - 1:
                ax.set_xlabel("")
    fig.suptitle(f"latents of {model}")
    return fig


def figure_pca(fed: Mapping[str, np.ndarray], gains_db: np.ndarray, band: int = PCA_BAND) -> plt.Figure:
    """2-D PCA of the fed latents, one panel per model, points coloured by the true gain (dB) of ``band``."""
    fig, axes = plt.subplots(1, len(fed), figsize=(4.6 * len(fed) + 0.6, 4.2), squeeze=False, constrained_layout=True)
    spec = DEFAULT_EQ.bands[band].gain
    for ax, (name, x) in zip(axes[0], fed.items()):
        coords, ratio = pca_2d(x)
        points = ax.scatter(coords[:, 0], coords[:, 1], c=gains_db, cmap="coolwarm", vmin=spec.minimum,
                            vmax=spec.maximum, s=14, lw=0)
        ax.set_title(f"{name}\nPC1 {100 * ratio[0]:.1f} %, PC2 {100 * ratio[1]:.1f} % of variance", fontsize="small")
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
    fig.colorbar(points, ax=axes[0, -1], label=f"true {DEFAULT_EQ.bands[band].label} gain (dB)")
    return fig


def gain_correlations(fed: np.ndarray, params: np.ndarray) -> np.ndarray:
    """|Pearson r| between PC1 of the fed latents and each band's true gain: ``(bands,)``."""
    pc1 = pca_2d(fed)[0][:, 0]
    return np.array([abs(np.corrcoef(pc1, params[:, b, 0])[0, 1]) for b in range(params.shape[1])])


def latent_statistics_table(latents: Mapping[str, Mapping[str, np.ndarray]], params: np.ndarray) -> str:
    """Markdown table per model of sparsity, L2 norm, dynamic range (mean ± sd) of extracted and fed latents,
    the variance share of the fed latents' first two principal axes and |r| of PC1 with each band's gain."""
    head = ("| model | latent | elements | near-zero (%) | negative (%) | L2 norm | dynamic range (dB) | "
            "PC1 + PC2 (%) | corr. PC1 vs gain, abs (low, mid1, mid2, high) |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, lat in latents.items():
        for kind in ("input", "fed"):
            s = latent_summary(lat[kind])
            label = "fed" if kind == "fed" else "extracted (input)"
            pca = corr = ""
            if kind == "fed":
                pca = f"{100 * pca_2d(lat['fed'])[1].sum():.1f}"
                corr = ", ".join(f"{r:.2f}" for r in gain_correlations(lat["fed"], params))
            lines.append(f"| {name} | {label} | {int(s['dim'])} | {100 * s['sparsity']:.1f} ± {100 * s['sparsity_sd']:.1f}"
                         f" | {100 * s['negative_share']:.1f} | {s['l2']:.3g} ± {s['l2_sd']:.2g}"
                         f" | {s['dynamic_range_db']:.1f} ± {s['dynamic_range_db_sd']:.1f} | {pca} | {corr} |")
    return "\n".join(lines)


# --- everything ----------------------------------------------------------------------------------------
def _write(out: Path, name: str, fig: plt.Figure, written: list[Path]) -> None:
    written += save_figure(fig, name, directory=out)
    plt.close(fig)


def _write_text(path: Path, text: str, written: list[Path]) -> None:
    path.write_text(text.rstrip() + "\n")
    written.append(path)


def _evaluate_all() -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``eqlib.evaluate``'s results of ``EVALUATE_SYSTEMS`` (shipped weights) on every evaluation set (only the
    test set, ``QUICK_PAIRS`` pairs, in quick mode): the slow part, the spectral and hybrid fits of every pair. The
    default model, its network and its hybrid share one run of its networks per set
    (:func:`eqlib.evaluate.model_systems_sharing_work`)."""
    from eqlib import evaluate
    from eqlib.evalsets import EVAL_SETS

    shared = evaluate.model_systems_sharing_work(DEFAULT_MODEL)
    systems = {name: shared[name] if name in shared else evaluate.load_named_system(name) for name in EVALUATE_SYSTEMS}
    return evaluate.evaluate_sets(systems, [TEST_SET] if is_quick() else EVAL_SETS,
                                  num_pairs=QUICK_PAIRS if is_quick() else None)


def output_names(results: bool = True) -> list[str]:
    """File names :func:`make_all` writes (with ``results.md`` when ``results``), in order; ``SCREENSHOTS`` are not."""
    from eqlib import figures_basics

    return [*(f"{n}.png" for n in figures_basics.figure_names()),
            *(f"04_responses_pair{k}.png" for k in range(RESPONSE_PAIRS)), "04_error_distribution.png", "04_errors.md",
            "05_application_cases.png", "05_application_probe.png", "05_application_cases.md",
            *(f"05_music_pair{k}.png" for k in range(MUSIC_PAIRS)),
            *(f"06_latents_{n}.png" for n in MODEL_NAMES), "06_latent_pca.png", "06_latent_statistics.md",
            *(["results.md", "findings.md", "cli_example.txt"] if results else [])]


def make_all(out_dir: str | Path | None = None, weights: Mapping[str, str | Path] | None = None,
             spectral: bool = True, predictors: Mapping[str, Predictor] | None = None,
             examples: bool | None = None) -> list[Path]:
    """Regenerate every figure and table (:func:`output_names`); return the files written.

    Torch runs on one thread throughout (:func:`eqlib.runtime.one_thread`: faster for these small tensors).

    Args:
        out_dir: destination (default :func:`eqlib.runtime.figures_dir`: ``figures/``, or
            ``cache/figures-quick`` in quick mode; ``EXAMPLES_DIR`` instead of ``figures/`` with ``examples``).
        weights: model name → checkpoint (default: the shipped weights; ``results.md`` only with those).
        spectral: include the spectral match-EQ baseline in the error distribution.
        predictors: already loaded models (name → :class:`Predictor`), instead of ``weights``.
        examples: build from the small example sets in ``eqlib/data``, not the evaluation corpora; every file then
            says so (:func:`eqlib.provenance.mark_examples`). ``None``: the corpora, or in quick mode the example
            sets when there are no corpora (CI).

    Raises:
        CorporaMissingError: no corpora (:mod:`eqlib.corpora`) and the example sets were not asked for.
    """
    if examples is None:
        examples = is_quick() and locate_corpora() is None
    if not examples:
        require_corpora()
    if examples and out_dir is None and figures_dir() == repo_root() / "figures":
        out_dir = repo_root() / EXAMPLES_DIR
    with no_corpora() if examples else nullcontext():
        written = _make_all(out_dir, weights, spectral, predictors)
    if examples:
        mark_examples(written)
    return written


def _make_all(out_dir: str | Path | None, weights: Mapping[str, str | Path] | None, spectral: bool,
              predictors: Mapping[str, Predictor] | None) -> list[Path]:
    """:func:`make_all` from the corpora that :mod:`eqlib.corpora` finds (none: the example sets)."""
    from eqlib import evaluate, figures_basics, readme_sync

    matplotlib.use("Agg", force=False)
    out = Path(out_dir) if out_dir is not None else figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with one_thread(), tqdm(total=5, desc="figures", unit="group") as steps:
        for name, fig in figures_basics.basic_figures():
            _write(out, name, fig, written)
        steps.update()

        results = None
        if weights is None and all(default_weights(n).is_file() for n in SHIPPED_MODELS):  # evaluate loads the shipped ones
            results = _evaluate_all()
            evaluate.write_results(results, EVALUATE_SYSTEMS, out / "results.md")
            written.append(out / "results.md")
            _write_text(out / "findings.md", findings_markdown(results, DEFAULT_MODEL, ENSEMBLE_LEAD), written)
            written += readme_sync.write_cli_example(out)  # the README's `eqlib match` transcript
        steps.update()

        predictors = dict(predictors) if predictors is not None else load_predictors(weights)
        pairs = test_pairs()
        if spectral and results is not None:  # the same pairs: reuse evaluate's fits
            spectral = [EQSettings(p) for p in results[TEST_SET]["spectral"]["params"]]
        predictions = system_predictions(pairs, predictors, spectral)
        errors = {name: response_errors(p, pairs) for name, p in predictions.items()}
        for k in range(min(RESPONSE_PAIRS, len(pairs))):
            fig = figure_frequency_responses(pairs[k], predictions[SHOWN_MODEL][k], f"{SHOWN_MODEL} · test pair {k}")
            _write(out, f"04_responses_pair{k}", fig, written)
        _write(out, "04_error_distribution", figure_error_distribution(errors, f"{TEST_SET}: {len(pairs)} pairs"),
               written)
        _write_text(out / "04_errors.md", errors_table(errors), written)
        steps.update()

        _write(out, "05_application_cases", figure_application_cases(application_cases(predictors[SHOWN_MODEL])),
               written)
        measured = measured_application_cases(predictors)
        num_case_pairs = len(measured[SHOWN_MODEL][0].probe_db)
        _write(out, "05_application_probe", application.figure_cases(
            measured[SHOWN_MODEL], f"{SHOWN_MODEL}: the application cases over {num_case_pairs} pairs"), written)
        _write_text(out / "05_application_cases.md", application.cases_table(measured), written)
        music = test_pairs(MUSIC_SET)[:MUSIC_PAIRS]
        for k, (pair, predicted) in enumerate(zip(music, predict_pairs(predictors[SHOWN_MODEL], music))):
            _write(out, f"05_music_pair{k}",
                   figure_frequency_responses(pair, predicted, f"{SHOWN_MODEL} · {MUSIC_SET} pair {k}"), written)
        steps.update()

        latents = {name: collect_latents(p.model, pairs) for name, p in predictors.items() if name in MODEL_NAMES}
        index, labels = latent_pick(errors[SHOWN_MODEL], pairs)
        for name, lat in latents.items():
            _write(out, f"06_latents_{name}", figure_latents(lat, index, labels, name), written)
        params = np.stack([p.params for p in pairs])
        _write(out, "06_latent_pca", figure_pca({n: lat["fed"] for n, lat in latents.items()}, params[:, PCA_BAND, 0]),
               written)
        _write_text(out / "06_latent_statistics.md", latent_statistics_table(latents, params), written)
        steps.update()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Write every figure and table, then print the files and what they were built from (corpora, weights)."""
    parser = argparse.ArgumentParser(prog="python -m eqlib.figures", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default figures/)")
    parser.add_argument("--no-spectral", action="store_true", help="skip the slow spectral baseline")
    parser.add_argument("--examples", action="store_true",
                        help=f"build from the small example sets in eqlib/data, not the evaluation corpora (every "
                             f"figure and table says so; default folder {EXAMPLES_DIR})")
    args = parser.parse_args(argv)
    pin_cpu_kernels()
    try:
        written = make_all(args.out, spectral=not args.no_spectral, examples=args.examples or None)
    except CorporaMissingError as err:
        parser.exit(2, f"eqlib.figures: {err}, or build from the small example sets with "
                       f"`make figures EXAMPLES=1`\n")
    except CheckpointError as err:
        parser.exit(2, f"eqlib.figures: {err}\n")
    for path in written:
        print(path)
    examples = args.examples or locate_corpora() is None
    print("\n".join(console_lines([default_weights(n) for n in SHIPPED_MODELS], examples)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
