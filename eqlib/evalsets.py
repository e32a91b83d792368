"""The fixed, deterministic real evaluation sets (never trained on): input, EQ'd reference and the EQ θ.

A pair is an input excerpt and a reference excerpt (3 s, 44.1 kHz, each normalised to -23 LUFS,
excerpts quieter than -35 LUFS discarded) where ``reference = EQSettings(θ).apply(reference_clean)``
(exact time-domain filtering) with θ drawn by ``DEFAULT_EQ.sample`` from a fixed seed. The task: from
``input`` and ``reference`` predict θ.

Sets (names are public API, see ``EVAL_SETS``):

- ``speech-other-speaker`` / ``speech-same-speaker`` / ``speech-same-clip``: held-out VCTK speakers
  (p347–p376, s5); input and reference from different speakers / the same speaker but another file /
  the very same excerpt (each excerpt used up to ceil(pairs / excerpts) times, each time with another θ;
  every other set uses each (input, reference) combination at most once). The unlabelled VCTK test clips join only ``speech-same-clip`` (their speaker
  is unknown, so they cannot be placed in a speaker-sensitive pair).
- ``cross-chain``: input and reference from different recording chains, both directions, balanced over
  the ordered pairs of chains: VCTK studio, Hi-Fi TTS, synthetic test speakers (when
  ``eqlib.speech_synth`` exists) and the band-limited chains of ``speech-other-chains`` (LJ Speech, AMI
  headset, LibriSpeech, and LibriTTS, whose readers each recorded at home: two LibriTTS readers are two
  chains). This set decides which model ships. A pair's ``meta[...]["bandwidth_hz"]`` says up to which
  frequency each recording holds content (0.45 × its original rate); the evaluation scores the band both
  hold.
- ``music-other-track`` / ``music-same-track``: the shared music corpus's held-out tracks
  (``eqlib.corpus.MUSIC_TEST_TRACKS``, mid of stereo); different tracks / non-overlapping excerpts of the
  same track.

Sources: the shared corpora (``../shared/corpora``) when present, else the small committed examples in
``eqlib/data`` (a fresh clone: few pairs, for notebooks and tests only; ``meta["source"]`` says which).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from eqlib.corpus import (AudioFolder, Clip, CorpusError, Excerpt, clip_excerpts, is_held_out_vctk, real_music,
                          real_speech)
from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.examples import example_info, example_path, list_examples, load_example
from eqlib.runtime import repo_root, shared_corpora_dir

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
EXCERPT_S = 3.0
MIN_LUFS = -35.0
TARGET_LUFS = -23.0
FORMAT = "eqlib.evalsets/2"  # bump when the construction changes: invalidates every cache

EVAL_SETS = ("speech-other-speaker", "speech-same-speaker", "speech-same-clip", "cross-chain",
             "music-other-track", "music-same-track")
DEFAULT_NUM_PAIRS = {"speech-other-speaker": 150, "speech-same-speaker": 150, "speech-same-clip": 150,
                     "cross-chain": 430, "music-other-track": 150, "music-same-track": 80}
MAX_BANDWIDTH_HZ = 20000.0  # the evaluation's upper frequency for full-band recordings
SYNTH_CLIPS_PER_SPEAKER = 2
SYNTH_MAX_SPEAKERS = 10


@dataclass
class EvalPair:
    """One pair at 44.1 kHz: ``input`` and ``reference`` float32 ``(time,)``, θ ``params`` ``(bands, 3)``.

    ``reference_clean`` is the reference excerpt before the EQ (``reference = EQSettings(params).apply(it)``);
    ``meta`` names the source files, speakers/tracks, starts (samples at 44.1 kHz) and chains.
    """

    input: np.ndarray
    reference: np.ndarray
    params: np.ndarray
    meta: dict
    reference_clean: np.ndarray = field(repr=False, default=None)

    @property
    def settings(self) -> EQSettings:
        """θ as :class:`EQSettings`."""
        return EQSettings(self.params)


# --- sources ------------------------------------------------------------------------------------
def _source(source: str) -> str:
    corpora = shared_corpora_dir()
    have = corpora is not None and (corpora / "real-speech").is_dir() and (corpora / "music").is_dir()
    if source == "auto":
        return "shared" if have else "examples"
    if source == "shared" and not have:
        raise CorpusError("source='shared' needs ../shared/corpora/real-speech and music (or $EQLIB_CORPORA)")
    if source not in ("shared", "examples"):
        raise ValueError(f"unknown source {source!r}; valid: auto, shared, examples")
    return source


def _synth_module():
    """``eqlib.speech_synth`` if it exists in this checkout, else ``None``."""
    if importlib.util.find_spec("eqlib.speech_synth") is None:
        return None
    return importlib.import_module("eqlib.speech_synth")


#: Recording chains by speaker-folder prefix (the rest are VCTK studio recordings).
CHAIN_PREFIXES = ("hifitts", "synth", "libritts", "librispeech", "ljspeech", "ami")


def _chain(speaker: str) -> str:
    """The recording chain a speaker was recorded on (LibriTTS readers: see :func:`_different_chains`)."""
    return next((prefix for prefix in CHAIN_PREFIXES if speaker.startswith(prefix)), "vctk")


def _different_chains(speaker_a: str, speaker_b: str) -> bool:
    """True when two speakers' recordings come from different chains; each LibriTTS reader has their own."""
    chain = _chain(speaker_a)
    return chain != _chain(speaker_b) or (chain == "libritts" and speaker_a != speaker_b)


