"""Training excerpts by data source: synthetic and real speech, synthetic and real music.

A data source is a ``+``-joined list of components (``"synth+real+music"``) or an alias:

- ``synth``: the embedded speech synthesiser (:mod:`eqlib.speech_synth`; optionally a share ``tts_share``
  read by espeak-ng voices, :mod:`eqlib.tts_voices`);
- ``real``: the shared real-speech corpus's train/valid speakers, repeated to about ``REAL_SHARE`` of the
  speech excerpts (random crops make the repeats differ);
- ``music``: the embedded music synthesiser (:mod:`eqlib.music_synth`);
- ``realmusic``: the shared music corpus's train/valid tracks (held-out tracks never appear), repeated
  to about ``REAL_SHARE`` of the music excerpts;
- aliases: ``mixed`` = ``synth+real`` (the first generation's data), ``all`` = every component.

Every source returns equal-length float32 excerpts ``(time,)`` at 44.1 kHz, a speaker (or track, or
arrangement) label and a domain (``"speech"`` or ``"music"``) each; ``eqlib.pairs.SpectrogramBank``
turns them into training pairs, drawing "another speaker" from the same domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

COMPONENTS = ("synth", "real", "music", "realmusic")
ALIASES = {"mixed": "synth+real", "all": "synth+real+music+realmusic"}
REAL_SHARE = 1 / 3  # real excerpts are repeated until they make up about this share of their domain
FULL_BAND_HZ = 20000.0  # the bandwidth of a full-band excerpt (Hz)
BANDWIDTH_OF_RATE = 0.45  # a recording made at rate fs holds content up to 0.45 · fs
LOSSY_TRANSITION_HZ = 250.0  # a lossy low-pass starts falling this far below its cut-off (eqlib.music_synth)
_REAL_SPLIT = {"train": "train", "val": "valid"}


def parse_data(data: str) -> tuple[str, ...]:
    """The components of a data source (aliases expanded), in ``COMPONENTS`` order; ``ValueError`` if unknown."""
    parts = ALIASES.get(data, data).split("+")
    unknown = [p for p in parts if p not in COMPONENTS]
    if unknown or not data:
        raise ValueError(f"unknown data source {data!r}; use {', '.join(ALIASES)} or '+'-joined components "
                         f"of {', '.join(COMPONENTS)}")
    return tuple(c for c in COMPONENTS if c in parts)


@dataclass
class Excerpts:
    """Equal-length excerpts ``(time,)`` at 44.1 kHz with a speaker label, a domain and a bandwidth (Hz) each."""

    audio: list[np.ndarray] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    bandwidths_hz: list[float] = field(default_factory=list)

    def add(self, component: "Component", domain: str, repeats: int = 1) -> None:
        audio, speakers, bandwidths = component
        self.audio += audio * repeats
        self.speakers += speakers * repeats
        self.domains += [domain] * (len(audio) * repeats)
        self.bandwidths_hz += list(bandwidths) * repeats

    def __len__(self) -> int:
        return len(self.audio)


Component = tuple[list[np.ndarray], list[str], list[float]]  # excerpts, speaker labels, bandwidths (Hz)


def synth_excerpts(split: str, num_excerpts: int, excerpt_s: float, seed: int, tts_share: float = 0.0) -> Component:
    """``num_excerpts`` synthetic speech excerpts from the ``split`` speakers ("train"/"val"), with their labels and
    bandwidths (Hz: the synthesiser's are full-band; espeak-ng renders at 22.05 kHz).

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
    bandwidths = [FULL_BAND_HZ] * len(audio)
    if num_tts:
        from eqlib import tts_voices

        tts_ids = rng.choice(tts_voices.speaker_ids(split), size=num_tts, replace=True)
        tts_seeds = rng.integers(0, 2**31 - 1, size=num_tts)
        audio += [tts_voices.tts_excerpt(int(s), excerpt_s, int(k)) for s, k in
                  tqdm(zip(tts_ids, tts_seeds), total=num_tts, desc=f"TTS voices {split}", leave=False)]
        speakers += [f"tts:{int(s)}" for s in tts_ids]
        bandwidths += [BANDWIDTH_OF_RATE * tts_voices.ENGINE_RATE] * num_tts
    return audio, speakers, bandwidths


def music_excerpts(split: str, num_excerpts: int, excerpt_s: float, seed: int) -> Component:
    """``num_excerpts`` synthetic music excerpts from the ``split`` arrangements ("train"/"val"), with their labels and
    bandwidths (Hz: an arrangement mastered through a lossy codec holds nothing above its low-pass)."""
    from eqlib.music_synth import Arrangement, arrangement_ids, synthesize

    rng = np.random.default_rng([seed, 1])
    chosen = rng.choice(arrangement_ids(split), size=num_excerpts, replace=True)
    seeds = rng.integers(0, 2**31 - 1, size=num_excerpts)
    audio = [synthesize(int(a), excerpt_s, int(k)) for a, k in
             tqdm(zip(chosen, seeds), total=num_excerpts, desc=f"synthesising music {split}", leave=False)]
    arrangements = [Arrangement.from_id(int(a)) for a in chosen]
    bandwidths = [a.lowpass_hz - LOSSY_TRANSITION_HZ if a.lossy else FULL_BAND_HZ for a in arrangements]
    return audio, [f"music:{int(a)}" for a in chosen], bandwidths


def real_excerpts(split: str, excerpt_s: float) -> Component:
    """All excerpts of the shared real-speech corpus's ``split`` speakers ("train"/"val")."""
    from eqlib.corpus import real_speech

    excerpts = real_speech(excerpt_s=excerpt_s).excerpts(_REAL_SPLIT[split])
    return [e.audio for e in excerpts], [f"real:{e.speaker}" for e in excerpts], [e.bandwidth_hz for e in excerpts]


def real_music_excerpts(split: str, excerpt_s: float) -> Component:
    """All excerpts of the shared music corpus's ``split`` tracks ("train"/"val"; test tracks never)."""
    from eqlib.corpus import real_music

    excerpts = real_music(excerpt_s=excerpt_s).excerpts(_REAL_SPLIT[split])
    return ([e.audio for e in excerpts], [f"realmusic:{e.speaker}" for e in excerpts],
            [e.bandwidth_hz for e in excerpts])


DOMAINS = {"synth": "speech", "real": "speech", "music": "music", "realmusic": "music"}
#: The eqlib modules whose code decides each component's audio (for the data cache's keys) ...
COMPONENT_MODULES = {
    "synth": ("speech_synth", "tts_voices"),
    "real": ("corpus", "audio"),
    "music": ("music_synth", "music_instruments", "music_score", "music_sounds", "speech_synth"),
    "realmusic": ("corpus", "audio"),
}
#: ... and this module's own part: bump it whenever a change here changes which excerpts a component draws.
SOURCES_VERSION = 2
_SYNTHETIC_PEER = {"real": "synth", "realmusic": "music"}  # the synthetic component a real one is balanced against


def component_excerpts(component: str, split: str, num_excerpts: int, num_music_excerpts: int, excerpt_s: float,
                       seed: int, tts_share: float = 0.0) -> Component:
    """The excerpts, speaker labels and bandwidths of one component of ``COMPONENTS`` (each appears once: see
    :func:`repeats`)."""
    if component == "synth":
        return synth_excerpts(split, num_excerpts, excerpt_s, seed, tts_share)
    if component == "real":
        return real_excerpts(split, excerpt_s)
    if component == "music":
        return music_excerpts(split, num_music_excerpts, excerpt_s, seed)
    if component == "realmusic":
        return real_music_excerpts(split, excerpt_s)
    raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENTS)}")


