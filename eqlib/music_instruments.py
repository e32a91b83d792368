"""Instrument families and drum kits of the procedural music synthesiser, each drawn with seeded variety.

One function per family returns a :class:`eqlib.music_sounds.Timbre` whose numbers vary within ranges typical
of the instrument: playing range (MIDI), harmonic roll-off, body resonances and formants (violin family after
Jansson 2002: A0 near 280 Hz, B1 modes near 450-550 Hz, the bridge hill near 2-3 kHz; brass and reeds after
Benade 1976, clarinet's weak even harmonics below ~1.5 kHz; guitar body modes near 100 and 200 Hz; piano
inharmonicity B of 1e-4 to 5e-4 (Fletcher 1964)), envelopes, vibrato and noise. Frequencies Hz, levels dB,
times s.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from eqlib.music_sounds import SUNG_VOWELS_HZ, DrumKit, Timbre

Rng = np.random.Generator


def _bowed(name: str, low: int, high: int, scale: float, chorus: bool) -> Callable[[Rng], Timbre]:
    def draw(rng: Rng) -> Timbre:
        u = rng.uniform
        return Timbre(
            family=name, low_midi=low, high_midi=high, slope_db_per_oct=u(-7, -4.5), velocity_slope_db=4.0,
            lowpass_hz=u(3000, 5500) * scale ** 0.3, lowpass_order=4, highpass_hz=190.0 * scale,
            resonances=((280.0 * scale, u(2, 6), 3.0), (u(430, 560) * scale, u(3, 8), 2.5),
                        (u(2000, 3000) * scale ** 0.3, u(2, 8), 1.2)),
            attack_s=u(0.05, 0.15), decay_s=0.1, sustain=0.85, release_s=u(0.1, 0.3), vibrato_hz=u(5.0, 6.5),
            vibrato_st=u(0.08, 0.3), chorus_cents=u(8, 16) if chorus else 0.0, noise_db=u(-44, -30),
            noise_band_hz=(1500.0, 7000.0))
    return draw


def _flute(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("flute", 60, 96, slope_db_per_oct=u(-16, -9), velocity_slope_db=4.0, lowpass_hz=u(3000, 5000),
                  lowpass_order=4, highpass_hz=250.0, attack_s=u(0.03, 0.08), decay_s=0.1, sustain=0.85,
                  release_s=0.1, vibrato_hz=u(4.5, 5.5), vibrato_st=u(0.05, 0.2), tremolo=u(0.0, 0.08),
                  noise_db=u(-34, -22), noise_band_hz=(1000.0, 8000.0))


def _clarinet(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("clarinet", 50, 91, slope_db_per_oct=u(-6, -3), velocity_slope_db=4.0, even_db=u(-25, -12),
                  lowpass_hz=u(2000, 3500), lowpass_order=5, attack_s=u(0.02, 0.05), decay_s=0.1, sustain=0.9,
                  release_s=0.08, noise_db=u(-46, -34), noise_band_hz=(1000.0, 6000.0))


def _oboe(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("oboe", 58, 91, slope_db_per_oct=u(-4, -1), velocity_slope_db=4.0, highpass_hz=450.0,
                  resonances=((u(1000, 1250), u(4, 8), 1.5), (u(2700, 3200), u(1, 5), 2.0)),
                  lowpass_hz=u(3500, 5000), lowpass_order=5, attack_s=0.03, decay_s=0.1, sustain=0.9, release_s=0.08,
                  vibrato_hz=u(5, 6), vibrato_st=u(0.05, 0.15), noise_db=-40.0)


def _sax(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("sax", 49, 82, slope_db_per_oct=u(-4, -2), velocity_slope_db=6.0,
                  resonances=((u(500, 900), u(3, 7), 1.5), (u(1400, 2200), u(1, 5), 2.0)),
                  lowpass_hz=u(2500, 4500), lowpass_order=5, attack_s=u(0.02, 0.05), decay_s=0.1, sustain=0.85,
                  release_s=0.08, vibrato_hz=u(4.5, 5.5), vibrato_st=u(0.05, 0.2), noise_db=u(-42, -30),
                  noise_band_hz=(1500.0, 7000.0))


def _brass(name: str, low: int, high: int, slope: tuple[float, float], lowpass: tuple[float, float],
           formant: tuple[float, float], highpass: float) -> Callable[[Rng], Timbre]:
    def draw(rng: Rng) -> Timbre:
        u = rng.uniform
        return Timbre(name, low, high, slope_db_per_oct=u(*slope), velocity_slope_db=10.0,
                      highpass_hz=highpass, resonances=((u(*formant), u(3, 7), 1.3),), lowpass_hz=u(*lowpass),
                      lowpass_order=5, attack_s=u(0.02, 0.06), decay_s=0.15, sustain=0.8, release_s=0.1,
                      vibrato_hz=u(4.5, 5.5), vibrato_st=u(0.0, 0.1), noise_db=-40.0)
    return draw


def _piano(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("piano", 21, 108, slope_db_per_oct=u(-9, -5), velocity_slope_db=10.0,
                  pluck_position=u(0.11, 0.14), lowpass_hz=u(1500, 4500), lowpass_order=4, highpass_hz=30.0,
                  resonances=((u(100, 200), u(0, 3), 1.0), (u(1500, 3000), u(-3, 3), 1.0)),
                  inharmonicity=u(1e-4, 5e-4), percussive=True, t60_s=u(5, 12), bright_decay=u(0.2, 0.6),
                  release_s=u(0.15, 0.4), noise_db=u(-36, -26), noise_band_hz=(80.0, 2000.0))


def _epiano(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("epiano", 28, 96, slope_db_per_oct=u(-22, -14), resonances=((u(1500, 3000), u(6, 14), 1.5),),
                  lowpass_hz=6000.0, percussive=True, t60_s=u(3, 6), bright_decay=u(0.5, 1.0), release_s=0.15,
                  noise_db=-36.0, noise_band_hz=(500.0, 5000.0))


def _harpsichord(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("harpsichord", 29, 89, slope_db_per_oct=u(-3, -1), pluck_position=u(0.08, 0.15),
                  lowpass_hz=u(6000, 10000), highpass_hz=60.0, percussive=True, t60_s=u(2, 4), bright_decay=0.1,
                  release_s=0.05, noise_db=-26.0, noise_band_hz=(2000.0, 12000.0))


def _harp(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("harp", 24, 103, slope_db_per_oct=u(-8, -5), pluck_position=u(0.2, 0.3), lowpass_hz=u(2500, 4000),
                  percussive=True, t60_s=u(3, 6), bright_decay=0.3, release_s=0.5, noise_db=-34.0,
                  noise_band_hz=(1000.0, 6000.0))


def _organ(rng: Rng) -> Timbre:
    u = rng.uniform
    steps = rng.integers(0, 9, 8) * (rng.random(8) < np.array([1, 0.9, 0.8, 0.7, 0.5, 0.5, 0.3, 0.4]))
    steps[0] = max(steps[0], 6)
    bars = tuple(float(10 ** ((s - 8) * 3 / 20)) if s else 0.0 for s in steps)
    return Timbre("organ", 36, 96, slope_db_per_oct=0.0, drawbars=bars, lowpass_hz=8000.0, attack_s=0.006,
                  decay_s=0.05, sustain=1.0, release_s=0.05, vibrato_hz=6.7, vibrato_st=u(0.0, 0.08),
                  tremolo=u(0.0, 0.2), noise_db=-34.0, noise_band_hz=(1000.0, 10000.0))


def _guitar_acoustic(rng: Rng) -> Timbre:
    """Steel strings (bright, ringing to 10 kHz) or, a third of the time, nylon strings (dark above 2-4 kHz)."""
    u = rng.uniform
    nylon = rng.random() < 1 / 3
    return Timbre("guitar_acoustic", 40, 84, slope_db_per_oct=u(-3.5, -1), pluck_position=u(0.08, 0.2),
                  resonances=((u(90, 110), u(3, 10), 2.0), (u(190, 240), u(2, 5), 2.0), (u(2000, 3500), u(0, 4), 1.0)),
                  lowpass_hz=u(2000, 4000) if nylon else u(5000, 9000), lowpass_order=4 if nylon else 2,
                  highpass_hz=70.0, inharmonicity=u(1e-5, 1e-4), percussive=True, t60_s=u(2, 5),
                  bright_decay=u(0.2, 0.5), release_s=u(0.05, 0.3), noise_db=u(-40, -30) if nylon else u(-30, -20),
                  noise_band_hz=(1500.0, 8000.0) if nylon else (2000.0, 12000.0))


def _guitar_electric(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("guitar_electric", 40, 86, slope_db_per_oct=u(-3, -1), pluck_position=u(0.05, 0.25),
                  resonances=((u(2000, 5000), u(3, 8), 2.0),), lowpass_hz=u(4000, 7000), lowpass_order=4,
                  highpass_hz=80.0, inharmonicity=u(1e-5, 6e-5), percussive=True, t60_s=u(2, 6),
                  bright_decay=u(0.1, 0.3), release_s=0.1, noise_db=-32.0, noise_band_hz=(1500.0, 8000.0))


def _guitar_distorted(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("guitar_distorted", 40, 76, slope_db_per_oct=u(-2, 0), highpass_hz=u(90, 150),
                  resonances=((u(450, 800), u(-8, 0), 1.0), (u(1800, 3000), u(2, 6), 1.5)),
                  lowpass_hz=u(3500, 6000), lowpass_order=6, attack_s=0.005, decay_s=0.3, sustain=0.8,
                  release_s=0.05, chorus_cents=u(4, 10), noise_db=-30.0, noise_band_hz=(1000.0, 6000.0))


def _bass_electric(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("bass_electric", 23, 60, slope_db_per_oct=u(-5, -2), pluck_position=u(0.1, 0.25),
                  lowpass_hz=u(800, 2500), highpass_hz=35.0, percussive=True, t60_s=u(2, 5), bright_decay=0.15,
                  release_s=0.08, noise_db=-34.0, noise_band_hz=(500.0, 4000.0))


def _bass_upright(rng: Rng) -> Timbre:
    u = rng.uniform
    return Timbre("bass_upright", 28, 55, slope_db_per_oct=u(-7, -4), resonances=((u(70, 110), u(2, 6), 2.0),),
                  lowpass_hz=u(600, 1400), highpass_hz=35.0, percussive=True, t60_s=u(0.8, 1.8), bright_decay=0.3,
                  release_s=0.1, noise_db=-30.0, noise_band_hz=(200.0, 3000.0))


def _synth(name: str, low: int, high: int, lowpass: tuple[float, float], attack: tuple[float, float],
           release: tuple[float, float], chorus: tuple[float, float]) -> Callable[[Rng], Timbre]:
    """Sawtooth or square through a resonant low-pass (a subtractive synthesiser)."""
    def draw(rng: Rng) -> Timbre:
        u = rng.uniform
        cutoff = u(*lowpass)
        return Timbre(name, low, high, slope_db_per_oct=-6.0, even_db=-40.0 if rng.random() < 0.35 else 0.0,
                      lowpass_hz=cutoff, lowpass_order=int(rng.choice([2, 4])),
                      resonances=((cutoff, u(0, 10), u(2, 5)),), attack_s=u(*attack), decay_s=u(0.1, 0.4),
                      sustain=u(0.5, 1.0), release_s=u(*release), vibrato_hz=u(4.5, 6),
                      vibrato_st=u(0.0, 0.15) if name == "synth_lead" else 0.0, chorus_cents=u(*chorus))
    return draw


def _sub_bass(rng: Rng) -> Timbre:
    return Timbre("sub_bass", 24, 48, slope_db_per_oct=-40.0, even_db=rng.uniform(-10, 10), lowpass_hz=400.0,
                  attack_s=0.005, decay_s=0.5, sustain=rng.uniform(0.5, 1.0), release_s=0.1)


def _voice(name: str, low: int, high: int, formant_scale: tuple[float, float], chorus: bool
           ) -> Callable[[Rng], Timbre]:
    """A sung voice: glottal roll-off through the formants of five vowels, a singer's formant, vibrato."""
    def draw(rng: Rng) -> Timbre:
        u = rng.uniform
        return Timbre(name, low, high, slope_db_per_oct=u(-12, -8), velocity_slope_db=6.0,
                      formant_scale=u(*formant_scale), resonances=((u(2700, 3200), u(0, 10), 2.0),),
                      lowpass_hz=u(3500, 10000), lowpass_order=int(rng.choice([2, 3])), highpass_hz=80.0,
                      attack_s=u(0.04, 0.1),
                      decay_s=0.1, sustain=0.9, release_s=0.15, vibrato_hz=u(5.0, 6.2), vibrato_st=u(0.2, 0.8),
                      chorus_cents=u(12, 20) if chorus else 0.0, noise_db=u(-40, -28),
                      noise_band_hz=(2000.0, 9000.0), vowels=len(SUNG_VOWELS_HZ),
                      consonant_db=u(-30, -20) if chorus else u(-16, -4))
    return draw


