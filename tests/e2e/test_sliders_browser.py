"""End to end, as a person uses it: JupyterLab in Chromium, run notebook 01, move the mid-1 gain slider.

Checks that the response plot is redrawn and the readout shows the new gain; prints the panel's
measured re-render time and the browser-side latency from key press to new plot image.
``EQLIB_SAVE_SCREENSHOT=1`` also saves the panel to ``figures/01_slider_panel.png``.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from eqlib.runtime import figures_dir

NOTEBOOK = "01_biquads_and_parametric_eq.ipynb"
TIMEOUT_MS = 60_000
KEY_PRESSES = 20

# Slider readout and the Mid 1 row's gain cell of the panel's table, as text.
GAIN_TEXTS_JS = """() => {
  const readout = document.querySelector('.eqlib-slider-mid1-gain .widget-readout');
  const row = [...document.querySelectorAll('.eqlib-readout tr')]
    .find(tr => tr.cells.length > 1 && tr.cells[0].textContent.trim() === 'Mid 1 (peak)');
  return [readout ? readout.textContent.trim() : null, row ? row.cells[1].textContent.trim() : null];
}"""


def _accept_kernel_dialog(page) -> bool:
    """Accept JupyterLab's "Select Kernel" dialog (default: the notebook's python3) if it shows; True if it did."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count() and dialog.first.is_visible():
        dialog.first.locator("button.jp-mod-accept").click()
        return True
    return False


def _wait_kernel_idle(page) -> None:
    """Wait until the status bar says the notebook's kernel is idle, accepting a kernel dialog on the way."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while "| Idle" not in page.locator("#jp-main-statusbar").inner_text():
        assert time.monotonic() < deadline, "the notebook's kernel did not become idle within 60 s"
        _accept_kernel_dialog(page)
        time.sleep(0.3)


def _run_all_cells(page) -> None:
    """Run → Run All Cells, through the menu bar as a person would."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _plot_sha256(page) -> str:
    """SHA-256 of the PNG bytes the plot <img> shows (read back from its blob URL in the browser)."""
    return page.evaluate("""async () => {
      const img = document.querySelector('img.eqlib-plot');
      const bytes = await (await fetch(img.src)).arrayBuffer();
      const head = new Uint8Array(bytes.slice(0, 4));
      const isPng = head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47;
      if (img.naturalWidth === 0 || !isPng) return 'not a decoded PNG';
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
    }""")


def _decoded_plot_sha256(page, timeout_s: float = 10.0) -> str:
    """``_plot_sha256``, retried while a just-replaced <img> is not decoded yet (or "not a decoded PNG")."""
    deadline = time.monotonic() + timeout_s
    digest = _plot_sha256(page)
    while digest == "not a decoded PNG" and time.monotonic() < deadline:
        time.sleep(0.2)
        digest = _plot_sha256(page)
    return digest


def _painted_screenshot(locator, path: Path, timeout_s: float = 10.0) -> bytes:
    """Screenshot of an element, retried until it shows a drawing rather than one flat colour.

    Headless Chromium sometimes paints a just-replaced <img> in a JupyterLab output a few
    frames late; a screenshot that stays blank is kept (and reported) rather than failing.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        png = locator.screenshot(path=path)
        if Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=4) is None:
            return png
        if time.monotonic() > deadline:
            print(f"warning: {path} is still blank after {timeout_s:.0f} s")
            return png
        time.sleep(0.2)


def _clear_outputs(notebook: Path) -> None:
    """Drop the stored outputs of the served copy, so that "last re-render" can only come from this run."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook.write_text(json.dumps(nb))


def _gain_settled(page, old: str) -> bool:
    slider_text, table_text = page.evaluate(GAIN_TEXTS_JS)
    return slider_text is not None and slider_text == table_text and slider_text != old


