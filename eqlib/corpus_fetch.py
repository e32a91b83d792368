"""``make data``: fetch every evaluation corpus from the public source of each file, verify it, convert it.

For each corpus of :data:`eqlib.corpora.CORPORA`, the committed ``corpora/<corpus>/`` (``MANIFEST.tsv``,
``README.md``, ``CHECKSUMS.tsv``, see :mod:`eqlib.corpus_lock`) says which file of which public repository, at
which commit, each corpus file came from. This module:

1. downloads each source once into ``data/sources/<repo>/<commit>/<path>`` (resumable: a ``.part`` file grows
   with HTTP ``Range`` requests, across retries and across runs; renamed into place only when complete);
2. checks the source's SHA-256 against ``CHECKSUMS.tsv`` when one is committed; otherwise against the one
   recorded by the first successful fetch here (``data/sources/SHA256SUMS``, ``sha256sum -c`` format);
3. redoes the documented conversion: the excerpt (``source_start`` and ``frames``), the first channel where the
   corpus file is mono and the source is not, sources joined end to end where the manifest joins them, FLAC in
   the corpus file's sample format; the rate is never changed (the corpus files keep their sources' rates);
4. verifies the converted file's decoded samples against ``samples_sha256`` (exactly). An MP3/Vorbis source is
   decoded by libsndfile, and by ffmpeg when that is not exact; when neither is, its fingerprint must agree
   within the tolerance of :mod:`eqlib.corpus_lock`;
5. builds each corpus in ``data/corpora/.<corpus>.partial/`` and renames it to ``data/corpora/<corpus>`` only when
   every file is verified, so :func:`eqlib.corpora.locate_corpora` never sees a half-fetched corpus.

Sources come from ``https://raw.githubusercontent.com/{repo}/{commit}/{path}``; ``--url`` or
``$EQLIB_CORPORA_URL`` names another template (a mirror; the tests serve one on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import http.client
import logging
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from eqlib.corpora import CORPORA, FETCH_COMMAND, fetched_dir, file_sha256
from eqlib.corpus_lock import (LockEntry, LockError, fingerprint_db, fingerprint_distance_db, fingerprints_agree,
                               lock_dir, read_lock, samples_sha256, write_lock)
from eqlib.runtime import repo_root

log = logging.getLogger(__name__)

URL_ENV = "EQLIB_CORPORA_URL"
DEFAULT_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
SOURCE_SUMS = "SHA256SUMS"  # in the sources folder: SHA-256 of each source, recorded on its first successful fetch
CHUNK_BYTES = 1 << 16
TIMEOUT_S = 60.0
RETRIES = 3
LFS_POINTER = b"version https://git-lfs"
LOSSY_SHORTFALL_S = 1.0  # a lossy source may decode this much shorter (decoder delay); the fingerprint decides


class FetchError(RuntimeError):
    """A download failed, a checksum did not match, or a source cannot be converted; the message is one line."""


def sources_dir() -> Path:
    """Where downloaded sources are kept: ``data/sources`` in the checkout (ignored by git)."""
    return repo_root() / "data" / "sources"


def source_url(template: str, repo: str, commit: str, path: str) -> str:
    """The URL of ``path`` in ``repo`` at ``commit`` from a ``{repo}/{commit}/{path}`` template (path %-quoted)."""
    return template.format(repo=repo, commit=commit, path=urllib.parse.quote(path, safe="/"))


# --- downloading --------------------------------------------------------------------------------
def _open(url: str, offset: int) -> http.client.HTTPResponse:
    headers = {"Range": f"bytes={offset}-", "User-Agent": "eqlib-make-data"} if offset else \
        {"User-Agent": "eqlib-make-data"}
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)


def _append_response(response: http.client.HTTPResponse, part: Path, offset: int, bar: tqdm) -> bool:
    """Append the body of ``response`` to ``part`` (or restart it when the server ignored the range).
    Returns True when the body arrived whole (as long as its Content-Length says)."""
    if offset and response.status != 206:  # a plain 200: the whole file again
        offset = 0
        bar.reset()
    expected = response.headers.get("Content-Length")
    received = 0
    with open(part, "ab" if offset else "wb") as f:
        try:
            while chunk := response.read(CHUNK_BYTES):
                f.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        except (http.client.IncompleteRead, ConnectionError, TimeoutError, OSError):
            return False
    return expected is None or received >= int(expected)


def download(url: str, dest: Path, retries: int = RETRIES, progress: bool = True) -> None:
    """Download ``url`` to ``dest``, resuming ``dest.part`` with HTTP ``Range`` after an interruption
    (up to ``retries`` more attempts, and again on the next call); ``dest`` appears only when complete.
    Raises :class:`FetchError` (one line) when it cannot."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with tqdm(desc=dest.name[:40], unit="B", unit_scale=True, leave=False, disable=not progress) as bar:
        for attempt in range(retries + 1):
            offset = part.stat().st_size if part.exists() else 0
            bar.n = offset
            bar.refresh()
            try:
                with _open(url, offset) as response:
                    if response.headers.get("Content-Length") and bar.total is None:
                        bar.total = offset + int(response.headers["Content-Length"])
                    if _append_response(response, part, offset, bar):
                        part.replace(dest)
                        return
                reason = "connection closed before the end"
            except urllib.error.HTTPError as err:
                if err.code == 416 and offset:  # nothing left to send: the part is whole (the checksum will tell)
                    part.replace(dest)
                    return
                raise FetchError(f"download failed: {url}: HTTP {err.code} {err.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as err:
                reason = str(getattr(err, "reason", err)) or type(err).__name__
            if attempt < retries:
                time.sleep(min(2.0**attempt, 10.0) * 0.1)
    raise FetchError(f"download failed after {retries + 1} tries: {url}: {reason}; "
                     f"`{FETCH_COMMAND}` resumes it ({part.stat().st_size if part.exists() else 0} bytes kept)")


# --- sources and their checksums ------------------------------------------------------------------
def source_key(entry: LockEntry, path: str) -> str:
    """``repo/commit/path`` of one of ``entry``'s sources: its place under the sources folder and in ``SHA256SUMS``."""
    return f"{entry.source_repo}/{entry.source_commit}/{path}"


def read_source_sums(folder: Path) -> dict[str, str]:
    """``repo/commit/path`` → SHA-256 recorded in ``<folder>/SHA256SUMS`` (empty when there is none)."""
    path = folder / SOURCE_SUMS
    if not path.is_file():
        return {}
    return {line[66:]: line[:64] for line in path.read_text(encoding="utf-8").splitlines() if len(line) > 66}


def write_source_sums(folder: Path, sums: dict[str, str]) -> None:
    """Write ``SHA256SUMS`` (``sha256sum -c`` can check it from ``folder``), via a temporary file."""
    tmp = folder / f".{SOURCE_SUMS}.tmp"
    tmp.write_text("".join(f"{sha}  {key}\n" for key, sha in sorted(sums.items())), encoding="utf-8")
    tmp.replace(folder / SOURCE_SUMS)


@dataclass
class Fetcher:
    """Downloads, checks and converts the files of the corpora (see the module docstring)."""

    url_template: str = DEFAULT_URL
    sources: Path = field(default_factory=sources_dir)
    dest: Path = field(default_factory=fetched_dir)
    locks: Path = field(default_factory=lock_dir)
    retries: int = RETRIES
    progress: bool = True
    sums: dict[str, str] = field(default_factory=dict)  # repo/commit/path → SHA-256 seen here (SHA256SUMS)
    lossy_matches: list[tuple[str, float, float]] = field(default_factory=list)  # (file, mean dB, max dB)

    def __post_init__(self) -> None:
        self.sums = read_source_sums(self.sources)

    def source(self, entry: LockEntry, part: int) -> Path:
        """The ``part``-th source file of ``entry``, downloaded if needed and checked against a known SHA-256."""
        key = source_key(entry, entry.source_paths[part])
        path = self.sources / key
        url = source_url(self.url_template, entry.source_repo, entry.source_commit, entry.source_paths[part])
        if not path.is_file():
            download(url, path, self.retries, self.progress)
        expected = entry.source_sha256[part] if entry.source_sha256 else self.sums.get(key)
        if expected is not None:
            actual = file_sha256(path)
            if actual != expected:
                path.unlink()
                where = f"corpora/{entry.corpus}/CHECKSUMS.tsv" if entry.source_sha256 else \
                    f"{self.sources / SOURCE_SUMS} (its first fetch)"
                raise FetchError(f"checksum mismatch: {url}: SHA-256 {actual[:16]}…, expected {expected[:16]}… "
                                 f"from {where}; removed it, `{FETCH_COMMAND}` downloads it again")
        return path

    def record_sources(self, entry: LockEntry) -> None:
        """Remember the SHA-256 of ``entry``'s sources (after its converted file was verified)."""
        for key in (source_key(entry, p) for p in entry.source_paths):
            if key not in self.sums:
                self.sums[key] = file_sha256(self.sources / key)
        write_source_sums(self.sources, self.sums)

    def source_sha256(self, entry: LockEntry) -> tuple[str, ...]:
        """The recorded SHA-256 of each of ``entry``'s sources (``()`` when any is unknown)."""
        keys = [source_key(entry, p) for p in entry.source_paths]
        return tuple(self.sums[k] for k in keys) if all(k in self.sums for k in keys) else ()

    def verify(self, entry: LockEntry, path: Path, exact_only: bool = False) -> str | None:
        """``None`` when ``path`` is what ``entry`` says (format and samples; a lossy source's fingerprint within
        tolerance unless ``exact_only``), else the reason it is not (one line)."""
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, RuntimeError) as err:
            return f"unreadable ({err})"
        have = (info.samplerate, info.channels, info.subtype)
        want = (entry.sample_rate, entry.channels, entry.subtype)
        if have != want:
            return f"format {have} instead of {want}"
        if info.frames == entry.frames and samples_sha256(path) == entry.samples_sha256:
            return None
        if exact_only or not entry.lossy or entry.fingerprint_db is None:
            return (f"{info.frames} frames instead of {entry.frames}" if info.frames != entry.frames
                    else "decoded samples differ from samples_sha256")
        actual = fingerprint_db(sf.read(path, always_2d=True)[0], info.samplerate)
        mean, worst = fingerprint_distance_db(entry.fingerprint_db, actual)
        if fingerprints_agree(entry.fingerprint_db, actual):
            self.lossy_matches.append((f"{entry.corpus}/{entry.path}", mean, worst))
            return None
        return f"lossy source decoded {mean:.2f} dB (mean) / {worst:.2f} dB (max) away from the fingerprint"

    def convert(self, entry: LockEntry, out: Path) -> None:
        """Decode, join, cut and re-encode ``entry``'s sources into ``out`` (temporary file, renamed when verified).

        A lossy source is decoded by libsndfile and, when its samples are not the committed ones, also by ffmpeg
        (where installed): the corpus was decoded by one of the two. Failing both exactly, the first decode whose
        fingerprint agrees is kept."""
        parts = [self.source(entry, k) for k in range(len(entry.source_paths))]
        decodes = [[decode_source(p, entry) for p in parts]]
        if entry.lossy:
            decodes.append([decode_with_ffmpeg(p, d.shape[1], entry.sample_rate) for p, d in zip(parts, decodes[0])])
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        reason = None
        for exact_only in ((True, False) if entry.lossy else (False,)):
            for decoded in decodes:
                if any(d is None for d in decoded):  # ffmpeg missing or failed: libsndfile's decode alone
                    continue
                write_excerpt(entry, decoded, tmp, parts[0])
                reason = self.verify(entry, tmp, exact_only)
                if reason is None:
                    tmp.replace(out)
                    self.record_sources(entry)
                    return
        tmp.unlink()
        origin = f"{entry.corpus}/{entry.path} from {entry.source_repo}@{entry.source_commit[:7]}:{entry.source_paths[0]}"
        if entry.source_sha256:  # the source is the committed one: the conversion is what differs
            raise FetchError(f"{origin}: {reason}, although its source matches the committed SHA-256")
        for p in parts:
            p.unlink()
        raise FetchError(f"checksum mismatch: {origin}: {reason}; the source is not the file the corpus was made "
                         f"from (removed it, `{FETCH_COMMAND}` downloads it again)")

    def fetch_corpus(self, corpus: str) -> str:
        """Fetch, convert and verify every file of ``corpus`` into ``<dest>/<corpus>``; return a one-line summary."""
        entries = read_lock(corpus, self.locks)
        final, partial = self.dest / corpus, self.dest / f".{corpus}.partial"
        if final.is_dir():
            if _same_file(final / "MANIFEST.tsv", self.locks / corpus / "MANIFEST.tsv") and \
                    all(self.verify(e, final / e.path) is None for e in entries):
                return f"{corpus}: {len(entries)} files, already here and verified"
            shutil.rmtree(partial, ignore_errors=True)
            final.rename(partial)  # rebuild from what is there: only files that fail are fetched again
        partial.mkdir(parents=True, exist_ok=True)
        done = 0
        for entry in tqdm(entries, desc=f"fetching {corpus}", unit="file", disable=not self.progress):
            out = partial / entry.path
            if out.is_file() and self.verify(entry, out) is None:
                continue
            self.convert(entry, out)
            done += 1
        _remove_strays(partial, {e.path for e in entries})
        for name in ("README.md", "MANIFEST.tsv"):  # the manifest last: it marks the corpus complete
            shutil.copyfile(self.locks / corpus / name, partial / name)
        partial.rename(final)
        return f"{corpus}: {len(entries)} files verified ({done} fetched now) in {final}"

    def record_committed(self, corpus: str) -> int:
        """Write the source SHA-256 seen here into ``corpora/<corpus>/CHECKSUMS.tsv`` where it is empty;
        return how many entries gained one."""
        entries = read_lock(corpus, self.locks)
        updated = [e if e.source_sha256 or not self.source_sha256(e) else replace(e, source_sha256=self.source_sha256(e))
                   for e in entries]
        write_lock(updated, self.locks / corpus / "CHECKSUMS.tsv")
        return sum(a.source_sha256 != b.source_sha256 for a, b in zip(entries, updated))


