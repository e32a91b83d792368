"""End to end, as a person uses it: JupyterLab in Chromium, run notebook 08, upload two recordings, predict.

Uploads two shipped clips through the panel's file inputs, presses predict and checks that the three players
hold audio, that the sliders, the EQ readout and the prediction's table agree, that moving a slider re-renders
the processed player, and that the downloads appear. Prints the kernel-side prediction time it shows.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import pytest
from test_sliders_browser import _accept_kernel_dialog, _run_all_cells, _wait_kernel_idle

from eqlib.runtime import repo_root

NOTEBOOK = "08_match_your_recordings.ipynb"
CLIPS = {"input": "speech-p347-m.flac", "reference": "speech-s5-f.flac"}  # shipped in eqlib/data
TIMEOUT_S = 120.0

# The gain column of a band's row in a settings table inside ``selector``, as text.
TABLE_GAIN_JS = """([selector, band]) => {
  const row = [...document.querySelectorAll(selector + ' tr')]
    .find(tr => tr.cells.length > 1 && tr.cells[0].textContent.trim() === band);
  return row ? row.cells[1].textContent.trim() : null;
}"""
PLAYER_SRC_JS = "cls => { const a = document.querySelector('audio.' + cls); return a ? a.getAttribute('src') : null; }"


def _wait(condition, what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s:.0f} s"
        time.sleep(0.3)


def _player_src(page, role: str) -> str | None:
    return page.evaluate(PLAYER_SRC_JS, f"eqlib-match-player-{role}")


@pytest.mark.e2e
def test_upload_predict_listen_and_download(chromium_path, lab_server, browser_page) -> None:
    page = browser_page
    shots = Path(tempfile.mkdtemp(prefix="eqlib-e2e-screenshots-"))  # outlives pytest's tmp_path cleanup
    print(f"\nscreenshots: {shots}\njupyter log: {lab_server.log}")
    try:
        page.goto(lab_server.lab_url(NOTEBOOK))
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=TIMEOUT_S * 1000)
        _wait_kernel_idle(page)
        _run_all_cells(page)
        panel = page.locator(".eqlib-match-panel")

        def panel_shown() -> bool:
            if _accept_kernel_dialog(page):  # the dialog swallowed "Run All": ask again
                _wait_kernel_idle(page)
                _run_all_cells(page)
            return panel.count() > 0 and panel.first.is_visible()

        _wait(panel_shown, "the match panel's appearance")
        panel.scroll_into_view_if_needed()

        status = page.locator(".eqlib-match-status")
        for role, clip in CLIPS.items():
            with page.expect_file_chooser() as chooser:  # the upload button opens the browser's file dialog
                page.locator(f".eqlib-match-upload-{role}").click()
            chooser.value.set_files(str(repo_root() / "eqlib" / "data" / clip))
            _wait(lambda role=role, clip=clip: f"{role}: {clip}" in status.inner_text(), f"the {role} upload")
            assert (_player_src(page, role) or "").startswith("blob:"), f"the {role} player holds no audio"
        before = _player_src(page, "processed")

        page.locator(".eqlib-match-predict").click()
        _wait(lambda: "predicted" in status.inner_text() or "could not" in status.inner_text(), "the prediction")
        text = status.inner_text()
        assert "predicted (oneshot with" in text, text
        _wait(lambda: _player_src(page, "processed") not in (None, before), "a new processed player")

        for band in ("Low shelf", "Mid 1 (peak)", "Mid 2 (peak)", "High shelf"):
            predicted = page.evaluate(TABLE_GAIN_JS, [".eqlib-match-status", band])
            shown = page.evaluate(TABLE_GAIN_JS, [".eqlib-readout", band])
            assert predicted is not None and shown is not None, f"{band}: no row in the tables"
            assert abs(float(predicted) - float(shown)) <= 0.1 + 1e-9, f"{band}: predicted {predicted}, shown {shown}"
        slider = page.evaluate("() => document.querySelector('.eqlib-slider-mid1-gain .widget-readout')"
                               ".textContent.trim()").replace("\u2212", "-")  # the readout writes a minus sign
        shown = float(page.evaluate(TABLE_GAIN_JS, [".eqlib-readout", "Mid 1 (peak)"]))
        assert float(slider) == pytest.approx(shown, abs=0.05), f"mid 1 slider {slider} dB, table {shown} dB"
        assert re.search(r"equalizer=f=", page.locator(".eqlib-readout").inner_text())
        page.screenshot(path=shots / "after_predict.png", full_page=True)

        predicted_src = _player_src(page, "processed")
        page.locator(".eqlib-slider-mid1-gain .noUi-handle").focus()
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        _wait(lambda: _player_src(page, "processed") != predicted_src, "the processed player's re-render")
        time.sleep(2.0)  # let the queued re-renders of the other key presses land


        page.locator(".eqlib-match-prepare").click()
        links = page.locator(".eqlib-match-downloads a[download]")
        _wait(lambda: links.count() == 3, "the three download links")
        names = sorted(links.nth(i).get_attribute("download") for i in range(3))
        assert names == ["ParametricEQ.txt", "speech-p347-m-eq.json", "speech-p347-m-matched.wav"], names
        wav = next(links.nth(i) for i in range(3) if links.nth(i).get_attribute("download").endswith(".wav"))
        assert wav.get_attribute("href").startswith("data:audio/wav;base64,UklGR")  # "RIFF"
        print(f"match panel: {text.splitlines()[0]}")
    except BaseException:
        page.screenshot(path=shots / "page_on_failure.png", full_page=True)
        print(f"failure screenshots: {sorted(str(p) for p in shots.iterdir())}")
        raise
