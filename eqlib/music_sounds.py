"""Sounds of the procedural music synthesiser: instrument timbres, their notes and a drum kit (numpy only).

* **Harmonic instruments** are band-limited wavetables built per note from a spectral envelope of the
  harmonic amplitudes: a source roll-off (dB per octave of harmonic number, brighter when played harder),
  odd/even balance (clarinet), body or formant resonances (bells on a log-frequency axis), low- and high-pass
  corners, and a comb from the pluck or hammer position. Sustained notes get an ADSR envelope, delayed
  vibrato, tremolo, an optional detuned second copy (sections, pads, double tracking) and breath/bow noise
  that follows the envelope. Plucked and struck notes (guitar, piano, basses) decay exponentially, faster
  for higher notes; their partials are played in three groups (harmonics 1-3, 4-10, 11 and up), each group
  decaying faster than the one below and stretched by the string's inharmonicity ``sqrt(1 + B k^2)`` at the
  group's mean harmonic number ``k`` (Fletcher 1964), so the tone darkens as it decays and its upper
  partials run sharp. A pick, hammer or breath noise burst marks each attack.
* **Mallets** (marimba, vibraphone, glockenspiel, celesta, bells, kalimba) sum a few inharmonic bar modes.
* **Drums**: a kick (a sine swept down in pitch, Roland TR-808 style, plus a click), snare (two tones and
  band-passed noise), clap (three noise bursts and a tail), hi-hats, ride and crash (high-passed noise),
  toms (swept sines), hand drums (membrane modes 1 : 1.59 : 2.14, tabla harmonics) with a slap, a shaker
  and tuned timpani.

* **Noise elements** (:func:`render_texture`): a riser, wind, vinyl crackle.

Oscillators read a 4096-point cycle through a 32-bit fixed-point phase in blocks of ``CTRL`` samples (the
frequency constant within a block, so vibrato and pitch sweeps cost nothing extra); envelopes are linear
within a block. Noise comes from one seeded white-noise block per excerpt, coloured once per band. Levels are
linear amplitudes, frequencies Hz, times s, audio float32 ``(time,)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft

from eqlib.music_score import Hit, Note

TABLE_SIZE = 4096  # samples per wavetable cycle: harmonics up to 2047
_NOISE_SIZE = 2 ** 15  # samples of the per-excerpt noise block (looped for longer sounds)
_HARMONIC_PHASORS = np.exp(1j * np.random.default_rng(20200504).uniform(0, 2 * np.pi, TABLE_SIZE // 2 + 1))
_SINE = np.sin(2 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE).astype(np.float32)
_GROUP_EDGES = (1, 4, 11)  # first harmonic of each partial group of plucked and struck notes
MIN_GROUP_POWER = 1e-5  # partial groups below -50 dB of a struck note's power are not played
VELOCITY_STEP = 0.2  # velocities share a wavetable within this step (the level itself is not quantised)
CONSONANT_SHARE = 0.6  # sung notes that start with a consonant
_MAX_PARTIAL_HZ = 20000.0
# (F1, F2, F3 Hz) of the vowels a, e, i, o, u of an adult male voice: typical values, rounded
SUNG_VOWELS_HZ: tuple[tuple[float, float, float], ...] = (
    (700, 1150, 2600), (500, 1750, 2500), (300, 2100, 2900), (450, 850, 2500), (330, 750, 2400))


@dataclass(frozen=True)
class Timbre:
    """An instrument's sound. Frequencies Hz, levels dB, times s; ``resonances`` are (Hz, dB, Q) bells."""

    family: str
    low_midi: int
    high_midi: int
    slope_db_per_oct: float  # harmonic amplitude roll-off per octave of harmonic number
    velocity_slope_db: float = 0.0  # added to the roll-off per unit of velocity above 0.7 (brass, piano)
    even_db: float = 0.0  # extra gain of even harmonics below 1.5 kHz (clarinet < 0)
    lowpass_hz: float = 20000.0
    lowpass_order: int = 2  # 6 dB/oct per order
    highpass_hz: float = 0.0
    resonances: tuple[tuple[float, float, float], ...] = ()
    formant_scale: float = 0.0  # > 0: sung, the vowel formants times this factor
    drawbars: tuple[float, ...] = ()  # organ: amplitude of harmonics 1.. (replaces the roll-off)
    modes: tuple[tuple[float, float, float], ...] = ()  # mallets: (frequency ratio, dB, decay-rate ratio)
    pluck_position: float = 0.0  # comb |sin(pi k beta)|; 0: none
    inharmonicity: float = 0.0  # B of f_k = k f0 sqrt(1 + B k^2)
    percussive: bool = False  # plucked/struck: exponential decay instead of a sustain
    t60_s: float = 1.0  # percussive: decay of the fundamental to -60 dB at 220 Hz
    bright_decay: float = 0.0  # percussive: decay rate grows by this factor per harmonic number
    attack_s: float = 0.01
    decay_s: float = 0.1
    sustain: float = 0.8
    release_s: float = 0.1
    vibrato_hz: float = 0.0
    vibrato_st: float = 0.0
    tremolo: float = 0.0  # relative depth of amplitude modulation at the vibrato rate
    chorus_cents: float = 0.0  # > 0: a second copy detuned by this much
    noise_db: float = -120.0  # breath, bow or pick noise re the tone
    noise_band_hz: tuple[float, float] = (1000.0, 8000.0)
    vowels: int = 1  # number of vowels a sung part may use
    consonant_db: float = -120.0  # sung: level of a consonant (s, t, k) noise burst before some notes, re the tone


