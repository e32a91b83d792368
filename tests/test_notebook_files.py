"""Committed notebooks stay small, numbered and self-describing (STYLE.md)."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_notebooks_are_numbered_in_order():
    numbers = [int(re.match(r"(\d\d)_", p.name).group(1)) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_small_and_opens_with_markdown(path):
    assert path.stat().st_size < 1_000_000, "clear large outputs (audio players, images) before committing"
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and "eqlib" in "".join(cells[0]["source"])
    assert cells[-1]["cell_type"] == "markdown"
