"""Predicting EQ settings with a trained model, for arrays of any length in bounded memory.

The extractor averages frame features over time, so a long recording is analysed in blocks:
each block's frame features are summed and counted, and the latent is their mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from eqlib.checkpoint import CheckpointError, default_weights, model_from_payload, read_weights
from eqlib.eq import EQSettings
from eqlib.gate import SharedContentGate
from eqlib.models import MODEL_NAMES, LTSNet, ModelOutput, PairModel
from eqlib.spectral_fit import fit_eq_to_targets, fit_mean_response

BLOCK_S = 30.0  # analysis block length (s): bounds memory for long files
#: The shipped ensemble (``eqlib/weights/ensemble.pt``): ``ltsnet`` and a ``proposed_db`` trained on speech and
#: music, their responses averaged, behind ``ltsnet``'s shared-content gate (:class:`EnsemblePredictor`).
ENSEMBLE = "ensemble"
ENSEMBLE_LEAD = "ltsnet"  # the shipped model whose weights and gate lead the ensemble
SHIPPED_MODELS = (*MODEL_NAMES, ENSEMBLE)  # the names of the files in eqlib/weights
DEFAULT_MODEL = ENSEMBLE  # the shipped model that eqlib.match, the CLI and the panels use unless told otherwise

__all__ = ["BLOCK_S", "DEFAULT_MODEL", "ENSEMBLE", "SHIPPED_MODELS", "CheckpointError", "EnsemblePredictor",
           "LatentAccumulator", "ModelSystem", "Predictor", "load_predictor", "load_system", "output_settings"]


def output_settings(model: PairModel, output: ModelOutput) -> list[EQSettings]:
    """The EQ of each pair of a model's output: its knobs (``params_norm``), or, for a curve head, the knobs
    fitted by least squares to its response curve over the bands worth fitting (:mod:`eqlib.spectral_fit`)."""
    if output.curve_db is None:
        return [EQSettings.from_norm(p) for p in output.params_norm.double().cpu().numpy()]
    return fit_eq_to_targets(output.curve_db.double().cpu().numpy(), model.config.features.band_centres_hz(),
                             model.config.features.sample_rate, weights=output.curve_weights.double().cpu().numpy())


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
    """A trained model wrapped for numpy audio in, :class:`EQSettings` out.

    A model whose checkpoint carries a calibrated gate (``python -m eqlib.gate``; models that keep the long-term
    spectrum in their latent: :class:`eqlib.models.LTSNet`) answers with the direct spectral fit when that fit
    explains the two recordings' long-term spectra, i.e. when they share their content (:mod:`eqlib.gate`).
    """

    def __init__(self, model: PairModel, checkpoint: dict | None = None) -> None:
        self.model = model.eval()
        self.checkpoint = checkpoint or {}
        self.sample_rate = model.config.features.sample_rate
        self.name = model.config.name
        gate = self.checkpoint.get("gate")
        self.gate = SharedContentGate(float(gate["threshold_db"])) if gate and isinstance(model, LTSNet) else None

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
    def network_from_latents(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> list[EQSettings]:
        """The network's EQ for each pair of latents ``(pairs, latent_dim)``, without the gate."""
        return output_settings(self.model, self.model.head(latent_in, latent_ref))

    def predict_batch_from_latents(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> list[EQSettings]:
        """The answer for each pair of latents ``(pairs, latent_dim)``: the network's, or the gated one."""
        return self.gated(latent_in, latent_ref, self.network_from_latents(latent_in, latent_ref))

    def gated(self, latent_in: torch.Tensor, latent_ref: torch.Tensor, answers: list[EQSettings]
              ) -> list[EQSettings]:
        """``answers`` (one per pair of latents ``(pairs, latent_dim)``), each replaced by the direct spectral fit
        where this model's gate finds that the pair shares its content; unchanged without a gate."""
        if self.gate is None:
            return answers
        bands = self.model.config.features.num_bank_rows
        levels = [10 * np.log10(np.maximum(latent[:, :bands].double().cpu().numpy(), 1e-20))
                  for latent in (latent_in, latent_ref)]
        chosen, _ = self.gate.decide(self.model.config.features.band_centres_hz(), levels[0], levels[1], answers,
                                     self.sample_rate)
        return chosen

    def predict_from_latents(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> EQSettings:
        """The answer for one pair of latents ``(1, latent_dim)``."""
        return self.predict_batch_from_latents(latent_in, latent_ref)[0]

    def predict(self, input_mono: np.ndarray, reference_mono: np.ndarray) -> EQSettings:
        """EQ settings that give ``input_mono`` the reference's EQ style; both ``(time,)`` at ``sample_rate``."""
        return self.predict_from_latents(self.latent(input_mono), self.latent(reference_mono))

    def _latents(self, inputs: list[np.ndarray], references: list[np.ndarray]) -> list[torch.Tensor]:
        """The latents ``(pairs, latent_dim)`` of the inputs and of the references."""
        return [torch.cat([self.latent(x) for x in recordings]) for recordings in (inputs, references)]

    def predict_batch(self, inputs: list[np.ndarray], references: list[np.ndarray]) -> list[EQSettings]:
        """:meth:`predict` for many pairs; the gate's fits run as one batch (much faster than pair by pair)."""
        return self.predict_batch_from_latents(*self._latents(inputs, references))

    def gated_batch(self, inputs: list[np.ndarray], references: list[np.ndarray], answers: list[EQSettings]
                    ) -> list[EQSettings]:
        """:meth:`gated` for pairs of ``(time,)`` recordings: another system's ``answers`` behind this gate."""
        return self.gated(*self._latents(inputs, references), answers)


class EnsembleAccumulator:
    """The latent accumulators of an ensemble's members side by side; the latent is theirs concatenated."""

    def __init__(self, members: list[Predictor]) -> None:
        self.parts = [member.latent_accumulator() for member in members]

    def add(self, block: np.ndarray) -> None:
        """Add a block ``(time,)`` of mono samples to every member's accumulator."""
        for part in self.parts:
            part.add(block)

    def latent(self) -> torch.Tensor:
        """The members' latents concatenated, ``(1, sum of latent_dim)``."""
        return torch.cat([part.latent() for part in self.parts], dim=-1)


class EnsemblePredictor(Predictor):
    """Several trained models as one :class:`Predictor`: the EQ fitted to the mean of the members' cascaded
    responses (:func:`eqlib.spectral_fit.fit_mean_response`), behind the first member's shared-content gate (the
    direct spectral fit where that gate finds shared content). Its latent is the members' latents concatenated."""

    def __init__(self, members: list[Predictor], checkpoint: dict | None = None) -> None:
        rates = {member.sample_rate for member in members}
        if len(members) < 2 or len(rates) != 1:
            raise CheckpointError(f"an ensemble needs two or more members at one sample rate, got "
                                  f"{len(members)} at {sorted(rates)} Hz")
        self.members, self.checkpoint = members, checkpoint or {}
        self.model = members[0].model  # the lead's network: its features decide what the gate reads
        self.sample_rate = members[0].sample_rate
        self.name = str(self.checkpoint.get("name", "+".join(member.name for member in members)))
        self.gate = members[0].gate
        self.latent_dims = [member.model.config.latent_dim for member in members]

    def latent_accumulator(self) -> EnsembleAccumulator:
        return EnsembleAccumulator(self.members)

    def _split(self, latent: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """A concatenated latent ``(pairs, sum of latent_dim)`` → one ``(pairs, latent_dim)`` per member."""
        if latent.shape[-1] != sum(self.latent_dims):
            raise ValueError(f"{self.name}: expected latents of {sum(self.latent_dims)} values, got {latent.shape[-1]}")
        return torch.split(latent, self.latent_dims, dim=-1)

    def network_from_latents(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> list[EQSettings]:
        """The ensemble's EQ for each pair of concatenated latents, without the gate."""
        answers = [member.network_from_latents(x, r)
                   for member, x, r in zip(self.members, self._split(latent_in), self._split(latent_ref))]
        return fit_mean_response(answers, self.sample_rate)

    def gated(self, latent_in: torch.Tensor, latent_ref: torch.Tensor, answers: list[EQSettings]
              ) -> list[EQSettings]:
        """``answers`` behind the first member's gate (unchanged when this ensemble's ``gate`` is ``None``)."""
        if self.gate is None:
            return answers
        return self.members[0].gated(self._split(latent_in)[0], self._split(latent_ref)[0], answers)


def load_predictor(model: str = DEFAULT_MODEL, weights: str | Path | None = None,
                   device: torch.device | str = "cpu") -> Predictor:
    """A :class:`Predictor` (an :class:`EnsemblePredictor` for an ensemble's file) from a shipped model name
    (:data:`SHIPPED_MODELS`) or a weights file; raises :class:`CheckpointError`."""
    if weights is None:
        if model not in SHIPPED_MODELS:
            raise CheckpointError(f"unknown model {model!r}; choose one of {', '.join(SHIPPED_MODELS)}")
        weights = default_weights(model)
    payload = read_weights(weights)
    if "members" not in payload:
        return Predictor(model_from_payload(payload, weights, device), payload)
    members = [Predictor(model_from_payload(member, f"{weights} (member {index + 1})", device), member)
               for index, member in enumerate(payload["members"])]
    return EnsemblePredictor(members, payload)


class ModelSystem:
    """An evaluation system ``(input, reference, sample_rate) -> EQSettings`` backed by a :class:`Predictor`, with
    a ``batch`` method (``eqlib.evaluate`` calls it with a whole set)."""

    def __init__(self, predictor: Predictor, name: str) -> None:
        self.predictor, self.__name__ = predictor, name

    def _check(self, sample_rate: int) -> None:
        if sample_rate != self.predictor.sample_rate:
            raise ValueError(f"{self.__name__} expects {self.predictor.sample_rate} Hz audio, got {sample_rate} Hz")

    def __call__(self, input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
        self._check(sample_rate)
        return self.predictor.predict(input_audio, reference_audio)

    def batch(self, inputs: list[np.ndarray], references: list[np.ndarray], sample_rate: int) -> list[EQSettings]:
        self._check(sample_rate)
        return self.predictor.predict_batch(list(inputs), list(references))


def load_system(name: str, weights: str | Path | None = None) -> ModelSystem:
    """An evaluation system backed by a model (shipped ``name``, or the checkpoint ``weights``)."""
    return ModelSystem(load_predictor(name, weights), name)
