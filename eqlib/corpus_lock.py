"""The committed record of what every corpus file must be: ``corpora/<corpus>/CHECKSUMS.tsv``.

One row per corpus file, measured on the files of ``../shared/corpora`` by :func:`build_lock`
(``python -m eqlib.corpus_lock --from ../shared/corpora``):

- the format: ``sample_rate`` (Hz), ``channels``, ``frames`` (samples per channel), ``subtype`` (``PCM_16``/``PCM_24``);
- ``samples_sha256``: SHA-256 of the decoded samples (:func:`samples_sha256`), so a re-encoded FLAC with other
  bytes but the same samples still matches;
- how to redo it from its public source: ``source_paths`` (in ``source_repo`` at ``source_commit`` of
  ``MANIFEST.tsv``; several joined end to end), ``source_start`` (the excerpt's first frame in the source, from the
  manifest's "excerpt A-Bs of source"; ``frames`` gives its exact length), ``lossy`` (an MP3/Vorbis source);
- ``fingerprint_db`` (lossy sources only): octave-band levels per second (:func:`fingerprint_db`). Another MP3 or
  Vorbis decoder may round, or skip the encoder delay, differently, so a lossy source is verified by this coarse
  fingerprint when its samples differ;
- ``source_sha256``: SHA-256 of each source file, empty until someone with network access records it
  (``python -m eqlib.corpus_fetch --record-sources``): the sources could not be downloaded where this was built.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from eqlib.corpora import CORPORA
from eqlib.runtime import repo_root

COLUMNS = ("path", "sample_rate", "channels", "frames", "subtype", "samples_sha256", "source_start", "source_paths",
           "source_sha256", "lossy", "fingerprint_db")
SEPARATOR = " | "  # between the parts of a joined source
LOSSY_SUFFIXES = (".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac")
EXCERPT = re.compile(r"excerpt ([0-9.]+)-([0-9.]+)s of source")
#: The manifest names only the first and last file of the one joined source; the six between, in order, are from
#: ``subset/playlist.m3u`` of ietf-wg-cellar/flac-test-files (read at commit 7ba6e41, a later commit than the one used).
JOINED_SOURCES = {
    "subset/11 - partition order 8.flac ... subset/18 - precision search.flac": (
        "subset/11 - partition order 8.flac", "subset/12 - qlp precision 15 bit.flac",
        "subset/13 - qlp precision 2 bit.flac", "subset/14 - wasted bits.flac",
        "subset/15 - only verbatim subframes.flac", "subset/16 - partition order 8 containing escaped partitions.flac",
        "subset/17 - all fixed orders.flac", "subset/18 - precision search.flac"),
}
FINGERPRINT_FRAME_S = 1.0
FINGERPRINT_BANDS_HZ = tuple(1000.0 * 2.0 ** k for k in range(-4, 5))  # octave centres 62.5 Hz … 16 kHz
FINGERPRINT_FLOOR_DB = -100.0
#: A lossy source agrees when its fingerprint differs by at most this much (dB): mean over cells, and any cell.
#: Measured on the four shipped music examples through MP3 and Vorbis at 128 kb/s (``tests/test_corpora.py``):
#: libsndfile's and ffmpeg's decodes 0.00 dB apart (though up to 827 of their 16-bit samples differed); a
#: 1105-sample decoder-delay shift up to 0.53 dB mean / 3.0 dB max; the excerpt 0.5 s later 2.0–6.6 dB mean.
FINGERPRINT_MEAN_DB = 1.0
FINGERPRINT_MAX_DB = 6.0


class LockError(ValueError):
    """A lock file or manifest is missing or malformed."""


@dataclass(frozen=True)
class LockEntry:
    """What one corpus file must be, and where it comes from (see the module docstring)."""

    corpus: str
    path: str
    sample_rate: int
    channels: int
    frames: int
    subtype: str
    samples_sha256: str
    source_start: int
    source_paths: tuple[str, ...]
    source_repo: str
    source_commit: str
    source_sha256: tuple[str, ...] = ()
    lossy: bool = False
    fingerprint_db: np.ndarray = field(default=None, repr=False, compare=False)  # (seconds, bands) or None


def lock_dir() -> Path:
    """``corpora/`` in the checkout: the committed manifests, READMEs and checksums of every corpus."""
    return repo_root() / "corpora"


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line (quotes as in the corpora's manifests)."""
    if not path.is_file():
        raise LockError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def samples_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's samples as little-endian int32 ``(frames, channels)`` (libsndfile's integer
    scaling: a 16-bit sample ``s`` is ``s << 16``): independent of how the file was encoded."""
    data, _ = sf.read(path, dtype="int32", always_2d=True)
    return hashlib.sha256(np.ascontiguousarray(data, dtype="<i4").tobytes()).hexdigest()


def fingerprint_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Octave-band levels (dB re full scale, floored at -100 dB) of the channel mean, per second:
    ``(seconds, bands)`` for ``audio`` ``(frames, channels)`` or ``(frames,)`` at ``sample_rate`` Hz (Hann window)."""
    x = np.asarray(audio, dtype=np.float64)
    x = x.mean(axis=1) if x.ndim == 2 else x
    n = int(round(FINGERPRINT_FRAME_S * sample_rate))
    count = x.size // n
    power = np.abs(np.fft.rfft(x[: count * n].reshape(count, n) * np.hanning(n), axis=1)) ** 2 / n**2
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    bands = [power[:, (freqs >= c / np.sqrt(2)) & (freqs < c * np.sqrt(2))].sum(axis=1) for c in FINGERPRINT_BANDS_HZ]
    return np.maximum(10 * np.log10(np.stack(bands, axis=1) + 1e-30), FINGERPRINT_FLOOR_DB)


