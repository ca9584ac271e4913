"""Build-time constants shared by the Cortex-M DSP variants (kernels/ukernels/requant/requant__dsp.h).

`requant_words` gives each channel's fast-form requantization as the kernels read it (eb_dsp_rq: int32 words
k_lo, k_hi, m, n − 1); `mbqm` is docs/quantization.md (5) in exact integers, for tables the build precomputes.
"""

from __future__ import annotations

import numpy as np

FAST_MIN_SHIFT = -23  # the fast form holds for exponents in [-23, -1] (requant__dsp.h: every term fits int64)


def requant_words(multiplier: np.ndarray, shift: np.ndarray, zero_point: int) -> np.ndarray:
    """int32 [n, 4]: K = 2^30 + 2^(n+30) − 2^31 + zp·2^(31+n) (low, high word), m, n − 1 with n = −e; a channel
    outside the fast form (m <= 0, e >= 0, e < −23, or |zp| > 128) gets n − 1 = −1 and the reference's (5)."""
    m = np.asarray(multiplier, dtype=np.int64).reshape(-1)
    e = np.asarray(shift, dtype=np.int64).reshape(-1)
    words = np.zeros((m.size, 4), dtype=np.int64)
    words[:, 2] = m
    words[:, 3] = -1
    for i in range(m.size):
        mi, ei = int(m[i]), int(e[i])
        if mi <= 0 or ei > -1 or ei < FAST_MIN_SHIFT or not -128 <= zero_point <= 128:
            continue
        n = -ei
        k = (1 << 30) + (1 << (n + 30)) - (1 << 31) + zero_point * (1 << (31 + n))
        k &= (1 << 64) - 1
        words[i, 0] = k & 0xFFFFFFFF
        words[i, 1] = k >> 32
        words[i, 3] = n - 1
    return wrap_int32(words)


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of integers to int32 (the kernels' accumulators wrap alike)."""
    return (np.asarray(x, dtype=np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def _sat32(x: int) -> int:
    return max(-(2**31), min(2**31 - 1, x))


def _srdhm(a: int, b: int) -> int:  # (4a): truncating division
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) >> 31
    return _sat32(q if v >= 0 else -q)


def _rdbpot(x: int, n: int) -> int:  # (4b)
    s = max(0, min(62, n))
    mask = (1 << s) - 1
    r = x & mask
    t = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> s) + (1 if r > t else 0)


def mbqm(x: int, m: int, e: int) -> int:
    """docs/quantization.md (5), as edgebuild/requant.h's eb_mbqm (exponents clamped alike)."""
    left = min(e, 32) if e > 0 else 0
    right = (62 if e < -62 else -e) if e < 0 else 0
    return _rdbpot(_srdhm(_sat32(x * (1 << left)), m), right)