def decode_source(path: Path, entry: LockEntry) -> np.ndarray:
    """A source file's samples ``(frames, channels)``: int32 for lossless sources (exact), float64 for lossy ones.
    Raises :class:`FetchError` when it is not audio at ``entry``'s sample rate."""
    try:
        audio, rate = sf.read(path, dtype="float64" if entry.lossy else "int32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        head = path.read_bytes()[:64]
        what = "a Git LFS pointer, not the audio" if head.startswith(LFS_POINTER) else f"not readable audio ({err})"
        raise FetchError(f"{path}: {what}") from None
    if rate != entry.sample_rate:
        raise FetchError(f"{path}: {rate} Hz, but {entry.corpus}/{entry.path} is {entry.sample_rate} Hz "
                         "(the corpora keep their sources' rates)")
    return audio


def decode_with_ffmpeg(path: Path, channels: int, sample_rate: int) -> np.ndarray | None:
    """A lossy source decoded by ffmpeg, float64 ``(frames, channels)`` at ``sample_rate`` Hz (the rate libsndfile
    read), or ``None`` where ffmpeg is not installed or cannot decode it."""
    if shutil.which("ffmpeg") is None:
        return None
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "f64le", "-ac", str(channels),
                           "-ar", str(sample_rate), "-"], capture_output=True)
    return np.frombuffer(proc.stdout, "<f8").reshape(-1, channels) if proc.returncode == 0 else None


