"""The comparison behind `make figures-check`, on small synthetic files: numbers exactly, images within a tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eqlib.figures_check import (FRACTION_TOLERANCE, LEVEL_TOLERANCE, compare_folders, compare_image, compare_text,
                                 environment_report, main)

TABLE = """## Evaluation results

Regenerate with `python -m eqlib.evaluate --sets cross-chain`.

| system | response (dB) |
|---|---:|
| identity | 4.47 ± 0.29 |
| proposed_db | **3.24 ± 0.19** |
"""


def _png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def _picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(400, 500, 3))


def test_identical_numbers_pass_and_one_changed_digit_drifts() -> None:
    assert compare_text(TABLE, TABLE) == (False, "4 numbers identical")
    drift, detail = compare_text(TABLE, TABLE.replace("3.24", "3.25"))
    assert drift and detail == "1 of 4 numbers differ; first on line 8: 3.24 → 3.25"


def test_commands_and_paths_in_code_spans_are_not_results() -> None:
    moved = TABLE.replace("--sets cross-chain`", "--sets cross-chain --out /tmp/check123/results.md`")
    assert compare_text(TABLE, moved) == (False, "4 numbers identical")


def test_changed_words_drift_even_with_the_same_numbers() -> None:
    drift, detail = compare_text(TABLE, TABLE.replace("identity", "identity (examples)"))
    assert drift and detail == "text differs in 1 place; first: line 7 changed"


def test_a_missing_row_drifts() -> None:
    drift, detail = compare_text(TABLE, TABLE.replace("| identity | 4.47 ± 0.29 |\n", ""))
    assert drift and detail == "text differs in 1 place; first: line 7 of the committed file removed"


def test_an_added_line_is_named_and_the_numbers_after_it_still_compared() -> None:
    added = TABLE.replace("\n| system", "\nBuilt from corpora music (SHA-256 9207dcc902a5e1f6).\n\n| system")
    drift, detail = compare_text(TABLE, added.replace("0.19", "0.18"))
    assert drift and detail == ("1 of 4 numbers differ; first on line 10: 0.19 → 0.18; "
                                "text differs in 1 place; first: lines 4–5 added")


def test_image_within_tolerance_passes(tmp_path) -> None:
    pixels = _picture()
    noisy = pixels.copy()
    noisy[10:13, 20:26] = np.clip(noisy[10:13, 20:26] + 3, 0, 255)  # 18 pixels, 3 levels: floating point between CPUs
    drift, detail = compare_image(_png(tmp_path / "a.png", pixels), _png(tmp_path / "b.png", noisy))
    assert not drift and detail == "18 of 200000 pixels differ, by up to 3 levels"


def test_a_changed_glyph_drifts(tmp_path) -> None:
    pixels = _picture()
    glyph = pixels.copy()
    glyph[100:112, 200:207] = 255 - glyph[100:112, 200:207]  # 84 pixels inverted: a digit redrawn
    drift, detail = compare_image(_png(tmp_path / "a.png", pixels), _png(tmp_path / "b.png", glyph))
    assert drift and detail.startswith("84 of 200000 pixels differ, by up to ")
    assert int(detail.rsplit(" ", 2)[-2]) > LEVEL_TOLERANCE


def test_many_small_changes_drift(tmp_path) -> None:
    pixels = _picture()
    shifted = pixels.copy()
    flat = shifted.reshape(-1, 3)  # a view: one level off in just over FRACTION_TOLERANCE of the pixels
    count = int(FRACTION_TOLERANCE * flat.shape[0]) + 1
    flat[:count] = np.where(flat[:count] < 255, flat[:count] + 1, flat[:count] - 1)
    drift, _ = compare_image(_png(tmp_path / "a.png", pixels), _png(tmp_path / "b.png", shifted))
    assert drift


def test_another_size_drifts(tmp_path) -> None:
    drift, detail = compare_image(_png(tmp_path / "a.png", _picture()), _png(tmp_path / "b.png", _picture()[:-1]))
    assert drift and detail == "size 500×399 px, committed 500×400 px"


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    committed, regenerated = tmp_path / "committed", tmp_path / "regenerated"
    for folder in (committed, regenerated):
        folder.mkdir()
        _png(folder / "04_responses_pair0.png", _picture())
        (folder / "results.md").write_text(TABLE)
    _png(committed / "01_slider_panel.png", _picture(1))  # a screenshot: not regenerated, not compared
    return committed, regenerated


def test_folders_name_each_file_that_drifts(folders) -> None:
    committed, regenerated = folders
    (regenerated / "results.md").write_text(TABLE.replace("4.47", "4.48"))
    (committed / "04_errors.md").write_text("| a | 1.00 |\n")
    (regenerated / "new.md").write_text("x\n")
    verdicts = {c.name: (c.drift, c.detail) for c in compare_folders(committed, regenerated, skip=("01_slider_panel.png",))}
    assert verdicts == {"04_errors.md": (True, "committed, but not regenerated"),
                        "04_responses_pair0.png": (False, "0 of 200000 pixels differ"),
                        "new.md": (True, "regenerated, but not committed"),
                        "results.md": (True, "1 of 4 numbers differ; first on line 7: 4.47 → 4.48")}


def test_command_line_exit_status_and_report(folders, capsys) -> None:
    committed, regenerated = folders
    assert main(["--committed", str(committed), "--regenerated", str(regenerated)]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-2:] == [
        "all 2 files reproduce the committed ones",
        "environment: not compared (results.md missing in a folder, or it does not record its environment)"]
    _png(regenerated / "04_responses_pair0.png", _picture(2))
    assert main(["--committed", str(committed), "--regenerated", str(regenerated)]) == 1
    assert "drift in 1 of 2 files: 04_responses_pair0.png" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["--regenerated", str(regenerated / "nope")])
    assert exit_info.value.code == 2 and "no such folder" in capsys.readouterr().err


def test_the_environment_line_names_what_changed_between_the_two_results(folders) -> None:
    committed, regenerated = folders
    computed_with = ("Computed with `torch 2.13.0+cpu`, `numpy 2.4.6`; CPU kernels capped by `DNNL_MAX_CPU_ISA=AVX2`; "
                     "CPU `AuthenticAMD x86_64 avx512f`.")
    for folder in folders:
        (folder / "results.md").write_text(TABLE.replace("`.\n", f"`. {computed_with}\n", 1))
    assert environment_report(committed, regenerated) == (
        "environment: the same packages, kernel caps and CPU as the committed files")
    elsewhere = (computed_with.replace("numpy 2.4.6", "numpy 2.5.0").replace("AuthenticAMD", "GenuineIntel")
                 .replace("CPU kernels capped by `DNNL_MAX_CPU_ISA=AVX2`", "CPU kernels as the CPU chose them"))
    (regenerated / "results.md").write_text(TABLE.replace("`.\n", f"`. {elsewhere}\n", 1))
    assert environment_report(committed, regenerated) == (
        "environment, committed → this run: numpy: 2.4.6 → 2.5.0; DNNL_MAX_CPU_ISA: AVX2 → —; "
        "CPU: AuthenticAMD x86_64 avx512f → GenuineIntel x86_64 avx512f")
    (committed / "results.md").write_text(TABLE)  # written before the environment was recorded
    assert environment_report(committed, regenerated).startswith("environment: not compared")
