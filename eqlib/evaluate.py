"""Score EQ-prediction "systems" on evaluation pairs and tabulate mean ± 95 % CI.

A system is a callable ``(input (time,), reference (time,), sample_rate) -> EQSettings``: the EQ
to apply to the input so that it takes on the reference's EQ style. Built in: ``identity`` (no
EQ), ``spectral`` (the least-squares match EQ of :mod:`eqlib.spectral_fit`); any trained model
name (``proposed_db``, …) via :func:`eqlib.inference.load_system`, and ``hybrid_<model>`` (the
spectral fit started from, and held near, the model's prediction, as ``eqlib match --mode hybrid``) and
``mean_<a>+<b>`` (the EQ fitted to the mean response of systems ``a`` and ``b``: an ensemble of models whose knobs
cannot be averaged) and ``swap_<system>`` (the system asked both ways round, input for reference, and its two
answers made one: :class:`SwapSymmetricSystem`); ``gated_mean_<a>+<b>`` is the ensemble of the networks behind
the shared-content gate of model ``a`` (:class:`GatedSystem`).
A model may also come from a checkpoint file as ``LABEL=PATH.pt`` (or ``hybrid_LABEL=PATH.pt``),
e.g. ``proposed_db-synth=runs/proposed_db-synth/best.pt``; the table names its row ``LABEL``. In an ensemble,
``mean_ltsnet+LABEL=PATH.pt``, the checkpoint is the last member's.

``python -m eqlib.evaluate --systems identity spectral proposed_db --sets cross-chain`` prints the
table and writes it to ``figures/results.md``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from eqlib.eq import EQSettings
from eqlib.metrics import (lts_distance_db, mean_ci95, param_errors, response_error_db,
                           third_octave_response_error_db)
from eqlib.runtime import figures_dir, is_quick, one_thread, pin_cpu_kernels
from eqlib.spectral_fit import (ENSEMBLE_GRID_HZ, HYBRID_PRIOR_WEIGHT, fit_eq_to_targets, fit_mean_response,
                                responses_on_grid_db, spectral_match_batch)

if TYPE_CHECKING:
    from eqlib.application import Problem
    from eqlib.inference import ModelSystem

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
FULL_BAND_HZ = 20000.0  # the top of the error grid for full-band pairs
#: A block of the results table: the cross-chain pairs whose input and reference are both real recordings.
REAL_CHAINS_ONLY = "cross-chain, real chains only"
#: A block of the results table: the cross-chain pairs between the chains of the first, 150-pair deciding set
#: (VCTK, Hi-Fi TTS, synthetic test speakers), comparable with numbers measured on it.
EARLIER_CHAINS = "cross-chain, first three chains"
FIRST_CHAINS = ("vctk", "hifitts", "synth")
APPLICATION_CASES = "The application cases"  # the heading of --application-cases' table
APPLICATION_EFFECTS = "What the problem itself moved"  # the heading of --application-cases' control table
APPLICATION_SHARES = "The share of each problem followed"  # the heading of --case-bells' table
#: eqlib.application.CASE_CONTENTS → the flag that asks for it (the default, other speakers, needs none)
CASE_CONTENT_FLAGS = {"same-recording": "--case-shared-content", "same-speaker": "--case-same-speaker"}
BY_REFERENCE_CHAIN = "cross-chain by the reference's chain"  # the heading of reference_chain_table


def predict_batch(system: System, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
                  sample_rate: int) -> list[EQSettings]:
    """``system``'s EQ for each (input, reference) pair of ``(time,)`` recordings, in one call when it has a
    ``batch`` method (a gated model fits all pairs in one batch)."""
    batch = getattr(system, "batch", None)
    if batch is not None:
        return batch(inputs, references, sample_rate)
    return [system(x, r, sample_rate) for x, r in zip(inputs, references)]


class BatchSystem:
    """A system that answers whole sets through ``batch``; called on one pair, it answers a batch of one."""

    def __call__(self, input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
        return self.batch([input_audio], [reference_audio], sample_rate)[0]


def responses_db(system: System, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
                 sample_rate: int) -> np.ndarray:
    """``system``'s cascaded responses ``(pairs, freqs)`` in dB at :data:`ENSEMBLE_GRID_HZ`, one per pair."""
    return responses_on_grid_db(predict_batch(system, inputs, references, sample_rate), sample_rate)


