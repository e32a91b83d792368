"""Scoring systems on hand-built pairs: known errors for the identity, recovery for the spectral fit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from eqlib import evalsets
from eqlib.checkpoint import save_checkpoint
from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.evalsets import EvalPair
from eqlib.inference import load_predictor
from eqlib.models import build_model
from eqlib.evaluate import (ENSEMBLE_GRID_HZ, REAL_CHAINS_ONLY, TABLE_METRICS, AmountSystem, GatedSystem,
                            MeanResponseSystem, SwapSymmetricSystem,
                            evaluate_system,
                            identity_system, load_named_system, main, paired_table, real_chain_mask,
                            reference_chain_table, results_table, spectral_system, subset_results, write_results)

SR = 44100


def _tilted_noise(seed: int, seconds: float = 2.0) -> np.ndarray:
    """Noise with a speech-like downward tilt (first-order lowpass at 500 Hz over white)."""
    x = np.random.default_rng(seed).standard_normal(int(SR * seconds))
    b, a = scipy.signal.butter(1, 500, fs=SR)
    return 0.1 * scipy.signal.lfilter(b, a, x) + 0.01 * x


def _pairs(num: int, same_clip: bool) -> list[EvalPair]:
    thetas = DEFAULT_EQ.sample(num, torch.Generator().manual_seed(42)).numpy()
    pairs = []
    for i, theta in enumerate(thetas):
        x = _tilted_noise(2 * i)
        clean = x if same_clip else _tilted_noise(2 * i + 1)
        pairs.append(EvalPair(x, EQSettings(theta).apply(clean, SR), theta, {"i": i}, clean))
    return pairs


def test_identity_errors_are_the_true_gains():
    pairs = _pairs(3, same_clip=True)
    r = evaluate_system(identity_system, pairs, SR, progress=False)
    np.testing.assert_allclose(r["gain_db"], np.abs(np.stack([p.params[:, 0] for p in pairs])), atol=1e-12)
    assert r["gain_db"].shape == (3, 4) and r["response_db"].shape == (3,)
    np.testing.assert_array_equal(r["params"], np.stack([EQSettings.identity().params] * 3))
    assert np.all(r["response_db"] > 0.3) and np.all(r["seconds"] >= 0)


def test_spectral_system_recovers_and_beats_identity():
    same = evaluate_system(spectral_system, _pairs(2, same_clip=True), SR, progress=False)
    assert np.all(same["response_db"] < 0.5) and np.all(same["lts_ideal_db"] < 0.5)
    other = _pairs(2, same_clip=False)
    spectral = evaluate_system(spectral_system, other, SR, progress=False)
    identity = evaluate_system(identity_system, other, SR, progress=False)
    assert np.all(spectral["response_db"] < 1.0)
    assert np.all(spectral["response_db"] < identity["response_db"])


def _level_free_rms_db(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def test_mean_response_system_fits_the_mean_of_its_members_responses():
    theta = DEFAULT_EQ.sample(1, torch.Generator().manual_seed(3)).numpy()[0]
    fixed = lambda x, r, sr: EQSettings(theta)  # noqa: E731 - a system that always answers θ
    x = _tilted_noise(0)
    target = EQSettings(theta).response_db(ENSEMBLE_GRID_HZ, SR)
    twice = MeanResponseSystem((fixed, fixed))(x, x, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    assert _level_free_rms_db(twice, target) < 0.2
    halfway = MeanResponseSystem((fixed, identity_system))(x, x, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    assert _level_free_rms_db(halfway, target / 2) < 0.5
    assert _level_free_rms_db(halfway, target) > 1.0


def test_mean_prefix_builds_an_ensemble_of_named_systems():
    system = load_named_system("mean_identity+spectral")
    assert isinstance(system, MeanResponseSystem) and system.members == (identity_system, spectral_system)
    for name in ("mean_identity", "mean_identity+"):
        with pytest.raises(ValueError, match="mean_<a>"):
            load_named_system(name)
    with pytest.raises(ValueError, match="spectral is built in and takes no checkpoint"):
        load_named_system("mean_identity+spectral", "x.pt")  # a checkpoint goes to the last member


def test_an_ensembles_last_member_may_come_from_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "best.pt"
    save_checkpoint(weights, build_model("baseline_db"))
    system = load_named_system("mean_identity+mine", weights)
    assert system.members[0] is identity_system and system.members[1].__name__ == "mine"
    pair = _pairs(1, same_clip=False)[0]
    alone = load_predictor(weights=weights).predict(pair.input, pair.reference)
    halfway = system(pair.input, pair.reference, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    assert _level_free_rms_db(halfway, alone.response_db(ENSEMBLE_GRID_HZ, SR) / 2) < 0.5


def test_gated_mean_answers_the_fit_where_content_is_shared():
    """``gated_mean_ltsnet+identity``: the shipped ltsnet's gate finds a clip and its EQ'd copy to share content
    and answers the direct fit (near θ), which the ensemble alone (half of ltsnet's answer) does not reach."""
    system = load_named_system("gated_mean_ltsnet+identity")
    assert isinstance(system, GatedSystem) and isinstance(system.inner, MeanResponseSystem)
    pair = _pairs(1, same_clip=True)[0]
    target = pair.settings.response_db(ENSEMBLE_GRID_HZ, SR)
    gated = system(pair.input, pair.reference, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    ensemble = system.inner(pair.input, pair.reference, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    assert _level_free_rms_db(gated, target) < 0.5 < _level_free_rms_db(ensemble, target)
    for name in ("gated_mean_identity+spectral", "gated_mean_ltsnet", "gated_mean_+ltsnet"):
        with pytest.raises(ValueError, match="gated_mean_<a>"):
            load_named_system(name)


def test_swap_symmetric_system_reads_the_input_as_a_reference():
    """A system that answers θ whenever its *reference* is the marked recording (and nothing otherwise) gives
    half of θ's response for (plain, marked) and half of its inverse for (marked, plain)."""
    theta = DEFAULT_EQ.sample(1, torch.Generator().manual_seed(5)).numpy()[0]
    plain, marked = _tilted_noise(0), _tilted_noise(1)
    reads_reference = lambda x, r, sr: EQSettings(theta) if r is marked else EQSettings.identity()  # noqa: E731
    target = EQSettings(theta).response_db(ENSEMBLE_GRID_HZ, SR)
    system = SwapSymmetricSystem(reads_reference)
    forward = system(plain, marked, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    backward = system(marked, plain, SR).response_db(ENSEMBLE_GRID_HZ, SR)
    assert _level_free_rms_db(forward, target / 2) < 0.5
    assert _level_free_rms_db(backward, -target / 2) < 0.5
    assert _level_free_rms_db(forward, target) > 3 * _level_free_rms_db(forward, target / 2)


def test_swap_prefix_wraps_a_named_system():
    system = load_named_system("swap_spectral")
    assert isinstance(system, SwapSymmetricSystem) and system.member is spectral_system


def test_amount_scales_every_gain_and_clips_it_to_the_band_range():
    """``amount<k>_<name>``: each gain of the inner answer times k, the band's gain range kept; frequency and Q
    unchanged. A bad factor or a missing system name is one clear ValueError."""
    theta = np.array([[6.0, 120.0, 0.707], [-12.0, 450.0, 2.0], [3.0, 2500.0, 1.0], [0.0, 6000.0, 0.707]])
    system = load_named_system("amount1.5_identity")
    assert isinstance(system, AmountSystem) and system.amount == 1.5 and system.inner is identity_system
    answered = AmountSystem(lambda x, r, sr: EQSettings(theta), 1.5)(np.zeros(8), np.zeros(8), SR).params
    lowest = DEFAULT_EQ.bands[1].params[0].minimum
    assert lowest > -18.0 and answered[:, 0].tolist() == [9.0, lowest, 4.5, 0.0]  # -12 dB x 1.5, clipped
    np.testing.assert_array_equal(answered[:, 1:], theta[:, 1:])
    milder = AmountSystem(lambda x, r, sr: EQSettings(theta), 0.5)(np.zeros(8), np.zeros(8), SR)
    np.testing.assert_array_equal(milder.params, EQSettings(theta).scaled(0.5).params)
    for name in ("amount0_identity", "amount-1_identity", "amountx_identity", "amount1.5_", "amountinf_identity"):
        with pytest.raises(ValueError, match="amount<k>_<system>"):
            load_named_system(name)


def test_results_table_means_cis_and_bold_best():
    a = {"x": np.array([1.0, 2.0, 3.0]), "y": np.array([[0.0, 2.0], [2.0, 4.0], [4.0, 6.0]])}
    b = {"x": np.array([2.0, 2.0, 2.0]), "y": np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])}
    text = results_table({"set-a": {"A": a, "B": b}}, metrics=(("x", "X (dB)"), ("y", "Y (oct)")))
    lines = text.splitlines()
    assert lines[0] == "### set-a (3 pairs)"
    assert lines[2] == "| system | X (dB) | Y (oct) |"
    # A: x mean 2 ± t(0.975, 2)·1/√3 = 2.48; y per-pair means 1, 3, 5 → 3 ± 4.97. B: 2 ± 0, 1 ± 2.48
    assert lines[4] == "| A | **2.00 ± 2.48** | 3.00 ± 4.97 |"
    assert lines[5] == "| B | **2.00 ± 0.00** | **1.00 ± 2.48** |"


def results_table_of(markdown: str) -> str:
    """The part of a results file from its first set heading on (the table without the file's header)."""
    return markdown[markdown.index("### "):]


def test_checkpoint_systems_are_labelled_and_use_that_checkpoint(tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    weights = tmp_path / "run" / "best.pt"
    save_checkpoint(weights, build_model("baseline_db"))
    pairs = _pairs(2, same_clip=False)
    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: pairs)
    out = tmp_path / "results.md"
    main(["--systems", f"mine={weights}", f"hybrid_mine={weights}", "--sets", "cross-chain", "--out", str(out)])
    main_table, by_chain = out.read_text().split("### cross-chain by the reference's chain")
    rows = {line.split("|")[1].strip(): line for line in main_table.splitlines() if line.startswith("| ")}
    assert set(rows) == {"system", "mine", "hybrid_mine"}
    assert "| system | unknown (2) |" in by_chain  # these pairs name no chain
    # the "mine" row's gain error is that of the checkpoint's own predictions (not the shipped weights)
    predictor = load_predictor(weights=weights)
    predicted = np.stack([predictor.predict(p.input, p.reference).params for p in pairs])
    gain_error = np.abs(predicted[..., 0] - np.stack([p.params[:, 0] for p in pairs])).mean()
    assert f"{gain_error:.2f} ± " in rows["mine"].split("|")[4]
    assert "| hybrid_mine |" in capsys.readouterr().out


@pytest.mark.parametrize("arg, message", [
    ("=x.pt", "LABEL=PATH.pt"), ("mine=", "LABEL=PATH.pt"), ("hybrid_=x.pt", "LABEL=PATH.pt"),
    ("mine=no/such/file.pt", "not found"), ("spectral=x.pt", "takes no checkpoint"),
])
def test_bad_checkpoint_system_is_a_clear_error(arg, message, tmp_path):
    with pytest.raises(SystemExit, match=message):
        main(["--systems", arg, "--sets", "cross-chain", "--out", str(tmp_path / "r.md")])


def test_unknown_system_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model"):
        load_named_system("no_such_model")


def test_main_writes_markdown(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: _pairs(2, same_clip=True))
    out = tmp_path / "results.md"
    main(["--systems", "identity", "--sets", "speech-same-clip", "--out", str(out)])
    text = out.read_text()
    assert "### speech-same-clip (2 pairs)" in text and "| identity |" in text
    assert f"--sets speech-same-clip --out {out}`" in text  # the regeneration command names a non-default output
    printed = capsys.readouterr().out
    assert results_table_of(text) in printed and f"wrote {out}" in printed
    with pytest.raises(SystemExit, match="unknown model"):
        main(["--systems", "identity", "nope", "--sets", "speech-same-clip", "--out", str(out)])


def test_real_chain_block_keeps_only_pairs_without_a_synthetic_recording():
    chains = [("vctk", "hifitts"), ("synth", "vctk"), ("hifitts", "synth"), ("hifitts", "vctk")]
    pairs = [EvalPair(np.zeros(8), np.zeros(8), np.zeros((4, 3)), {"input": {"chain": a}, "reference": {"chain": b}})
             for a, b in chains]
    mask = real_chain_mask(pairs)
    assert mask.tolist() == [True, False, False, True]
    scored = {"response_db": np.array([1.0, 2.0, 3.0, 4.0]), "gain_db": np.arange(16.0).reshape(4, 4)}
    kept = subset_results(scored, mask)
    assert kept["response_db"].tolist() == [1.0, 4.0] and kept["gain_db"].shape == (2, 4)
    table = results_table({REAL_CHAINS_ONLY: {"identity": {k: v for k, v in kept.items()}}},
                          metrics=(("response_db", "response (dB)"),))
    assert f"### {REAL_CHAINS_ONLY} (2 pairs)" in table and "2.50" in table


def test_reference_chain_table_averages_each_systems_error_over_the_pairs_whose_reference_is_from_a_chain():
    chains = np.array(["vctk", "ljspeech", "vctk", "ami"])
    by_system = {"x": {"response_db": np.array([1.0, 6.0, 3.0, 4.0]), "reference_chain": chains},
                 "y": {"response_db": np.array([2.0, 3.0, 2.0, 1.0]), "reference_chain": chains}}
    table = reference_chain_table(by_system)
    assert "| system | ami (1) | ljspeech (1) | vctk (2) |" in table
    assert "| x | 4.00 | 6.00 | 2.00 |" in table and "| y | 1.00 | 3.00 | 2.00 |" in table


def test_paired_table_is_the_mean_and_ci_of_per_pair_differences():
    results = {"set-a": {"x": {"response_db": np.array([1.0, 2.0, 3.0])},
                         "y": {"response_db": np.array([2.0, 2.5, 4.5])}}}
    table = paired_table(results, "x", "y")
    assert "| set-a | 3 | -1.00 ± 1.24 |" in table  # diffs -1, -0.5, -1.5: sd 0.5, t(0.975, 2) = 4.303


def test_each_paired_comparison_gets_its_table_and_its_place_in_the_command(tmp_path):
    scores = {key: np.array([1.0, 2.0, 3.0]) for key, _ in TABLE_METRICS}
    results = {"speech-same-clip": {"identity": scores, "a": scores, "b": scores}}
    out = tmp_path / "ablation.md"
    write_results(results, ["identity", "a=a.pt", "b=b.pt"], out, [("a", "identity"), ("b", "identity")])
    text = out.read_text()
    assert "--paired a identity --paired b identity" in text
    assert text.count("### Paired difference, ") == 2 and "### Paired difference, b − identity" in text


def test_paired_needs_labels_among_the_systems():
    with pytest.raises(SystemExit, match="not among --systems"):
        main(["--systems", "identity", "spectral", "--sets", "speech-same-clip", "--paired", "identity", "nope"])


def test_network_prefix_turns_the_gate_off(tmp_path):
    """``network_<model>`` is the same checkpoint's network alone; the plain name keeps its calibrated gate."""
    from eqlib.checkpoint import read_checkpoint, save_checkpoint, write_payload
    from eqlib.evaluate import load_named_system
    from eqlib.models import build_model

    path = tmp_path / "lts.pt"
    save_checkpoint(path, build_model("ltsnet"))
    payload = read_checkpoint(path)
    payload["gate"] = {"threshold_db": 1.0}
    write_payload(path, payload)
    assert load_named_system("lts", path).predictor.gate is not None
    assert load_named_system("network_lts", path).predictor.gate is None


def test_application_cases_are_measured_and_tabulated_on_request(tmp_path, monkeypatch):
    from eqlib import application

    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: _pairs(2, same_clip=True))
    monkeypatch.setattr(application, "case_pairs",
                        lambda num_pairs: [(_tilted_noise(1), _tilted_noise(2)), (_tilted_noise(3), _tilted_noise(4))])
    out = tmp_path / "ablation.md"
    main(["--systems", "identity", "spectral", "--sets", "speech-same-clip", "--out", str(out), "--application-cases"])
    text = out.read_text()
    assert f"--out {out} --application-cases`" in text and "### The application cases" in text
    cases, effects = text.split("### The application cases")[1].split("### What the problem itself moved")

    def rows(section: str) -> list[str]:
        return [line for line in section.splitlines() if line.startswith(("| identity | ", "| spectral | "))]

    assert len(rows(cases)) == len(rows(effects)) == 8  # two systems × two problems × two directions
    assert "| identity | muddy bass | input has it | -5.1 | +0.0 ± 0.0 | 0/2 | 0/2 | no |" in rows(cases)
    assert "| identity | muddy bass | input has it | -5.1 | +0.0 ± 0.0 | +0.0 ± 0.0 | 0% |" in rows(effects)


def test_case_pairs_are_checked_before_any_set_is_scored(tmp_path, monkeypatch, capsys):
    from eqlib import application

    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: _pairs(2, same_clip=True))
    out = tmp_path / "cases.md"
    for args, message in ((["--case-pairs", "1"], "--case-pairs needs --application-cases"),
                          (["--application-cases", "--case-pairs", "3"], "take 1 to 2 pairs"),
                          (["--application-cases", "--case-pairs", "0"], "take 1 to 2 pairs")):
        with pytest.raises(SystemExit, match=message):
            main(["--systems", "identity", "--sets", "speech-same-clip", "--out", str(out), *args])
        assert not out.exists()
    main(["--systems", "identity", "--sets", "speech-same-clip", "--out", str(out), "--application-cases",
          "--case-pairs", "1"])
    text = out.read_text()
    assert "--application-cases --case-pairs 1`" in text and "over 1 held-out speaker pairs" in text
    assert len(application.case_pairs(2)) == 2 and len(application.case_pairs(None)) == 2  # None: every pair


