"""The interactive 4-band EQ panel for JupyterLab: sliders, live response, audio, readout.

Everything the panel shows is derived from ``eqlib.eq.DEFAULT_EQ`` (or the spec of the
settings it is given): slider labels, units, ranges and defaults; colours come from
``eqlib.plots.BAND_COLOURS``. The response plot is a plain matplotlib figure rendered to
PNG bytes in an ``ipywidgets.Image``; a slider move updates the line data in place and
re-renders that image, so the panel works in any JupyterLab without the ipympl extension.

Thread safety: JupyterLab ≥ 4.4 may deliver widget messages on a kernel *subshell* thread
while the main thread runs a cell, so two re-renders can overlap; concurrent draws corrupt a
matplotlib figure for good. Every state change therefore runs under one re-entrant lock.

Key widgets carry DOM classes for browser tests: ``eqlib-slider-<band>-<gain|freq|q>``,
``eqlib-plot``, ``eqlib-readout``, ``eqlib-message``, ``eqlib-render-ms``.

Besides :class:`EQPanel` (notebook 01): :class:`PairEQPanel` puts the sliders on a training pair, the
reference being the input's STFT power times ``|H(f)|²`` (notebook 02); :class:`PairPicker` shows one of
many pairs, chosen from a drop-down (notebooks 04 and 05).
"""

from __future__ import annotations

import io
import math
import re
import threading
import time
from collections.abc import Callable, Sequence

import ipywidgets as w
import numpy as np
import soundfile as sf
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from eqlib.audio import resample
from eqlib.eq import EQSettings, EQSpec, ParamSpec
from eqlib.features import FeatureConfig, MelFrontend, PowerSpectrogram
from eqlib.plots import BAND_COLOURS, FREQ_MIN_HZ, PLOT_SAMPLE_RATE, freq_grid, plot_cascade, plot_mel_power

DEFAULT_EXAMPLE = "default"  # sentinel: the first speech clip that eqlib.examples lists
PREVIEW_SECONDS = 6.0  # audio longer than this is cut, so a slider move re-encodes little
SLIDER_STEPS = 300  # resolution of every slider across its range
MIN_Y_LIMIT_DB = 18.0
PLOT_DPI = 90
#: Digits the ffmpeg readout keeps: gain to 0.01 dB, frequency to 5 significant digits, Q to 3.
READOUT_FORMATS = {"g": lambda v: f"{round(v, 2):g}", "f": lambda v: f"{v:.5g}", "w": lambda v: f"{v:.3g}"}


def slider_class(band: str, param: str) -> str:
    """DOM class of one slider, e.g. ``slider_class("mid1", "gain") == "eqlib-slider-mid1-gain"``."""
    return f"eqlib-slider-{band}-{param.lower()}"


def make_slider(spec: ParamSpec, value: float) -> w.FloatSlider | w.FloatLogSlider:
    """One slider for one knob: linear for gain (dB), log-scaled for frequency (Hz) and Q."""
    common = dict(description=spec.label, continuous_update=True, style={"description_width": "70px"},
                  layout=w.Layout(width="240px"), description_allow_html=False)
    if spec.log_scale:
        lo, hi = math.log10(spec.minimum), math.log10(spec.maximum)
        return w.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=(hi - lo) / SLIDER_STEPS,
                                readout_format=".4g" if spec.unit == "Hz" else ".2f", **common)
    step = round((spec.maximum - spec.minimum) / SLIDER_STEPS, 3)
    return w.FloatSlider(value=value, min=spec.minimum, max=spec.maximum, step=step, readout_format="+.1f", **common)


