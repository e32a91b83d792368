"""run_solution executes the code written in a notebook's hidden solution block, in the notebook's namespace."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from eqlib.exercises import exercises, notebook_path, run_solution, solutions

SOLUTION_MD = """**Exercise 9.1 (derive).** What is 6 × 7?

<details><summary>Solution 9.1</summary>

Multiply.

```python
answer = factor * 7
assert answer == 42
```

And keep the result:

```python
kept = answer
```
</details>
"""


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    nb = new_notebook(cells=[new_markdown_cell(SOLUTION_MD), new_code_cell('run_solution("9.1")'),
                             new_markdown_cell("**Exercise 9.2 (predict).** No solution yet.")])
    nbformat.write(nb, tmp_path / "09_test.ipynb")
    monkeypatch.chdir(tmp_path)  # Jupyter and nbval start a notebook's kernel in the notebook's folder
    return tmp_path


def test_exercises_and_solutions_are_read_from_markdown(notebook_dir) -> None:
    path = notebook_path(9)
    assert path == notebook_dir / "09_test.ipynb"
    assert exercises(path) == {"9.1": "derive", "9.2": "predict"}
    assert solutions(path) == {"9.1": "answer = factor * 7\nassert answer == 42\n\nkept = answer\n"}


def test_run_solution_uses_the_namespace_and_its_asserts_can_fail(notebook_dir) -> None:
    namespace = {"factor": 6}
    run_solution("9.1", namespace)
    assert namespace["kept"] == 42
    with pytest.raises(AssertionError):
        run_solution("9.1", {"factor": 5})
    with pytest.raises(ValueError, match="no solution 9.2"):
        run_solution("9.2", {})


def test_a_missing_notebook_names_where_it_looked(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no notebook 99_"):
        notebook_path(99)
