"""Training: the loss goes down, runs resume, checkpoints carry their configs, DDP runs on gloo."""

import csv
import os
import subprocess
import sys

import pytest
import torch

from eqlib.checkpoint import read_checkpoint
from eqlib.examples import list_examples, load_example
from eqlib.models import build_model
from eqlib.pairs import PairConfig, PairSampler, SpectrogramBank
from eqlib.metrics import response_error_db
from eqlib.eq import DEFAULT_EQ
from eqlib.models import MODEL_CONFIGS
from eqlib.train import (TrainConfig, TrainStep, compute_loss, lr_at, make_optimiser, model_config, pick_device,
                         response_loss_db, train)

TINY = dict(steps=4, batch_size=8, num_excerpts=12, val_pairs=16, eval_every=2, warmup_steps=2, data="synth",
            threads=1)


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    clips = [load_example(n)[0][: 3 * 44100] for n in list_examples("speech")[:4]]
    model = build_model("proposed_db")
    bank = SpectrogramBank(clips, ["a", "b", "c", "d"], model.config.features)
    batch = PairSampler(bank, PairConfig()).sample(16, torch.Generator().manual_seed(0))
    config = TrainConfig(lr=1e-3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first, _ = compute_loss(model, batch, config)
    for _ in range(10):
        loss, _ = compute_loss(model, batch, config)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first.item()


def test_response_loss_is_zero_for_equal_params_and_level_invariant():
    p = torch.rand(5, 12)
    assert response_loss_db(p, p).abs().max() < 1e-5
    q = p.clone()
    q[:, 0], q[:, 9] = 0.5 + 0.2, 0.5 + 0.2  # +6 dB on both shelves at once is not a pure level change
    assert (response_loss_db(p, q) > 0).all()


def test_response_loss_ignores_what_lies_above_the_shared_band():
    p = torch.full((2, 12), 0.5)
    q = p.clone()
    q[:, 9] = 1.0  # +15 dB high shelf
    q[:, 10] = 1.0  # at its highest corner, 16 kHz
    loss = response_loss_db(p, q, torch.tensor([20000.0, 7200.0]))
    assert loss[0] > 1.0 and loss[1] < 0.3


def test_an_input_with_the_references_eq_needs_no_eq_and_a_flat_input_needs_theta():
    """With an input EQ θ_in the right answer is θ's response minus θ_in's (``PairConfig.input_eq_prob``)."""
    theta, flat = torch.rand(5, 12, generator=torch.Generator().manual_seed(3)), torch.full((5, 12), 0.5)
    assert response_loss_db(flat, theta, input_params_norm=theta).abs().max() < 1e-5
    assert response_loss_db(theta, theta, input_params_norm=flat).abs().max() < 1e-5
    assert (response_loss_db(theta, theta, input_params_norm=theta) > 0.5).all()


@pytest.mark.parametrize("knob", ["input_eq_prob", "input_problem_prob"])
def test_an_input_eq_needs_the_response_loss_alone(tmp_path, knob):
    with pytest.raises(ValueError, match="param_loss_weight 0"):
        train(TrainConfig(**TINY, **{knob: 0.5}, param_loss_weight=1.0), tmp_path / "run", progress=False)
    found = subprocess.run([sys.executable, "-m", "eqlib.train", "--out", str(tmp_path / "cli"),
                            f"--{knob.replace('_', '-')}", "0.5", "--param-loss-weight", "1"],
                           capture_output=True, text=True)
    assert found.returncode == 2 and "Traceback" not in found.stderr
    assert found.stderr.strip().splitlines()[-1].endswith("not knobs")
    assert not (tmp_path / "cli").exists()


def test_a_problem_size_outside_the_gain_range_is_a_one_line_error(tmp_path):
    found = subprocess.run([sys.executable, "-m", "eqlib.train", "--out", str(tmp_path / "cli"),
                            "--input-problem-min-db", "20"], capture_output=True, text=True)
    assert found.returncode == 2 and "Traceback" not in found.stderr
    assert found.stderr.strip().splitlines()[-1].endswith("must lie in 0..15 dB (the EQ's gain range), got 20")
    assert not (tmp_path / "cli").exists()


def test_response_loss_is_the_metric_on_a_coarser_grid():
    """The loss term and the evaluation metric share one definition; only the grid differs (64 vs 512 points)."""
    gen = torch.Generator().manual_seed(3)
    p, q = torch.rand(200, 12, generator=gen), torch.rand(200, 12, generator=gen)
    loss = response_loss_db(p, q).double()
    metric = response_error_db(DEFAULT_EQ.from_norm(p.double()), DEFAULT_EQ.from_norm(q.double()))
    assert float((loss - metric).abs().mean()) < 0.05 * float(metric.mean())


def test_a_finer_loss_grid_comes_closer_to_the_metric():
    """``loss_grid_points`` sets the response loss's grid: 256 points resolve narrow bells that 64 points miss."""
    gen = torch.Generator().manual_seed(4)
    p, q = torch.rand(200, 12, generator=gen), torch.rand(200, 12, generator=gen)
    metric = response_error_db(DEFAULT_EQ.from_norm(p.double()), DEFAULT_EQ.from_norm(q.double()))
    gaps = [float((response_loss_db(p, q, grid_points=n).double() - metric).abs().mean()) for n in (64, 256)]
    assert gaps[1] < 0.5 * gaps[0]


def test_lts_dropout_reaches_ltsnet_only():
    assert model_config(TrainConfig(model="ltsnet")).dropout == MODEL_CONFIGS["ltsnet"].dropout == 0.3
    assert model_config(TrainConfig(model="ltsnet", lts_dropout=0.0)).dropout == 0.0
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0
                   for m in build_model(model_config(TrainConfig(model="ltsnet", lts_dropout=0.0))).modules())
    assert model_config(TrainConfig(model="proposed_db", lts_dropout=0.5)) == MODEL_CONFIGS["proposed_db"]