def repeats(components: tuple[str, ...], component: str, num_found: int, num_excerpts: int,
            num_music_excerpts: int) -> int:
    """How often a component's ``num_found`` excerpts appear in a bank: real ones are repeated to about
    ``REAL_SHARE`` of their domain when the domain has a synthetic component (random crops make the repeats
    differ); everything else once."""
    peer = _SYNTHETIC_PEER.get(component)
    if peer is None or peer not in components:
        return 1
    num_synthetic = num_excerpts if peer == "synth" else num_music_excerpts
    return max(1, round(REAL_SHARE / (1 - REAL_SHARE) * max(num_synthetic, 1) / max(num_found, 1)))


def training_excerpts(data: str, split: str, num_excerpts: int, excerpt_s: float, seed: int, tts_share: float = 0.0,
                      num_music_excerpts: int = 0) -> Excerpts:
    """Excerpts of ``data`` (see :func:`parse_data`) for ``split`` in {"train", "val"}.

    ``num_excerpts`` synthetic speech and ``num_music_excerpts`` synthetic music excerpts when those
    components are asked for; real excerpts are repeated as :func:`repeats` says.
    """
    components = parse_data(data)
    out = Excerpts()
    for component in components:
        found = component_excerpts(component, split, num_excerpts, num_music_excerpts, excerpt_s, seed, tts_share)
        out.add(found, DOMAINS[component], repeats(components, component, len(found[0]), num_excerpts,
                                                   num_music_excerpts))
    return out
