"""README blocks written from files, so that no number in the README can drift from the file that measured it.

A generated block in ``README.md`` or ``docs/experiments.md`` (``DOCUMENTS``) is the text between two HTML
comments, which GitHub does not show::

    <!-- generated from figures/cli_example.txt -->
    ...
    <!-- end of generated block -->

``python -m eqlib.readme_sync`` rewrites every block of every document from its file (``make figures`` runs it after
:func:`eqlib.figures.make_all`); ``--check`` only lists stale blocks and exits 1 (``tests/test_readme_sync.py``
runs that check). How a file becomes a block (its *view*):

- a ``.md`` file is inserted as it is;
- any other file is inserted as a ``text`` code block;
- ``<!-- generated from figures/results.md as response-table -->``: the "response (dB)" column of every set in
  an ``eqlib.evaluate`` results file, one row per system and one column per set, the lowest mean in bold;
- ``as application-cases``: the application cases of a file written with ``--application-cases``, one row per
  system and one column per case;
- ``as application-effects``: the same cases' control section, one row per system: per problem the prediction
  without it, then the problem's effect and its share of the right answer in each direction;
- ``as reference-chains``: the cross-chain errors by the reference's chain of an ``eqlib.evaluate`` results file;
- ``as application-shares``: the share of each problem followed, of a file written with ``--case-bells``.

:func:`write_cli_example` runs ``eqlib match`` on two shipped clips and writes the transcript the README shows.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eqlib.runtime import repo_root

BEGIN = re.compile(r"<!-- generated from (?P<path>[^\s]+)(?: as (?P<view>[a-z-]+))? -->\n")
END = "<!-- end of generated block -->"
CLI_EXAMPLE = "cli_example.txt"
CLI_CLIPS = ("speech-p347-m", "speech-s5-f")  # committed examples: input (male VCTK), reference (female VCTK)
RESPONSE_COLUMN = "response (dB)"
DOCUMENTS = ("README.md", "docs/experiments.md")  # the documents with generated blocks, relative to the repository


class ReadmeSyncError(ValueError):
    """A README whose markers are broken, or a block whose file is missing or unreadable."""


@dataclass(frozen=True)
class Block:
    """One generated block: its source file (relative to the repository root), its view, and where its
    content starts and ends in the README text (character offsets)."""

    path: str
    view: str | None
    start: int
    end: int


def find_blocks(text: str) -> list[Block]:
    """Every generated block of a README text, in order; :class:`ReadmeSyncError` on an unterminated block."""
    blocks, pos = [], 0
    while (begin := BEGIN.search(text, pos)) is not None:
        end = text.find(END, begin.end())
        following = BEGIN.search(text, begin.end())
        if end < 0 or (following is not None and following.start() < end):
            line = text.count("\n", 0, begin.start()) + 1
            raise ReadmeSyncError(f"line {line}: block from {begin['path']} has no '{END}' before the next block")
        blocks.append(Block(begin["path"], begin["view"], begin.end(), end))
        pos = end + len(END)
    return blocks


def _sections(results_md: str) -> list[str]:
    """The ``### `` sections of a results file, each from its heading's text to the next heading."""
    return re.split(r"^### ", results_md, flags=re.M)[1:]


def _section(results_md: str, heading: str, how: str) -> str:
    """The first section whose heading starts with ``heading``; :class:`ReadmeSyncError` naming ``how`` to write
    one when there is none."""
    found = [section for section in _sections(results_md) if section.startswith(heading)]
    if not found:
        raise ReadmeSyncError(f"no '### {heading}' section ({how})")
    return found[0]


