"""Procedural music synthesiser: unlimited, varied, full-band music-like training audio (numpy/scipy only).

The music counterpart of :mod:`eqlib.speech_synth`, with the same interface. An *arrangement* plays the role
of a speaker: it fixes a style, an ensemble (instrument families and their timbres, see
:mod:`eqlib.music_instruments`), a drum kit, a noise element, a room and a recording/mastering chain, so that
two excerpts of one arrangement share a sound the way two utterances of one speaker do. The ``seed`` chooses
the content: key and mode, tempo, chord progression and voicings, melody, bass line and drum pattern
(:mod:`eqlib.music_score`), the dynamics (soft playing is darker) and, in electronic and ambient music, now
and then a filtered passage; :mod:`eqlib.music_sounds` plays it.

* **Styles** (with their share in ``STYLES``): electronic, pop/rock band, acoustic (guitar or piano with a
  singer or a solo instrument), jazz combo, solo piano, orchestral, chamber, one unaccompanied instrument or
  voice, percussion, ambient (pads, drones, bells). About half of all arrangements play no drums.
* **Noise elements**: risers (electronic), wind (ambient), vinyl crackle and hiss (any style, rarely).
* **Room**: early reflections and an exponentially decaying noise tail (RT60 0.2-4 s by style, darker than the
  direct sound), fed by per-part sends.
* **Chain**: high-pass (10-50 Hz), smooth tilt, two gentle bells, mastering shelves (low 100-300 Hz, -4..+10 dB;
  high 6-12 kHz, -6..+8 dB), optional bus saturation, a noise floor and low-frequency rumble, and a top
  roll-off: the steep low-pass at 11-19.5 kHz of a lossy master (a third), an early 4-10 kHz roll-off (a
  fifth of the rest: tape, radio, soft microphones) or a gentle one at 14-24 kHz.

Each excerpt is loudness-normalised to about -23 LUFS (± 3 dB, random) and is peak-safe. Arrangement ids
``0 .. NUM_ARRANGEMENTS-1`` are split disjointly into train/val/test. The pooled long-term spectrum and its
spread are checked against real music in ``tests/test_music_synth.py`` (:mod:`eqlib.figures_music`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pyloudnorm
import scipy.fft

from eqlib.music_instruments import draw_kit, draw_timbre
from eqlib.music_score import (MELODY_RHYTHMS, Harmony, Note, bass_notes, chord_notes, drum_hits, make_harmony,
                               melody_notes)
from eqlib.music_sounds import DrumKit, NoiseBank, Timbre, render_drums, render_part, render_texture
from eqlib.speech_synth import MAX_DURATION_S, seeded_splits  # noqa: F401 - MAX_DURATION_S: the same limit here
from eqlib.speech_synth import _check_args as check_synthesis_args  # one validator for both synthesisers

NUM_ARRANGEMENTS: int = 600
SPLIT_SIZES: dict[str, int] = {"train": 480, "val": 60, "test": 60}
TARGET_LUFS: float = -23.0
TARGET_LUFS_SPREAD_DB: float = 3.0

_SPLIT_SEED = 20200506
_ARRANGEMENT_TAG = 11
_CONTENT_TAG = 12
STYLES: dict[str, float] = {"electronic": 0.13, "band": 0.13, "acoustic": 0.11, "jazz": 0.07, "piano": 0.10,
                            "orchestral": 0.12, "chamber": 0.08, "solo": 0.12, "percussion": 0.05, "ambient": 0.09}
LOSSY_SHARE = 0.33
_COARSE = 32  # FFT bins per step of the smooth room, noise and chain responses
MAX_TAIL_S = 1.5  # reverb tails are cut here: < 1 % of a 4-s RT60 tail's energy lies beyond
# role: MIDI register it is written in (narrowed to the instrument's range)
_ROLE_REGISTERS = {"bass": (23, 52), "chords": (48, 76), "melody": (60, 88)}
# role: range of its mix level offset (dB); bass lines carry more of a mix's power than their loudness
# suggests, and mixes differ most in how much
_ROLE_LEVEL_DB = {"bass": (2.0, 10.0), "chords": (0.0, 0.0), "melody": (0.0, 0.0)}
DARK_MASTER_SHARE = 0.2  # arrangements whose chain rolls off early (4-10 kHz: vintage tape, radio, soft mics)
FILTERED_SHARE = 0.25  # electronic/ambient excerpts played through a low-pass (a filtered passage)
_LOFI = {"crackle": 0.05}
# style: noise element → share of its arrangements
_TEXTURE_SHARES: dict[str, dict[str, float]] = {
    "electronic": {"riser": 0.3, "crackle": 0.1}, "ambient": {"wind": 0.4, "crackle": 0.05},
    **{style: _LOFI for style in ("band", "acoustic", "jazz", "piano", "orchestral", "chamber", "solo", "percussion")}}
_RT60_S = {"electronic": (0.3, 1.8), "band": (0.3, 1.2), "acoustic": (0.3, 1.3), "jazz": (0.4, 1.1),
           "piano": (0.6, 2.2), "orchestral": (1.2, 2.6), "chamber": (0.7, 2.0), "solo": (0.3, 2.2),
           "percussion": (0.2, 1.0), "ambient": (1.5, 4.0)}


def arrangement_ids(split: str) -> list[int]:
    """Arrangement ids of ``split`` ("train" 480, "val" 60, "test" 60); disjoint and deterministic."""
    if split not in SPLIT_SIZES:
        raise ValueError(f"arrangement_ids: unknown split {split!r}; expected one of {sorted(SPLIT_SIZES)}")
    return seeded_splits(SPLIT_SIZES, _SPLIT_SEED)[split]


def _check_arrangement_id(arrangement_id: int) -> int:
    if isinstance(arrangement_id, bool) or not isinstance(arrangement_id, (int, np.integer)):
        raise TypeError(f"arrangement id must be an int, got {type(arrangement_id).__name__}")
    if not 0 <= int(arrangement_id) < NUM_ARRANGEMENTS:
        raise ValueError(f"arrangement id {arrangement_id} is outside 0..{NUM_ARRANGEMENTS - 1}")
    return int(arrangement_id)


@dataclass(frozen=True)
class Part:
    """One instrument's part: its role (melody, chords, bass), pattern, register (MIDI) and mix levels (dB)."""

    role: str
    timbre: Timbre
    pattern: str
    register: tuple[int, int]
    level_db: float
    send_db: float  # reverb send re the part's dry level
    chord_size: int = 3
    sevenths: bool = False


