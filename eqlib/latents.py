"""What the models' latents look like: extraction over evaluation pairs, sparsity, norms, dynamic range, PCA.

The paper shows latents of a few examples (supplementary material); these functions turn that into
numbers over a whole test set. Latent arrays are ``(pairs, dim)``: the *extracted* latents of input and
reference (``latent_dim`` = 2,560 elements, non-negative) and the latent *fed* to the predictor (the
reference-minus-input difference for the baselines, the learned comparison for the proposed model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from eqlib.inference import output_settings
from eqlib.models import PairModel

LATENT_KINDS = ("input", "reference", "fed")


class AudioPair(Protocol):
    """Anything with mono ``input`` and ``reference`` arrays ``(time,)`` at the model's rate (e.g. ``EvalPair``)."""

    input: np.ndarray
    reference: np.ndarray


@torch.no_grad()
def collect_latents(model: PairModel, pairs: Sequence[AudioPair], batch_size: int = 16,
                    progress: bool = True) -> dict[str, np.ndarray]:
    """Extracted and fed latents of every pair, in batches, without gradients.

    Consecutive pairs whose input and reference share one length are batched together; others are
    run on their own (each latent is a time average, so lengths may differ between pairs).

    Args:
        model: a model in eval mode (its device is used).
        pairs: objects with ``input`` and ``reference`` float ``(time,)`` at ``model.config.features.sample_rate``.
        batch_size: pairs per forward pass.
        progress: show a tqdm bar.

    Returns:
        ``{"input": (pairs, latent_dim), "reference": (pairs, latent_dim), "fed": (pairs, fed_dim),
        "params_norm": (pairs, 12)}`` as float64 numpy arrays; a curve head's knobs are those fitted to its curve.
    """
    if len(pairs) == 0:
        raise ValueError("collect_latents needs at least one pair")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    batches: list[list[AudioPair]] = []
    for pair in pairs:
        shape = (len(pair.input), len(pair.reference))
        last = batches[-1] if batches else None
        if last and len(last) < batch_size and (len(last[0].input), len(last[0].reference)) == shape:
            last.append(pair)
        else:
            batches.append([pair])
    out: dict[str, list[np.ndarray]] = {"input": [], "reference": [], "fed": [], "params_norm": []}
    for batch in tqdm(batches, desc=f"latents {model.config.name}", unit="batch", leave=False, disable=not progress):
        audio_in = torch.as_tensor(np.stack([np.asarray(p.input, dtype=np.float32) for p in batch]), device=device)
        audio_ref = torch.as_tensor(np.stack([np.asarray(p.reference, dtype=np.float32) for p in batch]), device=device)
        result = model.forward_audio(audio_in, audio_ref)
        for key, value in (("input", result.latent_in), ("reference", result.latent_ref), ("fed", result.latent_fed)):
            out[key].append(value.double().cpu().numpy())
        out["params_norm"].append(np.stack([settings.to_norm() for settings in output_settings(model, result)]))
    model.train(was_training)
    return {k: np.concatenate(v) for k, v in out.items()}