def test_learning_rate_schedule():
    config = TrainConfig(steps=1000, warmup_steps=100, lr=1e-3)
    assert lr_at(0, config) == pytest.approx(1e-5)
    assert lr_at(99, config) == pytest.approx(1e-3)
    assert lr_at(1000, config) == pytest.approx(5e-5)


def test_device_choice(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert pick_device("auto") == torch.device("cuda", 1)  # CUDA first, one GPU per DDP rank
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")


def _tiny_step(config: TrainConfig):
    clips = [load_example(n)[0][: 3 * 44100] for n in list_examples("speech")[:4]]
    model = build_model(config.model)
    bank = SpectrogramBank(clips, ["a", "b", "c", "d"], model.config.features)
    optimiser = make_optimiser(model, config)
    return model, TrainStep(model, model, optimiser, PairSampler(bank, config.pair_config()), config,
                            torch.device("cpu"))


def test_bf16_autocast_runs_the_cpu_step_in_bfloat16():
    """With cpu_bf16 the model's matrix products run in bfloat16 on CPU (as they do under CUDA autocast)."""
    seen = []
    config = TrainConfig(model="proposed_db", batch_size=4, cpu_bf16=True)
    model, step = _tiny_step(config)
    model.predictor.net[0].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    before = [p.detach().clone() for p in model.parameters()]
    parts = step(torch.Generator().manual_seed(0), 1e-3)
    assert seen == [torch.bfloat16]
    assert all(torch.isfinite(v) for v in parts.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_train_step_reads_nothing_back_to_the_host():
    from torch.profiler import ProfilerActivity, profile

    model, step = _tiny_step(TrainConfig(model="baseline_db", batch_size=4))
    gen = torch.Generator().manual_seed(0)
    step(gen, 1e-3)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(gen, 1e-3)
    assert not [e for e in prof.events() if e.name == "aten::_local_scalar_dense"]


def test_train_writes_metrics_and_resumes(tmp_path):
    config = TrainConfig(**TINY)
    train(config, tmp_path, progress=False)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4]
    last = read_checkpoint(tmp_path / "last.pt")
    assert last["step"] == 4 and last["train_config"]["data"] == "synth" and "optimizer" in last
    assert read_checkpoint(tmp_path / "best.pt")["model_config"]["name"] == "proposed_db"
    train(TrainConfig(**{**TINY, "steps": 6}), tmp_path, resume=True, progress=False)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]


def test_distributed_data_parallel_on_gloo(tmp_path):
    """`torchrun --nproc-per-node 2` runs the same entry point with DDP on CPU (gloo)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517",
           "-m", "eqlib.train", "--out", str(tmp_path), "--model", "baseline_db", "--device", "cpu"]
    for key, value in TINY.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cpu × 2" in result.stdout
    assert read_checkpoint(tmp_path / "last.pt")["step"] == TINY["steps"]



# Prepended to a script run in a subprocess: every file it writes is limited to 32 KiB, so a checkpoint
# write fails as on a full disk (EFBIG instead of ENOSPC).
FILE_SIZE_LIMIT = """import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing the process
resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))
"""


def run_with_file_size_limit(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT + script, *args], capture_output=True, text=True,
                          timeout=300)


def test_a_checkpoint_write_that_fails_keeps_the_old_file(tmp_path):
    """A write that runs out of room is an output error naming the file, and leaves the old checkpoint."""
    target = tmp_path / "best.pt"
    target.write_bytes(b"old")
    found = run_with_file_size_limit(
        "import torch\nfrom eqlib.checkpoint import CHECKPOINT_FORMAT, write_payload\n"
        "try:\n    write_payload(sys.argv[1], {'format': CHECKPOINT_FORMAT, 'w': torch.zeros(100000)})\n"
        "except Exception as err:\n    print(type(err).__name__, err.kind, err)\n", str(target))
    assert found.stdout.strip() == f"AudioError output {target}: File too large", found.stderr
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_train_command_line_reports_a_failed_write_in_one_line(tmp_path):
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    found = run_with_file_size_limit("from eqlib.train import main\nmain(sys.argv[1:])",
                                     "--out", str(tmp_path / "run"), *flags)
    assert found.returncode == 14, found.stderr
    last = found.stderr.strip().splitlines()[-1]
    assert last.startswith("eqlib.train: error: ") and last.endswith(": File too large")
    assert "Traceback" not in found.stderr and not list((tmp_path / "run").glob("*.pt"))
