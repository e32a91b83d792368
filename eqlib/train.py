"""Training: ``python -m eqlib.train --model proposed_db --data mixed --out runs/proposed_db``.

Pairs are made on the training device in the spectrogram domain (``eqlib.pairs``), so the loop
never waits on data. Loss = parameter loss on ``params_norm`` (L1) + optionally the mean absolute
dB error of the level-normalised cascaded response through the differentiable biquads.
Checkpoints (``last.pt``, ``best.pt``) carry the model config, train config, step, optimiser
state and validation metrics; ``--resume`` continues from ``last.pt``. Metrics go to
``metrics.csv`` next to them. Under ``torchrun`` the same entry point runs DistributedDataParallel
(gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from eqlib.biquad import FrequencyGrid
from eqlib.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from eqlib.datacache import code_digest, files_listing, load_or_build
from eqlib.eq import DEFAULT_EQ
from eqlib.errors import EqlibError, describe
from eqlib.features import FeatureConfig
from eqlib.metrics import response_error_db
from eqlib.models import MODEL_CONFIGS, MODEL_NAMES, ModelConfig, PairModel, build_model
from eqlib.optim import AdamW, clip_grad_norm_
from eqlib.pairs import VARIANTS, PairConfig, PairSampler, SpectrogramBank, check_problem_size
from eqlib.runtime import shared_corpora_dir
from eqlib.sources import COMPONENT_MODULES, DOMAINS, SOURCES_VERSION, component_excerpts, parse_data, repeats

GRAD_CLIP_NORM = 5.0
LOSS_GRID_POINTS = 64  # default log-spaced frequencies, 20 Hz–20 kHz, of the response loss (the metric uses 512)


@dataclass(frozen=True)
class TrainConfig:
    """One training run; printed at the start and saved in every checkpoint."""

    model: str = "proposed_db"
    data: str = "mixed"  # eqlib.sources: an alias (mixed, all) or '+'-joined components (synth, real, music, realmusic)
    steps: int = 6000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    param_loss_weight: float = 1.0
    response_loss_weight: float = 0.05  # per dB of mean absolute response error
    loss_grid_points: int = LOSS_GRID_POINTS  # the response loss's log-spaced frequencies (a Q=5 bell spans 0.29 oct)
    num_excerpts: int = 3000  # synthetic speech excerpts
    num_music_excerpts: int = 1500  # synthetic music excerpts (when the data has music)
    excerpt_s: float = 3.0
    val_pairs: int = 512
    eval_every: int = 250
    patience: int = 8  # evaluations without improvement before stopping early
    crop_frames: int = 56  # random 2.6-s crops of the 3-s excerpts
    chain_prob: float = 0.5  # probability of a shared random "recording chain" EQ on both recordings
    chain_gain_scale: float = 0.3  # the chain EQ's gains are the EQ's gains × this (±4.5 dB)
    variant_probs: tuple[float, float, float] = (0.8, 0.1, 0.1)  # other speaker / same speaker / same content
    bandlimit_prob: float = 0.0  # probability that a recording lost its top band (scored on the band both hold)
    chain_mismatch_prob: float = 0.0  # probability that the reference has a mild chain EQ of its own, not in θ
    chain_mismatch_scale: float = 0.2  # its gains are the EQ's gains × this
    input_eq_prob: float = 0.0  # probability that the input has an EQ of its own to undo (needs param_loss_weight 0)
    input_eq_scale: float = 1.0  # its gains are the EQ's gains × this
    input_problem_prob: float = 0.0  # probability that the input has a problem to undo: one strong band (same loss rule)
    input_problem_min_db: float = 6.0  # the problem band's smallest |gain| (dB), also θ's as a problem
    reference_problem_prob: float = 0.0  # probability that θ is one strong band: a problem the reference carries
    input_chain_prob: float = 0.0  # probability that the input has a chain EQ of its own, not undone (not in θ)
    input_chain_scale: float = 0.2  # its gains are the EQ's gains × this
    filter_prob: float = 0.0  # per recording: probability of a chain's high-pass, and of its low-pass (not in θ)
    lts_difference: bool = True  # ltsnet only: the head also sees the raw long-term spectral difference
    lts_dropout: float = 0.3  # ltsnet only: dropout between its MLP layers
    curve_head: bool = False  # ltsnet only: predict the EQ's response curve and fit the knobs to it (ModelConfig)
    tts_share: float = 0.0  # share of the synthetic excerpts read by espeak-ng voices (needs espeak-ng)
    seed: int = 0
    device: str = "auto"
    compile: bool = False
    channels_last: bool = True  # extractor activations channels-last (faster CPU convolutions)
    cpu_bf16: bool = False  # bf16 autocast on CPU too (only pays on CPUs with native bf16)
    threads: int = 0  # torch intra-op threads on CPU; 0 = torch's default

    def pair_config(self) -> PairConfig:
        return PairConfig(crop_frames=self.crop_frames, variant_probs=tuple(self.variant_probs),
                          chain_prob=self.chain_prob, chain_gain_scale=self.chain_gain_scale,
                          bandlimit_prob=self.bandlimit_prob, chain_mismatch_prob=self.chain_mismatch_prob,
                          chain_mismatch_scale=self.chain_mismatch_scale, input_eq_prob=self.input_eq_prob,
                          input_eq_scale=self.input_eq_scale, input_problem_prob=self.input_problem_prob,
                          input_problem_min_db=self.input_problem_min_db,
                          reference_problem_prob=self.reference_problem_prob, input_chain_prob=self.input_chain_prob,
                          input_chain_scale=self.input_chain_scale, filter_prob=self.filter_prob)


def model_config(config: TrainConfig) -> ModelConfig:
    """The architecture a run trains: ``MODEL_CONFIGS[config.model]`` with the run's architecture switches."""
    base = MODEL_CONFIGS[config.model]
    if base.architecture != "lts":
        return base
    return replace(base, lts_difference=config.lts_difference, dropout=config.lts_dropout,
                   curve_head=config.curve_head)


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU (or the named device)."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@functools.lru_cache(maxsize=8)
def loss_grid(device: torch.device, points: int = LOSS_GRID_POINTS, sample_rate: float = 44100.0) -> FrequencyGrid:
    """The response loss's frequency grid on ``device``: ``points`` log-spaced frequencies, 20 Hz–20 kHz."""
    return FrequencyGrid(np.geomspace(20.0, 20000.0, points), sample_rate, device=device)


