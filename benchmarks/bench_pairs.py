"""Training-pair throughput: spectrogram-domain ``PairSampler`` vs filtering waveforms exactly.

Peer ("exact"): for the same number of pairs, filter the input waveform with a random chain EQ and
the reference with a random θ (``scipy.signal.sosfilt``, float64), then take both STFT power
spectrograms and crop them — what a waveform data loader would have to do per batch.
Also times building the spectrogram bank. Runs on CPU, and on CUDA when available.

    .venv/bin/python benchmarks/bench_pairs.py [--batch 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.signal
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time_s, example_excerpts, hardware_line, sync  # noqa: E402

from eqlib.eq import DEFAULT_EQ  # noqa: E402
from eqlib.features import FeatureConfig, PowerSpectrogram  # noqa: E402
from eqlib.pairs import PairConfig, PairSampler, SpectrogramBank  # noqa: E402

BANK_EXCERPTS = 252  # the shipped clips repeated to a bank big enough to time per excerpt


def exact_pairs(excerpts: list[np.ndarray], batch: int, rng: np.random.Generator, stft: PowerSpectrogram,
                crop_frames: int, sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` pairs made the slow way: sosfilt both waveforms, STFT, crop → two ``(batch, bins, frames)``."""
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    theta = DEFAULT_EQ.sos(DEFAULT_EQ.sample(batch, gen), sample_rate).numpy()
    chain = DEFAULT_EQ.sos(DEFAULT_EQ.sample(batch, gen), sample_rate).numpy()
    pick = rng.integers(len(excerpts), size=(batch, 2))
    inputs = np.stack([scipy.signal.sosfilt(chain[i], excerpts[a]) for i, (a, _) in enumerate(pick)])
    refs = np.stack([scipy.signal.sosfilt(theta[i], excerpts[b]) for i, (_, b) in enumerate(pick)])
    power = stft(torch.as_tensor(np.concatenate([inputs, refs]), dtype=torch.float32))
    start = int(rng.integers(power.shape[-1] - crop_frames + 1))
    power = power[..., start:start + crop_frames]
    return power[:batch], power[batch:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    excerpts, speakers, rate = example_excerpts()
    reps = BANK_EXCERPTS // len(excerpts)
    bank_audio, bank_speakers = excerpts * reps, speakers * reps
    features, pair_config = FeatureConfig(), PairConfig()
    print(f"hardware: {hardware_line()}; torch threads: {torch.get_num_threads()}")
    print(f"bank: {len(bank_audio)} excerpts of 3 s from {len(excerpts)} shipped clips; batch {args.batch}; "
          f"best of {args.repeats}")

    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    sample_s_by_device = {}
    for device in devices:
        start = time.perf_counter()
        bank = SpectrogramBank(bank_audio, bank_speakers, features, device=device)
        sync(device)
        bank_s = time.perf_counter() - start
        sampler = PairSampler(bank, pair_config)
        gen = torch.Generator().manual_seed(0)
        sample_s = sample_s_by_device[device.type] = best_time_s(lambda: sampler.sample(args.batch, gen), device,
                                                                 args.repeats)
        print(f"[{device.type}] bank build: {bank_s:.2f} s ({1000 * bank_s / len(bank_audio):.1f} ms/excerpt); "
              f"PairSampler: {args.batch / sample_s:,.0f} pairs/s ({1000 * sample_s:.1f} ms/batch)")

    stft = PowerSpectrogram(features)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        exact_s = best_time_s(lambda: exact_pairs(excerpts, args.batch, rng, stft, pair_config.crop_frames, rate),
                              torch.device("cpu"), args.repeats)
    print(f"[cpu] exact peer (sosfilt + STFT): {args.batch / exact_s:,.0f} pairs/s ({1000 * exact_s:.1f} ms/batch)")
    for name, sample_s in sample_s_by_device.items():
        print(f"ratio: PairSampler on {name} makes pairs {exact_s / sample_s:.1f}× faster than the exact peer on cpu")


if __name__ == "__main__":
    main()
