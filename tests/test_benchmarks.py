"""The benchmark scripts run: the GPU benchmark's code path on the CPU, and the profile's op counting."""

import subprocess
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_profile import count_ops  # noqa: E402


def test_count_ops_counts_top_level_aten_calls_and_scalar_reads():
    x = torch.arange(6.0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        y = (x * 2).sum()  # two top-level ops (sum's internals are nested)
        bool(y > 3)  # a comparison and one scalar read
    ops, reads = count_ops(prof)
    assert reads == 1
    assert ops == 4  # mul, sum, gt, _local_scalar_dense's caller (aten::is_nonzero)


def test_gpu_benchmark_runs_its_code_path_on_the_cpu():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_gpu.py"), "--device", "cpu", "--steps", "1",
                             "--batches", "4", "--excerpts", "4", "--models", "ltsnet"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("ltsnet")]
    assert len(rows) == 1 and rows[0][1] == "4" and float(rows[0][2]) > 0


def test_match_breakdown_runs_one_oneshot_match(tmp_path, weights):
    """bench_match's worker times every stage of one oneshot match through the CLI's own write path."""
    import json

    import numpy as np
    import soundfile as sf

    from conftest import make_speech_like

    paths = [tmp_path / "in.wav", tmp_path / "ref.wav"]
    for seed, path in enumerate(paths):
        sf.write(path, make_speech_like(1.5, 44100, seed), 44100, subtype="PCM_16")
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_match.py"), "--breakdown", *map(str, paths),
                             str(tmp_path / "out.wav"), str(weights)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    stages = dict(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "filter and write" in stages and all(s >= 0 for s in stages.values())
    written, rate = sf.read(tmp_path / "out.wav")
    assert rate == 44100 and len(written) == len(sf.read(paths[0])[0]) and np.isfinite(written).all()
