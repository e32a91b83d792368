"""The README's transcripts of the API, presets and batch matching are what those commands print today.

Each block is rerun in a temporary folder holding copies of the shipped clips it names; when the shipped weights
change, rerun the commands there and paste their output into the README. Numbers may differ from the README's in
their last printed place or two, as on another CPU (:mod:`printouts`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from printouts import first_difference, same_printout

from eqlib.checkpoint import default_weights
from eqlib.inference import DEFAULT_MODEL
from eqlib.runtime import repo_root

README = repo_root() / "README.md"
EQLIB = Path(sys.executable).parent / "eqlib"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(), re.S)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Copies of the shipped clips and a text file named like audio, as the README's runs had."""
    if not default_weights(DEFAULT_MODEL).is_file():
        pytest.skip(f"no shipped weights at {default_weights(DEFAULT_MODEL)}")
    if not EQLIB.exists():
        pytest.skip(f"console script not installed at {EQLIB} (pip install -e .)")
    for clip in (repo_root() / "eqlib" / "data").glob("speech-*.flac"):
        shutil.copy(clip, tmp_path / clip.name)
    (tmp_path / "notes.wav").write_text("notes\n")
    (tmp_path / "matched").mkdir()
    return tmp_path


def _shell_transcript(block: str, folder: Path) -> str:
    """Rerun every ``$ command`` line of a transcript in ``folder``; return the transcript it gives."""
    lines = []
    for command in re.findall(r"^\$ (.*)$", block, re.M):
        lines.append(f"$ {command}")
        if command == "echo $?":
            lines.append(str(code))
            continue
        argv = command.replace(" 2>/dev/null", "").split()
        proc = subprocess.run([str(EQLIB), *argv[1:]], cwd=folder, capture_output=True, text=True)
        code = proc.returncode
        lines.append(proc.stdout.rstrip("\n"))
        if "2>/dev/null" not in command:  # the one-line messages, without the progress bar around them
            lines.extend(re.findall(r"eqlib: (?:error|warning): [^\r\n]*", proc.stderr))
    return "\n".join(line for line in lines if line) + "\n"


@pytest.mark.parametrize("marker", ["--preset ParametricEQ.txt --print eqapo", "--reference speech-s5-f.flac"])
def test_shell_transcripts_are_current(marker, folder):
    block = next(b for b in _blocks("text") if marker in b)
    fresh = _shell_transcript(block, folder)
    assert same_printout(fresh, block), first_difference(fresh, block)


def test_python_example_prints_what_the_readme_shows(folder):
    code = next(b for b in _blocks("python") if "eqlib.match(" in b)
    out = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, check=True).stdout
    assert any(same_printout(out, block) for block in _blocks("text")), \
        f"the README shows another output for its eqlib.match example; this run:\n{out}"