def fingerprint_distance_db(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Mean and largest |difference| (dB) of two fingerprints ``(seconds, bands)`` over their common seconds
    (``inf`` when their lengths differ by more than one second)."""
    if abs(len(expected) - len(actual)) > 1 or min(len(expected), len(actual)) == 0:
        return float("inf"), float("inf")
    k = min(len(expected), len(actual))
    diff = np.abs(np.asarray(expected[:k]) - np.asarray(actual[:k]))
    return float(diff.mean()), float(diff.max())


def fingerprints_agree(expected: np.ndarray, actual: np.ndarray) -> bool:
    """True when :func:`fingerprint_distance_db` is within ``FINGERPRINT_MEAN_DB`` / ``FINGERPRINT_MAX_DB``."""
    mean, worst = fingerprint_distance_db(expected, actual)
    return mean <= FINGERPRINT_MEAN_DB and worst <= FINGERPRINT_MAX_DB


def _format_fingerprint(fp: np.ndarray | None) -> str:
    return "" if fp is None else " ".join(f"{v:.1f}" for v in np.asarray(fp).ravel())


def _parse_fingerprint(text: str) -> np.ndarray | None:
    if not text.strip():
        return None
    values = np.array([float(v) for v in text.split()])
    if values.size % len(FINGERPRINT_BANDS_HZ):
        raise LockError(f"fingerprint of {values.size} values is not whole seconds of {len(FINGERPRINT_BANDS_HZ)} bands")
    return values.reshape(-1, len(FINGERPRINT_BANDS_HZ))


def read_lock(corpus: str, directory: Path | None = None) -> list[LockEntry]:
    """The entries of ``<directory>/<corpus>/CHECKSUMS.tsv`` (default :func:`lock_dir`), with repository and commit
    from the ``MANIFEST.tsv`` beside it. Raises :class:`LockError` for a missing or inconsistent file."""
    folder = (directory or lock_dir()) / corpus
    manifest = {row["path"]: row for row in read_tsv(folder / "MANIFEST.tsv")}
    entries = []
    for row in read_tsv(folder / "CHECKSUMS.tsv"):
        if row.get("path") not in manifest:
            raise LockError(f"{folder / 'CHECKSUMS.tsv'}: {row.get('path')!r} is not in MANIFEST.tsv")
        source = manifest[row["path"]]
        try:
            entries.append(LockEntry(
                corpus=corpus, path=row["path"], sample_rate=int(row["sample_rate"]), channels=int(row["channels"]),
                frames=int(row["frames"]), subtype=row["subtype"], samples_sha256=row["samples_sha256"],
                source_start=int(row["source_start"]), source_paths=tuple(row["source_paths"].split(SEPARATOR)),
                source_repo=source["source_repo"], source_commit=source["source_commit"],
                source_sha256=tuple(row["source_sha256"].split(SEPARATOR)) if row["source_sha256"] else (),
                lossy=row["lossy"] == "1", fingerprint_db=_parse_fingerprint(row["fingerprint_db"])))
        except (KeyError, ValueError, TypeError) as err:
            raise LockError(f"{folder / 'CHECKSUMS.tsv'}: row {row.get('path')!r}: {err}") from None
    missing = sorted(set(manifest) - {e.path for e in entries})
    if missing:
        raise LockError(f"{folder / 'CHECKSUMS.tsv'}: no checksum for {', '.join(missing)}")
    return entries


def write_lock(entries: Sequence[LockEntry], path: Path) -> None:
    """Write ``entries`` as ``CHECKSUMS.tsv`` (temporary file, then renamed)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        for e in entries:
            writer.writerow([e.path, e.sample_rate, e.channels, e.frames, e.subtype, e.samples_sha256, e.source_start,
                             SEPARATOR.join(e.source_paths), SEPARATOR.join(e.source_sha256), int(e.lossy),
                             _format_fingerprint(e.fingerprint_db)])
    tmp.replace(path)


def source_start(notes: str, sample_rate: int) -> int:
    """First frame of the excerpt in its source: ``round(A × sample_rate)`` for "excerpt A-Bs of source", else 0."""
    match = EXCERPT.search(notes or "")
    return int(round(float(match.group(1)) * sample_rate)) if match else 0


def source_paths(manifest_path: str) -> tuple[str, ...]:
    """The source files of a manifest ``source_path``: itself, or the parts of a joined source (``JOINED_SOURCES``)."""
    if " ... " in manifest_path:
        if manifest_path not in JOINED_SOURCES:
            raise LockError(f"joined source {manifest_path!r}: its parts are not listed in JOINED_SOURCES")
        return JOINED_SOURCES[manifest_path]
    return (manifest_path,)


def measure_entry(corpus: str, corpus_dir: Path, row: dict[str, str]) -> LockEntry:
    """A :class:`LockEntry` for one manifest ``row`` of the corpus in ``corpus_dir``, measured on its file."""
    path = corpus_dir / row["path"]
    info = sf.info(path)
    paths = source_paths(row["source_path"])
    lossy = any(Path(p).suffix.lower() in LOSSY_SUFFIXES for p in paths)
    fp = fingerprint_db(sf.read(path, always_2d=True)[0], info.samplerate) if lossy else None
    return LockEntry(corpus=corpus, path=row["path"], sample_rate=info.samplerate, channels=info.channels,
                     frames=info.frames, subtype=info.subtype, samples_sha256=samples_sha256(path),
                     source_start=source_start(row.get("notes", ""), info.samplerate), source_paths=paths,
                     source_repo=row["source_repo"], source_commit=row["source_commit"], lossy=lossy,
                     fingerprint_db=fp)


def build_lock(corpora_dir: Path, out_dir: Path, corpora: Sequence[str] = CORPORA) -> dict[str, int]:
    """Write ``<out_dir>/<corpus>/{MANIFEST.tsv, README.md, CHECKSUMS.tsv}`` from the corpora in ``corpora_dir``.

    ``MANIFEST.tsv`` and ``README.md`` are copied byte for byte (so their digests match the source folder's);
    source checksums already recorded in ``out_dir`` are kept. Returns corpus → number of files.
    """
    counts = {}
    for corpus in corpora:
        src, dst = corpora_dir / corpus, out_dir / corpus
        rows = read_tsv(src / "MANIFEST.tsv")
        try:
            recorded = {e.path: e.source_sha256 for e in read_lock(corpus, out_dir)}
        except LockError:
            recorded = {}
        entries = []
        for row in tqdm(rows, desc=f"measuring {corpus}", unit="file", leave=False):
            entry = measure_entry(corpus, src, row)
            entries.append(replace(entry, source_sha256=recorded.get(entry.path, ())))
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("MANIFEST.tsv", "README.md"):
            shutil.copyfile(src / name, dst / name)
        write_lock(entries, dst / "CHECKSUMS.tsv")
        counts[corpus] = len(entries)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eqlib.corpus_lock --from DIR``: (re)write ``corpora/`` from a folder of corpora."""
    parser = argparse.ArgumentParser(prog="python -m eqlib.corpus_lock", description=main.__doc__)
    parser.add_argument("--from", dest="source", type=Path, required=True, help="folder holding the corpora")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default corpora/ in the checkout)")
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=CORPORA, metavar="CORPUS")
    args = parser.parse_args(argv)
    missing = [c for c in args.corpora if not (args.source / c / "MANIFEST.tsv").is_file()]
    if missing:
        parser.exit(2, f"eqlib.corpus_lock: error: {args.source} has no {', '.join(missing)} (no MANIFEST.tsv)\n")
    try:
        counts = build_lock(args.source, args.out or lock_dir(), args.corpora)
    except (LockError, sf.LibsndfileError, KeyError) as err:
        parser.exit(1, f"eqlib.corpus_lock: error: {err}\n")
    for corpus, n in counts.items():
        print(f"{corpus}: {n} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