def _mallet(name: str, low: int, high: int, modes: tuple[tuple[float, float, float], ...],
            t60: tuple[float, float]) -> Callable[[Rng], Timbre]:
    def draw(rng: Rng) -> Timbre:
        return Timbre(name, low, high, slope_db_per_oct=0.0, modes=modes, percussive=True,
                      t60_s=rng.uniform(*t60))
    return draw


FAMILIES: dict[str, Callable[[Rng], Timbre]] = {
    "violin": _bowed("violin", 55, 93, 1.0, False), "viola": _bowed("viola", 48, 84, 0.8, False),
    "cello": _bowed("cello", 36, 76, 0.45, False), "contrabass": _bowed("contrabass", 28, 60, 0.28, False),
    "strings": _bowed("strings", 48, 93, 1.0, True), "low_strings": _bowed("low_strings", 28, 64, 0.4, True),
    "flute": _flute, "clarinet": _clarinet, "oboe": _oboe, "sax": _sax,
    "trumpet": _brass("trumpet", 54, 84, (-5, -2), (3000, 5000), (1100, 1600), 500.0),
    "horn": _brass("horn", 41, 77, (-9, -6), (1500, 2500), (350, 500), 80.0),
    "trombone": _brass("trombone", 40, 72, (-6, -3), (2000, 3200), (480, 700), 100.0),
    "piano": _piano, "epiano": _epiano, "harpsichord": _harpsichord, "harp": _harp, "organ": _organ,
    "guitar_acoustic": _guitar_acoustic, "guitar_electric": _guitar_electric, "guitar_distorted": _guitar_distorted,
    "bass_electric": _bass_electric, "bass_upright": _bass_upright,
    "synth_lead": _synth("synth_lead", 55, 96, (1200, 8000), (0.005, 0.05), (0.05, 0.3), (0, 12)),
    "synth_pad": _synth("synth_pad", 48, 84, (600, 4000), (0.2, 0.8), (0.3, 1.0), (8, 20)),
    "synth_bass": _synth("synth_bass", 28, 55, (200, 1500), (0.003, 0.01), (0.03, 0.1), (0, 0)),
    "sub_bass": _sub_bass,
    "voice_bass": _voice("voice_bass", 40, 62, (0.95, 1.05), False),
    "voice_tenor": _voice("voice_tenor", 48, 69, (1.0, 1.1), False),
    "voice_alto": _voice("voice_alto", 53, 74, (1.1, 1.2), False),
    "voice_soprano": _voice("voice_soprano", 60, 81, (1.15, 1.25), False),
    "choir": _voice("choir", 50, 79, (1.05, 1.2), True),
    "marimba": _mallet("marimba", 45, 96, ((1.0, 0.0, 1.0), (3.9, -8.0, 2.5), (9.2, -18.0, 5.0)), (0.8, 1.5)),
    "vibraphone": _mallet("vibraphone", 53, 89, ((1.0, 0.0, 1.0), (4.0, -10.0, 2.0), (10.0, -20.0, 4.0)), (2, 4)),
    "glockenspiel": _mallet("glockenspiel", 79, 108, ((1.0, 0.0, 1.0), (2.71, -6.0, 1.5), (5.15, -10.0, 2.0)),
                            (1.5, 3)),
    "celesta": _mallet("celesta", 60, 108, ((1.0, 0.0, 1.0), (2.0, -10.0, 2.0), (3.0, -18.0, 3.0)), (0.8, 1.6)),
    "bells": _mallet("bells", 60, 84, ((0.5, -6.0, 0.5), (1.0, 0.0, 1.0), (1.2, -4.0, 1.2), (1.5, -6.0, 1.5),
                                       (2.0, -3.0, 2.0), (2.5, -10.0, 2.5)), (3, 6)),
    "kalimba": _mallet("kalimba", 60, 88, ((1.0, 0.0, 1.0), (5.9, -12.0, 3.0)), (0.6, 1.2)),
}