@dataclass(frozen=True)
class Arrangement:
    """Ensemble, room and chain of one arrangement, all derived from its id by a seeded RNG.

    Frequencies in Hz, levels in dB, times in s.
    """

    arrangement_id: int
    style: str
    parts: tuple[Part, ...]
    kit: DrumKit | None
    drum_pattern: str
    drum_level_db: float
    drum_send_db: float
    texture: str  # a noise element (music_sounds.TEXTURES) or "" for none
    texture_db: float  # its level re a part at 0 dB
    tempo_bpm: float
    beats_per_bar: int
    swing: float
    minor_share: float
    quantised: bool
    rt60_s: float
    reverb_db: float  # diffuse tail level for a send of 0 dB
    reverb_lowpass_hz: float
    reflections: tuple[tuple[float, float], ...]  # (delay s, gain linear)
    highpass_hz: float
    tilt_db_per_oct: float
    chain_peaks: tuple[tuple[float, float, float], ...]  # (Hz, dB, Q)
    low_shelf: tuple[float, float]  # mastering low shelf (corner Hz, gain dB)
    high_shelf: tuple[float, float]  # mastering high ("air") shelf (corner Hz, gain dB)
    lowpass_hz: float
    lossy: bool  # True: a steep lossy-codec low-pass at lowpass_hz; False: a gentle 12 dB/oct roll-off
    noise_floor_db: float  # re the mix RMS
    noise_tilt_db_per_oct: float
    rumble_hz: float  # corner of low-frequency room rumble (ventilation, traffic, handling)
    rumble_db: float  # rumble level re the mix RMS
    drive_db: float  # bus saturation drive; 0: none

    @property
    def drum_free(self) -> bool:
        """True when the arrangement plays no drums or percussion."""
        return self.kit is None

    @staticmethod
    def from_id(arrangement_id: int) -> "Arrangement":
        """Derive the ensemble, room and chain of ``arrangement_id`` (0 .. NUM_ARRANGEMENTS-1)."""
        aid = _check_arrangement_id(arrangement_id)
        rng = np.random.default_rng([_ARRANGEMENT_TAG, aid])
        u = rng.uniform
        styles = list(STYLES)
        p = np.array([STYLES[s] for s in styles])
        style = styles[int(rng.choice(len(styles), p=p / p.sum()))]
        ens = _ENSEMBLES[style](rng)
        lossy = bool(rng.random() < LOSSY_SHARE)
        dark = bool(rng.random() < DARK_MASTER_SHARE)
        texture = _choice(rng, ("", *_TEXTURE_SHARES[style]), (1 - sum(_TEXTURE_SHARES[style].values()),
                                                                 *_TEXTURE_SHARES[style].values()))
        peaks = tuple((float(np.exp(u(np.log(60), np.log(12000)))), float(u(-4, 4)), float(u(0.7, 2.5)))
                      for _ in range(2))
        reflections = tuple((float(u(0.003, 0.03)), float(u(0.1, 0.4) * rng.choice([-1, 1])))
                            for _ in range(int(rng.integers(2, 6))))
        return Arrangement(
            arrangement_id=aid, style=style, parts=tuple(ens.parts), kit=ens.kit, drum_pattern=ens.drum_pattern,
            drum_level_db=ens.drum_level_db, drum_send_db=float(u(-12, -4)), texture=texture,
            texture_db=float(u(-30, -20) if texture == "crackle" else u(-24, -10)), tempo_bpm=float(u(*ens.tempo)),
            beats_per_bar=ens.beats_per_bar, swing=ens.swing, minor_share=float(u(0.2, 0.6)),
            quantised=style == "electronic", rt60_s=float(u(*_RT60_S[style])),
            reverb_db=float(u(-16, -6) + (4.0 if style == "ambient" else 0.0)),
            reverb_lowpass_hz=float(np.exp(u(np.log(3000), np.log(10000)))), reflections=reflections,
            highpass_hz=float(np.exp(u(np.log(10), np.log(50)))), tilt_db_per_oct=float(u(-1.5, 1.5)),
            chain_peaks=peaks,
            low_shelf=(float(u(100, 300)), float(u(-4, 10))), high_shelf=(float(u(6000, 12000)), float(u(-6, 8))),
            lowpass_hz=float(u(11000, 19500) if lossy else np.exp(u(np.log(4000), np.log(10000))) if dark
                             else u(14000, 24000)), lossy=lossy,
            noise_floor_db=float(u(-90, -55)), noise_tilt_db_per_oct=float(u(-4.0, 0.0)),
            rumble_hz=float(np.exp(u(np.log(30), np.log(150)))), rumble_db=float(u(-90, -40)),
            drive_db=float(u(0, 9) if style in ("electronic", "band") and rng.random() < 0.6 else 0.0))


