"""The paper's three models and eqlib's own: a shared latent extractor, a comparison, and a predictor of 12 EQ knobs.

- ``baseline_linear``: linear mel magnitudes, latents compared by element-wise subtraction;
- ``baseline_db``: dB-valued mel, subtraction;
- ``proposed_db``: dB-valued mel, a learned comparison of the two latents;
- ``ltsnet`` (beyond the paper): long-term statistics of 1/12-octave band levels (the level-free
  long-term spectrum and the mean and spread of the log power in each band), one shared encoder for
  both recordings, and a head that sees both encodings, their difference and the raw long-term
  spectral difference (:class:`LTSNet`).

Every extractor ends with an average over time of per-frame features, so any length of audio gives a
latent of fixed size (2,560 elements for the paper's models, as in the paper) and latents of long files
can be accumulated block by block (:meth:`PairModel.frame_features`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from eqlib.eq import DEFAULT_EQ
from eqlib.features import DB_FLOOR, DB_SCALE, BandPooling, FeatureConfig, MelFrontend, PowerSpectrogram
from eqlib.spectral_fit import SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DB


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model; saved inside its checkpoint."""

    name: str = "proposed_db"
    features: FeatureConfig = field(default_factory=FeatureConfig)
    comparison: str = "learned"  # "subtract" or "learned"
    conv_channels: tuple[int, int, int] = (16, 24, 40)
    latent_bins: int = 64  # mel bins left after the first convolution's frequency stride
    compare_dim: int = 512
    hidden_dim: int = 256
    num_params: int = DEFAULT_EQ.num_params
    architecture: str = "conv"  # "conv": the paper's extractor on mel; "lts": LTSNet on band statistics
    dropout: float = 0.0
    lts_difference: bool = True  # LTSNet: the head also sees the raw long-term spectral difference
    curve_head: bool = False  # LTSNet: the head predicts the EQ's response curve; the knobs are fitted to it

    @property
    def latent_dim(self) -> int:
        if self.architecture == "lts":
            return LTSNet.STATISTICS * self.features.num_bank_rows
        return self.conv_channels[-1] * self.latent_bins

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conv_channels"] = list(self.conv_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        d["features"] = FeatureConfig(**d["features"])
        d["conv_channels"] = tuple(d["conv_channels"])
        return cls(**d)


MODEL_CONFIGS: dict[str, ModelConfig] = {
    "baseline_linear": ModelConfig("baseline_linear", FeatureConfig(db=False), "subtract"),
    "baseline_db": ModelConfig("baseline_db", FeatureConfig(db=True), "subtract"),
    "proposed_db": ModelConfig("proposed_db", FeatureConfig(db=True), "learned"),
    "ltsnet": ModelConfig("ltsnet", FeatureConfig(db=True, bands_per_octave=12), "learned", architecture="lts",
                          dropout=0.3),
}
PAPER_MODELS = ("baseline_linear", "baseline_db", "proposed_db")
INFERENCE_CHUNK = 8  # recordings per extractor call in forward_audio (see benchmarks/bench_inference.py)
MODEL_NAMES = tuple(MODEL_CONFIGS)


class LatentExtractor(nn.Module):
    """Conv stack over (mel, time): ``(batch, mels, frames)`` → frame features ``(batch, latent_dim, frames')``.

    The first convolution strides frequency from ``n_mels`` to ``latent_bins``; time keeps its
    resolution until the final average in :meth:`forward`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.conv_channels
        stride = config.features.n_mels // config.latent_bins
        self.layers = nn.Sequential(
            *([nn.InstanceNorm2d(1)] if not config.features.db else []),  # linear magnitudes span decades
            nn.Conv2d(1, c1, kernel_size=(5, 3), stride=(stride, 1), padding=(2, 1)), nn.BatchNorm2d(c1),
            nn.LeakyReLU(0.1),
            nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.BatchNorm2d(c2), nn.LeakyReLU(0.1),
            nn.Conv2d(c2, c3, kernel_size=1), nn.ReLU(),  # non-negative latents, as in the paper's figures
        )

    def frame_features(self, features: torch.Tensor) -> torch.Tensor:
        """``(batch, mels, frames)`` → ``(batch, latent_dim, frames)``."""
        return self.layers(features.unsqueeze(1)).flatten(1, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(batch, mels, frames)`` → latent ``(batch, latent_dim)`` (time average).

        Averages before flattening (the same numbers as ``frame_features(...).mean(-1)``), so channels-last
        activations are never copied into (channels × bins, frames) order.
        """
        return self.layers(features.unsqueeze(1)).mean(dim=-1).flatten(1)