@pytest.mark.e2e
def test_mid1_gain_slider_redraws_plot_and_readout(chromium_path, lab_server, browser_page) -> None:
    page = browser_page
    shots = Path(tempfile.mkdtemp(prefix="eqlib-e2e-screenshots-"))  # outlives pytest's tmp_path cleanup
    print(f"\nscreenshots: {shots}\njupyter log: {lab_server.log}")
    _clear_outputs(lab_server.root / NOTEBOOK)  # the committed notebook carries the outputs of `make notebooks`
    try:
        page.goto(lab_server.lab_url(NOTEBOOK))
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=TIMEOUT_MS)
        _wait_kernel_idle(page)
        _run_all_cells(page)
        # The last code cell prints this once every cell above it has run.
        done = page.get_by_text(re.compile(r"last re-render: \d+ ms"))
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not done.is_visible():
            assert time.monotonic() < deadline, "notebook 01 did not finish running within 60 s"
            if _accept_kernel_dialog(page):  # the dialog swallowed "Run All": ask again
                _wait_kernel_idle(page)
                _run_all_cells(page)
            time.sleep(0.5)

        plot = page.locator("img.eqlib-plot")
        handle = page.locator(".eqlib-slider-mid1-gain .noUi-handle")
        plot.scroll_into_view_if_needed()
        before = _decoded_plot_sha256(page)
        assert before != "not a decoded PNG", "the plot <img> does not show a PNG"
        _painted_screenshot(plot, shots / "plot_before.png")
        old_gain, table_gain = page.evaluate(GAIN_TEXTS_JS)
        assert old_gain == table_gain, f"slider shows {old_gain} dB, readout {table_gain} dB before the move"

        handle.focus()
        for _ in range(KEY_PRESSES):
            page.keyboard.press("ArrowLeft")
        deadline = time.monotonic() + 30
        while not _gain_settled(page, old_gain):
            assert time.monotonic() < deadline, \
                f"readout never showed the slider's new gain: {page.evaluate(GAIN_TEXTS_JS)}"
            time.sleep(0.2)
        time.sleep(1.0)  # let any queued re-render land, then check the final state once more
        new_gain, table_gain = page.evaluate(GAIN_TEXTS_JS)
        assert new_gain == table_gain, f"slider {new_gain} dB but readout {table_gain} dB"
        assert float(new_gain) < float(old_gain), \
            f"ArrowLeft ×{KEY_PRESSES} did not lower the gain ({old_gain} → {new_gain})"
        readout = page.locator(".eqlib-readout").inner_text()
        ffmpeg_gain = re.search(r"equalizer=f=[^:]+:t=q:w=[^:]+:g=(-?[\d.e+-]+)", readout)  # mid 1: first peak
        assert ffmpeg_gain and float(ffmpeg_gain.group(1)) == pytest.approx(float(new_gain), abs=0.05)

        after = _decoded_plot_sha256(page)
        assert after != "not a decoded PNG", "after the move, the plot <img> does not show a PNG"
        assert after != before, "the response plot image did not change after moving the slider"
        _painted_screenshot(plot, shots / "plot_after.png")

        # Browser-side latency: one more key press until the plot image is replaced.
        src = plot.get_attribute("src")
        handle.focus()
        start = time.perf_counter()
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("old => document.querySelector('img.eqlib-plot').src !== old", arg=src,
                               timeout=TIMEOUT_MS)
        latency_ms = (time.perf_counter() - start) * 1000
        render_text = page.locator(".eqlib-render-ms").inner_text()
        print(f"mid-1 gain {old_gain} → {new_gain} dB; panel: {render_text}; "
              f"key press → new plot image in the browser: {latency_ms:.0f} ms")

        panel = page.locator(".eqlib-panel")
        panel.screenshot(path=shots / "panel.png")
        if os.environ.get("EQLIB_SAVE_SCREENSHOT") == "1":
            target = figures_dir() / "01_slider_panel.png"
            panel.screenshot(path=target)
            print(f"saved {target}")
    except BaseException:
        page.screenshot(path=shots / "page_on_failure.png", full_page=True)
        print(f"failure screenshots: {sorted(str(p) for p in shots.iterdir())}")
        raise