def draw_timbre(family: str, rng: Rng) -> Timbre:
    """A timbre of ``family`` (a key of ``FAMILIES``) with seeded variety."""
    if family not in FAMILIES:
        raise ValueError(f"unknown instrument family {family!r}; expected one of {sorted(FAMILIES)}")
    return FAMILIES[family](rng)


KIT_KINDS = ("acoustic", "electronic", "jazz", "hand", "orchestral")


def draw_kit(kind: str, rng: Rng) -> DrumKit:
    """A drum kit of ``kind`` (one of ``KIT_KINDS``): pitches, decays, noise bands and piece levels."""
    if kind not in KIT_KINDS:
        raise ValueError(f"unknown kit kind {kind!r}; expected one of {KIT_KINDS}")
    u = rng.uniform
    electronic = kind == "electronic"
    levels = {"kick": u(-2, 2), "snare": u(-4, 0), "clap": u(-4, 0), "hat_closed": u(-15, -3),
              "hat_open": u(-17, -5), "ride": u(-15, -6), "crash": u(-15, -6), "tom_low": u(-6, -2),
              "tom_mid": u(-6, -2), "tom_high": u(-6, -2), "conga_low": u(-4, 0), "conga_high": u(-5, -1),
              "bongo": u(-6, -2), "tabla": u(-5, -1), "shaker": u(-20, -10), "timpani": u(-2, 2)}
    if kind == "jazz":
        levels["kick"] -= 8.0
    return DrumKit(
        kick_hz=u(35, 52) if electronic else u(45, 65), kick_sweep=u(2.5, 5.0) if electronic else u(1.8, 3.0),
        kick_t60_s=u(0.4, 1.2) if electronic else u(0.2, 0.5), kick_click_db=u(-24, -10),
        snare_hz=u(160, 250), snare_t60_s=u(0.15, 0.35), snare_band_hz=(u(600, 2000), u(6000, 14000)),
        hat_hz=u(5000, 9000), hat_closed_s=u(0.05, 0.15), hat_open_s=u(0.3, 0.8),
        cymbal_hz=u(2500, 5000), cymbal_t60_s=u(0.8, 2.5), tom_hz=u(80, 130), hand_hz=u(130, 260),
        levels_db=tuple((k, float(v)) for k, v in levels.items()))
