"""The measured application cases (eqlib.application): right answers, probe gains checked against scipy, and
scoring that tells a system that finds the problem from one that does not."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.signal

from conftest import make_speech_like
from eqlib.application import (DIRECTIONS, PROBLEMS, TOLERANCE_DB, CaseResult, bell_problems, cases_table,
                               effects_table, figure_cases, figure_shares, probe_gain_db, run_cases, shares_table,
                               wanted_settings)
from eqlib.eq import EQSettings
from eqlib.metrics import error_grid_hz
from eqlib.spectral_fit import spectral_match

RATE = 44100


def _scipy_db(settings: EQSettings, freqs_hz: np.ndarray) -> np.ndarray:
    _, h = scipy.signal.sosfreqz(settings.sos(RATE), worN=freqs_hz, fs=RATE)
    return 20 * np.log10(np.abs(h))


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_the_right_answer_removes_what_the_input_has(problem: str) -> None:
    added, removed = (wanted_settings(problem, d) for d in DIRECTIONS)
    assert np.array_equal(added.params, PROBLEMS[problem][0].params)
    assert np.array_equal(removed.params[:, 1:], added.params[:, 1:])
    assert np.array_equal(removed.params[:, 0], -added.params[:, 0])
    grid = error_grid_hz(RATE).numpy()  # in dB the two cascades cancel
    assert np.allclose(_scipy_db(added, grid) + _scipy_db(removed, grid), 0.0, atol=1e-6)


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_probe_gain_is_the_level_free_response_that_scipy_gives(problem: str) -> None:
    settings, probe_hz = PROBLEMS[problem]
    grid = error_grid_hz(RATE).numpy()
    expected = _scipy_db(settings, np.array([probe_hz]))[0] - _scipy_db(settings, grid).mean()
    assert probe_gain_db(settings, probe_hz) == pytest.approx(expected, abs=1e-6)
    assert 4.0 < expected < 9.0  # the problem is clearly audible at its probe, less than its +9 dB after level removal


def _clips(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(make_speech_like(1.5, RATE, 2 * k), make_speech_like(1.5, RATE, 2 * k + 1)) for k in range(count)]


def test_a_system_that_ignores_the_audio_gets_no_case_right() -> None:
    results = run_cases(lambda x, r, rate: EQSettings.identity(), _clips(2))
    assert [(r.problem, r.direction) for r in results] == [(p, d) for p in PROBLEMS for d in DIRECTIONS]
    for r in results:
        assert np.allclose(r.probe_db, 0.0, atol=1e-9) and r.right_direction == 0 and not r.is_right
        assert np.allclose(r.control_db, 0.0, atol=1e-9) and r.effect_share == 0.0


def test_a_spectral_match_of_the_same_recording_gets_every_case_right() -> None:
    same = [(x, x) for x, _ in _clips(1)]  # same content: only the problem differs, so a match EQ finds it
    results = run_cases(spectral_match, same)
    for r in results:
        assert r.is_right and r.within_tolerance == 1, (r.problem, r.direction, r.probe_db, r.wanted_probe_db)
        assert abs(r.control_db[0]) < 0.5 and 0.5 < r.effect_share < 1.5  # nothing to match without the problem
    table = cases_table({"spectral": results})
    assert table.count("| yes |") == len(results) and f"±{TOLERANCE_DB:g} dB" in table
    assert "nan" not in table + effects_table({"spectral": results})  # one pair: the mean alone, no interval


def test_the_control_takes_a_systems_answer_to_the_two_voices_out_of_the_problems_effect() -> None:
    bias = EQSettings([[0, 120, 0.707], [0, 450, 1.0], [0, 2500, 1.0], [-6, 3000, 0.707]])  # a bandless one

    def biased_spectral(x: np.ndarray, r: np.ndarray, rate: int) -> EQSettings:  # hears a darker reference
        return spectral_match(x, bias.apply(r, rate).astype(np.float32), rate)

    results = run_cases(biased_spectral, [(x, x) for x, _ in _clips(1)])
    for r in results:
        probe_hz = PROBLEMS[r.problem][1]
        assert r.control_db[0] == pytest.approx(probe_gain_db(bias, probe_hz), abs=1.0)
        assert abs(r.control_db[0]) > 1.5  # the bias shows at every probe
        assert 0.5 < r.effect_share < 1.5, (r.problem, r.direction, r.effect_db)
    rows = effects_table({"biased": results}).splitlines()[2:]
    assert len(rows) == len(results) and all(row.startswith("| biased | ") for row in rows)


def test_a_case_is_right_only_on_the_right_side_and_within_tolerance() -> None:
    wanted = wanted_settings("muddy bass", "input has it")

    def case(probes: list[float]) -> CaseResult:
        return CaseResult("muddy bass", "input has it", 125.0, wanted, [wanted] * len(probes), np.array(probes),
                          -6.0, np.zeros(len(probes)))

    assert case([-6.0, -5.0]).is_right
    assert not case([-1.5, -1.0]).is_right  # right side, 4.75 dB short
    assert not case([3.0, -3.0]).is_right  # mean 0: no direction
    mixed = case([-6.0, 1.0, -2.5])
    assert mixed.right_direction == 2 and mixed.within_tolerance == 2


def test_a_bell_sweep_puts_each_bell_on_the_peaking_band_that_holds_it() -> None:
    bells = bell_problems([125, 6500])
    assert list(bells) == ["+9 dB bell at 125 Hz", "+9 dB bell at 6500 Hz"]
    low, high = (settings.params for settings, _ in bells.values())
    assert low[1].tolist() == [9, 125, 2] and high[2].tolist() == [9, 6500, 2]
    assert np.count_nonzero(low[:, 0]) == np.count_nonzero(high[:, 0]) == 1  # every other band flat
    assert np.array_equal(high, PROBLEMS["harsh sibilance"][0].params)  # the paper's sibilance is one of the sweep
    assert [probe for _, probe in bells.values()] == [125.0, 6500.0]
    with pytest.raises(ValueError, match="no bell at 50 Hz"):
        bell_problems([50])


def test_a_spectral_match_of_the_same_recording_follows_every_bell_of_a_sweep() -> None:
    bells = bell_problems([250, 4000])
    results = run_cases(spectral_match, [(x, x) for x, _ in _clips(1)], bells)
    assert [(r.problem, r.direction) for r in results] == [(b, d) for b in bells for d in DIRECTIONS]
    for r in results:
        assert r.wanted_probe_db == pytest.approx(probe_gain_db(wanted_settings(r.problem, r.direction, bells),
                                                                bells[r.problem][1]))
        assert 0.8 < r.effect_share < 1.2, (r.problem, r.direction, r.effect_share)
    ignoring = run_cases(lambda x, r, rate: EQSettings.identity(), _clips(1), bells)
    lines = shares_table({"spectral": results, "identity": ignoring}).splitlines()
    assert lines[0] == ("| problem | `spectral`: reference has it | `spectral`: input has it | "
                        "`identity`: reference has it | `identity`: input has it |")
    assert [line.split(" | ")[0] for line in lines[2:]] == [f"| {b}" for b in bells]
    assert all(line.endswith("| 0% | 0% |") for line in lines[2:])


def test_the_figures_mark_each_case_at_its_own_probe_frequency() -> None:
    """A case carries its probe frequency, so the figures draw a bell sweep's cases as well as the paper's."""
    bells = bell_problems([250, 4000])
    results = run_cases(lambda x, r, rate: EQSettings.identity(), _clips(1), bells)
    assert [r.probe_hz for r in results] == [250.0, 250.0, 4000.0, 4000.0]
    cases = figure_cases(results)
    probes = [bar.lines[0].get_xdata()[0] for ax in cases.axes for bar in ax.containers]
    assert sorted(probes) == [250.0, 250.0, 4000.0, 4000.0]  # each panel's tolerance bar at its bell
    shares = figure_shares({"identity": results})
    assert [list(ax.lines[0].get_xdata()) for ax in shares.axes] == [[250.0, 4000.0]] * len(DIRECTIONS)
    plt.close(cases)
    plt.close(shares)
