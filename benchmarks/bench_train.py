"""Training throughput, old step and new step side by side: pairs/s of one full step (draw the pairs, forward,
loss, backward, clip, AdamW), and peak memory.

"Old" is the training step of eqlib at ``--baseline-rev`` (default ``c3fc215``, the last commit before the
vectorised EQ core and the sync-free step), extracted from this repository's git history into a temporary
folder and run unchanged; "new" is :class:`eqlib.train.TrainStep` of this checkout, in its default
configuration (channels-last extractor, sync-free sampler, loss and optimiser). Both draw every batch from
a bank of the shipped example clips. Each case runs in a fresh interpreter (so its peak memory is its own):
CPU peak = peak RSS growth over the process's RSS just before the model is built (MiB).

Also measured on the new step, at the highest thread count: without channels-last, with ``torch.compile``
of the forward and loss, and with bf16 autocast on CPU (``--variants``).

    .venv/bin/python benchmarks/bench_train.py [--batch 64] [--repeats 3] [--models proposed_db ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BASELINE_REV, REPO, extract_revision, run_with_code  # noqa: E402

VARIANTS = {"no channels-last": {"channels_last": False}, "compile": {"compile": True},
            "bf16 autocast": {"cpu_bf16": True}}


def worker(job: dict) -> dict:
    """Time ``job["repeats"]`` training steps of one model with the eqlib found on ``sys.path``."""
    import torch
    from _common import best_time_s, example_excerpts, peak_rss_mib, rss_mib

    import eqlib.train as train
    from eqlib.models import MODEL_CONFIGS, build_model
    from eqlib.pairs import PairSampler, SpectrogramBank

    torch.set_num_threads(job["threads"])
    device = torch.device("cpu")
    config = train.TrainConfig(model=job["model"], batch_size=job["batch"], **job.get("options", {}))
    excerpts, speakers, _ = example_excerpts()
    bank = SpectrogramBank(excerpts * 4, speakers * 4, MODEL_CONFIGS[config.model].features)
    sampler = PairSampler(bank, config.pair_config())
    before_mib = rss_mib()
    model = build_model(config.model).to(device).train()
    if hasattr(train, "TrainStep"):  # this checkout
        optimiser = train.make_optimiser(model, config)
        step_fn = train.TrainStep(model, model, optimiser, sampler, config, device)
        gen = torch.Generator(device).manual_seed(0)

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

    step_s = best_time_s(step, device, job["repeats"], warmup=2)
    return {"pairs_per_s": config.batch_size / step_s, "step_ms": 1000 * step_s, "peak_mib": peak_rss_mib() - before_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["baseline_linear", "baseline_db", "proposed_db"])
    parser.add_argument("--new-only-models", nargs="*", default=["ltsnet"],
                        help="models the baseline revision does not have (timed on the new step only)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    from _common import hardware_line

    threads = sorted({1, os.cpu_count() or 1})
    print(f"hardware: {hardware_line()}")
    print(f"training step (draw pairs, forward, loss, backward, clip, AdamW), batch {args.batch}, best of "
          f"{args.repeats}; old = eqlib at {args.baseline_rev}, new = this checkout; peak = RSS growth (MiB)")
    print(f"{'model':16s} {'threads':>7s} {'old pairs/s':>11s} {'new pairs/s':>11s} {'new/old':>8s} "
          f"{'old MiB':>8s} {'new MiB':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        old_root = extract_revision(args.baseline_rev, Path(tmp))
        for model in args.models + args.new_only_models:
            for n in threads:
                job = {"model": model, "threads": n, "batch": args.batch, "repeats": args.repeats}
                new = run_with_code(__file__, job, REPO)
                old = run_with_code(__file__, job, old_root) if model in args.models else None
                old_rate = f"{old['pairs_per_s']:11.1f}" if old else f"{'—':>11s}"
                ratio = f"{new['pairs_per_s'] / old['pairs_per_s']:7.2f}×" if old else f"{'—':>8s}"
                old_mib = f"{old['peak_mib']:8.0f}" if old else f"{'—':>8s}"
                print(f"{model:16s} {n:7d} {old_rate} {new['pairs_per_s']:11.1f} {ratio} {old_mib} "
                      f"{new['peak_mib']:8.0f}", flush=True)
        if args.variants:
            n = threads[-1]
            print(f"\nnew step variants, {n} threads (pairs/s; ratio to the default new step in this run)")
            for model in args.models + args.new_only_models:
                job = {"model": model, "threads": n, "batch": args.batch, "repeats": args.repeats}
                base = run_with_code(__file__, job, REPO)
                cells = []
                for name, options in VARIANTS.items():
                    try:
                        r = run_with_code(__file__, {**job, "options": options}, REPO)
                        cells.append(f"{name}: {r['pairs_per_s']:.1f} ({r['pairs_per_s'] / base['pairs_per_s']:.2f}×)")
                    except RuntimeError as err:
                        cells.append(f"{name}: failed ({str(err).splitlines()[-1][:80]})")
                print(f"{model:16s} default {base['pairs_per_s']:.1f}; " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
