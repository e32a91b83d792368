"""The paper's application cases, measured: harsh sibilance and muddy bass, in the input or in the reference.

Each case takes pairs of recordings of different held-out speakers from ONE recording chain (VCTK's studio),
so that the problem is the only EQ difference between input and reference, and adds the problem — a +9 dB
bell at 6.5 kHz, or a +9 dB low shelf at 250 Hz — to one of them:

- "reference has it": the reference carries the problem; the right answer adds it to the input;
- "input has it": the input carries it; the right answer removes it (the same band at −9 dB).

Scored per pair at the problem's probe frequency (the bell's centre; one octave below the shelf's corner): the
level-free gain of the predicted cascade there (its dB at the probe minus its mean over 20 Hz–20 kHz, the
metric's level removal) against the same for the right answer. A case is right when the mean over its pairs
has the right sign and lies within ``TOLERANCE_DB`` of the right answer.

Each pair is also measured without the problem (the control: two different voices, one chain), so that a case's
miss splits in two: what the system answers to the two voices alone, and the problem's effect (the probe gain
with the problem minus the control, pair by pair) as a share of the right answer (:func:`effects_table`).

:func:`bell_problems` turns the cases into a sweep: one +9 dB bell (Q 2, the sibilance's shape) per frequency, in
place of the paper's two problems, and :func:`shares_table` says how much of each a system follows on each side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

from eqlib.audio import loudness_lufs
from eqlib.eq import EQSettings
from eqlib.metrics import error_grid_hz, mean_ci95
from eqlib.plots import format_freq_axis
from eqlib.runtime import is_quick

SAMPLE_RATE = 44100
TARGET_LUFS = -23.0
TOLERANCE_DB = 4.0
CASE_PAIRS = 12  # held-out speaker pairs per case (eqlib.evaluate --application-cases, notebooks in class mode)
QUICK_CASE_PAIRS = 2
Problem = tuple[EQSettings, float]  # the EQ that causes a problem, and its probe frequency (Hz)
#: problem → (the +9 dB EQ that causes it, probe frequency in Hz)
PROBLEMS: dict[str, Problem] = {
    "harsh sibilance": (EQSettings([[0, 120, 0.707], [0, 450, 1.0], [9, 6500, 2.0], [0, 6000, 0.707]]), 6500.0),
    "muddy bass": (EQSettings([[9, 250, 0.707], [0, 450, 1.0], [0, 2500, 1.0], [0, 6000, 0.707]]), 125.0),
}
DIRECTIONS = ("reference has it", "input has it")
BELL_GAIN_DB = 9.0  # bell_problems: the gain (dB) and Q of each bell, those of the harsh sibilance
BELL_Q = 2.0
BELL_SPLIT_HZ = 1000.0  # bell_problems: below this a bell sits on the EQ's first peaking band, from it on its second
System = Callable[[np.ndarray, np.ndarray, int], EQSettings]


def bell_problems(freqs_hz: Sequence[float], gain_db: float = BELL_GAIN_DB, q: float = BELL_Q
                  ) -> dict[str, Problem]:
    """One problem per frequency: a ``gain_db`` bell of quality ``q`` at ``freqs_hz`` (Hz), every other band flat,
    probed at its centre: the application cases as a sweep over frequency. Named ``"+9 dB bell at 125 Hz"``.
    Raises ``ValueError`` for a frequency outside both peaking bands' ranges (100 Hz–8 kHz for the default EQ)."""
    problems = {}
    for freq_hz in freqs_hz:
        params = EQSettings.identity().params  # every band flat at its default frequency and Q
        params[1 if freq_hz < BELL_SPLIT_HZ else 2] = [gain_db, freq_hz, q]
        try:
            settings = EQSettings(params)
        except ValueError as err:
            raise ValueError(f"no bell at {freq_hz:g} Hz: {str(err).splitlines()[0]}") from None
        problems[f"{gain_db:+g} dB bell at {freq_hz:g} Hz"] = (settings, float(freq_hz))
    return problems


def wanted_settings(problem: str, direction: str, problems: Mapping[str, Problem] = PROBLEMS) -> EQSettings:
    """The right answer: the problem's EQ (reference has it) or the same bands with the gains negated (input has it)."""
    settings = problems[problem][0]
    if direction == "reference has it":
        return settings
    params = settings.params.copy()
    params[:, 0] *= -1
    return EQSettings(params, settings.spec)


def probe_gain_db(settings: EQSettings, freq_hz: float, sample_rate: int = SAMPLE_RATE) -> float:
    """Level-free gain (dB) of ``settings`` at ``freq_hz``: its response there minus its mean on the metric's grid."""
    grid = error_grid_hz(sample_rate).numpy()
    level = float(np.mean(settings.response_db(grid, sample_rate)))
    return float(settings.response_db(np.array([freq_hz]), sample_rate)[0]) - level


