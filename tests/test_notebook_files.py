"""Committed notebooks: numbered, cited, small, readable without running (outputs kept, audio stripped), with
checks that can fail (every checked cell has a stored output to compare) and, in 01–06, exercises with solutions."""

import json
import re
from pathlib import Path

import pytest

from eqlib.exercises import CODE, EXERCISE, KINDS, RUN_CALL, SOLUTION, exercises, solutions
from eqlib.notebook_build import MAX_BYTES

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if 1 <= int(p.name[:2]) <= 6]
DOI = "10.1109/ICASSP40776.2020.9054108"
CHECKED = "nbval-check-output"


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _code_cells(path: Path) -> list[dict]:
    return [c for c in _cells(path) if c["cell_type"] == "code"]


def _output_text(output: dict) -> str:
    data = output.get("data", {})
    return "".join(output.get("text", "")) + "".join("".join(v) for v in data.values() if isinstance(v, (str, list)))


def test_notebooks_are_numbered_in_order():
    numbers = [int(re.match(r"(\d\d)_", p.name).group(1)) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_small_cited_and_opens_with_markdown(path):
    assert path.stat().st_size <= MAX_BYTES, "too large: strip audio players (make notebooks does)"
    cells = _cells(path)
    first = _source(cells[0])
    assert cells[0]["cell_type"] == "markdown" and "eqlib" in first
    assert DOI in first and "Mimilakis" in first, "cite the paper (with its DOI) in the first cell"
    assert cells[-1]["cell_type"] == "markdown"
    stray = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and _source(c).split("\n")[0].strip() == "md"]
    assert not stray, f"markdown cells {stray} start with a literal 'md' line"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markers_are_tags_and_checked_cells_have_stored_outputs(path):
    code = _code_cells(path)
    comments = [i for i, c in enumerate(code) if re.search(r"^\s*#\s*NBVAL_", _source(c), re.M)]
    assert not comments, f"code cells {comments}: use the cell tag, not a comment a student reads"
    empty = [i for i, c in enumerate(code) if CHECKED in c["metadata"].get("tags", []) and not c["outputs"]]
    assert not empty, f"code cells {empty} are tagged {CHECKED} but have no stored output: nbval compares nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_checks_its_numbers(path):
    code = _code_cells(path)
    checked = any(CHECKED in c["metadata"].get("tags", []) for c in code)
    asserted = any(re.search(r"^\s*assert ", _source(c), re.M) for c in code)
    solved = any("assert " in sol for sol in solutions(path).values())
    assert checked or asserted or solved, "no checked output and no assert: a run can only fail by crashing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_readable_without_running(path):
    code = _code_cells(path)
    assert any(c["outputs"] for c in code), "committed without outputs: run `make notebooks`"
    first_output = "".join(_output_text(o) for o in code[0]["outputs"])
    assert re.search(r"^mode: (quick|class|full)\b", first_output, re.M), "the first code cell must print the mode"
    outputs = [o for c in code for o in c["outputs"]]
    if any("plt.show()" in _source(c) for c in code):
        assert any("image/png" in o.get("data", {}) for o in outputs), "plots are missing from the outputs"
    blob = json.dumps(outputs)
    assert "<audio" not in blob and "data:audio" not in blob, "audio players left in the outputs"
    errors = [o.get("ename") for o in outputs if o.get("output_type") == "error"]
    assert not errors, f"stored outputs hold errors: {errors}"


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_have_hidden_solutions_that_run(path):
    found = exercises(path)
    number = int(path.name[:2])
    assert len(found) >= 3, f"{len(found)} exercises; at least three per notebook"
    assert set(KINDS) <= set(found.values()), f"kinds {sorted(set(found.values()))}; want each of {KINDS}"
    assert all(int(i.split(".")[0]) == number for i in found), f"exercise ids {list(found)} must start with {number}."
    code = solutions(path)
    assert set(code) == set(found), f"exercises {sorted(found)} vs solutions {sorted(code)}"
    assert all(code.values()), "every solution needs a ```python block: its code is what run_solution executes"
    cells = _cells(path)
    for exercise_id in found:
        holder = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and
                  re.search(rf"<summary>Solution {re.escape(exercise_id)}</summary>", _source(c))]
        runs = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and
                exercise_id in RUN_CALL.findall(_source(c))]
        assert len(holder) == 1 and len(runs) == 1, f"solution {exercise_id}: {holder} blocks, run cells {runs}"
        assert runs[0] > holder[0], f"solution {exercise_id} runs before it is written"
        assert "solution" in cells[runs[0]]["metadata"].get("tags", []), f"tag the cell running {exercise_id}"


def test_exercise_patterns_match_the_documented_format():
    text = ("**Exercise 3.2 (change and observe).** Do it.\n\n<details><summary>Solution 3.2</summary>\n\nWhy.\n\n"
            "```python\nx = 1\nassert x == 1\n```\n</details>")
    assert EXERCISE.search(text)["kind"] == "change and observe"
    body = SOLUTION.search(text)["body"]
    assert CODE.search(body)["code"] == "x = 1\nassert x == 1\n"
    assert RUN_CALL.findall('run_solution("3.2")') == ["3.2"]


def test_notebook_04_shows_the_committed_error_table():
    """In class mode (``make notebooks``) notebook 04 scores the same 150 test pairs with the same weights as
    ``make figures``: a saved table that differs from ``figures/04_errors.md`` is left from other weights or another
    machine (rebuild it: ``make notebooks NOTEBOOKS=notebooks/04_frequency_responses.ipynb``)."""
    path = next(p for p in NOTEBOOKS if p.name.startswith("04_"))
    tables = ["".join(o["data"]["text/markdown"]).strip() for c in _code_cells(path) for o in c["outputs"]
              if "text/markdown" in o.get("data", {})]
    committed = (path.parent.parent / "figures" / "04_errors.md").read_text().strip()
    assert tables == [committed]
