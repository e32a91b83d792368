"""Match your own recordings in JupyterLab: upload an input and a reference, predict, listen, tweak, download.

:class:`MatchPanel` puts two file uploads, a mode choice and a **predict** button above an
:class:`eqlib.widgets.EQPanel` (its sliders, response plot, ffmpeg readout and table), three players
(input, reference, and the input through the current sliders) and downloads of the processed WAV, the
settings JSON and the ParametricEQ.txt preset. The prediction is :func:`eqlib.api.settings_from` on the two
uploads, the function ``eqlib.match`` and the CLI use; the EQ runs on the input at its own rate and channels.

Key widgets carry DOM classes for browser tests: ``eqlib-match-upload-input``, ``eqlib-match-upload-reference``,
``eqlib-match-mode``, ``eqlib-match-predict``, ``eqlib-match-status``, ``eqlib-match-player-<input|reference|
processed>``, ``eqlib-match-prepare`` and ``eqlib-match-downloads``.
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path

import ipywidgets as w
import numpy as np
import soundfile as sf

from eqlib import api
from eqlib.eq import EQSettings
from eqlib.errors import EqlibError, describe
from eqlib.inference import Predictor
from eqlib.presets import to_parametric_eq
from eqlib.streaming import ArraySource, decode_bytes
from eqlib.widgets import EQPanel

ROLES = ("input", "reference")
PREVIEW_S = 30.0  # the players hold at most this much audio; the download holds all of it
PLAYER_PEAK = 0.99  # a preview louder than this is scaled down (and the status says by how much)
AUDIO_TYPES = ".wav,.flac,.ogg,.aif,.aiff"


def wav_bytes(samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> tuple[bytes, float]:
    """A WAV file of ``(channels, time)`` samples at ``sample_rate`` Hz, scaled down only if it would clip;
    returns ``(bytes, gain applied in dB)`` (0 when unscaled)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    gain = PLAYER_PEAK / peak if peak > PLAYER_PEAK else 1.0
    buf = io.BytesIO()
    sf.write(buf, (samples * gain).T, sample_rate, format="WAV", subtype=subtype)
    return buf.getvalue(), 20 * np.log10(gain)


def _download_link(name: str, mime: str, data: bytes) -> str:
    return (f"<a download='{html.escape(name)}' href='data:{mime};base64,{base64.b64encode(data).decode()}'>"
            f"{html.escape(name)}</a> ({len(data) / 1024:.0f} KiB)")


