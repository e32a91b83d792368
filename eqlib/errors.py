"""One error type for everything a person can hand eqlib, and the exit codes its reasons map to.

Every failure of a file, an array, a settings file, a model or an output that eqlib can name is an
:class:`EqlibError` (a ``ValueError``) with a one-line message and a ``kind``, a key of :data:`EXIT_CODES`;
the command line exits with that code, the Python API (``eqlib.match``, ``EQSettings.load``, the presets,
``eqlib.load_model``) and the notebook panels raise or show the same error. :func:`from_os_error` turns an
``OSError`` into the kind its role calls for (an input, an output, a settings file, a weights file), and
:func:`describe` turns any exception into an :class:`EqlibError`: the one place that maps OS, libsndfile and
JSON failures to the documented codes. Standard library only, so ``eqlib --help`` stays fast.
"""

from __future__ import annotations

import errno
import sys

# The limits in these texts are eqlib.audio's MIN_DURATION_S, MIN_SAMPLE_RATE, MAX_CHANNELS and MAX_ABS_SAMPLE,
# written out so that `eqlib --help` imports nothing but the standard library (tests/test_cli.py keeps them equal).
EXIT_CODES: dict[str, tuple[int, str]] = {
    "internal": (1, "unexpected internal error"),
    "usage": (2, "usage error (unknown option, missing or non-numeric argument, an option the mode does not use)"),
    "missing": (3, "input file missing"),
    "unreadable": (4, "input file unreadable, corrupt or in an unsupported format"),
    "not_audio": (5, "input file is not audio"),
    "empty": (6, "input file empty (0 bytes or no samples)"),
    "silent": (7, "input silent (peak below -100 dBFS, or nothing between 20 Hz and 20 kHz to match)"),
    "nonfinite": (8, "input contains NaN, infinite or absurd samples (beyond 1e+06 x full scale)"),
    "too_short": (9, "input shorter than 0.5 s"),
    "sample_rate": (10, "input sample rate below 16000 Hz"),
    "channels": (11, "input has more than 2 channels"),
    "same_path": (12, "output path is also an input path"),
    "exists": (13, "output exists (pass --force to overwrite)"),
    "output": (14, "output unusable: no writable folder, name too long, format cannot hold the audio, stdout "
                   "closed or full, write failed"),
    "weights": (15, "weights file missing, unreadable or not an eqlib checkpoint"),
    "amount": (16, "--amount outside [0, 1]"),
    "settings": (17, "settings file unreadable, malformed or out of range"),
    "batch": (18, "one or more batch inputs failed (each is reported)"),
    "hangup": (129, "hung up (SIGHUP)"),
    "interrupted": (130, "interrupted (Ctrl-C, SIGINT)"),
    "terminated": (143, "terminated (SIGTERM)"),
}
#: what a signal number turns into (see :class:`Interrupted`)
SIGNAL_KINDS = {1: "hangup", 2: "interrupted", 15: "terminated"}

#: the kind an ``OSError`` gets, by the role of the file it concerns
ROLE_KINDS = {"input": "unreadable", "output": "output", "settings": "settings", "weights": "weights"}
#: errno values that mean the file is not there (kind ``missing`` for inputs and settings)
ABSENT = {errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG}
#: errno values that mean writing failed for want of room (any role: it happens while writing)
NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
REASONS = {
    errno.ELOOP: "a symlink loop (too many levels of symbolic links)",
    errno.ENAMETOOLONG: "file name too long for the file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "is a folder",
    errno.ENOENT: "no such file",
    errno.ENOTDIR: "a part of the path is not a folder",
}


class EqlibError(ValueError):
    """A failure eqlib can name: a one-line message and a ``kind``, a key of :data:`EXIT_CODES`."""

    def __init__(self, message: str, kind: str) -> None:
        if kind not in EXIT_CODES:
            raise ValueError(f"unknown error kind {kind!r}")
        super().__init__(message)
        self.kind = kind

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind][0]


class Interrupted(KeyboardInterrupt):
    """Raised by the command line's handler for SIGINT, SIGTERM and SIGHUP; ``signum`` is the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def reason(err: OSError) -> str:
    """A short reason for ``err`` in words (``strerror`` where no better one is known)."""
    return REASONS.get(err.errno, err.strerror or type(err).__name__)


def from_os_error(err: OSError, path: object, role: str, cls: type[EqlibError] = EqlibError) -> EqlibError:
    """The error (of class ``cls``) of an ``OSError`` met on ``path``, a file in ``role`` (a key of
    ``ROLE_KINDS``)."""
    kind = ROLE_KINDS[role]
    if role in ("input", "settings") and err.errno in ABSENT:
        kind = "missing"
    elif err.errno in NO_ROOM:
        kind = "output"
    return cls(f"{path}: {reason(err)}", kind)


def first_line(err: BaseException) -> str:
    """The first line of an exception's text, or its class name when it has none."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def describe(err: BaseException) -> EqlibError:
    """Any exception as an :class:`EqlibError`: itself, a signal, a bad checkpoint, a write that ran out of room,
    or an internal error (a bug: its class and first line, to report)."""
    if isinstance(err, EqlibError):
        return err
    if isinstance(err, Interrupted):
        return EqlibError(EXIT_CODES[SIGNAL_KINDS[err.signum]][1].split(" (")[0], SIGNAL_KINDS[err.signum])
    if isinstance(err, KeyboardInterrupt):
        return EqlibError("interrupted", "interrupted")
    checkpoint = sys.modules.get("eqlib.checkpoint")  # never imported here: it needs torch
    if checkpoint is not None and isinstance(err, checkpoint.CheckpointError):
        return EqlibError(first_line(err), "weights")
    if isinstance(err, OSError) and err.errno in NO_ROOM:
        return EqlibError(f"{err.filename or 'output'}: could not write ({reason(err)})", "output")
    if isinstance(err, MemoryError):
        return EqlibError("out of memory (please report it, with the file's size and format)", "internal")
    return EqlibError(f"internal error: {type(err).__name__}: {first_line(err)} (please report it)", "internal")
