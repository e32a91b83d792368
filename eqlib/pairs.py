"""Training pairs in the spectrogram domain: (input, EQ_θ(reference), θ) made on the device.

An EQ is linear and time-invariant, so the STFT power of an equalised excerpt is close to the
excerpt's STFT power times ``|H(f)|²`` when the response is smooth over one analysis window
(4096 samples, 93 ms). :func:`spectrogram_eq_error_db` measures how close; the tests bound it.
Training therefore filters nothing: a :class:`SpectrogramBank` holds the power spectrograms of
many excerpts once, and :class:`PairSampler` crops, pairs, equalises and re-levels them per batch.

Variants (``PairSampler.sample(..., variant=…)``):
- ``"other_speaker"``: reference from another speaker, other words (the paper's setting);
- ``"same_speaker"``: same speaker, other words;
- ``"same_content"``: reference := EQ_θ(input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from eqlib.biquad import sos_power
from eqlib.eq import DEFAULT_EQ, EQSettings, EQSpec
from eqlib.features import FeatureConfig, MelFrontend, PowerSpectrogram

VARIANTS = ("other_speaker", "same_speaker", "same_content")


@dataclass(frozen=True)
class PairConfig:
    """How pairs are drawn. Gains in dB; ``crop_frames`` STFT frames per excerpt (65 ≈ 3 s)."""

    crop_frames: int = 56
    variant_probs: tuple[float, float, float] = (0.8, 0.1, 0.1)
    level_range_db: float = 6.0  # independent random level of input and reference, ± dB
    chain_prob: float = 0.5  # probability of a shared random "recording chain" EQ on both
    chain_gain_scale: float = 0.3  # chain EQ gains are the EQ's gains × this (±4.5 dB by default)


def eq_power_response(spec: EQSpec, params: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Cascaded ``|H(f)|²`` of physical parameters ``(batch, bands, 3)`` at ``freqs_hz`` → ``(batch, freqs)``."""
    return sos_power(spec.sos(params, sample_rate), freqs_hz, sample_rate).prod(dim=-2)


