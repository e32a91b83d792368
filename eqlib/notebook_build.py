"""The committed notebooks, with their outputs: ``python -m eqlib.notebook_build`` (``make notebooks``).

Runs each notebook top to bottom in a fresh kernel in one mode (default ``class``, :mod:`eqlib.runtime`), then makes
the result fit for the repository before writing it back in place:

- audio players (base64 WAVs, megabytes each) are replaced by a one-line note, tables and text around them kept;
- widget outputs (the EQ panel, pair pickers), which need a live kernel, become a one-line note, and progress
  bars (tqdm widgets) are dropped;
- outputs of solution cells (``run_solution``) are dropped: a reader opens the solution, not its printout;
- no execution timings, so that a rerun changes only what the run computed.

A notebook is written only if it ran without error and stays under ``MAX_BYTES``; otherwise the file is left as
it was and the command says why in one line and exits 1.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat

from eqlib.runtime import MODE_ENV, MODES, pin_cpu_kernels, repo_root

MAX_BYTES = 3_000_000  # per committed notebook
AUDIO = re.compile(r"<audio\b.*?</audio>", re.S | re.I)
AUDIO_NOTE = "<i>(audio player removed from the committed notebook: run the cell to listen)</i>"
WIDGET_NOTE = "(interactive widget: run the notebook to use it)"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PROGRESS_BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")  # what a tqdm widget shows as text
SOLUTION_TAG = "solution"
CELL_TIMEOUT_S = 1800


class NotebookBuildError(RuntimeError):
    """A notebook that failed to run, or whose outputs are too large to commit."""


def strip_for_commit(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with audio players, widget views and solution outputs replaced or dropped (see module doc), in place."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            cell.outputs, cell.execution_count = [], None
            continue
        outputs = []
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_MIME in data:
                if not PROGRESS_BAR.search(str(data.get("text/plain", ""))):
                    outputs.append(nbformat.v4.new_output("display_data", data={"text/plain": WIDGET_NOTE}))
                continue
            if "text/html" in data and AUDIO.search(data["text/html"]):
                data["text/html"] = AUDIO.sub(AUDIO_NOTE, data["text/html"])
            outputs.append(out)
        cell.outputs = outputs
    return nb


def build(path: Path, mode: str = "class", timeout_s: int = CELL_TIMEOUT_S) -> tuple[int, float]:
    """Execute the notebook at ``path`` in ``mode`` and write it back stripped; return (bytes written, seconds).

    Raises :class:`NotebookBuildError` (the file untouched) if a cell fails or the result exceeds ``MAX_BYTES``.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if mode not in MODES:
        raise NotebookBuildError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    nb = nbformat.read(path, as_version=4)
    os.environ[MODE_ENV] = mode  # the kernel inherits the environment
    started = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", record_timing=False,
                            store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        raise NotebookBuildError(f"{path.name}: a cell failed: {err.ename}: {err.evalue}") from err
    text = nbformat.writes(strip_for_commit(nb)) + "\n"
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise NotebookBuildError(f"{path.name}: {size / 1e6:.1f} MB with outputs, over the {MAX_BYTES / 1e6:.0f} MB limit")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return size, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eqlib.notebook_build", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--mode", choices=MODES, default="class", help="run mode (default: class)")
    args = parser.parse_args(argv)
    pin_cpu_kernels()  # the kernels inherit this process's environment
    paths = args.notebooks or sorted((repo_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        if not path.is_file():
            print(f"eqlib.notebook_build: error: {path}: no such notebook", file=sys.stderr)
            return 2
    for path in paths:
        print(f"running {path.name} ({args.mode} mode) …", flush=True)
        try:
            size, seconds = build(path, args.mode)
        except NotebookBuildError as err:
            print(f"eqlib.notebook_build: error: {err}", file=sys.stderr)
            return 1
        print(f"wrote {path.name}: {size / 1e6:.2f} MB in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
