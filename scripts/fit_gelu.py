"""The GELU coefficients of kernels/include/edgebuild/f32math.h (eb_gelu_f32) and the kernel's float32 error.

    python scripts/fit_gelu.py

R(a) = Φ(−a)·exp(a²/2) on a in [0, 14.5] as P(a)/Q(a), degrees 4 / 5, Q(0) = 1: a linearized least-squares fit
(P − R·Q = 0 weighted by 1/(R·Q), iterated) of mpmath values at 30 digits, coefficients rounded to float32; printed
as exact hex floats with the fit's relative error. Then eb_gelu_f32 is replayed in numpy float32 (every operation
rounded to float32 as in the kernel, no FMA) over every 37th positive float32 bit pattern and its negation, and the
error is measured in ulps of the correctly rounded result against x·Φ(x) in double (scipy.special.ndtr).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
from scipy.special import ndtr

mp.mp.dps = 30
A = 14.5  # a = min(|x|, 14.5): GELU(x) rounds to −0 below −14.2 and to x above 5.4
f32 = np.float32


def fit() -> tuple[np.ndarray, np.ndarray, float]:
    g = np.linspace(0.0, A, 4000)
    y = np.array([float(mp.ncdf(-mp.mpf(float(v))) * mp.exp(mp.mpf(float(v)) ** 2 / 2)) for v in g])
    va = np.vander(g, 6, increasing=True)
    w = 1 / y
    for _ in range(3):
        m = np.hstack([va[:, :5], -(y[:, None] * va[:, 1:6])])
        sol, *_ = np.linalg.lstsq(m * w[:, None], y * w, rcond=None)
        p, q = sol[:5], np.concatenate([[1.0], sol[5:]])
        w = 1 / (y * np.polyval(q[::-1], g))
    p, q = p.astype(f32), q.astype(f32)
    approx = np.polyval(p[::-1].astype(float), g) / np.polyval(q[::-1].astype(float), g)
    return p, q, float(np.max(np.abs(approx / y - 1)))


def gelu(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """eb_gelu_f32, operation by operation."""
    a = np.minimum(np.abs(x), f32(A))
    a_hi = (a.view(np.int32) & np.int32(-4096)).view(f32)
    a_lo = a - a_hi
    h = f32(-0.5) * (a_hi * a_hi)
    l = f32(-0.5) * (a_lo * (a + a_hi))
    kr = h * f32(1.4426950408889634) + f32(12582912.0)
    kf = kr - f32(12582912.0)
    k = kr.view(np.int32) - np.int32(0x4B400000)
    r = ((h - kf * f32(0.693145751953125)) - kf * f32(1.428606765330187045e-06)) + l
    e = np.full_like(x, f32(1 / 5040))
    for c in (1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1.0, 1.0):
        e = e * r + f32(c)
    pp = np.full_like(x, p[4])
    for c in p[3::-1]:
        pp = pp * a + c
    qq = np.full_like(x, q[5])
    for c in q[4::-1]:
        qq = qq * a + c
    m = (pp / qq) * e
    k1 = k >> 1
    k2 = k - k1
    s = (np.where(x < 0, x * m, m) * ((k1 + 127) << 23).view(f32)) * ((k2 + 127) << 23).view(f32)
    y = np.where(x < 0, s, x * (f32(1) - s))
    return np.where(x < -f32(A), x * f32(0), y)


def main() -> None:
    p, q, err = fit()
    print(f"P: {', '.join(float(v).hex() for v in p)}")
    print(f"Q: {', '.join(float(v).hex() for v in q)}")
    print(f"max relative error of P/Q: {err:.2g}")
    np.seterr(all="ignore")
    pos = np.arange(1, 0x7F800000, 37, dtype=np.int64).astype(np.uint32).view(f32)
    for name, xs in (("x < 0", -pos[pos <= 15]), ("x > 0", pos)):
        want = xs.astype(np.float64) * ndtr(xs.astype(np.float64))
        ulp = np.abs(np.spacing(want.astype(f32))).astype(np.float64)
        e = np.abs(gelu(xs, p, q).astype(np.float64) - want) / ulp
        big = np.abs(want) >= 1e-30
        print(
            f"{name}: {len(xs)} inputs; |GELU| >= 1e-30: max {e[big].max():.2f} ulp, "
            f"{np.mean(e[big] > 1) * 100:.2f}% above 1 ulp; below: max {e[~big].max() if (~big).any() else 0:.2f} ulp"
        )


if __name__ == "__main__":
    main()
