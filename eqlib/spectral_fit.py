"""The non-learned "match EQ" baseline: fit the 4-band EQ to a difference of long-term spectra.

``spectral_match(input, reference)`` measures the long-term average spectrum (LTS) of both
recordings, smooths each on a log-frequency grid (:mod:`eqlib.spectrum`), and fits the cascaded cookbook response
(``DEFAULT_EQ.response_db``) to ``LTS(reference) − LTS(input)`` by least squares, ignoring the
overall level. ``match_spectra`` is the same fit on spectra computed elsewhere (the CLI streams
them block by block). The same fit refines a network's prediction (``init`` + ``prior_weight``:
the "hybrid" mode, with ``HYBRID_PRIOR_WEIGHT``). The ``*_batch`` forms fit many pairs at once, each exactly as alone, faster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from eqlib.audio import AudioError
from eqlib.eq import DEFAULT_EQ, EQSettings, EQSpec
from eqlib.optim import LeafAdam, QuickLBFGS
from eqlib.runtime import one_thread
from eqlib.spectrum import SMOOTHING_FRACTION, log_grid_hz, smoothed_spectrum_db

SILENCE_BELOW_PEAK_DB = 80.0  # grid points this far below a spectrum's peak carry no weight in the fit
SILENCE_FLOOR_DB = -180.0  # power density (dB re 1/Hz) below which a grid point counts as silent
HYBRID_PRIOR_WEIGHT = 100.0  # dB² per normalised unit²: keeps the hybrid refinement near the network's prediction
#: Where an ensemble averages its members' responses (Hz): log-spaced over 20 Hz–20 kHz, the band pairs are scored on.
ENSEMBLE_GRID_HZ = np.geomspace(20.0, 20000.0, 120)


def _fit_inits(spec: EQSpec, init: EQSettings | None, num_random: int, seed: int) -> torch.Tensor:
    """Starting points ``(inits, bands * 3)`` in normalised space: init or defaults, then seeded random draws."""
    start = spec.to_norm(torch.as_tensor(init.params if init is not None else spec.default.numpy()))
    generator = torch.Generator().manual_seed(seed)
    randoms = spec.sample_norm(num_random, generator, dtype=torch.float64)
    starts = [start[None]]
    if init is not None:
        starts.append(spec.to_norm(spec.default)[None])
    return torch.cat([*starts, randoms])


def fit_eq_to_targets(targets_db: np.ndarray, freqs_hz: np.ndarray, sample_rate: float,
                      inits: Sequence[EQSettings] | None = None, prior_weight: float = 0.0, steps: int = 150,
                      refine_steps: int = 60, num_random: int = 16, weights: np.ndarray | None = None, seed: int = 0,
                      spec: EQSpec = DEFAULT_EQ, level_free: bool = True) -> list[EQSettings]:
    """Least-squares fits of the cascaded EQ response to several target curves, ignoring overall level.

    Parameters are optimised in normalised space through a sigmoid, so every knob stays in
    its range. Per target, all starting points (its ``init`` or the spec defaults, plus ``num_random``
    seeded random draws, the same draws for every target) are optimised together in float64 by Adam,
    then L-BFGS; the lowest loss wins. Adam is elementwise, so it runs on all targets at once; L-BFGS
    couples the parameters it sees, so it runs target by target: each result is the one a fit of that
    target alone gives.

    Args:
        targets_db: target magnitudes ``(targets, freqs)`` in dB (each row's mean is ignored).
        freqs_hz: frequencies ``(freqs,)`` in Hz, below Nyquist; log-spaced for equal weight per octave.
        sample_rate: sampling rate in Hz the EQ will run at.
        inits: one starting setting per target (e.g. a network's prediction); also the prior's centre.
        prior_weight: weight of the mean squared distance, in normalised units, to the target's init
            (needs ``inits``); the loss is in dB², so 1e2–1e3 holds the fit close to the init.
        steps: Adam iterations.
        refine_steps: L-BFGS iterations after Adam (0 to skip).
        num_random: random starting points besides the init/defaults.
        weights: optional non-negative per-frequency weights ``(targets, freqs)`` or ``(freqs,)``.
        seed: seed of the random starting points.
        spec: the EQ spec.
        level_free: ignore the overall level (default). ``False`` fits the targets level included: for targets that
            are themselves EQ responses, so that the answer's gains do not drift together, as they may where only the
            shape counts.

    Returns:
        The best :class:`EQSettings` found for each target.
    """
    target = torch.as_tensor(np.asarray(targets_db, dtype=np.float64))
    freqs = torch.as_tensor(np.asarray(freqs_hz, dtype=np.float64))
    if target.ndim != 2 or target.shape[-1:] != freqs.shape or freqs.ndim != 1 or freqs.numel() < 2:
        raise ValueError(f"targets_db (targets, freqs) and freqs_hz (freqs,) must match, got {tuple(target.shape)} "
                         f"and {tuple(freqs.shape)}")
    top_hz = float(spec.maximum[:, 1].max())
    if top_hz >= sample_rate / 2:
        raise ValueError(f"the EQ's frequency ranges reach {top_hz:g} Hz, not below Nyquist at {sample_rate:g} Hz; "
                         f"resample to above {2 * top_hz:g} Hz first")
    if not bool(torch.isfinite(target).all()):
        raise ValueError("target_db contains NaN or infinite values")
    if inits is not None and len(inits) != len(target):
        raise ValueError(f"{len(inits)} init settings for {len(target)} targets")
    if prior_weight < 0 or (prior_weight > 0 and inits is None):
        raise ValueError("prior_weight must be >= 0 and needs an init setting to pull towards")
    w = torch.ones_like(target) if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float64))
    w = w.expand_as(target) if w.ndim == 1 and w.shape == freqs.shape else w
    if w.shape != target.shape or bool((w < 0).any()) or bool((w.sum(dim=-1) <= 0).any()):
        raise ValueError("weights must be non-negative, match target_db and not all be zero")
    w = (w / w.sum(dim=-1, keepdim=True))[:, None]  # (targets, 1, freqs)
    if level_free:
        target = target - (w[:, 0] * target).sum(dim=-1, keepdim=True)
    target = target[:, None]

    starts = torch.stack([_fit_inits(spec, init, num_random, seed)
                          for init in (inits if inits is not None else [None] * len(target))]).clamp(1e-4, 1 - 1e-4)
    centre = starts[:, :1]  # (targets, 1, bands * 3)

    def losses(logits: torch.Tensor, k: slice) -> torch.Tensor:
        """Loss ``(targets[k], starts)`` of the starts ``logits`` ``(targets[k], starts, bands * 3)``."""
        params_norm = torch.sigmoid(logits)
        response = spec.response_db(spec.from_norm(params_norm), freqs, sample_rate)
        if level_free:
            response = response - (w[k] * response).sum(dim=-1, keepdim=True)
        loss = (w[k] * (response - target[k]) ** 2).sum(dim=-1)
        if prior_weight > 0:
            loss = loss + prior_weight * ((params_norm - centre[k]) ** 2).mean(dim=-1)
        return loss

    # Adam finds the basin from every start; L-BFGS then converges within it (a target's starts are
    # independent, so one L-BFGS on their summed loss refines them all).
    best = []
    with one_thread(), torch.enable_grad():
        logits = torch.logit(starts).requires_grad_(True)
        adam = LeafAdam(logits, lr=0.1)
        for _ in range(steps):
            adam.zero_grad()
            losses(logits, slice(None)).sum().backward()
            adam.step()
        for i in range(len(target)):
            k = slice(i, i + 1)
            own = logits[k].detach().clone().requires_grad_(True)
            if refine_steps > 0:
                _refine(own, lambda: losses(own, k).sum(), refine_steps)
            with torch.no_grad():
                best.append(torch.sigmoid(own[0, int(torch.argmin(losses(own, k)[0]))]))
    return [EQSettings(spec.from_norm(b).numpy(), spec) for b in best]


def _refine(logits: torch.Tensor, loss: Callable[[], torch.Tensor], max_iter: int) -> None:
    """L-BFGS (strong Wolfe line search) on the leaf ``logits`` in place, minimising ``loss()``."""
    lbfgs = QuickLBFGS([logits], lr=1.0, max_iter=max_iter, history_size=30, line_search_fn="strong_wolfe",
                       tolerance_grad=1e-10, tolerance_change=1e-14)

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        total = loss()
        total.backward()
        return total

    lbfgs.step(closure)


def responses_on_grid_db(answers: Sequence[EQSettings], sample_rate: float) -> np.ndarray:
    """The cascaded responses ``(answers, freqs)`` in dB of several EQs at :data:`ENSEMBLE_GRID_HZ`."""
    return np.stack([answer.response_db(ENSEMBLE_GRID_HZ, sample_rate) for answer in answers])


def fit_mean_response(members_answers: Sequence[Sequence[EQSettings]], sample_rate: float) -> list[EQSettings]:
    """An ensemble's EQ per pair: the 4-band EQ fitted by least squares to the mean of its members' cascaded
    responses in dB at :data:`ENSEMBLE_GRID_HZ`, level included (a level-free fit of such a mean may answer every
    gain several dB too high together: the same shape, an output that clips). ``members_answers`` holds one list
    per member, each with one EQ per pair. Knobs cannot be averaged (two EQs with the same response can have
    different knobs); responses can."""
    curves = [responses_on_grid_db(answers, sample_rate) for answers in members_answers]
    return fit_eq_to_targets(np.mean(curves, axis=0), ENSEMBLE_GRID_HZ, sample_rate, level_free=False)


def fit_eq_to_target(target_db: np.ndarray, freqs_hz: np.ndarray, sample_rate: float, init: EQSettings | None = None,
                     prior_weight: float = 0.0, steps: int = 150, refine_steps: int = 60, num_random: int = 16,
                     weights: np.ndarray | None = None, seed: int = 0, spec: EQSpec = DEFAULT_EQ) -> EQSettings:
    """:func:`fit_eq_to_targets` for one target curve ``target_db`` ``(freqs,)`` (dB) and one ``init``.

    Returns:
        The best :class:`EQSettings` found.
    """
    target = np.asarray(target_db, dtype=np.float64)
    if target.ndim != 1 or target.shape != np.shape(freqs_hz) or target.size < 2:
        raise ValueError(f"target_db and freqs_hz must be matching 1-D arrays, got {target.shape} "
                         f"and {np.shape(freqs_hz)}")
    return fit_eq_to_targets(target[None], freqs_hz, sample_rate, inits=None if init is None else [init],
                             prior_weight=prior_weight, steps=steps, refine_steps=refine_steps, num_random=num_random,
                             weights=weights, seed=seed, spec=spec)[0]


def audible_points(input_db: np.ndarray, reference_db: np.ndarray) -> np.ndarray:
    """Grid points worth matching ``(..., points)``: both spectra within 80 dB of their peak and above -180 dB."""
    audible = np.ones(np.broadcast_shapes(np.shape(input_db), np.shape(reference_db)), dtype=bool)
    for level in (np.asarray(input_db, dtype=np.float64), np.asarray(reference_db, dtype=np.float64)):
        audible &= (level > level.max(axis=-1, keepdims=True) - SILENCE_BELOW_PEAK_DB) & (level > SILENCE_FLOOR_DB)
    return audible


def match_spectra_batch(freqs_hz: np.ndarray, input_db: np.ndarray, reference_db: np.ndarray, sample_rate: float,
                        inits: Sequence[EQSettings] | None = None, prior_weight: float = 0.0,
                        spec: EQSpec = DEFAULT_EQ) -> list[EQSettings]:
    """:func:`match_spectra` for many pairs at once (one Adam run for all, see :func:`fit_eq_to_targets`).

    Args:
        freqs_hz: log-spaced grid ``(points,)`` in Hz.
        input_db, reference_db: smoothed levels ``(pairs, points)`` in dB on that grid.
        sample_rate: sampling rate in Hz the EQs will run at.
        inits: optional starting setting per pair; ``prior_weight``: pull towards it.
        spec: the EQ spec.

    Returns:
        One fitted :class:`EQSettings` per pair, each equal to :func:`match_spectra` on that pair.
    """
    input_db, reference_db = np.asarray(input_db, dtype=np.float64), np.asarray(reference_db, dtype=np.float64)
    audible = audible_points(input_db, reference_db)
    silent = np.flatnonzero(audible.sum(axis=-1) < 2)
    if silent.size:
        raise AudioError("input or reference has no audible content between 20 Hz and 20 kHz to match"
                         + (f" (pair {silent[0]})" if len(audible) > 1 else ""), "silent")
    return fit_eq_to_targets(reference_db - input_db, freqs_hz, sample_rate, inits=inits, prior_weight=prior_weight,
                             weights=audible.astype(np.float64), spec=spec)


def match_spectra(freqs_hz: np.ndarray, input_db: np.ndarray, reference_db: np.ndarray, sample_rate: float,
                  init: EQSettings | None = None, prior_weight: float = 0.0, spec: EQSpec = DEFAULT_EQ) -> EQSettings:
    """The EQ that moves a smoothed input spectrum towards a smoothed reference spectrum.

    Fits ``reference_db − input_db``; grid points where either spectrum is more than 80 dB below
    its peak (or below -180 dB) are ignored: there is nothing there to match.

    Args:
        freqs_hz: log-spaced grid ``(points,)`` in Hz (e.g. :func:`eqlib.spectrum.log_grid_hz`), below Nyquist.
        input_db, reference_db: smoothed levels ``(points,)`` in dB on that grid
            (e.g. :func:`eqlib.spectrum.smoothed_spectrum_db`, or the same computed block by block).
        sample_rate: sampling rate in Hz the EQ will run at.
        init, prior_weight: optional starting setting and pull towards it (see :func:`fit_eq_to_targets`).
        spec: the EQ spec.

    Returns:
        The fitted :class:`EQSettings`, to be applied to the input.

    Raises:
        AudioError: kind ``"silent"`` when fewer than two grid points are audible in both spectra.
    """
    return match_spectra_batch(freqs_hz, np.asarray(input_db)[None], np.asarray(reference_db)[None], sample_rate,
                               inits=None if init is None else [init], prior_weight=prior_weight, spec=spec)[0]


def spectral_match_batch(inputs: Sequence[np.ndarray], references: Sequence[np.ndarray], sample_rate: float,
                         inits: Sequence[EQSettings] | None = None, prior_weight: float = 0.0,
                         fraction: float = SMOOTHING_FRACTION, spec: EQSpec = DEFAULT_EQ) -> list[EQSettings]:
    """:func:`spectral_match` on many pairs at once: each result equals a call on that pair alone, faster.

    Args:
        inputs, references: one recording per pair, ``(time,)`` or ``(channels, time)`` at ``sample_rate`` Hz
            (lengths may differ).
        sample_rate: sampling rate in Hz of every recording.
        inits: optional starting setting per pair; ``prior_weight``: pull towards it (see :func:`fit_eq_to_targets`).
        fraction: smoothing bands per octave.
        spec: the EQ spec.

    Returns:
        One fitted :class:`EQSettings` per pair, to be applied to its input.
    """
    if len(inputs) != len(references) or len(inputs) == 0:
        raise ValueError(f"need as many inputs as references, at least one: got {len(inputs)} and {len(references)}")
    grid = log_grid_hz(sample_rate)
    input_db, reference_db = (np.stack([smoothed_spectrum_db(x, sample_rate, fraction)[1] for x in recordings])
                              for recordings in (inputs, references))
    return match_spectra_batch(grid, input_db, reference_db, sample_rate, inits=inits, prior_weight=prior_weight,
                               spec=spec)


def spectral_match(input_audio: np.ndarray, reference_audio: np.ndarray, sample_rate: float,
                   init: EQSettings | None = None, prior_weight: float = 0.0, fraction: float = SMOOTHING_FRACTION,
                   spec: EQSpec = DEFAULT_EQ) -> EQSettings:
    """The EQ that moves the input's smoothed long-term spectrum towards the reference's.

    Smooths both long-term spectra over 1/``fraction``-octave bands on :func:`eqlib.spectrum.log_grid_hz` (20 Hz to
    min(20 kHz, 0.45·fs)) and fits their difference with :func:`match_spectra`.

    Args:
        input_audio, reference_audio: ``(time,)`` or ``(channels, time)`` at ``sample_rate`` Hz.
        sample_rate: sampling rate in Hz of both recordings.
        init, prior_weight: optional starting setting and pull towards it (see :func:`fit_eq_to_targets`).
        fraction: smoothing bands per octave.
        spec: the EQ spec.

    Returns:
        The fitted :class:`EQSettings`, to be applied to the input.
    """
    return spectral_match_batch([input_audio], [reference_audio], sample_rate, inits=None if init is None else [init],
                                prior_weight=prior_weight, fraction=fraction, spec=spec)[0]
