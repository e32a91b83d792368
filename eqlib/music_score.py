"""Musical content for the procedural music synthesiser: key, chord progression, voicings, melody, bass line and
drum patterns, as lists of notes and drum hits in seconds (no audio here; :mod:`eqlib.music_sounds` plays them).

Everything is drawn from a ``numpy.random.Generator``, so one seed gives one piece. Times are seconds from the
start of the excerpt; a piece starts up to two bars before it (an excerpt begins mid-phrase), so notes may
start at negative times. Pitches are MIDI note numbers (69 = A4 = 440 Hz), velocities lie in 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAJOR: tuple[int, ...] = (0, 2, 4, 5, 7, 9, 11)
MINOR: tuple[int, ...] = (0, 2, 3, 5, 7, 8, 10)
# Common progressions as 0-based scale degrees (0 = I/i, 3 = IV/iv, 4 = V/v, 5 = vi/VI, 6 = vii/VII).
MAJOR_PROGRESSIONS: tuple[tuple[int, ...], ...] = (
    (0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 4, 0), (5, 3, 0, 4), (0, 3, 0, 4), (0, 1, 3, 4), (0, 0, 3, 3))
MINOR_PROGRESSIONS: tuple[tuple[int, ...], ...] = (
    (0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 0, 3, 4))

CHORD_PATTERNS = ("sustain", "block", "strum", "arpeggio", "stabs", "power")
MELODY_RHYTHMS = ("slow", "even", "busy")
BASS_PATTERNS = ("sustain", "pulse", "root_fifth", "walking", "syncopated")
DRUM_PATTERNS = ("rock", "electronic", "halftime", "jazz", "hand", "orchestral", "shuffle")
_TIMING_JITTER_S = 0.008  # human timing spread; electronic parts are quantised


@dataclass(frozen=True)
class Note:
    """One note: onset and held duration (s), MIDI pitch, velocity 0..1 and, for sung parts, a vowel index."""

    start_s: float
    dur_s: float
    midi: float
    velocity: float
    vowel: int = 0


@dataclass(frozen=True)
class Hit:
    """One drum hit: time (s), kit piece name, velocity 0..1 and, for tuned drums (timpani), a MIDI pitch."""

    time_s: float
    piece: str
    velocity: float
    midi: float = 0.0


@dataclass(frozen=True)
class Harmony:
    """Key, tempo and chord sequence of one piece.

    ``first_beat`` is the (negative or zero) position of the piece's first downbeat, in beats from the excerpt
    start; chord ``i`` lasts from ``first_beat + i * chord_beats`` for ``chord_beats`` beats.
    """

    tonic: int  # pitch class 0..11 (0 = C)
    scale: tuple[int, ...]
    beat_s: float
    beats_per_bar: int
    first_beat: float
    chord_beats: int
    degrees: tuple[int, ...]
    swing: float  # 0: straight eighths; 1: triplet swing
    quantised: bool  # electronic timing: no human jitter

    @property
    def num_beats(self) -> float:
        """Beats covered by the chord sequence from the excerpt start."""
        return self.first_beat + len(self.degrees) * self.chord_beats

    def time_s(self, beat: float, rng: np.random.Generator | None = None) -> float:
        """Seconds of beat position ``beat`` (swung off-beats, human jitter when ``rng`` is given)."""
        whole = np.floor(beat - self.first_beat)
        frac = beat - self.first_beat - whole
        if self.swing and abs(frac - 0.5) < 1e-6:
            frac = 0.5 + self.swing / 6  # the off-beat eighth moves towards the last triplet
        t = (self.first_beat + whole + frac) * self.beat_s
        if rng is not None and not self.quantised:
            t += rng.normal(0.0, _TIMING_JITTER_S)
        return float(t)

    def chord_at(self, beat: float) -> int:
        """Scale degree of the chord sounding at ``beat``."""
        i = int(np.clip((beat - self.first_beat) // self.chord_beats, 0, len(self.degrees) - 1))
        return self.degrees[i]

    def pitch(self, degree: int, octave: int = 4) -> int:
        """MIDI pitch of scale degree ``degree`` (any integer; 7 = an octave up) above C of ``octave``."""
        return 12 * (octave + 1) + self.tonic + 12 * (degree // 7) + self.scale[degree % 7]

    def chord_classes(self, degree: int, sevenths: bool) -> list[int]:
        """Pitch classes (0..11) of the diatonic triad or seventh chord on ``degree``, root first."""
        steps = (0, 2, 4, 6) if sevenths else (0, 2, 4)
        return [self.pitch(degree + s) % 12 for s in steps]


def make_harmony(rng: np.random.Generator, duration_s: float, tempo_bpm: float, beats_per_bar: int,
                 minor_share: float, swing: float, quantised: bool) -> Harmony:
    """Draw a key, mode, progression and phrase offset covering ``duration_s`` seconds at about ``tempo_bpm``."""
    minor = rng.random() < minor_share
    progressions = MINOR_PROGRESSIONS if minor else MAJOR_PROGRESSIONS
    prog = progressions[int(rng.integers(len(progressions)))]
    beat_s = 60.0 / (tempo_bpm * float(np.exp(rng.normal(0.0, 0.06))))
    chord_beats = beats_per_bar * int(rng.choice([1, 1, 2])) if beat_s < 0.75 else beats_per_bar
    first_beat = -float(rng.integers(0, 2 * beats_per_bar))
    needed = int(np.ceil((duration_s / beat_s - first_beat) / chord_beats)) + 1
    start = int(rng.integers(len(prog)))
    degrees = tuple(prog[(start + i) % len(prog)] for i in range(needed))
    return Harmony(tonic=int(rng.integers(12)), scale=MINOR if minor else MAJOR, beat_s=beat_s,
                   beats_per_bar=beats_per_bar, first_beat=first_beat, chord_beats=chord_beats, degrees=degrees,
                   swing=swing, quantised=quantised)


def _check_pattern(pattern: str, known: tuple[str, ...]) -> None:
    if pattern not in known:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {known}")


def _place(pitch_class: int, low: int, high: int, centre: float) -> int:
    """The MIDI pitch of ``pitch_class`` nearest ``centre`` within ``[low, high]``."""
    candidates = np.arange(low, high + 1)
    candidates = candidates[candidates % 12 == pitch_class]
    return int(candidates[np.argmin(np.abs(candidates - centre))]) if candidates.size else int(centre)


def _voicing(h: Harmony, degree: int, register: tuple[int, int], size: int, sevenths: bool,
             rng: np.random.Generator) -> list[int]:
    """``size`` chord tones spread upwards from the root inside ``register`` (close or open position)."""
    low, high = register
    classes = h.chord_classes(degree, sevenths)
    root = _place(classes[0], low, min(high, low + 11), low + 6)
    pitches, level = [root], root
    spacing = int(rng.choice([1, 1, 2]))  # 2: open voicing, every other chord tone
    i = 0
    while len(pitches) < size:
        i += spacing
        pc = classes[i % len(classes)]
        level = level + 1 + (pc - level - 1) % 12
        if level > high:
            break
        pitches.append(level)
    return pitches


def chord_notes(h: Harmony, rng: np.random.Generator, register: tuple[int, int], pattern: str,
                size: int, sevenths: bool) -> list[Note]:
    """Accompaniment in ``pattern`` (one of ``CHORD_PATTERNS``) on the chord sequence, chords of ``size`` notes."""
    _check_pattern(pattern, CHORD_PATTERNS)
    notes: list[Note] = []
    beats = h.chord_beats
    for i, degree in enumerate(h.degrees):
        b0 = h.first_beat + i * beats
        if pattern == "power":
            root = _place(h.chord_classes(degree, False)[0], register[0], register[0] + 11, register[0] + 5)
            voiced = [root, root + 7, root + 12]
        else:
            voiced = _voicing(h, degree, register, size, sevenths, rng)
        if pattern == "sustain":
            t0, t1 = h.time_s(b0), h.time_s(b0 + beats)
            vel = float(rng.uniform(0.5, 0.8))
            notes += [Note(t0, t1 - t0 + 0.05, p, vel) for p in voiced]
            continue
        if pattern == "arpeggio":
            step = float(rng.choice([0.5, 0.25])) if h.beat_s > 0.35 else 0.5
            order = voiced + voiced[-2:0:-1] if rng.random() < 0.5 else voiced
            for j, b in enumerate(np.arange(b0, b0 + beats - 1e-9, step)):
                notes.append(Note(h.time_s(b, rng), 2.0 * h.beat_s, order[j % len(order)],
                                  float(rng.uniform(0.45, 0.75))))
            continue
        if pattern in ("strum", "power"):
            hits = [b for b in np.arange(b0, b0 + beats - 1e-9, 0.5) if b == b0 or rng.random() < 0.6]
            length = 0.5
        elif pattern == "stabs":
            hits = [b for b in np.arange(b0, b0 + beats - 1e-9, 0.5) if (b - b0) % 1 > 0 and rng.random() < 0.7]
            length = 0.25
        else:  # block
            every = float(rng.choice([1.0, 2.0]))
            hits = list(np.arange(b0, b0 + beats - 1e-9, every))
            length = every
        for b in hits:
            t = h.time_s(b, rng)
            vel = float(rng.uniform(0.5, 0.9)) * (1.0 if (b - b0) % 1 == 0 else 0.8)
            down = (b - b0) % 1 == 0
            spread = 0.012 if pattern in ("strum", "power") else 0.0
            for k, p in enumerate(voiced if down else voiced[::-1]):
                notes.append(Note(t + k * spread, length * h.beat_s * 0.95, p, vel))
    return notes


def melody_notes(h: Harmony, rng: np.random.Generator, register: tuple[int, int], rhythm: str,
                 vowels: int = 1) -> list[Note]:
    """A melody line (``rhythm``: one of ``MELODY_RHYTHMS``): a walk over the scale inside ``register``, chord
    tones on strong beats, some rests."""
    _check_pattern(rhythm, MELODY_RHYTHMS)
    values, weights = {"slow": ([1.0, 2.0, 3.0, 4.0], [3, 4, 1, 2]), "even": ([0.5, 1.0, 1.5, 2.0], [4, 4, 1, 2]),
                       "busy": ([0.25, 0.5, 0.75, 1.0], [3, 5, 1, 2])}[rhythm]
    p = np.array(weights, dtype=float) / sum(weights)
    low, high = register
    centre = (low + high) / 2
    degree = int(round((centre - h.pitch(0)) * 7 / 12))
    notes: list[Note] = []
    beat = h.first_beat
    while beat < h.num_beats:
        dur = float(rng.choice(values, p=p))
        if rng.random() < 0.12:
            beat += dur
            continue
        degree += int(rng.choice([-3, -2, -1, 0, 1, 2, 3, 4], p=[0.05, 0.15, 0.25, 0.08, 0.25, 0.12, 0.05, 0.05]))
        if beat % 1 == 0 and rng.random() < 0.6:  # strong beat: nearest chord tone
            classes = h.chord_classes(h.chord_at(beat), False)
            while h.pitch(degree) % 12 not in classes:
                degree += 1
        while h.pitch(degree) > high:
            degree -= 7
        while h.pitch(degree) < low:
            degree += 7
        t0 = h.time_s(beat, rng)
        notes.append(Note(t0, dur * h.beat_s * float(rng.uniform(0.75, 1.0)), h.pitch(degree),
                          float(np.clip(rng.normal(0.7, 0.12), 0.3, 1.0)), int(rng.integers(vowels))))
        beat += dur
    return notes


def bass_notes(h: Harmony, rng: np.random.Generator, register: tuple[int, int], pattern: str) -> list[Note]:
    """A bass line in ``pattern`` (one of ``BASS_PATTERNS``) on the chord roots inside ``register``."""
    _check_pattern(pattern, BASS_PATTERNS)
    low, high = register
    notes: list[Note] = []
    beats = h.chord_beats
    for i, degree in enumerate(h.degrees):
        b0 = h.first_beat + i * beats
        root = _place(h.chord_classes(degree, False)[0], low, high, low + 7)
        fifth = root + 7 if root + 7 <= high else root - 5
        if pattern == "sustain":
            t0, t1 = h.time_s(b0), h.time_s(b0 + beats)
            notes.append(Note(t0, t1 - t0, root, float(rng.uniform(0.6, 0.8))))
            continue
        if pattern == "walking":
            target = _place(h.chord_classes(h.degrees[min(i + 1, len(h.degrees) - 1)], False)[0], low, high, root)
            line = [root] + [int(np.clip(root + (target - root) * k / beats + rng.integers(-2, 3), low, high))
                             for k in range(1, beats - 1)] + [target + int(rng.choice([-1, 1]))]
            steps = [(b0 + k, 1.0, line[k]) for k in range(beats)]
        elif pattern == "root_fifth":
            steps = [(b0 + k, 1.0, root if k % 2 == 0 else fifth) for k in range(0, beats, 2)]
            steps = [(b, 2.0 * d, p) for b, d, p in steps]
        elif pattern == "syncopated":
            grid = np.arange(b0, b0 + beats - 1e-9, 0.25)
            steps = [(b, 0.25, root + 12 * int(rng.random() < 0.2)) for b in grid
                     if b == b0 or rng.random() < 0.3]
        else:  # pulse
            every = float(rng.choice([0.5, 1.0]))
            steps = [(b, every, root if rng.random() < 0.85 else fifth)
                     for b in np.arange(b0, b0 + beats - 1e-9, every)]
        for b, d, pitch in steps:
            notes.append(Note(h.time_s(b, rng), d * h.beat_s * float(rng.uniform(0.7, 0.95)), pitch,
                              float(np.clip(rng.normal(0.75, 0.1), 0.4, 1.0))))
    return notes


def drum_hits(h: Harmony, rng: np.random.Generator, pattern: str) -> list[Hit]:
    """Drum and percussion hits in ``pattern`` (one of ``DRUM_PATTERNS``) over the whole chord sequence."""
    _check_pattern(pattern, DRUM_PATTERNS)
    hits: list[Hit] = []
    bar = h.beats_per_bar
    steps = np.arange(0, bar, 0.25)  # sixteenths within a bar
    for b0 in np.arange(h.first_beat, h.num_beats, bar):
        bar_index = int(round((b0 - h.first_beat) / bar))
        fill = bar_index % 4 == 3 and rng.random() < 0.5

        def add(pos: float, piece: str, vel: float, midi: float = 0.0) -> None:
            v = float(np.clip(vel * rng.uniform(0.85, 1.1), 0.05, 1.0))
            hits.append(Hit(h.time_s(b0 + pos, rng), piece, v, midi))

        if bar_index % 8 == 0 and pattern in ("rock", "electronic", "halftime", "shuffle") and rng.random() < 0.6:
            add(0.0, "crash", 0.8)
        if pattern in ("rock", "shuffle"):
            for s in steps:
                if s % 0.5 == 0 and not (pattern == "shuffle" and s % 1 == 0.5 and rng.random() < 0.3):
                    add(s, "hat_closed", 0.75 if s % 1 == 0 else 0.55)
                if s in (0.0, 2.0) or (s in (1.5, 2.5, 3.5) and rng.random() < 0.25):
                    add(s, "kick", 0.9)
                if s % 2 == 1.0:
                    add(s, "snare", 0.9)
        elif pattern == "electronic":
            for s in steps:
                if s % 1 == 0:
                    add(s, "kick", 1.0)
                if s % 2 == 1.0:
                    add(s, "clap", 0.85)
                if s % 1 == 0.5:
                    add(s, "hat_open", 0.6)
                elif rng.random() < 0.7:
                    add(s, "hat_closed", 0.35 + 0.25 * (s % 0.5 == 0))
        elif pattern == "halftime":
            for s in steps:
                if s % 0.5 == 0:
                    add(s, "hat_closed", 0.6)
                if s == 0.0 or (s in (0.75, 1.75, 2.5, 3.25) and rng.random() < 0.4):
                    add(s, "kick", 0.95)
                if s == 2.0:
                    add(s, "snare", 1.0)
        elif pattern == "jazz":
            for beat in range(bar):
                add(beat, "ride", 0.6 + 0.1 * (beat % 2))
                if beat % 2 == 1:
                    add(beat + 0.5, "ride", 0.45)
                    add(beat, "hat_closed", 0.4)
                if rng.random() < 0.25:
                    add(beat + float(rng.choice([0.0, 0.5])), "snare", 0.3)
                if rng.random() < 0.3:
                    add(beat, "kick", 0.35)
        elif pattern == "hand":
            accents = rng.random(steps.size) < 0.45
            for s, accent in zip(steps, accents):
                if accent or s == 0:
                    add(s, str(rng.choice(["conga_low", "conga_high", "tabla", "bongo"], p=[0.3, 0.3, 0.25, 0.15])),
                        0.8 if s % 1 == 0 else 0.55)
                add(s, "shaker", 0.35 + 0.2 * (s % 1 == 0))
        elif pattern == "orchestral":
            chord_root = h.pitch(h.chord_at(b0), 2)
            if rng.random() < 0.6:
                add(0.0, "timpani", 0.8, chord_root)
            if rng.random() < 0.3:
                for s in np.arange(bar - 1, bar, 0.125):
                    add(float(s), "timpani", 0.35 + 0.4 * (s - bar + 1), chord_root)
            if bar_index % 4 == 0 and rng.random() < 0.25:
                add(0.0, "crash", 0.6)
            if rng.random() < 0.3:
                add(0.0, "kick", 0.7)
        if fill and pattern in ("rock", "halftime", "shuffle"):
            for k, s in enumerate(np.arange(bar - 1, bar, 0.25)):
                add(float(s), ("tom_high", "tom_mid", "tom_low", "tom_low")[k % 4], 0.8)
    return hits
