"""Procedural speech synthesiser: unlimited, varied, full-band speech-like training audio (numpy/scipy only).

A source-filter model in the spirit of the Klatt (1980) formant synthesiser, vectorised for speed:

* **Source** (sample rate): Rosenberg-C glottal flow derivative (Rosenberg 1971) with a per-speaker open
  and speed quotient, a natural f0 contour (phrase declination, pitch accents on stressed syllables,
  final fall or rise, slow drift), per-period jitter and shimmer, and pulsed aspiration (breathiness);
  a separate frication noise with sample-accurate onsets for bursts and fricatives.
* **Filter** (23-ms STFT frames, hop 11.6 ms): a cascade of five formant resonators whose frequencies and
  bandwidths move through vowel and consonant targets (Peterson & Barney 1952 male averages, scaled
  by a per-speaker vocal-tract length factor), a nasal pole-zero pair, a closure low-pass for voice
  bars and murmurs, higher-pole correction of a uniform tube and the speaker's glottal spectral tilt;
  made minimum phase by cepstral folding. Fricatives and bursts use place-dependent noise spectra
  (s, sh, f, th; labial, alveolar, velar bursts) reaching 16 kHz.
* **Recording chain** (belongs to the speaker, not an EQ label): a mic high-pass, a smooth random
  tilt and two gentle resonances, early reflections with a short diffuse tail, and what real rooms
  add: a coloured noise floor, low-frequency rumble and, for some speakers, mains hum. Their levels
  were raised to those measured in the pauses of the real-speech corpus (VCTK's floor sits about
  20 dB above a clean synthetic one, and its rumble below 60 Hz about 20 dB higher still).

Each utterance is loudness-normalised to about -23 LUFS (± 3 dB, random) and is peak-safe.
Speaker ids ``0 .. NUM_SPEAKERS-1`` are split disjointly into train/val/test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyloudnorm
import scipy.fft
import scipy.signal
from scipy.ndimage import convolve1d

NUM_SPEAKERS: int = 400
SPLIT_SIZES: dict[str, int] = {"train": 320, "val": 40, "test": 40}
TARGET_LUFS: float = -23.0
TARGET_LUFS_SPREAD_DB: float = 3.0
MIN_SAMPLE_RATE: int = 16000
MAX_DURATION_S: float = 60.0  # frame-wise filtering holds ~10 MB per second in memory

_SPLIT_SEED = 20200504
F0_SPAN_ST = 12.0  # the f0 contour stays within ± this many semitones of the speaker's f0
_F0_LIMITS_HZ = {"male": (80.0, 180.0), "female": (150.0, 290.0), "child": (200.0, 350.0)}
_SPEAKER_TAG = 1
_CONTENT_TAG = 2

# ---------------------------------------------------------------------------------------------
# Phone inventory. Formants F1-F3 in Hz for an adult male vocal tract (vowels: Peterson & Barney
# 1952 averages; consonants: typical loci). Frication "place" indexes the noise spectra below.
# ---------------------------------------------------------------------------------------------
_VOWELS: dict[str, tuple[float, float, float]] = {
    "iy": (270, 2290, 3010), "ih": (390, 1990, 2550), "eh": (530, 1840, 2480), "ae": (660, 1720, 2410),
    "ah": (520, 1190, 2390), "aa": (730, 1090, 2440), "ao": (570, 840, 2410), "uh": (440, 1020, 2240),
    "uw": (300, 870, 2240), "er": (490, 1350, 1690), "ax": (500, 1500, 2500),
}
_DIPHTHONGS: dict[str, tuple[str, str]] = {"ay": ("aa", "iy"), "aw": ("aa", "uw"), "ey": ("eh", "iy"),
                                           "ow": ("ao", "uw"), "oy": ("ao", "iy")}
# Relative frequencies of stressed and unstressed vowels, roughly those of English text.
_STRESSED = {"ih": 15, "iy": 10, "eh": 10, "ae": 10, "ah": 10, "aa": 6, "ao": 5, "uh": 2, "uw": 5, "er": 5,
             "ay": 6, "ey": 6, "ow": 5, "aw": 2, "oy": 1}
_UNSTRESSED = {"ax": 50, "ih": 30, "iy": 10, "er": 10}

# Noise places: index into the speaker's frication/burst spectra.
_S, _SH, _F, _TH, _B_LAB, _B_ALV, _B_VEL = range(7)
_NUM_PLACES = 7

# name: (kind, voiced, F1, F2, F3, place, nasal zero Hz)
_CONSONANTS: dict[str, tuple[str, bool, float, float, float, int, float]] = {
    "p": ("stop", False, 200, 900, 2200, _B_LAB, 0), "b": ("stop", True, 200, 900, 2200, _B_LAB, 0),
    "t": ("stop", False, 200, 1700, 2800, _B_ALV, 0), "d": ("stop", True, 200, 1700, 2800, _B_ALV, 0),
    "k": ("stop", False, 220, 1900, 2250, _B_VEL, 0), "g": ("stop", True, 220, 1900, 2250, _B_VEL, 0),
    "f": ("fric", False, 300, 1100, 2300, _F, 0), "v": ("fric", True, 300, 1100, 2300, _F, 0),
    "th": ("fric", False, 300, 1400, 2700, _TH, 0), "dh": ("fric", True, 300, 1400, 2700, _TH, 0),
    "s": ("fric", False, 300, 1700, 2800, _S, 0), "z": ("fric", True, 300, 1700, 2800, _S, 0),
    "sh": ("fric", False, 300, 1900, 2400, _SH, 0),
    "ch": ("affr", False, 250, 1900, 2400, _SH, 0), "jh": ("affr", True, 250, 1900, 2400, _SH, 0),
    "m": ("nasal", True, 260, 1000, 2200, 0, 1000), "n": ("nasal", True, 260, 1700, 2700, 0, 1800),
    "ng": ("nasal", True, 260, 2000, 2300, 0, 3000),
    "l": ("approx", True, 350, 1000, 2700, 0, 0), "r": ("approx", True, 350, 1100, 1500, 0, 0),
    "w": ("approx", True, 300, 700, 2200, 0, 0), "y": ("approx", True, 280, 2200, 3000, 0, 0),
    "h": ("h", False, np.nan, np.nan, np.nan, 0, 0),
}
_ONSETS = {"t": 12, "d": 7, "n": 8, "s": 9, "r": 7, "l": 7, "k": 7, "m": 7, "dh": 6, "w": 5, "p": 4, "b": 5,
           "h": 5, "f": 4, "v": 2, "g": 3, "sh": 2, "y": 2, "th": 2, "ch": 1.5, "jh": 1.5, "z": 1}
_CODAS = {"n": 18, "t": 14, "d": 10, "s": 10, "z": 8, "r": 4, "l": 7, "m": 6, "k": 5, "ng": 4, "v": 3, "th": 2,
          "f": 2, "p": 2, "sh": 2, "ch": 1, "jh": 1, "b": 1, "g": 1}
_CLUSTERS = [("s", "t"), ("s", "p"), ("s", "k"), ("p", "r"), ("t", "r"), ("k", "r"), ("b", "r"), ("g", "r"),
             ("f", "r"), ("p", "l"), ("k", "l"), ("b", "l"), ("f", "l"), ("s", "l"), ("s", "m"), ("s", "n")]
_CODA_CLUSTERS = [("n", "t"), ("n", "d"), ("s", "t"), ("n", "z"), ("l", "d"), ("k", "s"), ("t", "s"),
                  ("m", "z"), ("n", "s"), ("r", "d")]

# Per-segment parameter columns (control tracks).
_F1, _F2, _F3, _NZ, _CLOSE, _AV, _AH, _AF = range(8)
_PLACE0 = 8
_NUM_COLS = _PLACE0 + _NUM_PLACES

_HIGH_POLES = 40
_NASAL_POLE_HZ = 270.0
_FRAME_S = 0.0232  # analysis frame (1024 samples at 44.1 kHz)


def seeded_splits(sizes: dict[str, int], seed: int) -> dict[str, list[int]]:
    """Ids ``0 .. sum(sizes)-1`` shuffled by ``seed`` and cut, in order, into disjoint sorted splits of ``sizes``."""
    order = np.random.default_rng(seed).permutation(sum(sizes.values()))
    bounds = np.cumsum([0, *sizes.values()])
    return {name: sorted(order[lo:hi].tolist()) for name, lo, hi in zip(sizes, bounds[:-1], bounds[1:])}


def speaker_ids(split: str) -> list[int]:
    """Speaker ids of ``split`` ("train" 320, "val" 40, "test" 40 speakers); disjoint and deterministic."""
    if split not in SPLIT_SIZES:
        raise ValueError(f"speaker_ids: unknown split {split!r}; expected one of {sorted(SPLIT_SIZES)}")
    return seeded_splits(SPLIT_SIZES, _SPLIT_SEED)[split]


def _check_speaker_id(speaker_id: int) -> int:
    if isinstance(speaker_id, bool) or not isinstance(speaker_id, (int, np.integer)):
        raise TypeError(f"speaker id must be an int, got {type(speaker_id).__name__}")
    if not 0 <= int(speaker_id) < NUM_SPEAKERS:
        raise ValueError(f"speaker id {speaker_id} is outside 0..{NUM_SPEAKERS - 1}")
    return int(speaker_id)


@dataclass(frozen=True)
class Speaker:
    """A synthetic voice and its recording chain, all derived from ``speaker_id`` by a seeded RNG.

    Frequencies in Hz, levels in dB, times in s. ``formant_scale`` multiplies all formants (inverse
    vocal-tract length: ~1.0 adult male, ~1.17 female, ~1.35 child).
    """

    speaker_id: int
    voice_class: str  # "male", "female" or "child"
    f0_hz: float
    f0_range_st: float  # size of pitch accents, semitones
    formant_scale: float
    formant_jitter: tuple[float, float, float]  # idiosyncratic F1-F3 multipliers
    bandwidth_scale: float
    open_quotient: float
    speed_quotient: float
    tilt_corner_hz: float  # glottal return-phase corner: extra -6 dB/oct above it
    breathiness_db: float  # aspiration level during voicing re the voiced source
    jitter: float  # relative period perturbation (std)
    shimmer: float  # relative amplitude perturbation (std)
    syllable_rate_hz: float
    sibilant_hz: float  # /s/ spectral peak
    fricative_db: float  # frication level offset
    # recording chain
    highpass_hz: float
    proximity_db: float  # close-mic low boost below ~200 Hz
    chain_tilt_db_per_oct: float
    chain_peaks: tuple[tuple[float, float, float], ...]  # (freq Hz, gain dB, Q)
    lowpass_hz: float
    reflections: tuple[tuple[float, float], ...]  # (delay s, gain linear)
    rt60_s: float
    reverb_db: float  # diffuse tail level re direct sound
    noise_floor_db: float  # broadband noise level re the speech loudness
    noise_tilt_db_per_oct: float
    rumble_hz: float  # corner of the low-frequency rumble (handling, ventilation, traffic)
    rumble_db: float  # rumble level re the speech loudness
    hum_hz: float  # mains frequency, 50 or 60 Hz
    hum_db: float  # mains hum level re the speech loudness (-inf: none)

    @staticmethod
    def from_id(speaker_id: int) -> "Speaker":
        """Derive the voice and recording chain of ``speaker_id`` (0 .. NUM_SPEAKERS-1) deterministically."""
        sid = _check_speaker_id(speaker_id)
        rng = np.random.default_rng([_SPEAKER_TAG, sid])
        u = rng.uniform
        voice_class = str(rng.choice(["male", "female", "child"], p=[0.46, 0.46, 0.08]))
        if voice_class == "male":
            f0, scale, oq = 122 * np.exp(rng.normal(0, 0.18)), u(0.93, 1.07), u(0.5, 0.75)
        elif voice_class == "female":
            f0, scale, oq = 200 * np.exp(rng.normal(0, 0.15)), u(1.10, 1.24), u(0.6, 0.85)
        else:
            f0, scale, oq = 265 * np.exp(rng.normal(0, 0.10)), u(1.28, 1.42), u(0.6, 0.85)
        f0 = float(np.clip(f0, *_F0_LIMITS_HZ[voice_class]))
        breath = u(-32, -14) + (4.0 if voice_class != "male" else 0.0)
        peaks = tuple((float(np.exp(u(np.log(150), np.log(12000)))), float(u(-3, 3)), float(u(0.7, 2.5)))
                      for _ in range(2))
        n_refl = int(rng.integers(1, 5))
        reflections = tuple((float(u(0.001, 0.015)), float(u(0.05, 0.35) * rng.choice([-1, 1])))
                            for _ in range(n_refl))
        return Speaker(
            speaker_id=sid, voice_class=voice_class, f0_hz=f0, f0_range_st=float(u(2.0, 7.0)),
            formant_scale=float(scale), formant_jitter=tuple(float(v) for v in np.exp(rng.normal(0, 0.04, 3))),
            bandwidth_scale=float(u(0.8, 1.3)), open_quotient=float(oq), speed_quotient=float(u(3.0, 5.0)),
            tilt_corner_hz=float(np.exp(u(np.log(4000), np.log(14000)))), breathiness_db=float(breath),
            jitter=float(u(0.003, 0.015)), shimmer=float(u(0.02, 0.08)), syllable_rate_hz=float(u(3.8, 5.5)),
            sibilant_hz=float(u(4000, 6300) * (1.0 if voice_class == "male" else 1.12)),
            fricative_db=float(u(-4, 3)), highpass_hz=float(u(20, 70)), proximity_db=float(u(1.0, 12.0)),
            chain_tilt_db_per_oct=float(u(-1.5, 1.5)), chain_peaks=peaks, lowpass_hz=float(u(12000, 22000)),
            reflections=reflections, rt60_s=float(u(0.08, 0.4)), reverb_db=float(u(-30, -14)),
            noise_floor_db=float(u(-66, -44)), noise_tilt_db_per_oct=float(u(-4.0, 0.0)),
            rumble_hz=float(np.exp(u(np.log(30), np.log(150)))), rumble_db=float(u(-48, -20)),
            hum_hz=float(rng.choice([50.0, 60.0])), hum_db=float(u(-66, -40) if rng.random() < 0.3 else -np.inf),
        )


# ---------------------------------------------------------------------------------------------
# Content: phone segments, their parameter targets and the f0 contour.
# ---------------------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, table: dict[str, float]) -> str:
    names = list(table)
    p = np.array([table[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


class _Score:
    """Accumulates segments (duration s, parameter row) and pitch accents (time s, height st)."""

    def __init__(self) -> None:
        self.durs: list[float] = []
        self.rows: list[np.ndarray] = []
        self.accents: list[tuple[float, float]] = []
        self.phrases: list[tuple[float, float, bool]] = []  # (start s, end s, question)
        self.time = 0.0

    def add(self, dur_s: float, formants=(np.nan, np.nan, np.nan), nasal_zero: float = 0.0, close: float = 0.0,
            av: float = 0.0, ah: float = 0.0, af: float = 0.0, place: int | None = None) -> None:
        row = np.zeros(_NUM_COLS)
        row[_F1:_F3 + 1] = formants
        row[_NZ], row[_CLOSE], row[_AV], row[_AH], row[_AF] = nasal_zero, close, av, ah, af
        if place is not None:
            row[_PLACE0 + place] = 1.0
        self.durs.append(dur_s)
        self.rows.append(row)
        self.time += dur_s

    def pause(self, dur_s: float) -> None:
        self.add(dur_s)


def _add_consonant(score: _Score, name: str, rng: np.random.Generator, tempo: float, fric_gain: float,
                   onset: bool, stressed: bool) -> None:
    kind, voiced, f1, f2, f3, place, zero = _CONSONANTS[name]
    fm = (f1, f2, f3)
    u = rng.uniform
    if kind in ("stop", "affr"):
        score.add(u(0.04, 0.075) * tempo, fm, close=1.0, av=0.25 if voiced else 0.0)
        if not onset and kind == "stop" and rng.random() < 0.3:
            return  # unreleased coda stop
        burst_place = place if kind == "stop" else _B_ALV
        score.add(u(0.005, 0.012), fm, af=0.9 * fric_gain, place=burst_place)
        if kind == "affr":
            score.add(u(0.05, 0.09) * tempo, fm, af=0.75 * fric_gain, av=0.4 if voiced else 0.0, place=_SH)
        elif not voiced:
            vot = u(0.035, 0.07) if (onset and stressed) else u(0.01, 0.025)
            score.add(vot * tempo, (np.nan, np.nan, np.nan), ah=0.35, af=0.12 * fric_gain, place=burst_place)
    elif kind == "fric":
        level = {_S: 1.0, _SH: 0.9, _F: 0.35, _TH: 0.3}[place] * fric_gain
        dur = (u(0.08, 0.13) if place in (_S, _SH) else u(0.06, 0.1)) * tempo
        score.add(dur, fm, av=0.45 if voiced else 0.0, af=level * (0.6 if voiced else 1.0), place=place)
    elif kind == "nasal":
        score.add(u(0.05, 0.09) * tempo, fm, nasal_zero=zero, close=0.8, av=0.9)
    elif kind == "approx":
        score.add(u(0.04, 0.075) * tempo, fm, av=0.8)
    else:  # h: formants of the next vowel (NaN filled forward later)
        score.add(u(0.05, 0.08) * tempo, ah=0.45)


def _add_vowel(score: _Score, rng: np.random.Generator, tempo: float, stressed: bool, accent_st: float) -> None:
    name = _pick(rng, _STRESSED if stressed else _UNSTRESSED)
    dur = (rng.uniform(0.1, 0.2) if stressed else rng.uniform(0.045, 0.085)) * tempo
    start = score.time
    level = 1.0 if stressed else 0.6
    if name in _DIPHTHONGS:
        a, b = _DIPHTHONGS[name]
        score.add(dur * 0.55, _VOWELS[a], av=level)
        score.add(dur * 0.45, _VOWELS[b], av=level * 0.9)
    else:
        score.add(dur, _VOWELS[name], av=level)
    if accent_st:
        score.accents.append((start + dur * 0.4, accent_st))


def _compose(speaker: Speaker, duration_s: float, rng: np.random.Generator) -> _Score:
    """Phrases of words of syllables until ``duration_s`` is filled."""
    score = _Score()
    score.pause(rng.uniform(0.02, 0.3))
    fric_gain = 10 ** (speaker.fricative_db / 20)
    while score.time < duration_s + 0.1:
        phrase_start = score.time
        tempo = (3.6 / speaker.syllable_rate_hz) * np.exp(rng.normal(0, 0.08))
        n_words = int(rng.integers(2, 8))
        for w in range(n_words):
            n_syll = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
            stress_at = 0 if rng.random() < 0.7 else int(rng.integers(n_syll))
            for s in range(n_syll):
                stressed = s == stress_at and (n_syll > 1 or rng.random() < 0.75)
                r = rng.random()
                onset = [] if r < 0.25 else (list(_CLUSTERS[rng.integers(len(_CLUSTERS))]) if r > 0.87
                                             else [_pick(rng, _ONSETS)])
                for c in onset:
                    _add_consonant(score, c, rng, tempo, fric_gain, True, stressed)
                accent = speaker.f0_range_st * rng.uniform(0.4, 1.2) if stressed and rng.random() < 0.55 else 0.0
                _add_vowel(score, rng, tempo, stressed, accent)
                r = rng.random()
                coda = [] if r < 0.45 else (list(_CODA_CLUSTERS[rng.integers(len(_CODA_CLUSTERS))]) if r > 0.9
                                            else [_pick(rng, _CODAS)])
                for c in coda:
                    _add_consonant(score, c, rng, tempo, fric_gain, False, stressed)
            if w < n_words - 1 and rng.random() < 0.15:
                score.pause(rng.uniform(0.02, 0.08))
        score.phrases.append((phrase_start, score.time, bool(rng.random() < 0.15)))
        score.pause(rng.uniform(0.15, 0.6))
    return score


def _f0_contour(speaker: Speaker, score: _Score, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """f0 in Hz at times ``t`` (s): declination, accents, final fall/rise and slow drift."""
    st = np.zeros_like(t)
    for start, end, question in score.phrases:
        inside = (t >= start - 0.05) & (t < end + 0.3)
        # clipped: the 0.3 s after a phrase holds its final pitch (an unclipped bend explodes on short phrases)
        rel = np.clip((t[inside] - start) / max(end - start, 1e-3), 0.0, 1.0)
        onset_st = rng.uniform(1.0, 3.5)
        st[inside] = onset_st - rng.uniform(2.0, 5.0) * rel
        final = rel > 0.75
        bend = rng.uniform(3.0, 6.0) if question else -rng.uniform(1.0, 4.0)
        st[inside] += np.where(final, bend * ((rel - 0.75) / 0.25) ** 2, 0.0)
    for centre, height in score.accents:
        st += height * np.exp(-0.5 * ((t - centre) / 0.07) ** 2)
    drift = np.cumsum(rng.normal(0, 1, t.size))
    drift = convolve1d(drift - drift.mean(), np.hanning(81) / np.hanning(81).sum(), mode="nearest")
    st += 0.6 * drift / (np.std(drift) + 1e-9)
    return speaker.f0_hz * 2 ** (np.clip(st, -F0_SPAN_ST, F0_SPAN_ST) / 12)


def _fill_formants(col: np.ndarray, default: float) -> np.ndarray:
    """Segments without formant targets (h, aspiration, pauses) take the next segment's, else the last one's."""
    valid = ~np.isnan(col)
    if not valid.any():
        return np.full_like(col, default)
    idx = np.arange(col.size)
    nxt = np.minimum.accumulate(np.where(valid, idx, col.size)[::-1])[::-1]
    prv = np.maximum.accumulate(np.where(valid, idx, -1))
    return col[np.where(nxt < col.size, nxt, prv)]


def _tracks(speaker: Speaker, score: _Score, t: np.ndarray, ctrl_dt: float) -> np.ndarray:
    """Per-control-point parameters ``(len(t), cols)``: segment targets smoothed per kind of parameter."""
    rows = np.array(score.rows)
    for c in (_F1, _F2, _F3):
        rows[:, c] = _fill_formants(rows[:, c], _VOWELS["ax"][c - _F1])
    edges = np.cumsum(score.durs)
    seg = np.minimum(np.searchsorted(edges, t, side="right"), len(rows) - 1)
    x = rows[seg]
    x[:, _F1:_F3 + 1] *= speaker.formant_scale * np.array(speaker.formant_jitter)
    # outside nasals the zero sits on the nasal pole and cancels it; smoothing then sweeps it into place
    x[:, _NZ] = np.where(x[:, _NZ] > 0, x[:, _NZ], _NASAL_POLE_HZ) * speaker.formant_scale

    def smooth(cols: slice | list[int], width_s: float) -> None:
        n = max(int(round(width_s / ctrl_dt)), 1) | 1
        k = np.hanning(n + 2)[1:-1]
        x[:, cols] = convolve1d(x[:, cols], k / k.sum(), axis=0, mode="nearest")

    smooth(slice(_F1, _F3 + 1), 0.07)
    smooth([_NZ, _CLOSE], 0.02)
    smooth(slice(_AV, _AF + 1), 0.006)
    smooth(slice(_PLACE0, _NUM_COLS), 0.012)
    return x


# ---------------------------------------------------------------------------------------------
# Spectral shapes (log-magnitude, natural log) on a frequency grid.
# ---------------------------------------------------------------------------------------------
def _log_resonance(f: np.ndarray, freq: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """ln|H| of an analog two-pole resonance with unity gain at DC (Klatt 1980 resonator magnitude)."""
    b2 = (0.5 * bw) ** 2
    return np.log(freq * freq + b2) - 0.5 * np.log(((f - freq) ** 2 + b2) * ((f + freq) ** 2 + b2))


def _log_peak(f: np.ndarray, freq: float, gain_db: float, q: float) -> np.ndarray:
    """ln-gain of a smooth bell on a log-frequency axis (a mic/room colouration)."""
    width_oct = 1.0 / q
    return gain_db / 20 * np.log(10) * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / freq) / (0.5 * width_oct)) ** 2)


def _static_voiced_log(speaker: Speaker, f: np.ndarray) -> np.ndarray:
    """Speaker constant part of the voiced path: higher poles of the tract and the glottal tilt.

    The five moving formants are the first poles of a tract whose further poles sit near those of a
    uniform tube, ``(2k-1) 500 Hz`` scaled; poles 6..40 are cascaded here and the rest by their
    low-frequency limit ``sum (f/F_k)^2``. Without them the cascade falls 60 dB/oct above F5.
    """
    scale = speaker.formant_scale
    k = np.arange(6, _HIGH_POLES + 1)
    poles = (2 * k - 1) * 500.0 * scale
    out = np.zeros_like(f)
    for p in poles:
        out += _log_resonance(f, np.float32(p), np.float32(0.04 * p + 100))
    tail = np.sum(1.0 / (2 * np.arange(_HIGH_POLES + 1, 4 * _HIGH_POLES) - 1.0) ** 2)
    out += tail * (f / (500.0 * scale)) ** 2
    out -= 0.5 * np.log1p((f / speaker.tilt_corner_hz) ** 2)
    return out


def _chain_log(speaker: Speaker, f: np.ndarray) -> np.ndarray:
    """Recording chain magnitude (ln): mic high-pass, proximity boost, smooth tilt, two bells, top roll-off."""
    fx = np.maximum(f, 1.0)
    out = -0.5 * np.log1p((speaker.highpass_hz / fx) ** 4)
    out += speaker.proximity_db / 20 * np.log(10) / (1 + (fx / 250.0) ** 2)
    out += speaker.chain_tilt_db_per_oct / 20 * np.log(10) * np.log2(fx / 1000.0) / (1 + (300.0 / fx) ** 2)
    for freq, gain_db, q in speaker.chain_peaks:
        out += _log_peak(f, freq, gain_db, q)
    out -= 0.5 * np.log1p((f / speaker.lowpass_hz) ** 4)  # 12 dB/oct mic/converter top roll-off
    return out


def _noise_spectra(speaker: Speaker, f: np.ndarray) -> np.ndarray:
    """Power spectra of the frication and burst sources, 0 dB at their peak ``(places, bins)``."""
    fx = np.maximum(f, 1.0)
    fs_ = speaker.sibilant_hz
    fsh = 2700.0 * speaker.formant_scale
    shapes = np.empty((_NUM_PLACES, f.size))
    # /s/: resonance at the sibilant peak, steep below ~0.6 fs, slow fall to 16 kHz and above
    shapes[_S] = 2 * _log_resonance(f, fs_, 0.7 * fs_) - np.log1p((0.55 * fs_ / fx) ** 6) \
        - 0.2 * np.log1p((fx / (2.2 * fs_)) ** 2)
    shapes[_SH] = 2 * _log_resonance(f, fsh, 0.6 * fsh) - np.log1p((0.6 * fsh / fx) ** 6) \
        - 0.45 * np.log1p((fx / (2.5 * fsh)) ** 2)
    shapes[_F] = -np.log1p((1200.0 / fx) ** 2) - 0.15 * np.log1p((fx / 9000.0) ** 2)
    shapes[_TH] = -np.log1p((1800.0 / fx) ** 2) - 0.15 * np.log1p((fx / 10000.0) ** 2)
    shapes[_B_LAB] = -np.log1p((fx / 1500.0) ** 2) * 0.7 - np.log1p((250.0 / fx) ** 2)
    shapes[_B_ALV] = -np.log1p((3500.0 * speaker.formant_scale / fx) ** 4) - 0.3 * np.log1p((fx / 9000.0) ** 2)
    fv = 1900.0 * speaker.formant_scale
    shapes[_B_VEL] = 2 * _log_resonance(f, fv, 700.0) - np.log1p((800.0 / fx) ** 4) \
        - 0.5 * np.log1p((fx / 5000.0) ** 2)
    shapes -= shapes.max(axis=1, keepdims=True)
    return np.exp(shapes)


# ---------------------------------------------------------------------------------------------
# Source signals (sample rate).
# ---------------------------------------------------------------------------------------------
def _glottal_source(speaker: Speaker, f0: np.ndarray, sample_rate: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Rosenberg-C flow derivative with jitter and shimmer, and the flow itself (0..1), both ``(time,)``."""
    phase0 = np.cumsum(f0 / sample_rate)
    n_periods = int(phase0[-1]) + 2
    jit = 1.0 + speaker.jitter * rng.standard_normal(n_periods)
    phase = np.cumsum(f0 * jit[phase0.astype(np.int64)] / sample_rate)
    k = phase.astype(np.int64)
    theta = phase - k
    tp = speaker.open_quotient * speaker.speed_quotient / (1 + speaker.speed_quotient)
    tn = speaker.open_quotient - tp
    theta = theta.astype(np.float32)
    opening = theta < tp
    # one trigonometric argument for both phases: pi theta/tp opening, pi/2 (theta-tp)/tn closing
    arg = np.where(opening, np.float32(np.pi / tp) * theta,
                   np.minimum(np.float32(0.5 * np.pi / tn) * (theta - np.float32(tp)), np.float32(0.5 * np.pi)))
    sin, cos = np.sin(arg), np.cos(arg)
    flow = np.where(opening, np.float32(0.5) * (1 - cos), cos)
    dflow = np.where(opening, np.float32(0.5 * np.pi / tp) * sin,
                     np.where(theta < tp + tn, np.float32(-0.5 * np.pi / tn) * sin, np.float32(0.0)))
    shim = np.exp(speaker.shimmer * rng.standard_normal(n_periods))[np.minimum(k, n_periods - 1)]
    # per-pulse energy independent of f0, so voiced power does not grow with pitch
    dflow *= (shim * np.sqrt(120.0 / f0) * (tn / 0.25)).astype(np.float32)
    return dflow, flow