def ffmpeg_readout(settings: EQSettings) -> str:
    """``settings.to_ffmpeg()`` with its numbers rounded for reading (``READOUT_FORMATS``): a slider at 14.1 dB
    holds 14.100000000000001, which the exact export keeps (bit-exact ``eqlib apply``) and a reader does not need."""
    return re.sub(r"\b([fwg])=(-?[0-9.]+(?:e[-+]?[0-9]+)?)",
                  lambda m: f"{m[1]}={READOUT_FORMATS[m[1]](float(m[2]))}", settings.to_ffmpeg())


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit WAV of mono ``(time,)`` samples, scaled down only if it would clip."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0.99:
        samples = samples * (0.99 / peak)
    buf = io.BytesIO()
    sf.write(buf, samples, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _load_example_audio(name: str) -> tuple[np.ndarray, int]:
    """Mono ``(time,)`` float64 samples (at most ``PREVIEW_SECONDS``) of an example clip at ``PLOT_SAMPLE_RATE`` Hz."""
    from eqlib import examples

    if name == DEFAULT_EXAMPLE:
        name = examples.list_examples("speech")[0]
    samples, sample_rate = examples.load_example(name)
    samples = np.asarray(samples, dtype=np.float64)[: int(PREVIEW_SECONDS * sample_rate)]
    # Every band must sit below Nyquist, so preview at the rate the plots assume.
    return resample(samples, int(sample_rate), PLOT_SAMPLE_RATE), PLOT_SAMPLE_RATE


class EQPanel:
    """An ipywidgets panel for the 4-band EQ.

    In a browser, each slider snaps its value to its step (gain 0.1 dB; frequency and Q
    1/300 of their log range, i.e. ≤ 0.5 %), so ``.settings`` may differ from a loaded
    setting by that much once the panel is displayed.

    Args:
        settings: initial setting (default: the spec's defaults, i.e. the identity EQ).
        example: name of an ``eqlib.examples`` clip to play through the current setting;
            ``DEFAULT_EXAMPLE`` picks the first speech clip, ``None`` shows no player.
        seed: seed of the generator behind the "random EQ" button.
        audio: mono ``(time,)`` samples at ``PLOT_SAMPLE_RATE`` Hz to play instead of ``example``.
    """

    def __init__(self, settings: EQSettings | None = None, example: str | None = DEFAULT_EXAMPLE,
                 seed: int = 0, audio: np.ndarray | None = None) -> None:
        settings = settings if settings is not None else EQSettings.identity()
        self.spec: EQSpec = settings.spec
        self._generator = torch.Generator().manual_seed(seed)
        self._lock = threading.RLock()
        self._holding = False
        self._layout_frozen = False
        self.last_render_ms = float("nan")
        self._freqs_hz = freq_grid()
        self._observers: list[Callable[[EQSettings], None]] = []

        self.sliders: dict[tuple[str, str], w.FloatSlider | w.FloatLogSlider] = {}
        columns = []
        for band, colour, values in zip(self.spec.bands, BAND_COLOURS, settings.params):
            header = w.HTML(f"<b style='color:{colour}'>{band.label}</b>")
            boxes = [header]
            for spec, value in zip(band.params, values):
                slider = make_slider(spec, float(value))
                slider.add_class(slider_class(band.name, spec.name))
                slider.observe(self._on_slider, names="value")
                self.sliders[(band.name, spec.name)] = slider
                boxes.append(slider)
            columns.append(w.VBox(boxes, layout=w.Layout(border=f"2px solid {colour}", padding="4px", margin="2px")))

        self.plot = w.Image(format="png", layout=w.Layout(width="720px"))
        self.plot.add_class("eqlib-plot")
        self._init_figure(settings)

        self.readout = w.HTML()
        self.readout.add_class("eqlib-readout")
        self.render_ms = w.HTML()
        self.render_ms.add_class("eqlib-render-ms")
        self.message = w.HTML()
        self.message.add_class("eqlib-message")

        self.random_button = w.Button(description="random EQ", icon="random")
        self.random_button.add_class("eqlib-random")
        self.random_button.on_click(lambda _: self.randomize())
        self.reset_button = w.Button(description="reset", icon="undo")
        self.reset_button.add_class("eqlib-reset")
        self.reset_button.on_click(lambda _: self.reset())

        self.json_text = w.Textarea(placeholder="paste the JSON written by `eqlib match` here",
                                    layout=w.Layout(width="480px", height="70px"))
        self.json_text.add_class("eqlib-json-text")
        self.load_button = w.Button(description="load JSON")
        self.load_button.add_class("eqlib-load")
        self.load_button.on_click(lambda _: self.load_json(self.json_text.value))
        self.upload = w.FileUpload(accept=".json", multiple=False, description="JSON file")
        self.upload.add_class("eqlib-upload")
        self.upload.observe(self._on_upload, names="value")

        self._example_samples: np.ndarray | None = None
        self._example_rate = 0
        audio_box = self._init_audio(example, audio)

        controls = w.HBox([self.random_button, self.reset_button, self.render_ms])
        loader = w.VBox([w.HTML("<b>load settings</b>"),
                         w.HBox([self.json_text, w.VBox([self.load_button, self.upload])])])
        self.widget = w.VBox([w.HBox(columns), controls, self.plot, audio_box, self.readout, loader, self.message])
        self.widget.add_class("eqlib-panel")
        self._render()

    # --- public API -------------------------------------------------------------------
    @property
    def settings(self) -> EQSettings:
        """The current setting, read from the sliders (clipped to the spec's ranges)."""
        params = np.array([[self.sliders[(b.name, p.name)].value for p in b.params] for b in self.spec.bands])
        params = np.clip(params, self.spec.minimum.numpy(), self.spec.maximum.numpy())
        return EQSettings(params, self.spec)

    def set_settings(self, settings: EQSettings) -> None:
        """Move all sliders to ``settings`` and re-render once."""
        if settings.spec != self.spec:
            raise ValueError("settings use a different EQ spec than this panel")
        with self._lock:
            self._holding = True
            try:
                for band, values in zip(self.spec.bands, settings.params):
                    for spec, value in zip(band.params, values):
                        self.sliders[(band.name, spec.name)].value = float(value)
            finally:
                self._holding = False
            self._render()

    def randomize(self) -> EQSettings:
        """Draw a random setting from the panel's seeded generator, show it and return it."""
        with self._lock:
            settings = EQSettings(self.spec.sample(1, self._generator)[0].numpy(), self.spec)
            self.set_settings(settings)
        return settings

    def reset(self) -> None:
        """Back to the spec's defaults (all gains 0 dB: the identity EQ)."""
        self.set_settings(EQSettings.identity(self.spec))

    def observe_settings(self, callback: Callable[[EQSettings], None]) -> None:
        """Call ``callback(settings)`` after every re-render (slider move, random, reset, load), and once now."""
        with self._lock:
            self._observers.append(callback)
            callback(self.settings)

    def load_json(self, text: str) -> bool:
        """Show settings from JSON text (as written by ``EQSettings.to_json``); on bad input, show why.

        Returns True if the settings were loaded; the panel's message says what happened.
        """
        try:
            settings = EQSettings.from_json(text, self.spec)
        except ValueError as err:
            self._say(f"could not load settings: {err}", error=True)
            return False
        self.set_settings(settings)
        self._say("loaded settings")
        return True

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # --- internals --------------------------------------------------------------------
    def _init_figure(self, settings: EQSettings) -> None:
        self._fig = Figure(figsize=(8, 3.4), dpi=PLOT_DPI, layout="constrained")
        FigureCanvasAgg(self._fig)
        self._ax = self._fig.add_subplot()
        plot_cascade(settings, ax=self._ax)
        # plot_cascade draws one line per band, then the cascade (labelled "ideal" for comparisons).
        self._band_lines = self._ax.lines[: self.spec.num_bands]
        self._cascade_line = self._ax.lines[self.spec.num_bands]
        self._cascade_line.set_label("cascade")
        for line in self._band_lines:
            line.set(lw=1.5, alpha=0.85)
        self._ax.set_title("")
        self._ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize="small", ncol=5, frameon=False)

    def _init_audio(self, example: str | None, audio: np.ndarray | None) -> w.Widget:
        if example is None and audio is None:
            self.player = None
            return w.HTML("<i>no example audio (example=None)</i>")
        if audio is not None:
            samples = np.asarray(audio, dtype=np.float64)[: int(PREVIEW_SECONDS * PLOT_SAMPLE_RATE)]
            self._example_samples, self._example_rate = samples, PLOT_SAMPLE_RATE
        else:
            self._example_samples, self._example_rate = _load_example_audio(example)
        original = w.Audio(value=_wav_bytes(self._example_samples, self._example_rate), format="wav", autoplay=False)
        self.player = w.Audio(format="wav", autoplay=False)
        self.player.add_class("eqlib-audio")
        return w.HBox([w.VBox([w.HTML("original"), original]), w.VBox([w.HTML("through the EQ"), self.player])])

    def _on_slider(self, change: dict) -> None:
        with self._lock:
            if not self._holding:
                self._render()

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        self.upload.value = ()  # clear, so choosing the same file again fires once more
        try:
            text = bytes(files[0]["content"]).decode("utf-8")
        except UnicodeDecodeError:
            self._say(f"could not load settings: {files[0]['name']} is not UTF-8 text", error=True)
            return
        self.load_json(text)

    def _say(self, text: str, error: bool = False) -> None:
        import html

        colour = "#b00020" if error else "#1b5e20"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def _render(self) -> None:
        """Update line data, y limits, the image, the readout and the processed audio; time it."""
        with self._lock:
            self._render_locked()

    def _render_locked(self) -> None:
        start = time.perf_counter()
        settings = self.settings
        bands_db = settings.band_response_db(self._freqs_hz, PLOT_SAMPLE_RATE)
        for line, db in zip(self._band_lines, bands_db):
            line.set_ydata(db)
        cascade_db = bands_db.sum(axis=0)
        self._cascade_line.set_ydata(cascade_db)
        limit = max(MIN_Y_LIMIT_DB, 6 * math.ceil((np.abs(cascade_db).max() + 2) / 6))
        self._ax.set_ylim(-limit, limit)
        buf = io.BytesIO()
        self._fig.savefig(buf, format="png", dpi=PLOT_DPI)
        if not self._layout_frozen:  # keep the first layout: re-solving it costs ~30% of a render
            self._fig.set_layout_engine("none")
            self._layout_frozen = True
        self.plot.value = buf.getvalue()
        self.readout.value = (
            f"<div><b>ffmpeg</b> <code style='white-space: pre-wrap; word-break: break-all'>"
            f"-af \"{ffmpeg_readout(settings)}\"</code></div>{settings._repr_html_()}"
        )
        if self.player is not None:
            self.player.value = _wav_bytes(settings.apply(self._example_samples, self._example_rate),
                                           self._example_rate)
        for callback in self._observers:
            callback(settings)
        self.last_render_ms = (time.perf_counter() - start) * 1000
        self.render_ms.value = f"<span>re-rendered in {self.last_render_ms:.1f} ms</span>"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI)
    return buf.getvalue()


