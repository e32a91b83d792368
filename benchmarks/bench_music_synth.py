"""Speed of the procedural music synthesiser on one CPU thread, against the speech synthesiser in the same run.

For each repeat, one ``--duration-s`` excerpt per arrangement of the test split (``eqlib.music_synth``) and one
utterance per speaker of the speech test split (``eqlib.speech_synth``), interleaved so that both see the same
machine load, 44.1 kHz. Reported: median time per excerpt, real-time factor (seconds of audio per second of
compute), training pairs per second (a pair = two 3-s excerpts), the median per music style, and the
music / speech time ratio.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_music_synth.py [--repeats 2] [--duration-s 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware_line  # noqa: E402

from eqlib import music_synth, speech_synth  # noqa: E402

SAMPLE_RATE = 44100


def timed_s(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="passes over the test arrangements")
    parser.add_argument("--duration-s", type=float, default=3.0, help="excerpt length, s")
    args = parser.parse_args()
    if args.repeats < 1 or not 0.1 <= args.duration_s <= music_synth.MAX_DURATION_S:
        parser.error(f"--repeats must be ≥ 1 and --duration-s within 0.1..{music_synth.MAX_DURATION_S:g} s")
    arrangements = music_synth.arrangement_ids("test")
    speakers = speech_synth.speaker_ids("test")
    music_synth.synthesize(arrangements[0], args.duration_s, 0)  # warm-up (imports, caches)
    speech_synth.synthesize(speakers[0], args.duration_s, 0)
    music_s, speech_s, by_style = [], [], defaultdict(list)
    jobs = [(rep, i, a) for rep in range(args.repeats) for i, a in enumerate(arrangements)]
    for rep, i, a in tqdm(jobs, desc="synthesising", unit="excerpt", leave=False):
        seed = rep * 1000 + i
        music_s.append(timed_s(music_synth.synthesize, a, args.duration_s, seed))
        by_style[music_synth.Arrangement.from_id(a).style].append(music_s[-1])
        speech_s.append(timed_s(speech_synth.synthesize, speakers[i % len(speakers)], args.duration_s, seed))
    t_music, t_speech = float(np.median(music_s)), float(np.median(speech_s))
    print(f"hardware: {hardware_line()}; threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"{len(music_s)} excerpts of {args.duration_s:g} s at {SAMPLE_RATE} Hz each (median per excerpt)")
    print(f"{'generator':<28}{'ms/excerpt':>12}{'x real time':>14}{'pairs/s (3 s)':>16}")
    for name, t in [("music_synth.synthesize", t_music), ("speech_synth.synthesize", t_speech)]:
        pairs = 1.0 / (2 * t * 3.0 / args.duration_s)
        print(f"{name:<28}{t * 1e3:>12.1f}{args.duration_s / t:>14.0f}{pairs:>16.1f}")
    print("music by style (median ms/excerpt): " + ", ".join(
        f"{style} {np.median(times) * 1e3:.0f}" for style, times in sorted(by_style.items())))
    print(f"music / speech time ratio: {t_music / t_speech:.2f}")


if __name__ == "__main__":
    main()