def identity_system(input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: int) -> EQSettings:
    """No EQ at all: the floor every method must beat."""
    return EQSettings.identity()


@dataclass(frozen=True)
class SpectralSystem(BatchSystem):
    """The least-squares match EQ (:mod:`eqlib.spectral_fit`), optionally started from, and held near by
    ``prior_weight``, the prediction of ``init_system``. A system with a ``batch`` method: evaluating
    all pairs of a set in one call is several times faster and gives the same EQs."""

    init_system: System | None = None
    prior_weight: float = 0.0

    def batch(self, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
              sample_rate: int) -> list[EQSettings]:
        """One EQ per (input, reference) pair of ``(time,)`` recordings at ``sample_rate`` Hz."""
        inits = None
        if self.init_system is not None:
            inits = predict_batch(self.init_system, inputs, references, sample_rate)
        return spectral_match_batch(inputs, references, sample_rate, inits=inits, prior_weight=self.prior_weight)


#: The non-learned match EQ: least-squares fit to ``LTS(reference) − LTS(input)``.
spectral_system = SpectralSystem()


@dataclass(frozen=True)
class MeanResponseSystem(BatchSystem):
    """An ensemble of systems: :func:`eqlib.spectral_fit.fit_mean_response` over its members' answers (the shipped
    ``ensemble`` is the same over two networks, :class:`eqlib.inference.EnsemblePredictor`)."""

    members: tuple[System, ...]

    def batch(self, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
              sample_rate: int) -> list[EQSettings]:
        """One EQ per (input, reference) pair of ``(time,)`` recordings at ``sample_rate`` Hz."""
        return fit_mean_response([predict_batch(member, inputs, references, sample_rate)
                                  for member in self.members], sample_rate)


@dataclass(frozen=True)
class GatedSystem(BatchSystem):
    """Any system's answers behind a trained model's shared-content gate (:mod:`eqlib.gate`): the direct spectral
    fit where the gate of ``gate_owner`` (a model system, e.g. ``ltsnet``) finds that a pair shares its content,
    ``inner``'s answer elsewhere."""

    inner: System
    gate_owner: ModelSystem

    def batch(self, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
              sample_rate: int) -> list[EQSettings]:
        """One EQ per (input, reference) pair of ``(time,)`` recordings at ``sample_rate`` Hz."""
        answers = predict_batch(self.inner, inputs, references, sample_rate)
        return self.gate_owner.predictor.gated_batch(list(inputs), list(references), answers)


@dataclass(frozen=True)
class SwapSymmetricSystem(BatchSystem):
    """A system made antisymmetric in its two recordings: the 4-band EQ fitted (least squares, level-free) to
    half the difference of ``member``'s response for (input, reference) and its response for (reference, input)
    in dB at :data:`ENSEMBLE_GRID_HZ`. The EQ that takes the reference's style to the input is the inverse of the
    one that takes the input's style to the reference; a model trained mostly on clean inputs reads a problem in
    the reference well and one in the input poorly, and the swapped call lets it read the input's as a reference's.
    """

    member: System

    def batch(self, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
              sample_rate: int) -> list[EQSettings]:
        """One EQ per (input, reference) pair of ``(time,)`` recordings at ``sample_rate`` Hz."""
        forward = responses_db(self.member, inputs, references, sample_rate)
        backward = responses_db(self.member, references, inputs, sample_rate)
        return fit_eq_to_targets(0.5 * (forward - backward), ENSEMBLE_GRID_HZ, sample_rate)


@dataclass(frozen=True)
class AmountSystem(BatchSystem):
    """``inner``'s answers with every gain (dB) multiplied by ``amount`` and clipped to its band's gain range: below
    1 a milder EQ (``eqlib match --amount``), above 1 one that follows more of what it found, to price how much
    of a problem a system must follow against what that costs elsewhere."""

    inner: System
    amount: float

    def batch(self, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
              sample_rate: int) -> list[EQSettings]:
        """One EQ per (input, reference) pair of ``(time,)`` recordings at ``sample_rate`` Hz."""
        return [settings.gains_times(self.amount)
                for settings in predict_batch(self.inner, inputs, references, sample_rate)]