# ---------------------------------------------------------------------------------------------
# Synthesis.
# ---------------------------------------------------------------------------------------------
def _frame_length(sample_rate: int) -> int:
    return int(2 ** round(np.log2(_FRAME_S * sample_rate)))


def _stft_frames(x: np.ndarray, frame: int, hop: int, n_fft: int, window: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop]
    return scipy.fft.rfft(frames * window, n=n_fft, axis=-1, workers=1)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    k, n = frames.shape
    per = n // hop
    out = np.zeros((k + per - 1) * hop, dtype=frames.dtype)
    for j in range(per):
        out[j * hop:j * hop + k * hop] += frames[:, j * hop:(j + 1) * hop].reshape(-1)
    return out


def _minimum_phase(log_mag: np.ndarray, n_fft: int) -> np.ndarray:
    """Minimum-phase spectrum with magnitude ``exp(log_mag)`` by cepstral folding ``(frames, bins)``."""
    cep = scipy.fft.irfft(log_mag, n=n_fft, axis=-1, workers=1)
    half = n_fft // 2
    cep[:, 1:half] *= 2
    cep[:, half + 1:] = 0
    spec = scipy.fft.rfft(cep, axis=-1, workers=1)
    # exp of a complex array is slow in numpy; split into magnitude and phase
    return np.exp(spec.real) * (np.cos(spec.imag) + 1j * np.sin(spec.imag)).astype(np.complex64)


