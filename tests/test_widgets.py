"""Headless tests of the EQ panel (no browser) and of the plot helpers notebook 01 uses."""

from __future__ import annotations

import datetime
import io
import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.signal  # noqa: E402
import soundfile as sf  # noqa: E402

from eqlib.eq import DEFAULT_EQ, EQSettings  # noqa: E402
from eqlib.plots import BAND_COLOURS, PLOT_SAMPLE_RATE, plot_pole_zero, plot_spectrogram  # noqa: E402
from eqlib.features import FeatureConfig, MelFrontend  # noqa: E402
from eqlib.widgets import EQPanel, PairEQPanel, PairPicker, ffmpeg_readout, slider_class  # noqa: E402


MODIFIED = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)  # an upload's timestamp


@pytest.fixture
def panel() -> EQPanel:
    return EQPanel(example=None, seed=0)


def scipy_cascade_db(settings: EQSettings, freqs_hz: np.ndarray) -> np.ndarray:
    """Cascaded magnitude (dB) evaluated by scipy, independently of eqlib's response code."""
    _, h = scipy.signal.sosfreqz(settings.sos(PLOT_SAMPLE_RATE), worN=freqs_hz, fs=PLOT_SAMPLE_RATE)
    return 20 * np.log10(np.abs(h))


def test_sliders_follow_the_parameter_table(panel: EQPanel) -> None:
    assert len(panel.sliders) == 12
    for band in DEFAULT_EQ.bands:
        for spec in band.params:
            slider = panel.sliders[(band.name, spec.name)]
            assert slider.description == spec.label
            assert slider_class(band.name, spec.name) in slider._dom_classes
            if spec.log_scale:
                assert type(slider).__name__ == "FloatLogSlider"
                assert slider.base ** slider.min == pytest.approx(spec.minimum, rel=1e-12)
                assert slider.base ** slider.max == pytest.approx(spec.maximum, rel=1e-12)
            else:
                assert (slider.min, slider.max) == (spec.minimum, spec.maximum)
            assert slider.value == pytest.approx(spec.default)
    assert "eqlib-slider-mid1-gain" in panel.sliders[("mid1", "gain")]._dom_classes


def test_band_colours_match_plots(panel: EQPanel) -> None:
    assert [matplotlib.colors.to_hex(line.get_color()) for line in panel._band_lines] == list(BAND_COLOURS)


def test_initial_panel_is_the_identity(panel: EQPanel) -> None:
    np.testing.assert_array_equal(panel.settings.params, DEFAULT_EQ.default.numpy())
    np.testing.assert_allclose(panel._cascade_line.get_ydata(), 0.0, atol=1e-9)  # 0 dB gains ⇒ identity


def test_slider_move_updates_settings_plot_and_readout(panel: EQPanel) -> None:
    image_before = panel.plot.value
    panel.sliders[("mid1", "gain")].value = 6.0
    settings = panel.settings
    assert settings.params[1, 0] == 6.0
    freqs = panel._cascade_line.get_xdata()
    np.testing.assert_allclose(panel._cascade_line.get_ydata(), scipy_cascade_db(settings, freqs), atol=1e-9)
    # A cookbook peak has exactly its gain at its centre frequency (450 Hz default).
    f0 = DEFAULT_EQ.bands[1].freq.default
    assert np.interp(math.log(f0), np.log(freqs), panel._band_lines[1].get_ydata()) == pytest.approx(6.0, abs=0.02)
    assert panel.plot.value != image_before
    assert panel.plot.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "equalizer=f=450:t=q:w=1:g=6," in panel.readout.value
    assert "<td>Mid 1 (peak)</td><td>+6.0</td>" in panel.readout.value
    assert 0 < panel.last_render_ms < 5000
    assert f"{panel.last_render_ms:.1f} ms" in panel.render_ms.value


def test_log_slider_moves_the_peak(panel: EQPanel) -> None:
    panel.sliders[("mid1", "gain")].value = 10.0
    panel.sliders[("mid1", "freq")].value = 1000.0
    freqs, db = panel._cascade_line.get_xdata(), panel._cascade_line.get_ydata()
    assert freqs[np.argmax(db)] == pytest.approx(1000.0, rel=0.02)


def test_random_is_seeded_in_range_and_reset_restores_identity(panel: EQPanel) -> None:
    first = panel.randomize()
    assert panel.settings.to_json() == first.to_json()
    DEFAULT_EQ.check(first.params)
    assert np.abs(first.params[:, 0]).max() > 0.5
    again = EQPanel(example=None, seed=0).randomize()
    np.testing.assert_array_equal(first.params, again.params)
    second = panel.randomize()
    assert not np.array_equal(first.params, second.params)
    np.testing.assert_allclose(panel._cascade_line.get_ydata(), scipy_cascade_db(second, panel._freqs_hz), atol=1e-9)
    panel.reset_button.click()
    np.testing.assert_array_equal(panel.settings.params, DEFAULT_EQ.default.numpy())
    np.testing.assert_allclose(panel._cascade_line.get_ydata(), 0.0, atol=1e-9)


