"""The paper's three models: a shared latent extractor, a comparison, and a predictor of 12 EQ knobs.

- ``baseline_linear``: linear mel magnitudes, latents compared by element-wise subtraction;
- ``baseline_db``: dB-valued mel, subtraction;
- ``proposed_db``: dB-valued mel, a learned comparison of the two latents.

The extractor keeps frequency resolution and averages over time, so any length of audio gives
a latent of ``channels * latent_bins`` elements (2,560 by default, as in the paper). Because
that average is the last step, latents of long files can be accumulated window by window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from eqlib.eq import DEFAULT_EQ
from eqlib.features import FeatureConfig, MelFrontend, PowerSpectrogram


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

    @property
    def latent_dim(self) -> int:
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
}
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
    """Everything the notebooks plot: ``params_norm (batch, 12)`` and the three latents."""

    params_norm: torch.Tensor
    latent_in: torch.Tensor
    latent_ref: torch.Tensor
    latent_fed: torch.Tensor


class EQNet(nn.Module):
    """Input + reference → 12 normalised EQ parameters, through a shared extractor and a comparison."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.spectrogram = PowerSpectrogram(config.features)
        self.frontend = MelFrontend(config.features)
        self.extractor = LatentExtractor(config)
        self.comparison = LearnedComparison(config) if config.comparison == "learned" else SubtractComparison(config)
        self.predictor = ParamPredictor(self.comparison.out_dim, config)

    def latent(self, power: torch.Tensor) -> torch.Tensor:
        """Power spectrogram ``(batch, bins, frames)`` → extracted latent ``(batch, latent_dim)``."""
        return self.extractor(self.frontend(power))

    def head(self, latent_in: torch.Tensor, latent_ref: torch.Tensor) -> ModelOutput:
        """Compare two extracted latents and predict ``params_norm``."""
        fed = self.comparison(latent_in, latent_ref)
        return ModelOutput(self.predictor(fed), latent_in, latent_ref, fed)

    def forward(self, power_in: torch.Tensor, power_ref: torch.Tensor) -> ModelOutput:
        """Power spectrograms ``(batch, bins, frames)`` of input and reference → :class:`ModelOutput`."""
        both = self.latent(torch.cat([power_in, power_ref], dim=0))
        latent_in, latent_ref = both.split(power_in.shape[0], dim=0)
        return self.head(latent_in, latent_ref)

    def forward_audio(self, audio_in: torch.Tensor, audio_ref: torch.Tensor) -> ModelOutput:
        """Waveforms ``(batch, time)`` at ``config.features.sample_rate`` → :class:`ModelOutput`."""
        return self.head(self.latent(self.spectrogram(audio_in)), self.latent(self.spectrogram(audio_ref)))


def build_model(name_or_config: str | ModelConfig) -> EQNet:
    """A fresh, untrained model from one of ``MODEL_NAMES`` or a :class:`ModelConfig`."""
    if isinstance(name_or_config, str):
        if name_or_config not in MODEL_CONFIGS:
            raise ValueError(f"unknown model {name_or_config!r}; choose one of {', '.join(MODEL_NAMES)}")
        name_or_config = MODEL_CONFIGS[name_or_config]
    return EQNet(name_or_config)
