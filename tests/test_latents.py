"""Latent statistics against hand-made cases; latent collection against per-pair forward passes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from eqlib.latents import collect_latents, dynamic_range_db, latent_summary, norms, pca_2d, pick_good_and_poor, sparsity
from eqlib.models import build_model


def test_sparsity_counts_elements_below_relative_tolerance() -> None:
    x = np.array([[0.0, 0.0, 1e-5, 1.0], [2.0, -2.0, 1.0, 0.001]])
    np.testing.assert_allclose(sparsity(x, tol=1e-4), [0.75, 0.0])  # 0.001 > 1e-4 · 2
    np.testing.assert_allclose(sparsity(x, tol=1e-3), [0.75, 0.25])  # 0.001 <= 1e-3 · 2
    assert sparsity(np.zeros(5))[0] == 1.0


def test_dynamic_range_of_two_levels() -> None:
    row = np.full(20, 0.01)
    row[0] = 1.0
    row = np.concatenate([row, np.zeros(30)])  # zeros are sparsity, not dynamic range
    assert dynamic_range_db(row)[0] == pytest.approx(40.0)
    assert dynamic_range_db(np.zeros(4))[0] == 0.0
    assert dynamic_range_db(np.ones(8))[0] == pytest.approx(0.0)


def test_norms_of_a_3_4_vector() -> None:
    n = norms(np.array([3.0, -4.0]))
    assert (n["l1"][0], n["l2"][0], n["linf"][0]) == (7.0, 5.0, 4.0)


def test_summary_counts_negative_elements() -> None:
    s = latent_summary(np.array([[1.0, -1.0, 0.0, 0.5], [1.0, 0.0, 0.0, 0.0]]))
    assert s["negative_share"] == pytest.approx(1 / 8)
    assert s["sparsity"] == pytest.approx((0.25 + 0.75) / 2)
    assert s["dim"] == 4


def test_pca_of_points_on_a_line_explains_everything() -> None:
    t = np.linspace(-2.0, 3.0, 11)
    direction = np.array([1.0, 2.0, -2.0]) / 3.0  # unit length, largest loading ±2/3
    points = np.array([5.0, -1.0, 0.5]) + t[:, None] * direction
    coords, ratio = pca_2d(points)
    np.testing.assert_allclose(ratio, [1.0, 0.0], atol=1e-12)
    # the axis is ±direction; the sign rule makes the largest-|loading| positive: +2/3 on element 1
    np.testing.assert_allclose(coords[:, 0], t - t.mean(), atol=1e-12)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-12)


def test_pca_variance_shares_match_covariance_eigenvalues() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    coords, ratio = pca_2d(x)
    eig = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(ratio, eig[:2] / eig.sum(), rtol=1e-10)
    np.testing.assert_allclose(coords.var(axis=0, ddof=1), eig[:2], rtol=1e-10)
    flipped, _ = pca_2d(x[::-1])  # same data, other order: same axes, same signs
    np.testing.assert_allclose(flipped[::-1], coords, atol=1e-10)


def test_pca_rejects_a_single_vector() -> None:
    with pytest.raises(ValueError, match="at least two"):
        pca_2d(np.ones((1, 4)))


def test_pick_good_and_poor_respects_eligibility() -> None:
    errors = np.array([0.5, 0.1, 9.0, 3.0, 0.2, 7.0, 0.05])
    ok = np.array([True, True, False, True, True, True, False])
    good, poor = pick_good_and_poor(errors, ok, k=2)
    assert good.tolist() == [1, 4] and poor.tolist() == [5, 3]
    with pytest.raises(ValueError, match="eligible"):
        pick_good_and_poor(errors, ok, k=3)


@pytest.mark.parametrize("name", ["baseline_db", "proposed_db"])
def test_collect_latents_matches_single_pair_passes(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name).eval()
    rng = np.random.default_rng(0)
    lengths = [(22050, 22050), (22050, 22050), (22050, 22050), (30000, 26000)]  # a batch of 2, then single runs
    pairs = [SimpleNamespace(input=rng.standard_normal(a).astype(np.float32) * 0.1,
                             reference=rng.standard_normal(b).astype(np.float32) * 0.1) for a, b in lengths]
    got = collect_latents(model, pairs, batch_size=2, progress=False)
    assert got["input"].shape == (4, model.config.latent_dim) and got["params_norm"].shape == (4, 12)
    with torch.no_grad():
        for i, p in enumerate(pairs):
            one = model.forward_audio(torch.as_tensor(p.input)[None], torch.as_tensor(p.reference)[None])
            np.testing.assert_allclose(got["input"][i], one.latent_in[0].double().numpy(), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(got["fed"][i], one.latent_fed[0].double().numpy(), rtol=1e-4, atol=1e-6)
    assert np.all(got["input"] >= 0)  # the extractor ends in a ReLU
    if name == "baseline_db":  # the baselines feed reference minus input
        np.testing.assert_allclose(got["fed"], got["reference"] - got["input"], atol=1e-6)
