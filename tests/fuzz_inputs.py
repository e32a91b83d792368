"""Generated hostile inputs for the fuzz suites (tests/test_fuzz_cli.py through the command line,
tests/test_fuzz_api.py through the Python API and the notebook panels): audio files of every kind with damaged
headers and extreme values, settings texts and presets, and a pickle that would run code if ever unpickled."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from conftest import make_speech_like
from eqlib.eq import EQSettings

LONG = os.environ.get("EQLIB_FUZZ") == "long"  # make fuzz: ten times the examples, fresh ones each run
SCALE = 10 if LONG else 1
FUZZ = settings(max_examples=30 * SCALE, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


CONTENTS = ("speech", "silence", "dc", "tiny", "huge", "float32-max", "nan", "inf", "denormal", "clipped")
# libsndfile 1.2.2 (soundfile 0.14) aborts the process ("malloc(): corrupted top size") writing hard-to-compress
# stereo ALAC past about 1 M frames (uniform noise at ±0.5: 700 k frames written, 1 M aborted, in one call or in
# blocks; mono 1.5 M written); a 1-MHz, 1.5-s fuzz file is 1.5 M frames. Such inputs become the refused stub.
ALAC_SAFE_FRAMES = 500_000


def content(kind: str, frames: int, channels: int, seed: int) -> np.ndarray:
    """``(frames, channels)`` samples of a content ``kind``: speech-like noise made as if at 16 kHz, whatever the
    file's rate (its spectrum scales with the rate, and odd rates cost no more to make)."""
    x = np.stack([make_speech_like(max(frames, 16000) / 16000, 16000, seed + c)[:frames] for c in range(channels)], 1)
    values = {"silence": 0 * x, "dc": 0 * x + 0.5, "tiny": x * 1e-7, "huge": x * 1e300, "float32-max": x * 6e38,
              "denormal": x * 1e-310, "clipped": np.clip(x * 50, -1, 1)}
    y = values.get(kind, x).copy()
    if kind in ("nan", "inf") and y.size:
        y.flat[y.size // 2] = np.nan if kind == "nan" else np.inf
    return y


@st.composite
def audio_files(draw) -> tuple[str, bytes]:
    """(name, bytes): a file of a random container, subtype, rate, channels, length and content, then maybe cut,
    given a lying length field, or scrambled."""
    fmt, subtype = draw(st.sampled_from([("WAV", "PCM_16"), ("WAV", "FLOAT"), ("WAV", "DOUBLE"), ("WAV", "PCM_U8"),
                                         ("WAV", "ULAW"), ("WAV", "IMA_ADPCM"), ("FLAC", "PCM_24"),
                                         ("AIFF", "PCM_32"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III"),
                                         ("CAF", "ALAC_16"), ("W64", "FLOAT"), ("AU", "FLOAT"), ("RF64", "PCM_24")]))
    # usual values about as often as odd ones, so that both outcomes, matched and refused, are common
    rate = draw(st.sampled_from([44100, 48000, 16000, 22050, 96000, 1, 100, 8000, 11025, 192000, 1_000_000]))
    channels = draw(st.sampled_from([1, 2, 1, 2, 3, 8]))
    seconds = draw(st.sampled_from([1.5, 0.6, 1.5, 0.6, 0.0, 0.01, 0.3]))
    kind = draw(st.sampled_from(("speech",) * 4 + CONTENTS))
    x = content(kind, int(seconds * rate), channels, draw(st.integers(0, 99)))
    if subtype not in ("FLOAT", "DOUBLE"):
        x = np.clip(np.nan_to_num(x), -1, 1)  # libsndfile's own encoders are not what is tested here
    buf = io.BytesIO()
    try:
        if subtype == "VORBIS" and rate > 192000:  # libvorbis crashes the process there (eqlib refuses it)
            raise ValueError("Vorbis above 192 kHz")
        if subtype.startswith("ALAC") and channels > 1 and len(x) > ALAC_SAFE_FRAMES:
            raise ValueError("long multichannel ALAC")  # libsndfile's encoder corrupts memory there (see above)
        sf.write(buf, x, rate, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        buf = io.BytesIO(b"RIFF\x00\x00\x00\x00WAVE")  # a combination libsndfile refuses: a stub
    data = bytearray(buf.getvalue())
    damage = draw(st.sampled_from(["none"] * 5 + ["cut", "lie", "scramble", "zero-header", "append"]))
    if damage == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "lie" and len(data) > 44 and data[:4] in (b"RIFF", b"RF64"):
        data[40:44] = (0x7FFFFFF0).to_bytes(4, "little")  # a data chunk far longer than the file
    elif damage == "scramble" and data:
        for _ in range(draw(st.integers(1, 20))):
            data[draw(st.integers(0, min(len(data), 256) - 1))] = draw(st.integers(0, 255))
    elif damage == "zero-header":
        data[:64] = bytes(min(64, len(data)))
    elif damage == "append":
        data += draw(st.binary(min_size=1, max_size=512))
    suffix = {"MP3": "mp3", "OGG": "ogg", "FLAC": "flac"}.get(fmt, draw(st.sampled_from(["wav", fmt.lower(), "bin"])))
    return f"x.{suffix}", bytes(data)


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@st.composite
def settings_texts(draw) -> bytes:
    """Settings files a person or an attacker might hand ``apply``: valid settings with one value replaced, any
    JSON, deep nesting, repeated keys, presets with damaged lines, binary and other encodings."""
    good = EQSettings.identity().to_dict()
    kind = draw(st.sampled_from(["edit", "any-json", "deep", "repeated", "preset", "binary", "utf16", "huge-number"]))
    if kind == "edit":
        band = draw(st.integers(0, 3))
        key = draw(st.sampled_from(["gain_db", "freq_hz", "q", "name", "kind", "extra"]))
        good["bands"][band][key] = draw(st.one_of(JSON_VALUES, st.sampled_from(["300", True, 1e308, -0.0])))
        return json.dumps(good).encode()
    if kind == "any-json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "deep":
        depth = draw(st.integers(500, 200_000))
        return (draw(st.sampled_from(["[", '{"a":'])) * depth).encode()
    if kind == "repeated":
        return json.dumps(good).replace('"format"', '"format": "x", "format"', 1).encode()
    if kind == "preset":
        lines = ["Preamp: -3 dB", "Filter 1: ON LSC Fc 100 Hz Gain 2 dB Q 0.7",
                 "Filter 2: ON PK Fc 300 Hz Gain 1 dB Q 1", "Filter 3: ON PK Fc 3000 Hz Gain 1 dB Q 1",
                 "Filter 4: ON HSC Fc 6000 Hz Gain 2 dB Q 0.7"]
        i = draw(st.integers(0, 4))
        lines[i] = draw(st.sampled_from([lines[i].replace("2 dB", "1e999 dB"), lines[i].replace("dB", ""),
                                         "Preamp: 1e300 dB", "Filter 9: ON BP Fc 1 Hz Gain 1 dB Q 1",
                                         lines[i] + " " * 10_000 + "x", draw(st.text(max_size=40))]))
        return "\n".join(lines).encode(errors="surrogatepass")
    if kind == "binary":
        return draw(st.binary(max_size=300))
    if kind == "utf16":
        return json.dumps(good).encode("utf-16")
    return json.dumps(good).replace("0.707", "1" * 5000, 1).encode()


class Payload:
    """Pickled, it runs ``touch marker`` when unpickled: a malicious checkpoint's payload, to be never run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
