"""Shared pieces of the benchmark scripts: example excerpts, timing, peak memory, isolated runs.

Every benchmark works on a fresh clone: its audio comes from the clips shipped in ``eqlib/data``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Callable

import numpy as np
import torch

EXCERPT_S = 3.0  # every pair in the paper's setting is made of 3-s excerpts


def example_excerpts(excerpt_s: float = EXCERPT_S) -> tuple[list[np.ndarray], list[str], int]:
    """The shipped speech examples cut to their first ``excerpt_s`` seconds, with a speaker label each.

    Returns ``(excerpts, speakers, sample_rate)``; ``speech-s5-f-2`` and ``speech-s5-f`` share a speaker.
    """
    from eqlib.examples import list_examples, load_example

    excerpts, speakers, rate = [], [], 44100
    for name in list_examples("speech"):
        audio, rate = load_example(name)
        excerpts.append(audio[: int(excerpt_s * rate)])
        speakers.append(name.removesuffix("-2"))
    return excerpts, speakers, rate


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time_s(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Fastest of ``repeats`` wall-clock timings of ``fn()`` in s, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


def rss_mib() -> float:
    """Current resident set size of this process, MiB (Linux ``/proc``; falls back to peak RSS)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hardware_line() -> str:
    """One line naming the CPU, core count, torch version and GPU (if any)."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, {gpu}"


def run_isolated(script: str, job: dict) -> dict:
    """Run ``script --worker JSON`` in a fresh interpreter (so peak memory is its own); return its JSON result."""
    proc = subprocess.run([sys.executable, script, "--worker", json.dumps(job)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {job} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


REPO = Path(__file__).resolve().parent.parent
#: The last commit before the vectorised EQ core and the sync-free training step: "today's step" of issue 14.
BASELINE_REV = "c3fc215"


def extract_revision(rev: str, into: Path) -> Path:
    """``eqlib/`` of this repository's git revision ``rev`` unpacked under ``into``; returns the folder to put
    on ``PYTHONPATH`` so that ``import eqlib`` loads that revision (it precedes the editable install)."""
    archive = subprocess.run(["git", "archive", rev, "eqlib"], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_with_code(script: str, job: dict, code_root: Path) -> dict:
    """Run ``script --worker JSON`` in a fresh interpreter whose ``eqlib`` comes from ``code_root``; return its JSON."""
    env = {**os.environ, "PYTHONPATH": str(code_root), "OMP_NUM_THREADS": str(job.get("threads", 1))}
    proc = subprocess.run([sys.executable, script, "--worker", json.dumps(job)], capture_output=True, text=True,
                          env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise RuntimeError(f"worker {job} failed:\n{proc.stderr.strip()[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_or_work(doc: str, repeats: int, worker: Callable[[dict], dict]) -> argparse.Namespace | None:
    """Parse ``--batch``/``--repeats``; in a ``--worker`` child, run ``worker`` on its job, print the JSON
    result for :func:`run_isolated` and return ``None``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return None
    return args
