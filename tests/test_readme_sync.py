"""README numbers cannot drift: every generated block (README.md, docs/experiments.md) equals what its file gives,
the CLI transcript equals a fresh run with the shipped weights, every link between the documents resolves, and the
block machinery itself is checked on hand-made inputs."""

from __future__ import annotations

import re

import pytest
from printouts import first_difference, same_printout

from eqlib.evaluate import reference_chain_table
from eqlib.readme_sync import (CLI_EXAMPLE, DOCUMENTS, ReadmeSyncError, application_cases_table, application_effects_table,
                               application_shares_table,
                               find_blocks, main, reference_chains_table, refreshed, response_table, stale_blocks,
                               write_cli_example)
from eqlib.runtime import repo_root

RESULTS = """## Evaluation results

Regenerate with `python -m eqlib.evaluate …`.

### set-a (3 pairs)

| system | response (dB) | gain (dB) |
|---|---:|---:|
| identity | 4.00 ± 0.50 | **7.00 ± 1.00** |
| model | **2.50 ± 0.40** | 8.00 ± 1.00 |

### set-b (2 pairs)

| system | response (dB) | gain (dB) |
|---|---:|---:|
| identity | **1.25 ± 0.10** | 6.00 ± 1.00 |
| model | 3.00 ± 0.20 | 5.00 ± 1.00 |

### Paired difference, model − identity, response_db

| set | pairs | mean ± 95 % CI |
|---|---:|---:|
| set-a | 3 | -1.50 ± 0.30 |
"""


@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_blocks_agree_with_their_files(document: str) -> None:
    text = (repo_root() / document).read_text(encoding="utf-8")
    assert find_blocks(text), f"{document} has no generated block"
    assert stale_blocks(text, repo_root()) == [], "run `python -m eqlib.readme_sync` (make figures does)"


def test_readme_shows_the_results_and_the_cli_transcript() -> None:
    paths = {b.path for b in find_blocks((repo_root() / "README.md").read_text(encoding="utf-8"))}
    assert {"figures/results.md", f"figures/{CLI_EXAMPLE}"} <= paths


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    text = heading.lstrip("#").strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@pytest.mark.parametrize("document", [*DOCUMENTS, "eqlib/weights/MODEL_CARD.md"])
def test_every_relative_link_resolves(document: str) -> None:
    """A link to a file names one that exists; a link to a section names a heading of that file."""
    def prose(path):  # the text outside code blocks
        return re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)

    path = repo_root() / document
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(path)):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(target)
        elif anchor and anchor not in {github_anchor(line) for line in prose(linked).splitlines()
                                       if line.startswith("#")}:
            broken.append(target)
    assert broken == [], f"{document}: links that lead nowhere: {broken}"


def test_cli_transcript_is_what_the_command_prints_now(tmp_path) -> None:
    committed = (repo_root() / "figures" / CLI_EXAMPLE).read_text()
    fresh = write_cli_example(tmp_path)[0].read_text()
    assert same_printout(fresh, committed), ("the shipped weights changed: run `make figures` to rewrite "
                                             f"figures/cli_example.txt\n{first_difference(fresh, committed)}")


def test_response_table_pivots_the_response_column_and_bolds_the_lowest_mean() -> None:
    assert response_table(RESULTS) == (
        "| system | set-a | set-b |\n"
        "|---|---:|---:|\n"
        "| `identity` | 4.00 ± 0.50 | **1.25 ± 0.10** |\n"
        "| `model` | **2.50 ± 0.40** | 3.00 ± 0.20 |")
    with pytest.raises(ReadmeSyncError, match="no section"):
        response_table("## nothing here\n")


def test_refresh_rewrites_blocks_and_check_reports_stale_ones(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "r.md").write_text(RESULTS)
    (tmp_path / "out" / "t.txt").write_text("$ eqlib match a b\nline\n")
    (tmp_path / "out" / "n.md").write_text("| a |\n|---|\n| 1 |\n")
    text = ("# Title\n\n<!-- generated from out/r.md as response-table -->\nold numbers\n<!-- end of generated block -->\n"
            "prose\n<!-- generated from out/t.txt -->\n<!-- end of generated block -->\n"
            "<!-- generated from out/n.md -->\n| a |\n|---|\n| 1 |\n<!-- end of generated block -->\nend\n")
    assert stale_blocks(text, tmp_path) == ["out/r.md", "out/t.txt"]
    new = refreshed(text, tmp_path)
    assert stale_blocks(new, tmp_path) == []
    assert "old numbers" not in new and "| `model` | **2.50 ± 0.40** |" in new
    assert "```text\n$ eqlib match a b\nline\n```\n<!-- end of generated block -->" in new
    assert new.startswith("# Title\n") and new.endswith("end\n") and "\nprose\n" in new
    assert refreshed(new, tmp_path) == new


