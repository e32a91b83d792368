"""Tensor ops and host reads of one training step, old and new: the counts a GPU would pay in launches and stalls.

One step (draw the pairs, forward, loss, backward, clip, AdamW; batch 64, after two warm-up steps) is
profiled with ``torch.profiler`` on the CPU. Counted: *tensor ops*, the ATen operators called from Python
(profiler events named ``aten::…`` that no other ``aten::`` event encloses: what a dispatcher sees,
views included), and *scalar reads*, every ``aten::_local_scalar_dense`` anywhere in the step (a
``.item()``, ``bool(tensor)`` or ``float(tensor)``: on a GPU each one waits for the device). "Old" is eqlib at
``--baseline-rev`` (see ``bench_train.py``), "new" this checkout's :class:`eqlib.train.TrainStep`. For the new
step it also times the model's forward and backward alone on one batch against the whole step: the share of the
step that no change to pairs, loss or optimiser can remove.

    .venv/bin/python benchmarks/bench_profile.py [--models proposed_db ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BASELINE_REV, REPO, extract_revision, run_with_code  # noqa: E402

BATCH = 64
REPEATS = 5  # timings of the step and of the model alone: best of this many


def count_ops(prof) -> tuple[int, int]:
    """``(top-level aten ops, scalar reads)`` of a finished ``torch.profiler.profile``."""
    ops = reads = 0
    for event in prof.events():
        if event.name == "aten::_local_scalar_dense":
            reads += 1
        if not event.name.startswith("aten::"):
            continue
        parent = event.cpu_parent
        while parent is not None and not parent.name.startswith("aten::"):
            parent = parent.cpu_parent
        ops += parent is None
    return ops, reads


def worker(job: dict) -> dict:
    """Profile one training step of ``job["model"]`` with the eqlib found on ``sys.path``."""
    import torch
    from _common import best_time_s, example_excerpts
    from torch.profiler import ProfilerActivity, profile

    import eqlib.train as train
    from eqlib.models import MODEL_CONFIGS, build_model
    from eqlib.pairs import PairSampler, SpectrogramBank

    torch.set_num_threads(1)
    config = train.TrainConfig(model=job["model"], batch_size=BATCH)
    excerpts, speakers, _ = example_excerpts()
    sampler = PairSampler(SpectrogramBank(excerpts, speakers, MODEL_CONFIGS[config.model].features),
                          config.pair_config())
    model = build_model(config.model).train()
    if hasattr(train, "TrainStep"):  # this checkout
        step_fn = train.TrainStep(model, model, train.make_optimiser(model, config), sampler, config,
                                  torch.device("cpu"))
        gen = torch.Generator().manual_seed(0)

        def step() -> None:
            step_fn(gen, config.lr)
    else:  # the baseline revision: the body of its training loop
        optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        gen = torch.Generator().manual_seed(0)

        def step() -> None:
            batch = sampler.sample(config.batch_size, gen)
            loss, _ = train.compute_loss(model, batch, config)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()

    step()
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    ops, reads = count_ops(prof)
    found = {"ops": ops, "scalar_reads": reads}
    if hasattr(train, "TrainStep"):  # how much of the step is the model's own arithmetic
        batch = sampler.sample(config.batch_size, gen)

        def model_alone() -> None:
            model.zero_grad(set_to_none=True)
            model(batch["power_in"], batch["power_ref"]).params_norm.float().sum().backward()

        cpu = torch.device("cpu")
        found["model_share"] = best_time_s(model_alone, cpu, REPEATS) / best_time_s(step, cpu, REPEATS)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["baseline_linear", "baseline_db", "proposed_db"])
    parser.add_argument("--new-only-models", nargs="*", default=["ltsnet"])
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    print(f"one profiled training step, batch {BATCH}, CPU, 1 thread; old = eqlib at {args.baseline_rev}, "
          "new = this checkout")
    print(f"{'model':16s} {'old ops':>8s} {'new ops':>8s} {'old/new':>8s} {'old reads':>10s} {'new reads':>10s} "
          f"{'model share':>12s} {'ceiling':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        old_root = extract_revision(args.baseline_rev, Path(tmp))
        for model in args.models + args.new_only_models:
            new = run_with_code(__file__, {"model": model}, REPO)
            old = run_with_code(__file__, {"model": model}, old_root) if model in args.models else None
            old_ops = f"{old['ops']:8d}" if old else f"{'—':>8s}"
            ratio = f"{old['ops'] / new['ops']:7.1f}×" if old else f"{'—':>8s}"
            old_reads = f"{old['scalar_reads']:10d}" if old else f"{'—':>10s}"
            print(f"{model:16s} {old_ops} {new['ops']:8d} {ratio} {old_reads} {new['scalar_reads']:10d} "
                  f"{new['model_share']:11.0%} {1 / new['model_share']:7.2f}×", flush=True)
    print("model share: time of the model's forward and backward alone (same batch, sum of its outputs as the loss) "
          "over the whole new step, best of 5 each; ceiling: the step's speed-up if everything but the model "
          "took no time")


if __name__ == "__main__":
    main()
