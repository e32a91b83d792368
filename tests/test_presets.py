"""ParametricEQ.txt presets: read back within the printed precision, their response computed the way EqualizerAPO
and PipeWire compute it (RBJ cookbook coefficients written out here, scipy's sosfreqz) within 0.1 dB of eqlib's,
a Preamp that keeps the peak gain at or below 0 dB, and numbers both parsers read whole."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import scipy.signal
import torch

from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.presets import parse_parametric_eq, peak_gain_db, preamp_db, read_settings, to_parametric_eq

SETTINGS = np.array([[4.0, 150.0, 0.7], [-6.0, 600.0, 1.5], [5.0, 3000.0, 2.0], [-3.0, 9000.0, 0.8]])
FILTER = re.compile(r"Filter (\d+): ON (\w+) Fc (\S+) Hz Gain (\S+) dB Q (\S+)")


def _draws(n: int = 40) -> list[EQSettings]:
    params = DEFAULT_EQ.sample(n, torch.Generator().manual_seed(16)).numpy()
    params[0] = DEFAULT_EQ.minimum.numpy()  # the corners of the ranges too
    params[1] = DEFAULT_EQ.maximum.numpy()
    return [EQSettings(p) for p in params]


def _rbj_sos(kind: str, freq_hz: float, gain_db: float, q: float, sample_rate: float) -> np.ndarray:
    """One section as EqualizerAPO's BiQuad (Q path) and PipeWire's biquad.c build it (RBJ Audio EQ Cookbook)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq_hz / sample_rate
    cs, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    beta = 2 * np.sqrt(amp) * alpha
    if kind == "PK":
        b, a = [1 + alpha * amp, -2 * cs, 1 - alpha * amp], [1 + alpha / amp, -2 * cs, 1 - alpha / amp]
    elif kind == "LSC":
        b = [amp * ((amp + 1) - (amp - 1) * cs + beta), 2 * amp * ((amp - 1) - (amp + 1) * cs),
             amp * ((amp + 1) - (amp - 1) * cs - beta)]
        a = [(amp + 1) + (amp - 1) * cs + beta, -2 * ((amp - 1) + (amp + 1) * cs), (amp + 1) + (amp - 1) * cs - beta]
    else:  # HSC
        b = [amp * ((amp + 1) + (amp - 1) * cs + beta), -2 * amp * ((amp - 1) + (amp + 1) * cs),
             amp * ((amp + 1) + (amp - 1) * cs - beta)]
        a = [(amp + 1) - (amp - 1) * cs + beta, 2 * ((amp - 1) - (amp + 1) * cs), (amp + 1) - (amp - 1) * cs - beta]
    return np.concatenate([b, a]) / a[0]


def _their_response_db(text: str, freqs_hz: np.ndarray, sample_rate: float) -> np.ndarray:
    """The cascade a player builds from the file's Filter lines (Preamp left out), in dB."""
    sos = np.array([_rbj_sos(kind, float(fc), float(gain), float(q), sample_rate)
                    for _, kind, fc, gain, q in FILTER.findall(text)])
    return 20 * np.log10(np.abs(scipy.signal.sosfreqz(sos, worN=freqs_hz, fs=sample_rate)[1]))


def test_written_preset_reads_back_within_the_printed_precision():
    for settings in _draws():
        back, preamp = parse_parametric_eq(to_parametric_eq(settings))
        diff = np.abs(back.params - settings.params)
        assert np.all(diff[:, 0] <= 0.005 + 1e-12) and np.all(diff[:, 1] <= 0.05 + 1e-9)
        assert np.all(diff[:, 2] <= 0.0005 + 1e-12)
        assert preamp == preamp_db(settings)


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_a_players_response_of_the_preset_is_eqlibs(sample_rate):
    freqs = np.geomspace(20, 20000, 500)
    worst = 0.0
    for settings in _draws():
        text = to_parametric_eq(settings)
        assert [kind for _, kind, *_ in FILTER.findall(text)] == ["LSC", "PK", "PK", "HSC"]
        worst = max(worst, np.abs(_their_response_db(text, freqs, sample_rate)
                                  - settings.response_db(freqs, sample_rate)).max())
    assert worst < 0.1, f"a preset's response differs from eqlib's by up to {worst:.3f} dB"


