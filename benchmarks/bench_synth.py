"""Speed of the procedural speech synthesiser on one CPU thread, against a white-noise + lfilter floor.

For each repeat, one ``--duration-s`` utterance per speaker of the test split is synthesised
(``eqlib.speech_synth.synthesize``, 44.1 kHz) and, in the same loop, the floor reference: the same
number of samples of Gaussian white noise through a 10-pole all-pole ``scipy.signal.lfilter`` (the
cost of the cheapest LPC-style "speech" generator). Reported: median time per utterance, real-time
factor (seconds of audio per second of compute), training pairs per second (a pair = two 3-s
excerpts) and the synthesiser / floor time ratio.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_synth.py [--repeats 3] [--duration-s 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.signal import lfilter  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware_line  # noqa: E402

from eqlib.speech_synth import speaker_ids, synthesize  # noqa: E402

SAMPLE_RATE = 44100


def floor_reference(num_samples: int, seed: int) -> np.ndarray:
    """White noise through a stable 10-pole all-pole filter: the cheapest speech-shaped noise."""
    rng = np.random.default_rng(seed)
    poles = 0.97 * np.exp(1j * np.pi * np.array([0.02, 0.06, 0.11, 0.16, 0.2]))
    a = np.real(np.poly(np.concatenate([poles, poles.conj()])))
    return lfilter([1.0], a, rng.standard_normal(num_samples)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes over the test speakers")
    parser.add_argument("--duration-s", type=float, default=3.0, help="utterance length, s")
    args = parser.parse_args()
    speakers = speaker_ids("test")
    num_samples = int(round(args.duration_s * SAMPLE_RATE))
    synthesize(speakers[0], args.duration_s, 0)  # warm-up (imports, caches)
    synth_s, floor_s = [], []
    for rep in range(args.repeats):
        for i, spk in enumerate(speakers):
            start = time.perf_counter()
            synthesize(spk, args.duration_s, rep * 1000 + i)
            synth_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            floor_reference(num_samples, rep * 1000 + i)
            floor_s.append(time.perf_counter() - start)
    t_synth, t_floor = float(np.median(synth_s)), float(np.median(floor_s))
    print(f"hardware: {hardware_line()}; threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"{len(synth_s)} utterances of {args.duration_s:g} s at {SAMPLE_RATE} Hz (median per utterance)")
    print(f"{'generator':<32}{'ms/utt':>10}{'x real time':>14}{'pairs/s (3 s)':>16}")
    for name, t in [("speech_synth.synthesize", t_synth), ("noise + 10-pole lfilter (floor)", t_floor)]:
        pairs = 1.0 / (2 * t * 3.0 / args.duration_s)
        print(f"{name:<32}{t * 1e3:>10.1f}{args.duration_s / t:>14.0f}{pairs:>16.1f}")
    print(f"synthesiser / floor time ratio: {t_synth / t_floor:.1f}")


if __name__ == "__main__":
    main()
