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

from eqlib.biquad import FrequencyGrid
from eqlib.eq import DEFAULT_EQ, EQSettings, EQSpec
from eqlib.features import BandPooling, FeatureConfig, MelFrontend, PowerSpectrogram

VARIANTS = ("other_speaker", "same_speaker", "same_content")
_SCALAR_DRAWS = 14  # uniform numbers per pair besides the three EQs: see PairSampler.sample
FULL_BAND_HZ = 20000.0  # a recording that was not band-limited holds content up to here
BANDLIMIT_FLOOR = 1e-9  # power gain (-90 dB) of the rows above a band-limited recording's top


@dataclass(frozen=True)
class PairConfig:
    """How pairs are drawn. Gains in dB; ``crop_frames`` STFT frames per excerpt (65 ≈ 3 s)."""

    crop_frames: int = 56
    variant_probs: tuple[float, float, float] = (0.8, 0.1, 0.1)
    level_range_db: float = 6.0  # independent random level of input and reference, ± dB
    chain_prob: float = 0.5  # probability of a shared random "recording chain" EQ on both
    chain_gain_scale: float = 0.3  # chain EQ gains are the EQ's gains × this (±4.5 dB by default)
    chain_mismatch_prob: float = 0.0  # probability that the reference has a recording chain of its own on top
    chain_mismatch_scale: float = 0.2  # that chain's gains are the EQ's gains × this (±3 dB): not part of θ
    bandlimit_prob: float = 0.0  # probability that a recording lost its top band (a 16–24 kHz or lossy original)
    bandlimit_hz: tuple[float, ...] = (7200.0, 9922.5, 10800.0, 15000.0, 17000.0)  # 0.45 × 16, 22.05, 24 kHz; codecs
    input_eq_prob: float = 0.0  # probability that the input passes through an EQ of its own: a problem to undo
    input_eq_scale: float = 1.0  # that EQ's gains are the EQ's gains × this (±15 dB by default)
    input_problem_prob: float = 0.0  # probability that the input carries a problem to undo: ONE band boosted or cut
    input_problem_min_db: float = 6.0  # that band's |gain| is uniform from this to the EQ's largest (15 dB)
    reference_problem_prob: float = 0.0  # probability that θ itself is such a problem: one band of ±min_db–15 dB
    input_chain_prob: float = 0.0  # probability that the input has a recording chain of its own: not part of θ
    input_chain_scale: float = 0.2  # that chain's gains are the EQ's gains × this (not undone, unlike input_eq)
    filter_prob: float = 0.0  # probability, per recording and filter, of a chain's high-pass and of its low-pass
    highpass_hz: tuple[float, float] = (40.0, 300.0)  # a high-pass's corner range (log-uniform), order 1–4
    lowpass_hz: tuple[float, float] = (3000.0, 16000.0)  # a low-pass's corner range (log-uniform), order 1–2


def check_problem_size(min_db: float, spec: EQSpec = DEFAULT_EQ) -> None:
    """Raise ``ValueError`` unless a problem's smallest |gain| ``min_db`` (dB) lies within ``spec``'s gain range."""
    largest_db = spec.bands[0].params[0].maximum
    if not 0.0 <= min_db <= largest_db:
        raise ValueError(f"input_problem_min_db must lie in 0..{largest_db:g} dB (the EQ's gain range), got {min_db:g}")


