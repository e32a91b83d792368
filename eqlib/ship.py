"""Ship a trained run as default weights: ``python -m eqlib.ship runs/proposed_db-mixed``.

Copies the run's ``best.pt`` (weights, configs, step, validation metrics; no optimiser state) to
``eqlib/weights/<model>.pt`` and its ``metrics.csv`` to ``eqlib/weights/<model>.metrics.csv``,
then rewrites the training section of ``eqlib/weights/MODEL_CARD.md`` from every shipped
checkpoint, so the card never states a number the files do not hold.
``python -m eqlib.ship --ensemble runs/proposed_db-all`` writes ``eqlib/weights/ensemble.pt`` instead: the shipped
``ltsnet.pt`` (with its gate) and the run's ``best.pt`` as the ensemble's two members
(:class:`eqlib.inference.EnsemblePredictor`), and ``ensemble.metrics.csv`` from the run.
"""

from __future__ import annotations

import argparse
import csv
import platform
import shutil
from pathlib import Path

import torch

from eqlib.checkpoint import (WEIGHTS_DIR, CheckpointError, ensemble_payload, read_checkpoint, read_weights,
                              write_payload)
from eqlib.inference import ENSEMBLE, ENSEMBLE_LEAD, SHIPPED_MODELS

CARD = WEIGHTS_DIR / "MODEL_CARD.md"
TRAINING_BEGIN, TRAINING_END = "<!-- training:begin -->", "<!-- training:end -->"


def _flag(key: str, value) -> str:
    """One ``eqlib.train`` option as typed on the command line."""
    flag = f"--{key.replace('_', '-')}"
    if isinstance(value, bool):
        return flag if value else f"--no-{key.replace('_', '-')}"
    if isinstance(value, (list, tuple)):
        return f"{flag} {' '.join(str(v) for v in value)}"
    return f"{flag} {value}"


def train_command(train_config: dict, out: str) -> str:
    """The exact ``python -m eqlib.train`` command that reproduces a run's config."""
    return f"python -m eqlib.train --out {out} " + " ".join(_flag(k, v) for k, v in train_config.items())


def run_payload(run_dir: Path, hardware: str) -> dict:
    """A run's best checkpoint without its optimiser state, with ``hardware``, wall time, steps run and command."""
    payload = read_checkpoint(run_dir / "best.pt")
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    payload["hardware"] = hardware
    payload["wall_s"] = float(rows[-1]["wall_s"])
    payload["steps_run"] = int(rows[-1]["step"])
    payload["command"] = train_command(payload["train_config"], str(run_dir))
    payload.pop("optimizer", None)
    return payload


def ship(run_dir: str | Path, hardware: str) -> Path:
    """Copy a run's best checkpoint and metrics into ``eqlib/weights``; record ``hardware`` in it."""
    run_dir = Path(run_dir)
    payload = run_payload(run_dir, hardware)
    name = payload["model_config"]["name"]
    target = WEIGHTS_DIR / f"{name}.pt"
    write_payload(target, payload)
    shutil.copyfile(run_dir / "metrics.csv", WEIGHTS_DIR / f"{name}.metrics.csv")
    return target


def ship_ensemble(run_dir: str | Path, hardware: str) -> Path:
    """Write ``eqlib/weights/ensemble.pt``: the shipped ``ltsnet.pt`` and a run's best checkpoint as members;
    raise :class:`CheckpointError` when ``ltsnet.pt`` has no shared-content gate (the ensemble's gate)."""
    run_dir = Path(run_dir)
    lead = read_checkpoint(WEIGHTS_DIR / f"{ENSEMBLE_LEAD}.pt")
    if not lead.get("gate"):
        raise CheckpointError(f"{ENSEMBLE_LEAD}.pt has no shared-content gate: run python -m eqlib.gate on it first")
    target = WEIGHTS_DIR / f"{ENSEMBLE}.pt"
    write_payload(target, ensemble_payload([lead, run_payload(run_dir, hardware)], name=ENSEMBLE))
    shutil.copyfile(run_dir / "metrics.csv", WEIGHTS_DIR / f"{ENSEMBLE}.metrics.csv")
    return target


def _training_row(label: str, p: dict) -> str:
    """One row of the training table for the checkpoint dict ``p``."""
    tc = p["train_config"]
    gate = p.get("gate")
    gate_text = (f"fit residual ≤ {gate['threshold_db']:.1f} dB (val {gate['val_error_db']:.2f} dB gated, "
                 f"{gate['val_error_network_db']:.2f} dB network)" if gate else "none")
    return (f"| {label} | {tc['data']} | {p['step']} / {p.get('steps_run', '?')} | {tc['batch_size']} | "
            f"{p['step'] * tc['batch_size']:,} | {p.get('wall_s', 0) / 60:.0f} min | {p.get('hardware', '?')} | "
            f"{p['best_metrics']['val_response_db']:.2f} | {gate_text} |")


def training_section() -> str:
    """Markdown table of every shipped checkpoint's training facts."""
    lines = ["| model | data | best step / steps run | batch | pairs seen | wall time | hardware | "
             "val response error (dB) | shared-content gate |", "|---|---|---|---|---:|---|---|---|---|"]
    commands = []
    for name in SHIPPED_MODELS:
        path = WEIGHTS_DIR / f"{name}.pt"
        if not path.exists():
            continue
        payload = read_weights(path)
        members = payload.get("members", [payload])
        for index, p in enumerate(members):
            label = f"`{name}`" if len(members) == 1 else f"`{name}` member {index + 1}: `{p['model_config']['name']}`"
            lines.append(_training_row(label, p))
            commands.append(f"- {label}: `{p.get('command', '?')}`")
    return "\n".join(lines + ["", "Exact commands:", *commands])


def update_card() -> None:
    """Replace the text between the training markers of MODEL_CARD.md."""
    text = CARD.read_text()
    head, rest = text.split(TRAINING_BEGIN)
    _, tail = rest.split(TRAINING_END)
    CARD.write_text(f"{head}{TRAINING_BEGIN}\n{training_section()}\n{TRAINING_END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eqlib.ship", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders holding best.pt and metrics.csv")
    parser.add_argument("--ensemble", action="store_true",
                        help=f"write {ENSEMBLE}.pt: the shipped {ENSEMBLE_LEAD}.pt and the one run given")
    parser.add_argument("--hardware", default=f"{platform.processor() or platform.machine()} CPU, "
                                                f"{torch.get_num_threads()} threads")
    args = parser.parse_args(argv)
    if args.ensemble and len(args.runs) != 1:
        parser.error("--ensemble takes exactly one run folder")
    try:
        for run in args.runs:
            print("shipped", ship_ensemble(run, args.hardware) if args.ensemble else ship(run, args.hardware))
    except (CheckpointError, OSError) as err:
        raise SystemExit(f"error: {err}") from None
    update_card()


if __name__ == "__main__":
    main()