def test_cases_with_shared_content_pair_each_input_with_itself(tmp_path, monkeypatch):
    """``--case-shared-content``: each input is its own reference, so the direct fit finds every problem; the flag
    needs ``--application-cases``, is checked before any set is scored, and goes into the command."""
    from eqlib import application

    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: _pairs(2, same_clip=False))
    out = tmp_path / "shared.md"
    with pytest.raises(SystemExit, match="--case-shared-content needs --application-cases"):
        main(["--systems", "spectral", "--sets", "speech-same-clip", "--out", str(out), "--case-shared-content"])
    assert not out.exists()
    assert all(x is r for x, r in application.case_pairs(2, content="same-recording"))
    main(["--systems", "spectral", "--sets", "speech-same-clip", "--out", str(out), "--application-cases",
          "--case-pairs", "2", "--case-shared-content"])
    text = out.read_text()
    assert "--application-cases --case-pairs 2 --case-shared-content`" in text
    assert "over 2 held-out recordings, each its own reference (shared content)" in text
    cases = text.split("### The application cases")[1].split("### What the problem itself moved")[0]
    rows = [line for line in cases.splitlines() if line.startswith("| spectral | ")]
    assert len(rows) == 4 and all(row.endswith("| yes |") for row in rows)


def test_cases_of_one_speaker_come_from_the_same_speaker_set(tmp_path, monkeypatch):
    """``--case-same-speaker`` takes its pairs from ``speech-same-speaker``, goes into the command and the heading,
    and cannot be asked for together with ``--case-shared-content``; an unknown content is refused."""
    from eqlib import application

    asked = []

    def load(name, num_pairs=None):
        asked.append(name)
        return _pairs(2, same_clip=False)

    monkeypatch.setattr(evalsets, "load_eval_set", load)
    out = tmp_path / "same_speaker.md"
    with pytest.raises(SystemExit):
        main(["--systems", "identity", "--sets", "speech-same-clip", "--out", str(out), "--application-cases",
              "--case-same-speaker", "--case-shared-content"])
    with pytest.raises(SystemExit, match="--case-same-speaker needs --application-cases"):
        main(["--systems", "identity", "--sets", "speech-same-clip", "--out", str(out), "--case-same-speaker"])
    assert not out.exists() and asked == []
    with pytest.raises(ValueError, match="unknown case content 'same-room'"):
        application.case_pairs(2, content="same-room")
    main(["--systems", "identity", "--sets", "speech-same-clip", "--out", str(out), "--application-cases",
          "--case-pairs", "2", "--case-same-speaker"])
    assert asked[0] == "speech-same-speaker"
    text = out.read_text()
    assert "--application-cases --case-pairs 2 --case-same-speaker`" in text
    assert "over 2 pairs of one held-out speaker saying other words" in text
    assert "one voice, other words, one chain" in text


