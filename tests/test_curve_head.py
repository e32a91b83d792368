"""LTSNet's curve head: it answers a response curve, the knobs are fitted to it, and it trains end to end."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.signal import resample_poly

from eqlib.eq import EQSettings
from eqlib.examples import list_examples, load_example
from eqlib.features import DB_SCALE
from eqlib.inference import Predictor, load_predictor
from eqlib.latents import collect_latents
from eqlib.metrics import response_error_db
from eqlib.models import build_model, empty_top_bands
from eqlib.train import TrainConfig, band_grid, curve_error_db, model_config, train

CURVE = model_config(TrainConfig(model="ltsnet", curve_head=True))


def _latent(model, audio: np.ndarray) -> torch.Tensor:
    return model.latent(model.audio_rows(torch.as_tensor(audio)[None]))


def test_a_new_curve_head_answers_half_the_long_term_spectral_difference():
    torch.manual_seed(0)
    model = build_model(CURVE).eval()
    latent_in, latent_ref = torch.rand(3, CURVE.latent_dim) + 0.1, torch.rand(3, CURVE.latent_dim) + 0.1
    out = model.head(latent_in, latent_ref)
    (lts_in, _), (lts_ref, _) = model.statistics(latent_in), model.statistics(latent_ref)
    assert out.params_norm is None
    assert torch.allclose(out.curve_db, 0.5 * (lts_ref - lts_in) * DB_SCALE, atol=1e-5)


def test_a_curve_that_passes_the_whole_difference_recovers_the_eq_of_the_same_recording():
    """Gate open (g = 1), no correction: the curve is LTS(EQ(x)) − LTS(x), and the fitted knobs are the EQ's."""
    model = build_model(CURVE).eval()
    with torch.no_grad():
        model.predictor[-1].bias[: len(model.config.features.band_centres_hz())] = 30.0
    audio, rate = load_example(list_examples("speech")[0])
    eq = EQSettings([[4.0, 150.0, 0.8], [-5.0, 700.0, 1.5], [6.0, 4000.0, 2.0], [-3.0, 9000.0, 0.7]])
    predicted = Predictor(model).predict(audio, eq.apply(audio, rate).astype(np.float32))
    assert float(response_error_db(predicted.params, eq.params)) < 0.5


def test_bands_far_below_the_peak_are_not_fitted():
    """The spectral fit's rule: a band more than 80 dB below a recording's peak band holds nothing to fit."""
    model = build_model(CURVE).eval()
    audio, _ = load_example(list_examples("speech")[0])
    latent = _latent(model, audio)
    centres = model.config.features.band_centres_hz()
    bands = len(centres)
    emptied = latent.clone()
    emptied[:, :bands][:, torch.as_tensor(centres > 8000)] *= 1e-12  # the power rows: 120 dB down
    weights = model.head(latent, emptied).curve_weights[0].numpy()
    assert weights[centres <= 8000].all() and not weights[centres > 8000].any()
    assert model.head(latent, latent).curve_weights[0].numpy().all()


def _lts_db(model, audio: np.ndarray) -> torch.Tensor:
    bands = len(model.config.features.band_centres_hz())
    return 10 * torch.log10(_latent(model, audio)[:, :bands].double().clamp_min(1e-300))


@pytest.mark.parametrize("name", list_examples("speech")[:4] + ["music-vocadito-singing", "music-arovane-beat",
                                                                 "music-orchestra-fragment"])
def test_a_resampled_recordings_empty_top_is_found_and_a_full_band_one_has_none(name):
    """scipy's polyphase resampler band-limits a real recording to 0.5 × 16 kHz: its top from 8–9.5 kHz is
    empty (not fitted), while the original has none below 18 kHz (vocadito's own lossy top is empty above 19 kHz).
    The sax example is left out: its band near 8 kHz already lies at its noise floor, with no cliff to find."""
    model = build_model(CURVE).eval()
    audio, rate = load_example(name)
    limited = resample_poly(resample_poly(audio, 160, 441), 441, 160).astype(np.float32)[: len(audio)]
    centres = torch.as_tensor(model.config.features.band_centres_hz())
    empty = empty_top_bands(_lts_db(model, limited), centres)[0].numpy()
    assert empty[centres.numpy() > 9500].all() and not empty[centres.numpy() < 7000].any()
    assert not empty_top_bands(_lts_db(model, audio), centres)[0, centres < 18000].any()
    weights = model.head(_latent(model, audio), _latent(model, limited)).curve_weights[0].numpy()
    hz = centres.numpy()
    assert not weights[hz > 9500].any() and weights[(hz > 100) & (hz < 7000)].all()


def test_curve_error_ignores_level_and_the_band_above_the_pair():
    grid = band_grid(torch.device("cpu"), CURVE.features)
    centres = grid.freqs_hz
    params_norm = torch.rand(2, 12, generator=torch.Generator().manual_seed(1))
    settings = [EQSettings.from_norm(p.double().numpy()) for p in params_norm]
    curve = torch.as_tensor(np.stack([s.response_db(centres.double().numpy(), 44100) for s in settings])).float()
    weights, full = torch.ones_like(curve), torch.tensor([20000.0, 20000.0])
    assert curve_error_db(curve + 7.0, weights, params_norm, full, grid).max() < 1e-3
    wrong_top = curve.clone()
    wrong_top[:, centres > 7200] += 10.0
    assert curve_error_db(wrong_top, weights, params_norm, full, grid).min() > 1.0
    assert curve_error_db(wrong_top, weights, params_norm, torch.tensor([7200.0, 7200.0]), grid).max() < 1e-3


def test_a_curve_head_trains_and_its_checkpoint_predicts(tmp_path):
    config = TrainConfig(model="ltsnet", curve_head=True, steps=4, batch_size=8, num_excerpts=12, val_pairs=16,
                         eval_every=2, warmup_steps=2, data="synth", threads=1, param_loss_weight=0.0,
                         response_loss_weight=1.0)
    best = train(config, tmp_path, progress=False)
    assert np.isfinite(best["val_response_db"])
    predictor = load_predictor(weights=tmp_path / "best.pt")
    audio, _ = load_example(list_examples("speech")[0])
    assert isinstance(predictor.predict(audio, audio[::-1].copy()), EQSettings)


def test_collected_latents_of_a_curve_head_carry_the_knobs_fitted_to_its_curve():
    """``collect_latents`` answers, per pair, the normalised knobs that ``Predictor.predict`` gives (gate off)."""
    torch.manual_seed(0)
    model = build_model(CURVE).eval()
    audio, rate = load_example(list_examples("speech")[0])
    eq = EQSettings([[4.0, 150.0, 0.8], [-5.0, 700.0, 1.5], [6.0, 4000.0, 2.0], [-3.0, 9000.0, 0.7]])
    pair = SimpleNamespace(input=audio[: 3 * rate], reference=eq.apply(audio, rate).astype(np.float32)[: 3 * rate])
    latents = collect_latents(model, [pair, pair], progress=False)
    expected = Predictor(model).predict(pair.input, pair.reference).to_norm()
    assert latents["params_norm"].shape == (2, 12)
    np.testing.assert_allclose(latents["params_norm"], np.stack([expected, expected]), atol=1e-3)
