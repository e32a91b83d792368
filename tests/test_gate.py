"""The shared-content gate: the fit residual tells same content from different content, calibration picks the
threshold that minimises the gated error, and a gated predictor answers a same-clip pair with the fit."""

import numpy as np
import pytest
import torch

from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.examples import list_examples, load_example
from eqlib.gate import SharedContentGate, calibrate, fit_residual_db
from eqlib.inference import Predictor
from eqlib.models import build_model
from eqlib.spectrum import log_grid_hz, smoothed_spectrum_db

SR = 44100


@pytest.fixture(scope="module")
def clips():
    return [load_example(n)[0][: 3 * SR].astype(np.float64) for n in list_examples("speech")[:3]]


def test_residual_is_small_for_shared_content_and_large_for_other_speech(clips):
    theta = EQSettings(DEFAULT_EQ.sample(1, torch.Generator().manual_seed(1))[0].numpy())
    grid = log_grid_hz(SR)
    level = {k: smoothed_spectrum_db(x, SR)[1] for k, x in
             (("input", clips[0]), ("same", theta.apply(clips[0], SR)), ("other", theta.apply(clips[1], SR)))}
    assert fit_residual_db(grid, level["input"], level["same"], theta, SR) < 0.5
    assert fit_residual_db(grid, level["input"], level["other"], theta, SR) > 2.0


def test_calibration_picks_the_threshold_that_separates_the_two_kinds():
    residuals = np.array([0.2, 0.3, 0.25, 2.5, 3.0, 2.2])
    errors_fit = np.array([0.1, 0.1, 0.1, 6.0, 7.0, 5.0])  # the fit is right for shared content only
    errors_network = np.array([1.5, 1.5, 1.5, 3.0, 3.0, 3.0])
    threshold, error = calibrate(errors_fit, errors_network, residuals)
    assert 0.3 <= threshold < 2.2
    assert error == pytest.approx(np.mean([0.1, 0.1, 0.1, 3.0, 3.0, 3.0]))


def test_gated_predictor_answers_a_same_clip_pair_with_the_fit(clips):
    torch.manual_seed(0)
    model = build_model("ltsnet").eval()  # untrained: its own answer is far off
    theta = EQSettings([[6.0, 200.0, 0.7], [-5.0, 800.0, 1.5], [7.0, 4000.0, 2.0], [-4.0, 9000.0, 0.7]])
    reference = theta.apply(clips[0], SR).astype(np.float32)
    plain = Predictor(model).predict(clips[0].astype(np.float32), reference)
    gated = Predictor(model, {"gate": SharedContentGate(1.0).to_dict()}).predict(clips[0].astype(np.float32),
                                                                                reference)
    grid = np.geomspace(40, 16000, 256)

    def level_free_error(settings: EQSettings) -> float:
        diff = settings.response_db(grid, SR) - theta.response_db(grid, SR)
        return float(np.mean(np.abs(diff - diff.mean())))

    assert level_free_error(gated) < 0.5 < level_free_error(plain)