def test_preamp_keeps_the_peak_gain_at_or_below_0_db():
    freqs = np.geomspace(10, 0.49 * 48000, 20000)  # denser than the grid preamp_db searches
    for settings in _draws():
        text = to_parametric_eq(settings)
        preamp = float(re.match(r"Preamp: (\S+) dB", text).group(1))
        peak = _their_response_db(text, freqs, 48000).max()
        assert preamp <= 0.0 and preamp + peak <= 0.01  # the file's own rounding of the filters: < 0.01 dB
        assert preamp == pytest.approx(-max(0.0, np.ceil(peak_gain_db(settings) * 10) / 10))
    assert to_parametric_eq(EQSettings.identity()).startswith("Preamp: 0.0 dB\n")


def test_numbers_fit_pipewire_and_equalizerapo_parsers():
    """PipeWire's param_eq reads '%8s' of Fc and '%6s' of Gain, Q and Preamp; EqualizerAPO reads an Fc whose
    point stands three places from its end as a thousands separator (so '105.123' would mean 105123 Hz)."""
    for settings in _draws():
        lines = to_parametric_eq(settings).splitlines()
        assert len(lines[0].split()[1]) <= 6
        for _, _, fc, gain, q in FILTER.findall("\n".join(lines)):
            assert len(fc) <= 8 and len(gain) <= 6 and len(q) <= 6
            assert not (len(fc) >= 5 and fc[-4] == ".")
            assert "," not in fc + gain + q


def test_parser_accepts_autoeq_files_in_any_order_of_types():
    text = ("# from AutoEq\nPreamp: -3.2 dB\n\nFilter 1: ON PK Fc 250 Hz Gain 1 dB Q 1\n"
            "Filter 2: ON LSC Fc 105 Hz Gain 3.0 dB Q 0.70\nFilter 3: OFF PK Fc 50 Hz Gain 9 dB Q 2\n"
            "Filter 4: ON HSC Fc 10000 Hz Gain -1.5 dB Q 0.70\nFilter 5: ON PK Fc 4000 Hz Gain -2.0 dB Q 1.41\n")
    settings, preamp = parse_parametric_eq(text)
    assert preamp == -3.2
    np.testing.assert_array_equal(settings.params, [[3.0, 105.0, 0.7], [1.0, 250.0, 1.0], [-2.0, 4000.0, 1.41],
                                                    [-1.5, 10000.0, 0.7]])


@pytest.mark.parametrize("text, message", [
    ("Preamp: -1 dB\nFilter 1: ON LSC Fc 100 Hz Gain 1 dB Q 0.7\n", "must be 1 LSC, 2 PK, 1 HSC"),
    ("Filter 1: ON LS Fc 100 Hz Gain 1 dB\n", "neither a Preamp"),
    ("Filter 1: ON LP Fc 100 Hz Gain 1 dB Q 0.7\n", "not one of LSC, PK, HSC"),
    ("Channel: L\n", "neither a Preamp"),
    ("Filter 1: ON LSC Fc 100 Hz Gain nan dB Q 0.7\n", "not a finite number"),
    ("Filter 1: ON LSC Fc 100 Hz Gain 40 dB Q 0.7\nFilter 2: ON PK Fc 500 Hz Gain 0 dB Q 1\n"
     "Filter 3: ON PK Fc 2000 Hz Gain 0 dB Q 1\nFilter 4: ON HSC Fc 6000 Hz Gain 0 dB Q 0.7\n", "low.gain = 40"),
])
def test_parser_rejects_what_does_not_fit_the_eq(text, message):
    with pytest.raises(ValueError, match=message):
        parse_parametric_eq(text)


def test_read_settings_tells_json_and_presets_apart(tmp_path):
    settings = EQSettings(SETTINGS)
    (tmp_path / "a.json").write_text(settings.to_json())
    (tmp_path / "a.txt").write_text(to_parametric_eq(settings))
    (tmp_path / "bad.txt").write_text("hello\n")
    (tmp_path / "other.json").write_text(json.dumps({"format": "other"}))
    assert read_settings(tmp_path / "a.json")[1] == 0.0
    np.testing.assert_array_equal(read_settings(tmp_path / "a.json")[0].params, settings.params)
    np.testing.assert_allclose(read_settings(tmp_path / "a.txt")[0].params, settings.params, atol=0.05)
    with pytest.raises(ValueError, match="neither eqlib JSON settings nor a ParametricEQ.txt preset"):
        read_settings(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="not an eqlib EQ settings object"):
        read_settings(tmp_path / "other.json")