class SubtractComparison(nn.Module):
    """Baseline comparison: ``latent_ref - latent_in``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.out_dim = config.latent_dim

    def forward(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> torch.Tensor:
        return latent_ref - latent_in


class LearnedComparison(nn.Module):
    """Proposed comparison: a trainable function of both latents (not a fixed difference).

    ``fed = LeakyReLU(W_ref·log1p(ref) + W_in·log1p(in) + W_d·(ref - in) + b)``, so the network can
    weigh what differs against what the two recordings share.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.out_dim = config.compare_dim
        self.project = nn.Linear(3 * config.latent_dim, config.compare_dim)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> torch.Tensor:
        both = torch.cat([torch.log1p(latent_ref), torch.log1p(latent_in), latent_ref - latent_in], dim=-1)
        return self.act(self.project(both))


class ParamPredictor(nn.Module):
    """MLP from the fed latent to ``params_norm`` in [0, 1]: ``(batch, dim)`` → ``(batch, 12)``."""

    def __init__(self, in_dim: int, config: ModelConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, config.hidden_dim), nn.LeakyReLU(0.1),
                                 nn.Linear(config.hidden_dim, config.hidden_dim), nn.LeakyReLU(0.1),
                                 nn.Linear(config.hidden_dim, config.num_params))

    def forward(self, fed: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(fed))


@dataclass
class ModelOutput:
    """Everything the notebooks plot: ``params_norm (batch, 12)`` and the three latents.

    A curve head (``ModelConfig.curve_head``) predicts no knobs: ``params_norm`` is ``None`` and ``curve_db``
    ``(batch, bands)`` holds the EQ's level-free response (dB) at the model's band centres, ``curve_weights``
    ``(batch, bands)`` the bands worth fitting (both recordings hold energy there, at most 20 kHz);
    :func:`eqlib.inference.output_settings` fits the knobs to the curve.
    """

    params_norm: torch.Tensor | None
    latent_in: torch.Tensor
    latent_ref: torch.Tensor
    latent_fed: torch.Tensor
    curve_db: torch.Tensor | None = None
    curve_weights: torch.Tensor | None = None


class PairModel(nn.Module, ABC):
    """Input + reference → 12 normalised EQ parameters: per-frame features averaged over time into a latent
    (the same extractor for both recordings), then a comparison and a predictor (:meth:`head`).

    Subclasses define :meth:`frame_features` and :meth:`head`. ``bank`` turns STFT power into the rows the
    training bank holds (``eqlib.pairs``), so training (bank rows in) and inference (audio in) share one path.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.spectrogram = PowerSpectrogram(config.features)
        self.bank = BandPooling(config.features)

    @abstractmethod
    def frame_features(self, rows: torch.Tensor) -> torch.Tensor:
        """Bank rows ``(batch, rows, frames)`` → per-frame latent features ``(batch, latent_dim, frames)``."""

    def latent(self, rows: torch.Tensor) -> torch.Tensor:
        """Bank rows ``(batch, rows, frames)`` → extracted latent ``(batch, latent_dim)`` (time average)."""
        return self.frame_features(rows).mean(dim=-1)

    @abstractmethod
    def head(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> ModelOutput:
        """Compare two extracted latents and predict ``params_norm``."""

    def forward(self, power_in: torch.Tensor, power_ref: torch.Tensor) -> ModelOutput:
        """Bank rows ``(batch, rows, frames)`` of input and reference → :class:`ModelOutput`."""
        both = self.latent(torch.cat([power_in, power_ref], dim=0))
        latent_in, latent_ref = both.split(power_in.shape[0], dim=0)
        return self.head(latent_in, latent_ref)

    def audio_rows(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(batch, time)`` at ``config.features.sample_rate`` → bank rows ``(batch, rows, frames)``."""
        return self.bank(self.spectrogram(audio))

    def forward_audio(self, audio_in: torch.Tensor, audio_ref: torch.Tensor) -> ModelOutput:
        """Waveforms ``(batch, time)`` at ``config.features.sample_rate`` → :class:`ModelOutput` (inference).

        Latents are computed ``INFERENCE_CHUNK`` recordings at a time: a whole batch of 3-s spectrograms and
        activations does not fit in the CPU's caches, and each recording's latent depends on it alone.
        """
        latent_in, latent_ref = (torch.cat([self.latent(self.audio_rows(chunk))
                                            for chunk in audio.split(INFERENCE_CHUNK)]) for audio in (audio_in, audio_ref))
        return self.head(latent_in, latent_ref)