def normalise_lufs(audio: np.ndarray, target_lufs: float = TARGET_LUFS) -> np.ndarray:
    """``audio (time,)`` at 44.1 kHz scaled to ``target_lufs`` (LUFS, BS.1770), float64."""
    audio = np.asarray(audio, dtype=np.float64)
    return audio * 10 ** ((target_lufs - loudness_lufs(audio, SAMPLE_RATE)) / 20)


@dataclass
class CaseResult:
    """One problem in one direction over many pairs: its probe frequency (Hz), predictions, probe gains ``(pairs,)``
    and the control's probe gains ``(pairs,)`` (the same pairs with neither recording carrying the problem)."""

    problem: str
    direction: str
    probe_hz: float
    wanted: EQSettings
    predicted: list[EQSettings]
    probe_db: np.ndarray
    wanted_probe_db: float
    control_db: np.ndarray

    @property
    def effect_db(self) -> np.ndarray:
        """The problem's effect per pair ``(pairs,)``: the probe gain with the problem minus the control's (dB)."""
        return self.probe_db - self.control_db

    @property
    def effect_share(self) -> float:
        """The mean effect as a share of the right answer's probe gain (1: the whole problem, 0: none of it)."""
        return float(np.mean(self.effect_db)) / self.wanted_probe_db

    @property
    def right_direction(self) -> int:
        """Pairs whose probe gain has the sign of the right answer."""
        return int(np.sum(np.sign(self.probe_db) == np.sign(self.wanted_probe_db)))

    @property
    def within_tolerance(self) -> int:
        """Pairs whose probe gain is within ``TOLERANCE_DB`` of the right answer."""
        return int(np.sum(np.abs(self.probe_db - self.wanted_probe_db) <= TOLERANCE_DB))

    @property
    def is_right(self) -> bool:
        """The mean probe gain has the right sign and is within ``TOLERANCE_DB`` of the right answer."""
        mean = float(np.mean(self.probe_db))
        return np.sign(mean) == np.sign(self.wanted_probe_db) and abs(mean - self.wanted_probe_db) <= TOLERANCE_DB


@dataclass(frozen=True)
class CaseContent:
    """What input and reference share in the application cases: the evaluation set their recordings come from,
    what ``n`` such pairs are, and what a pair without the problem is (for tables' headings)."""

    eval_set: str
    pairs_are: str  # with ``{n}``: the number of pairs
    without_problem: str


CASE_CONTENTS = {
    "other-speaker": CaseContent("speech-other-speaker", "{n} held-out speaker pairs", "two voices, one chain"),
    "same-speaker": CaseContent("speech-same-speaker", "{n} pairs of one held-out speaker saying other words",
                                "one voice, other words, one chain"),
    "same-recording": CaseContent("speech-other-speaker",
                                  "{n} held-out recordings, each its own reference (shared content)",
                                  "the same recording twice"),
}


def case_pairs(num_pairs: int | None = CASE_PAIRS, content: str = "other-speaker"
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``num_pairs`` (``None``: every pair of the set) (input, clean reference) pairs of held-out VCTK recordings from
    one studio chain, before their evaluation set's EQ θ (``reference_clean``). ``content`` (one of
    ``CASE_CONTENTS``) says what the two share: ``other-speaker``, two different speakers (the first pairs of
    ``speech-other-speaker``); ``same-speaker``, two recordings of one speaker saying other words
    (``speech-same-speaker``); ``same-recording``, each input its own reference (no second voice and no other
    words for a system to discount). Raises ``ValueError`` for an
    unknown ``content`` or when the set holds fewer pairs."""
    from eqlib.evalsets import load_eval_set

    if content not in CASE_CONTENTS:
        raise ValueError(f"unknown case content {content!r}; valid: {', '.join(CASE_CONTENTS)}")
    pairs = load_eval_set(CASE_CONTENTS[content].eval_set)
    if num_pairs is not None and not 1 <= num_pairs <= len(pairs):
        raise ValueError(f"the application cases take 1 to {len(pairs)} pairs ({CASE_CONTENTS[content].eval_set}), "
                         f"not {num_pairs}")
    return [(p.input, p.input if content == "same-recording" else p.reference_clean) for p in pairs[:num_pairs]]


def default_case_pairs() -> int:
    """Held-out speaker pairs per case unless asked otherwise: ``CASE_PAIRS`` (``QUICK_CASE_PAIRS`` in quick mode)."""
    return QUICK_CASE_PAIRS if is_quick() else CASE_PAIRS


def case_recordings(clean_in: np.ndarray, clean_ref: np.ndarray, problem: str, direction: str,
                    problems: Mapping[str, Problem] = PROBLEMS) -> tuple[np.ndarray, np.ndarray]:
    """Input and reference ``(time,)`` of one case, both at ``TARGET_LUFS``: the clean 44.1 kHz recordings, with
    the problem's EQ (``problems``) on the one that has it (``direction``, one of ``DIRECTIONS``)."""
    x, r = normalise_lufs(clean_in), normalise_lufs(clean_ref)
    settings = problems[problem][0]
    if direction == "input has it":
        return normalise_lufs(settings.apply(x, SAMPLE_RATE)), r
    return x, normalise_lufs(settings.apply(r, SAMPLE_RATE))


