"""Figures: byte-identical PNGs on re-running, drawn curves against scipy, inputs built as documented."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import subprocess

import numpy as np
import pytest
import scipy.signal
import scipy.stats
import torch

from eqlib.checkpoint import CheckpointError, save_checkpoint
from eqlib.eq import EQSettings
from eqlib.evalsets import EvalPair
from eqlib.figures import (PROBLEMS, SCREENSHOTS, application_cases, errors_table, figure_frequency_responses,
                           load_predictors, make_all, music_pairs_other_lengths, output_names)
from eqlib.speech_spectrum import pooled_ltas_db
from eqlib.models import MODEL_NAMES, build_model
from eqlib.plots import save_figure
from eqlib.runtime import repo_root

IDEAL = EQSettings([[6.0, 120.0, 0.707], [-8.0, 450.0, 2.0], [5.0, 2500.0, 1.0], [-4.0, 6000.0, 0.707]])
PREDICTED = EQSettings([[4.0, 150.0, 0.8], [-5.0, 500.0, 1.5], [3.0, 3000.0, 1.2], [-6.0, 7000.0, 0.9]])


def _pair() -> EvalPair:
    x = np.zeros(4410, dtype=np.float32)
    return EvalPair(x, x, IDEAL.params, {"set": "hand-made"})


def test_saved_png_is_byte_identical_across_renders(tmp_path) -> None:
    paths = []
    for name in ("first", "second"):
        fig = figure_frequency_responses(_pair(), PREDICTED, "hand-made pair")
        paths += save_figure(fig, name, directory=tmp_path)
        matplotlib.pyplot.close(fig)
    first, second = (p.read_bytes() for p in paths)
    assert first == second
    assert b"Software" not in first and b"matplotlib" not in first.lower()  # no version stamp in the file


def test_cascade_curves_match_scipy_sosfreqz() -> None:
    fig = figure_frequency_responses(_pair(), PREDICTED)
    cascade = fig.axes[-1]
    lines = {line.get_label(): line for line in cascade.get_lines()}
    for label, settings in (("ideal", IDEAL), ("predicted", PREDICTED)):
        f = lines[label].get_xdata()
        _, h = scipy.signal.sosfreqz(settings.sos(44100), worN=f, fs=44100)
        np.testing.assert_allclose(lines[label].get_ydata(), 20 * np.log10(np.abs(h)), atol=1e-6)
    band_axes = fig.axes[:4]
    assert [ax.get_title() for ax in band_axes] == ["Low shelf", "Mid 1 (peak)", "Mid 2 (peak)", "High shelf"]
    matplotlib.pyplot.close(fig)


def test_errors_table_reports_student_t_interval() -> None:
    table = errors_table({"system": np.array([1.0, 2.0, 3.0])})
    half = scipy.stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)
    assert f"| system | 3 | 2.00 ± {half:.2f} | 2.00 |" in table


def test_music_pairs_have_requested_lengths_and_eqd_references() -> None:
    pairs = music_pairs_other_lengths(((2.0, 1.5),), seed=3)
    p = pairs[0]
    assert (len(p.input), len(p.reference)) == (88200, 66150)
    expected = scipy.signal.sosfilt(EQSettings(p.params).sos(44100), p.reference_clean.astype(np.float64))
    np.testing.assert_allclose(p.reference, expected, atol=1e-6)


class _Identity:
    def predict(self, input_audio: np.ndarray, reference_audio: np.ndarray) -> EQSettings:
        return EQSettings.identity()


def test_application_cases_put_the_problem_on_the_documented_side() -> None:
    cases = application_cases(_Identity())
    assert len(cases) == 2 * len(PROBLEMS)
    by = {(c.problem, c.direction): c for c in cases}
    for problem in PROBLEMS:
        clean_in = by[(problem, "reference has it")].input
        np.testing.assert_allclose(by[(problem, "reference has it")].processed, clean_in, atol=1e-7)  # identity EQ
        f, p_clean = scipy.signal.welch(clean_in, 44100, nperseg=4096)
        _, p_problem = scipy.signal.welch(by[(problem, "input has it")].input, 44100, nperseg=4096)
        boost = 10 * np.log10(p_problem / p_clean)
        band = (f > 40) & (f < 16000)
        at = np.argmax(PROBLEMS[problem].response_db(f[band], 44100))  # where the problem EQ peaks (+9 dB)
        # +9 dB there, relative to the level change that loudness normalisation made
        assert boost[band][at] - np.median(boost[band]) == pytest.approx(9.0, abs=1.5)


@pytest.mark.parametrize("mode, pairs", [("quick", 2), ("class", 12), ("full", None)])
def test_measured_application_cases_take_every_pair_in_full_mode(monkeypatch, mode, pairs) -> None:
    """``make figures`` measures the cases on the whole held-out speaker set; the notebooks' modes on a few pairs."""
    from eqlib import application, figures

    asked = []
    monkeypatch.setenv("EQLIB_MODE", mode)
    monkeypatch.setattr(application, "case_pairs", lambda num_pairs: asked.append(num_pairs) or ["pair"])
    monkeypatch.setattr(application, "measure_cases", lambda systems, recordings: (sorted(systems), recordings))
    assert figures.measured_application_cases({"m": _Identity()}, ("spectral", "m")) == (["m", "spectral"], ["pair"])
    assert asked == [pairs]


def test_missing_weights_are_named(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="nope.pt"):
        load_predictors({"proposed_db": tmp_path / "nope.pt"}, names=("proposed_db",))


def test_make_all_quick_writes_every_figure(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQLIB_QUICK", "1")
    weights = {}
    for name in MODEL_NAMES:
        torch.manual_seed(0)
        weights[name] = tmp_path / f"{name}.pt"
        save_checkpoint(weights[name], build_model(name))
    written = make_all(tmp_path / "out", weights, spectral=False)
    names = [p.name for p in written]
    assert sorted(names) == sorted(output_names(results=False))  # results.md only with the shipped weights
    assert all(p.stat().st_size > 0 for p in written)
    assert "| proposed_db | fed | 512 |" in (tmp_path / "out" / "06_latent_statistics.md").read_text()


def test_figures_folder_holds_exactly_what_make_all_writes() -> None:
    listed = subprocess.run(["git", "ls-files", "figures"], cwd=repo_root(), capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    committed = {line.removeprefix("figures/") for line in listed.stdout.splitlines()}
    assert committed == set(output_names()) | set(SCREENSHOTS)


def test_pooled_ltas_weighs_each_recording_alike() -> None:
    # two recordings with opposite tilts, 20 dB apart in level: each counts re its own power, so the pool is flat
    levels = np.array([[0.0, -10.0], [-30.0, -20.0]])
    np.testing.assert_allclose(pooled_ltas_db(levels), 10 * np.log10(0.5), atol=1e-12)
