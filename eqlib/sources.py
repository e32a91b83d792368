"""Training excerpts by data source: the embedded speech synthesiser, real speakers, or both.

Optionally a share ``tts_share`` of the synthetic excerpts comes from espeak-ng voices
(:mod:`eqlib.tts_voices`) when that program is installed.

Every source returns equal-length float32 excerpts ``(time,)`` at 44.1 kHz plus a speaker label
each; ``eqlib.pairs.SpectrogramBank`` turns them into training pairs. Held-out speakers never
appear here: real excerpts come from the real-speech corpus's train/valid speakers only.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

DATA_SOURCES = ("synth", "real", "mixed")
REAL_SHARE_IN_MIXED = 1 / 3  # real excerpts are repeated until they make up this share of a mixed bank
_REAL_SPLIT = {"train": "train", "val": "valid"}


def synth_excerpts(split: str, num_excerpts: int, excerpt_s: float, seed: int, tts_share: float = 0.0
                   ) -> tuple[list[np.ndarray], list[str]]:
    """``num_excerpts`` synthetic excerpts from the ``split`` speakers ("train"/"val").

    ``tts_share`` (0–1) of them are read by the TTS voices of :mod:`eqlib.tts_voices` instead of the
    synthesiser; that needs espeak-ng installed (``TTSError`` otherwise).
    """
    from eqlib.speech_synth import speaker_ids, synthesize

    if not 0.0 <= tts_share <= 1.0:
        raise ValueError(f"tts_share must be between 0 and 1, got {tts_share}")
    rng = np.random.default_rng(seed)
    num_tts = int(round(tts_share * num_excerpts))
    chosen = rng.choice(speaker_ids(split), size=num_excerpts - num_tts, replace=True)
    seeds = rng.integers(0, 2**31 - 1, size=num_excerpts - num_tts)
    audio = [synthesize(int(s), excerpt_s, int(k)) for s, k in
             tqdm(zip(chosen, seeds), total=len(chosen), desc=f"synthesising {split}", leave=False)]
    speakers = [f"synth:{int(s)}" for s in chosen]
    if num_tts:
        from eqlib import tts_voices

        tts_ids = rng.choice(tts_voices.speaker_ids(split), size=num_tts, replace=True)
        tts_seeds = rng.integers(0, 2**31 - 1, size=num_tts)
        audio += [tts_voices.tts_excerpt(int(s), excerpt_s, int(k)) for s, k in
                  tqdm(zip(tts_ids, tts_seeds), total=num_tts, desc=f"TTS voices {split}", leave=False)]
        speakers += [f"tts:{int(s)}" for s in tts_ids]
    return audio, speakers


def real_excerpts(split: str, excerpt_s: float) -> tuple[list[np.ndarray], list[str]]:
    """All excerpts of the shared real-speech corpus's ``split`` speakers ("train"/"val")."""
    from eqlib.corpus import real_speech

    excerpts = real_speech(excerpt_s=excerpt_s).excerpts(_REAL_SPLIT[split])
    return [e.audio for e in excerpts], [f"real:{e.speaker}" for e in excerpts]


def training_excerpts(data: str, split: str, num_excerpts: int, excerpt_s: float, seed: int, tts_share: float = 0.0
                      ) -> tuple[list[np.ndarray], list[str]]:
    """Excerpts and speaker labels for ``data`` in ``DATA_SOURCES`` and ``split`` in {"train", "val"}.

    ``mixed`` holds ``num_excerpts`` synthetic excerpts plus the real ones repeated to about
    ``REAL_SHARE_IN_MIXED`` of the total (random crops make the repeats differ). ``tts_share``: see
    :func:`synth_excerpts`.
    """
    if data not in DATA_SOURCES:
        raise ValueError(f"unknown data source {data!r}; choose one of {', '.join(DATA_SOURCES)}")
    if data == "synth":
        return synth_excerpts(split, num_excerpts, excerpt_s, seed, tts_share)
    real_audio, real_speakers = real_excerpts(split, excerpt_s)
    if data == "real":
        return real_audio, real_speakers
    synth_audio, synth_speakers = synth_excerpts(split, num_excerpts, excerpt_s, seed, tts_share)
    repeats = max(1, round(REAL_SHARE_IN_MIXED / (1 - REAL_SHARE_IN_MIXED) * num_excerpts / len(real_audio)))
    return synth_audio + real_audio * repeats, synth_speakers + real_speakers * repeats
