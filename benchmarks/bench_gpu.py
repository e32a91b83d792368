"""GPU training throughput: pairs/s at batch 64, 256 and 1024 with bf16 autocast, how busy the GPU is, peak memory.

For each model and batch size: a bank of synthetic speech excerpts on the device, the training step of
:class:`eqlib.train.TrainStep` (pairs drawn on the GPU, forward, loss, backward, clip, AdamW; bf16 autocast
on CUDA), timed over ``--steps`` steps after warm-up. Printed per case:

- pairs/s (wall clock, after ``torch.cuda.synchronize``);
- GPU busy share: the summed duration of every GPU kernel of one profiled step (``torch.profiler``, CUDA
  activity) over that step's wall time, and the span of CUDA events recorded before and after the step over
  its wall time (the device timeline, idle gaps included);
- peak memory (``torch.cuda.max_memory_allocated``).

The whole run takes a few minutes on a data-centre GPU (``make bench-gpu``). Without CUDA it says so and
exits 0 with "not measured"; ``--device cpu`` runs the same code on the CPU with small sizes, as the tests do.

    .venv/bin/python benchmarks/bench_gpu.py [--steps 20] [--batches 64 256 1024] [--models proposed_db ltsnet]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware_line, sync  # noqa: E402

from eqlib.models import MODEL_CONFIGS  # noqa: E402
from eqlib.pairs import SpectrogramBank  # noqa: E402
from eqlib.speech_synth import speaker_ids, synthesize  # noqa: E402
from eqlib.train import PairSampler, TrainConfig, TrainStep, build_model, make_optimiser  # noqa: E402


def synthetic_bank(model: str, device: torch.device, num_excerpts: int) -> SpectrogramBank:
    """A bank of ``num_excerpts`` 3-s synthetic speech excerpts (16 speakers) on ``device``."""
    speakers = speaker_ids("train")[:16]
    audio = [synthesize(speakers[i % 16], 3.0, i) for i in range(num_excerpts)]
    return SpectrogramBank(audio, [f"s{i % 16}" for i in range(num_excerpts)], MODEL_CONFIGS[model].features,
                           device=device)


def kernel_seconds(step, device: torch.device) -> float:
    """Summed GPU kernel time (s) of one call of ``step`` (0 on CPU)."""
    if device.type != "cuda":
        return 0.0
    from torch.profiler import ProfilerActivity, profile

    from torch.autograd import DeviceType

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        sync(device)
    return sum(e.time_range.elapsed_us() for e in prof.events() if e.device_type == DeviceType.CUDA) / 1e6


def measure(model_name: str, batch: int, bank: SpectrogramBank, device: torch.device, steps: int) -> dict:
    """Pairs/s, GPU busy shares and peak memory of ``steps`` training steps at ``batch`` pairs."""
    config = TrainConfig(model=model_name, batch_size=batch, device=device.type)
    torch.manual_seed(0)
    model = build_model(model_name).to(device).train()
    step_fn = TrainStep(model, model, make_optimiser(model, config), PairSampler(bank, config.pair_config()),
                        config, device)
    gen = torch.Generator(device).manual_seed(0)

    def step() -> None:
        step_fn(gen, config.lr)

    for _ in range(3):
        step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start = time.perf_counter()
    if device.type == "cuda":
        begin.record()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        end.record()
    sync(device)
    wall_s = time.perf_counter() - start
    span_s = begin.elapsed_time(end) / 1000 if device.type == "cuda" else float("nan")
    one_start = time.perf_counter()
    busy_s = kernel_seconds(step, device)
    one_wall_s = time.perf_counter() - one_start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    return {"pairs_per_s": batch * steps / wall_s, "busy": busy_s / one_wall_s if device.type == "cuda" else np.nan,
            "span": span_s / wall_s, "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--models", nargs="+", default=["proposed_db", "ltsnet"])
    parser.add_argument("--excerpts", type=int, default=256, help="bank size (3-s synthetic excerpts)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: no CUDA device here: GPU throughput not measured")
        return
    print(f"hardware: {hardware_line()}; device {device}")
    print(f"training step with bf16 autocast on CUDA, {args.steps} steps after 3 warm-up steps; busy = summed kernel "
          "time / wall time of one profiled step; span = CUDA-event span / wall time")
    print(f"{'model':14s} {'batch':>6s} {'pairs/s':>10s} {'busy':>6s} {'span':>6s} {'peak MiB':>9s}")
    for model_name in args.models:
        bank = synthetic_bank(model_name, device, args.excerpts)
        for batch in args.batches:
            r = measure(model_name, batch, bank, device, args.steps)
            print(f"{model_name:14s} {batch:6d} {r['pairs_per_s']:10.0f} {r['busy']:6.0%} {r['span']:6.0%} "
                  f"{r['peak_mib']:9.0f}", flush=True)


if __name__ == "__main__":
    main()