def target_response_db(params_norm_true: torch.Tensor, grid: FrequencyGrid,
                       input_params_norm: torch.Tensor | None = None) -> torch.Tensor:
    """The right answer's response (dB) on ``grid``: θ's ``(batch, 12)`` cascade, minus that of the input's own
    EQ ``input_params_norm`` ``(batch, 12)`` when the input has one (``PairConfig.input_eq_prob``):
    ``(batch, freqs)`` float64."""
    true_db = DEFAULT_EQ.grid_response_db(DEFAULT_EQ.from_norm(params_norm_true.double()), grid)
    if input_params_norm is None:
        return true_db
    return true_db - DEFAULT_EQ.grid_response_db(DEFAULT_EQ.from_norm(input_params_norm.double()), grid)


def response_loss_db(params_norm_pred: torch.Tensor, params_norm_true: torch.Tensor,
                     bandwidth_hz: torch.Tensor | None = None, grid_points: int = LOSS_GRID_POINTS,
                     input_params_norm: torch.Tensor | None = None) -> torch.Tensor:
    """The training loss's response term: mean |dB| difference of the predicted cascade and the right answer
    (:func:`target_response_db`) after removing the level difference, on the :func:`loss_grid` of
    ``grid_points`` frequencies up to each pair's ``bandwidth_hz`` ``(batch,)`` (the band both recordings hold;
    all of it when ``None``): ``(batch,)``.

    The evaluation metric is :func:`eqlib.metrics.response_error_db` (the same definition on 512 points, in
    physical units); the validation metrics in ``metrics.csv`` use that one.
    """
    grid = loss_grid(params_norm_pred.device, grid_points)
    diff = (DEFAULT_EQ.grid_response_db(DEFAULT_EQ.from_norm(params_norm_pred.double()), grid)
            - target_response_db(params_norm_true, grid, input_params_norm))
    weights = (torch.ones_like(diff) if bandwidth_hz is None
               else (grid.freqs_hz <= bandwidth_hz.double()[:, None]).double())
    return weighted_level_free_l1(diff, weights).float()