class EQNet(PairModel):
    """The paper's models: the conv extractor on (mel, time), a subtraction or learned comparison, an MLP."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.frontend = MelFrontend(config.features)
        self.extractor = LatentExtractor(config)
        self.comparison = LearnedComparison(config) if config.comparison == "learned" else SubtractComparison(config)
        self.predictor = ParamPredictor(self.comparison.out_dim, config)

    def frame_features(self, rows: torch.Tensor) -> torch.Tensor:
        return self.extractor.frame_features(self.frontend(rows))

    def latent(self, rows: torch.Tensor) -> torch.Tensor:
        return self.extractor(self.frontend(rows))

    def head(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> ModelOutput:
        fed = self.comparison(latent_in, latent_ref)
        return ModelOutput(self.predictor(fed), latent_in, latent_ref, fed)


CURVE_MAX_HZ = 20000.0  # a curve head's curve is fitted up to here (the metric's top)
EMPTY_TOP_FROM_HZ = 2000.0  # a band-limited recording's empty top is looked for above here (Hz)
EMPTY_TOP_DROP_DB = 30.0  # it starts where a band and all above it lie this far (dB) below the band ...
EMPTY_TOP_SPAN_OCT = 0.5  # ... this many octaves lower


def empty_top_bands(lts_db: torch.Tensor, centres_hz: torch.Tensor) -> torch.Tensor:
    """``(batch, bands)`` True on a band-limited recording's empty top: from the first band at or above
    ``EMPTY_TOP_FROM_HZ`` whose level and every higher band's lie ``EMPTY_TOP_DROP_DB`` below the band
    ``EMPTY_TOP_SPAN_OCT`` lower, upwards. A resampled recording's top falls by tens of dB within a small
    fraction of an octave; a natural spectrum rolls off far more slowly.

    Args:
        lts_db: long-term band levels ``(batch, bands)`` in dB on log-spaced ``centres_hz`` ``(bands,)`` (Hz).
    """
    per_octave = 1.0 / float(torch.log2(centres_hz[1] / centres_hz[0]))
    span = max(1, round(EMPTY_TOP_SPAN_OCT * per_octave))
    highest_above = torch.flip(torch.cummax(torch.flip(lts_db, [-1]), dim=-1).values, [-1])
    cliff = torch.zeros_like(lts_db, dtype=torch.bool)
    cliff[:, span:] = highest_above[:, span:] <= lts_db[:, :-span] - EMPTY_TOP_DROP_DB
    cliff &= (centres_hz >= EMPTY_TOP_FROM_HZ).to(lts_db.device)
    return torch.cumsum(cliff.int(), dim=-1) > 0


def _mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    """Linear layers of ``sizes`` with GELU and dropout between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.GELU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class LTSNet(PairModel):
    """eqlib's own model: long-term statistics of 1/n-octave band levels, a shared encoder, a comparing head.

    Per frame it keeps each band's power ``P`` and ``L = log10 P`` and ``L²`` (``STATISTICS = 3`` rows per
    band), so the time average — the latent — holds the long-term spectrum (``10·log10 E[P]``, level
    removed), the mean level in dB (``10·E[L]``, level removed) and its spread over time (``10·std L``). A
    shared MLP encodes each recording's statistics; the head sees both encodings, their difference and
    the raw long-term spectral difference ``LTS_ref − LTS_in``, whose shape is what an EQ changes.
    The level of a recording is the mean of its long-term spectrum over ``LEVEL_BAND_HZ`` (where every
    real recording, band-limited ones included, holds energy).

    With ``config.curve_head`` the head predicts, per band, a gate ``g`` in (0, 1) and a correction ``c`` and
    answers the response curve ``g · (LTS_ref − LTS_in) + c`` (dB): a difference that is all EQ (shared
    content) passes through at full resolution, one that is partly the other voice is scaled and corrected.
    At the start of training ``g = ½`` and ``c = 0``.
    """

    STATISTICS = 3
    LEVEL_BAND_HZ = (100.0, 5000.0)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        centres = torch.as_tensor(config.features.band_centres_hz(), dtype=torch.float32)
        lo, hi = self.LEVEL_BAND_HZ
        self.register_buffer("level_weights", ((centres >= lo) & (centres <= hi)).float() /
                             ((centres >= lo) & (centres <= hi)).sum(), persistent=False)
        bands, hidden = len(centres), config.hidden_dim
        self.encoder = _mlp([self.STATISTICS * bands, hidden, hidden], config.dropout)
        head_in = 3 * hidden + (bands if config.lts_difference or config.curve_head else 0)
        head_out = 2 * bands if config.curve_head else config.num_params
        self.predictor = _mlp([head_in, config.compare_dim, config.compare_dim, head_out], config.dropout)
        if config.curve_head:
            nn.init.zeros_(self.predictor[-1].weight)
            nn.init.zeros_(self.predictor[-1].bias)
            self.register_buffer("band_centres", centres.double(), persistent=False)

    def frame_features(self, rows: torch.Tensor) -> torch.Tensor:
        log_power = torch.log10(rows.float().clamp_min(DB_FLOOR))
        return torch.cat([rows.float(), log_power, log_power * log_power], dim=1)

    def latent(self, rows: torch.Tensor) -> torch.Tensor:
        """The time averages of :meth:`frame_features`, without stacking the frames (3× less memory traffic)."""
        rows = rows.float()
        log_power = torch.log10(rows.clamp_min(DB_FLOOR))
        return torch.cat([rows.mean(dim=-1), log_power.mean(dim=-1), (log_power * log_power).mean(dim=-1)], dim=-1)

    def statistics(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent ``(batch, 3·bands)`` → (level-free long-term spectrum ``(batch, bands)``, all statistics
        ``(batch, 3·bands)``), in dB / ``DB_SCALE``."""
        power, mean_log, mean_sq = latent.chunk(self.STATISTICS, dim=-1)
        lts = 10 * torch.log10(power.clamp_min(DB_FLOOR))
        level = (lts * self.level_weights).sum(dim=-1, keepdim=True)
        spread = 10 * (mean_sq - mean_log * mean_log).clamp_min(0).sqrt()
        lts = (lts - level) / DB_SCALE
        return lts, torch.cat([lts, (10 * mean_log - level) / DB_SCALE, spread / DB_SCALE], dim=-1)

    def head(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> ModelOutput:
        (lts_in, stats_in), (lts_ref, stats_ref) = self.statistics(latent_in), self.statistics(latent_ref)
        enc_in, enc_ref = self.encoder(torch.cat([stats_in, stats_ref])).split(latent_in.shape[0])
        difference = lts_ref - lts_in
        with_difference = self.config.lts_difference or self.config.curve_head
        fed = torch.cat([enc_in, enc_ref, enc_ref - enc_in] + ([difference] if with_difference else []), dim=-1)
        if not self.config.curve_head:
            return ModelOutput(torch.sigmoid(self.predictor(fed)), latent_in, latent_ref, fed)
        gate, correction = self.predictor(fed).chunk(2, dim=-1)
        curve_db = (torch.sigmoid(gate) * difference + correction) * DB_SCALE
        return ModelOutput(None, latent_in, latent_ref, fed, curve_db, self.audible_bands(latent_in, latent_ref))

    def audible_bands(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> torch.Tensor:
        """``(batch, bands)`` 1.0 where both recordings' long-term band powers lie within
        ``SILENCE_BELOW_PEAK_DB`` of their peak and above ``SILENCE_FLOOR_DB`` (the spectral fit's rule), below
        a band-limited recording's empty top (:func:`empty_top_bands`) and at most ``CURVE_MAX_HZ``; else 0.0."""
        audible = (self.band_centres <= CURVE_MAX_HZ).float().expand(latent_in.shape[0], -1).clone()
        for latent in (latent_in, latent_ref):
            lts = 10 * torch.log10(latent[:, :audible.shape[1]].double().clamp_min(1e-300))
            audible *= ((lts > lts.max(dim=-1, keepdim=True).values - SILENCE_BELOW_PEAK_DB)
                        & (lts > SILENCE_FLOOR_DB) & ~empty_top_bands(lts, self.band_centres)).float()
        return audible


def build_model(name_or_config: str | ModelConfig) -> PairModel:
    """A fresh, untrained model from one of ``MODEL_NAMES`` or a :class:`ModelConfig`."""
    if isinstance(name_or_config, str):
        if name_or_config not in MODEL_CONFIGS:
            raise ValueError(f"unknown model {name_or_config!r}; choose one of {', '.join(MODEL_NAMES)}")
        name_or_config = MODEL_CONFIGS[name_or_config]
    if name_or_config.architecture == "lts":
        return LTSNet(name_or_config)
    if name_or_config.architecture != "conv":
        raise ValueError(f"unknown architecture {name_or_config.architecture!r}; expected 'conv' or 'lts'")
    return EQNet(name_or_config)