def _table_rows(section: str) -> list[list[str]]:
    """The cells of every table line of ``section``, stripped (header and separator included)."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("|")]


def response_table(results_md: str) -> str:
    """Markdown table of the "response (dB)" column of an ``eqlib.evaluate`` results file: systems × sets.

    Every ``### <set> (<n> pairs)`` section whose table has that column contributes one column; the lowest mean
    of each column is bold. Raises :class:`ReadmeSyncError` when no section has the column.
    """
    columns: dict[str, dict[str, str]] = {}
    for section in _sections(results_md):
        title = section.splitlines()[0]
        rows = _table_rows(section)
        if not rows or RESPONSE_COLUMN not in rows[0]:
            continue
        col = rows[0].index(RESPONSE_COLUMN)
        columns[re.sub(r" \(\d+ pairs\)$", "", title)] = {r[0]: r[col].replace("**", "") for r in rows[2:]}
    if not columns:
        raise ReadmeSyncError(f"no section with a '{RESPONSE_COLUMN}' column")
    systems = list(dict.fromkeys(s for values in columns.values() for s in values))
    best = {name: min(float(v.split("±")[0]) for v in values.values()) for name, values in columns.items()}

    def cell(name: str, system: str) -> str:
        value = columns[name].get(system, "–")
        return f"**{value}**" if value != "–" and float(value.split("±")[0]) == best[name] else value

    lines = ["| system | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| `{s}` | " + " | ".join(cell(name, s) for name in columns) + " |" for s in systems]
    return "\n".join(lines)


def application_cases_table(results_md: str) -> str:
    """Markdown table of the application cases of an ``eqlib.evaluate --application-cases`` file, one row per
    system: the mean predicted gain at each case's probe (± 95 % CI; the right answer in the header), ✓ where the
    case is right, and how many cases are. Raises :class:`ReadmeSyncError` when the file has no such section."""
    from eqlib.evaluate import APPLICATION_CASES  # the heading eqlib.evaluate writes

    rows = _table_rows(_section(results_md, APPLICATION_CASES, "python -m eqlib.evaluate --application-cases"))[2:]
    cases = list(dict.fromkeys(f"{problem}, {where} ({wanted} dB)" for _, problem, where, wanted, *_ in rows))
    cells: dict[str, dict[str, str]] = {}
    for system, problem, where, wanted, predicted, _, _, right in rows:
        cells.setdefault(system, {})[f"{problem}, {where} ({wanted} dB)"] = predicted + (" ✓" if right == "yes" else "")
    lines = ["| system | " + " | ".join(cases) + " | cases right |", "|---|" + "---:|" * (len(cases) + 1)]
    lines += [f"| `{system}` | " + " | ".join(found.get(c, "–") for c in cases)
              + f" | {sum(v.endswith('✓') for v in found.values())}/{len(cases)} |" for system, found in cells.items()]
    return "\n".join(lines)


def application_effects_table(results_md: str) -> str:
    """Markdown table of the application cases' control section of an ``eqlib.evaluate --application-cases`` file,
    one row per system: per problem, the probe gain without it (± 95 % CI), then the problem's effect in each
    direction with its share of the right answer. Raises :class:`ReadmeSyncError` when the file has no such
    section."""
    from eqlib.evaluate import APPLICATION_EFFECTS  # the heading eqlib.evaluate writes

    rows = _table_rows(_section(results_md, APPLICATION_EFFECTS, "python -m eqlib.evaluate --application-cases"))[2:]
    cells: dict[str, dict[str, str]] = {}
    for system, problem, where, wanted, control, effect, share in rows:
        found = cells.setdefault(system, {})
        found[f"{problem}: without it"] = control
        found[f"{problem}, {where} ({wanted} dB)"] = f"{effect} ({share})"
    columns = list(dict.fromkeys(column for found in cells.values() for column in found))
    lines = ["| system | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| `{system}` | " + " | ".join(found.get(c, "–") for c in columns) + " |"
              for system, found in cells.items()]
    return "\n".join(lines)


def reference_chains_table(results_md: str) -> str:
    """The table of the ``### cross-chain by the reference's chain`` section of an ``eqlib.evaluate`` results file
    (:func:`eqlib.evaluate.reference_chain_table`), system names as code. Raises :class:`ReadmeSyncError` when the
    file has no such section."""
    from eqlib.evaluate import BY_REFERENCE_CHAIN  # the heading eqlib.evaluate writes

    section = _section(results_md, BY_REFERENCE_CHAIN, "python -m eqlib.evaluate --sets cross-chain")
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return "\n".join(lines[:2] + [re.sub(r"^\| ([^|]+?) \|", r"| `\1` |", line) for line in lines[2:]])


def application_shares_table(results_md: str) -> str:
    """The table of the ``### The share of each problem followed`` section of an ``eqlib.evaluate --case-bells``
    file (:func:`eqlib.application.shares_table`). Raises :class:`ReadmeSyncError` when the file has no such
    section."""
    from eqlib.evaluate import APPLICATION_SHARES  # the heading eqlib.evaluate writes

    section = _section(results_md, APPLICATION_SHARES, "python -m eqlib.evaluate --application-cases --case-bells")
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


VIEWS: dict[str, Callable[[str], str]] = {"response-table": response_table, "application-cases": application_cases_table,
                                          "application-effects": application_effects_table,
                                          "reference-chains": reference_chains_table,
                                          "application-shares": application_shares_table}


def render(path: str, view: str | None, root: Path) -> str:
    """The block content for the file ``path`` (relative to ``root``) seen through ``view`` (see module doc)."""
    file = root / path
    try:
        text = file.read_text(encoding="utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError) as err:
        raise ReadmeSyncError(f"{path}: cannot read it ({err.__class__.__name__}); run `make figures`") from err
    if view is not None:
        if view not in VIEWS:
            raise ReadmeSyncError(f"{path}: unknown view {view!r}; known: {', '.join(VIEWS)}")
        return VIEWS[view](text)
    return text if file.suffix == ".md" else f"```text\n{text}\n```"


def refreshed(text: str, root: Path) -> str:
    """The README text with every generated block rewritten from its file."""
    out, pos = [], 0
    for block in find_blocks(text):
        out += [text[pos:block.start], render(block.path, block.view, root), "\n"]
        pos = block.end
    return "".join(out) + text[pos:]


def stale_blocks(text: str, root: Path) -> list[str]:
    """Source paths of the blocks whose content differs from what their file gives now."""
    return [b.path for b in find_blocks(text) if text[b.start:b.end] != render(b.path, b.view, root) + "\n"]


def write_cli_example(out_dir: Path, clips: Sequence[str] = CLI_CLIPS) -> list[Path]:
    """Run ``eqlib match`` on two committed clips (in a scratch folder) and write the transcript to
    ``out_dir/cli_example.txt``: the command line, then what it printed. Returns ``[path]``.

    Raises ``RuntimeError`` with the CLI's own error line if the command fails.
    """
    from eqlib.examples import example_path

    paths = [str(example_path(name).relative_to(repo_root())) for name in clips]
    args = ["match", *paths, "-o", "matched.wav", "--json", "eq.json"]
    with tempfile.TemporaryDirectory(prefix="eqlib-cli-example-") as scratch:
        for path in paths:  # the command reads the clips by the same relative paths a reader would type
            (Path(scratch) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(scratch) / path).symlink_to(repo_root() / path)
        run = subprocess.run([sys.executable, "-m", "eqlib", *args], cwd=scratch, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"eqlib {' '.join(args)} failed: {run.stderr.strip().splitlines()[-1:]}")
    path = Path(out_dir) / CLI_EXAMPLE
    path.write_text(f"$ eqlib {' '.join(args)}\n{run.stdout}")
    return [path]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eqlib.readme_sync", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list stale blocks; exit 1 if there are any")
    parser.add_argument("--documents", type=Path, nargs="+", default=[repo_root() / d for d in DOCUMENTS],
                        metavar="PATH", help=f"default: {' '.join(DOCUMENTS)}")
    args = parser.parse_args(argv)
    stale = []
    try:
        for document in args.documents:
            text = document.read_text(encoding="utf-8")
            stale_here = stale_blocks(text, repo_root())
            if stale_here and not args.check:
                document.write_text(refreshed(text, repo_root()), encoding="utf-8")
            stale += [(document.name, path) for path in stale_here]
    except (OSError, ReadmeSyncError) as err:
        print(f"eqlib.readme_sync: error: {err}", file=sys.stderr)
        return 2
    for document, path in stale:
        print(f"{'stale' if args.check else 'refreshed'}: {document} block from {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
