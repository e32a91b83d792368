"""`make data` offline: a small mirror of public sources served on 127.0.0.1, fetched, converted and verified;
where the corpora come from; the committed checksums against the manifests and the shared corpora."""

from __future__ import annotations

import csv
import http.server
import re
import shutil
import subprocess
import threading
import urllib.parse
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from eqlib import corpora as corpora_mod
from eqlib.corpora import CORPORA, CorporaMissingError, locate_corpora, missing_reason, no_corpora, require_corpora
from eqlib.corpus_fetch import FetchError, Fetcher, main as fetch_main, read_source_sums, source_url
from eqlib.corpus_lock import (LockEntry, fingerprint_db, fingerprints_agree, lock_dir, measure_entry, read_lock,
                               read_tsv, samples_sha256, write_lock)
from eqlib.examples import example_path, list_examples
from eqlib.runtime import shared_corpora_dir

RATE = 16000
SPEECH_REPO, SPEECH_COMMIT = "someone/speech-demos", "1" * 40
MUSIC_REPO, MUSIC_COMMIT = "other/music-demos", "2" * 40


# --- the mirror: sources laid out as <repo>/<commit>/<path>, and the corpus they should become -------------------
def _noise(seconds: float, channels: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((int(seconds * RATE), channels)) * 0.1
    return np.clip(x, -0.99, 0.99)


def _write_manifest(folder: Path, rows: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "MANIFEST.tsv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (folder / "README.md").write_text(f"# {folder.name}: test corpus\n")


@pytest.fixture(scope="session")
def mirror_and_locks(tmp_path_factory) -> tuple[Path, Path]:
    """``mirror/<repo>/<commit>/<path>`` sources and ``locks/<corpus>/{MANIFEST,README,CHECKSUMS}``.

    real-speech: a stereo 16-bit WAV whose path has a space (→ first channel, whole file) and a 24-bit mono FLAC.
    music: a stereo WAV cut from 0.5 s to 1.0 s, two FLACs joined end to end and cut, a Vorbis file (lossy).
    """
    root = tmp_path_factory.mktemp("corpora")
    mirror, locks, expected = root / "mirror", root / "locks", root / "expected"
    speech = mirror / SPEECH_REPO / SPEECH_COMMIT
    music = mirror / MUSIC_REPO / MUSIC_COMMIT
    for folder in (speech / "samples", music / "parts"):
        folder.mkdir(parents=True)
    sf.write(speech / "samples" / "a one.wav", _noise(0.6, 2, 1), RATE, subtype="PCM_16")
    sf.write(speech / "samples" / "b1.flac", _noise(0.4, 1, 2), RATE, subtype="PCM_24")
    sf.write(music / "x.wav", _noise(1.5, 2, 3), RATE, subtype="PCM_16")
    sf.write(music / "parts" / "01 a.flac", _noise(0.5, 2, 4), RATE, subtype="PCM_16")
    sf.write(music / "parts" / "02 b.flac", _noise(0.5, 2, 5), RATE, subtype="PCM_16")
    t = np.arange(int(2.5 * RATE)) / RATE
    notes_hz = np.array([110.0, 3520.0, 440.0, 1760.0, 220.0])[(t // 0.5).astype(int)]  # one note each 0.5 s
    tone = 0.3 * np.sin(2 * np.pi * notes_hz * t)
    sf.write(music / "loop.ogg", np.stack([tone, 0.5 * tone], axis=1), RATE, format="OGG", subtype="VORBIS")

    # the corpus files, cut here with plain numpy from the sources as soundfile reads them
    def read(path: Path, dtype: str = "int32") -> np.ndarray:
        return sf.read(path, dtype=dtype, always_2d=True)[0]

    def put(corpus: str, rel: str, data: np.ndarray, subtype: str) -> None:
        (expected / corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(expected / corpus / rel, data, RATE, subtype=subtype, format="FLAC")

    put("real-speech", "spk-a/a1.flac", read(speech / "samples" / "a one.wav")[:, :1], "PCM_16")
    put("real-speech", "spk-b/b1.flac", read(speech / "samples" / "b1.flac"), "PCM_24")
    put("music", "x/ex1_0.5s-1.0s.flac", read(music / "x.wav")[8000:16000], "PCM_16")
    joined = np.concatenate([read(music / "parts" / "01 a.flac"), read(music / "parts" / "02 b.flac")])
    put("music", "joined/ex1_0.2s-0.8s.flac", joined[3200:12800], "PCM_16")
    put("music", "loop/ex1_0.0s-2.0s.flac", np.clip(read(music / "loop.ogg", "float64")[:32000], -1, 1), "PCM_16")

    row = dict.fromkeys(("path", "speaker", "sample_rate", "source_repo", "source_path", "source_commit", "notes"), "")
    speech_rows = [dict(row, path="spk-a/a1.flac", source_path="samples/a one.wav"),
                   dict(row, path="spk-b/b1.flac", source_path="samples/b1.flac")]
    for r in speech_rows:
        r.update(source_repo=SPEECH_REPO, source_commit=SPEECH_COMMIT)
    music_rows = [dict(row, path="x/ex1_0.5s-1.0s.flac", source_path="x.wav", notes="excerpt 0.5-1.0s of source"),
                  dict(row, path="joined/ex1_0.2s-0.8s.flac", source_path="parts/01 a.flac ... parts/02 b.flac",
                       notes="joined; excerpt 0.2-0.8s of source"),
                  dict(row, path="loop/ex1_0.0s-2.0s.flac", source_path="loop.ogg", notes="excerpt 0.0-2.0s of source")]
    for r in music_rows:
        r.update(source_repo=MUSIC_REPO, source_commit=MUSIC_COMMIT)
    for corpus, rows in (("real-speech", speech_rows), ("music", music_rows)):
        _write_manifest(locks / corpus, rows)
        entries = []
        for r in rows:
            if " ... " in r["source_path"]:
                r = dict(r, source_path="parts/01 a.flac")
                entry = measure_entry(corpus, expected / corpus, r)
                entry = replace(entry, source_paths=("parts/01 a.flac", "parts/02 b.flac"))
            else:
                entry = measure_entry(corpus, expected / corpus, r)
            entries.append(entry)
        write_lock(entries, locks / corpus / "CHECKSUMS.tsv")
    return mirror, locks


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.root`` with ``Range: bytes=N-`` support (unless ``server.ignore_range``); paths in ``server.cut_once`` are cut off halfway
    (full Content-Length announced) on their first request; every request is logged in ``server.requests``."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        rel = urllib.parse.unquote(self.path.lstrip("/"))
        self.server.requests.append((rel, self.headers.get("Range")))
        path = self.server.root / rel
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        body = path.read_bytes()
        match = None if self.server.ignore_range else re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(match.group(1)) if match else 0
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if rel in self.server.cut_once:
            self.server.cut_once.discard(rel)
            self.wfile.write(body[start: start + (len(body) - start) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(mirror_and_locks, tmp_path):
    """A copy of the mirror served on 127.0.0.1; yields ``(server, url_template, locks)``."""
    mirror, locks = mirror_and_locks
    root = tmp_path / "served"
    shutil.copytree(mirror, root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    httpd.root, httpd.cut_once, httpd.requests, httpd.ignore_range = root, set(), [], False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}/{{repo}}/{{commit}}/{{path}}", locks
    finally:
        httpd.shutdown()
        httpd.server_close()


def _fetcher(tmp_path: Path, url: str, locks: Path, **kwargs) -> Fetcher:
    return Fetcher(url, tmp_path / "sources", tmp_path / "corpora", locks, progress=False, **kwargs)


def _samples(path: Path, dtype: str = "int32") -> np.ndarray:
    return sf.read(path, dtype=dtype, always_2d=True)[0]


# --- fetching --------------------------------------------------------------------------------------------------
def test_fetch_redoes_each_documented_conversion(server, tmp_path) -> None:
    httpd, url, locks = server
    fetcher = _fetcher(tmp_path, url, locks)
    for corpus in ("real-speech", "music"):
        fetcher.fetch_corpus(corpus)
    out, src = tmp_path / "corpora", httpd.root
    speech, music = src / SPEECH_REPO / SPEECH_COMMIT, src / MUSIC_REPO / MUSIC_COMMIT
    # first channel of a stereo WAV; a 24-bit FLAC unchanged (bits and rate kept)
    np.testing.assert_array_equal(_samples(out / "real-speech/spk-a/a1.flac"), _samples(speech / "samples/a one.wav")[:, :1])
    np.testing.assert_array_equal(_samples(out / "real-speech/spk-b/b1.flac"), _samples(speech / "samples/b1.flac"))
    assert sf.info(out / "real-speech/spk-b/b1.flac").subtype == "PCM_24"
    # the excerpt 0.5-1.0 s, and 0.2-0.8 s of two files joined end to end
    np.testing.assert_array_equal(_samples(out / "music/x/ex1_0.5s-1.0s.flac"), _samples(music / "x.wav")[8000:16000])
    joined = np.concatenate([_samples(music / "parts/01 a.flac"), _samples(music / "parts/02 b.flac")])
    np.testing.assert_array_equal(_samples(out / "music/joined/ex1_0.2s-0.8s.flac"), joined[3200:12800])
    loop = _samples(out / "music/loop/ex1_0.0s-2.0s.flac", "float64")
    np.testing.assert_allclose(loop, _samples(music / "loop.ogg", "float64")[:32000], atol=1.0 / 32768)
    for corpus in ("real-speech", "music"):  # manifest and README byte for byte, nothing else but the audio
        for name in ("MANIFEST.tsv", "README.md"):
            assert (out / corpus / name).read_bytes() == (locks / corpus / name).read_bytes()
        listed = {row["path"] for row in read_tsv(locks / corpus / "MANIFEST.tsv")}
        audio = {p.relative_to(out / corpus).as_posix() for p in (out / corpus).rglob("*.flac")}
        assert audio == listed
    assert not list(out.glob(".*"))  # no partial folder left
    # every source recorded for the next run, in sha256sum format
    sums = read_source_sums(tmp_path / "sources")
    assert sums[f"{MUSIC_REPO}/{MUSIC_COMMIT}/parts/02 b.flac"] == \
        __import__("hashlib").sha256((music / "parts/02 b.flac").read_bytes()).hexdigest()


def test_rerun_verifies_and_downloads_nothing(server, tmp_path) -> None:
    httpd, url, locks = server
    _fetcher(tmp_path, url, locks).fetch_corpus("music")
    before = len(httpd.requests)
    summary = _fetcher(tmp_path, url, locks).fetch_corpus("music")
    assert "already here and verified" in summary
    assert len(httpd.requests) == before


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path) -> None:
    httpd, url, locks = server
    rel = f"{MUSIC_REPO}/{MUSIC_COMMIT}/x.wav"
    size = (httpd.root / rel).stat().st_size
    httpd.cut_once.add(rel)
    _fetcher(tmp_path, url, locks).fetch_corpus("music")
    asked = [r for p, r in httpd.requests if p == rel]
    assert asked == [None, f"bytes={size // 2}-"]
    assert (tmp_path / "sources" / rel).read_bytes() == (httpd.root / rel).read_bytes()


def test_a_server_without_ranges_sends_the_whole_file_again(server, tmp_path) -> None:
    httpd, url, locks = server
    rel = f"{MUSIC_REPO}/{MUSIC_COMMIT}/x.wav"
    httpd.cut_once.add(rel)
    httpd.ignore_range = True
    _fetcher(tmp_path, url, locks).fetch_corpus("music")
    assert (tmp_path / "sources" / rel).read_bytes() == (httpd.root / rel).read_bytes()


def test_interrupted_run_leaves_no_corpus_and_the_next_run_resumes(server, tmp_path) -> None:
    httpd, url, locks = server
    rel = f"{MUSIC_REPO}/{MUSIC_COMMIT}/x.wav"
    httpd.cut_once.add(rel)
    with pytest.raises(FetchError, match=r"download failed after 1 tries: .*x\.wav.*make data` resumes it"):
        _fetcher(tmp_path, url, locks, retries=0).fetch_corpus("music")
    assert not (tmp_path / "corpora" / "music").exists()  # only the hidden partial folder
    part = tmp_path / "sources" / (rel + ".part")
    kept = part.stat().st_size
    assert kept > 0 and not (tmp_path / "sources" / rel).exists()
    _fetcher(tmp_path, url, locks, retries=0).fetch_corpus("music")
    assert [r for p, r in httpd.requests if p == rel][-1] == f"bytes={kept}-"
    assert (tmp_path / "corpora" / "music" / "MANIFEST.tsv").is_file()


def test_corrupted_source_is_a_checksum_mismatch(server, tmp_path) -> None:
    httpd, url, locks = server
    wav = httpd.root / SPEECH_REPO / SPEECH_COMMIT / "samples" / "a one.wav"
    data = bytearray(wav.read_bytes())
    data[-200:-100] = bytes(100)  # still a readable WAV, but 50 samples changed
    wav.write_bytes(bytes(data))
    with pytest.raises(FetchError, match=r"checksum mismatch: real-speech/spk-a/a1\.flac .*samples differ"):
        _fetcher(tmp_path, url, locks).fetch_corpus("real-speech")
    assert not (tmp_path / "corpora" / "real-speech").exists()
    assert not (tmp_path / "sources" / SPEECH_REPO / SPEECH_COMMIT / "samples" / "a one.wav").exists()


def test_committed_source_checksum_is_enforced(server, tmp_path) -> None:
    httpd, url, locks = server
    changed = tmp_path / "locks"
    shutil.copytree(locks, changed)
    entries = [replace(e, source_sha256=("0" * 64,)) for e in read_lock("real-speech", changed)]
    write_lock(entries, changed / "real-speech" / "CHECKSUMS.tsv")
    with pytest.raises(FetchError, match=r"checksum mismatch: http://127\.0\.0\.1.*samples/a%20one\.wav.*expected 0000"):
        _fetcher(tmp_path, url, changed).fetch_corpus("real-speech")


def test_a_source_that_changed_since_its_first_fetch_is_refused(server, tmp_path) -> None:
    httpd, url, locks = server
    _fetcher(tmp_path, url, locks).fetch_corpus("real-speech")
    cached = tmp_path / "sources" / SPEECH_REPO / SPEECH_COMMIT / "samples" / "b1.flac"
    cached.write_bytes(cached.read_bytes()[:-10] + bytes(10))
    (tmp_path / "corpora" / "real-speech" / "spk-b" / "b1.flac").unlink()
    with pytest.raises(FetchError, match="SHA256SUMS \\(its first fetch\\)"):
        _fetcher(tmp_path, url, locks).fetch_corpus("real-speech")


def test_missing_source_names_the_url_and_status(server, tmp_path) -> None:
    httpd, url, locks = server
    (httpd.root / MUSIC_REPO / MUSIC_COMMIT / "loop.ogg").unlink()
    with pytest.raises(FetchError, match=r"download failed: http://127\.0\.0\.1:\d+/other/music-demos/2+/loop\.ogg: "
                                         r"HTTP 404"):
        _fetcher(tmp_path, url, locks).fetch_corpus("music")


def test_lossy_source_is_verified_by_its_fingerprint(server, tmp_path) -> None:
    httpd, url, locks = server
    changed = tmp_path / "locks"
    shutil.copytree(locks, changed)
    entries = read_lock("music", changed)
    # another decoder: other samples, same sound; then a wrong excerpt (0.5 s later): other sound
    other_decoder = [replace(e, samples_sha256="0" * 64) if e.lossy else e for e in entries]
    write_lock(other_decoder, changed / "music" / "CHECKSUMS.tsv")
    fetcher = _fetcher(tmp_path / "a", url, changed)
    fetcher.fetch_corpus("music")
    assert [name for name, _, _ in fetcher.lossy_matches] == ["music/loop/ex1_0.0s-2.0s.flac"]
    wrong = [replace(e, samples_sha256="0" * 64, source_start=8000) if e.lossy else e for e in entries]
    write_lock(wrong, changed / "music" / "CHECKSUMS.tsv")
    with pytest.raises(FetchError, match="lossy source decoded .* dB .* away from the fingerprint"):
        _fetcher(tmp_path / "b", url, changed).fetch_corpus("music")


def test_lossy_source_decoded_by_ffmpeg_is_reproduced_exactly(server, tmp_path, ffmpeg) -> None:
    # a corpus whose Vorbis excerpt was decoded by ffmpeg (its samples differ from libsndfile's decode here)
    httpd, url, locks = server
    ogg = httpd.root / MUSIC_REPO / MUSIC_COMMIT / "loop.ogg"
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(ogg), "-f", "f64le", "-"],
                         capture_output=True, check=True).stdout
    by_ffmpeg = np.clip(np.frombuffer(raw, "<f8").reshape(-1, 2)[:32000], -1, 1)
    sf.write(tmp_path / "expected.flac", by_ffmpeg, RATE, subtype="PCM_16")
    changed = tmp_path / "locks"
    shutil.copytree(locks, changed)
    entries = [replace(e, samples_sha256=samples_sha256(tmp_path / "expected.flac")) if e.lossy else e
               for e in read_lock("music", changed)]
    assert entries[-1].samples_sha256 != read_lock("music", locks)[-1].samples_sha256  # libsndfile's differs
    write_lock(entries, changed / "music" / "CHECKSUMS.tsv")
    fetcher = _fetcher(tmp_path, url, changed)
    fetcher.fetch_corpus("music")
    assert fetcher.lossy_matches == []  # exact, not by fingerprint
    np.testing.assert_array_equal(_samples(tmp_path / "corpora/music/loop/ex1_0.0s-2.0s.flac"),
                                  _samples(tmp_path / "expected.flac"))


@pytest.mark.parametrize("codec", ["libmp3lame", "libvorbis"])
def test_fingerprint_tolerates_another_decoder_and_its_delay_not_another_excerpt(codec, ffmpeg, tmp_path) -> None:
    # each shipped music example through a real lossy codec, decoded by libsndfile and by ffmpeg
    for name in list_examples("music"):
        encoded = tmp_path / f"{name}.{'mp3' if codec == 'libmp3lame' else 'ogg'}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(example_path(name)), "-c:a", codec, "-b:a",
                        "128k", str(encoded)], check=True)
        ours, rate = sf.read(encoded, always_2d=True)
        theirs = np.frombuffer(subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(encoded), "-f", "f64le",
                                               "-"], capture_output=True, check=True).stdout, "<f8")
        reference = fingerprint_db(ours, rate)
        assert fingerprints_agree(reference, fingerprint_db(theirs, rate)), name
        assert fingerprints_agree(reference, fingerprint_db(ours[1105:], rate)), name  # an MP3 encoder delay
        assert not fingerprints_agree(reference, fingerprint_db(ours[rate // 2:], rate)), name


def test_cli_reports_one_line_and_fails(server, tmp_path, capsys) -> None:
    httpd, url, locks = server
    (httpd.root / SPEECH_REPO / SPEECH_COMMIT / "samples" / "b1.flac").unlink()
    with pytest.raises(SystemExit) as exit_info:
        fetch_main(["--corpora", "real-speech", "--url", url, "--locks", str(locks), "--dest", str(tmp_path / "c"),
                    "--sources", str(tmp_path / "s")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err  # progress bars, then one error line, no traceback
    assert err.rstrip().splitlines()[-1].startswith("eqlib.corpus_fetch: error: download failed: ")
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        fetch_main(["--url", "https://example.org/{repo}/{path}"])
    assert exit_info.value.code == 2 and "needs {repo}, {commit} and {path}" in capsys.readouterr().err


def test_record_sources_fills_the_committed_checksums(server, tmp_path) -> None:
    httpd, url, locks = server
    changed = tmp_path / "locks"
    shutil.copytree(locks, changed)
    fetcher = _fetcher(tmp_path, url, changed)
    fetcher.fetch_corpus("music")
    assert fetcher.record_committed("music") == 3
    recorded = {e.path: e.source_sha256 for e in read_lock("music", changed)}
    music = httpd.root / MUSIC_REPO / MUSIC_COMMIT
    sha = __import__("hashlib").sha256
    assert recorded["joined/ex1_0.2s-0.8s.flac"] == tuple(sha((music / "parts" / n).read_bytes()).hexdigest()
                                                          for n in ("01 a.flac", "02 b.flac"))


def test_source_url_quotes_the_path() -> None:
    url = source_url("https://raw.githubusercontent.com/{repo}/{commit}/{path}", "a/b", "c" * 40, "x y/1 - z.flac")
    assert url == f"https://raw.githubusercontent.com/a/b/{'c' * 40}/x%20y/1%20-%20z.flac"


# --- where the corpora come from ---------------------------------------------------------------------------------
def _corpora_folder(root: Path, names=CORPORA) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "MANIFEST.tsv").write_text("path\n")
    return root


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty fetched and shared folders in tmp_path, and no $EQLIB_CORPORA."""
    fetched, shared = tmp_path / "fetched", tmp_path / "shared"
    monkeypatch.setattr(corpora_mod, "fetched_dir", lambda: fetched)
    monkeypatch.setattr(corpora_mod, "shared_dir", lambda: shared)
    monkeypatch.delenv("EQLIB_CORPORA", raising=False)
    return fetched, shared


def test_order_is_env_then_fetched_then_shared(places, tmp_path, monkeypatch) -> None:
    fetched, shared = places
    assert locate_corpora() is None
    _corpora_folder(shared)
    assert locate_corpora().path == shared and shared_corpora_dir() == shared
    _corpora_folder(fetched)
    assert locate_corpora().origin == "make data" and shared_corpora_dir() == fetched
    mine = (tmp_path / "mine")
    mine.mkdir()
    monkeypatch.setenv("EQLIB_CORPORA", str(mine))
    assert locate_corpora().path == mine and locate_corpora().origin == "$EQLIB_CORPORA"
    monkeypatch.setenv("EQLIB_CORPORA", "none")
    assert shared_corpora_dir() is None


def test_a_half_fetched_folder_is_not_used(places) -> None:
    fetched, shared = places
    _corpora_folder(fetched, CORPORA[:1])
    _corpora_folder(shared)
    assert locate_corpora().path == shared


def test_no_corpora_says_how_to_fetch_them(places) -> None:
    fetched, _ = places
    _corpora_folder(fetched, CORPORA[:1])
    reason = missing_reason()
    assert f"data/corpora lacks {', '.join(CORPORA[1:])}" in reason and "no ../shared/corpora" in reason
    assert reason.endswith("fetch them with `make data`") and "\n" not in reason
    with pytest.raises(CorporaMissingError, match="make data"):
        require_corpora()


def test_no_corpora_block_restores_the_environment(places, monkeypatch) -> None:
    _, shared = places
    _corpora_folder(shared)
    monkeypatch.setenv("EQLIB_CORPORA", str(shared))
    with no_corpora():
        assert locate_corpora() is None
    assert locate_corpora().path == shared


# --- the committed checksums --------------------------------------------------------------------------------------
@pytest.mark.parametrize("corpus", CORPORA)
def test_committed_checksums_agree_with_the_manifest(corpus) -> None:
    manifest = {row["path"]: row for row in read_tsv(lock_dir() / corpus / "MANIFEST.tsv")}
    entries = read_lock(corpus)
    assert [e.path for e in entries] == list(manifest)
    for e in entries:
        row = manifest[e.path]
        assert e.sample_rate == int(row["sample_rate"])
        assert e.frames / e.sample_rate == pytest.approx(float(row["duration_s"]), abs=0.006)
        if " ... " in row["source_path"]:
            first, last = row["source_path"].split(" ... ")
            assert (e.source_paths[0], e.source_paths[-1]) == (first, last)
        else:
            assert e.source_paths == (row["source_path"],)
        named = re.search(r"ex\d+_([0-9.]+)s-", e.path)  # music files name their excerpt's start
        if named:
            assert e.source_start == round(float(named.group(1)) * e.sample_rate)
        assert e.lossy == ("LOSSY ORIGIN" in row.get("notes", ""))
        assert (e.fingerprint_db is not None) == e.lossy


LOCATION = locate_corpora()  # a folder of one's own ($EQLIB_CORPORA) need not be the committed corpora
CORPORA_HERE = LOCATION.path if LOCATION is not None and LOCATION.origin != "$EQLIB_CORPORA" else None


@pytest.mark.skipif(CORPORA_HERE is None, reason="no fetched or shared corpora here (make data, or ../shared/corpora)")
@pytest.mark.parametrize("corpus", CORPORA)
def test_committed_checksums_match_the_corpora_here(corpus) -> None:
    for name in ("MANIFEST.tsv", "README.md"):
        assert (CORPORA_HERE / corpus / name).read_bytes() == (lock_dir() / corpus / name).read_bytes()
    for e in read_lock(corpus):
        path = CORPORA_HERE / corpus / e.path
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == \
            (e.sample_rate, e.channels, e.frames, e.subtype), e.path
        assert samples_sha256(path) == e.samples_sha256, e.path
