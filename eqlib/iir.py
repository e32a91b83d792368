"""IIR filtering in numpy alone: biquads and cascades run block by block, with no per-sample Python loop.

The :class:`BlockedBiquad` section and the :class:`Cascade` of them give what ``scipy.signal.lfilter`` / ``sosfilt`` give (to about
1e-12 of the signal's peak; the tests compare them) and carry state between calls in scipy's ``zi`` layout, so
a file can be filtered block by block. They exist so that the command line's loudness meter and its filtering
of files need no ``scipy.signal``, whose import costs more than the work on a short file.
"""

from __future__ import annotations

import functools

import numpy as np

SCAN_BLOCK = 32  # samples per block of the recursion (the fastest of 16-128 on one BLAS thread)


@functools.lru_cache(maxsize=None)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread. The products here are small: on two busy cores a 64k-frame
    block took 16 ms with BLAS threads against 1.8 ms without, and a threaded product may split its sums
    differently from call to call, so that the same file would not filter to the same bits twice."""
    return _blas_controller().limit(limits=1, user_api="blas")


class BlockedBiquad:
    """One biquad run over whole blocks of samples with numpy matrix products: no per-sample Python loop
    and no scipy import, the same output and state as ``scipy.signal.lfilter(b, a, x, zi=state)``.

    The section in state-space form (transposed direct form II, scipy's ``zi`` layout) is
    ``s[n+1] = A s[n] + B x[n]``, ``y[n] = C s[n] + D x[n]``. Over blocks of ``L`` samples, each block's
    zero-state output is a Toeplitz product with the impulse response; the block start states follow
    ``s_(k+1) = A^L s_k + u_k``, solved for all blocks at once by a doubling scan.
    """

    def __init__(self, b: np.ndarray, a: np.ndarray, block: int = SCAN_BLOCK) -> None:
        b, a = np.asarray(b, dtype=np.float64) / a[0], np.asarray(a, dtype=np.float64) / a[0]
        self.block = block
        state_a = np.array([[-a[1], 1.0], [-a[2], 0.0]])
        state_b = np.array([b[1] - a[1] * b[0], b[2] - a[2] * b[0]])
        powers = [np.eye(2)]
        for _ in range(block):
            powers.append(state_a @ powers[-1])
        self._powers = np.stack(powers)  # A^0 .. A^L: (L + 1, 2, 2)
        impulse = np.concatenate([[b[0]], [(p @ state_b)[0] for p in self._powers[: block - 1]]])
        lag = np.arange(block)[:, None] - np.arange(block)[None, :]
        self._toeplitz = np.where(lag >= 0, impulse[np.clip(lag, 0, None)], 0.0)  # (L, L): y = T x
        self._observe = self._powers[:block, 0, :]  # row i: C A^i, (L, 2)
        self._control = np.stack([self._powers[block - 1 - j] @ state_b for j in range(block)])  # (L, 2)

    def __call__(self, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Filter ``x`` ``(channels, time)`` from ``state`` ``(channels, 2)``; return ``(y, final state)``."""
        with one_blas_thread():
            return self._filter(x, state)

    def _filter(self, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        channels, num = x.shape
        if num == 0:
            return x.copy(), state
        length = self.block
        blocks = -(-num // length)
        xb = np.zeros((channels, blocks * length))
        xb[:, :num] = x
        xb = xb.reshape(channels, blocks, length)
        ends = xb @ self._control  # (channels, blocks, 2): each block's state from zero
        ends[:, 0] += state @ self._powers[length].T
        step, shift = self._powers[length], 1
        while shift < blocks:  # inclusive scan of s_(k+1) = A^L s_k + u_k
            ends[:, shift:] = ends[:, shift:] + ends[:, :-shift] @ step.T
            step, shift = step @ step, 2 * shift
        starts = np.concatenate([state[:, None], ends[:, :-1]], axis=1)
        y = (xb @ self._toeplitz.T + starts @ self._observe.T).reshape(channels, -1)[:, :num]
        rest = num - (blocks - 1) * length  # samples in the last block
        final = (starts[:, -1] @ self._powers[rest].T
                 + xb[:, -1, :rest] @ self._control[length - rest:])
        return y, final


class Cascade:
    """Second-order sections ``sos`` ``(sections, 6)`` (``a0 == 1``) in series, as ``scipy.signal.sosfilt``."""

    def __init__(self, sos: np.ndarray) -> None:
        self.sections = [BlockedBiquad(section[:3], section[3:]) for section in np.asarray(sos, dtype=np.float64)]

    def __call__(self, x: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Filter ``x`` ``(channels, time)`` from ``state`` ``(sections, channels, 2)`` (zeros if ``None``), as
        ``sosfilt(sos, x, axis=-1, zi=state)``; return ``(y, final state)``, ``y`` float64 ``(channels, time)``."""
        x = np.asarray(x, dtype=np.float64)
        state = np.zeros((len(self.sections), x.shape[0], 2)) if state is None else np.asarray(state, np.float64)
        final = np.empty_like(state)
        for i, section in enumerate(self.sections):
            x, final[i] = section(x, state[i])
        return x, final
