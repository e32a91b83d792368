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