class SpectrogramBank:
    """Power spectrograms of many excerpts, kept once (bfloat16) with a speaker label each.

    Args:
        excerpts: waveforms ``(time,)`` at ``config.sample_rate``, all the same length.
        speakers: one hashable speaker label per excerpt.
        config: analysis settings.
        device: where the bank lives (the training device).
    """

    def __init__(self, excerpts: Sequence[np.ndarray], speakers: Sequence, config: FeatureConfig,
                 device: torch.device | str = "cpu", batch: int = 64) -> None:
        if len(excerpts) != len(speakers) or len(excerpts) == 0:
            raise ValueError("need one speaker label per excerpt and at least one excerpt")
        self.config = config
        self.device = torch.device(device)
        stft = PowerSpectrogram(config).to(self.device)
        chunks = []
        for start in tqdm(range(0, len(excerpts), batch), desc="spectrogram bank", leave=False):
            audio = torch.as_tensor(np.stack(excerpts[start:start + batch]), device=self.device)
            chunks.append(stft(audio).to(torch.bfloat16))
        self.power = torch.cat(chunks)  # (excerpts, bins, frames)
        labels = {s: i for i, s in enumerate(dict.fromkeys(speakers))}
        self.speaker = torch.as_tensor([labels[s] for s in speakers], device=self.device)
        self.speaker_names = list(labels)
        order = torch.argsort(self.speaker.cpu(), stable=True)
        counts = torch.bincount(self.speaker.cpu(), minlength=len(labels))
        self._group_start = torch.cumsum(counts, 0) - counts
        self._group_count = counts
        self._by_speaker = order

    def __len__(self) -> int:
        return self.power.shape[0]

    @property
    def num_frames(self) -> int:
        return self.power.shape[-1]

    def other_speaker(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """For each excerpt index, a random excerpt of a different speaker (if the bank has one)."""
        pick = torch.randint(len(self), index.shape, generator=generator)
        for _ in range(8):  # rejection sampling; the chance of 8 misses is negligible with ≥ 2 speakers
            clash = self.speaker.cpu()[pick] == self.speaker.cpu()[index]
            if not clash.any():
                break
            pick[clash] = torch.randint(len(self), (int(clash.sum()),), generator=generator)
        return pick

    def same_speaker(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """For each excerpt index, another excerpt of the same speaker (itself if it is the only one)."""
        spk = self.speaker.cpu()[index]
        count = self._group_count[spk]
        offset = (torch.rand(index.shape, generator=generator) * count).long().clamp_max(count - 1)
        pick = self._by_speaker[self._group_start[spk] + offset]
        clash = (pick == index) & (count > 1)
        pick[clash] = self._by_speaker[self._group_start[spk[clash]] + (offset[clash] + 1) % count[clash]]
        return pick


class PairSampler:
    """Draws equalised training pairs from a :class:`SpectrogramBank`, on the bank's device."""

    def __init__(self, bank: SpectrogramBank, config: PairConfig = PairConfig(), spec: EQSpec = DEFAULT_EQ) -> None:
        if bank.num_frames < config.crop_frames:
            raise ValueError(f"bank excerpts have {bank.num_frames} frames, fewer than crop_frames={config.crop_frames}")
        self.bank, self.config, self.spec = bank, config, spec
        fc = bank.config
        self.bin_freqs = torch.as_tensor(fc.bin_freqs_hz(), dtype=torch.float64, device=bank.device)
        self.bin_freqs[0] = 1.0  # DC: evaluate just above 0 Hz (the shelves' DC gain is the same)

    def _crop(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        frames = self.config.crop_frames
        start = torch.randint(self.bank.num_frames - frames + 1, index.shape, generator=generator)
        offs = start[:, None] + torch.arange(frames)
        power = self.bank.power[index.to(self.bank.device)]
        return torch.gather(power, 2, offs.to(self.bank.device)[:, None, :].expand(-1, power.shape[1], -1)).float()

    def _power_response(self, params_norm: torch.Tensor) -> torch.Tensor:
        params = self.spec.from_norm(params_norm.to(torch.float64))
        return eq_power_response(self.spec, params, self.bin_freqs, self.bank.config.sample_rate).float()

    def sample(self, batch: int, generator: torch.Generator, variant: str | None = None) -> dict[str, torch.Tensor]:
        """One batch: ``power_in``, ``power_ref`` ``(batch, bins, frames)``, ``params_norm`` ``(batch, 12)``
        and ``variant`` ``(batch,)`` indices into ``VARIANTS``.

        ``variant=None`` mixes the variants with ``config.variant_probs``. All randomness comes
        from ``generator`` (CPU), so a seed fixes the batch on any device.
        """
        cfg, dev = self.config, self.bank.device
        if variant is None:
            kinds = torch.multinomial(torch.tensor(cfg.variant_probs), batch, replacement=True, generator=generator)
        else:
            kinds = torch.full((batch,), VARIANTS.index(variant))
        index_in = torch.randint(len(self.bank), (batch,), generator=generator)
        index_ref = torch.where(kinds == 1, self.bank.same_speaker(index_in, generator),
                                self.bank.other_speaker(index_in, generator))
        index_ref = torch.where(kinds == 2, index_in, index_ref)
        power_in = self._crop(index_in, generator)
        power_ref = self._crop(index_ref, generator)
        same = (kinds == 2).to(dev)
        power_ref = torch.where(same[:, None, None], power_in, power_ref)

        params_norm = self.spec.sample_norm(batch, generator, dtype=torch.float64)
        chain_norm = self.spec.sample_norm(batch, generator, dtype=torch.float64)
        gain_cols = torch.arange(0, self.spec.num_params, 3)
        chain_norm[:, gain_cols] = 0.5 + (chain_norm[:, gain_cols] - 0.5) * cfg.chain_gain_scale
        use_chain = torch.rand(batch, generator=generator) < cfg.chain_prob
        chain_norm[~use_chain, :] = self.spec.to_norm(self.spec.default)[None].expand(int((~use_chain).sum()), -1)
        levels_db = (torch.rand(batch, 2, generator=generator) * 2 - 1) * cfg.level_range_db
        levels = (10 ** (levels_db / 10)).float().to(dev)

        chain = self._power_response(chain_norm.to(dev))
        power_in = power_in * (chain * levels[:, :1])[:, :, None]
        power_ref = power_ref * (chain * self._power_response(params_norm.to(dev)) * levels[:, 1:])[:, :, None]
        return {"power_in": power_in, "power_ref": power_ref, "params_norm": params_norm.float().to(dev),
                "variant": kinds.to(dev)}


def spectrogram_eq_error_db(audio: np.ndarray, settings: EQSettings, config: FeatureConfig = FeatureConfig()
                            ) -> dict[str, float]:
    """How far the spectrogram-domain EQ is from filtering the waveform, on mel-dB features.

    Compares ``mel_dB(STFT(EQ(x)))`` with ``mel_dB(STFT(x)·|H|²)`` over every (mel band, frame)
    cell whose level is within 60 dB of the loudest one.

    Args:
        audio: ``(time,)`` samples at ``config.sample_rate``.
        settings: the EQ.
        config: analysis settings.

    Returns:
        ``{"mean_abs_db", "p99_abs_db", "long_term_max_abs_db"}``: per-cell mean and 99th percentile
        of the absolute dB difference, and the largest difference of the time-averaged mel spectra.
    """
    stft, mel = PowerSpectrogram(config), MelFrontend(config)
    exact = torch.as_tensor(settings.apply(audio, config.sample_rate), dtype=torch.float32)[None]
    x = torch.as_tensor(audio, dtype=torch.float32)[None]
    freqs = torch.as_tensor(config.bin_freqs_hz(), dtype=torch.float64).clamp_min(1.0)
    h2 = eq_power_response(settings.spec, torch.as_tensor(settings.params)[None], freqs, config.sample_rate).float()
    with torch.no_grad():
        mel_exact = mel.mel_power(stft(exact))[0]
        mel_approx = mel.mel_power(stft(x) * h2[:, :, None])[0]
    db_exact, db_approx = (10 * torch.log10(m.clamp_min(1e-12)) for m in (mel_exact, mel_approx))
    keep = db_exact > db_exact.max() - 60
    diff = (db_exact - db_approx).abs()[keep]
    lt_exact, lt_approx = (10 * torch.log10(m.mean(-1).clamp_min(1e-12)) for m in (mel_exact, mel_approx))
    lt_keep = lt_exact > lt_exact.max() - 60
    return {"mean_abs_db": float(diff.mean()), "p99_abs_db": float(torch.quantile(diff, 0.99)),
            "long_term_max_abs_db": float((lt_exact - lt_approx).abs()[lt_keep].max())}