class MatchPanel:
    """Upload two recordings, predict the EQ that gives the input the reference's EQ style, tweak it, download it.

    Args:
        model: a :class:`~eqlib.inference.Predictor`, a shipped model's name or a checkpoint path
            (default ``eqlib.inference.DEFAULT_MODEL``), loaded on the first oneshot or hybrid prediction.
        mode: the initial mode, one of :data:`eqlib.api.MODES`.
    """

    def __init__(self, model: str | Path | Predictor | None = None, mode: str = "oneshot") -> None:
        api.check_mode(mode)
        self._model = model
        self.sources: dict[str, ArraySource] = {}
        self.predicted: EQSettings | None = None
        self._downloads_for: np.ndarray | None = None  # the parameters the download links hold
        self.eq = EQPanel(example=None)

        self.uploads = {}
        for role in ROLES:
            upload = w.FileUpload(accept=AUDIO_TYPES, multiple=False, description=role)
            upload.add_class(f"eqlib-match-upload-{role}")
            upload.observe(lambda change, role=role: self._on_upload(role, change["new"]), names="value")
            self.uploads[role] = upload
        self.mode = w.Dropdown(options=api.MODES, value=mode, description="mode", layout=w.Layout(width="200px"))
        self.mode.add_class("eqlib-match-mode")
        self.predict_button = w.Button(description="predict", icon="magic", button_style="primary")
        self.predict_button.add_class("eqlib-match-predict")
        self.predict_button.on_click(lambda _: self.predict())
        self.status = w.HTML("<i>upload an input and a reference (WAV, FLAC, OGG, AIFF), then press predict</i>")
        self.status.add_class("eqlib-match-status")

        self.players = {}
        for role in (*ROLES, "processed"):
            player = w.Audio(format="wav", autoplay=False)
            player.add_class(f"eqlib-match-player-{role}")
            self.players[role] = player
        self.prepare_button = w.Button(description="prepare downloads", icon="download")
        self.prepare_button.add_class("eqlib-match-prepare")
        self.prepare_button.on_click(lambda _: self.prepare_downloads())
        self.downloads = w.HTML()
        self.downloads.add_class("eqlib-match-downloads")

        players = w.HBox([w.VBox([w.HTML(label), self.players[role]]) for role, label in
                          (("input", "input"), ("reference", "reference"), ("processed", "input through the EQ"))])
        self.widget = w.VBox([
            w.HBox([self.uploads["input"], self.uploads["reference"], self.mode, self.predict_button]),
            self.status, players, self.eq.widget, w.HBox([self.prepare_button, self.downloads])])
        self.widget.add_class("eqlib-match-panel")
        self.eq.plot.observe(lambda _: self._update_processed(), names="value")  # one new image per re-render

    # --- public API -------------------------------------------------------------------------
    def load_recording(self, role: str, data: bytes, name: str) -> bool:
        """Decode an uploaded file's bytes as the ``input`` or ``reference``; on unusable audio say why (the
        reason and its :class:`eqlib.errors.EqlibError` kind, as the command line gives them) and return False.
        The recording is checked as ``eqlib.match`` checks arrays (length, rate, channels, silence, absurd
        samples)."""
        try:
            samples, sample_rate, notes = decode_bytes(data, name)
            source = api.as_source(samples, sample_rate, name)
        except EqlibError as err:
            self._say(f"could not use {name} as the {role}: {err} [{err.kind}]", error=True)
            return False
        self.sources[role] = source
        self.players[role].value = wav_bytes(self._preview(source.samples, source.sample_rate), sample_rate)[0]
        if role == "input":
            self._update_processed()
        self._say(f"{role}: {name}, {source.duration_s:.1f} s, {source.sample_rate} Hz, {source.channels} ch"
                  + "".join(f"; warning: {note}" for note in notes))
        return True

    def predict(self) -> EQSettings | None:
        """Predict with the chosen mode, load the result into the sliders and return it (None, said why, if an
        upload is missing or the model cannot be loaded)."""
        missing = [role for role in ROLES if role not in self.sources]
        if missing:
            self._say(f"upload the {' and the '.join(missing)} first", error=True)
            return None
        mode = self.mode.value
        start = time.perf_counter()
        try:
            predictor = api.resolve_model(self._model, mode)
            if predictor is not None:
                self._model = predictor  # loaded once per panel
            analyses = [api.analyse(self.sources[role], mode, predictor, role) for role in ROLES]
            settings = api.settings_from(*analyses, mode, predictor)
        except Exception as err:  # noqa: BLE001 - a panel says what went wrong instead of raising into the kernel log
            error = describe(err)
            self._say(f"could not predict: {error} [{error.kind}]", error=True)
            return None
        self.predicted = settings
        self.eq.set_settings(settings)
        model = "" if mode == "spectral" else f" with {predictor.name}"
        self._say(f"predicted ({mode}{model}) in {time.perf_counter() - start:.2f} s; the sliders hold it now",
                  table=settings)
        return settings

    def processed(self) -> np.ndarray:
        """The whole input ``(channels, time)`` through the sliders' EQ at its own rate (bands clamped below
        0.45 x the rate)."""
        source = self.sources["input"]
        effective, _ = api.clamp_to_rate(self.eq.settings, source.sample_rate)
        return effective.apply(source.samples, source.sample_rate)

    def prepare_downloads(self) -> None:
        """Links to the processed input (16-bit WAV at the input's rate), the settings (JSON) and the preset."""
        if "input" not in self.sources:
            self._say("upload an input first", error=True)
            return
        settings = self.eq.settings
        audio, gain_db = wav_bytes(self.processed(), self.sources["input"].sample_rate)
        stem = Path(self.sources["input"].name).stem
        links = [_download_link(f"{stem}-matched.wav", "audio/wav", audio),
                 _download_link("ParametricEQ.txt", "text/plain", to_parametric_eq(settings).encode()),
                 _download_link(f"{stem}-eq.json", "application/json", (settings.to_json() + "\n").encode())]
        note = f" (scaled by {gain_db:.1f} dB so as not to clip)" if gain_db < 0 else ""
        self.downloads.value = " · ".join(links) + note
        self._downloads_for = settings.params.copy()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # --- internals ------------------------------------------------------------------------------
    @staticmethod
    def _preview(samples: np.ndarray, sample_rate: int) -> np.ndarray:
        return samples[:, : int(PREVIEW_S * sample_rate)]

    def _update_processed(self) -> None:
        if "input" not in self.sources:
            return
        source = self.sources["input"]
        effective, _ = api.clamp_to_rate(self.eq.settings, source.sample_rate)
        preview = effective.apply(self._preview(source.samples, source.sample_rate), source.sample_rate)
        self.players["processed"].value = wav_bytes(preview, source.sample_rate)[0]
        if self._downloads_for is not None and not np.array_equal(self._downloads_for, self.eq.settings.params):
            self.downloads.value, self._downloads_for = "", None  # the links were for the sliders as they were

    def _on_upload(self, role: str, files: tuple) -> None:
        if not files:
            return
        self.uploads[role].value = ()  # clear, so choosing the same file again fires once more
        self.load_recording(role, bytes(files[0]["content"]), files[0]["name"])

    def _say(self, text: str, error: bool = False, table: EQSettings | None = None) -> None:
        colour = "#b00020" if error else "#1b5e20"
        self.status.value = (f"<span style='color:{colour}'>{html.escape(text)}</span>"
                             + (table._repr_html_() if table is not None else ""))