def eq_power_response(spec: EQSpec, params: torch.Tensor, freqs_hz: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Cascaded ``|H(f)|²`` of physical parameters ``(batch, bands, 3)`` at ``freqs_hz`` → ``(batch, freqs)``."""
    return spec.power_response(params, FrequencyGrid(freqs_hz, sample_rate, device=params.device))


class SpectrogramBank:
    """Power spectrograms of many excerpts as the model's bank rows (STFT bins or bands; :func:`bank_dtype`), kept once,
    with a speaker and a domain label each.

    Speakers (or tracks: any source whose excerpts must not be paired as "another speaker") and domains
    ("speech", "music": another speaker is drawn from the same domain) are kept as integer labels with
    the excerpts grouped, so that another or the same speaker's excerpt is drawn on the device without
    host synchronisation.

    Args:
        excerpts: waveforms ``(time,)`` at ``config.sample_rate``, all the same length.
        speakers: one hashable speaker label per excerpt.
        config: analysis settings (``bank_freqs_hz`` says what the rows are).
        device: where the bank lives (the training device).
        batch: excerpts per STFT call while building.
        domains: one domain label per excerpt (default: all one domain).
        bandwidths_hz: the highest frequency each excerpt holds content up to (default ``FULL_BAND_HZ``: a
            16-kHz original holds 7.2 kHz); the loss and the validation score only the band both recordings hold.
    """

    def __init__(self, excerpts: Sequence[np.ndarray], speakers: Sequence, config: FeatureConfig,
                 device: torch.device | str = "cpu", batch: int = 64, domains: Sequence[str] | None = None,
                 bandwidths_hz: Sequence[float] | None = None) -> None:
        if len(excerpts) != len(speakers) or len(excerpts) == 0:
            raise ValueError("need one speaker label per excerpt and at least one excerpt")
        stft, pooling = PowerSpectrogram(config).to(device), BandPooling(config).to(device)
        chunks = []
        for start in tqdm(range(0, len(excerpts), batch), desc="spectrogram bank", leave=False):
            audio = torch.as_tensor(np.stack(excerpts[start:start + batch]), device=device)
            chunks.append(pooling(stft(audio)).to(bank_dtype(config)))
        self._init(torch.cat(chunks), speakers, config, domains, bandwidths_hz)

    @classmethod
    def from_power(cls, power: torch.Tensor, speakers: Sequence, config: FeatureConfig,
                   domains: Sequence[str] | None = None, bandwidths_hz: Sequence[float] | None = None
                   ) -> "SpectrogramBank":
        """A bank from rows ``(excerpts, rows, frames)`` computed before (e.g. a disk cache)."""
        if power.ndim != 3 or power.shape[0] != len(speakers) or power.shape[1] != config.num_bank_rows:
            raise ValueError(f"power must be (excerpts={len(speakers)}, rows={config.num_bank_rows}, frames), "
                             f"got {tuple(power.shape)}")
        bank = cls.__new__(cls)
        bank._init(power.to(bank_dtype(config)), speakers, config, domains, bandwidths_hz)
        return bank

    def _init(self, power: torch.Tensor, speakers: Sequence, config: FeatureConfig,
              domains: Sequence[str] | None, bandwidths_hz: Sequence[float] | None) -> None:
        domains = ["default"] * len(speakers) if domains is None else list(domains)
        bandwidths_hz = [FULL_BAND_HZ] * len(speakers) if bandwidths_hz is None else list(bandwidths_hz)
        if len(domains) != len(speakers) or len(bandwidths_hz) != len(speakers):
            raise ValueError("need one domain label and one bandwidth per excerpt")
        self.bandwidth_hz = torch.as_tensor(np.minimum(bandwidths_hz, FULL_BAND_HZ), dtype=torch.float64,
                                            device=power.device)
        self.config = config
        self.power = power  # (excerpts, rows, frames)
        self.device = power.device
        self.speaker_names = list(dict.fromkeys(speakers))
        self.domain_names = list(dict.fromkeys(domains))
        speaker = torch.as_tensor(_labels(speakers, self.speaker_names))
        domain = torch.as_tensor(_labels(domains, self.domain_names))
        if any(len(set(domain[speaker == k].tolist())) > 1 for k in range(len(self.speaker_names))):
            raise ValueError("every speaker must belong to one domain")
        order = torch.as_tensor(np.lexsort((speaker.numpy(), domain.numpy())))  # grouped by domain, then speaker
        position = torch.empty_like(order)
        position[order] = torch.arange(len(order))
        self.speaker, self.domain = speaker.to(self.device), domain.to(self.device)
        self._by_group = order.to(self.device)
        self._group_start, self._group_count = (t.to(self.device) for t in _blocks(speaker, position))
        self._domain_start, self._domain_count = (t.to(self.device) for t in _blocks(domain, position))

    def __len__(self) -> int:
        return self.power.shape[0]

    @property
    def num_frames(self) -> int:
        return self.power.shape[-1]

    def other_speaker(self, index: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """For each excerpt index, a uniformly random excerpt of another speaker of the same domain (itself if
        its domain has one speaker).

        ``u``: one uniform number in [0, 1) per index. It picks a position among the domain's excerpts of
        every other speaker, skipping the own speaker's block in the grouped order: exact, without
        rejection loops or host reads.
        """
        spk, dom = self.speaker[index], self.domain[index]
        start, count = self._group_start[spk], self._group_count[spk]
        others = self._domain_count[dom] - count
        k = self._domain_start[dom] + (u * others).long().clamp_max(len(self) - 1)
        k = torch.where(k >= start, k + count, k).clamp_max(len(self) - 1)
        return torch.where(others > 0, self._by_group[k], index)

    def same_speaker(self, index: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """For each excerpt index, another excerpt of the same speaker (itself if it is the only one);
        ``u``: one uniform number in [0, 1) per index."""
        spk = self.speaker[index]
        start, count = self._group_start[spk], self._group_count[spk]
        offset = torch.minimum((u * count).long(), count - 1)
        pick = self._by_group[start + offset]
        next_pick = self._by_group[start + (offset + 1) % count]  # the neighbour, when the draw hit itself
        return torch.where((pick == index) & (count > 1), next_pick, pick)


def bank_dtype(config: FeatureConfig) -> torch.dtype:
    """How a bank stores its rows: bfloat16 for STFT bins (2,049 rows: half the memory), float32 for bands."""
    return torch.bfloat16 if config.bands_per_octave <= 0 else torch.float32


def _labels(values: Sequence, names: list) -> list[int]:
    """Integer label of each value: its index in ``names``."""
    lookup = {name: i for i, name in enumerate(names)}
    return [lookup[v] for v in values]


def _blocks(labels: torch.Tensor, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Start (in the grouped order) and size of each label's block: ``(labels,)`` each."""
    count = torch.bincount(labels)
    start = torch.full_like(count, len(labels))
    start.scatter_reduce_(0, labels, position, reduce="amin")
    return start, count


class PairSampler:
    """Draws equalised training pairs from a :class:`SpectrogramBank`, on the bank's device.

    Every random number comes from the generator passed to :meth:`sample`, which must live on the
    bank's device; nothing in a draw reads a tensor back to the host, so a GPU never waits on Python.
    """

    def __init__(self, bank: SpectrogramBank, config: PairConfig = PairConfig(), spec: EQSpec = DEFAULT_EQ) -> None:
        if bank.num_frames < config.crop_frames:
            raise ValueError(f"bank excerpts have {bank.num_frames} frames, fewer than crop_frames={config.crop_frames}")
        if abs(sum(config.variant_probs) - 1.0) > 1e-6 or min(config.variant_probs) < 0:
            raise ValueError(f"variant_probs must be {len(VARIANTS)} non-negative shares summing to 1")
        check_problem_size(config.input_problem_min_db, spec)
        self.bank, self.config, self.spec = bank, config, spec
        fc = bank.config
        self.grid = FrequencyGrid(fc.bank_freqs_hz(), fc.sample_rate, device=bank.device)
        self.bin_freqs = self.grid.freqs_hz
        dev = bank.device
        self._variant_edges = torch.cumsum(torch.tensor(config.variant_probs, dtype=torch.float64), 0)[:-1].to(dev)
        self._frame_offsets = torch.arange(config.crop_frames, device=dev)
        gain = torch.zeros(spec.num_params, dtype=torch.bool)
        gain[0::3] = True
        self._gain_cols = gain.to(dev)
        self._identity_norm = spec.to_norm(spec.default).to(dev)
        self._cutoffs = torch.tensor(config.bandlimit_hz, dtype=torch.float64, device=dev)

    def _bandwidth(self, u_limited: torch.Tensor, u_cutoff: torch.Tensor) -> torch.Tensor:
        """Each recording's top frequency (Hz): ``FULL_BAND_HZ``, or with ``bandlimit_prob`` one of ``bandlimit_hz``."""
        cutoff = self._cutoffs[(u_cutoff * len(self._cutoffs)).long().clamp_max(len(self._cutoffs) - 1)]
        return torch.where(u_limited < self.config.bandlimit_prob, cutoff, FULL_BAND_HZ)

    def _crop(self, index: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """``crop_frames`` frames from ``start`` of each excerpt ``index``: ``(n, bins, frames)`` float32."""
        frames = start[:, None] + self._frame_offsets  # (n, frames)
        power = self.bank.power[index]
        return torch.gather(power, 2, frames[:, None, :].expand(-1, power.shape[1], -1)).float()

    def sample(self, batch: int, generator: torch.Generator, variant: str | None = None) -> dict[str, torch.Tensor]:
        """One batch: ``power_in``, ``power_ref`` ``(batch, rows, frames)``, ``params_norm`` ``(batch, 12)``,
        ``variant`` ``(batch,)`` indices into ``VARIANTS`` and ``bandwidth_hz`` ``(batch,)``, the top of the band
        both recordings hold (an excerpt's own ``bandwidth_hz``, or lower when band-limiting is drawn: rows above a
        band-limited recording's top are ``BANDLIMIT_FLOOR`` × their power). With ``chain_mismatch_prob`` the
        reference of a pair without shared content also passes through a mild EQ of its own that θ does not
        include (recordings from two chains differ by more than θ). With ``input_eq_prob`` the input passes
        through an EQ ``θ_in`` of its own (``input_params_norm`` ``(batch, 12)``, the flat EQ elsewhere; the key
        is there only then): the right answer is then θ's response minus θ_in's
        (:func:`eqlib.train.target_response_db`); so with ``input_problem_prob``, where θ_in is one strong band (a
        problem such as harsh sibilance or muddy bass). With ``reference_problem_prob`` θ itself is such a band
        (the reference carries the problem). With ``input_chain_prob`` the input of a pair without shared
        content passes through a chain EQ of its own that the right answer keeps (the input's chain is not
        θ's business): with ``chain_mismatch_prob``, the two recordings come from two unrelated chains. With
        ``filter_prob`` each recording may also pass through a chain's Butterworth-shaped high-pass (a rumble
        filter, a small microphone) and low-pass (a dull microphone, a codec): steeper than any shelf of the
        EQ and not part of θ; a same-content pair's two recordings share the input's.

        ``variant=None`` mixes the variants with ``config.variant_probs``. All randomness is one draw from
        ``generator`` (on the bank's device; later ones for θ as a problem, the input's EQ, its problem, the input's
        chain and the chain filters, each only when its probability is above 0), so a seed fixes the batch.
        """
        cfg, bank, spec = self.config, self.bank, self.spec
        num = spec.num_params
        u = torch.rand(batch, _SCALAR_DRAWS + 3 * num, generator=generator, device=bank.device, dtype=torch.float64)
        (u_kind, u_in, u_other, u_same, u_start_in, u_start_ref, u_chain, u_level_in, u_level_ref,
         u_limited_in, u_limited_ref, u_cutoff_in, u_cutoff_ref, u_mismatch) = u[:, :_SCALAR_DRAWS].unbind(dim=1)
        if variant is None:
            kinds = (u_kind[:, None] >= self._variant_edges).sum(dim=-1)
        else:
            kinds = torch.full_like(u_in, VARIANTS.index(variant), dtype=torch.long)
        index_in = (u_in * len(bank)).long().clamp_max(len(bank) - 1)
        same = kinds == 2
        index_ref = torch.where(kinds == 1, bank.same_speaker(index_in, u_same), bank.other_speaker(index_in, u_other))
        index_ref = torch.where(same, index_in, index_ref)
        num_starts = bank.num_frames - cfg.crop_frames + 1
        start_in = (u_start_in * num_starts).long().clamp_max(num_starts - 1)
        start_ref = torch.where(same, start_in, (u_start_ref * num_starts).long().clamp_max(num_starts - 1))
        power_in, power_ref = self._crop(torch.cat([index_in, index_ref]), torch.cat([start_in, start_ref])).split(batch)

        params_norm, chain_norm, own_norm = u[:, _SCALAR_DRAWS:].split(num, dim=1)
        if cfg.reference_problem_prob > 0:
            params_norm = self._with_problem(params_norm, cfg.reference_problem_prob, generator)
        chain_norm = self._scaled_or_flat(chain_norm, cfg.chain_gain_scale, u_chain < cfg.chain_prob)
        own_norm = self._scaled_or_flat(own_norm, cfg.chain_mismatch_scale, (u_mismatch < cfg.chain_mismatch_prob) & ~same)
        chain, theta, own = spec.power_response(spec.from_norm(torch.cat([chain_norm, params_norm, own_norm])),
                                                self.grid).split(batch)
        levels = torch.pow(10.0, torch.stack([u_level_in, u_level_ref], dim=1) * (cfg.level_range_db / 5)
                           - cfg.level_range_db / 10)  # power gains of ± level_range_db
        bandwidth_in = torch.minimum(bank.bandwidth_hz[index_in], self._bandwidth(u_limited_in, u_cutoff_in))
        bandwidth_ref = torch.where(same, bandwidth_in,
                                    torch.minimum(bank.bandwidth_hz[index_ref], self._bandwidth(u_limited_ref, u_cutoff_ref)))
        above = self.grid.freqs_hz > torch.stack([bandwidth_in, bandwidth_ref])[:, :, None]  # (2, batch, rows)
        input_norm, input_eq = self._input_eq(batch, generator)
        input_chain = self._input_chain(same, generator)
        filter_in, filter_ref = self._chain_filters(same, generator)
        gains = torch.where(above, BANDLIMIT_FLOOR,
                            torch.stack([chain * filter_in * input_chain * input_eq * levels[:, :1],
                                         chain * filter_ref * own * theta * levels[:, 1:]]))
        gains = gains.float()[..., None]
        drawn = {"power_in": power_in * gains[0], "power_ref": power_ref * gains[1], "params_norm": params_norm.float(),
                 "variant": kinds, "bandwidth_hz": torch.minimum(bandwidth_in, bandwidth_ref).float()}
        return drawn if input_norm is None else {**drawn, "input_params_norm": input_norm.float()}

    def _scaled_or_flat(self, u: torch.Tensor, gain_scale: float, drawn: torch.Tensor) -> torch.Tensor:
        """Normalised EQ parameters ``(batch, 12)`` from uniform draws ``u``, the gains scaled by ``gain_scale``
        about 0 dB, where ``drawn`` ``(batch,)``; the flat EQ elsewhere."""
        norm = torch.where(self._gain_cols, 0.5 + (u - 0.5) * gain_scale, u)
        return torch.where(drawn[:, None], norm, self._identity_norm)

    def _input_chain(self, same: torch.Tensor, generator: torch.Generator) -> torch.Tensor | float:
        """The power response ``(batch, rows)`` of the input's own chain (flat on rows without one or with shared
        content ``same`` ``(batch,)``); ``1.0`` when ``input_chain_prob`` is 0 (no draw: batches stay as they were)."""
        cfg, spec = self.config, self.spec
        if cfg.input_chain_prob <= 0:
            return 1.0
        u = torch.rand(same.shape[0], 1 + spec.num_params, generator=generator, device=self.bank.device,
                       dtype=torch.float64)
        norm = self._scaled_or_flat(u[:, 1:], cfg.input_chain_scale, (u[:, 0] < cfg.input_chain_prob) & ~same)
        return spec.power_response(spec.from_norm(norm), self.grid)

    def _chain_filters(self, same: torch.Tensor, generator: torch.Generator
                       ) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """Power responses ``(batch, rows)`` of the input's and the reference's chain filters (high-pass times
        low-pass, flat where not drawn; the reference shares the input's on ``same`` pairs); ``(1.0, 1.0)`` when
        ``filter_prob`` is 0 (no draw)."""
        cfg = self.config
        if cfg.filter_prob <= 0:
            return 1.0, 1.0
        u = torch.rand(2, same.shape[0], 6, generator=generator, device=self.bank.device, dtype=torch.float64)
        u[1] = torch.where(same[:, None], u[0], u[1])
        filter_in, filter_ref = (self._drawn_filter(side[:, :3], cfg.highpass_hz, 4, highpass=True)
                                 * self._drawn_filter(side[:, 3:], cfg.lowpass_hz, 2, highpass=False) for side in u)
        return filter_in, filter_ref

    def _drawn_filter(self, u: torch.Tensor, corner_range_hz: tuple[float, float], max_order: int,
                      highpass: bool) -> torch.Tensor:
        """The power response ``(batch, rows)`` of a Butterworth-shaped high- or low-pass from uniform draws ``u``
        ``(batch, 3)``: whether it is there (``filter_prob``; flat elsewhere), its corner (log-uniform in
        ``corner_range_hz``) and its order (1 to ``max_order``)."""
        u_on, u_corner, u_order = u.unbind(-1)
        lo, hi = corner_range_hz
        corner = lo * (hi / lo) ** u_corner
        order = 1 + (u_order * max_order).floor().clamp_max(max_order - 1)
        ratio = self.grid.freqs_hz.clamp_min(1.0)[None] / corner[:, None]
        shaped = 1.0 / (1.0 + ratio ** (2 * (-1.0 if highpass else 1.0) * order[:, None]))
        return torch.where((u_on < self.config.filter_prob)[:, None], shaped, 1.0)

    def _input_eq(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor | None, torch.Tensor | float]:
        """The input's own EQ to undo: ``(params_norm (batch, 12), power response (batch, rows))``, the flat EQ on
        rows without one; ``(None, 1.0)`` when ``input_eq_prob`` and ``input_problem_prob`` are 0 (no draw, so such
        batches stay as they were). A problem (:meth:`_with_problem`) replaces a random input EQ drawn on its row."""
        cfg, spec = self.config, self.spec
        if cfg.input_eq_prob <= 0 and cfg.input_problem_prob <= 0:
            return None, 1.0
        norm = self._identity_norm.expand(batch, -1)
        if cfg.input_eq_prob > 0:
            u = torch.rand(batch, 1 + spec.num_params, generator=generator, device=self.bank.device,
                           dtype=torch.float64)
            norm = self._scaled_or_flat(u[:, 1:], cfg.input_eq_scale, u[:, 0] < cfg.input_eq_prob)
        if cfg.input_problem_prob > 0:
            norm = self._with_problem(norm, cfg.input_problem_prob, generator)
        return norm, spec.power_response(spec.from_norm(norm), self.grid)

    def _with_problem(self, norm: torch.Tensor, prob: float, generator: torch.Generator) -> torch.Tensor:
        """``norm`` ``(batch, 12)`` with, on a share ``prob`` of its rows, a problem instead: one band (uniformly
        chosen; frequency and Q uniform on their scales) boosted or cut by ``input_problem_min_db`` to the gain
        range's largest dB, every other band flat (0 dB)."""
        cfg, spec = self.config, self.spec
        batch, bands = norm.shape[0], len(spec.bands)
        u = torch.rand(batch, 4 + spec.num_params, generator=generator, device=norm.device, dtype=torch.float64)
        u_on, u_band, u_size, u_sign = u[:, :4].unbind(dim=1)
        gain = spec.bands[0].params[0]
        size_db = cfg.input_problem_min_db + (gain.maximum - cfg.input_problem_min_db) * u_size
        gain_db = torch.where(u_sign < 0.5, -size_db, size_db)
        band = (u_band * bands).long().clamp_max(bands - 1)
        chosen = torch.arange(bands, device=norm.device)[None, :] == band[:, None]  # (batch, bands)
        gain_norm = torch.where(chosen, gain.to_norm(gain_db)[:, None], self._identity_norm[self._gain_cols][None, :])
        problem = u[:, 4:].clone()
        problem[:, self._gain_cols] = gain_norm
        return torch.where((u_on < prob)[:, None], problem, norm)


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
