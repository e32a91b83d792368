"""The numpy Slaney mel filterbank against librosa, the implementation it replaces (librosa imports numba)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eqlib.features import FeatureConfig, MelFrontend, slaney_mel_filterbank


@pytest.mark.parametrize("sample_rate, n_fft, n_mels, fmin_hz, fmax_hz", [
    (44100, 4096, 128, 20.0, 20000.0),  # the models' setting
    (22050, 2048, 64, 0.0, 11025.0),
    (16000, 512, 40, 30.0, 7000.0),
])
def test_slaney_mel_filterbank_equals_librosa(sample_rate, n_fft, n_mels, fmin_hz, fmax_hz):
    librosa = pytest.importorskip("librosa")
    theirs = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin_hz, fmax=fmax_hz, norm=None,
                                 dtype=np.float64)
    ours = slaney_mel_filterbank(sample_rate, n_fft, n_mels, fmin_hz, fmax_hz)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_mel_frontend_weights_unchanged_for_the_shipped_models():
    """The normalised float32 buffer is what the librosa-built frontend held, bit for bit."""
    librosa = pytest.importorskip("librosa")
    config = FeatureConfig()
    fb = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin_hz,
                             fmax=config.fmax_hz, norm=None)
    fb = fb / np.maximum(fb.sum(axis=1, keepdims=True), 1e-12)
    assert torch.equal(MelFrontend(config).filterbank, torch.as_tensor(fb, dtype=torch.float32))