# ---------------------------------------------------------------------------------------------
# Ensembles per style
# ---------------------------------------------------------------------------------------------
@dataclass
class _Ensemble:
    parts: list[Part]
    kit: DrumKit | None = None
    drum_pattern: str = ""
    drum_level_db: float = 0.0
    tempo: tuple[float, float] = (70.0, 130.0)
    beats_per_bar: int = 4
    swing: float = 0.0


def _part(rng: np.random.Generator, role: str, family: str | Timbre, pattern: str, level_db: float,
          send_db: tuple[float, float] = (-12.0, -3.0), register: tuple[int, int] | None = None,
          chord_size: int = 3, sevenths: bool = False) -> Part:
    """A part of ``role`` for ``family`` (or a drawn timbre), its register narrowed to the instrument's range."""
    timbre = family if isinstance(family, Timbre) else draw_timbre(family, rng)
    low, high = register or _ROLE_REGISTERS[role]
    low, high = max(low, timbre.low_midi), min(high, timbre.high_midi)
    if high - low < 12:
        low, high = timbre.low_midi, min(timbre.high_midi, timbre.low_midi + 24)
    level = level_db + rng.uniform(*_ROLE_LEVEL_DB[role]) + rng.normal(0, 2.0)
    return Part(role, timbre, pattern, (low, high), float(level), float(rng.uniform(*send_db)), chord_size, sevenths)