def _as_rows(latents: np.ndarray) -> np.ndarray:
    x = np.asarray(latents, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"latents must be (dim,) or (vectors, dim), got shape {np.shape(latents)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("latents contain NaN or infinite values")
    return x


def sparsity(latents: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Share of near-zero elements per vector: ``|x| <= tol · max|x|`` (an all-zero vector counts as 1).

    Args:
        latents: ``(vectors, dim)`` or ``(dim,)``.
        tol: threshold relative to each vector's largest magnitude.

    Returns:
        ``(vectors,)`` shares in [0, 1].
    """
    x = np.abs(_as_rows(latents))
    return np.mean(x <= tol * x.max(axis=1, keepdims=True), axis=1)


def dynamic_range_db(latents: np.ndarray, tol: float = 1e-3, low_percentile: float = 5.0) -> np.ndarray:
    """Spread of the non-zero magnitudes per vector: ``20·log10(max|x| / P(|x|))`` in dB.

    ``P`` is the ``low_percentile`` of the magnitudes above ``tol · max|x|`` (near-zero elements are
    counted by :func:`sparsity`, not here), so one tiny element cannot dominate. An all-zero vector gives 0 dB.

    Returns:
        ``(vectors,)`` in dB (≥ 0).
    """
    x = np.abs(_as_rows(latents))
    peak = x.max(axis=1)
    out = np.zeros(len(x))
    for i, (row, top) in enumerate(zip(x, peak)):
        active = row[row > tol * top]
        if top > 0 and active.size:
            out[i] = 20 * np.log10(top / np.percentile(active, low_percentile))
    return out


def norms(latents: np.ndarray) -> dict[str, np.ndarray]:
    """L1, L2 and L∞ norms per vector: ``{"l1", "l2", "linf"}``, each ``(vectors,)``."""
    x = _as_rows(latents)
    return {"l1": np.abs(x).sum(axis=1), "l2": np.sqrt((x ** 2).sum(axis=1)), "linf": np.abs(x).max(axis=1)}


def latent_summary(latents: np.ndarray, tol: float = 1e-3) -> dict[str, float]:
    """Means (and standard deviations) over vectors ``(vectors, dim)`` of sparsity, L2 norm and dynamic range.

    Returns:
        ``{"dim", "sparsity", "sparsity_sd", "l2", "l2_sd", "dynamic_range_db", "dynamic_range_db_sd",
        "negative_share"}`` (``negative_share``: share of elements below ``-tol · max|x|``).
    """
    x = _as_rows(latents)
    stats = {"sparsity": sparsity(x, tol), "l2": norms(x)["l2"], "dynamic_range_db": dynamic_range_db(x, tol)}
    out: dict[str, float] = {"dim": float(x.shape[1])}
    for key, values in stats.items():
        out[key] = float(values.mean())
        out[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    limit = tol * np.abs(x).max(axis=1, keepdims=True)
    out["negative_share"] = float(np.mean(x < -limit))
    return out


def pca_2d(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projection of ``(vectors, dim)`` onto its first two principal axes (numpy SVD of the centred data).

    Each axis's sign is fixed so that its largest-magnitude loading is positive, which makes the
    result deterministic.

    Returns:
        ``coords (vectors, 2)`` and ``explained_variance_ratio (2,)`` (shares of the total variance;
        zeros if every vector is the same).
    """
    x = _as_rows(latents)
    if len(x) < 2:
        raise ValueError(f"PCA needs at least two vectors, got {len(x)}")
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    if len(axes) < 2:  # a single feature: the second axis carries nothing
        axes = np.vstack([axes, np.zeros_like(axes)])
        s = np.append(s, 0.0)
    signs = np.sign(axes[np.arange(2), np.argmax(np.abs(axes), axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    total = float((s ** 2).sum())
    ratio = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return centred @ axes.T, ratio


def pick_good_and_poor(errors: np.ndarray, loudness_ok: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` lowest-error ("good") and ``k`` highest-error ("poor") pairs among eligible ones.

    Args:
        errors: ``(pairs,)`` errors (lower is better).
        loudness_ok: ``(pairs,)`` booleans: pairs allowed in the pick (e.g. both recordings above -35 LUFS).
        k: how many of each.

    Returns:
        ``(good, poor)``: ``(k,)`` index arrays, best first and worst first; ties keep pair order.
    """
    errors = np.asarray(errors, dtype=np.float64)
    ok = np.asarray(loudness_ok, dtype=bool)
    if errors.ndim != 1 or ok.shape != errors.shape:
        raise ValueError(f"errors and loudness_ok must be (pairs,) of one length, got {errors.shape} and {ok.shape}")
    eligible = np.flatnonzero(ok & np.isfinite(errors))
    if len(eligible) < 2 * k:
        raise ValueError(f"need at least {2 * k} eligible pairs to pick {k} good and {k} poor, got {len(eligible)}")
    order = eligible[np.argsort(errors[eligible], kind="stable")]
    worst = eligible[np.argsort(-errors[eligible], kind="stable")]
    return order[:k], worst[:k]