def test_case_bells_replace_the_problems_and_add_a_share_table(tmp_path, monkeypatch):
    """``--case-bells``: the application cases on one bell per frequency, a table of the share of each followed,
    the flag in the command; it needs ``--application-cases``, and a bell out of range stops before any scoring."""
    scored = []
    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: _pairs(2, same_clip=False))
    monkeypatch.setattr("eqlib.evaluate.evaluate_sets", lambda *args: scored.append(1) or {})
    out = tmp_path / "bells.md"
    for args, message in ((["--case-bells", "500"], "--case-bells needs --application-cases"),
                          (["--application-cases", "--case-bells", "50"], "no bell at 50 Hz")):
        with pytest.raises(SystemExit, match=message):
            main(["--systems", "spectral", "--sets", "speech-same-clip", "--out", str(out), *args])
    assert not out.exists() and scored == []
    monkeypatch.undo()
    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: _pairs(2, same_clip=False))
    main(["--systems", "spectral", "--sets", "speech-same-clip", "--out", str(out), "--application-cases",
          "--case-pairs", "1", "--case-shared-content", "--case-bells", "500", "4000"])
    text = out.read_text()
    assert "--application-cases --case-pairs 1 --case-shared-content --case-bells 500 4000`" in text
    shares = text.split("### The share of each problem followed")[1].splitlines()
    rows = [line for line in shares if line.startswith("| +9 dB bell")]
    assert [row.split(" | ")[0] for row in rows] == ["| +9 dB bell at 500 Hz", "| +9 dB bell at 4000 Hz"]
    assert "harsh sibilance" not in text
    assert (tmp_path / "bells.png").stat().st_size > 10_000  # the shares as a figure beside the table


