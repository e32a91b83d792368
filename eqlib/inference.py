"""Predicting EQ settings with a trained model, for arrays of any length in bounded memory.

The extractor averages frame features over time, so a long recording is analysed in blocks:
each block's frame features are summed and counted, and the latent is their mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from eqlib.checkpoint import CheckpointError, default_weights, load_model
from eqlib.eq import EQSettings
from eqlib.models import MODEL_NAMES, PairModel

BLOCK_S = 30.0  # analysis block length (s): bounds memory for long files
DEFAULT_MODEL = "proposed_db"  # the shipped model that eqlib.match, the CLI and the panels use unless told otherwise

__all__ = ["BLOCK_S", "CheckpointError", "LatentAccumulator", "Predictor", "load_predictor", "load_system"]


class LatentAccumulator:
    """Running mean of a model's frame features over blocks of 44.1 kHz mono audio."""

    def __init__(self, model: PairModel) -> None:
        self.model = model
        self._sum: torch.Tensor | None = None
        self._frames = 0

    @torch.no_grad()
    def add(self, block: np.ndarray) -> None:
        """Add a block ``(time,)`` of mono samples at the model's sample rate."""
        device = next(self.model.parameters()).device
        audio = torch.as_tensor(np.asarray(block, dtype=np.float32), device=device)[None]
        feats = self.model.frame_features(self.model.audio_rows(audio))
        total = feats.sum(dim=-1)
        self._sum = total if self._sum is None else self._sum + total
        self._frames += feats.shape[-1]

    def latent(self) -> torch.Tensor:
        """The extracted latent ``(1, latent_dim)`` of everything added so far."""
        if self._sum is None:
            raise ValueError("no audio was added to the latent accumulator")
        return self._sum / self._frames


class Predictor:
    """A trained model wrapped for numpy audio in, :class:`EQSettings` out."""

    def __init__(self, model: PairModel, checkpoint: dict | None = None) -> None:
        self.model = model.eval()
        self.checkpoint = checkpoint or {}
        self.sample_rate = model.config.features.sample_rate
        self.name = model.config.name

    def latent_accumulator(self) -> LatentAccumulator:
        return LatentAccumulator(self.model)

    def latent(self, mono: np.ndarray) -> torch.Tensor:
        """Extracted latent ``(1, latent_dim)`` of a whole mono array, block by block."""
        acc = self.latent_accumulator()
        step = int(BLOCK_S * self.sample_rate)
        for start in range(0, len(mono), step):
            acc.add(mono[start:start + step])
        return acc.latent()

    @torch.no_grad()
    def predict_from_latents(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> EQSettings:
        params_norm = self.model.head(latent_in, latent_ref).params_norm[0]
        return EQSettings.from_norm(params_norm.double().cpu().numpy())

    def predict(self, input_mono: np.ndarray, reference_mono: np.ndarray) -> EQSettings:
        """EQ settings that give ``input_mono`` the reference's EQ style; both ``(time,)`` at ``sample_rate``."""
        return self.predict_from_latents(self.latent(input_mono), self.latent(reference_mono))


def load_predictor(model: str = "proposed_db", weights: str | Path | None = None,
                   device: torch.device | str = "cpu") -> Predictor:
    """A :class:`Predictor` from a shipped model name or a weights file; raises :class:`CheckpointError`."""
    if weights is None:
        if model not in MODEL_NAMES:
            raise CheckpointError(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
        weights = default_weights(model)
    net, payload = load_model(weights, device)
    return Predictor(net, payload)


def load_system(name: str, weights: str | Path | None = None):
    """An evaluation system ``(input, reference, sample_rate) -> EQSettings`` backed by a model."""
    predictor = load_predictor(name, weights)

    def system(input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
        if sample_rate != predictor.sample_rate:
            raise ValueError(f"{name} expects {predictor.sample_rate} Hz audio, got {sample_rate} Hz")
        return predictor.predict(input_audio, reference_audio)

    system.__name__ = name
    return system
