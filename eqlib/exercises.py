"""Exercises in the notebooks: each solution written once, hidden until opened, and run on every execution.

An exercise is a markdown cell that starts ``**Exercise 1.2 (predict).**`` (kinds: ``KINDS``). Its solution is
a collapsed HTML block in a markdown cell, reasoning first, then the code that checks it::

    <details><summary>Solution 1.2</summary>

    Because …

    ```python
    print(...)
    assert ...
    ```
    </details>

The code cell below it, ``run_solution("1.2")``, reads that block from the notebook file and runs its code in
the notebook's namespace. So the solution stays hidden on GitHub and in JupyterLab until the reader opens it,
and it is executed (with its ``assert`` statements) whenever the notebook runs, by nbval in CI too.
"""

from __future__ import annotations

import re
from pathlib import Path

from eqlib.runtime import repo_root

KINDS = ("derive", "predict", "change and observe")
EXERCISE = re.compile(r"\*\*Exercise (?P<id>\d+\.\d+) \((?P<kind>[a-z ]+)\)\.\*\*")
SOLUTION = re.compile(r"<details><summary>Solution (?P<id>\d+\.\d+)</summary>(?P<body>.*?)</details>", re.S)
CODE = re.compile(r"^```python\n(?P<code>.*?)^```", re.S | re.M)
RUN_CALL = re.compile(r"^run_solution\(\"(?P<id>\d+\.\d+)\"\)$", re.M)


def notebook_path(number: int) -> Path:
    """The notebook ``NN_*.ipynb``: in the working folder (where Jupyter and nbval start a notebook's kernel), else in
    the repository's ``notebooks/``. Raises ``FileNotFoundError`` naming both places."""
    for folder in (Path.cwd(), repo_root() / "notebooks"):
        found = sorted(folder.glob(f"{number:02d}_*.ipynb"))
        if found:
            return found[0]
    raise FileNotFoundError(f"no notebook {number:02d}_*.ipynb in {Path.cwd()} or {repo_root() / 'notebooks'}")


def _markdown(path: Path) -> str:
    import json

    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def exercises(path: Path) -> dict[str, str]:
    """Exercise id → kind (one of ``KINDS``, else whatever the heading says) of a notebook, in order."""
    return {m["id"]: m["kind"] for m in EXERCISE.finditer(_markdown(path))}


def solutions(path: Path) -> dict[str, str]:
    """Exercise id → the Python code of its solution block (every ```` ```python ```` block in it, joined)."""
    return {m["id"]: "\n".join(c["code"] for c in CODE.finditer(m["body"])) for m in SOLUTION.finditer(_markdown(path))}


def run_solution(exercise_id: str, namespace: dict | None = None) -> None:
    """Run the code of solution ``exercise_id`` (e.g. ``"1.2"``, from notebook 01) in ``namespace`` (default: the
    IPython user namespace, i.e. the notebook's variables). Errors, failed ``assert`` included, propagate."""
    path = notebook_path(int(exercise_id.split(".")[0]))
    code = solutions(path).get(exercise_id)
    if not code:
        raise ValueError(f"{path.name} has no solution {exercise_id} with a ```python block")
    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("run_solution needs a namespace outside IPython/Jupyter")
        namespace = shell.user_ns
    exec(compile(code, f"<solution {exercise_id}>", "exec"), namespace)