def _room(speaker: Speaker, x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Early reflections plus a short exponentially decaying diffuse tail (speaker's room)."""
    n_tail = int(speaker.rt60_s * sample_rate)
    ir = np.zeros(n_tail, dtype=np.float32)
    ir[0] = 1.0
    for delay, gain in speaker.reflections:
        ir[int(delay * sample_rate)] += gain
    tail = rng.standard_normal(n_tail).astype(np.float32)
    tail *= np.exp(-6.91 * np.arange(n_tail) / n_tail).astype(np.float32)
    start = int(0.005 * sample_rate)
    tail[:start] = 0.0
    tail *= 10 ** (speaker.reverb_db / 20) / np.sqrt(np.sum(tail ** 2) + 1e-12)
    ir += tail
    y = scipy.signal.oaconvolve(x, ir)[:x.size]
    return y.astype(np.float32)


def _check_args(duration_s: float, seed: int, sample_rate: int) -> None:
    if not np.isfinite(duration_s) or not 0.1 <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be between 0.1 and {MAX_DURATION_S:g} s, got {duration_s}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not MIN_SAMPLE_RATE <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be an int between {MIN_SAMPLE_RATE} and 192000 Hz, got {sample_rate!r}")


def _voiced_log_envelope(speaker: Speaker, p: np.ndarray, f: np.ndarray) -> np.ndarray:
    """ln-magnitude of the voiced path per frame ``(frames, bins)`` from frame parameters ``p``.

    Five cascaded formants, the nasal pole-zero pair (cancelling outside nasals, as in Klatt 1980),
    the closure low-pass of voice bars and murmurs, and the speaker's static tract/tilt/chain terms.
    """
    n_frames = p.shape[0]
    scale = speaker.formant_scale
    formants = np.concatenate([p[:, _F1:_F3 + 1], np.full((n_frames, 2), 1.0, np.float32)
                               * np.float32([3400 * scale, 4400 * scale])], axis=1)
    bw = np.float32(speaker.bandwidth_scale) * np.stack(
        [60 + 0.08 * formants[:, 0], 60 + 0.03 * formants[:, 1], 120 + 0.03 * formants[:, 2],
         np.full(n_frames, 250.0), np.full(n_frames, 300.0)], axis=1).astype(np.float32)
    static = (_static_voiced_log(speaker, f) + _chain_log(speaker, f)).astype(np.float32)
    log_v = np.broadcast_to(static, (n_frames, f.size)).copy()
    for i in range(5):
        log_v += _log_resonance(f, formants[:, i:i + 1], bw[:, i:i + 1])
    nasal_bw = np.float32(100.0)
    log_v += _log_resonance(f, np.float32(_NASAL_POLE_HZ * scale), nasal_bw) \
        - _log_resonance(f, p[:, _NZ:_NZ + 1], nasal_bw)
    close = p[:, _CLOSE:_CLOSE + 1]
    log_v += np.log((1 - close) + close / (1 + (f / np.float32(350.0)) ** 2) + 1e-4)
    return log_v


def synthesize(speaker_id: int, duration_s: float, seed: int, sample_rate: int = 44100) -> np.ndarray:
    """Synthesise ``duration_s`` seconds of speech by speaker ``speaker_id``; content chosen by ``seed``.

    Returns float32 ``(time,)`` with ``time = round(duration_s * sample_rate)``, |x| ≤ 1, integrated
    loudness about -23 LUFS ± 3 dB (random per utterance). Same (speaker, seed, duration, rate) →
    identical samples.
    """
    speaker = Speaker.from_id(speaker_id)
    _check_args(duration_s, seed, sample_rate)
    rng = np.random.default_rng([_CONTENT_TAG, speaker.speaker_id, int(seed)])
    n = int(round(duration_s * sample_rate))
    frame = _frame_length(sample_rate)
    hop, n_fft = frame // 2, 2 * frame
    ctrl_hop = frame // 16
    ctrl_dt = ctrl_hop / sample_rate

    score = _compose(speaker, duration_s, rng)
    n_ctrl = n // ctrl_hop + 3
    t_ctrl = np.arange(n_ctrl) * ctrl_dt
    params = _tracks(speaker, score, t_ctrl, ctrl_dt)
    f0_ctrl = _f0_contour(speaker, score, t_ctrl, rng)

    # --- sources at the sample rate, padded by one frame on each side
    t = np.arange(n) / sample_rate
    f0 = np.interp(t, t_ctrl, f0_ctrl)
    av = np.interp(t, t_ctrl, params[:, _AV])
    ah = np.interp(t, t_ctrl, params[:, _AH])
    af = np.interp(t, t_ctrl, params[:, _AF])
    dflow, flow = _glottal_source(speaker, f0, sample_rate, rng)
    noise = rng.standard_normal((2, n))
    breath = 10 ** (speaker.breathiness_db / 20) * av * (0.35 + flow)
    voiced = av * dflow + (0.25 * ah + breath) * noise[0]
    fric = af * noise[1] * 2.0
    pad = np.zeros(frame, dtype=np.float32)
    window = np.hanning(frame + 1)[:-1].astype(np.float32)
    v_spec = _stft_frames(np.concatenate([pad, voiced.astype(np.float32), pad]), frame, hop, n_fft, window)
    n_spec = _stft_frames(np.concatenate([pad, fric.astype(np.float32), pad]), frame, hop, n_fft, window)
    n_frames = v_spec.shape[0]

    # --- per-frame filters
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate).astype(np.float32)
    centres = (np.arange(n_frames) * hop + frame / 2 - frame) / sample_rate
    p = np.stack([np.interp(centres, t_ctrl, params[:, c]) for c in range(_NUM_COLS)], axis=1).astype(np.float32)
    log_v = _voiced_log_envelope(speaker, p, f)
    h_v = _minimum_phase(log_v, n_fft)
    noise_pow = np.maximum(p[:, _PLACE0:], 0.0) @ _noise_spectra(speaker, f).astype(np.float32)
    h_n = np.sqrt(noise_pow) * np.exp(_chain_log(speaker, f)).astype(np.float32)

    out = _overlap_add(scipy.fft.irfft(v_spec * h_v + n_spec * h_n, n=n_fft, axis=-1, workers=1), hop)
    speech = out[frame:frame + n]  # periodic Hann at 50 % overlap sums to 1
    speech = _room(speaker, speech, sample_rate, rng)
    return _normalise(speaker, speech, sample_rate, rng)


def _normalise(speaker: Speaker, speech: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Scale to the random target loudness, add the speaker's noise floor, rumble and hum, keep |x| ≤ 1."""
    target = TARGET_LUFS + rng.uniform(-TARGET_LUFS_SPREAD_DB, TARGET_LUFS_SPREAD_DB)
    x64 = speech.astype(np.float64)
    level = pyloudnorm.Meter(sample_rate).integrated_loudness(x64) if x64.size >= 0.4 * sample_rate else -np.inf
    if not np.isfinite(level):
        level = 10 * np.log10(np.mean(x64 ** 2) + 1e-20) - 0.691
    x64 *= 10 ** ((target - level) / 20)
    x64 += _room_noise(speaker, x64.size, sample_rate, target, rng)
    peak = np.max(np.abs(x64))
    if peak > 0.99:
        x64 *= 0.99 / peak
    return x64.astype(np.float32)


def _scaled(noise: np.ndarray, level_db: float) -> np.ndarray:
    return noise * (10 ** (level_db / 20) / (np.std(noise) + 1e-12))


def _room_noise(speaker: Speaker, num_samples: int, sample_rate: int, target_db: float,
                rng: np.random.Generator) -> np.ndarray:
    """The speaker's stationary background ``(time,)``: coloured floor + rumble + hum, levels re ``target_db``."""
    floor = rng.standard_normal(num_samples)
    if speaker.noise_tilt_db_per_oct:
        # one-pole low-pass tilts the floor from white towards pink/brown
        coef = float(np.clip(-speaker.noise_tilt_db_per_oct / 6.0, 0, 0.95))
        floor = scipy.signal.lfilter([1.0], [1.0, -coef], floor)
    out = _scaled(floor, target_db + speaker.noise_floor_db)
    sos = scipy.signal.butter(2, speaker.rumble_hz, btype="low", fs=sample_rate, output="sos")
    out += _scaled(scipy.signal.sosfilt(sos, rng.standard_normal(num_samples)), target_db + speaker.rumble_db)
    if np.isfinite(speaker.hum_db):
        t = np.arange(num_samples) / sample_rate
        phases = rng.uniform(0, 2 * np.pi, 5)
        hum = sum(np.sin(2 * np.pi * k * speaker.hum_hz * t + phases[k - 1]) / k for k in range(1, 6))
        out += _scaled(hum, target_db + speaker.hum_db)
    return out


def synthesize_batch(speaker_ids: Sequence[int], seeds: Sequence[int], duration_s: float,
                     sample_rate: int = 44100) -> np.ndarray:
    """Synthesise one utterance per (speaker, seed) pair: float32 ``(batch, time)``."""
    if len(speaker_ids) != len(seeds):
        raise ValueError(f"synthesize_batch: {len(speaker_ids)} speaker ids but {len(seeds)} seeds")
    if len(seeds) == 0:
        raise ValueError("synthesize_batch: empty batch")
    return np.stack([synthesize(s, duration_s, seed, sample_rate) for s, seed in zip(speaker_ids, seeds)])
