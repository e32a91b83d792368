"""Run modes: EQLIB_MODE chooses quick, class or full; EQLIB_QUICK=1 still means quick; bad values are named."""

from __future__ import annotations

import os

import pytest

from eqlib.runtime import (KERNEL_CAPS, MODES, by_mode, figures_dir, is_quick, mode, mode_note,
                           pin_cpu_kernels, repo_root)


@pytest.mark.parametrize("mode_env, quick_env, expected", [
    (None, None, "full"), (None, "1", "quick"), (None, "0", "full"), (None, "no", "full"),
    ("class", None, "class"), ("CLASS", "1", "class"), ("full", "1", "full"), (" quick ", "0", "quick"), ("", "1", "quick"),
])
def test_mode_follows_eqlib_mode_then_eqlib_quick(monkeypatch, mode_env, quick_env, expected) -> None:
    for name, value in (("EQLIB_MODE", mode_env), ("EQLIB_QUICK", quick_env)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert mode() == expected and is_quick() == (expected == "quick")
    assert by_mode(quick=1, class_=2, full=3) == {"quick": 1, "class": 2, "full": 3}[expected]
    assert mode_note().startswith(f"mode: {expected} (")


def test_an_unknown_mode_is_named_with_the_valid_ones(monkeypatch) -> None:
    monkeypatch.setenv("EQLIB_MODE", "lecture")
    with pytest.raises(ValueError, match="EQLIB_MODE='lecture' is not a mode; use one of quick, class, full"):
        mode()


def test_only_full_mode_writes_the_committed_figures(monkeypatch) -> None:
    for chosen in MODES:
        monkeypatch.setenv("EQLIB_MODE", chosen)
        expected = repo_root() / "figures" if chosen == "full" else repo_root() / "cache" / f"figures-{chosen}"
        assert figures_dir() == expected


def test_the_kernel_caps_are_set_unless_the_caller_chose_them(monkeypatch) -> None:
    first, second = KERNEL_CAPS
    monkeypatch.delenv(first, raising=False)
    monkeypatch.setenv(second, "SSE41")
    assert pin_cpu_kernels() == {first: KERNEL_CAPS[first], second: "SSE41"}
    assert os.environ[first] == KERNEL_CAPS[first] and os.environ[second] == "SSE41"