@lru_cache(maxsize=8)
def _example_excerpts(kind: str, duration_s: float) -> list[Excerpt]:
    out = []
    for name in list_examples(kind):
        audio, sr = load_example(name)
        speaker = example_info(name)["source"].split("/")[1]  # the corpus folder: speaker or track
        clip = Clip(audio, sr, speaker, example_path(name))
        out += clip_excerpts(clip, duration_s, MIN_LUFS, TARGET_LUFS)
    return out


@lru_cache(maxsize=4)
def _speech_excerpts(source: str, duration_s: float) -> list[Excerpt]:
    """Held-out real speech excerpts (VCTK test group and Hi-Fi TTS)."""
    if source == "examples":
        return _example_excerpts("speech", duration_s)
    corpus = real_speech(excerpt_s=duration_s, min_lufs=MIN_LUFS, target_lufs=TARGET_LUFS, sample_rate=SAMPLE_RATE)
    return corpus.excerpts("test")


@lru_cache(maxsize=4)
def _synth_excerpts(duration_s: float) -> list[Excerpt]:
    synth = _synth_module()
    if synth is None:
        return []
    out = []
    for sid in list(synth.speaker_ids("test"))[:SYNTH_MAX_SPEAKERS]:
        for k in range(SYNTH_CLIPS_PER_SPEAKER):
            audio = np.asarray(synth.synthesize(sid, duration_s=duration_s + 0.5, seed=k, sample_rate=SAMPLE_RATE),
                               dtype=np.float32)
            if audio.ndim != 1:
                raise ValueError(f"speech_synth.synthesize returned shape {audio.shape}; expected (time,)")
            clip = Clip(audio, SAMPLE_RATE, f"synth-{sid}", Path(f"synth/{sid}/seed{k}"))
            out += clip_excerpts(clip, duration_s, MIN_LUFS, TARGET_LUFS, max_excerpts=1)
    return out


@lru_cache(maxsize=4)
def _other_chain_excerpts(duration_s: float) -> list[Excerpt]:
    """Every excerpt of ``speech-other-chains`` (never trained on), or none where that corpus is absent."""
    folder = shared_corpora_dir() / "speech-other-chains"
    if not folder.is_dir():
        return []
    corpus = AudioFolder(folder, excerpt_s=duration_s, min_lufs=MIN_LUFS, target_lufs=TARGET_LUFS,
                         sample_rate=SAMPLE_RATE, split_fractions=(0.0, 0.0, 1.0))
    return corpus.excerpts("test")


@lru_cache(maxsize=4)
def _music_excerpts(source: str, duration_s: float) -> list[Excerpt]:
    if source == "examples":
        return _example_excerpts("music", duration_s)
    corpus = real_music(excerpt_s=duration_s, min_lufs=MIN_LUFS, target_lufs=TARGET_LUFS, sample_rate=SAMPLE_RATE)
    return corpus.excerpts("test")