def _choice(rng: np.random.Generator, options: Sequence[str], p: Sequence[float] | None = None) -> str:
    weights = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return str(options[int(rng.choice(len(options), p=weights))])


def _melody_rhythm(rng: np.random.Generator) -> str:
    return _choice(rng, MELODY_RHYTHMS, (0.3, 0.45, 0.25))


def _electronic(rng: np.random.Generator) -> _Ensemble:
    parts = [_part(rng, "bass", _choice(rng, ("synth_bass", "sub_bass")),
                   _choice(rng, ("syncopated", "pulse", "sustain")), rng.uniform(0, 5), (-30, -20))]
    chords = _choice(rng, ("synth_pad", "synth_lead", "epiano", "piano"), (0.4, 0.3, 0.15, 0.15))
    pattern = {"synth_pad": "sustain", "synth_lead": _choice(rng, ("stabs", "arpeggio")),
               "epiano": "block", "piano": _choice(rng, ("block", "stabs"))}[chords]
    parts.append(_part(rng, "chords", chords, pattern, -4.0, chord_size=int(rng.integers(3, 5))))
    if rng.random() < 0.6:
        parts.append(_part(rng, "melody", _choice(rng, ("synth_lead", "voice_alto", "voice_soprano", "voice_tenor")),
                           _melody_rhythm(rng), 0.0))
    return _Ensemble(parts, draw_kit("electronic", rng), _choice(rng, ("electronic", "halftime"), (0.65, 0.35)),
                     float(rng.uniform(0, 4)), (100, 135))


def _band(rng: np.random.Generator) -> _Ensemble:
    parts = [_part(rng, "bass", "bass_electric", _choice(rng, ("pulse", "root_fifth", "syncopated")), 0.0, (-30, -20))]
    guitar = _choice(rng, ("guitar_distorted", "guitar_electric", "guitar_acoustic"), (0.4, 0.35, 0.25))
    parts.append(_part(rng, "chords", guitar, "power" if guitar == "guitar_distorted" else "strum", -2.0,
                       register=(40, 70), chord_size=int(rng.integers(4, 7))))
    if rng.random() < 0.4:
        keys = _choice(rng, ("organ", "piano", "epiano", "synth_pad"))
        parts.append(_part(rng, "chords", keys, "sustain" if keys in ("organ", "synth_pad") else "block", -7.0))
    if rng.random() < 0.8:
        lead = _choice(rng, ("voice_tenor", "voice_alto", "voice_soprano", "voice_bass", "sax", "guitar_distorted",
                             "synth_lead"), (0.25, 0.2, 0.15, 0.05, 0.1, 0.15, 0.1))
        parts.append(_part(rng, "melody", lead, _melody_rhythm(rng), 1.0))
    return _Ensemble(parts, draw_kit("acoustic", rng), _choice(rng, ("rock", "shuffle", "halftime"), (0.5, 0.2, 0.3)),
                     float(rng.uniform(-2, 3)), (80, 150), swing=0.6 if rng.random() < 0.2 else 0.0)


def _acoustic(rng: np.random.Generator) -> _Ensemble:
    keys = rng.random() < 0.3
    parts = [_part(rng, "chords", "piano" if keys else "guitar_acoustic",
                   _choice(rng, ("block", "arpeggio")) if keys else _choice(rng, ("strum", "arpeggio")), -2.0,
                   register=(40, 72), chord_size=int(rng.integers(3, 6)))]
    lead = _choice(rng, ("voice_tenor", "voice_alto", "voice_soprano", "voice_bass", "flute", "violin", "cello",
                         "clarinet"), (0.25, 0.2, 0.15, 0.05, 0.1, 0.1, 0.08, 0.07))
    parts.append(_part(rng, "melody", lead, _melody_rhythm(rng), 1.0))
    if rng.random() < 0.5:
        parts.append(_part(rng, "bass", _choice(rng, ("bass_upright", "bass_electric", "contrabass")),
                           _choice(rng, ("root_fifth", "sustain", "pulse")), -3.0))
    kit = draw_kit("hand", rng) if rng.random() < 0.3 else None
    return _Ensemble(parts, kit, "hand", float(rng.uniform(-12, -4)), (70, 130),
                     beats_per_bar=3 if rng.random() < 0.2 else 4)


