"""Comparing a command's printout with the one committed, number by number.

The fits behind the printed EQs run in float64 but start from float32 network outputs and use the CPU's own
vector paths, so another CPU can print a last digit or two differently (6057 Hz against 6059 Hz, Q 0.596
against 0.595). Two bands that trade off against each other move further: the default model's answer for
``speech-p376-m.flac`` printed a high shelf at 4497 Hz and a peak of -1.4 dB on one CPU, 4424 Hz (1.6 %) and
-1.7 dB on another (AMD EPYC), while their cascades differ by at most 0.18 dB. Text must match exactly; each number
must lie within ``LAST_PLACE_UNITS`` units of the committed number's last printed place (0.3 dB for a gain) or
within ``RELATIVE`` of it (which matters for frequencies). A change of weights or code moves the printed gains by
more than that.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
LAST_PLACE_UNITS = 3
RELATIVE = 2e-2


def _unit(number: str) -> float:
    """One unit of ``number``'s last printed place (0.01 for ``-0.85``, 1 for ``6059``)."""
    return 10.0 ** -len(number.partition(".")[2])


def same_printout(fresh: str, committed: str, units: int = LAST_PLACE_UNITS) -> bool:
    """``fresh`` reads as ``committed``: the same text around the numbers, and every number within ``units``
    units of the committed one's last printed place or within :data:`RELATIVE` of it."""
    if NUMBER.sub("#", fresh) != NUMBER.sub("#", committed):
        return False
    return all(abs(float(a) - float(b)) <= max(units * _unit(b), RELATIVE * abs(float(b))) + 1e-12
               for a, b in zip(NUMBER.findall(fresh), NUMBER.findall(committed)))


def first_difference(fresh: str, committed: str) -> str:
    """The first line where the two printouts differ (for an assertion's message), or ``""``."""
    for new, old in zip(fresh.splitlines(), committed.splitlines()):
        if not same_printout(new, old):
            return f"now:       {new}\ncommitted: {old}"
    return "" if len(fresh.splitlines()) == len(committed.splitlines()) else "the line counts differ"
