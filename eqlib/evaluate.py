"""Score EQ-prediction "systems" on evaluation pairs and tabulate mean ± 95 % CI.

A system is a callable ``(input (time,), reference (time,), sample_rate) -> EQSettings``: the EQ
to apply to the input so that it takes on the reference's EQ style. Built in: ``identity`` (no
EQ), ``spectral`` (the least-squares match EQ of :mod:`eqlib.spectral_fit`); any trained model
name (``proposed_db``, …) via :func:`eqlib.inference.load_system`, and ``hybrid_<model>`` (the
spectral fit started from, and held near, the model's prediction, as ``eqlib match --mode hybrid``).

``python -m eqlib.evaluate --systems identity spectral proposed_db --sets cross-chain`` writes
``figures/results.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from eqlib.eq import EQSettings
from eqlib.metrics import (lts_distance_db, mean_ci95, param_errors, response_error_db,
                           third_octave_response_error_db)
from eqlib.runtime import figures_dir, is_quick
from eqlib.spectral_fit import spectral_match

System = Callable[[np.ndarray, np.ndarray, int], EQSettings]

# (key in evaluate_system's result, column header); every metric is lower-is-better.
TABLE_METRICS = (
    ("response_db", "response (dB)"),
    ("response_3oct_db", "⅓-oct response (dB)"),
    ("gain_db", "gain (dB)"),
    ("freq_oct", "freq (oct)"),
    ("q_oct", "Q (oct)"),
    ("lts_ideal_db", "LTS vs ideal (dB)"),
)
QUICK_NUM_PAIRS = 6


def identity_system(input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
    """No EQ at all: the floor every method must beat."""
    return EQSettings.identity()


def spectral_system(input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
    """The non-learned match EQ: least-squares fit to ``LTS(reference) − LTS(input)``."""
    return spectral_match(input_audio, reference_audio, sample_rate)


def hybrid_system(model_system: System, prior_weight: float) -> System:
    """A model's prediction refined by the spectral fit, held near the prediction by ``prior_weight``."""

    def system(input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
        init = model_system(input_audio, reference_audio, sample_rate)
        return spectral_match(input_audio, reference_audio, sample_rate, init=init, prior_weight=prior_weight)

    return system


def load_named_system(name: str) -> System:
    """``identity``, ``spectral``, a model name, or ``hybrid_<model name>``; model code is imported only here."""
    if name == "identity":
        return identity_system
    if name == "spectral":
        return spectral_system
    from eqlib.inference import load_system  # lazy: torch models and checkpoints only when asked for

    if name.startswith("hybrid_"):
        from eqlib.cli import HYBRID_PRIOR_WEIGHT  # one constant for the CLI and the evaluation

        return hybrid_system(load_system(name.removeprefix("hybrid_")), HYBRID_PRIOR_WEIGHT)
    return load_system(name)


def evaluate_system(system: System, pairs: Sequence, sample_rate: int = 44100, progress: bool = True,
                    desc: str = "pairs") -> dict[str, np.ndarray]:
    """Run ``system`` on every pair and score its EQ against the pair's θ.

    Args:
        system: ``(input, reference, sample_rate) -> EQSettings``.
        pairs: objects with ``input``, ``reference`` ``(time,)`` and ``params`` θ ``(bands, 3)``
            (e.g. :class:`eqlib.evalsets.EvalPair`).
        sample_rate: sampling rate in Hz of every pair.

    Returns:
        Per-pair arrays: ``gain_db``, ``freq_oct``, ``q_oct`` ``(pairs, bands)``; ``response_db``,
        ``response_3oct_db`` (level-free response errors), ``lts_ideal_db`` (third-octave LTS
        distance of the input processed by the prediction to the input processed by θ),
        ``lts_reference_db`` (the same to the reference itself) and ``seconds`` (system time): ``(pairs,)``.
    """
    if len(pairs) == 0:
        raise ValueError("no evaluation pairs to score")
    predicted, lts_ideal, lts_reference, seconds = [], [], [], []
    for pair in tqdm(pairs, desc=desc, disable=not progress, leave=False):
        start = time.perf_counter()
        settings = system(pair.input, pair.reference, sample_rate)
        seconds.append(time.perf_counter() - start)
        predicted.append(settings.params)
        processed = settings.apply(pair.input, sample_rate)
        lts_ideal.append(lts_distance_db(processed, EQSettings(pair.params).apply(pair.input, sample_rate), sample_rate))
        lts_reference.append(lts_distance_db(processed, pair.reference, sample_rate))
    pred = np.stack(predicted)
    true = np.stack([np.asarray(p.params, dtype=np.float64) for p in pairs])
    results = {k: v.numpy() for k, v in param_errors(pred, true).items()}
    results["response_db"] = response_error_db(pred, true, sample_rate).numpy()
    results["response_3oct_db"] = third_octave_response_error_db(pred, true, sample_rate).numpy()
    results["lts_ideal_db"] = np.array(lts_ideal)
    results["lts_reference_db"] = np.array(lts_reference)
    results["seconds"] = np.array(seconds)
    return results


def _per_pair(values: np.ndarray) -> np.ndarray:
    """Per-band metrics ``(pairs, bands)`` averaged over bands; ``(pairs,)`` passes through."""
    return values.mean(axis=-1) if values.ndim == 2 else values


def results_table(results: dict[str, dict[str, dict[str, np.ndarray]]],
                  metrics: Sequence[tuple[str, str]] = TABLE_METRICS) -> str:
    """Markdown: one block per evaluation set, one row per system, ``mean ± 95 % CI`` per metric (best in bold).

    Args:
        results: ``results[set_name][system_name]`` = :func:`evaluate_system` output.
        metrics: (key, header) columns; per-band metrics are averaged over bands per pair first.
    """
    blocks = []
    for set_name, by_system in results.items():
        stats = {s: {k: mean_ci95(_per_pair(m[k])) for k, _ in metrics} for s, m in by_system.items()}
        best = {k: min(stats[s][k][0] for s in stats) for k, _ in metrics}
        num_pairs = {len(_per_pair(m[metrics[0][0]])) for m in by_system.values()}
        lines = [f"### {set_name} ({', '.join(map(str, sorted(num_pairs)))} pairs)", "",
                 "| system | " + " | ".join(h for _, h in metrics) + " |",
                 "|---|" + "---:|" * len(metrics)]
        for system, row in stats.items():
            cells = []
            for k, _ in metrics:
                mean, half = row[k]
                text = f"{mean:.2f} ± {half:.2f}"
                cells.append(f"**{text}**" if f"{mean:.2f}" == f"{best[k]:.2f}" else text)
            lines.append(f"| {system} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def build_parser() -> argparse.ArgumentParser:
    from eqlib.evalsets import EVAL_SETS

    parser = argparse.ArgumentParser(prog="python -m eqlib.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=["identity", "spectral"],
                        help="identity, spectral, a model name (e.g. proposed_db) or hybrid_<model>")
    parser.add_argument("--sets", nargs="+", default=list(EVAL_SETS), choices=EVAL_SETS, metavar="SET",
                        help=f"evaluation sets (default all: {', '.join(EVAL_SETS)})")
    parser.add_argument("--num-pairs", type=int, default=None,
                        help=f"pairs per set (default: each set's size; {QUICK_NUM_PAIRS} in quick mode)")
    parser.add_argument("--out", type=Path, default=None, help="output Markdown (default figures/results.md)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Score the systems on the sets and write the Markdown table (``figures/results.md``)."""
    from eqlib import evalsets

    args = build_parser().parse_args(argv)
    num_pairs = args.num_pairs if args.num_pairs is not None else (QUICK_NUM_PAIRS if is_quick() else None)
    try:
        systems = {name: load_named_system(name) for name in args.systems}
    except (ValueError, OSError) as err:  # unknown model, missing or broken checkpoint
        sys.exit(f"eqlib.evaluate: {str(err).splitlines()[0]}")
    results: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for set_name in args.sets:
        pairs = evalsets.load_eval_set(set_name, num_pairs=num_pairs)
        results[set_name] = {name: evaluate_system(system, pairs, evalsets.SAMPLE_RATE, desc=f"{set_name}/{name}")
                             for name, system in systems.items()}
    source = evalsets.available_eval_sets()[args.sets[0]]
    header = ("## Evaluation results\n\nLevel-free errors of the predicted EQ against the true θ (lower is "
              f"better), mean ± 95 % CI over pairs; eval-set source: {source}"
              f"{' (quick mode)' if is_quick() else ''}. Regenerate with `python -m eqlib.evaluate "
              f"--systems {' '.join(args.systems)} --sets {' '.join(args.sets)}`.\n\n")
    out = args.out or figures_dir() / "results.md"
    out.write_text(header + results_table(results))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
