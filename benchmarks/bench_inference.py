"""Inference speed of every model: latency per 3-s (input, reference) pair at batch 1, throughput at batch 64.

Waveforms in, ``params_norm`` out (``EQNet.forward_audio``: STFT, mel, extractor, comparison,
predictor), under ``torch.inference_mode``. Shipped weights ``eqlib/weights/<name>.pt`` are
used when present, else untrained weights (same cost). Each (model, threads) case runs in a fresh
interpreter; peak = peak RSS growth over the RSS just before the model is loaded (MiB).

    .venv/bin/python benchmarks/bench_inference.py [--batch 64] [--repeats 5]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (EXCERPT_S, best_time_s, example_excerpts, hardware_line, parse_or_work, peak_rss_mib,  # noqa: E402
                     rss_mib, run_isolated)

from eqlib.checkpoint import default_weights, load_model  # noqa: E402
from eqlib.models import MODEL_NAMES, build_model  # noqa: E402


def worker(job: dict) -> dict:
    """Time one model at batch 1 and at ``job["batch"]``; return ms/pair, pairs/s and peak memory (MiB)."""
    torch.set_num_threads(job["threads"])
    excerpts, _, _ = example_excerpts()
    rng = np.random.default_rng(0)
    pick = rng.integers(len(excerpts), size=(job["batch"], 2))
    audio_in = torch.as_tensor(np.stack([excerpts[i] for i in pick[:, 0]]))
    audio_ref = torch.as_tensor(np.stack([excerpts[i] for i in pick[:, 1]]))
    before_mib = rss_mib()
    weights = default_weights(job["model"])
    model = load_model(weights)[0] if weights.is_file() else build_model(job["model"]).eval()
    cpu = torch.device("cpu")
    with torch.inference_mode():
        single_s = best_time_s(lambda: model.forward_audio(audio_in[:1], audio_ref[:1]), cpu, job["repeats"])
        batch_s = best_time_s(lambda: model.forward_audio(audio_in, audio_ref), cpu, max(1, job["repeats"] // 2))
    return {"latency_ms": 1000 * single_s, "pairs_per_s": job["batch"] / batch_s, "peak_mib": peak_rss_mib() - before_mib,
            "weights": "shipped" if weights.is_file() else "untrained"}


def main() -> None:
    args = parse_or_work(__doc__, 5, worker)
    if args is None:
        return

    print(f"hardware: {hardware_line()}")
    print(f"inference on CPU from {EXCERPT_S:g}-s waveforms; latency at batch 1 (best of {args.repeats}), "
          f"throughput at batch {args.batch}; peak = memory growth (MiB)")
    print(f"{'model':16s} {'weights':9s} {'threads':>7s} {'ms/pair b1':>10s} {'pairs/s b1':>10s} "
          f"{f'pairs/s b{args.batch}':>11s} {'× b1':>6s} {'peak MiB':>9s}")
    for model in MODEL_NAMES:
        for threads in sorted({1, os.cpu_count() or 1}):
            job = {"model": model, "threads": threads, "batch": args.batch, "repeats": args.repeats}
            r = run_isolated(__file__, job)
            single_rate = 1000 / r["latency_ms"]
            print(f"{model:16s} {r['weights']:9s} {threads:7d} {r['latency_ms']:10.1f} {single_rate:10.1f} "
                  f"{r['pairs_per_s']:11.1f} {r['pairs_per_s'] / single_rate:6.2f} {r['peak_mib']:9.0f}", flush=True)


if __name__ == "__main__":
    main()
