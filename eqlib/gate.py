"""Shared content recognised without a switch: a learned gate between the network and the direct spectral fit.

When input and reference hold the same content (the same clip, the same take through another chain), the
difference of their long-term spectra is an EQ response, and the 4-band fit to it (:mod:`eqlib.spectral_fit`)
explains it almost exactly; when they hold different content, no 4-band EQ explains it, and the fit would
copy the other voice. So the gate fits the EQ to the two long-term spectra, measures how well it explains
them (the level-free RMS residual over the points both recordings hold, in dB), and keeps the fit when the
residual is at most ``threshold_db``, the network's prediction otherwise.

The threshold is learned: :func:`calibrate` picks, on validation pairs drawn like the training pairs (other
speaker, same speaker, same content), the one that minimises the mean response error of the gated answer.
``python -m eqlib.gate CHECKPOINT`` calibrates a model's gate and stores it in the checkpoint, where
:class:`eqlib.inference.Predictor` finds it.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from eqlib.eq import EQSettings
from eqlib.spectral_fit import audible_points, match_spectra_batch

THRESHOLDS_DB = np.round(np.arange(0.1, 4.01, 0.1), 2)  # the candidates calibration tries


def fit_residual_db(freqs_hz: np.ndarray, input_db: np.ndarray, reference_db: np.ndarray, settings: EQSettings,
                    sample_rate: float) -> float:
    """Level-free RMS (dB) of ``reference_db − input_db − response(settings)`` over the audible points."""
    audible = audible_points(input_db, reference_db)
    misfit = (np.asarray(reference_db) - np.asarray(input_db) - settings.response_db(freqs_hz, sample_rate))[audible]
    return float(np.sqrt(np.mean((misfit - misfit.mean()) ** 2)))


@dataclass(frozen=True)
class SharedContentGate:
    """Keep the direct fit when it explains the two long-term spectra to within ``threshold_db`` (RMS dB)."""

    threshold_db: float

    def decide(self, freqs_hz: np.ndarray, input_db: np.ndarray, reference_db: np.ndarray,
               predictions: list[EQSettings], sample_rate: float) -> tuple[list[EQSettings], np.ndarray]:
        """Gated answers for a batch of pairs, and each pair's fit residual (dB).

        Args:
            freqs_hz: log-spaced grid ``(points,)`` in Hz.
            input_db, reference_db: long-term levels ``(pairs, points)`` in dB on that grid.
            predictions: the network's EQ for each pair (the fit starts there too).
            sample_rate: sampling rate in Hz the EQs run at.
        """
        fits, residuals = fits_and_residuals(freqs_hz, input_db, reference_db, predictions, sample_rate)
        chosen = [fit if r <= self.threshold_db else net for fit, net, r in zip(fits, predictions, residuals)]
        return chosen, residuals

    def to_dict(self) -> dict:
        return asdict(self)


def fits_and_residuals(freqs_hz: np.ndarray, input_db: np.ndarray, reference_db: np.ndarray,
                       predictions: list[EQSettings], sample_rate: float) -> tuple[list[EQSettings], np.ndarray]:
    """The direct fit of every pair (started from the network's prediction, among other starts) and its residual."""
    fits = match_spectra_batch(freqs_hz, input_db, reference_db, sample_rate, inits=predictions)
    residuals = np.array([fit_residual_db(freqs_hz, a, b, f, sample_rate)
                          for a, b, f in zip(input_db, reference_db, fits)])
    return fits, residuals


def calibrate(errors_fit: np.ndarray, errors_network: np.ndarray, residuals: np.ndarray,
              thresholds_db: np.ndarray = THRESHOLDS_DB) -> tuple[float, float]:
    """The threshold (dB) minimising the mean error of the gated answer over pairs, and that mean error (dB).

    Args:
        errors_fit, errors_network: each pair's response error (dB) of the fit and of the network ``(pairs,)``.
        residuals: each pair's fit residual (dB) ``(pairs,)``.
    """
    mean_errors = [float(np.where(residuals <= t, errors_fit, errors_network).mean()) for t in thresholds_db]
    best = int(np.argmin(mean_errors))
    return float(thresholds_db[best]), mean_errors[best]


def validation_residuals(checkpoint: Path, num_pairs: int = 512) -> dict[str, np.ndarray]:
    """Errors of the fit and of the network, and the fit residuals, on validation pairs drawn like the training pairs
    of the checkpoint's run (its data, variants and seed), for :func:`calibrate`."""
    from eqlib.checkpoint import load_model
    from eqlib.eq import DEFAULT_EQ
    from eqlib.inference import output_settings
    from eqlib.metrics import response_error_db
    from eqlib.train import TrainConfig, make_sampler

    model, payload = load_model(checkpoint)
    config = TrainConfig(**{**payload["train_config"], "variant_probs": tuple(payload["train_config"]["variant_probs"])})
    sampler = make_sampler(config, "val", torch.device("cpu"), config.seed + 1, max(64, config.num_excerpts // 8))
    batch = sampler.sample(num_pairs, torch.Generator().manual_seed(config.seed + 3))
    features = model.config.features
    with torch.no_grad():
        out = model(batch["power_in"], batch["power_ref"])
    bands = features.num_bank_rows
    levels = [10 * np.log10(np.maximum(latent[:, :bands].double().numpy(), 1e-20)) for latent in
              (out.latent_in, out.latent_ref)]
    predictions = output_settings(model, out)
    freqs = features.band_centres_hz()
    fits, residuals = fits_and_residuals(freqs, levels[0], levels[1], predictions, features.sample_rate)
    true = DEFAULT_EQ.from_norm(batch["params_norm"].double())
    return {"fit": response_error_db(np.stack([f.params for f in fits]), true).numpy(),
            "network": response_error_db(np.stack([p.params for p in predictions]), true).numpy(),
            "residual": residuals, "variant": batch["variant"].numpy()}


def main(argv: list[str] | None = None) -> None:
    """Calibrate the gate of a checkpoint on its validation pairs and store it in the checkpoint."""
    from eqlib.checkpoint import read_checkpoint, write_payload

    parser = argparse.ArgumentParser(prog="python -m eqlib.gate", description=main.__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--pairs", type=int, default=512, help="validation pairs to calibrate on")
    args = parser.parse_args(argv)
    found = validation_residuals(args.checkpoint, args.pairs)
    threshold, error = calibrate(found["fit"], found["network"], found["residual"])
    payload = read_checkpoint(args.checkpoint)
    payload["gate"] = {**SharedContentGate(threshold).to_dict(), "val_pairs": len(found["fit"]),
                       "val_error_db": error, "val_error_network_db": float(found["network"].mean()),
                       "val_error_fit_db": float(found["fit"].mean())}
    write_payload(args.checkpoint, payload)
    print(f"{args.checkpoint}: gate threshold {threshold:.1f} dB (fit residual); validation response error "
          f"{error:.2f} dB gated, {found['network'].mean():.2f} dB network only, {found['fit'].mean():.2f} dB fit only")


if __name__ == "__main__":
    main()
