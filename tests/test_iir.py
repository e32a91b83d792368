"""The numpy IIR filters against scipy.signal's lfilter and sosfilt, with state carried from block to block."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from eqlib.eq import DEFAULT_EQ, EQSettings
from eqlib.iir import BlockedBiquad, Cascade
from eqlib.spectrum import k_weighting_ba


@pytest.mark.parametrize("num_samples", [1, 31, 32, 33, 1000, 12345])
def test_blocked_biquad_equals_lfilter_with_state(num_samples):
    rng = np.random.default_rng(num_samples)
    x = rng.standard_normal((2, num_samples))
    state = rng.standard_normal((2, 2))
    for b, a in k_weighting_ba(48000):
        y, final = BlockedBiquad(b, a)(x, state)
        y_ref, final_ref = scipy.signal.lfilter(b, a, x, axis=-1, zi=state)
        np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-9 * max(1.0, np.abs(y_ref).max()))
        np.testing.assert_allclose(final, final_ref, rtol=0, atol=1e-9 * max(1.0, np.abs(final_ref).max()))


@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000, 192000])
def test_cascade_in_blocks_equals_one_sosfilt_for_random_eqs(sample_rate):
    """The 4-band EQ's sections over the whole parameter space, the signal cut at odd places."""
    rng = np.random.default_rng(sample_rate)
    x = 0.3 * rng.standard_normal((2, 20000))
    for params in DEFAULT_EQ.sample(25, torch.Generator().manual_seed(sample_rate)).numpy():
        params[:, 1] = np.minimum(params[:, 1], 0.45 * sample_rate)
        sos = EQSettings(params).sos(sample_rate)
        cascade, state, parts = Cascade(sos), None, []
        for start, stop in ((0, 7777), (7777, 7778), (7778, 20000)):
            y, state = cascade(x[:, start:stop], state)
            parts.append(y)
        expected, final = scipy.signal.sosfilt(sos, x, axis=-1, zi=np.zeros((len(sos), 2, 2)))
        peak = np.abs(expected).max()
        assert np.abs(np.concatenate(parts, axis=1) - expected).max() < 1e-8 * peak  # -160 dB
        np.testing.assert_allclose(state, final, rtol=0, atol=1e-8 * np.abs(final).max())
