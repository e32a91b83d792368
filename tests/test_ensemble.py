"""The shipped default is an ensemble: two models' responses averaged, behind the first one's gate."""

from pathlib import Path

import numpy as np
import pytest
import torch

from eqlib.checkpoint import (CheckpointError, default_weights, ensemble_payload, read_checkpoint, read_weights,
                              save_checkpoint, write_payload)
from eqlib.eq import EQSettings
from eqlib.inference import ENSEMBLE, ENSEMBLE_LEAD, EnsemblePredictor, load_predictor
from eqlib.models import build_model

RATE = 44100


def _noise(seed: int, tilt: float, seconds: float = 2.0) -> np.ndarray:
    """Seeded white noise through a one-pole filter (``tilt`` in [0, 1): more low end)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    return lfilter([1.0], [1.0, -tilt], rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def _checkpoint(tmp_path: Path, name: str, seed: int, gate_db: float | None = None) -> Path:
    torch.manual_seed(seed)
    path = tmp_path / f"{name}-{seed}.pt"
    save_checkpoint(path, build_model(name))
    if gate_db is not None:
        payload = read_checkpoint(path)
        payload["gate"] = {"threshold_db": gate_db}
        write_payload(path, payload)
    return path


def _ensemble(tmp_path: Path, *members: Path) -> Path:
    path = tmp_path / "ensemble.pt"
    write_payload(path, ensemble_payload([read_checkpoint(m) for m in members], name="pair"))
    return path


def test_an_ensemble_of_one_model_twice_answers_what_the_model_answers(tmp_path):
    """The mean of two equal responses is that response: the fitted EQ's response is the member's, level and all."""
    member = _checkpoint(tmp_path, "proposed_db", 0)
    ensemble = load_predictor(weights=_ensemble(tmp_path, member, member))
    assert isinstance(ensemble, EnsemblePredictor) and ensemble.name == "pair"
    x, r = _noise(1, 0.3), _noise(2, 0.8)
    alone = load_predictor(weights=member).predict(x, r)
    both = ensemble.predict(x, r)
    grid = np.geomspace(30.0, 16000.0, 200)  # level included: the same response, not only the same shape
    np.testing.assert_allclose(both.response_db(grid, RATE), alone.response_db(grid, RATE), atol=0.1)


def test_the_ensemble_is_the_gated_mean_that_evaluate_measures(tmp_path):
    """``ensemble.pt`` answers exactly what ``eqlib.evaluate``'s ``gated_mean_<a>+<b>`` system over the same two
    files does (:class:`GatedSystem` around :class:`MeanResponseSystem`), so the numbers measured that way are the
    shipped model's."""
    from eqlib.evaluate import GatedSystem, MeanResponseSystem
    from eqlib.inference import load_system

    lead, other = _checkpoint(tmp_path, "ltsnet", 0, gate_db=3.0), _checkpoint(tmp_path, "proposed_db", 1)
    ensemble = load_predictor(weights=_ensemble(tmp_path, lead, other))
    inputs = [_noise(3, 0.2), _noise(4, 0.5), _noise(5, 0.1)]
    references = [_noise(6, 0.7), _noise(7, 0.0), 0.5 * inputs[2]]  # the third pair shares its content
    network = load_system("lead", lead)
    network.predictor.gate = None
    measured = GatedSystem(MeanResponseSystem((network, load_system("other", other))), load_system("lead", lead))
    expected = measured.batch(inputs, references, RATE)
    answers = ensemble.predict_batch(inputs, references)
    for got, want in zip(answers, expected):
        np.testing.assert_allclose(got.params, want.params, atol=1e-9)
    np.testing.assert_allclose(answers[2].params[:, 0], 0.0, atol=0.05)  # shared content: the gate's fit, flat


def test_the_streamed_latent_is_both_members_latents_side_by_side(tmp_path):
    lead, other = _checkpoint(tmp_path, "ltsnet", 0), _checkpoint(tmp_path, "proposed_db", 1)
    ensemble = load_predictor(weights=_ensemble(tmp_path, lead, other))
    audio = _noise(8, 0.4)
    latent = ensemble.latent(audio)
    parts = [load_predictor(weights=p).latent(audio) for p in (lead, other)]
    assert latent.shape == (1, sum(p.shape[-1] for p in parts))
    torch.testing.assert_close(latent, torch.cat(parts, dim=-1))
    with pytest.raises(ValueError, match="expected latents of"):
        ensemble.predict_from_latents(latent[:, :-1], latent[:, :-1])


