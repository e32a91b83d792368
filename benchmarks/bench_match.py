"""Whole-command wall time of ``eqlib match`` against ``matchering`` on a 3-s and a 10-minute pair, CPU.

Each command runs as its own process (start-up and imports included), on the same files: real
speech from the clips shipped in ``eqlib/data`` (input: male speakers, reference: female
speakers), tiled to the target length, 44.1 kHz mono 16-bit WAV, written to a temporary folder.
``eqlib`` runs in spectral mode, and in oneshot mode when weights exist (``--weights`` or the
shipped ``eqlib/weights/proposed_db.pt``). matchering (``pip install matchering``) matches the
target to the reference (mono becomes stereo inside it; its reference must be at least 4096
samples and at most 15 min) and writes 16-bit WAV. The best of ``--repeats`` runs is reported for the
short pair, one run for the long pair.

    .venv/bin/python benchmarks/bench_match.py [--weights runs/x/best.pt] [--repeats 3] [--long-s 600]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware_line  # noqa: E402

from eqlib.checkpoint import default_weights  # noqa: E402
from eqlib.examples import list_examples, load_example  # noqa: E402

EQLIB = [sys.executable, "-m", "eqlib"]
MATCHERING_CODE = "import sys, matchering as mg; mg.process(sys.argv[1], sys.argv[2], results=[mg.pcm16(sys.argv[3])])"


def tiled_speech(suffix: str, seconds: float) -> tuple[np.ndarray, int]:
    """The shipped speech clips whose names end in ``suffix`` (``-m``/``-f``), concatenated and tiled to ``seconds``."""
    clips = [load_example(n) for n in list_examples("speech") if n.removesuffix("-2").endswith(suffix)]
    rate = clips[0][1]
    joined = np.concatenate([c for c, _ in clips])
    reps = int(np.ceil(seconds * rate / len(joined)))
    return np.tile(joined, reps)[: int(seconds * rate)], rate


def timed(cmd: list[str]) -> float:
    """Run ``cmd``; return its wall time in s; raise with its stderr on failure."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="checkpoint for oneshot mode (default: shipped proposed_db weights)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per short case (best is reported)")
    parser.add_argument("--long-s", type=float, default=600.0, help="length of the long pair in s")
    args = parser.parse_args()
    weights = Path(args.weights) if args.weights else default_weights("proposed_db")
    try:
        import matchering  # noqa: F401
        has_matchering = True
    except ImportError:
        has_matchering = False
        print("matchering not installed (pip install matchering): its column is skipped")

    print(f"hardware: {hardware_line()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    systems = {"eqlib spectral": lambda i, r, o: EQLIB + ["match", i, r, "-o", o, "--mode", "spectral", "--force"]}
    if weights.is_file():
        systems["eqlib oneshot"] = lambda i, r, o: EQLIB + ["match", i, r, "-o", o, "--weights", str(weights),
                                                            "--force"]
    else:
        print(f"no weights at {weights}: oneshot skipped")
    if has_matchering:
        systems["matchering"] = lambda i, r, o: [sys.executable, "-c", MATCHERING_CODE, i, r, o]

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmp:
        for label, seconds, repeats in (("3 s", 3.0, args.repeats), (f"{args.long_s / 60:g} min", args.long_s, 1)):
            paths = []
            for role, suffix in (("input", "-m"), ("reference", "-f")):
                audio, rate = tiled_speech(suffix, seconds)
                paths.append(str(Path(tmp) / f"{role}-{seconds:g}.wav"))
                sf.write(paths[-1], audio, rate, subtype="PCM_16")
            out = str(Path(tmp) / "out.wav")
            results = {name: min(timed(make(*paths, out)) for _ in range(repeats)) for name, make in systems.items()}
            rows.append((label, results))

    names = list(systems)
    ours = [n for n in names if n != "matchering"]
    header = ["pair"] + [f"{n} (s)" for n in names]
    if has_matchering:
        header += [f"{n} / matchering" for n in ours]
    lines = [header]
    for label, results in rows:
        line = [label] + [f"{results[n]:.2f}" for n in names]
        if has_matchering:
            line += [f"{results[n] / results['matchering']:.2f}x" for n in ours]
        lines.append(line)
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    for r in lines:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
