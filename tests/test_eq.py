"""The 4-band EQ spec and settings (eqlib.eq): normalisation, sampling, validation, JSON,
display, and the ffmpeg / pedalboard exports checked by running the real tools."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import scipy.signal
import scipy.stats
import torch

from eqlib.eq import DEFAULT_EQ, SETTINGS_FORMAT, EQSettings

EXTREME_EQS = [
    [[15.0, 30.0, 1.5], [15.0, 100.0, 5.0], [-15.0, 800.0, 5.0], [15.0, 16000.0, 1.5]],
    [[-15.0, 30.0, 0.5], [-15.0, 100.0, 5.0], [15.0, 8000.0, 5.0], [-15.0, 2000.0, 0.5]],
]


def _residual_db(test: np.ndarray, reference: np.ndarray) -> float:
    """Energy of ``test - reference`` relative to the energy of ``reference``, in dB."""
    return float(10 * np.log10(np.sum((test - reference) ** 2) / np.sum(reference**2)))


def _random_settings(num: int, seed: int) -> list[EQSettings]:
    return [EQSettings(p) for p in DEFAULT_EQ.sample(num, torch.Generator().manual_seed(seed)).numpy()]


# --- normalisation and sampling --------------------------------------------------------------


def test_norm_round_trips_and_bounds() -> None:
    params = DEFAULT_EQ.sample(1000, torch.Generator().manual_seed(0))
    norm = DEFAULT_EQ.to_norm(params)
    assert norm.shape == (1000, 12)
    assert float(norm.min()) >= 0.0 and float(norm.max()) <= 1.0
    torch.testing.assert_close(DEFAULT_EQ.from_norm(norm), params, rtol=1e-12, atol=1e-12)
    u = torch.rand(1000, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(DEFAULT_EQ.to_norm(DEFAULT_EQ.from_norm(u)), u, rtol=0, atol=1e-12)
    torch.testing.assert_close(DEFAULT_EQ.from_norm(torch.zeros(12, dtype=torch.float64)), DEFAULT_EQ.minimum)
    torch.testing.assert_close(DEFAULT_EQ.from_norm(torch.ones(12, dtype=torch.float64)), DEFAULT_EQ.maximum)
    # geometric mean of a log-scaled knob sits at 0.5; arithmetic mean of the gain at 0.5
    mid = DEFAULT_EQ.from_norm(torch.full((12,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(mid[:, 0], (DEFAULT_EQ.minimum[:, 0] + DEFAULT_EQ.maximum[:, 0]) / 2)
    torch.testing.assert_close(mid[:, 1:], (DEFAULT_EQ.minimum[:, 1:] * DEFAULT_EQ.maximum[:, 1:]).sqrt())


def test_settings_norm_round_trip_and_clipping() -> None:
    for s in _random_settings(20, seed=2):
        np.testing.assert_allclose(EQSettings.from_norm(s.to_norm()).params, s.params, rtol=1e-12)
    clipped = EQSettings.from_norm(np.full(12, 1.7))
    np.testing.assert_allclose(clipped.params, DEFAULT_EQ.maximum.numpy(), rtol=1e-12)


def test_sampling_uniform_gain_log_uniform_freq_and_q() -> None:
    params = DEFAULT_EQ.sample(10_000, torch.Generator().manual_seed(3)).numpy()
    for i, band in enumerate(DEFAULT_EQ.bands):
        for j, spec in enumerate(band.params):
            x = params[:, i, j]
            assert x.min() >= spec.minimum and x.max() <= spec.maximum
            if spec.log_scale:
                lo, hi = np.log(spec.minimum), np.log(spec.maximum)
                p_right = scipy.stats.kstest(np.log(x), "uniform", args=(lo, hi - lo)).pvalue
                p_wrong = scipy.stats.kstest(x, "uniform", args=(spec.minimum, spec.maximum - spec.minimum)).pvalue
                assert p_wrong < 1e-6, f"{band.name}.{spec.name}: linear-uniform not rejected"
            else:
                p_right = scipy.stats.kstest(x, "uniform", args=(spec.minimum, spec.maximum - spec.minimum)).pvalue
            assert p_right > 1e-3, f"{band.name}.{spec.name}: KS p = {p_right:.2g}"


def test_sampling_is_seeded() -> None:
    a = DEFAULT_EQ.sample(5, torch.Generator().manual_seed(42))
    b = DEFAULT_EQ.sample(5, torch.Generator().manual_seed(42))
    c = DEFAULT_EQ.sample(5, torch.Generator().manual_seed(43))
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", DEFAULT_EQ.param_names)
def test_check_rejects_each_out_of_range_knob_by_name(name: str) -> None:
    index = DEFAULT_EQ.param_names.index(name)
    band, knob = divmod(index, 3)
    spec = DEFAULT_EQ.bands[band].params[knob]
    pattern = re.escape(name)
    for bad in (spec.maximum * 1.01 + 0.01, spec.minimum - 0.01 * abs(spec.minimum) - 0.01, float("nan")):
        params = DEFAULT_EQ.default.numpy().copy()
        params[band, knob] = bad
        with pytest.raises(ValueError, match=f"^{pattern} = .* outside its range"):
            DEFAULT_EQ.check(params)
        with pytest.raises(ValueError, match=pattern):
            EQSettings(params)
    DEFAULT_EQ.check(DEFAULT_EQ.minimum.numpy())
    DEFAULT_EQ.check(DEFAULT_EQ.maximum.numpy())


def test_check_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="expected 4 bands × 3 parameters"):
        DEFAULT_EQ.check(np.zeros((3, 3)))


def test_band_at_or_above_nyquist_raises() -> None:
    s = EQSettings([[0, 120, 0.7], [0, 450, 1], [0, 2500, 1], [3.0, 9000.0, 0.7]])
    s.sos(44100)
    with pytest.raises(ValueError, match="9000.0 Hz is outside .*Nyquist at sample rate 16000"):
        s.sos(16000)


# --- JSON ---------------------------------------------------------------------------------


def test_json_round_trip_is_bit_identical(tmp_path) -> None:
    for s in _random_settings(50, seed=4) + [EQSettings(p) for p in EXTREME_EQS]:
        back = EQSettings.from_json(s.to_json())
        assert back.params.dtype == np.float64
        assert back.params.tobytes() == s.params.tobytes()
    path = tmp_path / "eq.json"
    s.save(path)
    assert EQSettings.load(path).params.tobytes() == s.params.tobytes()
    assert json.loads(path.read_text())["format"] == SETTINGS_FORMAT


def _valid_dict() -> dict:
    return EQSettings(EXTREME_EQS[0]).to_dict()


def _broken(edit) -> str:
    d = _valid_dict()
    edit(d)
    return json.dumps(d)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "not an eqlib EQ settings object"),
        (_broken(lambda d: d.update(format="other/1")), "not an eqlib EQ settings object"),
        (_broken(lambda d: d["bands"].pop()), "must list 4 bands"),
        (_broken(lambda d: d["bands"][1].update(name="bass")), "does not match band 'mid1'"),
        (_broken(lambda d: d["bands"][0].update(kind="peak")), "does not match band 'low'"),
        (_broken(lambda d: d["bands"][2].pop("q")), "band 'mid2': missing or non-numeric"),
        (_broken(lambda d: d["bands"][3].update(gain_db="loud")), "band 'high': missing or non-numeric"),
        (_broken(lambda d: d["bands"][3].update(gain_db=None)), "band 'high': missing or non-numeric"),
        (_broken(lambda d: d["bands"][1].update(freq_hz=50.0)), r"mid1\.freq = 50 Hz is outside its range"),
        (_broken(lambda d: d["bands"][0].update(gain_db=20.0)), r"low\.gain = 20 dB is outside its range"),
        (_broken(lambda d: d["bands"][2].update(q=float("nan"))), r"mid2\.Q = nan is outside its range"),
    ],
)
def test_malformed_or_out_of_range_json_raises(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EQSettings.from_json(text)


# --- display --------------------------------------------------------------------------------


def test_table_and_html_show_the_values() -> None:
    s = EQSettings([[-3.25, 87.0, 0.71], [4.5, 1234.0, 2.5], [-12.0, 5000.0, 0.3], [7.0, 15000.0, 1.5]])
    text, page = str(s), s._repr_html_()
    for label in ("Low shelf", "Mid 1 (peak)", "Mid 2 (peak)", "High shelf", "gain (dB)", "freq (Hz)"):
        assert label in text and label in page
    for value in ("-3.2", "+4.5", "-12.0", "+7.0", "87", "1234", "5000", "15000", "0.71", "2.50", "0.30", "1.50"):
        assert value in text, value
        assert f"<td>{value}</td>" in page, value
    assert page.startswith("<table>") and page.count("<tr>") == 5
    assert len(text.splitlines()) == 6  # header, rule, four bands


# --- scaling and identity ---------------------------------------------------------------------


def test_scaled_zero_is_identity(speech_like) -> None:
    x = speech_like(seconds=1.0, sample_rate=44100, seed=5)
    for s in _random_settings(5, seed=6) + [EQSettings(p) for p in EXTREME_EQS]:
        flat = s.scaled(0.0)
        np.testing.assert_array_equal(flat.params[:, 1:], s.params[:, 1:])
        assert not flat.params[:, 0].any()
        np.testing.assert_allclose(flat.apply(x, 44100), x, rtol=0, atol=1e-12)
        np.testing.assert_allclose(flat.response_db(np.geomspace(20, 20000, 200), 44100), 0.0, atol=1e-9)
        np.testing.assert_array_equal(s.scaled(1.0).params, s.params)
        np.testing.assert_allclose(s.scaled(0.5).params[:, 0], s.params[:, 0] / 2)
    with pytest.raises(ValueError, match="amount must be in"):
        s.scaled(1.5)
    np.testing.assert_allclose(EQSettings.identity().apply(x, 44100), x, rtol=0, atol=1e-12)


def test_settings_responses_match_scipy() -> None:
    freqs = np.geomspace(20, 20000, 300)
    for s in _random_settings(5, seed=7):
        _, h = scipy.signal.sosfreqz(s.sos(44100), worN=freqs, fs=44100)
        np.testing.assert_allclose(s.response_db(freqs, 44100), 20 * np.log10(np.abs(h)), atol=1e-9)
        np.testing.assert_allclose(s.band_response_db(freqs, 44100).sum(axis=0), s.response_db(freqs, 44100), atol=1e-9)


def test_apply_filters_every_channel_alike(speech_like) -> None:
    x = np.stack([speech_like(seconds=0.5, sample_rate=44100, seed=k) for k in (1, 2)])
    s = EQSettings(EXTREME_EQS[0])
    y = s.apply(x, 44100)
    assert y.shape == x.shape and y.dtype == np.float64
    np.testing.assert_allclose(y[1], s.apply(x[1], 44100), rtol=0, atol=1e-12)


# --- exports run through the real tools -------------------------------------------------------


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_ffmpeg_export_matches_apply(ffmpeg, speech_like, sample_rate: int) -> None:
    x = speech_like(seconds=3.0, sample_rate=sample_rate, seed=8)
    for s in _random_settings(6, seed=sample_rate) + [EQSettings(p) for p in EXTREME_EQS]:
        out = ffmpeg(x, sample_rate, s.to_ffmpeg())
        assert out.shape == x.shape
        residual = _residual_db(out, s.apply(x, sample_rate))
        assert residual <= -60.0, f"{s.to_ffmpeg()}: residual {residual:.1f} dB"


# pedalboard's JUCE filters compute coefficients and filter in float32. With the lowest
# corner (low shelf, mid 1) at 200 Hz or above that costs nothing measurable (worst of 300
# draws: -70 dB); with a strong 30–100 Hz band float32 alone leaves -43 to -55 dB, so the
# whole-range bound is -40 dB.
PEDALBOARD_EXACT_ABOVE_HZ = 200.0


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_pedalboard_export_matches_apply(speech_like, sample_rate: int) -> None:
    x = speech_like(seconds=3.0, sample_rate=sample_rate, seed=9)
    settings = _random_settings(200, seed=sample_rate + 1)
    high = [s for s in settings if min(s.params[0, 1], s.params[1, 1]) >= PEDALBOARD_EXACT_ABOVE_HZ][:8]
    low = [s for s in settings if min(s.params[0, 1], s.params[1, 1]) < PEDALBOARD_EXACT_ABOVE_HZ][:8]
    assert len(high) == 8 and len(low) == 8
    for group, bound in ((high, -60.0), (low + [EQSettings(p) for p in EXTREME_EQS], -40.0)):
        for s in group:
            board = s.to_pedalboard()
            assert len(board) == 4
            out = board(x.astype(np.float32)[None], sample_rate)[0].astype(np.float64)
            residual = _residual_db(out, s.apply(x, sample_rate))
            assert residual <= bound, f"{s.params.tolist()}: residual {residual:.1f} dB (bound {bound} dB)"
