"""A warm command line for the fuzz tests: real ``eqlib`` processes without paying torch's import for each.

One worker process imports eqlib (and torch, scipy, soundfile) once and never runs any of it; for each run it
forks a child that sets up its standard streams, limits and privileges as asked, then runs ``eqlib.cli.main()`` on
``sys.argv`` exactly as the ``eqlib`` console script does, and exits as the interpreter's shutdown would (stdout
flushed; a flush that fails says "Exception ignored" and exits 120) without its seconds-long teardown of torch. A
child is a separate process with its own descriptors: the tests send it signals, close its stdout, run it
without root's power over file permissions, and a crash of libsndfile kills only it.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WORKER = r"""
import json, os, resource, signal, sys
sys.path.insert(0, sys.argv[1])
from warm_cli import drop_file_overrides
import eqlib.cli, eqlib.api, eqlib.presets, eqlib.streaming, eqlib.spectral_fit, eqlib.inference, eqlib.iir
import eqlib.spectrum, scipy.signal, soxr, tqdm, torch

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.chdir(request["cwd"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        if request["stdout"] == "closed":
            os.close(1)
        elif request["stdout"] == "broken-pipe":
            read_end, write_end = os.pipe()
            os.close(read_end)
            os.dup2(write_end, 1)
        else:
            flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if request["stdout"] != "/dev/full" else 0)
            os.dup2(os.open(request["stdout"], flags, 0o666), 1)
        os.dup2(err, 2)
        if request.get("max_file_bytes"):
            resource.setrlimit(resource.RLIMIT_FSIZE, (request["max_file_bytes"],) * 2)
        if request.get("unprivileged"):
            drop_file_overrides()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_DFL)
        sys.stdout = open(1, "w", closefd=False) if request["stdout"] != "closed" else None
        sys.stderr = open(2, "w", closefd=False)
        sys.argv = ["eqlib", *request["argv"]]
        try:
            eqlib.cli.main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        # what the interpreter's shutdown does with the streams (the rest of it takes seconds with torch loaded)
        try:
            if sys.stdout is not None:
                sys.stdout.flush()
        except Exception as err:
            print(f"Exception ignored while flushing sys.stdout: {err!r}", file=sys.stderr)
            code = 120
        sys.stderr.flush()
        os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"status": status}), flush=True)
"""
TIMEOUT_S = 300.0  # one run never takes this long; a hang fails the test instead of the suite
CAP_HEADER_V3 = 0x20080522  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapSets(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_file_overrides() -> None:
    """Drop root's power to read, write and enter any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from this
    process: its permission bits then apply to it as to the owner of its files. Raises OSError where the
    kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    header, sets = _CapHeader(CAP_HEADER_V3, 0), (_CapSets * 2)()
    keep = ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)) & 0xFFFFFFFF
    if libc.capget(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    for name in ("effective", "permitted", "inheritable"):
        setattr(sets[0], name, getattr(sets[0], name) & keep)
    if libc.capset(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capset")


@dataclass
class Run:
    """A finished run: exit code (or ``-signal`` when a signal killed it), stdout and stderr."""

    code: int
    stdout: str
    stderr: str


class WarmCLI:
    """Start the worker (a few seconds, once); :meth:`start` and :meth:`wait` a run, or :meth:`run` one."""

    def __init__(self, scratch: Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "0"}
        self.scratch = scratch
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(Path(__file__).parent)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._count = 0

    def _reply(self) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT_S)
        if not ready:
            raise TimeoutError(f"eqlib run did not finish in {TIMEOUT_S:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the warm eqlib worker died")
        return json.loads(line)

    def start(self, argv: list[str], cwd: Path, stdout: str | None = None, unprivileged: bool = False,
              max_file_bytes: int | None = None) -> tuple[int, Path, Path]:
        """Fork a run; returns ``(pid, stdout path, stderr path)``. ``stdout``: ``"closed"``, ``"/dev/full"``,
        ``"broken-pipe"`` (a pipe whose reader is gone) or None (a file). ``unprivileged``: a run as root without
        root's power over file permissions (:func:`drop_file_overrides` in the worker)."""
        self._count += 1
        out, err = self.scratch / f"run{self._count}.out", self.scratch / f"run{self._count}.err"
        request = {"argv": [str(a) for a in argv], "cwd": str(cwd), "stdout": stdout or str(out), "stderr": str(err),
                   "unprivileged": unprivileged, "max_file_bytes": max_file_bytes}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._reply()["pid"], out, err

    def wait(self, out: Path, err: Path) -> Run:
        status = self._reply()["status"]
        code = os.waitstatus_to_exitcode(status)
        read = lambda p: p.read_text(errors="backslashreplace") if p.exists() else ""  # noqa: E731
        return Run(code, read(out), read(err))

    def run(self, argv: list[str], cwd: Path, **options) -> Run:
        _, out, err = self.start(argv, cwd, **options)
        return self.wait(out, err)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def handlers_installed(pid: int) -> bool:
    """True once the process catches SIGTERM (eqlib's handlers are installed; Python alone leaves it default)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def wait_for_handlers(pid: int, timeout_s: float = 60.0) -> bool:
    """Poll until :func:`handlers_installed` (True) or the process is gone or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if handlers_installed(pid):
            return True
        if not Path(f"/proc/{pid}").exists():
            return False
        time.sleep(0.002)
    return False
