"""Optional extra speakers from a text-to-speech engine on the system (espeak-ng), never required.

If the ``espeak-ng`` program is installed (Debian: ``apt-get install espeak-ng``), ``NUM_TTS_SPEAKERS``
seeded voices — an English accent, a voice variant (``m1``…, ``f1``…, ``klatt``…), a pitch and a
speaking rate each — read random sentences from a built-in word list. Voices are split disjointly
into train/val/test like the synthesiser's speakers. espeak-ng renders at 22.05 kHz, so these
excerpts hold nothing above 11 kHz after resampling to 44.1 kHz; a high shelf set above ~11 kHz is
invisible in them (a reason they are an option, off by default: ``TrainConfig.tts_share``).

Without the program, :func:`available` is ``False`` and every other call raises :class:`TTSError`
with a one-line reason.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from eqlib.audio import resample
from eqlib.corpus import Clip, clip_excerpts
from eqlib.speech_synth import seeded_splits

ENGINE = "espeak-ng"
NUM_TTS_SPEAKERS = 120
SPLIT_SIZES: dict[str, int] = {"train": 96, "val": 12, "test": 12}
SAMPLE_RATE = 44100
ENGINE_RATE = 22050  # espeak-ng renders at this rate (Hz): its speech holds nothing above ~0.45 × it
_SPLIT_SEED = 20200505
_ACCENTS = ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
             "klatt", "klatt2", "klatt3", "klatt4", "steph", "john", "linda", "max")
_WORDS = ("the of and to in is was that for it with as his on be at by had not are but from or have an they which "
          "one you were her all she there would their we him been has when who will more no if out so said what up "
          "its about into than them can only other new some could time these two may then do first any my now "
          "such like our over man me even most made after also did many before must through back years where much "
          "your way well down should because each just those people how too little state good very make world "
          "still own see men work long get here between both life being under never day same another know while "
          "last might us great old year off come since against go came right used take three morning river "
          "garden window table summer winter music voice letter evening station market village mountain").split()


class TTSError(RuntimeError):
    """The TTS engine is missing or failed; the message is one line."""


@dataclass(frozen=True)
class TTSVoice:
    """One seeded espeak-ng speaker: ``voice`` (accent+variant), ``pitch`` 0–99, ``speed_wpm`` words per minute."""

    speaker_id: int
    voice: str
    pitch: int
    speed_wpm: int

    @staticmethod
    def from_id(speaker_id: int) -> "TTSVoice":
        """The voice of ``speaker_id`` (0 .. NUM_TTS_SPEAKERS-1), derived deterministically."""
        if not 0 <= int(speaker_id) < NUM_TTS_SPEAKERS:
            raise ValueError(f"TTS speaker id {speaker_id} is outside 0..{NUM_TTS_SPEAKERS - 1}")
        rng = np.random.default_rng([3, int(speaker_id)])
        voice = f"{_ACCENTS[rng.integers(len(_ACCENTS))]}+{_VARIANTS[rng.integers(len(_VARIANTS))]}"
        return TTSVoice(int(speaker_id), voice, int(rng.integers(25, 76)), int(rng.integers(135, 186)))


def available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which(ENGINE) is not None


def speaker_ids(split: str) -> list[int]:
    """TTS speaker ids of ``split`` ("train" 96, "val" 12, "test" 12); disjoint and deterministic."""
    if split not in SPLIT_SIZES:
        raise ValueError(f"tts speaker_ids: unknown split {split!r}; expected one of {sorted(SPLIT_SIZES)}")
    return seeded_splits(SPLIT_SIZES, _SPLIT_SEED)[split]


def random_text(num_words: int, rng: np.random.Generator) -> str:
    """``num_words`` words from the built-in list, as sentences of 5–12 words."""
    words, out = [str(w) for w in rng.choice(_WORDS, size=num_words)], []
    while words:
        n = int(rng.integers(5, 13))
        out.append(" ".join(words[:n]).capitalize() + ".")
        words = words[n:]
    return " ".join(out)


def speak(voice: TTSVoice, text: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``text`` read by ``voice``: float32 ``(time,)`` at ``sample_rate`` Hz, the engine's own level."""
    if not available():
        raise TTSError(f"{ENGINE} is not installed (Debian: apt-get install {ENGINE}); TTS voices are optional")
    cmd = [ENGINE, "-v", voice.voice, "-p", str(voice.pitch), "-s", str(voice.speed_wpm), "--stdout", text]
    result = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode(errors="replace").strip().splitlines()
        raise TTSError(f"{ENGINE} failed for voice {voice.voice}: {reason[0] if reason else 'no audio'}")
    audio, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return np.asarray(resample(audio, rate, sample_rate), dtype=np.float32)


def tts_excerpt(speaker_id: int, excerpt_s: float, seed: int, target_lufs: float = -23.0) -> np.ndarray:
    """One ``excerpt_s``-second excerpt of random sentences by TTS speaker ``speaker_id``, at ``target_lufs``.

    Returns float32 ``(time,)`` at 44.1 kHz; the same (speaker, seed) gives the same samples.
    """
    voice = TTSVoice.from_id(speaker_id)
    rng = np.random.default_rng([4, int(speaker_id), int(seed)])
    num_words = int(np.ceil(excerpt_s * voice.speed_wpm / 60 * 1.6)) + 4  # espeak pauses between sentences
    audio = speak(voice, random_text(num_words, rng))
    clip = Clip(audio, SAMPLE_RATE, f"tts:{speaker_id}", Path("tts") / voice.voice)
    excerpts = clip_excerpts(clip, excerpt_s, target_lufs=target_lufs, max_excerpts=1)
    if not excerpts:
        raise TTSError(f"{ENGINE} voice {voice.voice} gave no {excerpt_s:g}-s excerpt above the loudness floor")
    return excerpts[0].audio
