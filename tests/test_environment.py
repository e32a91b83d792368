"""environment.yml, pyproject.toml and the Makefile describe the same install."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from eqlib.runtime import repo_root

ROOT = repo_root()


@pytest.fixture(scope="module")
def conda_env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda_deps(env: dict) -> tuple[list[str], list[str]]:
    """(conda specs, pip specs) of an environment.yml."""
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [p for d in env["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    return conda, pip


def _makefile_torch_pin() -> str:
    match = re.search(r"^TORCH_PIN\s*:?=\s*(\S+)\s*$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile has no TORCH_PIN := torch==X.Y.Z line"
    return match.group(1)


def test_environment_name_and_pip(conda_env: dict) -> None:
    conda, pip = _conda_deps(conda_env)
    assert conda_env["name"] == "eqlib"
    assert "pip" in conda
    assert pip, "environment.yml installs nothing with pip"


def test_python_version_satisfies_requires_python(conda_env: dict, pyproject: dict) -> None:
    conda, _ = _conda_deps(conda_env)
    pythons = [re.fullmatch(r"python\s*=+\s*(\d+)\.(\d+)(?:\.\*)?", d) for d in conda]
    pythons = [m for m in pythons if m]
    assert len(pythons) == 1, f"environment.yml must pin python=X.Y once, found {conda}"
    version = ".".join(pythons[0].groups())
    requires = pyproject["project"]["requires-python"]
    assert SpecifierSet(requires).contains(version), f"environment.yml python {version} violates {requires!r}"


def test_torch_pin_matches_makefile_and_comes_first(conda_env: dict, pyproject: dict) -> None:
    _, pip = _conda_deps(conda_env)
    pin = _makefile_torch_pin()
    assert re.fullmatch(r"torch==\d+\.\d+\.\d+", pin), pin
    assert pip[0] == pin, f"environment.yml must pip-install {pin} first, got {pip[0]!r}"
    # the pinned version also satisfies the package's own torch requirement
    (torch_req,) = [d for d in pyproject["project"]["dependencies"] if re.match(r"torch\b", d)]
    minimum = re.fullmatch(r"torch>=(\d+)\.(\d+)", torch_req)
    assert minimum, f"unexpected torch requirement {torch_req!r}"
    pinned = tuple(int(x) for x in pin.split("==")[1].split(".")[:2])
    assert pinned >= tuple(int(g) for g in minimum.groups())


def test_editable_dev_install_present(conda_env: dict, pyproject: dict) -> None:
    _, pip = _conda_deps(conda_env)
    assert "-e .[dev]" in pip
    assert pip.index("-e .[dev]") > pip.index(_makefile_torch_pin())
    assert "dev" in pyproject["project"]["optional-dependencies"]
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -e '.[dev]'" in makefile
    assert makefile.index("$(TORCH_PIN)") < makefile.index("pip install -e '.[dev]'")


def _imported_top_modules(folder) -> set[str]:
    """Top-level names of every absolute import in ``folder``'s Python files."""
    import ast

    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _installed_closure(requirements: list[str]) -> set[str]:
    """Normalised names of ``requirements`` and of everything they require (installed metadata, extras left out)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in metadata.requires(req.name) or []]
        except metadata.PackageNotFoundError:
            pass
    return seen


def test_every_module_the_tests_import_is_installed_by_make_setup(pyproject: dict) -> None:
    """A clean clone's `make setup` (the dependencies and the dev extras, and what they require) installs every
    third-party module that tests/ imports (e.g. hypothesis for the fuzz suite)."""
    import sys
    from importlib import metadata

    from packaging.utils import canonicalize_name

    project = pyproject["project"]
    installed = _installed_closure(project["dependencies"] + project["optional-dependencies"]["dev"])
    local = {p.stem for folder in ("tests", "benchmarks") for p in (ROOT / folder).rglob("*.py")} | {"eqlib"}
    providers = metadata.packages_distributions()
    missing = {}
    for module in _imported_top_modules(ROOT / "tests") - set(sys.stdlib_module_names) - local:
        dists = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not dists & installed:
            missing[module] = sorted(dists)
    assert not missing, f"tests import modules that pyproject.toml does not install: {missing}"
