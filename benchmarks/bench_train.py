"""Training throughput of the three models: pairs/s of forward + loss + backward + AdamW step, and peak memory.

Each (model, device, threads) case runs in a fresh interpreter so its peak memory is its own:
CPU peak = peak RSS growth over the process's RSS just before the model is built (MiB);
GPU peak = ``torch.cuda.max_memory_allocated``. The batch is drawn once from a spectrogram
bank of the shipped example clips (pair making is timed by ``bench_pairs.py``); the loss is the
training loss of ``eqlib.train.compute_loss`` with the default ``TrainConfig``.

    .venv/bin/python benchmarks/bench_train.py [--batch 64] [--repeats 3]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (best_time_s, example_excerpts, hardware_line, parse_or_work, peak_rss_mib,  # noqa: E402
                     rss_mib, run_isolated)

from eqlib.models import MODEL_CONFIGS, MODEL_NAMES, build_model  # noqa: E402
from eqlib.pairs import PairSampler, SpectrogramBank  # noqa: E402
from eqlib.train import TrainConfig, compute_loss  # noqa: E402


def worker(job: dict) -> dict:
    """Time ``job["repeats"]`` training steps of one model; return pairs/s and peak memory (MiB)."""
    torch.set_num_threads(job["threads"])
    device = torch.device(job["device"])
    config = TrainConfig(model=job["model"], batch_size=job["batch"])
    excerpts, speakers, _ = example_excerpts()
    bank = SpectrogramBank(excerpts, speakers, MODEL_CONFIGS[config.model].features, device=device)
    batch = PairSampler(bank, config.pair_config()).sample(config.batch_size, torch.Generator().manual_seed(0))
    before_mib = rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before_mib = torch.cuda.memory_allocated(device) / 2**20
    model = build_model(config.model).to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast(
        "cpu", enabled=False)

    def step() -> None:
        with autocast:
            loss, _ = compute_loss(model, batch, config)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    step_s = best_time_s(step, device, job["repeats"])
    peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else peak_rss_mib()) - before_mib
    return {"pairs_per_s": config.batch_size / step_s, "step_ms": 1000 * step_s, "peak_mib": peak}


def main() -> None:
    args = parse_or_work(__doc__, 2, worker)
    if args is None:
        return

    cases = [("cpu", 1), ("cpu", os.cpu_count() or 1)] + ([("cuda", 1)] if torch.cuda.is_available() else [])
    print(f"hardware: {hardware_line()}")
    print(f"training step (forward + loss + backward + AdamW), batch {args.batch} pairs of 2.6-s crops, "
          f"best of {args.repeats}; peak = memory growth while training (MiB)")
    print(f"{'model':16s} {'device':8s} {'threads':>7s} {'pairs/s':>9s} {'ms/step':>9s} {'× 1 thread':>10s} "
          f"{'peak MiB':>9s}")
    for model in MODEL_NAMES:
        one_thread = None
        for device, threads in cases:
            job = {"model": model, "device": device, "threads": threads, "batch": args.batch, "repeats": args.repeats}
            r = run_isolated(__file__, job)
            one_thread = one_thread or r["pairs_per_s"]
            print(f"{model:16s} {device:8s} {threads:7d} {r['pairs_per_s']:9.1f} {r['step_ms']:9.1f} "
                  f"{r['pairs_per_s'] / one_thread:10.2f} {r['peak_mib']:9.0f}", flush=True)


if __name__ == "__main__":
    main()