def weighted_level_free_l1(diff_db: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean |difference| (dB) of curves ``(batch, freqs)`` after removing their weighted mean offset;
    ``weights`` ``(batch, freqs)`` are non-negative and normalised here: ``(batch,)``."""
    weights = weights / weights.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    return ((diff_db - (weights * diff_db).sum(dim=-1, keepdim=True)).abs() * weights).sum(dim=-1)


@functools.lru_cache(maxsize=8)
def band_grid(device: torch.device, features: FeatureConfig) -> FrequencyGrid:
    """A model's 1/n-octave band centres (``features.band_centres_hz()``) as a grid on ``device``: a curve head's
    loss grid, built once."""
    return FrequencyGrid(features.band_centres_hz(), features.sample_rate, device=device)


def curve_error_db(curve_db: torch.Tensor, curve_weights: torch.Tensor, params_norm_true: torch.Tensor,
                   bandwidth_hz: torch.Tensor, grid: FrequencyGrid,
                   input_params_norm: torch.Tensor | None = None) -> torch.Tensor:
    """A curve head's error: mean |dB| difference between its curve ``(batch, bands)`` and the right answer's
    response (:func:`target_response_db`) on the band centres' ``grid`` (:func:`band_grid`), level removed,
    over the bands in ``curve_weights`` ``(batch, bands)`` up to each pair's ``bandwidth_hz`` ``(batch,)``:
    ``(batch,)``."""
    true_db = target_response_db(params_norm_true, grid, input_params_norm).float()
    weights = curve_weights * (grid.freqs_hz[None] <= bandwidth_hz.double()[:, None]).float()
    return weighted_level_free_l1(curve_db.float() - true_db, weights)


def compute_loss(model: torch.nn.Module, batch: dict, config: TrainConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted parameter + response loss of one batch, and its parts as detached 0-d tensors; for a curve head
    (``config.curve_head``), :func:`curve_error_db` alone (reported as ``response_db``).

    Nothing here reads a value back to the host: the parts are summed on the device and read at
    evaluation time.
    """
    out = model(batch["power_in"], batch["power_ref"])
    if config.curve_head:
        grid = band_grid(out.curve_db.device, getattr(model, "module", model).config.features)
        loss = curve_error_db(out.curve_db, out.curve_weights, batch["params_norm"], batch["bandwidth_hz"],
                              grid, batch.get("input_params_norm")).mean()
        return loss, {"loss": loss.detach(), "response_db": loss.detach()}
    pred = out.params_norm.float()
    param_loss = (pred - batch["params_norm"]).abs().mean()
    resp = response_loss_db(pred, batch["params_norm"], batch.get("bandwidth_hz"), config.loss_grid_points,
                            batch.get("input_params_norm")).mean()
    loss = config.param_loss_weight * param_loss + config.response_loss_weight * resp
    return loss, {"loss": loss.detach(), "param_l1": param_loss.detach(), "response_db": resp.detach()}


@torch.no_grad()
def validate(model: PairModel, val_batches: list[dict]) -> dict[str, float]:
    """Validation metrics over fixed batches: parameter L1 and the evaluation's response error
    (:func:`eqlib.metrics.response_error_db`, dB), overall and per variant. A curve head's knobs are fitted to
    its curves (:func:`eqlib.inference.output_settings`)."""
    from eqlib.inference import output_settings

    model.eval()
    errs, l1s, variants = [], [], []
    for batch in val_batches:
        settings = output_settings(model, model(batch["power_in"], batch["power_ref"]))
        pred = torch.as_tensor(np.stack([s.params for s in settings]))
        true = DEFAULT_EQ.from_norm(batch["params_norm"].double().cpu())
        bandwidth = batch["bandwidth_hz"].double().cpu()
        err = torch.empty(len(pred), dtype=torch.float64)
        for top in bandwidth.unique().tolist():  # band-limited pairs are scored on the band both hold
            rows = bandwidth == top
            err[rows] = response_error_db(pred[rows], true[rows], max_freq_hz=top)
        errs.append(err)
        l1s.append((DEFAULT_EQ.to_norm(pred).float() - batch["params_norm"].cpu()).abs().mean(dim=-1))
        variants.append(batch["variant"].cpu())
    model.train()
    err, l1, var = torch.cat(errs), torch.cat(l1s), torch.cat(variants)
    metrics = {"val_response_db": float(err.mean()), "val_param_l1": float(l1.mean())}
    for i, name in enumerate(VARIANTS):
        if (var == i).any():
            metrics[f"val_response_db_{name}"] = float(err[var == i].mean())
    return metrics


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 5 % of ``lr``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def source_version() -> str:
    """``git describe --always --dirty`` of the checkout the run uses, or ``"unknown"`` outside git."""
    import subprocess

    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _append_csv(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def make_sampler(config: TrainConfig, split: str, device: torch.device, seed: int, num_excerpts: int) -> PairSampler:
    """A pair sampler over the bank of ``split`` excerpts from ``config.data``: each component's rows are built
    once, then read from the data cache (:mod:`eqlib.datacache`), so adding a component costs only its own."""
    features = MODEL_CONFIGS[config.model].features
    components = parse_data(config.data)
    num_music = config.num_music_excerpts if split == "train" else max(32, config.num_music_excerpts // 8)
    rows = {k: getattr(features, k) for k in ("sample_rate", "n_fft", "hop_length", "bands_per_octave", "fmin_hz",
                                              "fmax_hz")}
    powers, speakers, domains, bandwidths = [], [], [], []
    for component in components:
        sizes = {"synth": {"num_excerpts": num_excerpts, "tts_share": config.tts_share},
                 "music": {"num_music_excerpts": num_music}}.get(component, {})
        key = {"component": component, "split": split, "excerpt_s": config.excerpt_s, "seed": seed, "rows": rows,
               "code": code_digest((*COMPONENT_MODULES[component], "features")), "sources_version": SOURCES_VERSION,
               "corpora": _corpus_files((component,)), **sizes}

        def build(component: str = component) -> dict:
            audio, labels, bandwidths = component_excerpts(component, split, num_excerpts, num_music,
                                                           config.excerpt_s, seed, config.tts_share)
            return {"power": SpectrogramBank(audio, labels, features).power, "speakers": labels,
                    "bandwidths_hz": [float(b) for b in bandwidths]}

        data = load_or_build(f"bank-{component}-{split}", key, build)
        times = repeats(components, component, len(data["speakers"]), num_excerpts, num_music)
        powers += [data["power"]] * times
        speakers += data["speakers"] * times
        bandwidths += data["bandwidths_hz"] * times
        domains += [DOMAINS[component]] * (len(data["speakers"]) * times)
    bank = SpectrogramBank.from_power(torch.cat(powers).to(device), speakers, features, domains, bandwidths)
    return PairSampler(bank, config.pair_config())


def _corpus_files(components: tuple[str, ...]) -> list:
    """Names and sizes of the corpus files the real components read (part of the cache key)."""
    corpora = shared_corpora_dir()
    roots = [corpora / folder for component, folder in (("real", "real-speech"), ("realmusic", "music"))
             if component in components and corpora is not None]
    return files_listing(roots)


class TrainStep:
    """One optimisation step: draw a batch on the device, loss, backward, clip, AdamW; no host synchronisation.

    The same object runs in :func:`train` and in the benchmarks (``bench_train.py``, ``bench_profile.py``),
    so what is timed is what trains. ``config.channels_last`` stores the extractor's activations
    channels-last (faster oneDNN convolutions on CPU); ``config.compile`` compiles the model's forward
    and the loss as one graph (its backward through AOTAutograd); bf16 autocast is on for CUDA and, with
    ``config.cpu_bf16``, on CPU.

    Args:
        net: the module to call (the model, or its DDP wrapper).
        model: the model itself (for gradient clipping).
        optimiser: the optimiser over ``model``'s parameters.
        sampler: draws training pairs on ``device``.
        config: the run's settings.
        device: the training device.
    """

    def __init__(self, net: torch.nn.Module, model: torch.nn.Module, optimiser: torch.optim.Optimizer,
                 sampler: PairSampler, config: TrainConfig, device: torch.device) -> None:
        self.model, self.optimiser, self.sampler, self.config = model, optimiser, sampler, config
        if config.channels_last:
            model.to(memory_format=torch.channels_last)
        self.loss = functools.partial(compute_loss, net, config=config)
        if config.compile:
            self.loss = torch.compile(self.loss)
        use_bf16 = device.type == "cuda" or (device.type == "cpu" and config.cpu_bf16)
        self.autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)

    def __call__(self, generator: torch.Generator, lr: float) -> dict[str, torch.Tensor]:
        """Run one step at learning rate ``lr``; return the loss parts as detached device tensors."""
        for group in self.optimiser.param_groups:
            group["lr"] = lr
        batch = self.sampler.sample(self.config.batch_size, generator)
        with self.autocast:
            loss, parts = self.loss(batch)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(self.model.parameters(), GRAD_CLIP_NORM)
        self.optimiser.step()
        return parts


def make_optimiser(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over ``model``'s parameters (:class:`eqlib.optim.AdamW`: multi-tensor, no host reads)."""
    return AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def train(config: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True) -> dict:
    """Train one model; returns the best validation metrics. Runs under DDP if ``WORLD_SIZE`` > 1."""
    if max(config.input_eq_prob, config.input_problem_prob) > 0 and config.param_loss_weight > 0:
        raise ValueError("input_eq_prob and input_problem_prob need param_loss_weight 0: the right answer is then a "
                         "response curve")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = pick_device(config.device)
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    out_dir = Path(out_dir)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        print(f"eqlib.train on {device} × {world}, source {source_version()}: " + json.dumps(asdict(config)))

    torch.manual_seed(config.seed)
    model = build_model(model_config(config)).to(device)
    optimiser = make_optimiser(model, config)
    step, best, bad_evals, wall_before_s = 0, {"val_response_db": float("inf")}, 0, 0.0
    if resume and (out_dir / "last.pt").exists():
        payload = read_checkpoint(out_dir / "last.pt")
        model.load_state_dict(payload["state_dict"])
        optimiser.load_state_dict(payload["optimizer"])
        step, best, bad_evals = payload["step"], payload["best_metrics"], payload["bad_evals"]
        wall_before_s = float(payload.get("wall_s", 0.0))  # training time of the earlier sessions
        if rank == 0:
            print(f"resumed from {out_dir / 'last.pt'} at step {step}")

    sampler = make_sampler(config, "train", device, config.seed, config.num_excerpts)
    # validation scores the evaluation's task: θ (any EQ) on the reference, no EQ of the input's own
    val_sampler = make_sampler(replace(config, input_eq_prob=0.0, input_problem_prob=0.0, reference_problem_prob=0.0),
                               "val", device, config.seed + 1,
                               max(64, config.num_excerpts // 8))
    val_gen = torch.Generator(device).manual_seed(config.seed + 2)
    val_batches = [val_sampler.sample(min(64, config.val_pairs), val_gen)
                   for _ in range(max(1, config.val_pairs // 64))]
    gen = torch.Generator(device).manual_seed(config.seed * 1000 + rank + 7919 * step)

    net: torch.nn.Module = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    train_step = TrainStep(net, model, optimiser, sampler, config, device)

    version = source_version()
    model.train()
    with tqdm(total=config.steps, initial=step, desc=config.model, disable=not progress or rank != 0) as bar:
        started, running, running_steps = time.time(), None, 0
        while step < config.steps:
            parts = train_step(gen, lr_at(step, config))
            running = parts if running is None else {k: running[k] + v for k, v in parts.items()}
            running_steps += 1
            step += 1
            bar.update(1)
            if step % config.eval_every == 0 or step == config.steps:
                metrics = validate(model, val_batches)
                train_parts = {k: float(v) / running_steps for k, v in running.items()}  # the only host reads
                running, running_steps = None, 0
                improved = metrics["val_response_db"] < best["val_response_db"]
                bad_evals = 0 if improved else bad_evals + 1
                if improved:
                    best = {**metrics, "step": step}
                if rank == 0:
                    wall_s = round(wall_before_s + time.time() - started, 1)
                    row = {"step": step, "wall_s": wall_s, "lr": lr_at(step, config),
                           **{f"train_{k}": v for k, v in train_parts.items()}, **metrics}
                    _append_csv(out_dir / "metrics.csv", row)
                    bar.set_postfix(val_db=f"{metrics['val_response_db']:.2f}", best=f"{best['val_response_db']:.2f}")
                    extra = dict(train_config=asdict(config), step=step, metrics=metrics, best_metrics=best,
                                 bad_evals=bad_evals, source=version, wall_s=wall_s)
                    if improved:
                        save_checkpoint(out_dir / "best.pt", model, **extra)
                    save_checkpoint(out_dir / "last.pt", model, optimizer=optimiser.state_dict(), **extra)
                if bad_evals >= config.patience:
                    if rank == 0:
                        print(f"early stop at step {step}: no improvement in {bad_evals} evaluations")
                    break
    if distributed:
        dist.destroy_process_group()
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eqlib.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="run folder for checkpoints and metrics.csv")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        value = getattr(defaults, f.name)
        kind = type(value)
        flag = f"--{f.name.replace('_', '-')}"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        elif kind is tuple:
            parser.add_argument(flag, type=float, nargs=len(value), default=value, metavar="P")
        else:
            parser.add_argument(flag, type=kind, default=value, choices=MODEL_NAMES if f.name == "model" else None)
    args = vars(parser.parse_args(argv))
    out, resume = args.pop("out"), args.pop("resume")
    try:
        parse_data(args["data"])
        check_problem_size(args["input_problem_min_db"])
    except ValueError as err:
        parser.error(str(err))
    args["variant_probs"] = tuple(args["variant_probs"])
    if max(args["input_eq_prob"], args["input_problem_prob"]) > 0 and args["param_loss_weight"] > 0:
        parser.error("--input-eq-prob and --input-problem-prob need --param-loss-weight 0: with an input EQ the right "
                     "answer is a response curve (θ's minus the input EQ's), not knobs")
    if args["tts_share"] > 0:
        from eqlib.tts_voices import ENGINE, available

        if not available():
            parser.error(f"--tts-share needs {ENGINE}, which is not installed (Debian: apt-get install {ENGINE})")
    try:
        best = train(replace(defaults, **args), out, resume=resume)
    except (KeyboardInterrupt, OSError, CheckpointError, EqlibError) as err:
        error = describe(err)
        resume_hint = "; continue with the same command and --resume" if error.kind == "interrupted" else ""
        parser.exit(error.exit_code, f"eqlib.train: error: {error}{resume_hint}\n")
    print("best validation:", json.dumps(best))


if __name__ == "__main__":
    main()
