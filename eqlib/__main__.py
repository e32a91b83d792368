"""``python -m eqlib``: the command line of :mod:`eqlib.cli`."""

from eqlib.cli import main

main()