def _jazz(rng: np.random.Generator) -> _Ensemble:
    parts = [_part(rng, "bass", "bass_upright", "walking", 0.0, (-24, -14))]
    comp = _choice(rng, ("piano", "guitar_electric", "vibraphone", "epiano"), (0.5, 0.2, 0.15, 0.15))
    parts.append(_part(rng, "chords", comp, "block", -3.0, chord_size=4, sevenths=True))
    lead = _choice(rng, ("sax", "trumpet", "trombone", "vibraphone", "piano", "guitar_electric", "voice_alto", "flute"),
                   (0.3, 0.2, 0.1, 0.1, 0.1, 0.08, 0.07, 0.05))
    parts.append(_part(rng, "melody", lead, _choice(rng, ("even", "busy")), 1.0))
    return _Ensemble(parts, draw_kit("jazz", rng), "jazz", float(rng.uniform(-6, 0)), (90, 200),
                     swing=float(rng.uniform(0.6, 1.0)))


def _piano_solo(rng: np.random.Generator) -> _Ensemble:
    piano = draw_timbre(_choice(rng, ("piano", "epiano", "harpsichord"), (0.8, 0.1, 0.1)), rng)
    parts = [_part(rng, "bass", piano, _choice(rng, ("sustain", "root_fifth", "pulse")), -1.0),
             _part(rng, "chords", piano, _choice(rng, ("block", "arpeggio", "sustain")), -3.0,
                   chord_size=int(rng.integers(3, 5))),
             _part(rng, "melody", piano, _melody_rhythm(rng), 1.0)]
    return _Ensemble(parts, tempo=(55, 130), beats_per_bar=3 if rng.random() < 0.25 else 4)


def _orchestral(rng: np.random.Generator) -> _Ensemble:
    parts = [_part(rng, "chords", "strings", _choice(rng, ("sustain", "block"), (0.7, 0.3)), -2.0, (-6, 0),
                   register=(52, 79), chord_size=4),
             _part(rng, "bass", _choice(rng, ("low_strings", "contrabass", "cello")),
                   _choice(rng, ("sustain", "pulse")), 0.0, (-6, 0)),
             _part(rng, "melody", _choice(rng, ("strings", "violin", "flute", "oboe", "horn", "trumpet", "clarinet")),
                   _melody_rhythm(rng), 1.0, (-6, 0))]
    if rng.random() < 0.5:
        parts.append(_part(rng, "chords", _choice(rng, ("horn", "trombone")), "sustain", -6.0, (-6, 0),
                           register=(40, 67)))
    if rng.random() < 0.3:
        parts.append(_part(rng, "chords", _choice(rng, ("harp", "celesta", "glockenspiel")), "arpeggio", -6.0, (-6, 0)))
    kit = draw_kit("orchestral", rng) if rng.random() < 0.5 else None
    return _Ensemble(parts, kit, "orchestral", float(rng.uniform(-4, 2)), (60, 140))


_CHAMBER = ("violin", "viola", "cello", "flute", "clarinet", "oboe", "horn", "piano", "harpsichord", "guitar_acoustic")


def _chamber(rng: np.random.Generator) -> _Ensemble:
    picks = [str(f) for f in rng.choice(_CHAMBER, size=int(rng.integers(2, 4)), replace=False)]
    parts = [_part(rng, "melody", picks[0], _melody_rhythm(rng), 1.0, (-8, -2))]
    parts += [_part(rng, "chords", family, _choice(rng, ("sustain", "block", "arpeggio")), -3.0, (-8, -2))
              for family in picks[1:]]
    if rng.random() < 0.8:  # a bass line: cello, double bass or the keyboard's left hand
        parts.append(_part(rng, "bass", _choice(rng, ("cello", "contrabass", "piano", "harpsichord")),
                           _choice(rng, ("sustain", "pulse", "root_fifth")), -2.0, (-8, -2)))
    return _Ensemble(parts, tempo=(60, 140), beats_per_bar=3 if rng.random() < 0.25 else 4)