class PairEQPanel:
    """EQ sliders on a training pair (notebook 02): the mel spectrogram of the input, and of the reference that
    training makes from it, the input's STFT power times ``|H(f)|²`` (the ``same_content`` variant of
    ``eqlib.pairs``), redrawn as the sliders move; the :class:`EQPanel` below them shows the response and plays
    the input through the EQ.

    Args:
        audio: mono input ``(time,)`` at ``features.sample_rate`` Hz (a few seconds).
        settings: initial setting (default: the identity EQ).
        features: STFT and mel settings (default: the models' ``FeatureConfig``).
    """

    def __init__(self, audio: np.ndarray, settings: EQSettings | None = None,
                 features: FeatureConfig = FeatureConfig()) -> None:
        if features.sample_rate != PLOT_SAMPLE_RATE:
            raise ValueError(f"features must run at {PLOT_SAMPLE_RATE} Hz, the rate the panel plays and plots at")
        self.features = features
        self._mel = MelFrontend(features)
        waveform = torch.as_tensor(np.asarray(audio, dtype=np.float32))[None]
        self.power_in = PowerSpectrogram(features)(waveform)[0].double()  # (bins, frames)
        filterbank = self._mel.filterbank.double()  # (mels, bins), each row sums to 1
        self.centres_hz = (filterbank @ torch.as_tensor(features.bin_freqs_hz())).numpy()
        self._bin_freqs_hz = features.bin_freqs_hz()
        self._bin_freqs_hz[0] = 1.0  # DC: just above 0 Hz, as eqlib.pairs does
        self._fig = Figure(figsize=(10, 3.2), dpi=PLOT_DPI, layout="constrained")
        FigureCanvasAgg(self._fig)
        axes = self._fig.subplots(1, 2, sharey=True)
        mel_in = self.mel_power(EQSettings.identity())
        for ax, title in zip(axes, ("input: mel power", "reference: mel of (input STFT power · |H(f)|²)")):
            plot_mel_power(mel_in, self.centres_hz, features.sample_rate, features.hop_length, ax=ax,
                           colorbar=ax is axes[1])
            ax.set_title(title, fontsize="medium")
        self._reference_mesh = axes[1].collections[0]
        self._kept_bands = self.centres_hz >= FREQ_MIN_HZ  # the rows the mesh draws
        self._layout_frozen = False
        self.image = w.Image(format="png", layout=w.Layout(width="900px"))
        self.image.add_class("eqlib-pair-spectrograms")
        self.panel = EQPanel(settings, audio=audio)
        self.widget = w.VBox([self.image, self.panel.widget])
        self.panel.observe_settings(self._redraw)

    def mel_power(self, settings: EQSettings) -> np.ndarray:
        """Mel power ``(mels, frames)`` of the input's STFT power times ``|H(f)|²`` of ``settings``."""
        gain = 10 ** (settings.response_db(self._bin_freqs_hz, self.features.sample_rate) / 10)
        return self._mel.filterbank.double().matmul(self.power_in * torch.as_tensor(gain)[:, None]).numpy()

    def _redraw(self, settings: EQSettings) -> None:
        mel = self.mel_power(settings)[self._kept_bands]
        self._reference_mesh.set_array(10 * np.log10(mel + 1e-20).ravel())
        self.image.value = _png(self._fig)
        if not self._layout_frozen:  # as in EQPanel: keep the first layout
            self._fig.set_layout_engine("none")
            self._layout_frozen = True

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class PairPicker:
    """A drop-down over many pairs and the view of the chosen one (notebooks 04 and 05).

    Args:
        labels: one label per pair, shown in the drop-down.
        render: ``render(index)`` → a matplotlib figure (shown as a PNG image, then closed) or an HTML string.
        description: the drop-down's label.
    """

    def __init__(self, labels: Sequence[str], render: Callable[[int], Figure | str],
                 description: str = "pair") -> None:
        if not labels:
            raise ValueError("PairPicker needs at least one pair")
        self._render = render
        self.dropdown = w.Dropdown(options=[(label, i) for i, label in enumerate(labels)], value=0,
                                   description=description, layout=w.Layout(width="640px"))
        self.dropdown.add_class("eqlib-pair-picker")
        self.image = w.Image(format="png", layout=w.Layout(width="900px", display="none"))
        self.html = w.HTML()
        self.widget = w.VBox([self.dropdown, self.image, self.html])
        self.dropdown.observe(lambda change: self.show(change["new"]), names="value")
        self.show(0)

    def show(self, index: int) -> None:
        """Render pair ``index`` into the picker (the drop-down follows)."""
        import matplotlib.pyplot as plt

        if self.dropdown.value != index:
            self.dropdown.value = index  # fires show() again through the observer
            return
        view = self._render(index)
        if isinstance(view, str):
            self.html.value, self.image.layout.display = view, "none"
        else:
            self.image.value, self.html.value, self.image.layout.display = _png(view), "", None
            plt.close(view)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