class RememberingSystem(BatchSystem):
    """``inner`` that remembers its last batch: a call with the very same arrays again (the same objects, as
    :func:`evaluate_sets` passes one set's pairs to every system in turn) returns that batch's answers. Lets
    several systems built on one model (the model, its network, its hybrid) share the model's work."""

    def __init__(self, inner: System) -> None:
        self.inner = inner
        self._last: tuple[list[np.ndarray], int, list[EQSettings]] | None = None

    def batch(self, inputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
              sample_rate: int) -> list[EQSettings]:
        """One EQ per (input, reference) pair of ``(time,)`` recordings at ``sample_rate`` Hz."""
        recordings = [*inputs, *references]
        if self._last is not None:
            seen, seen_rate, answers = self._last
            if (seen_rate == sample_rate and len(seen) == len(recordings) and len(inputs) == len(answers)
                    and all(a is b for a, b in zip(seen, recordings))):
                return list(answers)
        answers = predict_batch(self.inner, inputs, references, sample_rate)
        self._last = (recordings, sample_rate, list(answers))
        return list(answers)


def model_systems_sharing_work(name: str) -> dict[str, System]:
    """``name``, ``network_<name>`` and ``hybrid_<name>`` for a gated model, the network run once per batch for
    all three (:class:`RememberingSystem`): the same answers as :func:`load_named_system` gives each, in about a
    third of the time."""
    network = RememberingSystem(load_named_system(f"network_{name}"))
    gated = RememberingSystem(GatedSystem(network, load_named_system(name)))
    return {name: gated, f"network_{name}": network, f"hybrid_{name}": hybrid_system(gated, HYBRID_PRIOR_WEIGHT)}


def hybrid_system(model_system: System, prior_weight: float) -> SpectralSystem:
    """A model's prediction refined by the spectral fit, held near the prediction by ``prior_weight``."""
    return SpectralSystem(model_system, prior_weight)


def load_named_system(name: str, weights: str | Path | None = None) -> System:
    """``identity``, ``spectral``, a model name, ``hybrid_<model name>`` (the spectral fit held near the model's
    prediction), ``network_<model name>`` (the network alone, without its shared-content gate) or
    ``mean_<a>+<b>[+…]`` (:class:`MeanResponseSystem` over systems named as here, the last from ``weights`` when
    given), ``gated_mean_<a>+<b>[+…]`` (the same ensemble over ``network_<a>`` and the others, behind the gate of
    model ``a``: :class:`GatedSystem`), ``swap_<name>`` (:class:`SwapSymmetricSystem` around the system ``name``,
    with ``weights``) or ``amount<k>_<name>`` (:class:`AmountSystem`: every gain of ``name``'s answer times ``k``
    > 0, e.g. ``amount1.5_ensemble``); model code is imported only here.

    With ``weights`` (a checkpoint file) the model comes from that file and ``name`` (less any
    prefix) is only its label. Raises ``ValueError`` (incl. ``CheckpointError``).
    """
    builtin = {"identity": identity_system, "spectral": spectral_system}
    if name in builtin:
        if weights is not None:
            raise ValueError(f"{name} is built in and takes no checkpoint ({name}={weights})")
        return builtin[name]
    for prefix in ("gated_mean_", "mean_"):
        if name.startswith(prefix):
            return _ensemble(prefix, name.removeprefix(prefix).split("+"), weights)
    if name.startswith("swap_"):
        return SwapSymmetricSystem(load_named_system(name.removeprefix("swap_"), weights))
    if name.startswith("amount"):
        scaled = re.fullmatch(r"amount(\d+(?:\.\d*)?)_(.+)", name)
        if scaled is None or float(scaled[1]) <= 0:
            raise ValueError(f"system {name!r}: expected amount<k>_<system> with a factor k > 0, e.g. "
                             "amount1.5_ensemble")
        return AmountSystem(load_named_system(scaled[2], weights), float(scaled[1]))
    from eqlib.inference import load_system  # lazy: torch models and checkpoints only when asked for

    if name.startswith("hybrid_"):
        return hybrid_system(load_system(name.removeprefix("hybrid_"), weights), HYBRID_PRIOR_WEIGHT)
    if name.startswith("network_"):
        system = load_system(name.removeprefix("network_"), weights)
        system.predictor.gate = None
        return system
    return load_system(name, weights)