_SOLO = ("violin", "cello", "flute", "sax", "trumpet", "clarinet", "oboe", "voice_bass", "voice_tenor", "voice_alto",
         "voice_soprano", "guitar_acoustic", "harp", "marimba", "piano", "choir")


def _solo(rng: np.random.Generator) -> _Ensemble:
    timbre = draw_timbre(_choice(rng, _SOLO), rng)
    parts = [_part(rng, "melody", timbre, _melody_rhythm(rng), 0.0,
                   register=(timbre.low_midi, timbre.high_midi - 5))]
    if timbre.family in ("guitar_acoustic", "harp", "marimba", "piano"):
        parts.append(_part(rng, "chords", timbre, "arpeggio", -4.0))
    return _Ensemble(parts, tempo=(55, 140), beats_per_bar=3 if rng.random() < 0.2 else 4)


def _percussion(rng: np.random.Generator) -> _Ensemble:
    hand = rng.random() < 0.6
    parts = [_part(rng, "bass", _choice(rng, ("contrabass", "synth_bass", "sub_bass")), "sustain", -6.0)] \
        if rng.random() < 0.3 else []
    kit = draw_kit("hand" if hand else "acoustic", rng)
    pattern = "hand" if hand else _choice(rng, ("rock", "halftime", "shuffle"))
    return _Ensemble(parts, kit, pattern, 0.0, (80, 140))


def _ambient(rng: np.random.Generator) -> _Ensemble:
    parts = [_part(rng, "chords", _choice(rng, ("synth_pad", "organ", "strings", "choir")), "sustain", -2.0, (-6, 0),
                   chord_size=int(rng.integers(3, 5))),
             _part(rng, "bass", _choice(rng, ("sub_bass", "contrabass", "synth_bass", "low_strings")), "sustain", -3.0,
                   (-6, 0))]
    if rng.random() < 0.8:
        parts.append(_part(rng, "melody", _choice(rng, ("bells", "kalimba", "epiano", "flute", "synth_lead",
                                                        "vibraphone", "glockenspiel", "celesta")),
                           "slow", 0.0, (-6, 0)))
    return _Ensemble(parts, tempo=(50, 90))


_ENSEMBLES = {"electronic": _electronic, "band": _band, "acoustic": _acoustic, "jazz": _jazz, "piano": _piano_solo,
              "orchestral": _orchestral, "chamber": _chamber, "solo": _solo, "percussion": _percussion,
              "ambient": _ambient}


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def _part_notes(part: Part, h: Harmony, rng: np.random.Generator, dynamics: float) -> list[Note]:
    """The notes of ``part``, velocities scaled by the excerpt's ``dynamics`` (soft playing is darker)."""
    if part.role == "melody":
        notes = melody_notes(h, rng, part.register, part.pattern, part.timbre.vowels)
    elif part.role == "bass":
        notes = bass_notes(h, rng, part.register, part.pattern)
    else:
        notes = chord_notes(h, rng, part.register, part.pattern, part.chord_size, part.sevenths)
    return [replace(n, velocity=min(1.0, n.velocity * dynamics)) for n in notes]


def _saturate(x: np.ndarray, drive_db: float) -> np.ndarray:
    """Soft clipping ``tanh`` of the bus, ``drive_db`` above a level 12 dB over its RMS (unity for small input)."""
    ref = 4.0 * float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)
    gain = 10 ** (drive_db / 20)
    return (np.tanh(x * np.float32(gain / ref)) * np.float32(ref / gain)).astype(np.float32)