def test_broken_markers_and_missing_files_are_one_line_errors(tmp_path, capsys) -> None:
    with pytest.raises(ReadmeSyncError, match="line 2: block from a.md has no"):
        find_blocks("x\n<!-- generated from a.md -->\ntext\n<!-- generated from b.md -->\n<!-- end of generated block -->\n")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- generated from figures/nope.md -->\n<!-- end of generated block -->\n")
    assert main(["--documents", str(readme)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "figures/nope.md: cannot read it" in err and "Traceback" not in err


def test_check_exits_1_and_leaves_the_readme_alone(tmp_path, capsys) -> None:
    readme = tmp_path / "README.md"
    text = "<!-- generated from figures/results.md as response-table -->\nstale\n<!-- end of generated block -->\n"
    readme.write_text(text)
    assert main(["--check", "--documents", str(readme)]) == 1
    assert readme.read_text() == text and "stale: README.md block from figures/results.md" in capsys.readouterr().out
    assert main(["--documents", str(readme)]) == 0 and main(["--check", "--documents", str(readme)]) == 0


def test_application_cases_view_gives_one_row_per_system():
    text = """### cross-chain (2 pairs)

| system | response (dB) |
|---|---:|
| a | 1.00 ± 0.10 |

### The application cases

Words.

| system | problem | where | right answer (dB) | predicted (dB, mean ± 95 % CI) | right direction | within ±4 dB | case right |
|---|---|---|---:|---:|---:|---:|:---:|
| a | harsh sibilance | reference has it | +8.2 | +7.0 ± 1.0 | 2/2 | 2/2 | yes |
| a | muddy bass | input has it | -5.1 | -0.5 ± 0.4 | 2/2 | 0/2 | no |
| b | harsh sibilance | reference has it | +8.2 | -1.0 ± 1.0 | 0/2 | 0/2 | no |
| b | muddy bass | input has it | -5.1 | -4.0 ± 0.4 | 2/2 | 2/2 | yes |
"""
    assert application_cases_table(text).splitlines() == [
        "| system | harsh sibilance, reference has it (+8.2 dB) | muddy bass, input has it (-5.1 dB) | cases right |",
        "|---|---:|---:|---:|",
        "| `a` | +7.0 ± 1.0 ✓ | -0.5 ± 0.4 | 1/2 |",
        "| `b` | -1.0 ± 1.0 | -4.0 ± 0.4 ✓ | 1/2 |",
    ]
    assert response_table(text).splitlines()[2] == "| `a` | **1.00 ± 0.10** |"  # the cases section is not a set
    with pytest.raises(ReadmeSyncError, match="--application-cases"):
        application_cases_table(text.split("### The application cases")[0])


def test_application_effects_view_gives_per_problem_the_control_then_each_direction():
    text = """### The application cases

| system | problem | where | right answer (dB) | predicted (dB, mean ± 95 % CI) | right direction | within ±4 dB | case right |
|---|---|---|---:|---:|---:|---:|:---:|
| a | muddy bass | reference has it | +5.1 | +4.0 ± 1.0 | 2/2 | 2/2 | yes |

### What the problem itself moved

Words.

| system | problem | where | right answer (dB) | without the problem (dB) | the problem's effect (dB) | share of the right answer |
|---|---|---|---:|---:|---:|---:|
| a | muddy bass | reference has it | +5.1 | +0.5 ± 1.0 | +3.5 ± 0.5 | 69% |
| a | muddy bass | input has it | -5.1 | +0.5 ± 1.0 | -0.6 ± 0.4 | 12% |
| b | muddy bass | reference has it | +5.1 | -1.0 ± 0.2 | +5.0 ± 0.1 | 98% |
| b | muddy bass | input has it | -5.1 | -1.0 ± 0.2 | -5.1 ± 0.1 | 100% |
"""
    assert application_effects_table(text).splitlines() == [
        "| system | muddy bass: without it | muddy bass, reference has it (+5.1 dB) | muddy bass, input has it (-5.1 dB) |",
        "|---|---:|---:|---:|",
        "| `a` | +0.5 ± 1.0 | +3.5 ± 0.5 (69%) | -0.6 ± 0.4 (12%) |",
        "| `b` | -1.0 ± 0.2 | +5.0 ± 0.1 (98%) | -5.1 ± 0.1 (100%) |",
    ]
    assert application_cases_table(text).splitlines()[2] == "| `a` | +4.0 ± 1.0 ✓ | 1/1 |"  # its own section
    with pytest.raises(ReadmeSyncError, match="--application-cases"):
        application_effects_table(text.split("### What the problem itself moved")[0])


def test_application_shares_view_is_the_share_section_table():
    text = """### What the problem itself moved

| system | problem | where | right answer (dB) | without the problem (dB) | the problem's effect (dB) | share of the right answer |
|---|---|---|---:|---:|---:|---:|
| a | +9 dB bell at 125 Hz | reference has it | +6.0 | +0.5 ± 1.0 | +3.0 ± 0.5 | 50% |

### The share of each problem followed

Words.

| problem | `a`: reference has it | `a`: input has it |
|---|---:|---:|
| +9 dB bell at 125 Hz | 50% | 10% |
"""
    assert application_shares_table(text).splitlines() == [
        "| problem | `a`: reference has it | `a`: input has it |", "|---|---:|---:|",
        "| +9 dB bell at 125 Hz | 50% | 10% |"]
    with pytest.raises(ReadmeSyncError, match="--case-bells"):
        application_shares_table(text.split("### The share of each problem followed")[0])


def test_reference_chains_view_is_evaluates_by_chain_table_with_systems_as_code():
    import numpy as np

    chains = np.array(["vctk", "ljspeech"])
    written = "### cross-chain (2 pairs)\n\n| system | response (dB) |\n|---|---:|\n| a | 1.00 ± 0.10 |\n\n" + \
        reference_chain_table({"a": {"response_db": np.array([1.0, 5.0]), "reference_chain": chains}})
    assert reference_chains_table(written).splitlines() == [
        "| system | ljspeech (1) | vctk (1) |", "|---|---:|---:|", "| `a` | 5.00 | 1.00 |"]
    assert response_table(written).splitlines()[2] == "| `a` | **1.00 ± 0.10** |"  # the by-chain table is not a set
    with pytest.raises(ReadmeSyncError, match="cross-chain"):
        reference_chains_table(written.split("### cross-chain by")[0])