def _ensemble(prefix: str, members: list[str], weights: str | Path | None) -> System:
    """``mean_`` or ``gated_mean_`` (``prefix``) over the systems named ``members``; the last one comes from the
    checkpoint ``weights`` when given (``mean_ltsnet+LABEL=PATH.pt``)."""
    if len(members) < 2 or not all(members):
        raise ValueError(f"system {prefix + '+'.join(members)!r}: expected {prefix}<a>+<b> over two or more system "
                         "names")
    loaded = [*(load_named_system(member) for member in members[:-1]), load_named_system(members[-1], weights)]
    if prefix == "mean_":
        return MeanResponseSystem(tuple(loaded))
    if getattr(getattr(loaded[0], "predictor", None), "gate", None) is None:
        raise ValueError(f"system {prefix + '+'.join(members)!r}: {members[0]!r} has no shared-content gate "
                         f"(expected {prefix}<a>+<b>, <a> a gated model such as ltsnet)")
    return GatedSystem(MeanResponseSystem((load_named_system(f"network_{members[0]}"), *loaded[1:])), loaded[0])


def parse_system_arg(arg: str) -> tuple[str, Path | None]:
    """``LABEL=PATH.pt`` → ``(LABEL, PATH.pt)``; a plain system name → ``(name, None)``."""
    if "=" not in arg:
        return arg, None
    label, weights = arg.split("=", 1)
    if not label or not weights or label in ("hybrid_", "network_"):
        raise ValueError(f"system {arg!r}: expected LABEL=PATH.pt with a label and a checkpoint path")
    return label, Path(weights)


def load_systems(args: Sequence[str]) -> dict[str, System]:
    """``{row label: system}`` for ``--systems`` arguments (see :func:`parse_system_arg`); labels must differ."""
    systems: dict[str, System] = {}
    for arg in args:
        label, weights = parse_system_arg(arg)
        if label in systems:
            raise ValueError(f"system label {label!r} is given twice")
        systems[label] = load_named_system(label, weights)
    return systems


def predict_all(system: System, pairs: Sequence, sample_rate: int = 44100, progress: bool = True,
                desc: str = "pairs") -> tuple[list[EQSettings], np.ndarray]:
    """``system``'s EQ for every pair (in one call when it has a ``batch`` method) and the seconds each took
    ``(pairs,)`` (a batch's time shared out evenly)."""
    batch = getattr(system, "batch", None)
    if batch is not None:
        start = time.perf_counter()
        predicted = batch([p.input for p in pairs], [p.reference for p in pairs], sample_rate)
        return predicted, np.full(len(pairs), (time.perf_counter() - start) / len(pairs))
    predicted, seconds = [], []
    for pair in tqdm(pairs, desc=desc, disable=not progress, leave=False):
        start = time.perf_counter()
        predicted.append(system(pair.input, pair.reference, sample_rate))
        seconds.append(time.perf_counter() - start)
    return predicted, np.array(seconds)