def _room_ir(arr: Arrangement, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Wet impulse response of the room ``(samples,)``: reflections and a tail decaying 40 dB (at most
    ``MAX_TAIL_S``), unit tail energy times ``reverb_db``."""
    n_tail = int(min(arr.rt60_s * 40 / 60, MAX_TAIL_S) * sample_rate)
    t = np.arange(n_tail, dtype=np.float32) / sample_rate
    tail = rng.standard_normal(n_tail, dtype=np.float32) * np.exp(np.float32(-6.91 / arr.rt60_s) * t)
    predelay = int(0.008 * sample_rate)
    tail[:predelay] = 0.0
    tail *= np.float32(10 ** (arr.reverb_db / 20) / np.sqrt(np.sum(tail.astype(np.float64) ** 2) + 1e-12))
    for delay, gain in arr.reflections:
        tail[min(int(delay * sample_rate), n_tail - 1)] += gain
    return tail


def _chain_gain(arr: Arrangement, f: np.ndarray) -> np.ndarray:
    """Magnitude of the recording/mastering chain at ``f`` Hz: high-pass, tilt, bells, top roll-off."""
    fx = np.maximum(f, 1.0)
    db = -10 * np.log10(1 + (arr.highpass_hz / fx) ** 4)
    db += arr.tilt_db_per_oct * np.log2(fx / 1000.0)
    for freq, gain_db, q in arr.chain_peaks:
        db += gain_db * np.exp(-0.5 * (np.log2(fx / freq) * 2 * q) ** 2)
    db += arr.low_shelf[1] / (1 + (fx / arr.low_shelf[0]) ** 2)
    db += arr.high_shelf[1] / (1 + (arr.high_shelf[0] / fx) ** 2)
    if arr.lossy:  # codec low-pass: from 0 dB 250 Hz below lowpass_hz to -100 dB 750 Hz above it (raised cosine)
        x = np.clip((f - arr.lowpass_hz + 250.0) / 1000.0, 0.0, 1.0)
        db -= 50.0 * (1 - np.cos(np.pi * x))
    else:
        db -= 10 * np.log10(1 + (f / arr.lowpass_hz) ** 4)
    return 10 ** (db / 20)


def _mix_room_chain(arr: Arrangement, dry: np.ndarray, send: np.ndarray, sample_rate: int,
                    rng: np.random.Generator, content_lowpass_hz: float = np.inf) -> np.ndarray:
    """``dry + send * room`` (through a 24 dB/oct low-pass at ``content_lowpass_hz`` for a filtered passage) plus
    the noise floor, through the chain, in one frequency-domain pass ``(time,)``."""
    n = dry.size
    ir = _room_ir(arr, sample_rate, rng)
    size = scipy.fft.next_fast_len(n + ir.size, real=True)
    dry_f, send_f = scipy.fft.rfft(np.stack([dry, send]), n=size, axis=-1, workers=1)
    ir_f = scipy.fft.rfft(ir, n=size, workers=1)
    # smooth responses on every _COARSE-th bin (a few Hz apart), held across the bins in between
    f = np.arange(0, size // 2 + 1, _COARSE) * (sample_rate / size)
    tone = 1 / np.sqrt((1 + (f / arr.reverb_lowpass_hz) ** 4) * (1 + (80.0 / np.maximum(f, 1.0)) ** 4))
    rms = float(np.sqrt(np.mean(dry.astype(np.float64) ** 2)) + 1e-9)
    floor = (np.maximum(f, 20.0) / 1000.0) ** (arr.noise_tilt_db_per_oct / (20 * np.log10(2)))
    rumble = 1 / (1 + (f / arr.rumble_hz) ** 4)
    noise_shape = (10 ** (arr.noise_floor_db / 20) * floor / np.sqrt(np.mean(floor ** 2))
                   + 10 ** (arr.rumble_db / 20) * rumble / np.sqrt(np.mean(rumble ** 2))) * rms * np.sqrt(size / 2)
    chain = _chain_gain(arr, f)

    def hold(x: np.ndarray) -> np.ndarray:
        return np.repeat(x.astype(np.float32), _COARSE)[:size // 2 + 1]

    bins = size // 2 + 1
    y = dry_f + send_f * ir_f * hold(tone)
    if np.isfinite(content_lowpass_hz):
        y *= hold(1 / (1 + (f / content_lowpass_hz) ** 4))
    y += hold(noise_shape) * (rng.standard_normal(bins, dtype=np.float32)
                              + 1j * rng.standard_normal(bins, dtype=np.float32))
    y *= hold(chain)
    return scipy.fft.irfft(y, n=size, workers=1)[:n]


def synthesize(arrangement_id: int, duration_s: float, seed: int, sample_rate: int = 44100) -> np.ndarray:
    """Synthesise ``duration_s`` seconds of music by arrangement ``arrangement_id``; content chosen by ``seed``
    (key, tempo, progression, voicings, melody, bass line, drum pattern, dynamics and, for electronic and
    ambient arrangements, now and then a filtered passage).

    Returns float32 ``(time,)`` with ``time = round(duration_s * sample_rate)``, |x| ≤ 1, integrated loudness
    about -23 LUFS ± 3 dB (random per excerpt). Same (arrangement, seed, duration, rate) → identical samples.
    """
    arr = Arrangement.from_id(arrangement_id)
    check_synthesis_args(duration_s, seed, sample_rate)
    rng = np.random.default_rng([_CONTENT_TAG, arr.arrangement_id, int(seed)])
    n = int(round(duration_s * sample_rate))
    harmony = make_harmony(rng, duration_s, arr.tempo_bpm, arr.beats_per_bar, arr.minor_share, arr.swing,
                           arr.quantised)
    noise = NoiseBank(rng, sample_rate)
    dynamics = float(rng.uniform(0.55, 1.15))
    filtered = arr.style in ("electronic", "ambient") and rng.random() < FILTERED_SHARE
    content_lowpass_hz = float(np.exp(rng.uniform(np.log(500), np.log(6000)))) if filtered else np.inf
    dry = np.zeros(n, dtype=np.float32)
    send = np.zeros(n, dtype=np.float32)  # what feeds the room

    def mix(y: np.ndarray, level_db: float, send_db: float) -> None:
        np.add(dry, np.float32(10 ** (level_db / 20)) * y, out=dry)
        np.add(send, np.float32(10 ** ((level_db + send_db) / 20)) * y, out=send)

    for part in arr.parts:
        notes = _part_notes(part, harmony, rng, dynamics)
        mix(render_part(notes, part.timbre, n, sample_rate, rng, noise), part.level_db, part.send_db)
    if arr.kit is not None:
        hits = drum_hits(harmony, rng, arr.drum_pattern)
        mix(render_drums(hits, arr.kit, n, sample_rate, rng, noise), arr.drum_level_db, arr.drum_send_db)
    if arr.texture:
        mix(render_texture(arr.texture, n, sample_rate, rng, noise), arr.texture_db, 0.0)
    if arr.drive_db:
        dry = _saturate(dry, arr.drive_db)
    return _normalise(_mix_room_chain(arr, dry, send, sample_rate, rng, content_lowpass_hz), sample_rate, rng)


def _normalise(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Scale to the random target loudness (BS.1770 integrated), keep |x| ≤ 0.99; float32."""
    target = TARGET_LUFS + rng.uniform(-TARGET_LUFS_SPREAD_DB, TARGET_LUFS_SPREAD_DB)
    x64 = x.astype(np.float64)
    level = pyloudnorm.Meter(sample_rate).integrated_loudness(x64) if x64.size >= 0.4 * sample_rate else -np.inf
    if not np.isfinite(level):
        level = 10 * np.log10(np.mean(x64 ** 2) + 1e-20) - 0.691
    x64 *= 10 ** ((target - level) / 20)
    peak = np.max(np.abs(x64))
    if peak > 0.99:
        x64 *= 0.99 / peak
    return x64.astype(np.float32)


def synthesize_batch(arrangement_ids: Sequence[int], seeds: Sequence[int], duration_s: float,
                     sample_rate: int = 44100) -> np.ndarray:
    """Synthesise one excerpt per (arrangement, seed) pair: float32 ``(batch, time)``."""
    if len(arrangement_ids) != len(seeds):
        raise ValueError(f"synthesize_batch: {len(arrangement_ids)} arrangement ids but {len(seeds)} seeds")
    if len(seeds) == 0:
        raise ValueError("synthesize_batch: empty batch")
    return np.stack([synthesize(a, duration_s, s, sample_rate) for a, s in zip(arrangement_ids, seeds)])