def test_random_button_draws(panel: EQPanel) -> None:
    panel.random_button.click()
    assert np.abs(panel.settings.params[:, 0]).max() > 0.5


def test_load_good_json(panel: EQPanel) -> None:
    params = DEFAULT_EQ.default.numpy().copy()
    params[:, 0] = [3.0, -4.5, 2.0, -1.0]
    params[2, 1] = 3000.0
    text = EQSettings(params).to_json()
    panel.json_text.value = text
    panel.load_button.click()
    np.testing.assert_allclose(panel.settings.params, params, rtol=1e-12)
    assert "loaded" in panel.message.value
    assert "g=-4.5" in panel.readout.value


@pytest.mark.parametrize("text, expected", [
    ("{not json", "not valid JSON"),
    ('{"format": "something/else"}', "not an eqlib EQ settings object"),
    ("", "not valid JSON"),
])
def test_bad_json_shows_a_message_and_keeps_settings(panel: EQPanel, text: str, expected: str) -> None:
    panel.sliders[("low", "gain")].value = 2.0
    before = panel.settings.params.copy()
    assert panel.load_json(text) is False
    assert "could not load settings" in panel.message.value and expected in panel.message.value
    assert "Traceback" not in panel.message.value
    np.testing.assert_array_equal(panel.settings.params, before)


def test_out_of_range_json_names_the_knob(panel: EQPanel) -> None:
    data = EQSettings.identity().to_dict()
    data["bands"][1]["gain_db"] = 40.0
    import json

    assert panel.load_json(json.dumps(data)) is False
    assert "mid1.gain = 40 dB is outside its range" in panel.message.value


def test_file_upload_good_and_bad(panel: EQPanel) -> None:
    params = DEFAULT_EQ.default.numpy().copy()
    params[3, 0] = -7.0
    good = EQSettings(params).to_json().encode()
    panel.upload.value = ({"name": "match.json", "type": "application/json", "size": len(good),
                           "content": memoryview(good), "last_modified": MODIFIED},)
    assert panel.settings.params[3, 0] == -7.0
    bad = b"\xff\xfe not text"
    panel.upload.value = ({"name": "bad.json", "type": "application/json", "size": len(bad),
                           "content": memoryview(bad), "last_modified": MODIFIED},)
    assert "bad.json is not UTF-8 text" in panel.message.value
    assert panel.settings.params[3, 0] == -7.0
    assert panel.upload.value == ()  # cleared, so the same file can be chosen again


def test_audio_player_plays_the_filtered_example() -> None:
    panel = EQPanel(example="speech-p351-f")
    panel.sliders[("mid1", "gain")].value = -6.0  # a cut: no clipping, so no rescaling
    decoded, rate = sf.read(io.BytesIO(panel.player.value), dtype="float64")
    assert rate == PLOT_SAMPLE_RATE
    expected = scipy.signal.sosfilt(panel.settings.sos(rate), panel._example_samples)
    assert decoded.shape == expected.shape
    np.testing.assert_allclose(decoded, expected, atol=1.5 / 32768)


def test_pole_zero_plot_matches_scipy_roots() -> None:
    settings = EQSettings(np.array([[6.0, 100.0, 0.7], [-8.0, 700.0, 2.0], [4.0, 3000.0, 1.0], [-3.0, 8000.0, 0.7]]))
    sos = settings.sos(PLOT_SAMPLE_RATE)
    fig, ax = plt.subplots()
    plot_pole_zero(sos, ax=ax, labels=[b.label for b in settings.spec.bands])
    points = [c.get_offsets() for c in ax.collections]  # zeros, poles per section, in order
    for i, section in enumerate(sos):
        z, p, _ = scipy.signal.tf2zpk(section[:3], section[3:])
        np.testing.assert_allclose(np.sort_complex(points[2 * i][:, 0] + 1j * points[2 * i][:, 1]),
                                   np.sort_complex(z), atol=1e-9)
        np.testing.assert_allclose(np.sort_complex(points[2 * i + 1][:, 0] + 1j * points[2 * i + 1][:, 1]),
                                   np.sort_complex(p), atol=1e-9)
    plt.close(fig)


def test_spectrogram_of_a_full_scale_sine() -> None:
    rate = 44100
    freq_hz = 47 * rate / 2048  # on an FFT bin centre, so no scalloping loss
    t = np.arange(rate) / rate
    fig, ax = plt.subplots()
    plot_spectrogram(np.sin(2 * np.pi * freq_hz * t), rate, ax=ax, n_fft=2048)
    mesh = ax.collections[0]
    db = np.asarray(mesh.get_array()).reshape(len(mesh.get_coordinates()) - 1, -1)
    freqs = mesh.get_coordinates()[:, 0, 1]
    row = int(np.argmax(db.mean(axis=1)))
    # The power spectrum ("spectrum" scaling) of a unit sine is A²/2 = -3.01 dB in its bin.
    assert db[row].mean() == pytest.approx(10 * np.log10(0.5), abs=0.05)
    assert 0.5 * (freqs[row] + freqs[row + 1]) == pytest.approx(freq_hz, abs=rate / 4096)
    plt.close(fig)