def test_a_remembering_system_answers_the_same_arrays_once():
    from eqlib.evaluate import RememberingSystem

    calls = []

    def counted(x: np.ndarray, r: np.ndarray, rate: int) -> EQSettings:
        calls.append(1)
        return EQSettings.identity()

    system = RememberingSystem(counted)
    inputs, references = [_tilted_noise(1), _tilted_noise(2)], [_tilted_noise(3), _tilted_noise(4)]
    first = system.batch(inputs, references, SR)
    assert system.batch(list(inputs), list(references), SR) == first and len(calls) == 2  # the same arrays
    system.batch([x.copy() for x in inputs], references, SR)  # equal, but other arrays: asked again
    system.batch(inputs, references, 48000)
    assert len(calls) == 6


def test_the_systems_that_share_a_models_work_answer_as_each_alone():
    """``model_systems_sharing_work`` gives ``make figures`` the model, its network and its hybrid from one run of the
    network; each answers exactly what :func:`load_named_system` of its name answers alone."""
    from eqlib.checkpoint import default_weights
    from eqlib.evaluate import load_named_system, model_systems_sharing_work

    if not default_weights("ltsnet").is_file():
        pytest.skip("no shipped ltsnet weights")
    pairs = _pairs(3, same_clip=False)
    inputs, references = [p.input for p in pairs], [p.reference for p in pairs]
    references[2] = 0.5 * inputs[2]  # a pair sharing its content: the gate's fit
    shared = model_systems_sharing_work("ltsnet")
    assert list(shared) == ["ltsnet", "network_ltsnet", "hybrid_ltsnet"]
    for name, system in shared.items():
        alone = load_named_system(name).batch(inputs, references, SR)
        for got, want in zip(system.batch(inputs, references, SR), alone):
            np.testing.assert_allclose(got.params, want.params, atol=1e-9, err_msg=name)
