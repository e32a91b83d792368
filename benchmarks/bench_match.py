"""Whole-command wall time of ``eqlib match`` against ``matchering`` on a 3-s and a 10-minute pair, CPU, and
the start-up of ``eqlib --help`` / ``eqlib info`` with the breakdown of a 3-s oneshot match.

Each command runs as its own process (start-up and imports included), on the same files: real
speech from the clips shipped in ``eqlib/data`` (input: male speakers, reference: female
speakers), tiled to the target length, 44.1 kHz mono 16-bit WAV, written to a temporary folder.
``eqlib`` runs in spectral mode, and in oneshot mode when weights exist (``--weights`` or the
shipped weights of ``eqlib.inference.DEFAULT_MODEL``). matchering (``pip install matchering``) matches the
target to the reference (mono becomes stereo inside it; its reference must be at least 4096
samples and at most 15 min) and writes 16-bit WAV. The best of ``--repeats`` runs is reported for the
short pair and the start-up commands, one run for the long pair (``--long-s 0`` skips it). The ratios
against matchering come from the same run. The breakdown times each stage of one 3-s oneshot match in a
fresh interpreter: imports (numpy and soundfile, torch, the rest of eqlib; the command line no longer imports
scipy.signal), loading the model, analysing both files, predicting (with the gate's fit, whose first optimiser
imports torch._dynamo), filtering and writing.

    .venv/bin/python benchmarks/bench_match.py [--weights runs/x/best.pt] [--repeats 3] [--long-s 600]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Only the standard library at the top: the --breakdown worker times every import itself.
EQLIB = [sys.executable, "-m", "eqlib"]
MATCHERING_CODE = "import sys, matchering as mg; mg.process(sys.argv[1], sys.argv[2], results=[mg.pcm16(sys.argv[3])])"


def tiled_speech(suffix: str, seconds: float):
    """The shipped speech clips whose names end in ``suffix`` (``-m``/``-f``), concatenated and tiled to ``seconds``:
    ``(samples (time,), sample rate in Hz)``."""
    import numpy as np

    from eqlib.examples import list_examples, load_example

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


def breakdown(input_path: str, reference_path: str, out: str, weights: str) -> list[tuple[str, float]]:
    """Wall time (s) of each stage of one oneshot match, in this (fresh) interpreter."""
    stages, start = [], time.perf_counter()

    def lap(label: str) -> None:
        nonlocal start
        now = time.perf_counter()
        stages.append((label, now - start))
        start = now

    import numpy  # noqa: F401
    import soundfile  # noqa: F401
    lap("import numpy, soundfile")
    import torch  # noqa: F401
    lap("import torch")
    from eqlib import api, cli, streaming
    lap("import the rest of eqlib")
    model = api.load_model(weights)
    lap("load the model")
    src, ref = streaming.open_source(input_path), streaming.open_source(reference_path)
    analyses = [api.analyse(s, "oneshot", model, label) for s, label in ((src, "input"), (ref, "reference"))]
    lap("analyse both files")
    settings = api.settings_from(*analyses, "oneshot", model)
    lap("predict")
    from eqlib.audio import OutputFiles

    plan = streaming.output_plan(Path(out), src.sample_rate, src.channels, src.subtype)
    with OutputFiles() as files:
        cli.write_outputs(files, src, settings, plan, {}, normalize=False)
        files.commit()
    lap("filter and write")
    return stages


def print_table(header: list[str], rows: list[list[str]]) -> None:
    lines = [header, *rows]
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    for r in lines:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="checkpoint for oneshot mode (default: the shipped DEFAULT_MODEL weights)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per short case (best is reported)")
    parser.add_argument("--long-s", type=float, default=600.0, help="length of the long pair in s (0: skip it)")
    parser.add_argument("--breakdown", nargs=4, help=argparse.SUPPRESS)  # worker: IN REF OUT WEIGHTS
    args = parser.parse_args()
    if args.breakdown:
        print(json.dumps(breakdown(*args.breakdown)))
        return
    import soundfile as sf

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import hardware_line

    from eqlib.checkpoint import default_weights
    from eqlib.inference import DEFAULT_MODEL

    weights = Path(args.weights) if args.weights else default_weights(DEFAULT_MODEL)
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

    rows, cases = [], [("3 s", 3.0, args.repeats)] + ([(f"{args.long_s / 60:g} min", args.long_s, 1)]
                                                      if args.long_s > 0 else [])
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmp:
        short = []
        for label, seconds, repeats in cases:
            paths = []
            for role, suffix in (("input", "-m"), ("reference", "-f")):
                audio, rate = tiled_speech(suffix, seconds)
                paths.append(str(Path(tmp) / f"{role}-{seconds:g}.wav"))
                sf.write(paths[-1], audio, rate, subtype="PCM_16")
            short = short or paths
            out = str(Path(tmp) / "out.wav")
            results = {name: min(timed(make(*paths, out)) for _ in range(repeats)) for name, make in systems.items()}
            rows.append((label, results))
        startup = {"python -c pass": [sys.executable, "-c", "pass"], "eqlib --help": EQLIB + ["--help"],
                   "eqlib info (3-s file)": EQLIB + ["info", short[0]]}
        startup_s = {name: min(timed(cmd) for _ in range(args.repeats)) for name, cmd in startup.items()}
        stages = None
        if weights.is_file():
            proc = subprocess.run([sys.executable, __file__, "--breakdown", *short, str(Path(tmp) / "b.wav"),
                                   str(weights)], capture_output=True, text=True, check=True)
            stages = json.loads(proc.stdout.strip().splitlines()[-1])

    print("\nstart-up, whole process (target for --help and info: <= 0.5 s)")
    print_table(["command", "wall (s)"], [[name, f"{s:.2f}"] for name, s in startup_s.items()])
    names = list(systems)
    ours = [n for n in names if n != "matchering"]
    header = ["pair"] + [f"{n} (s)" for n in names] + ([f"{n} / matchering" for n in ours] if has_matchering else [])
    print("\nwhole command, same files")
    print_table(header, [[label] + [f"{results[n]:.2f}" for n in names]
                         + ([f"{results[n] / results['matchering']:.2f}x" for n in ours] if has_matchering else [])
                         for label, results in rows])
    if stages:
        print("\nbreakdown of one 3-s oneshot match in a fresh interpreter")
        print_table(["stage", "wall (s)"], [[label, f"{s:.2f}"] for label, s in stages]
                    + [["total (without interpreter start)", f"{sum(s for _, s in stages):.2f}"]])


if __name__ == "__main__":
    main()
