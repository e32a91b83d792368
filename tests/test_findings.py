"""The README's headline sentences (eqlib.findings): paired intervals checked against scipy's paired t-test."""

from __future__ import annotations

import numpy as np
import scipy.stats

from eqlib.findings import comparison_line, findings_markdown, paired_difference, verdict


def _results(rng: np.random.Generator) -> dict:
    base = rng.uniform(3.0, 5.0, 40)
    return {"cross-chain": {"identity": {"response_db": base},
                            "ltsnet": {"response_db": base - 0.8 + rng.normal(0, 0.3, 40)},
                            "network_ltsnet": {"response_db": base - 0.8 + rng.normal(0, 0.3, 40)}},
            "speech-same-clip": {"identity": {"response_db": base},
                                 "ltsnet": {"response_db": base + 0.5 + rng.normal(0, 0.2, 40)}}}


def test_paired_interval_is_scipys_paired_t_interval() -> None:
    results = _results(np.random.default_rng(0))
    mean, half, pairs = paired_difference(results, "cross-chain", "ltsnet", "identity")
    diff = results["cross-chain"]["ltsnet"]["response_db"] - results["cross-chain"]["identity"]["response_db"]
    low, high = scipy.stats.ttest_rel(results["cross-chain"]["ltsnet"]["response_db"],
                                      results["cross-chain"]["identity"]["response_db"]).confidence_interval(0.95)
    assert pairs == 40 and np.isclose(mean, diff.mean()) and np.isclose(mean - half, low) and np.isclose(mean + half, high)


def test_verdicts_follow_the_interval() -> None:
    assert verdict(-0.5, 0.2) == "better" and verdict(0.5, 0.2) == "worse" and verdict(-0.1, 0.2) == "tied"


def test_findings_state_each_comparison_where_both_systems_were_scored() -> None:
    results = _results(np.random.default_rng(1))
    text = findings_markdown(results, "ltsnet")
    assert "cross-chain (40 pairs)" in text and "**better**" in text and "**worse**" in text
    assert comparison_line(results, "speech-same-clip", "ltsnet", "network_ltsnet") == ""  # not scored there
    assert "proposed_db" not in text  # no section for a system that was not evaluated
    identity_mean = results["cross-chain"]["identity"]["response_db"].mean()
    assert f"`identity` {identity_mean:.2f} dB" in text