def run_cases(system: System, pairs: Sequence[tuple[np.ndarray, np.ndarray]],
              problems: Mapping[str, Problem] = PROBLEMS) -> list[CaseResult]:
    """Every problem (default: the paper's two, ``PROBLEMS``) in both directions on every (input, reference) pair of
    clean 44.1 kHz recordings ``(time,)``, each pair also without the problem (the control)."""
    controls = [system(normalise_lufs(x).astype(np.float32), normalise_lufs(r).astype(np.float32), SAMPLE_RATE)
                for x, r in pairs]
    results = []
    for problem, (_, probe_hz) in problems.items():
        control_db = np.array([probe_gain_db(c, probe_hz) for c in controls])
        for direction in DIRECTIONS:
            predicted = []
            for clean_in, clean_ref in pairs:
                x, r = case_recordings(clean_in, clean_ref, problem, direction, problems)
                predicted.append(system(x.astype(np.float32), r.astype(np.float32), SAMPLE_RATE))
            wanted = wanted_settings(problem, direction, problems)
            results.append(CaseResult(problem, direction, probe_hz, wanted, predicted,
                                      np.array([probe_gain_db(p, probe_hz) for p in predicted]),
                                      probe_gain_db(wanted, probe_hz), control_db))
    return results


def measure_cases(systems: Mapping[str, System], pairs: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
                  problems: Mapping[str, Problem] = PROBLEMS) -> dict[str, list[CaseResult]]:
    """:func:`run_cases` of every system over ``pairs`` (default: the first ``CASE_PAIRS`` held-out speaker pairs,
    ``QUICK_CASE_PAIRS`` in quick mode: :func:`default_case_pairs`, :func:`case_pairs`) and ``problems``, with a
    progress bar over the systems."""
    if pairs is None:
        pairs = case_pairs(default_case_pairs())
    return {name: run_cases(system, pairs, problems)
            for name, system in tqdm(systems.items(), desc="application cases", unit="system", leave=False)}


def _mean_db(values: np.ndarray) -> str:
    """``"+1.2 ± 0.3"``: the mean (dB) of ``values (pairs,)`` and its 95 % CI; the mean alone for one pair."""
    mean, half = mean_ci95(values)
    return f"{mean:+.1f}" if len(values) == 1 else f"{mean:+.1f} ± {half:.1f}"


def cases_table(results_by_system: dict[str, list[CaseResult]]) -> str:
    """Markdown: per system and case, the mean probe gain ± 95 % CI, the right answer and the pair counts."""
    lines = ["| system | problem | where | right answer (dB) | predicted (dB, mean ± 95 % CI) | right direction | "
             f"within ±{TOLERANCE_DB:g} dB | case right |", "|---|---|---|---:|---:|---:|---:|:---:|"]
    for system, results in results_by_system.items():
        for r in results:
            n = len(r.probe_db)
            lines.append(f"| {system} | {r.problem} | {r.direction} | {r.wanted_probe_db:+.1f} "
                         f"| {_mean_db(r.probe_db)} | {r.right_direction}/{n} | {r.within_tolerance}/{n} "
                         f"| {'yes' if r.is_right else 'no'} |")
    return "\n".join(lines) + "\n"


def effects_table(results_by_system: dict[str, list[CaseResult]]) -> str:
    """Markdown: per system and case, the probe gain without the problem (the control), the problem's effect
    (paired, mean ± 95 % CI) and that effect as a share of the right answer."""
    lines = ["| system | problem | where | right answer (dB) | without the problem (dB) | the problem's effect (dB) "
             "| share of the right answer |", "|---|---|---|---:|---:|---:|---:|"]
    for system, results in results_by_system.items():
        for r in results:
            share = round(r.effect_share, 2) + 0.0  # no "-0%"
            lines.append(f"| {system} | {r.problem} | {r.direction} | {r.wanted_probe_db:+.1f} "
                         f"| {_mean_db(r.control_db)} | {_mean_db(r.effect_db)} | {share:.0%} |")
    return "\n".join(lines) + "\n"