def test_concurrent_slider_moves_keep_the_figure_intact(panel: EQPanel) -> None:
    """JupyterLab may deliver slider changes on a kernel subshell thread while a cell runs."""
    import threading

    from PIL import Image

    def move(key: tuple[str, str], values: np.ndarray) -> None:
        for v in values:
            panel.sliders[key].value = float(v)

    threads = [threading.Thread(target=move, args=(("mid1", "gain"), np.linspace(-12, 12, 25))),
               threading.Thread(target=move, args=(("mid2", "freq"), np.geomspace(900, 7000, 25)))]
    for t in threads:
        t.start()
    for _ in range(8):
        panel.randomize()
    for t in threads:
        t.join()
    settings = panel.settings
    np.testing.assert_allclose(panel._cascade_line.get_ydata(), scipy_cascade_db(settings, panel._freqs_hz), atol=1e-9)
    image = Image.open(io.BytesIO(panel.plot.value)).convert("RGB")
    assert image.getcolors(maxcolors=16) is None, "the response plot was rendered blank"
    panel.sliders[("low", "gain")].value = 7.5  # and the figure still draws afterwards
    assert Image.open(io.BytesIO(panel.plot.value)).convert("RGB").getcolors(maxcolors=16) is None


def test_ffmpeg_readout_is_rounded_but_the_export_stays_exact(panel: EQPanel) -> None:
    panel.sliders[("low", "gain")].value = 14.1
    settings = EQSettings(np.array([[14.100000000000001, 123.456789, 0.70710678], [-3.25, 450.0, 1.0],
                                    [0.0, 2500.0, 1.0], [0.0, 6000.0, 0.707]]))
    text = ffmpeg_readout(settings)
    assert text.startswith("lowshelf=f=123.46:t=q:w=0.707:g=14.1,equalizer=f=450:t=q:w=1:g=-3.25,")
    assert "14.100000000000001" in settings.to_ffmpeg()  # the export keeps every digit
    exact = [float(v) for v in re.findall(r"[fwg]=(-?[0-9.e+-]+)", settings.to_ffmpeg())]
    shown = [float(v) for v in re.findall(r"[fwg]=(-?[0-9.e+-]+)", text)]
    np.testing.assert_allclose(shown, exact, rtol=5e-3, atol=0.005)
    assert re.search(r"g=\d+\.\d{3,}", panel.readout.value) is None  # no float noise in the panel


def test_pair_panel_reference_is_input_power_times_scipy_response() -> None:
    rate = PLOT_SAMPLE_RATE
    audio = np.random.default_rng(0).normal(0, 0.05, rate)  # 1 s of noise
    pair = PairEQPanel(audio)
    features = FeatureConfig()
    mel = MelFrontend(features).filterbank.double().numpy()
    np.testing.assert_allclose(pair.mel_power(EQSettings.identity()), mel @ pair.power_in.numpy(), rtol=1e-9)
    pair.panel.sliders[("mid2", "gain")].value = 9.0
    settings = pair.panel.settings
    freqs = features.bin_freqs_hz()
    freqs[0] = 1.0
    _, h = scipy.signal.sosfreqz(settings.sos(rate), worN=freqs, fs=rate)
    expected = mel @ (pair.power_in.numpy() * np.abs(h)[:, None] ** 2)
    np.testing.assert_allclose(pair.mel_power(settings), expected, rtol=1e-6)
    shown = np.asarray(pair._reference_mesh.get_array()).reshape(-1, expected.shape[1])
    kept = pair.centres_hz >= 20.0
    np.testing.assert_allclose(shown, 10 * np.log10(expected[kept] + 1e-20), atol=1e-6)
    assert pair.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    # the band centres rise with the band index and span the front end's range
    assert np.all(np.diff(pair.centres_hz) > 0) and 20 < pair.centres_hz[0] < 100 and pair.centres_hz[-1] > 15000


def test_pair_picker_shows_the_chosen_pair() -> None:
    shown = []

    def render(index: int):
        shown.append(index)
        if index == 2:
            fig, ax = plt.subplots()
            ax.plot([0, index])
            return fig
        return f"<b>pair {index}</b>"

    picker = PairPicker(["a", "b", "c"], render)
    assert shown == [0] and picker.html.value == "<b>pair 0</b>"
    picker.dropdown.value = 1
    assert picker.html.value == "<b>pair 1</b>" and picker.image.layout.display == "none"
    figures_before = len(plt.get_fignums())
    picker.show(2)
    assert shown == [0, 1, 2] and picker.dropdown.value == 2
    assert picker.image.value[:8] == b"\x89PNG\r\n\x1a\n" and picker.html.value == ""
    assert picker.image.layout.display is None
    assert len(plt.get_fignums()) == figures_before  # the figure render() opened was closed
    with pytest.raises(ValueError, match="at least one pair"):
        PairPicker([], render)