@pytest.mark.parametrize("members, message", [
    (1, "two or more member checkpoints"),
    ("not a list", "two or more member checkpoints"),
    ([{"model_config": {}}, {"model_config": {}, "state_dict": {}}], r"member 1\): checkpoint lacks"),
])
def test_a_malformed_ensemble_is_refused_in_one_line(tmp_path, members, message):
    member = read_checkpoint(_checkpoint(tmp_path, "proposed_db", 0))
    path = tmp_path / "bad.pt"
    write_payload(path, {"format": ensemble_payload([])["format"],
                         "members": [member] * members if isinstance(members, int) else members})
    with pytest.raises(CheckpointError, match=message):
        read_weights(path)
    with pytest.raises(CheckpointError, match="lacks its model config"):
        read_checkpoint(path)  # an ensemble's file is not one model's checkpoint (ship, gate, resume refuse it)


def test_members_at_different_sample_rates_are_refused(tmp_path):
    from eqlib.inference import Predictor

    lead, other = (load_predictor(weights=_checkpoint(tmp_path, n, 0)) for n in ("ltsnet", "proposed_db"))
    other.sample_rate = 48000
    with pytest.raises(CheckpointError, match="one sample rate"):
        EnsemblePredictor([lead, other])
    assert isinstance(EnsemblePredictor([lead, lead]), Predictor)


def test_the_shipped_ensemble_leads_with_the_shipped_ltsnet_and_its_gate():
    """``ensemble.pt`` holds a copy of ``ltsnet.pt``; shipping new ``ltsnet`` weights must rebuild it."""
    if not default_weights(ENSEMBLE).is_file():
        pytest.skip(f"no shipped ensemble at {default_weights(ENSEMBLE)}")
    members = read_weights(default_weights(ENSEMBLE))["members"]
    lead = read_checkpoint(default_weights(ENSEMBLE_LEAD))
    assert members[0]["gate"] == lead["gate"] and members[0]["model_config"] == lead["model_config"]
    for key, value in lead["state_dict"].items():
        assert torch.equal(members[0]["state_dict"][key], value), key
    assert members[1]["train_config"]["data"] == "all"  # the second member learned from speech and music
    predictor = load_predictor(ENSEMBLE)
    assert isinstance(predictor, EnsemblePredictor) and predictor.gate is not None
    assert isinstance(predictor.predict(_noise(9, 0.3), _noise(10, 0.6)), EQSettings)


def _run_folder(tmp_path: Path) -> Path:
    """A finished training run of ``proposed_db``: ``best.pt`` and a one-row ``metrics.csv``."""
    run = tmp_path / "run"
    run.mkdir()
    torch.manual_seed(3)
    save_checkpoint(run / "best.pt", build_model("proposed_db"), train_config={"model": "proposed_db", "steps": 1})
    (run / "metrics.csv").write_text("step,wall_s\n1,2.5\n")
    return run


def test_ship_ensemble_pairs_the_shipped_lead_with_the_run(tmp_path, monkeypatch):
    import eqlib.ship as ship

    monkeypatch.setattr(ship, "WEIGHTS_DIR", tmp_path)
    lead = _checkpoint(tmp_path, ENSEMBLE_LEAD, 0, gate_db=1.5)
    lead.rename(tmp_path / f"{ENSEMBLE_LEAD}.pt")
    target = ship.ship_ensemble(_run_folder(tmp_path), "test CPU")
    members = read_weights(target)["members"]
    assert target == tmp_path / f"{ENSEMBLE}.pt" and [m["model_config"]["name"] for m in members] == [
        ENSEMBLE_LEAD, "proposed_db"]
    assert members[0]["gate"] == {"threshold_db": 1.5} and members[1]["hardware"] == "test CPU"
    assert members[1]["steps_run"] == 1 and "optimizer" not in members[1]


def test_ship_ensemble_refuses_a_lead_without_its_gate_in_one_line(tmp_path, monkeypatch, capsys):
    import eqlib.ship as ship

    monkeypatch.setattr(ship, "WEIGHTS_DIR", tmp_path)
    _checkpoint(tmp_path, ENSEMBLE_LEAD, 0).rename(tmp_path / f"{ENSEMBLE_LEAD}.pt")
    run = _run_folder(tmp_path)
    with pytest.raises(CheckpointError, match="no shared-content gate"):
        ship.ship_ensemble(run, "test CPU")
    with pytest.raises(SystemExit, match=r"^error: .*no shared-content gate") as exit_info:
        ship.main(["--ensemble", str(run)])
    assert "\n" not in str(exit_info.value) and not (tmp_path / f"{ENSEMBLE}.pt").exists()