def write_excerpt(entry: LockEntry, decoded: Sequence[np.ndarray], path: Path, source: Path) -> None:
    """Join the decoded sources ``(frames, channels)`` each, take ``entry``'s channels and excerpt, write FLAC.

    Raises :class:`FetchError` when the source has too few channels or ends before the excerpt."""
    audio = np.concatenate(decoded, axis=0)
    if audio.shape[1] != entry.channels:
        if entry.channels != 1:
            raise FetchError(f"{source}: {audio.shape[1]} channels; the corpus file has {entry.channels}")
        audio = audio[:, :1]  # "first channel only" (real-speech README)
    excerpt = audio[entry.source_start: entry.source_start + entry.frames]
    shortfall = entry.frames - len(excerpt)
    if shortfall > (LOSSY_SHORTFALL_S * entry.sample_rate if entry.lossy else 0):
        raise FetchError(f"{source}: ends {shortfall} frames before the excerpt "
                         f"({entry.source_start}+{entry.frames} frames) does")
    if entry.lossy:
        excerpt = np.clip(excerpt, -1.0, 1.0)  # decoded MP3 overshoot is clipped (music README)
    sf.write(path, excerpt, entry.sample_rate, subtype=entry.subtype, format="FLAC")


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()


def _remove_strays(folder: Path, keep: set[str]) -> None:
    """Delete files in a corpus being built that its lock does not list (left-over temporary files, files of an
    older lock), so that nothing but the listed audio is renamed into place."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.relative_to(folder).as_posix() not in keep:
            path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """Fetch the corpora (``make data``); one line per corpus, one error line and exit 1 on failure."""
    import os

    parser = argparse.ArgumentParser(prog="python -m eqlib.corpus_fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=CORPORA, metavar="CORPUS",
                        help=f"which corpora (default all: {', '.join(CORPORA)})")
    parser.add_argument("--dest", type=Path, default=None, help="where the corpora go (default data/corpora)")
    parser.add_argument("--sources", type=Path, default=None, help="download cache (default data/sources)")
    parser.add_argument("--url", default=os.environ.get(URL_ENV, DEFAULT_URL),
                        help=f"source URL template with {{repo}}, {{commit}}, {{path}} (default ${URL_ENV} or "
                             f"{DEFAULT_URL})")
    parser.add_argument("--locks", type=Path, default=None,
                        help="folder of committed manifests and checksums (default corpora/ in the checkout)")
    parser.add_argument("--retries", type=int, default=RETRIES, help="extra tries per download (resumed)")
    parser.add_argument("--record-sources", action="store_true",
                        help="write the sources' SHA-256 into corpora/<corpus>/CHECKSUMS.tsv where it is empty")
    args = parser.parse_args(argv)
    if not all(k in args.url for k in ("{repo}", "{commit}", "{path}")):
        parser.exit(2, f"eqlib.corpus_fetch: error: --url {args.url!r} needs {{repo}}, {{commit}} and {{path}}\n")
    fetcher = Fetcher(args.url, args.sources or sources_dir(), args.dest or fetched_dir(), args.locks or lock_dir(),
                      retries=args.retries)
    try:
        for corpus in args.corpora:
            print(fetcher.fetch_corpus(corpus), flush=True)
            if args.record_sources:
                print(f"{corpus}: recorded {fetcher.record_committed(corpus)} source checksums in "
                      f"corpora/{corpus}/CHECKSUMS.tsv")
    except (FetchError, LockError) as err:
        parser.exit(1, f"eqlib.corpus_fetch: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"eqlib.corpus_fetch: interrupted; `{FETCH_COMMAND}` resumes where it stopped\n")
    for name, mean, worst in fetcher.lossy_matches:
        print(f"  {name}: lossy source, decoded samples differ; fingerprint {mean:.2f} dB mean, {worst:.2f} dB max")
    return 0


if __name__ == "__main__":
    sys.exit(main())
