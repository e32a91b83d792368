"""Any folder tree of WAV/FLAC speech or music as speaker-disjoint splits of loudness-normalised excerpts.

Works on VCTK, DAPS, LibriSpeech and the shared ``real-speech`` corpus with their layouts unchanged:
the speaker is a folder level (or a function of the relative path), files are mixed to mono (mid),
resampled to 44.1 kHz, cut into non-overlapping excerpts that avoid silence (chosen by frame energy),
excerpts quieter than ``min_lufs`` are dropped and the rest normalised to ``target_lufs``
(ITU-R BS.1770 via pyloudnorm). Splits are speaker-disjoint, decided by a stable SHA-256 hash of the
speaker (or group) name, and speakers or groups can be pinned to a split. Bad files are skipped
with one logged line each, never raised deep inside training.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from eqlib.audio import AudioError, check_audio, loudness_lufs, read_audio, resample
from eqlib.runtime import shared_corpora_dir

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
AUDIO_SUFFIXES = (".wav", ".flac")
FRAME_S = 0.05  # energy frame for choosing excerpts (s)
ACTIVE_DB = 40.0  # a frame is active if within this many dB of the clip's loudest frame
MIN_ACTIVE_FRACTION = 0.6  # an excerpt needs at least this share of active frames
PROGRESS_MIN_FILES = 20  # show a tqdm bar when loading at least this many files


class CorpusError(ValueError):
    """A corpus cannot be used at all (missing folder, no audio, an empty split, a bad option)."""


@dataclass(frozen=True)
class Clip:
    """A whole file: mono float32 ``(time,)`` at ``sample_rate`` Hz, original level; ``source_rate`` is the file's
    own rate (Hz) before resampling (content above ``0.45 · source_rate`` is missing, not silent)."""

    audio: np.ndarray
    sample_rate: int
    speaker: str
    path: Path
    source_rate: int | None = None


@dataclass(frozen=True)
class Excerpt:
    """A loudness-normalised excerpt: float32 ``(time,)``; ``start`` in samples of the resampled clip."""

    audio: np.ndarray
    sample_rate: int
    speaker: str
    path: Path
    start: int
    loudness_lufs: float  # before normalisation
    source_rate: int | None = None  # the file's own rate (Hz), when it was resampled

    @property
    def bandwidth_hz(self) -> float:
        """Highest frequency (Hz) the excerpt holds: ``0.45 ×`` the rate it was recorded at."""
        return 0.45 * (self.source_rate or self.sample_rate)

    @property
    def key(self) -> str:
        """A stable identifier: ``path@start``."""
        return f"{self.path}@{self.start}"


def stable_fraction(name: str, salt: str = "eqlib") -> float:
    """A number in [0, 1) fixed by ``name`` (SHA-256; unlike ``hash()`` it is the same in every process)."""
    digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def find_audio_files(root: Path) -> list[Path]:
    """All WAV/FLAC files below ``root`` (any letter case), sorted."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def active_frames(x: np.ndarray, sample_rate: int, active_db: float = ACTIVE_DB) -> np.ndarray:
    """Boolean ``(frames,)``: frames of ``FRAME_S`` whose energy is within ``active_db`` dB of the loudest."""
    hop = max(1, int(round(FRAME_S * sample_rate)))
    n = x.size // hop
    energy = np.square(x[: n * hop].astype(np.float64)).reshape(n, hop).mean(axis=1)
    peak = energy.max() if n else 0.0
    if peak <= 0:
        return np.zeros(n, dtype=bool)
    return energy >= peak * 10 ** (-active_db / 10)


def choose_starts(x: np.ndarray, sample_rate: int, num_samples: int, max_excerpts: int | None = None) -> list[int]:
    """Starts (samples) of non-overlapping windows of ``num_samples`` that are mostly active, best first.

    Greedy: take the window with the most active frames, remove its span, repeat while a window with
    at least ``MIN_ACTIVE_FRACTION`` active frames remains. Returned sorted by start.
    """
    hop = max(1, int(round(FRAME_S * sample_rate)))
    active = active_frames(x, sample_rate).astype(np.float64)
    win = num_samples // hop
    if x.size < num_samples or win == 0 or active.size < win:
        return []
    counts = np.convolve(active, np.ones(win), "valid")  # active frames in the window starting at frame i
    starts_f = np.arange(counts.size)
    valid = (starts_f * hop + num_samples) <= x.size
    counts = np.where(valid, counts, -1.0)
    chosen: list[int] = []
    while max_excerpts is None or len(chosen) < max_excerpts:
        i = int(np.argmax(counts))
        if counts[i] < MIN_ACTIVE_FRACTION * win:
            break
        chosen.append(i * hop)
        counts[max(0, i - win + 1): i + win] = -1.0  # forbid overlap with the chosen window
    return sorted(chosen)


