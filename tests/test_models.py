"""The models: shapes, variable length, learned vs fixed comparison, LTSNet's statistics, checkpoints."""

import pytest
import torch

from eqlib.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from eqlib.inference import Predictor
from eqlib.models import (MODEL_CONFIGS, MODEL_NAMES, PAPER_MODELS, LearnedComparison, LTSNet, SubtractComparison,
                          build_model)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_forward_shapes_and_range(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    power = torch.rand(3, model.config.features.num_bank_rows, 40) * 1e-3
    out = model(power, power.flip(0))
    assert out.params_norm.shape == (3, 12)
    assert ((out.params_norm >= 0) & (out.params_norm <= 1)).all()
    assert out.latent_in.shape == out.latent_ref.shape == (3, model.config.latent_dim)
    assert (out.latent_in[:, : model.config.features.num_bank_rows] >= 0).all()  # ReLU latents / mean powers
    if name in PAPER_MODELS:
        assert model.config.latent_dim == 2560


def test_ltsnet_statistics_are_the_long_term_spectrum_mean_and_spread_in_db():
    model = build_model("ltsnet").eval()
    bands = model.config.features.num_bank_rows
    gen = torch.Generator().manual_seed(0)
    power = torch.rand(2, bands, 50, generator=gen) * 1e-3 + 1e-5
    lts, stats = model.statistics(model.latent(power))
    level_db = 10 * torch.log10(power.mean(-1))
    level_db = level_db - level_db[:, model.level_weights > 0].mean(-1, keepdim=True)
    torch.testing.assert_close(lts * 20, level_db, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(stats[:, 2 * bands:] * 20, (10 * torch.log10(power)).std(-1, unbiased=False),
                               rtol=1e-3, atol=1e-3)
    # a louder recording has the same statistics: the level is removed
    torch.testing.assert_close(model.statistics(model.latent(power * 10))[1], stats, rtol=1e-4, atol=1e-4)


def test_comparison_kinds():
    assert isinstance(build_model("baseline_db").comparison, SubtractComparison)
    assert isinstance(build_model("proposed_db").comparison, LearnedComparison)
    assert MODEL_CONFIGS["baseline_linear"].features.db is False
    model = build_model("baseline_db").eval()
    power = torch.rand(2, model.config.features.num_bins, 30)
    out = model(power, power * 2)
    torch.testing.assert_close(out.latent_fed, out.latent_ref - out.latent_in)


def test_any_length_audio():
    model = build_model("proposed_db").eval()
    with torch.no_grad():
        for seconds in (0.5, 3.0, 7.3):
            audio = torch.randn(1, int(seconds * 44100)) * 0.1
            assert model.forward_audio(audio, audio).params_norm.shape == (1, 12)


def test_blockwise_latent_equals_whole_latent_away_from_edges():
    """Long files are analysed in blocks; the mean of frame features is the same up to block-edge frames."""
    torch.manual_seed(1)
    model = build_model("proposed_db").eval()
    audio = (torch.randn(20 * 44100) * 0.1).numpy()
    predictor = Predictor(model)
    whole = predictor.latent(audio)
    acc = predictor.latent_accumulator()
    for start in range(0, len(audio), 5 * 44100):
        acc.add(audio[start:start + 5 * 44100])
    rel = (acc.latent() - whole).norm() / whole.norm()
    assert rel < 0.05


def test_checkpoint_round_trip(tmp_path):
    model = build_model("baseline_db")
    save_checkpoint(tmp_path / "m.pt", model, step=7, metrics={"val_response_db": 1.5})
    loaded, payload = load_model(tmp_path / "m.pt")
    assert payload["step"] == 7 and loaded.config == model.config
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


def test_bad_checkpoints_are_rejected(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a loadable"):
        read_checkpoint(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an eqlib checkpoint"):
        read_checkpoint(tmp_path / "foreign.pt")

    class Evil:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    torch.save({"format": "eqlib.checkpoint/1", "evil": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a loadable"):
        read_checkpoint(tmp_path / "evil.pt")
    payload = {"format": "eqlib.checkpoint/1", "model_config": MODEL_CONFIGS["proposed_db"].to_dict(),
               "state_dict": {"nope": torch.zeros(1)}}
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(tmp_path / "mismatch.pt")
