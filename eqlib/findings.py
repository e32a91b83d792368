"""The headline comparisons of ``figures/results.md``, as sentences with paired confidence intervals.

:func:`findings_markdown` reads ``eqlib.evaluate`` results (``results[set][system]``) and states, for the default
model, how far it is from doing nothing, from the spectral match EQ, from the paper's proposed model and from its
own networks without the shared-content gate, on every set where both systems were scored. ``make figures`` writes
it to ``figures/findings.md``, which the README includes, so that no number in the prose is typed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from eqlib.evaluate import paired_difference

Results = Mapping[str, Mapping[str, Mapping[str, np.ndarray]]]
KEY = "response_db"


def verdict(mean: float, half: float) -> str:
    """``better``, ``worse`` or ``tied`` for a paired difference ``first − second`` (dB, lower is better)."""
    if mean + half < 0:
        return "better"
    if mean - half > 0:
        return "worse"
    return "tied"


def comparison_line(results: Results, set_name: str, first: str, second: str) -> str:
    """One Markdown bullet: both means and the paired difference with its verdict, or '' if a system is missing."""
    by_system = results.get(set_name, {})
    if first not in by_system or second not in by_system:
        return ""
    a, b = (float(np.mean(by_system[s][KEY])) for s in (first, second))
    mean, half, pairs = paired_difference(results, set_name, first, second, KEY)
    change = 100 * (a - b) / b
    return (f"- {set_name} ({pairs} pairs): `{first}` {a:.2f} dB, `{second}` {b:.2f} dB ({change:+.0f} %); paired "
            f"difference {mean:+.2f} ± {half:.2f} dB: **{verdict(mean, half)}**")


def findings_markdown(results: Results, model: str, lead: str | None = None) -> str:
    """The default ``model`` against identity, spectral, ``proposed_db``, its ensemble's ``lead`` member alone
    (when given) and ``network_<model>``, set by set."""
    sections = [("doing nothing (`identity`)", "identity"), ("the spectral match EQ (`spectral`)", "spectral"),
                ("the paper's proposed model (`proposed_db`)", "proposed_db"),
                *([(f"its lead member alone (`{lead}`, gate included)", lead)] if lead else []),
                ("its own networks without the gate", f"network_{model}")]
    lines = []
    for title, other in sections:
        rows = [comparison_line(results, set_name, model, other) for set_name in results]
        rows = [row for row in rows if row]
        if rows and other != model:
            lines += [f"`{model}` against {title}:", "", *rows, ""]
    return "\n".join(lines).rstrip() + "\n"
