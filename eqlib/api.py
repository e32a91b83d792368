"""The public API: predict the EQ that gives one recording the EQ style of another.

    import eqlib

    settings = eqlib.match("input.wav", "reference.wav")        # EQSettings: 12 knobs, printable
    settings = eqlib.match(x, r, sample_rate=48000)              # arrays (time,) or (channels, time)
    processed = settings.apply(x, 48000)                         # (..., time) float64, exact IIR filtering
    model = eqlib.load_model("baseline_linear")                  # a shipped model, or a checkpoint path
    settings = eqlib.match(x, r, 48000, mode="hybrid", model=model)

Modes (:data:`MODES`): ``"oneshot"``, the network's prediction; ``"spectral"``, a least-squares fit of the
4-band EQ to the difference of the two long-term spectra (:mod:`eqlib.spectral_fit`; right when both
recordings say the same thing); ``"hybrid"``, that fit started from, and held near, the prediction.
:func:`settings_from` holds this logic once; the CLI and the JupyterLab panel call it too.

Both recordings are analysed as a mono mid resampled to the model's rate, in blocks (any length, bounded
memory). Every failure it can name raises one type, :class:`eqlib.errors.EqlibError` (a ``ValueError``) with a
one-line message and the ``kind`` whose exit code the command line uses: :class:`eqlib.audio.AudioError` for
unusable audio, :class:`WeightsError` (also an :class:`eqlib.checkpoint.CheckpointError`) for a bad model,
kind ``usage`` for a bad argument. A file that is used despite a flaw (a truncated WAV, a damaged MP3) gives a
``UserWarning`` naming it.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from eqlib.audio import MAX_CHANNELS, Audio, AudioError, check_audio
from eqlib.checkpoint import CheckpointError, default_weights
from eqlib.eq import EQSettings
from eqlib.errors import EqlibError, first_line, reason
from eqlib import inference
from eqlib.inference import DEFAULT_MODEL, SHIPPED_MODELS, Predictor, load_predictor
from eqlib.runtime import one_thread
from eqlib.spectral_fit import HYBRID_PRIOR_WEIGHT, match_spectra
from eqlib.spectrum import SMOOTHING_FRACTION, WelchAccumulator, band_levels_db, log_grid_hz, long_term_n_fft
from eqlib.streaming import ArraySource, FileSource, Rechunker, Source, mono_stream, open_source

MODES = ("oneshot", "spectral", "hybrid")
SPECTRAL_RATE = 44100  # Hz: analysis rate of the spectral mode, which loads no model
MAX_BAND_FRACTION = 0.45  # bands are clamped to this fraction of the sample rate they run at

Recording = str | Path | np.ndarray


class WeightsError(EqlibError, CheckpointError):
    """A model that cannot be loaded (kind ``weights``): an :class:`EqlibError` and a ``CheckpointError``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "weights")


@functools.lru_cache(maxsize=None)
def _shipped_model(name: str) -> Predictor:
    return load_predictor(name, default_weights(name))


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> Predictor:
    """A trained model ready for :func:`match`: a shipped model's name (``eqlib.inference.SHIPPED_MODELS``; loaded
    once per process and shared) or the path of a checkpoint written by ``eqlib.train`` (loaded with
    ``weights_only=True``: a pickle that would run code is refused). Raises :class:`WeightsError` for an unknown
    name or an unusable file."""
    try:
        if str(name_or_path) in SHIPPED_MODELS:
            return _shipped_model(str(name_or_path))
        path = Path(name_or_path)
        if not path.is_file():
            raise WeightsError(f"{name_or_path}: neither a shipped model ({', '.join(SHIPPED_MODELS)}) "
                               "nor a checkpoint file")
        return load_predictor(weights=path)
    except WeightsError:
        raise
    except CheckpointError as err:
        raise WeightsError(first_line(err)) from err
    except OSError as err:  # a folder on the way to the file that this user may not enter
        raise WeightsError(f"{name_or_path}: cannot read ({reason(err)})") from err


def as_source(recording: Recording, sample_rate: int | None, name: str) -> Source:
    """A checked source from a file path or an array ``(time,)`` / ``(channels, time)`` at ``sample_rate`` Hz.

    Raises :class:`AudioError` for audio that cannot be matched: missing, unreadable, empty, NaN/inf,
    silent, shorter than 0.5 s, below 16 kHz, more than two channels.
    """
    if isinstance(recording, (str, Path)):
        return open_source(recording)
    if sample_rate is None:
        raise EqlibError(f"{name}: an array needs sample_rate (Hz)", "usage")
    if (isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating))
            or not np.isfinite(sample_rate) or sample_rate != int(sample_rate)):
        raise AudioError(f"{name}: sample_rate must be a whole number of Hz, got {sample_rate!r}", "sample_rate")
    try:
        samples = np.asarray(recording, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AudioError(f"{name}: not an array of samples ({first_line(err)})", "not_audio") from err
    if samples.ndim == 1:
        samples = samples[None]
    if samples.ndim != 2 or (samples.shape[0] > MAX_CHANNELS and samples.shape[1] <= MAX_CHANNELS):
        raise AudioError(f"{name}: shape {samples.shape} is not (time,) or (channels, time) with at most "
                         f"{MAX_CHANNELS} channels (soundfile.read returns (frames, channels): pass its .T)",
                         "channels")
    check_audio(Audio(samples, int(sample_rate)), name)
    return ArraySource(np.ascontiguousarray(samples), int(sample_rate), name)


@dataclass
class Analysis:
    """What a mode needs of one recording: the model's latent ``(1, latent_dim)`` and/or the smoothed
    long-term spectrum ``(points,)`` in dB on ``log_grid_hz(rate)``; ``rate`` is the analysis rate in Hz."""

    rate: int
    latent: torch.Tensor | None = None
    spectrum_db: np.ndarray | None = None


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise EqlibError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}", "usage")