@dataclass(frozen=True)
class DrumKit:
    """Drum and percussion sounds of one arrangement; ``levels_db`` maps a piece name to its level."""

    kick_hz: float  # end pitch of the kick sweep
    kick_sweep: float  # start/end pitch ratio
    kick_t60_s: float
    kick_click_db: float
    snare_hz: float
    snare_t60_s: float
    snare_band_hz: tuple[float, float]
    hat_hz: float  # high-pass corner of the hats
    hat_closed_s: float
    hat_open_s: float
    cymbal_hz: float
    cymbal_t60_s: float
    tom_hz: float  # the lowest tom; the others at 1.3 and 1.7 times
    hand_hz: float  # the low conga; high conga, bongo and tabla above it
    levels_db: tuple[tuple[str, float], ...] = ()  # (piece, dB); pieces not named play at 0 dB

    def level_db(self, piece: str) -> float:
        """Level of ``piece`` in dB re a full-velocity hit."""
        return dict(self.levels_db).get(piece, 0.0)


# ---------------------------------------------------------------------------------------------
# Spectral envelopes and wavetables
# ---------------------------------------------------------------------------------------------
def _bells_db(f: np.ndarray, resonances: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """Sum of Gaussian bells on a log-frequency axis (gain dB at the centre, 1/Q octaves wide) at ``f`` Hz."""
    out = np.zeros_like(f)
    for freq, gain_db, q in resonances:
        out += gain_db * np.exp(-0.5 * (np.log2(f / freq) * 2 * q) ** 2)
    return out


def _resonance_db(f: np.ndarray, freq: float, bandwidth: float) -> np.ndarray:
    """Magnitude (dB) of a two-pole resonance with unity gain at DC (the Klatt 1980 resonator)."""
    b2 = (0.5 * bandwidth) ** 2
    return 10 * np.log10((freq * freq + b2) ** 2 / (((f - freq) ** 2 + b2) * ((f + freq) ** 2 + b2)))


def envelope_db(timbre: Timbre, f0_hz: float, harmonics: np.ndarray, velocity: float, vowel: int = 0) -> np.ndarray:
    """Level (dB) of harmonics ``harmonics`` ``(K,)`` of a note at ``f0_hz`` played at ``velocity``."""
    f = harmonics * f0_hz
    if timbre.drawbars:
        bars = np.asarray(timbre.drawbars)
        level = np.full(f.shape, -120.0)
        inside = harmonics <= bars.size
        level[inside] = 20 * np.log10(bars[harmonics[inside] - 1] + 1e-6)
    else:
        slope = timbre.slope_db_per_oct + timbre.velocity_slope_db * (velocity - 0.7)
        level = slope * np.log2(harmonics)
    level += timbre.even_db * (harmonics % 2 == 0) / (1 + (f / 1500.0) ** 2)
    level += _bells_db(f, timbre.resonances)
    level -= 10 * timbre.lowpass_order * np.log10(1 + (f / timbre.lowpass_hz) ** 2) / 2
    if timbre.highpass_hz:
        level -= 10 * np.log10(1 + (timbre.highpass_hz / f) ** 4)
    if timbre.formant_scale:
        formants = np.asarray(SUNG_VOWELS_HZ[vowel % len(SUNG_VOWELS_HZ)]) * timbre.formant_scale
        for i, freq in enumerate(formants):
            level += _resonance_db(f, freq, 60.0 + 0.06 * freq) - (6.0 * i)
    if timbre.pluck_position:
        level += 20 * np.log10(np.abs(np.sin(np.pi * harmonics * timbre.pluck_position)) + 0.03)
    return level


def _tables(harmonics: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """One cycle per row ``(groups, TABLE_SIZE)`` float32 (read-only) of the harmonics ``(K,)`` with amplitudes
    ``(groups, K)``, fixed phases."""
    spectra = np.zeros((amplitudes.shape[0], TABLE_SIZE // 2 + 1), dtype=np.complex128)
    spectra[:, harmonics] = amplitudes * _HARMONIC_PHASORS[harmonics] * (TABLE_SIZE / 2)
    tables = scipy.fft.irfft(spectra, n=TABLE_SIZE, axis=-1).astype(np.float32)
    tables.flags.writeable = False
    return tables


@dataclass(frozen=True)
class _Voice:
    """The wavetables of one note: per partial group a table, pitch stretch and decay rate (1/s)."""

    tables: tuple[np.ndarray, ...]
    stretches: tuple[float, ...]
    rates: tuple[float, ...]


@functools.lru_cache(maxsize=2048)
def note_voice(timbre: Timbre, midi: float, velocity: float, sample_rate: int, vowel: int = 0) -> _Voice:
    """Wavetables of one harmonic note (one group, or three for plucked/struck notes), unit total power.

    Kept between calls (pure function of its arguments): notes recur within and across excerpts."""
    f0_hz = midi_hz(midi)
    top = min(0.45 * sample_rate, _MAX_PARTIAL_HZ)
    k = np.arange(1, max(1, min(int(top / f0_hz), TABLE_SIZE // 2 - 1)) + 1)
    amp = 10 ** (envelope_db(timbre, f0_hz, k, velocity, vowel) / 20)
    amp /= np.sqrt(np.sum(amp ** 2) / 2) + 1e-12  # unit power: a full-scale sine has power 1/2
    if not timbre.percussive:
        return _Voice((_tables(k, amp[None])[0],), (1.0,), (0.0,))
    base_rate = decay_rate(timbre, f0_hz)
    edges = [e for e in _GROUP_EDGES if e <= k[-1]] + [k[-1] + 1]
    groups = np.stack([np.where((k >= lo) & (k < hi), amp, 0.0) for lo, hi in zip(edges[:-1], edges[1:])])
    weight = groups ** 2
    keep = weight.sum(axis=1) >= MIN_GROUP_POWER * weight.sum()  # inaudible groups cost as much as loud ones
    groups, weight = groups[keep], weight[keep]
    k_mean = np.sum(k * weight, axis=1) / np.sum(weight, axis=1)
    return _Voice(tuple(_tables(k, groups)), tuple(np.sqrt(1 + timbre.inharmonicity * k_mean ** 2).tolist()),
                  tuple((base_rate * (1 + timbre.bright_decay * (k_mean - 1))).tolist()))


# ---------------------------------------------------------------------------------------------
# Oscillators and envelopes, in blocks of CTRL samples: within a block the frequency is constant (a 32-bit
# fixed-point phase, 2^32 = one cycle) and the envelope linear between its values at the block edges.
# ---------------------------------------------------------------------------------------------
CTRL = 16  # samples per block (0.36 ms at 44.1 kHz)
_CTRL_STEP = np.arange(CTRL, dtype=np.uint32)
_CTRL_FRAC = (np.arange(CTRL) / CTRL).astype(np.float32)
_INDEX_SHIFT = np.uint32(32 - int(np.log2(TABLE_SIZE)))
_TWO32 = 2 ** 32


def control_times(num_samples: int, sample_rate: int, first_sample: int = 0) -> np.ndarray:
    """Times (s) of the block edges covering ``num_samples`` samples from ``first_sample`` ``(blocks + 1,)``."""
    return (first_sample + np.arange(-(-num_samples // CTRL) + 1) * CTRL) / sample_rate


def expand(control: np.ndarray, num_samples: int) -> np.ndarray:
    """Values at the block edges ``(blocks + 1,)`` linearly interpolated to ``(num_samples,)`` float32."""
    control = np.asarray(control, dtype=np.float32)
    out = np.multiply(np.diff(control)[:, None], _CTRL_FRAC)
    out += control[:-1, None]
    return out.ravel()[:num_samples]


def oscillator(table: np.ndarray, f_hz: float | np.ndarray, sample_rate: int, num_samples: int,
               start_cycles: float = 0.0) -> np.ndarray:
    """``table`` (one cycle) played for ``num_samples`` samples ``(num_samples,)`` float32.

    ``f_hz`` is a constant frequency or its values at the block edges (vibrato, sweeps): each block plays at the
    mean of its two edges, and the phase runs on continuously.
    """
    blocks = -(-num_samples // CTRL)
    if np.ndim(f_hz):
        inc = np.round((f_hz[:-1] + f_hz[1:]) * (0.5 / sample_rate * _TWO32)).astype(np.int64) % _TWO32
    else:
        inc = np.full(blocks, round(f_hz / sample_rate * _TWO32) % _TWO32, dtype=np.int64)
    block_start = np.cumsum(inc * CTRL) - inc * CTRL + int(start_cycles % 1.0 * _TWO32)
    phase = np.multiply(inc.astype(np.uint32)[:, None], _CTRL_STEP)
    phase += (block_start % _TWO32).astype(np.uint32)[:, None]
    phase >>= _INDEX_SHIFT
    return np.take(table, phase, mode="clip").ravel()[:num_samples]  # "clip": no bounds pass


# ---------------------------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------------------------
class NoiseBank:
    """One block of seeded white noise and band-limited colourings of it, each of unit RMS."""

    def __init__(self, rng: np.random.Generator, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._spectrum = scipy.fft.rfft(rng.standard_normal(_NOISE_SIZE, dtype=np.float32))
        self._freqs4 = np.maximum(np.fft.rfftfreq(_NOISE_SIZE, 1.0 / sample_rate), 1.0).astype(np.float32) ** 4
        self._colours: dict[tuple[float, float], np.ndarray] = {}

    def colour(self, low_hz: float, high_hz: float) -> np.ndarray:
        """The noise band-passed between ``low_hz`` and ``high_hz`` (12 dB/oct skirts) ``(_NOISE_SIZE,)``."""
        key = (round(low_hz, 1), round(high_hz, 1))
        if key not in self._colours:
            f4 = self._freqs4
            gain = 1 / np.sqrt((1 + np.float32(low_hz ** 4) / f4) * (1 + f4 / np.float32(high_hz ** 4)))
            x = scipy.fft.irfft(self._spectrum * gain, n=_NOISE_SIZE)
            x = (x / (np.std(x) + 1e-12)).astype(np.float32)
            self._colours[key] = np.concatenate([x, x])  # so that most segments are views
        return self._colours[key]

    def segment(self, low_hz: float, high_hz: float, length: int, rng: np.random.Generator) -> np.ndarray:
        """``length`` samples of a colour from a random offset (the block looped): a read-only view."""
        colour = self.colour(low_hz, high_hz)
        start = int(rng.integers(_NOISE_SIZE))
        if start + length > colour.size:
            colour = np.tile(colour[:_NOISE_SIZE], -(-(start + length) // _NOISE_SIZE))
            self._colours[(round(low_hz, 1), round(high_hz, 1))] = colour
        return colour[start:start + length]


# ---------------------------------------------------------------------------------------------
# Notes
# ---------------------------------------------------------------------------------------------
def midi_hz(midi: float) -> float:
    """Frequency (Hz) of MIDI pitch ``midi`` (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _sustained_envelope(timbre: Timbre, t: np.ndarray, dur_s: float) -> np.ndarray:
    """ADSR amplitude at times ``t`` (s from onset): linear attack, exponential decay and release."""
    knots_t = [0.0, timbre.attack_s]
    knots_v = [0.0, 1.0]
    for j in range(1, 4):  # exponential decay to the sustain level, sampled at 3 points
        knots_t.append(timbre.attack_s + timbre.decay_s * j)
        knots_v.append(timbre.sustain + (1 - timbre.sustain) * np.exp(-2.3 * j))
    off = max(dur_s, knots_t[-1] + 1e-3)
    level = float(np.interp(off, knots_t, knots_v))
    knots_t += [off] + [off + timbre.release_s * j for j in (1, 2, 3)]
    knots_v += [level] + [level * np.exp(-2.3 * j) for j in (1, 2)] + [0.0]
    return np.interp(t, knots_t, knots_v)


def decay_rate(timbre: Timbre, f0_hz: float) -> float:
    """Decay rate (1/s) of a struck or plucked fundamental at ``f0_hz``: 60 dB in ``t60_s`` at 220 Hz, faster
    for higher notes (as ``f0^0.5``), never longer than 20 s."""
    return max(6.91 / timbre.t60_s * (f0_hz / 220.0) ** 0.5, 6.91 / 20.0)


def _note_length_s(timbre: Timbre, note: Note, voice: _Voice | None) -> float:
    """How long a note sounds (s): held duration plus release, or until a struck note has decayed by 60 dB."""
    if timbre.modes:
        return 6.91 / decay_rate(timbre, midi_hz(note.midi))
    if voice is not None and timbre.percussive:  # damped by 60 dB within release_s of the note-off
        return min(6.91 / voice.rates[0], note.dur_s + timbre.release_s)
    return note.dur_s + 3 * timbre.release_s  # the sustained release falls 20 dB per release_s


def _struck_note(voice: _Voice, f0_hz: float, shape: np.ndarray, tc: np.ndarray, num_samples: int,
                 sample_rate: int, phase: float) -> np.ndarray:
    """Partial groups of a plucked/struck note, each stretched and decaying at its own rate ``(num_samples,)``."""
    out = np.zeros(num_samples, dtype=np.float32)
    for table, stretch, rate in zip(voice.tables, voice.stretches, voice.rates):
        env = shape * np.exp(-rate * tc)
        audible = np.flatnonzero(env > 1e-3 * env.max() if env.max() > 0 else env > 0)
        m = min(num_samples, (int(audible[-1]) + 1) * CTRL if audible.size else 0)
        if m >= 2:
            out[:m] += expand(env, m) * oscillator(table, f0_hz * stretch, sample_rate, m, phase * stretch)
    return out


def _mallet_note(timbre: Timbre, f0_hz: float, shape: np.ndarray, tc: np.ndarray, num_samples: int,
                 sample_rate: int, phase: float) -> np.ndarray:
    """Sum of the timbre's bar modes (ratio, dB, decay ratio) below Nyquist, each until -60 dB ``(num_samples,)``."""
    out = np.zeros(num_samples, dtype=np.float32)
    rate = decay_rate(timbre, f0_hz)
    for ratio, level_db, decay in timbre.modes:
        m = min(num_samples, int(6.91 / (rate * decay) * sample_rate) - int(round(tc[0] * sample_rate)))
        if ratio * f0_hz < 0.45 * sample_rate and m >= 2:
            blocks = -(-m // CTRL) + 1
            env = shape[:blocks] * (10 ** (level_db / 20) * np.sqrt(2)) * np.exp(-rate * decay * tc[:blocks])
            out[:m] += expand(env, m) * oscillator(_SINE, f0_hz * ratio, sample_rate, m, phase * ratio)
    return out


def _sustained_note(timbre: Timbre, voice: _Voice, f0_hz: float, env: np.ndarray, tc: np.ndarray, num_samples: int,
                    sample_rate: int, phase: float, rng: np.random.Generator) -> np.ndarray:
    """A held note ``(num_samples,)``: its wavetable under the envelope ``env`` (values at the block edges ``tc``),
    with vibrato growing over the first 0.35 s and an optional detuned second copy."""
    vib_rate = timbre.vibrato_hz
    f = f0_hz
    if vib_rate and timbre.vibrato_st:
        theta = float(rng.uniform(0, 2 * np.pi))
        depth = 2 ** (timbre.vibrato_st / 12) - 1
        f = f0_hz * (1 + depth * np.minimum(tc / 0.35, 1.0) * np.sin(2 * np.pi * vib_rate * tc + theta))
    tone = oscillator(voice.tables[0], f, sample_rate, num_samples, phase)
    if timbre.chorus_cents:
        tone += oscillator(voice.tables[0], f * 2 ** (timbre.chorus_cents / 1200), sample_rate, num_samples,
                           phase + 0.37)
        tone *= np.float32(np.sqrt(0.5))
    return expand(env, num_samples) * tone


def render_part(notes: list[Note], timbre: Timbre, num_samples: int, sample_rate: int,
                rng: np.random.Generator, noise: NoiseBank) -> np.ndarray:
    """Play ``notes`` with ``timbre`` into ``(num_samples,)`` float32; a full-velocity note has power about 1/2."""
    out = np.zeros(num_samples, dtype=np.float32)
    noise_gain = 10 ** (timbre.noise_db / 20)
    for note in notes:
        f0 = midi_hz(note.midi)
        voice = None
        if not timbre.modes:
            brightness = round(note.velocity / VELOCITY_STEP) * VELOCITY_STEP
            voice = note_voice(timbre, float(note.midi), brightness, sample_rate, note.vowel)
        start = int(round(note.start_s * sample_rate))
        stop = start + int(_note_length_s(timbre, note, voice) * sample_rate)
        a, b = max(start, 0), min(stop, num_samples)
        if b - a < 2:
            continue
        m = b - a
        tc = control_times(m, sample_rate, a - start)  # note time (s) at the control points
        gain = note.velocity ** 1.5
        phase = float(rng.random()) + f0 * (a - start) / sample_rate
        if timbre.modes or timbre.percussive:
            release = np.exp(-6.91 * np.maximum(tc - note.dur_s, 0.0) / max(timbre.release_s, 1e-3))
            shape = gain * np.minimum(tc / 0.003, 1.0) * release
            play = _mallet_note if timbre.modes else _struck_note
            out[a:b] += play(timbre if timbre.modes else voice, f0, shape, tc, m, sample_rate, phase)
            noise_env = shape * np.exp(-tc / 0.012)  # pick / hammer / mallet noise burst
        else:
            env = gain * _sustained_envelope(timbre, tc, note.dur_s)
            if timbre.tremolo:  # the breath noise swells with the tone
                env *= 1 + timbre.tremolo * np.sin(2 * np.pi * max(timbre.vibrato_hz, 4.0) * tc + 6.28 * phase)
            out[a:b] += _sustained_note(timbre, voice, f0, env, tc, m, sample_rate, phase, rng)
            noise_env = env * (1 + 2 * np.exp(-tc / max(timbre.attack_s, 0.01)))  # attack chiff
        if noise_gain > 1e-5:
            out[a:b] += expand(noise_gain * noise_env, m) * noise.segment(*timbre.noise_band_hz, m, rng)
        if timbre.consonant_db > -100 and a == start and rng.random() < CONSONANT_SHARE:
            out[a:b] += _consonant(timbre, gain, m, sample_rate, rng, noise)
    return out


def _consonant(timbre: Timbre, gain: float, num_samples: int, sample_rate: int, rng: np.random.Generator,
               noise: NoiseBank) -> np.ndarray:
    """A sibilant or plosive noise burst (3.5-12 kHz, or 1.5-8 kHz) of 30-90 ms at a note onset ``(num_samples,)``."""
    length = min(num_samples, int(rng.uniform(0.03, 0.09) * sample_rate))
    out = np.zeros(num_samples, dtype=np.float32)
    if length >= CTRL:
        band = (3500.0, 12000.0) if rng.random() < 0.6 else (1500.0, 8000.0)
        tc = control_times(length, sample_rate)
        env = gain * 10 ** (timbre.consonant_db / 20) * np.sin(np.pi * np.minimum(tc / tc[-1], 1.0))
        out[:length] = expand(env, length) * noise.segment(band[0], min(band[1], 0.45 * sample_rate), length, rng)
    return out


# ---------------------------------------------------------------------------------------------
# Drums
# ---------------------------------------------------------------------------------------------
_PIECE_T60_S = {"clap": 0.35, "tom_high": 0.6, "tom_mid": 0.7, "tom_low": 0.8, "conga_low": 0.35,
                "conga_high": 0.3, "bongo": 0.2, "tabla": 0.6, "shaker": 0.12, "timpani": 2.5}
DRUM_PIECES = ("kick", "snare", "clap", "hat_closed", "hat_open", "ride", "crash", "tom_high", "tom_mid",
               "tom_low", "conga_low", "conga_high", "bongo", "tabla", "shaker", "timpani")


class _Hit:
    """Building blocks of one drum sound of ``num_samples`` samples (control-rate envelopes, expanded)."""

    def __init__(self, num_samples: int, sample_rate: int, rng: np.random.Generator, noise: NoiseBank) -> None:
        self.m, self.sample_rate, self.rng, self.noise = num_samples, sample_rate, rng, noise
        self.tc = control_times(num_samples, sample_rate)

    def decay(self, t60_s: float, attack_s: float = 0.0, num_samples: int | None = None) -> np.ndarray:
        """Exponential decay by 60 dB in ``t60_s`` after a linear attack of ``attack_s`` (first ``num_samples``)."""
        m = self.m if num_samples is None else num_samples
        tc = self.tc[:-(-m // CTRL) + 1]
        env = np.exp(-6.91 * tc / t60_s)
        if attack_s:
            env *= np.minimum(tc / attack_s, 1.0)
        return expand(env, m)

    def noise_band(self, low_hz: float, high_hz: float) -> np.ndarray:
        return self.noise.segment(low_hz, min(high_hz, 0.45 * self.sample_rate), self.m, self.rng)

    def swept_sine(self, end_hz: float, ratio: float, sweep_s: float) -> np.ndarray:
        """A sine gliding exponentially from ``end_hz * ratio`` down to ``end_hz`` (time constant ``sweep_s``)."""
        f = end_hz * (1 + (ratio - 1) * np.exp(-self.tc / sweep_s))
        return oscillator(_SINE, f, self.sample_rate, self.m)

    def modes(self, f0_hz: float, ratios: tuple[float, ...], levels_db: tuple[float, ...], t60_s: float) -> np.ndarray:
        """Damped sine modes at ``f0_hz * ratios``; mode ``i`` decays ``i + 1`` times faster (played until -60 dB)."""
        out = np.zeros(self.m, dtype=np.float32)
        for i, (ratio, level_db) in enumerate(zip(ratios, levels_db)):
            m = min(self.m, int(t60_s / (1 + i) * self.sample_rate))
            if ratio * f0_hz < 0.45 * self.sample_rate and m >= 2:
                out[:m] += np.float32(10 ** (level_db / 20)) * self.decay(t60_s / (1 + i), num_samples=m) * oscillator(
                    _SINE, ratio * f0_hz, self.sample_rate, m)
        return out


def _drum_sound(kit: DrumKit, hit: Hit, sample_rate: int, rng: np.random.Generator, noise: NoiseBank) -> np.ndarray:
    """One hit of ``hit.piece`` (one of ``DRUM_PIECES``; unit level at full velocity) ``(samples,)``."""
    piece = hit.piece
    if piece not in DRUM_PIECES:
        raise ValueError(f"unknown drum piece {piece!r}; expected one of {DRUM_PIECES}")
    t60 = {"kick": kit.kick_t60_s, "snare": kit.snare_t60_s, "hat_closed": kit.hat_closed_s,
           "hat_open": kit.hat_open_s, "ride": kit.cymbal_t60_s, "crash": 1.3 * kit.cymbal_t60_s}.get(piece)
    t60 = t60 or _PIECE_T60_S[piece]
    h = _Hit(int(t60 * sample_rate), sample_rate, rng, noise)
    if piece == "kick":
        click = np.float32(10 ** (kit.kick_click_db / 20)) * h.noise_band(1500, 8000) * h.decay(0.02)
        return h.swept_sine(kit.kick_hz, kit.kick_sweep, 0.03) * h.decay(t60) + click
    if piece == "snare":
        tone = h.modes(kit.snare_hz, (1.0, 1.6), (0.0, -4.0), 0.5 * t60)
        return 0.6 * tone + h.noise_band(*kit.snare_band_hz) * h.decay(t60)
    if piece == "clap":
        bursts = sum(np.exp(-6.91 * np.maximum(h.tc - d, 0) / 0.03) * (h.tc >= d) for d in (0.0, 0.011, 0.023))
        return h.noise_band(900, 6000) * expand(bursts + 0.4 * np.exp(-6.91 * h.tc / t60), h.m)
    if piece in ("hat_closed", "hat_open"):
        return h.noise_band(kit.hat_hz, 16000) * h.decay(t60)
    if piece == "ride":
        bell = h.modes(620.0, (1.0, 2.3, 3.9), (0.0, -3.0, -6.0), 0.3 * t60)
        return h.noise_band(kit.cymbal_hz, 14000) * h.decay(t60) + 0.3 * bell
    if piece == "crash":
        return h.noise_band(0.6 * kit.cymbal_hz, 16000) * h.decay(t60, attack_s=0.004)
    if piece.startswith("tom"):
        f = kit.tom_hz * {"tom_low": 1.0, "tom_mid": 1.3, "tom_high": 1.7}[piece]
        return h.swept_sine(f, 1.4, 0.05) * h.decay(t60) + 0.2 * h.noise_band(300, 4000) * h.decay(0.08)
    if piece in ("conga_low", "conga_high", "bongo"):
        f = kit.hand_hz * {"conga_low": 1.0, "conga_high": 1.35, "bongo": 2.1}[piece]
        return h.modes(f, (1.0, 1.59, 2.14, 2.65), (0.0, -4.0, -8.0, -12.0), t60) \
            + 0.5 * h.noise_band(1000, 9000) * h.decay(0.03)
    if piece == "tabla":
        return h.modes(1.6 * kit.hand_hz, (1.0, 2.0, 3.0, 4.0, 5.0), (0.0, -2.0, -5.0, -8.0, -12.0), t60) \
            + 0.3 * h.noise_band(2000, 10000) * h.decay(0.02)
    if piece == "shaker":
        return h.noise_band(3000, 14000) * h.decay(t60, attack_s=0.012)
    # timpani (the last piece): membrane modes of a tuned kettle drum and a felt mallet thump
    return h.modes(midi_hz(hit.midi), (1.0, 1.5, 1.98, 2.44), (0.0, -3.0, -6.0, -9.0), t60) \
        + 0.3 * h.noise_band(60, 1200) * h.decay(0.05)


TEXTURES = ("riser", "wind", "crackle")


def render_texture(kind: str, num_samples: int, sample_rate: int, rng: np.random.Generator,
                   noise: NoiseBank) -> np.ndarray:
    """A noise element of ``kind`` (one of ``TEXTURES``), unit RMS, ``(num_samples,)`` float32.

    ``riser``: noise whose band climbs from 200-800 Hz to 3-12 kHz across the excerpt (three crossfaded
    bands); ``wind``: low-passed noise (100-1500 Hz) swelling at 0.05-0.3 Hz; ``crackle``: vinyl clicks
    (5-20 per s, 1 ms each, high-passed) over a 2-16 kHz hiss 20 dB below them.
    """
    top = 0.45 * sample_rate
    tc = control_times(num_samples, sample_rate)
    if kind == "riser":
        centres = np.exp(np.linspace(np.log(rng.uniform(200, 800)), np.log(rng.uniform(3000, min(12000, top / 2))), 3))
        pos = np.clip(tc / tc[-1] * 2, 0, 2)  # 0 → band 0, 1 → band 1, 2 → band 2
        out = np.zeros(num_samples, dtype=np.float32)
        for i, fc in enumerate(centres):
            weight = np.clip(1 - np.abs(pos - i), 0, 1) * (0.3 + 0.7 * tc / tc[-1])
            out += expand(weight, num_samples) * noise.segment(fc / 1.5, min(fc * 1.5, top), num_samples, rng)
    elif kind == "wind":
        rate, phase = rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi)
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * rate * tc + phase)
        out = expand(swell, num_samples) * noise.segment(100.0, rng.uniform(500, 1500), num_samples, rng)
    elif kind == "crackle":
        out = 0.1 * noise.segment(2000.0, min(16000.0, top), num_samples, rng)
        clicks = rng.integers(0, num_samples, int(rng.uniform(5, 20) * num_samples / sample_rate))
        click = noise.segment(1500.0, min(16000.0, top), max(2, int(0.001 * sample_rate)), rng)
        for start in clicks:
            seg = out[start:start + click.size]
            seg += rng.uniform(0.5, 3.0) * click[:seg.size]
    else:
        raise ValueError(f"unknown texture {kind!r}; expected one of {TEXTURES}")
    return out / np.float32(np.sqrt(np.mean(out.astype(np.float64) ** 2)) + 1e-12)


def render_drums(hits: list[Hit], kit: DrumKit, num_samples: int, sample_rate: int, rng: np.random.Generator,
                 noise: NoiseBank) -> np.ndarray:
    """Play ``hits`` on ``kit`` into ``(num_samples,)`` float32 (the kick at full velocity peaks near 1)."""
    out = np.zeros(num_samples, dtype=np.float32)
    for hit in hits:
        start = int(round(hit.time_s * sample_rate))
        if start >= num_samples:
            continue
        sound = _drum_sound(kit, hit, sample_rate, rng, noise)
        a, b = max(start, 0), min(start + sound.size, num_samples)
        if b <= a:
            continue
        gain = np.float32(hit.velocity ** 1.5 * 10 ** (kit.level_db(hit.piece) / 20))
        out[a:b] += gain * sound[a - start:b - start]
    return out
