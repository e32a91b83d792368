"""make notebooks: outputs fit for the repository (no audio, no dead widgets, no solution printouts), and a failing
notebook is reported in one line and left untouched."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from eqlib.notebook_build import AUDIO_NOTE, WIDGET_MIME, WIDGET_NOTE, NotebookBuildError, build, strip_for_commit


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# test"), *(new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def test_strip_replaces_audio_and_widgets_and_drops_solution_outputs() -> None:
    nb = _notebook("show()", "panel", 'run_solution("1.1")')
    player = '<audio controls="controls"><source src="data:audio/wav;base64,UklGR' + "A" * 5000 + '"/></audio>'
    nb.cells[1].outputs = [new_output("display_data", data={"text/html": f"<table><td>{player}</td></table><p>EQ</p>",
                                                            "text/plain": "<HTML>"}),
                           new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    nb.cells[2].outputs = [new_output("display_data", data={WIDGET_MIME: {"model_id": "x"}, "text/plain": "VBox()"}),
                           new_output("display_data", data={WIDGET_MIME: {"model_id": "y"},
                                                            "text/plain": "bank:  25%|██▌       | 1/4 [00:00<00:01,  2.2it/s]"})]
    nb.cells[3].metadata["tags"] = ["solution"]
    nb.cells[3].outputs = [new_output("stream", name="stdout", text="the answer\n")]
    strip_for_commit(nb)
    html = nb.cells[1].outputs[0]["data"]["text/html"]
    assert "<audio" not in html and "base64" not in html and AUDIO_NOTE in html and "<p>EQ</p>" in html
    assert nb.cells[1].outputs[1]["data"]["image/png"] == "iVBORw0KGgo="  # plots are kept
    assert "execution" not in nb.cells[1].metadata
    assert nb.cells[2].outputs[0]["data"] == {"text/plain": WIDGET_NOTE}
    assert nb.cells[3].outputs == []


def test_build_runs_in_the_mode_and_writes_outputs(tmp_path) -> None:
    path = tmp_path / "01_test.ipynb"
    nbformat.write(_notebook("from eqlib.runtime import mode_note\nprint(mode_note())",
                             "from IPython.display import Audio, display\nimport numpy as np\n"
                             "display(Audio(np.zeros(800), rate=8000, normalize=False))"), path)
    size, _ = build(path, "quick")
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].outputs[0]["text"].startswith("mode: quick")
    assert AUDIO_NOTE in nb.cells[2].outputs[0]["data"]["text/html"]
    assert size == path.stat().st_size


def test_a_failing_notebook_is_reported_and_left_untouched(tmp_path) -> None:
    path = tmp_path / "02_fails.ipynb"
    nbformat.write(_notebook("print('fine')", "raise ValueError('the reason')"), path)
    before = path.read_bytes()
    with pytest.raises(NotebookBuildError, match="02_fails.ipynb: a cell failed: ValueError: the reason"):
        build(path, "quick")
    assert path.read_bytes() == before
