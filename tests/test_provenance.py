"""`make figures` says what it was built from, refuses to run without the corpora, and marks example-set output."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eqlib import corpora, evalsets
from eqlib.corpora import CORPORA, CorporaMissingError
from eqlib.evaluate import main as evaluate_main
from eqlib.figures import main as figures_main, make_all
from eqlib.provenance import (EXAMPLES_NOTE, NUMERICAL_PACKAGES, built_from, computed_with, console_lines,
                               cpu_description, environment_changes, mark_examples)
from eqlib.runtime import KERNEL_CAPS


@pytest.fixture
def fake_corpora(tmp_path, monkeypatch) -> Path:
    """A folder with the three corpora's manifests, used as $EQLIB_CORPORA."""
    root = tmp_path / "corpora"
    for k, name in enumerate(CORPORA):
        (root / name).mkdir(parents=True)
        (root / name / "MANIFEST.tsv").write_text(f"path\tsource\nfile{k}.flac\tsomewhere\n")
    monkeypatch.setenv("EQLIB_CORPORA", str(root))
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_built_from_names_each_manifest_and_weights_file_by_digest(fake_corpora, tmp_path) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"not really weights")
    line = built_from([weights], examples=False)
    manifests = ", ".join(f"{n} (MANIFEST.tsv SHA-256 {_sha(fake_corpora / n / 'MANIFEST.tsv')})" for n in sorted(CORPORA))
    assert line == f"Built from corpora {manifests}; weights `{weights}` (SHA-256 {_sha(weights)})."
    assert str(fake_corpora) not in line  # the same corpora fetched or shared give the same line
    examples = built_from([], examples=True)
    assert examples.startswith("Built from the small example sets") and examples.endswith("; no weights.")


def test_computed_with_names_each_package_version_and_the_kernel_caps_in_code_spans(monkeypatch) -> None:
    first, second = KERNEL_CAPS
    monkeypatch.setenv(first, "avx2")
    monkeypatch.delenv(second, raising=False)
    line = computed_with()
    for name in NUMERICAL_PACKAGES:
        assert f"`{name} {importlib.metadata.version(name)}`" in line
    assert line.endswith(f"; CPU kernels capped by `{first}=avx2`; CPU `{cpu_description()}`.")
    monkeypatch.delenv(first)
    assert computed_with().endswith(f"; CPU kernels as the CPU chose them; CPU `{cpu_description()}`.")


def test_the_cpu_is_named_by_maker_and_widest_vector_instructions(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx avx2 fma\n\n"
                       "processor\t: 1\nvendor_id\t: GenuineIntel\n")
    assert cpu_description(cpuinfo) == "GenuineIntel x86_64 avx2"
    cpuinfo.write_text(cpuinfo.read_text().replace("avx2", "avx512f avx2"))
    assert cpu_description(cpuinfo) == "GenuineIntel x86_64 avx512f"
    assert cpu_description(tmp_path / "none") == "x86_64"  # no /proc/cpuinfo (macOS, Windows)


def test_environment_changes_pair_each_package_cap_and_cpu(monkeypatch) -> None:
    cap = next(iter(KERNEL_CAPS))
    monkeypatch.setenv(cap, "avx2")
    here = f"Built from x. {computed_with()}\n\n### table"
    assert environment_changes(here, here) == []
    numpy = f"`numpy {importlib.metadata.version('numpy')}`"
    elsewhere = here.replace(numpy, "`numpy 1.0`").replace(f"`{cap}=avx2`", f"`{cap}=avx512`")
    assert environment_changes(here, elsewhere) == [f"numpy: {importlib.metadata.version('numpy')} → 1.0",
                                                     f"{cap}: avx2 → avx512"]
    assert environment_changes(here, "Built from x.") is None


def test_console_says_where_the_corpora_are_and_whether_the_manifests_are_the_committed_ones(fake_corpora) -> None:
    lines = console_lines([], examples=False)
    assert lines[0] == f"corpora: {fake_corpora} (from $EQLIB_CORPORA)"
    assert all("differs from corpora/" in line for line in lines[1:4])  # not the committed manifests


def test_results_header_records_corpora_checkpoint_and_packages(fake_corpora, tmp_path, monkeypatch) -> None:
    from eqlib.checkpoint import save_checkpoint
    from eqlib.models import build_model

    weights = tmp_path / "best.pt"
    save_checkpoint(weights, build_model("baseline_db"))
    monkeypatch.setattr(evalsets, "available_eval_sets", lambda: {name: "shared" for name in evalsets.EVAL_SETS})
    pairs = [evalsets.EvalPair(np.zeros(44100, np.float32), np.zeros(44100, np.float32), np.zeros((4, 3)), {})]
    pairs[0].params[:, 1:] = [[100, 0.7], [500, 1], [3000, 1], [8000, 0.7]]
    monkeypatch.setattr(evalsets, "load_eval_set", lambda name, num_pairs=None: pairs)
    out = tmp_path / "results.md"
    evaluate_main(["--systems", "identity", f"mine={weights}", "--sets", "cross-chain", "--out", str(out)])
    header = out.read_text().split("###")[0]
    assert f"MANIFEST.tsv SHA-256 {_sha(fake_corpora / 'music' / 'MANIFEST.tsv')}" in header
    assert f"weights `{weights}` (SHA-256 {_sha(weights)})." in header
    assert computed_with() in header


def test_make_all_refuses_without_corpora_before_writing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQLIB_CORPORA", "none")
    monkeypatch.setenv("EQLIB_MODE", "full")  # quick mode falls back to the example sets by design
    with pytest.raises(CorporaMissingError, match="make data"):
        make_all(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_figures_command_stops_with_one_line_naming_both_ways_out(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(corpora, "fetched_dir", lambda: tmp_path / "none1")
    monkeypatch.setattr(corpora, "shared_dir", lambda: tmp_path / "none2")
    monkeypatch.delenv("EQLIB_CORPORA", raising=False)
    monkeypatch.setenv("EQLIB_MODE", "full")
    with pytest.raises(SystemExit) as exit_info:
        figures_main(["--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert err.startswith("eqlib.figures: the evaluation corpora are not here (")
    assert "`make data`" in err and "`make figures EXAMPLES=1`" in err


def test_example_output_is_marked(tmp_path) -> None:
    pixels = np.full((300, 400, 3), 255, np.uint8)
    Image.fromarray(pixels).save(tmp_path / "fig.png")
    (tmp_path / "table.md").write_text("| a | 1.00 |\n")
    (tmp_path / "results.md").write_text(f"header: {EXAMPLES_NOTE}\n")
    mark_examples([tmp_path / "fig.png", tmp_path / "table.md", tmp_path / "results.md"])
    marked = np.asarray(Image.open(tmp_path / "fig.png").convert("RGB"))
    band = marked.shape[0] - 300
    assert band > 0 and np.array_equal(marked[band:], pixels)  # the figure, untouched, below a band
    assert (marked[:band, :, 0] > marked[:band, :, 2] + 100).any()  # red text on the band
    assert (tmp_path / "table.md").read_text().startswith(f"> **Example sets:** {EXAMPLES_NOTE}.\n\n| a | 1.00 |")
    assert (tmp_path / "results.md").read_text() == f"header: {EXAMPLES_NOTE}\n"  # said once is enough