def analysis_rate(mode: str, predictor: Predictor | None) -> int:
    """The rate (Hz) both recordings are analysed at: the model's, or 44.1 kHz for the spectral mode."""
    return predictor.sample_rate if mode != "spectral" else SPECTRAL_RATE


def analyse(src: Source, mode: str, predictor: Predictor | None, label: str) -> Analysis:
    """Stream ``src`` once and collect what ``mode`` needs (see :class:`Analysis`).

    The model's latent accumulator gets the same ``inference.BLOCK_S`` blocks as ``Predictor.predict`` on the whole
    array, so the latent is the same, in bounded memory.
    """
    rate = analysis_rate(mode, predictor)
    result = Analysis(rate)
    sinks, finish = [], []
    if mode in ("spectral", "hybrid"):
        num_samples = int(src.frames * rate / src.sample_rate)  # length after resampling (±1)
        welch = WelchAccumulator(rate, long_term_n_fft(rate, num_samples))
        sinks.append(welch.add)

        def spectrum() -> None:
            result.spectrum_db = band_levels_db(*welch.spectrum_db(), log_grid_hz(rate), SMOOTHING_FRACTION)

        finish.append(spectrum)
    if mode in ("oneshot", "hybrid"):
        accumulator = predictor.latent_accumulator()
        chunker = Rechunker(int(inference.BLOCK_S * rate), accumulator.add)
        sinks.append(chunker.add)

        def latent() -> None:
            chunker.flush()
            result.latent = accumulator.latent()

        finish.append(latent)
    with one_thread():  # batch-1 inference: waking a thread pool costs more than the work
        mono_stream(src, rate, sinks, label)
        for step in finish:
            step()
    return result


def settings_from(input_analysis: Analysis, reference_analysis: Analysis, mode: str,
                  predictor: Predictor | None) -> EQSettings:
    """The EQ for ``mode`` from the two recordings' analyses: the network's prediction (oneshot), the
    spectral fit (spectral), or the fit started from, and held near, the prediction (hybrid)."""
    check_mode(mode)
    with one_thread():
        prediction = (predictor.predict_from_latents(input_analysis.latent, reference_analysis.latent)
                      if mode != "spectral" else None)
        if mode == "oneshot":
            return prediction
        rate = input_analysis.rate
        return match_spectra(log_grid_hz(rate), input_analysis.spectrum_db, reference_analysis.spectrum_db, rate,
                             init=prediction, prior_weight=HYBRID_PRIOR_WEIGHT if prediction is not None else 0.0)


def resolve_model(model: str | Path | Predictor | None, mode: str) -> Predictor | None:
    """The predictor ``mode`` needs (``None`` for spectral): ``model`` itself, :func:`load_model` of a name or
    path, or the default model."""
    check_mode(mode)
    if mode == "spectral":
        return None
    if isinstance(model, Predictor):
        return model
    return load_model(DEFAULT_MODEL if model is None else model)


def match(input: Recording, reference: Recording, sample_rate: int | None = None, mode: str = "oneshot",
          model: str | Path | Predictor | None = None) -> EQSettings:
    """The 4-band EQ that gives ``input`` the EQ style of ``reference``.

    Args:
        input: the recording to equalise: a file path, or samples ``(time,)`` / ``(channels, time)``.
        reference: the recording whose EQ style to copy (any speaker, any words), same forms.
        sample_rate: rate in Hz of array arguments (files carry their own); any rate from 16 kHz.
        mode: ``"oneshot"`` (default), ``"spectral"`` or ``"hybrid"`` (see the module docstring).
        model: a :class:`~eqlib.inference.Predictor` (:func:`load_model`), a shipped model's name or a
            checkpoint path; default ``eqlib.inference.DEFAULT_MODEL``. Unused in spectral mode.

    Returns:
        :class:`~eqlib.eq.EQSettings`: gains (dB), frequencies (Hz) and Q of the four bands, as predicted;
        ``.apply(audio, sample_rate)`` filters audio through them (see :func:`clamp_to_rate` for rates
        below 32 kHz, where the top band may sit above Nyquist).
    """
    predictor = resolve_model(model, mode)
    sources = [as_source(r, sample_rate, label) for r, label in ((input, "input"), (reference, "reference"))]
    analyses = [analyse(src, mode, predictor, label) for src, label in zip(sources, ("input", "reference"))]
    for src in sources:
        if isinstance(src, FileSource):
            for note in src.notes + src.damage_notes():
                warnings.warn(note, stacklevel=2)
    return settings_from(*analyses, mode, predictor)


def clamp_to_rate(settings: EQSettings, sample_rate: int) -> tuple[EQSettings, list[str]]:
    """Clamp band frequencies to ``0.45 * sample_rate``; return the EQ to run at that rate (Hz) and one note per
    clamped band."""
    limit = MAX_BAND_FRACTION * sample_rate
    params = settings.params.copy()
    notes = []
    for band, row in zip(settings.spec.bands, params):
        if row[1] >= limit:
            notes.append(f"* {band.label}: {row[1]:.0f} Hz clamped to {limit:.0f} Hz "
                         f"({MAX_BAND_FRACTION:g} x the {sample_rate} Hz sample rate)")
            row[1] = limit
    return EQSettings(params, settings.spec), notes