def clip_excerpts(clip: Clip, excerpt_s: float = 3.0, min_lufs: float = -35.0, target_lufs: float = -23.0,
                  max_excerpts: int | None = None) -> list[Excerpt]:
    """Non-overlapping, mostly-active excerpts of ``excerpt_s`` seconds of ``clip``, normalised to ``target_lufs``.

    Excerpts quieter than ``min_lufs`` (LUFS, before normalisation) are dropped with an info log line.
    """
    sr = clip.sample_rate
    n = int(round(excerpt_s * sr))
    out = []
    for start in choose_starts(clip.audio, sr, n, max_excerpts):
        seg = clip.audio[start: start + n].astype(np.float64)
        lufs = loudness_lufs(seg, sr)
        if not np.isfinite(lufs) or lufs < min_lufs:
            log.info("dropped %s @ %.2f s: %.1f LUFS is below %.1f LUFS", clip.path, start / sr, lufs, min_lufs)
            continue
        seg = seg * 10 ** ((target_lufs - lufs) / 20)
        out.append(Excerpt(seg.astype(np.float32), sr, clip.speaker, clip.path, start, lufs, clip.source_rate))
    return out


class AudioFolder:
    """A folder tree of WAV/FLAC files as speaker-disjoint splits of clips and excerpts.

    Args:
        root: the folder; searched recursively for ``.wav``/``.flac``.
        speaker_level: which folder level below ``root`` names the speaker (1 = first level; 0 = each
            file is its own speaker), or a function ``relative_path -> speaker`` (e.g. DAPS file names).
        sample_rate: output rate (Hz); files are resampled to it.
        excerpt_s: excerpt length (s).
        min_lufs: excerpts quieter than this (LUFS, measured before normalisation) are dropped.
        target_lufs: excerpts are normalised to this loudness (LUFS).
        split_fractions: (train, valid, test) shares of the hashed, unpinned speakers / groups.
        groups: group name → member speakers that always share one split (hashed or pinned as one).
        pins: speaker or group name → split, overriding the hash.
        min_sample_rate: files below this rate (Hz) are skipped and logged.
        max_excerpts_per_clip: at most this many excerpts per file (``None`` = as many as fit).
        salt: salt of the split hash; change it to draw another speaker-disjoint split.
        progress: show a tqdm bar when loading many files.
    """

    def __init__(self, root: str | Path, speaker_level: int | Callable[[Path], str] = 1, sample_rate: int = 44100,
                 excerpt_s: float = 3.0, min_lufs: float = -35.0, target_lufs: float = -23.0,
                 split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 groups: Mapping[str, Collection[str]] | None = None, pins: Mapping[str, str] | None = None,
                 min_sample_rate: int = 16000, max_excerpts_per_clip: int | None = None, salt: str = "eqlib",
                 progress: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise CorpusError(f"{self.root}: no such folder")
        if len(split_fractions) != 3 or min(split_fractions) < 0 or not np.isclose(sum(split_fractions), 1.0):
            raise CorpusError(f"split_fractions must be three non-negative shares summing to 1, got {split_fractions}")
        if excerpt_s <= 0:
            raise CorpusError(f"excerpt_s must be positive, got {excerpt_s:g} s")
        self.speaker_level = speaker_level
        self.sample_rate = int(sample_rate)
        self.excerpt_s = float(excerpt_s)
        self.min_lufs = float(min_lufs)
        self.target_lufs = float(target_lufs)
        self.split_fractions = tuple(float(f) for f in split_fractions)
        self.groups = {g: frozenset(m) for g, m in (groups or {}).items()}
        self.pins = dict(pins or {})
        for name, split in self.pins.items():
            if split not in SPLITS:
                raise CorpusError(f"pin {name!r} → {split!r}: split must be one of {', '.join(SPLITS)}")
        self.min_sample_rate = int(min_sample_rate)
        self.max_excerpts_per_clip = max_excerpts_per_clip
        self.salt = salt
        self.progress = progress
        self._clips: dict[Path, Clip | None] = {}
        self.skipped: dict[Path, str] = {}  # path → one-line reason

        self.files: dict[Path, str] = {}  # path → speaker
        for path in find_audio_files(self.root):
            speaker = self._speaker_of(path.relative_to(self.root))
            if speaker is None:
                self._skip(path, f"not inside a speaker folder at level {speaker_level}")
            else:
                self.files[path] = speaker
        if not self.files:
            raise CorpusError(f"{self.root}: no audio files ({'/'.join(AUDIO_SUFFIXES)}) in speaker folders")

    # --- speakers and splits ---------------------------------------------------------------
    def _speaker_of(self, rel: Path) -> str | None:
        if callable(self.speaker_level):
            return self.speaker_level(rel)
        if self.speaker_level == 0:
            return rel.stem
        return rel.parts[self.speaker_level - 1] if len(rel.parts) > self.speaker_level else None

    @property
    def speakers(self) -> list[str]:
        """All speakers found (sorted)."""
        return sorted(set(self.files.values()))

    def group_of(self, speaker: str) -> str:
        """The group a speaker belongs to (its own name when in none)."""
        return next((g for g, members in sorted(self.groups.items()) if speaker in members), speaker)

    def split_of(self, speaker: str) -> str:
        """The split of ``speaker``: its (group's) pin, else a stable hash of its group name."""
        key = self.group_of(speaker)
        if key in self.pins:
            return self.pins[key]
        if speaker in self.pins:
            return self.pins[speaker]
        u = stable_fraction(key, self.salt)
        edges = np.cumsum(self.split_fractions)
        return SPLITS[min(int(np.searchsorted(edges, u, side="right")), len(SPLITS) - 1)]

    def split_speakers(self, split: str) -> list[str]:
        """Speakers of ``split`` (sorted)."""
        self._check_split(split)
        return [s for s in self.speakers if self.split_of(s) == split]

    def split_files(self, split: str) -> list[Path]:
        """Files of ``split`` (sorted)."""
        speakers = set(self.split_speakers(split))
        return [p for p, s in self.files.items() if s in speakers]

    @staticmethod
    def _check_split(split: str) -> None:
        if split not in SPLITS:
            raise CorpusError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")

    # --- loading -----------------------------------------------------------------------------
    def _skip(self, path: Path, reason: str) -> None:
        self.skipped[path] = reason
        log.warning("skipped %s: %s", path, reason)

    def _load(self, path: Path) -> Clip | None:
        if path in self._clips:
            return self._clips[path]
        clip = None
        try:
            audio = check_audio(read_audio(path), name=str(path), min_sample_rate=self.min_sample_rate,
                                max_channels=64)
            x = resample(audio.mono(), audio.sample_rate, self.sample_rate).astype(np.float32)
            clip = Clip(x, self.sample_rate, self.files[path], path, audio.sample_rate)
        except AudioError as err:
            self._skip(path, f"{err} [{err.kind}]".removeprefix(f"{path}: "))
        self._clips[path] = clip
        return clip

    def clips(self, split: str) -> list[Clip]:
        """Whole usable files of ``split``: mono, resampled, original level; unusable files logged and skipped."""
        files = self.split_files(split)
        bar = tqdm(files, desc=f"loading {self.root.name}/{split}", unit="file", leave=False,
                   disable=not self.progress or len(files) < PROGRESS_MIN_FILES)
        return [c for c in (self._load(p) for p in bar) if c is not None]

    def clip_excerpts(self, clip: Clip) -> list[Excerpt]:
        """Excerpts of one clip with this folder's settings (see :func:`clip_excerpts`)."""
        return clip_excerpts(clip, self.excerpt_s, self.min_lufs, self.target_lufs, self.max_excerpts_per_clip)

    def excerpts(self, split: str) -> list[Excerpt]:
        """All excerpts of ``split`` in file order; raises ``CorpusError`` if the split yields none."""
        clips = self.clips(split)
        out = [e for c in clips for e in self.clip_excerpts(c)]
        if not out:
            raise CorpusError(
                f"{self.root}: split {split!r} has no usable {self.excerpt_s:g}-s excerpts "
                f"({len(self.split_speakers(split))} speakers, {len(self.split_files(split))} files, "
                f"{len(clips)} readable)"
            )
        return out


# --- the shared real-speech corpus ------------------------------------------------------------
HELD_OUT_GROUP = "vctk-test"


def is_held_out_vctk(speaker: str) -> bool:
    """True for the VCTK test speakers p347–p376, s5 and the unlabelled clips that come from them."""
    if speaker in ("vctk-s5", "vctk-testset-unlabelled"):
        return True
    tail = speaker.removeprefix("vctk-p")
    return speaker.startswith("vctk-p") and tail.isdigit() and 347 <= int(tail) <= 376


def real_speech(root: str | Path | None = None, **kwargs) -> AudioFolder:
    """The shared ``real-speech`` corpus with its held-out speakers pinned to ``"test"``.

    ``vctk-p347`` … ``vctk-p376``, ``vctk-s5`` and ``vctk-testset-unlabelled`` form one group (the
    corpus README: the unlabelled clips come from those speakers) pinned to ``"test"``;
    ``hifitts-unknown`` is pinned to ``"test"`` too (it is the second recording chain of the
    ``cross-chain`` evaluation set). The other VCTK speakers are hashed into train/valid (66/34 of the hash range: with the default salt p232, p286 and p317 land in valid).
    ``kwargs`` go to :class:`AudioFolder`.
    """
    if root is None:
        corpora = shared_corpora_dir()
        if corpora is None or not (corpora / "real-speech").is_dir():
            raise CorpusError("the shared real-speech corpus is not here (../shared/corpora/real-speech or "
                              "$EQLIB_CORPORA/real-speech)")
        root = corpora / "real-speech"
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: no such folder")
    held_out = [d.name for d in sorted(root.iterdir()) if d.is_dir() and is_held_out_vctk(d.name)]
    kwargs.setdefault("split_fractions", (0.66, 0.34, 0.0))
    pins = {HELD_OUT_GROUP: "test", "hifitts-unknown": "test", **kwargs.pop("pins", {})}
    groups = {HELD_OUT_GROUP: held_out, **kwargs.pop("groups", {})}
    return AudioFolder(root, speaker_level=1, groups=groups, pins=pins, **kwargs)


# --- the shared music corpus ------------------------------------------------------------------
#: Tracks held out for evaluation (never trained on): the corpus's first eleven tracks, which every earlier
#: music result was measured on, and five more of other genres (pop/rock, country, string orchestra,
#: epic orchestra, guitar chords). The other tracks are hashed into train/valid.
MUSIC_TEST_TRACKS = (
    "mirdata-vocadito-1", "flactestbench-subset11-18", "sonicpi-arovane-beat-a", "sonicpi-loop-tabla",
    "sonicpi-loop-garzul", "sonicpi-loop-mika", "smstools-orchestra-fragment", "smstools-sax-phrase",
    "smstools-cello-double", "librosa-vibe-ace", "librosa-karissa-hobbs-lets-go-fishin",
    "digabi-hyde-acoustically-driven", "raylib-emegeme-country", "librosa-brahms-hungarian-dance-5",
    "bevy-migfus20-epic-orchestra", "sonicpi-guit-em9",
)


def real_music(root: str | Path | None = None, **kwargs) -> AudioFolder:
    """The shared ``music`` corpus, one track per first-level folder, ``MUSIC_TEST_TRACKS`` pinned to "test"
    and the other tracks hashed into train/valid (80/20 of the hash range). ``kwargs`` go to :class:`AudioFolder`."""
    if root is None:
        corpora = shared_corpora_dir()
        if corpora is None or not (corpora / "music").is_dir():
            raise CorpusError("the shared music corpus is not here (../shared/corpora/music or $EQLIB_CORPORA/music)")
        root = corpora / "music"
    kwargs.setdefault("split_fractions", (0.8, 0.2, 0.0))
    pins = {**{track: "test" for track in MUSIC_TEST_TRACKS}, **kwargs.pop("pins", {})}
    return AudioFolder(root, speaker_level=1, pins=pins, **kwargs)