# --- pairing ------------------------------------------------------------------------------------
def _choose(combos: list[tuple[int, int]], k: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``min(k, len(combos))`` distinct combos, drawn without replacement."""
    if k >= len(combos):
        return [combos[i] for i in rng.permutation(len(combos))]
    return [combos[i] for i in rng.choice(len(combos), size=k, replace=False)]


def _pairs_for(name: str, pool: list[Excerpt], num_pairs: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    n = range(len(pool))
    spk = [e.speaker for e in pool]
    labelled = [spk[i] != "vctk-testset-unlabelled" for i in n]
    if name == "speech-other-speaker":
        combos = [(i, j) for i in n for j in n if labelled[i] and labelled[j] and spk[i] != spk[j]]
    elif name == "speech-same-speaker":
        combos = [(i, j) for i in n for j in n
                  if labelled[i] and spk[i] == spk[j] and pool[i].path != pool[j].path]
    elif name == "speech-same-clip":  # each excerpt up to ceil(num_pairs / excerpts) times, each with its own θ
        repeats = -(-num_pairs // max(1, len(pool)))
        combos = [(i, i) for i in n] * repeats
    elif name == "music-other-track":
        combos = [(i, j) for i in n for j in n if spk[i] != spk[j]]
    elif name == "music-same-track":
        combos = [(i, j) for i in n for j in n if i != j and spk[i] == spk[j]]
    elif name == "cross-chain":
        chains = sorted({_chain(s) for s in spk})
        combos_by_pair: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for i in n:
            for j in n:
                if _different_chains(spk[i], spk[j]):
                    combos_by_pair.setdefault((_chain(spk[i]), _chain(spk[j])), []).append((i, j))
        ordered = [(a, b) for a in chains for b in chains if (a, b) in combos_by_pair]
        if not ordered:
            return []
        chosen = []
        for k, pair in enumerate(ordered):
            quota = num_pairs // len(ordered) + (k < num_pairs % len(ordered))
            chosen += _choose(combos_by_pair[pair], quota, rng)
        return chosen
    else:
        raise ValueError(f"unknown evaluation set {name!r}; valid: {', '.join(EVAL_SETS)}")
    return _choose(combos, num_pairs, rng)


def _pool(name: str, source: str, duration_s: float) -> list[Excerpt]:
    if name.startswith("music"):
        return list(_music_excerpts(source, duration_s))
    pool = _speech_excerpts(source, duration_s)
    if name == "cross-chain":
        other_chains = _other_chain_excerpts(duration_s) if source == "shared" else []
        return [e for e in pool if is_held_out_vctk(e.speaker) or e.speaker.startswith("hifitts")] + \
            _synth_excerpts(duration_s) + other_chains
    return [e for e in pool if is_held_out_vctk(e.speaker)]


def _rel(path: Path) -> str:
    """A path relative to the corpora folder or the repository (portable in ``meta``)."""
    for base in (shared_corpora_dir(), repo_root()):
        if base is not None:
            try:
                return str(Path(path).relative_to(base))
            except ValueError:
                pass
    return str(path)


def _assemble(name: str, source: str, pool_audio: np.ndarray, pool_meta: list[dict], index: np.ndarray,
              params: np.ndarray) -> list[EvalPair]:
    pairs = []
    for (i, j), theta in zip(index, params):
        ref_clean = pool_audio[j]
        reference = EQSettings(theta).apply(ref_clean.astype(np.float64), SAMPLE_RATE).astype(np.float32)
        meta = {"set": name, "source": source, "input": pool_meta[i], "reference": pool_meta[j],
                "sample_rate": SAMPLE_RATE}
        pairs.append(EvalPair(pool_audio[i], reference, theta, meta, ref_clean))
    return pairs


def _build_arrays(name: str, num_pairs: int, seed: int, duration_s: float, source: str):
    pool = _pool(name, source, duration_s)
    rng = np.random.default_rng([seed, EVAL_SETS.index(name)])
    chosen = _pairs_for(name, pool, num_pairs, rng)
    if not chosen:
        raise CorpusError(f"evaluation set {name!r} has no pairs from source {source!r}")
    used = sorted({k for pair in chosen for k in pair})
    remap = {k: r for r, k in enumerate(used)}
    index = np.array([(remap[i], remap[j]) for i, j in chosen], dtype=np.int64)
    pool_audio = np.stack([pool[k].audio for k in used]).astype(np.float32)
    pool_meta = [{"speaker": pool[k].speaker, "chain": _chain(pool[k].speaker), "path": _rel(pool[k].path),
                  "start": int(pool[k].start), "loudness_lufs": round(float(pool[k].loudness_lufs), 3),
                  "bandwidth_hz": round(min(pool[k].bandwidth_hz, MAX_BANDWIDTH_HZ), 1)} for k in used]
    gen = torch.Generator().manual_seed(seed * 1000 + EVAL_SETS.index(name))
    params = DEFAULT_EQ.sample(len(chosen), gen).numpy()
    return pool_audio, pool_meta, index, params


def _check_name(name: str) -> None:
    if name not in EVAL_SETS:
        raise ValueError(f"unknown evaluation set {name!r}; valid: {', '.join(EVAL_SETS)}")


def build_eval_set(name: str, num_pairs: int | None = None, seed: int = 0, duration_s: float = EXCERPT_S,
                   source: str = "auto") -> list[EvalPair]:
    """Build evaluation set ``name`` from scratch (no cache); deterministic in its arguments.

    Args:
        name: one of ``EVAL_SETS``.
        num_pairs: pairs wanted (default ``DEFAULT_NUM_PAIRS[name]``); fewer when the corpus has fewer
            distinct (input, reference) combinations — each combination is used at most once.
        seed: seeds the pairing and θ.
        duration_s: excerpt length (s).
        source: ``"auto"`` (shared corpora if present, else examples), ``"shared"`` or ``"examples"``.
    """
    _check_name(name)
    source = _source(source)
    num_pairs = DEFAULT_NUM_PAIRS[name] if num_pairs is None else int(num_pairs)
    return _assemble(name, source, *_build_arrays(name, num_pairs, seed, duration_s, source))


def _cache_key(name: str, num_pairs: int, seed: int, duration_s: float, source: str) -> str:
    roots = [shared_corpora_dir() / c for c in ("real-speech", "music", "speech-other-chains")] if source == "shared" \
        else [Path(__file__).resolve().parent / "data"]
    files = sorted((str(p.relative_to(r.parent)), p.stat().st_size) for r in roots for p in r.rglob("*")
                   if p.suffix.lower() in (".wav", ".flac"))
    synth = _synth_module() if name == "cross-chain" else None
    synth_code = hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest() if synth is not None else None
    key = {"format": FORMAT, "name": name, "num_pairs": num_pairs, "seed": seed, "duration_s": duration_s,
           "source": source, "files": files, "synth": synth_code}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def cache_path(name: str, num_pairs: int | None = None, seed: int = 0, duration_s: float = EXCERPT_S,
               source: str = "auto") -> Path:
    """``cache/evalsets/<name>-<hash>.npz`` for these arguments (hash of them and the source files)."""
    _check_name(name)
    source = _source(source)
    num_pairs = DEFAULT_NUM_PAIRS[name] if num_pairs is None else int(num_pairs)
    return repo_root() / "cache" / "evalsets" / f"{name}-{_cache_key(name, num_pairs, seed, duration_s, source)}.npz"


def load_eval_set(name: str, num_pairs: int | None = None, seed: int = 0, duration_s: float = EXCERPT_S,
                  source: str = "auto") -> list[EvalPair]:
    """:func:`build_eval_set`, cached in ``cache/evalsets/`` (rebuilt if missing; bit-identical to a rebuild)."""
    path = cache_path(name, num_pairs, seed, duration_s, source)
    source = _source(source)
    num_pairs = DEFAULT_NUM_PAIRS[name] if num_pairs is None else int(num_pairs)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            arrays = (z["pool_audio"], json.loads(str(z["pool_meta"])), z["index"], z["params"])
    else:
        arrays = _build_arrays(name, num_pairs, seed, duration_s, source)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez(tmp, pool_audio=arrays[0], pool_meta=np.array(json.dumps(arrays[1])), index=arrays[2],
                 params=arrays[3])
        tmp.replace(path)
        log.info("cached %s (%d pairs) at %s", name, len(arrays[2]), path)
    return _assemble(name, source, *arrays)


def available_eval_sets() -> dict[str, str]:
    """Set name → where it builds from here (``"shared"`` corpora or committed ``"examples"``)."""
    source = _source("auto")
    return {name: source for name in EVAL_SETS}