def evaluate_system(system: System, pairs: Sequence, sample_rate: int = 44100, progress: bool = True,
                    desc: str = "pairs") -> dict[str, np.ndarray]:
    """Run ``system`` on every pair and score its EQ against the pair's θ.

    Args:
        system: ``(input, reference, sample_rate) -> EQSettings``, optionally with a ``batch`` method
            (``(inputs, references, sample_rate) -> list[EQSettings]``, see :class:`SpectralSystem`).
        pairs: objects with ``input``, ``reference`` ``(time,)`` and ``params`` θ ``(bands, 3)``
            (e.g. :class:`eqlib.evalsets.EvalPair`).
        sample_rate: sampling rate in Hz of every pair.

    Returns:
        Per-pair arrays: ``params`` (the predicted EQ) ``(pairs, bands, 3)``; ``gain_db``, ``freq_oct``,
        ``q_oct`` ``(pairs, bands)``; ``response_db``, ``response_3oct_db`` (level-free response errors over
        the band both recordings hold, :func:`shared_bandwidth_hz`),
        ``lts_ideal_db`` (third-octave LTS distance of the input processed by the prediction to the input
        processed by θ), ``lts_reference_db`` (the same to the reference itself) and ``seconds`` (system
        time): ``(pairs,)``.
    """
    if len(pairs) == 0:
        raise ValueError("no evaluation pairs to score")
    predicted, seconds = predict_all(system, pairs, sample_rate, progress, desc)
    lts_ideal, lts_reference = [], []
    for pair, settings in zip(pairs, predicted):
        processed = settings.apply(pair.input, sample_rate)
        lts_ideal.append(lts_distance_db(processed, EQSettings(pair.params).apply(pair.input, sample_rate), sample_rate))
        lts_reference.append(lts_distance_db(processed, pair.reference, sample_rate))
    pred = np.stack([s.params for s in predicted])
    true = np.stack([np.asarray(p.params, dtype=np.float64) for p in pairs])
    results = {k: v.numpy() for k, v in param_errors(pred, true).items()}
    results["params"] = pred
    results["response_db"], results["response_3oct_db"] = np.zeros(len(pairs)), np.zeros(len(pairs))
    bandwidths = np.array([shared_bandwidth_hz(p) for p in pairs])
    for top in np.unique(bandwidths):  # band-limited pairs are scored on the band both recordings hold
        rows = bandwidths == top
        results["response_db"][rows] = response_error_db(pred[rows], true[rows], sample_rate,
                                                         max_freq_hz=top).numpy()
        results["response_3oct_db"][rows] = third_octave_response_error_db(pred[rows], true[rows], sample_rate,
                                                                            max_freq_hz=top).numpy()
    results["lts_ideal_db"] = np.array(lts_ideal)
    results["lts_reference_db"] = np.array(lts_reference)
    results["seconds"] = seconds
    return results


def shared_bandwidth_hz(pair) -> float:
    """The highest frequency (Hz) both recordings of a pair hold (``meta[...]["bandwidth_hz"]``; 20 kHz when unknown)."""
    meta = getattr(pair, "meta", {}) or {}
    return min(float(meta.get(side, {}).get("bandwidth_hz", FULL_BAND_HZ)) for side in ("input", "reference"))


def _chains(pairs: Sequence) -> list[tuple[str | None, str | None]]:
    return [(p.meta.get("input", {}).get("chain"), p.meta.get("reference", {}).get("chain")) for p in pairs]


def real_chain_mask(pairs: Sequence) -> np.ndarray:
    """``(pairs,)`` True where input and reference both name a chain (``meta[...]["chain"]``) other than "synth"."""
    return np.array([None not in c and "synth" not in c for c in _chains(pairs)], dtype=bool)


def first_chains_mask(pairs: Sequence) -> np.ndarray:
    """``(pairs,)`` True where both recordings come from ``FIRST_CHAINS``."""
    return np.array([all(chain in FIRST_CHAINS for chain in c) for c in _chains(pairs)], dtype=bool)