def shares_table(results_by_system: dict[str, list[CaseResult]]) -> str:
    """Markdown: one row per problem, per system the share of the right answer its effect reaches with the problem
    in the reference and in the input (``CaseResult.effect_share``)."""
    systems = list(results_by_system)
    problems = list(dict.fromkeys(r.problem for results in results_by_system.values() for r in results))
    shares = {(system, r.problem, r.direction): r.effect_share
              for system, results in results_by_system.items() for r in results}
    header = "| problem | " + " | ".join(f"`{s}`: {d}" for s in systems for d in DIRECTIONS) + " |"
    lines = [header, "|---|" + "---:|" * (len(systems) * len(DIRECTIONS))]
    for problem in problems:
        cells = [shares.get((s, problem, d)) for s in systems for d in DIRECTIONS]
        lines.append(f"| {problem} | " + " | ".join("–" if c is None else f"{round(c, 2) + 0.0:.0%}" for c in cells)
                     + " |")
    return "\n".join(lines) + "\n"


def figure_cases(results: Sequence[CaseResult], title: str | None = None) -> plt.Figure:
    """One panel per case: every pair's predicted cascade (level-free, thin) against the right answer (thick),
    with the tolerance at the probe frequency."""
    problems = list(dict.fromkeys(r.problem for r in results))
    fig, axes = plt.subplots(len(problems), len(DIRECTIONS), figsize=(12, 4.0 * len(problems)), squeeze=False,
                             sharey=True, constrained_layout=True)
    grid = error_grid_hz(SAMPLE_RATE).numpy()
    for r in results:
        ax = axes[problems.index(r.problem), DIRECTIONS.index(r.direction)]
        for k, settings in enumerate(r.predicted):
            response = settings.response_db(grid, SAMPLE_RATE)
            ax.semilogx(grid, response - response.mean(), color="#d62728", lw=0.8, alpha=0.45,
                        label="predicted (one line per pair)" if k == 0 else None)
        wanted = r.wanted.response_db(grid, SAMPLE_RATE)
        ax.semilogx(grid, wanted - wanted.mean(), color="0.1", lw=2.2, label="right answer")
        ax.errorbar([r.probe_hz], [r.wanted_probe_db], yerr=TOLERANCE_DB, color="0.1", capsize=6, lw=1.2,
                    label=f"±{TOLERANCE_DB:g} dB at the probe")
        ax.set_title(f"{r.problem}: {r.direction} ({'right' if r.is_right else 'wrong'}: "
                     f"mean {np.mean(r.probe_db):+.1f} dB, {r.within_tolerance}/{len(r.probe_db)} pairs within)",
                     fontsize="small")
        format_freq_axis(ax)
        ax.set_ylabel("level-free response (dB)")
    axes[0, 0].legend(fontsize="small", loc="lower left")
    if title:
        fig.suptitle(title)
    return fig


def figure_shares(results_by_system: dict[str, list[CaseResult]], title: str | None = None) -> plt.Figure:
    """Share of each problem a system follows (mean effect / right answer, ± 95 % CI) against the problem's probe
    frequency (Hz), one panel per direction; grey, the share a mean answer needs to come within ``TOLERANCE_DB``
    of the right answer when the system answers 0 dB without the problem."""
    fig, axes = plt.subplots(1, len(DIRECTIONS), figsize=(12, 4.2), sharey=True, constrained_layout=True)
    for ax, direction in zip(axes, DIRECTIONS):
        needed = {}
        for system, results in results_by_system.items():
            found = sorted((r for r in results if r.direction == direction), key=lambda r: r.probe_hz)
            freqs = [r.probe_hz for r in found]
            shares = [100 * r.effect_share for r in found]
            halves = [100 * mean_ci95(r.effect_db)[1] / abs(r.wanted_probe_db) for r in found]
            ax.errorbar(freqs, shares, yerr=halves, marker="o", ms=4, capsize=3, lw=1.4, label=system)
            needed.update({r.probe_hz: 100 * (1 - TOLERANCE_DB / abs(r.wanted_probe_db)) for r in found})
        ax.plot(sorted(needed), [needed[hz] for hz in sorted(needed)], color="0.6", lw=2, ls="--",
                label=f"needed for ±{TOLERANCE_DB:g} dB")
        ax.axhline(100, color="0.2", lw=0.8)
        format_freq_axis(ax)
        ax.set_title(f"the problem: {direction}", fontsize="small")
    axes[0].set_ylabel("share of the right answer followed (%)")
    axes[0].legend(fontsize="small", loc="upper left")
    if title:
        fig.suptitle(title)
    return fig
