"""Checkpoints: config + weights (+ optimiser state, step, metrics), loaded with ``weights_only=True``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from eqlib.audio import atomic_path
from eqlib.models import ModelConfig, PairModel, build_model

CHECKPOINT_FORMAT = "eqlib.checkpoint/1"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class CheckpointError(ValueError):
    """A weights file that is missing, unreadable, foreign or malformed."""


def write_atomic(path: str | Path, payload: dict) -> None:
    """``torch.save(payload)`` to ``path`` through :func:`eqlib.audio.atomic_path`: a failed write (a full disk, no
    permission) leaves ``path`` as it was and raises ``AudioError`` of kind ``output`` naming ``path``. Saving to a
    Python file object, not a path, gives the ``OSError`` of a failed write its errno; torch's zip writer then
    raises its own opaque ``RuntimeError`` on closing, so the ``OSError`` behind it is the one raised."""
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as file:
        try:
            torch.save(payload, file)
        except RuntimeError as err:
            if isinstance(err.__context__, OSError):
                raise err.__context__ from None
            raise


def save_checkpoint(path: str | Path, model: PairModel, **extra: Any) -> None:
    """Write ``{"format", "model_config", "state_dict", **extra}`` atomically (temp file + rename).

    ``extra`` values must be plain Python/tensors (dicts, lists, numbers, strings) so the file
    loads with ``weights_only=True``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "model_config": model.config.to_dict(),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **extra}
    write_atomic(path, payload)


def write_payload(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict read by :func:`read_checkpoint` (and amended) back atomically."""
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: refusing to write a payload that is not an eqlib checkpoint")
    write_atomic(path, payload)


def _read_payload(path: Path) -> dict:
    """The dict of an eqlib weights file (``weights_only=True``); raise :class:`CheckpointError`."""
    try:
        found = path.is_file()
        with warnings.catch_warnings():  # torch's advice on a foreign file (e.g. its pickle protocol) is not ours
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True) if found else None
    except OSError as err:  # also a folder on the way that this user may not enter
        raise CheckpointError(f"{path}: cannot read ({err.strerror or type(err).__name__})") from err
    except Exception as err:  # torch raises many types for foreign/corrupt/unsafe files
        raise CheckpointError(f"{path}: not a loadable eqlib checkpoint ({type(err).__name__})") from err
    if not found:
        raise CheckpointError(f"{path}: weights file not found")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an eqlib checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    return payload


def _check_model_payload(payload: dict, where: str) -> None:
    if not isinstance(payload.get("model_config"), dict) or not isinstance(payload.get("state_dict"), dict):
        raise CheckpointError(f"{where}: checkpoint lacks its model config or weights")


def read_checkpoint(path: str | Path) -> dict:
    """Load and validate one model's checkpoint dict (``weights_only=True``); raise :class:`CheckpointError`."""
    payload = _read_payload(Path(path))
    _check_model_payload(payload, str(path))
    return payload


def read_weights(path: str | Path) -> dict:
    """Load and validate a weights file: one model's checkpoint, or an ensemble's (:func:`ensemble_payload`: a
    ``members`` list of two or more model checkpoints); raise :class:`CheckpointError`."""
    payload = _read_payload(Path(path))
    if "members" not in payload:
        _check_model_payload(payload, str(path))
        return payload
    members = payload["members"]
    if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, dict) for m in members):
        raise CheckpointError(f"{path}: an ensemble needs a list of two or more member checkpoints")
    for index, member in enumerate(members):
        _check_model_payload(member, f"{path} (member {index + 1})")
    return payload


def ensemble_payload(members: list[dict], **extra: Any) -> dict:
    """An ensemble's weights file: the members' checkpoint dicts (the first one's gate is the ensemble's)."""
    return {"format": CHECKPOINT_FORMAT, "members": members, **extra}


def model_from_payload(payload: dict, where: str | Path, device: torch.device | str = "cpu") -> PairModel:
    """The model in eval mode of a checkpoint dict; ``where`` names it in a :class:`CheckpointError`."""
    try:
        model = build_model(ModelConfig.from_dict(payload["model_config"]))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, KeyError, RuntimeError, ValueError) as err:
        raise CheckpointError(f"{where}: weights do not match the model config ({str(err).splitlines()[0]})") from err
    return model.to(device).eval()


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[PairModel, dict]:
    """A model in eval mode from a checkpoint file, and the checkpoint dict."""
    payload = read_checkpoint(path)
    return model_from_payload(payload, path, device), payload


def default_weights(name: str) -> Path:
    """Path of a shipped checkpoint, ``eqlib/weights/<name>.pt``."""
    return WEIGHTS_DIR / f"{name}.pt"