def subset_results(results: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """The per-pair arrays of :func:`evaluate_system` restricted to the pairs where ``mask`` is True."""
    return {key: np.asarray(values)[mask] for key, values in results.items()}


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


def reference_chain_table(by_system: dict[str, dict[str, np.ndarray]], key: str = "response_db") -> str:
    """Markdown: the mean ``key`` of each system (rows) over the cross-chain pairs whose reference comes from each
    chain (columns, with their pair counts): which chain's colouring a system copies as if it were EQ."""
    chains = np.asarray(next(iter(by_system.values()))["reference_chain"])
    names = sorted(set(chains.tolist()))
    lines = [f"### {BY_REFERENCE_CHAIN}, {key} (mean over the pairs whose reference comes from it)",
             "", "| system | " + " | ".join(f"{name} ({int((chains == name).sum())})" for name in names) + " |",
             "|---|" + "---:|" * len(names)]
    for system, metrics in by_system.items():
        values = _per_pair(np.asarray(metrics[key]))
        lines.append(f"| {system} | " + " | ".join(f"{values[chains == name].mean():.2f}" for name in names) + " |")
    return "\n".join(lines) + "\n"


def paired_table(results: dict[str, dict[str, dict[str, np.ndarray]]], first: str, second: str,
                 key: str = "response_db") -> str:
    """Markdown: per set, the per-pair difference ``first − second`` of ``key`` as mean ± 95 % CI.

    Both systems score the same pairs, so the paired CI is tighter than comparing the two means; a CI
    that excludes 0 means one system is better on that set.
    """
    lines = [f"### Paired difference, {first} − {second}, {key} (negative: {first} is better)", "",
             "| set | pairs | mean ± 95 % CI |", "|---|---:|---:|"]
    for set_name, by_system in results.items():
        if first in by_system and second in by_system:
            mean, half, pairs = paired_difference(results, set_name, first, second, key)
            lines.append(f"| {set_name} | {pairs} | {mean:+.2f} ± {half:.2f} |")
    return "\n".join(lines) + "\n"


def paired_difference(results: dict[str, dict[str, dict[str, np.ndarray]]], set_name: str, first: str,
                      second: str, key: str = "response_db") -> tuple[float, float, int]:
    """Mean and 95 % CI half-width of the per-pair difference ``first − second`` of ``key`` on ``set_name`` (per-band
    metrics averaged over bands), and the number of pairs."""
    by_system = results[set_name]
    diff = _per_pair(np.asarray(by_system[first][key])) - _per_pair(np.asarray(by_system[second][key]))
    mean, half = mean_ci95(diff)
    return float(mean), float(half), diff.size


def build_parser() -> argparse.ArgumentParser:
    from eqlib.application import BELL_GAIN_DB, BELL_Q
    from eqlib.evalsets import EVAL_SETS

    parser = argparse.ArgumentParser(prog="python -m eqlib.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=["identity", "spectral"],
                        help="identity, spectral, a model name (e.g. proposed_db), hybrid_<model>, mean_<a>+<b> "
                             "(an ensemble), gated_mean_<a>+<b> (behind a's gate), swap_<system> (asked both ways "
                             "round), amount<k>_<system> (every gain times k), or a checkpoint as LABEL=PATH.pt or "
                             "hybrid_LABEL=PATH.pt (the row is named LABEL)")
    parser.add_argument("--sets", nargs="+", default=list(EVAL_SETS), choices=EVAL_SETS, metavar="SET",
                        help=f"evaluation sets (default all: {', '.join(EVAL_SETS)})")
    parser.add_argument("--num-pairs", type=int, default=None,
                        help=f"pairs per set (default: each set's size; {QUICK_NUM_PAIRS} in quick mode)")
    parser.add_argument("--out", type=Path, default=None, help="output Markdown (default figures/results.md)")
    parser.add_argument("--paired", nargs=2, metavar=("A", "B"), action="append", default=None,
                        help="also tabulate the per-pair response difference A − B of two systems (labels); "
                             "repeat for more comparisons")
    parser.add_argument("--application-cases", action="store_true",
                        help="also measure every system on the paper's application cases (eqlib.application)")
    parser.add_argument("--case-pairs", type=int, default=None, metavar="N",
                        help="held-out speaker pairs per application case (default: eqlib.application.CASE_PAIRS; "
                             "needs --application-cases)")
    content = parser.add_mutually_exclusive_group()
    content.add_argument("--case-shared-content", action="store_const", const="same-recording", dest="case_content",
                         help="measure the application cases with each pair's input as its own reference (the same "
                              "recording twice, no second voice; needs --application-cases)")
    content.add_argument("--case-same-speaker", action="store_const", const="same-speaker", dest="case_content",
                         help="measure the application cases on pairs of one held-out speaker saying other words "
                              "(needs --application-cases)")
    parser.add_argument("--case-bells", type=float, nargs="+", default=None, metavar="HZ",
                        help=f"measure the application cases on {BELL_GAIN_DB:+g} dB bells (Q {BELL_Q:g}) at these "
                             "frequencies (Hz) instead of the paper's two problems, with a table of the share of each "
                             "followed (eqlib.application.bell_problems; needs --application-cases)")
    return parser


def evaluate_sets(systems: dict[str, System], set_names: Sequence[str], num_pairs: int | None = None
                  ) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``results[set_name][system_name]`` (:func:`evaluate_system`) of every system on every evaluation set.

    ``num_pairs`` pairs per set (default: each set's size); torch runs on one thread (:func:`eqlib.runtime.one_thread`).
    Scoring ``cross-chain`` adds the blocks ``REAL_CHAINS_ONLY`` (its pairs without a synthetic recording) and
    ``EARLIER_CHAINS`` (its pairs between the first deciding set's chains), and to each of its systems' results
    ``reference_chain`` ``(pairs,)``, the chain each pair's reference comes from (:func:`reference_chain_table`).
    """
    from eqlib import evalsets

    results: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    with one_thread(), tqdm(total=len(set_names) * len(systems), desc="evaluate", unit="system×set") as bar:
        for set_name in set_names:
            bar.set_postfix_str(f"loading {set_name}")
            pairs = evalsets.load_eval_set(set_name, num_pairs=num_pairs)
            results[set_name] = {}
            for name, system in systems.items():
                bar.set_postfix_str(f"{set_name}/{name}")
                results[set_name][name] = evaluate_system(system, pairs, evalsets.SAMPLE_RATE,
                                                          desc=f"{set_name}/{name}")
                bar.update()
            if set_name != "cross-chain":
                continue
            reference_chains = np.array([c[1] or "unknown" for c in _chains(pairs)])
            for by_system in results[set_name].values():
                by_system["reference_chain"] = reference_chains
            for block, mask in ((REAL_CHAINS_ONLY, real_chain_mask(pairs)), (EARLIER_CHAINS, first_chains_mask(pairs))):
                if mask.any() and not mask.all():
                    results[block] = {n: subset_results(r, mask) for n, r in results[set_name].items()}
    return results


def write_results(results: dict[str, dict[str, dict[str, np.ndarray]]], system_args: Sequence[str],
                  out: Path, paired: Sequence[Sequence[str]] | None = None, cases: dict | None = None,
                  case_pairs: int | None = None, case_content: str = "other-speaker",
                  bells: Mapping[str, Problem] | None = None) -> str:
    """Write ``results`` as Markdown to ``out``, headed by the command that regenerates it and what it was built
    from (:func:`eqlib.provenance.built_from`: corpora manifests and weights, by digest) and computed with
    (:func:`eqlib.provenance.computed_with`: package versions, kernel caps); return the table.

    ``paired`` (pairs of system labels) appends a :func:`paired_table` per pair; ``cases`` (system label →
    :class:`eqlib.application.CaseResult` list, :func:`eqlib.application.measure_cases`) the application cases,
    measured on ``case_pairs`` pairs when that was asked for (it goes into the command) of what ``case_content``
    names (one of :data:`eqlib.application.CASE_CONTENTS`), on ``bells`` (:func:`eqlib.application.bell_problems`)
    when the cases were measured on them, with a table of the share of each followed
    (:func:`eqlib.application.shares_table`) and its figure, ``out`` with the suffix ``.png``
    (:func:`eqlib.application.figure_shares`).
    """
    from eqlib import evalsets, provenance

    set_names = [name for name in results if name in evalsets.EVAL_SETS]  # not derived blocks
    source = evalsets.available_eval_sets()[set_names[0]]
    command = f"python -m eqlib.evaluate --systems {' '.join(system_args)} --sets {' '.join(set_names)}"
    if Path(out).resolve() != (figures_dir() / "results.md").resolve():
        command += f" --out {provenance.display_path(Path(out))}"
    for first, second in paired or ():
        command += f" --paired {first} {second}"
    if cases is not None:
        command += " --application-cases" + (f" --case-pairs {case_pairs}" if case_pairs is not None else "")
        command += f" {CASE_CONTENT_FLAGS[case_content]}" if case_content in CASE_CONTENT_FLAGS else ""
        command += f" --case-bells {' '.join(f'{hz:g}' for _, hz in bells.values())}" if bells else ""
    built_from = provenance.built_from(provenance.weight_files(system_args), examples=source == "examples")
    header = ("## Evaluation results\n\nLevel-free errors of the predicted EQ against the true θ (lower is "
              f"better), mean ± 95 % CI over pairs; eval-set source: {source}"
              f"{' (quick mode)' if is_quick() else ''}. Regenerate with `{command}`.\n\n{built_from} "
              f"{provenance.computed_with()}\n\n")
    table = results_table(results)
    if "cross-chain" in results:  # evaluate_sets gave each of its systems a reference_chain
        table += "\n" + reference_chain_table(results["cross-chain"])
    for first, second in paired or ():
        table += "\n" + paired_table(results, first, second)
    if cases is not None:
        from eqlib import application

        num_case_pairs = len(next(iter(cases.values()))[0].probe_db)
        content = application.CASE_CONTENTS[case_content]
        pairs_are = content.pairs_are.format(n=num_case_pairs)
        table += (f"\n### {APPLICATION_CASES}\n\nHarsh sibilance and muddy bass, in the input or in the reference "
                  "(`eqlib.application`): the level-free gain of the predicted EQ at the problem's probe frequency "
                  f"over {pairs_are}; a case is right when the mean has the right sign "
                  f"and lies within ±{application.TOLERANCE_DB:g} dB of the right answer.\n\n"
                  + application.cases_table(cases))
        table += (f"\n### {APPLICATION_EFFECTS}\n\nThe same pairs without the problem ({content.without_problem}): "
                  "the probe gain each system predicts for them, and the problem's effect, the probe gain with the "
                  "problem minus that, pair by pair, as a share of the right answer.\n\n"
                  + application.effects_table(cases))
        if bells:
            table += (f"\n### {APPLICATION_SHARES}\n\nThe problem's effect as a share of the right answer, with the "
                      "problem in the reference and in the input (100 %: all of it followed, 0 %: none).\n\n"
                      + application.shares_table(cases))
            import matplotlib.pyplot as plt

            figure = application.figure_shares(cases, f"{application.BELL_GAIN_DB:+g} dB bells "
                                                      f"(Q {application.BELL_Q:g}) over {pairs_are}")
            figure.savefig(out.with_suffix(".png"), dpi=110)
            plt.close(figure)
    out.write_text(header + table)
    return table


def main(argv: list[str] | None = None) -> None:
    """Score the systems on the sets, print the Markdown table and write it (``figures/results.md``)."""
    args = build_parser().parse_args(argv)
    pin_cpu_kernels()
    num_pairs = args.num_pairs if args.num_pairs is not None else (QUICK_NUM_PAIRS if is_quick() else None)
    try:
        systems = load_systems(args.systems)
    except (ValueError, OSError) as err:  # unknown model, bad LABEL=PATH, missing or broken checkpoint
        sys.exit(f"eqlib.evaluate: {str(err).splitlines()[0]}")
    out = args.out or figures_dir() / "results.md"
    unknown = [label for pair in args.paired or () for label in pair if label not in systems]
    if unknown:
        sys.exit(f"eqlib.evaluate: --paired names {', '.join(unknown)}, which is not among --systems")
    from eqlib import application

    recordings_for_cases = None  # None: measure_cases' default pairs
    case_content = args.case_content or "other-speaker"
    bells = None  # the paper's two problems unless --case-bells
    if args.case_pairs is not None or args.case_content or args.case_bells:
        for flag, given in (("--case-pairs", args.case_pairs is not None),
                            (CASE_CONTENT_FLAGS.get(case_content), args.case_content),
                            ("--case-bells", args.case_bells)):
            if given and not args.application_cases:
                sys.exit(f"eqlib.evaluate: {flag} needs --application-cases")
        num_case_pairs = args.case_pairs if args.case_pairs is not None else application.default_case_pairs()
        try:
            recordings_for_cases = application.case_pairs(num_case_pairs, case_content)
            if args.case_bells:
                bells = application.bell_problems(args.case_bells)
        except ValueError as err:
            sys.exit(f"eqlib.evaluate: {err}")
    results = evaluate_sets(systems, args.sets, num_pairs)
    cases = None
    if args.application_cases:
        with one_thread():
            cases = application.measure_cases(systems, recordings_for_cases, bells or application.PROBLEMS)
    print(write_results(results, args.systems, out, args.paired, cases, args.case_pairs, case_content, bells),
          end="")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
