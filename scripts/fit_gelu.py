"""The GELU coefficients of kernels/include/edgebuild/f32math.h (eb_gelu_f32).

    python scripts/fit_gelu.py

eb_gelu_f32 computes Φ(−a) = exp(−a²/2) · R(a), a = min(|x|, 14.5), from two fits printed here as exact hex floats:

- R(a)·√(2π) = h2(a) / (a·h2(a) + h1(a)), h1 of degree 3, h2 of degree 4 on [0, 14.5]: h(a) = 1/(√(2π)·R(a)) − a is
  fitted as h1/h2 (linearized least squares on mpmath values at 30 digits, then Lawson's iteration towards the minimax
  relative error of R), h2(0) = ν and h1(0) = float32(ν·2/√(2π)) fixed (R(0) = 1/2); h2 rounded to float32, then h1
  refitted to the rounded h2 and rounded.
- e(ρ) = exp(−ρ/2) · 2^-27/√(2π) on ρ in [−0.70, 0.83] (ρ = a² + 2k·ln2, the kernel's reduced argument times −2,
  plus the low part of a²) as a degree-6 polynomial: c0 = float32(2^-27/√(2π)), then each next coefficient by
  Lawson's iteration with the earlier ones fixed at their float32 values.

ν (in [1.5, 2), a multiple of 1/256) is the one for which the kernel's first steps at a = 0 give m = (ν·c0)/h1(0) =
2^-28 exactly (so GELU(x) = x/2 rounded once for tiny x) with h1(0)'s rounding closest to c0's. The kernel's error
over every float32 input: scripts/f32math_ulp.cc (`/tmp/ulp 1 gelu`), quoted in docs/artifact.md "Float functions".
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 30
A = 14.5  # a = min(|x|, 14.5): Φ(−14.5)·2^5 rounds to 0 in float32
RHO = (-0.70, 0.83)  # ρ = t + 2k·ln2 + l: |t + 2k·ln2| <= ln2 (and rounding), 0 <= l < 0.114
f32 = np.float32
S2P = float(mp.sqrt(2 * mp.pi))
SC = 2.0**-27 / S2P  # e's scale: m = Φ(−a)·2^(−k−32), 2^(k+32) a normal float for k >= −152
H0 = 2 / S2P  # h(0)


def lawson(basis: np.ndarray, target: np.ndarray, scale: np.ndarray, iters: int = 300) -> np.ndarray:
    """Coefficients c minimizing max |(basis @ c − target) · scale| (weighted least squares, weights moved to the
    peaks of the error)."""
    w = np.ones(len(target))
    for _ in range(iters):
        sw = np.sqrt(w) * scale
        c, *_ = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)
        err = np.abs((basis @ c - target) * scale)
        w = w * err
        w /= w.sum()
    return c


def pick_nu() -> float:
    c0 = f32(SC)
    best = None
    for nu in np.arange(1.5, 2.0, 1 / 256):
        h10 = f32(nu * H0)
        if f32(f32(f32(nu) * c0) / h10) == f32(2.0**-28):
            d = abs((float(h10) / (nu * H0) - 1) - (float(c0) / SC - 1))
            if best is None or d < best[0]:
                best = (d, float(nu))
    assert best is not None
    return best[1]


def fit_r(nu: float) -> tuple[np.ndarray, np.ndarray, float]:
    g = (1 - np.cos(np.linspace(0, np.pi, 6000))) / 2 * A
    rm = [mp.ncdf(-mp.mpf(float(v))) * mp.exp(mp.mpf(float(v)) ** 2 / 2) for v in g]
    h = np.array([float(1 / (r * S2P) - mp.mpf(float(v))) for r, v in zip(rm, g)])
    r = np.array([float(v) for v in rm])

    def r_of(c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
        h2 = np.polyval(c2[::-1], g)
        return h2 / (g * h2 + np.polyval(c1[::-1], g)) / S2P

    va = np.vander(g, 5, increasing=True)
    w = 1 / (g + h)
    best = None
    for it in range(100):
        m = np.hstack([va[:, 1:4], -(h[:, None] * va[:, 1:5])])
        sol, *_ = np.linalg.lstsq(m * w[:, None], (h - H0) * w, rcond=None)
        c1, c2 = np.concatenate([[H0], sol[:3]]), np.concatenate([[1.0], sol[3:]])
        err = np.abs(r_of(c1, c2) / r - 1)
        if best is None or err.max() < best[0]:
            best = (err.max(), c1, c2)
        h2 = np.polyval(c2[::-1], g)
        w = 1 / ((g + h) * h2) if it < 3 else w * (err / err.max()) ** 0.5
    _, c1, c2 = best
    c2f = (c2 * nu).astype(f32).astype(float)
    h2 = np.polyval(c2f[::-1], g)
    h10 = float(f32(nu * H0))
    c = lawson(np.vander(g, 4, increasing=True)[:, 1:], h * h2 - h10, 1 / (g * h2 + h * h2))
    c1f = np.concatenate([[h10], c.astype(f32).astype(float)])
    return c1f, c2f, float(np.abs(r_of(c1f, c2f) / r - 1).max())


def fit_e() -> tuple[np.ndarray, float]:
    lo, hi = RHO
    rho = np.cos(np.linspace(0, np.pi, 20001)) * (hi - lo) / 2 + (hi + lo) / 2
    y = np.exp(-rho / 2) * SC
    b = np.vander(rho, 7, increasing=True)
    fixed = [float(f32(SC))]
    for j in range(1, 7):
        c = lawson(b[:, j:], y - b[:, :j] @ np.array(fixed), 1 / y)
        fixed.append(float(f32(c[0])))
    ce = np.array(fixed)
    return ce, float(np.abs(b @ ce / y - 1).max())


def hexes(v: np.ndarray) -> str:
    return ", ".join(float(c).hex() for c in v)


def main() -> None:
    nu = pick_nu()
    c1, c2, err_r = fit_r(nu)
    ce, err_e = fit_e()
    print(f"nu = {nu}")
    print(f"h1 (a^0..a^3): {hexes(c1)}")
    print(f"h2 (a^0..a^4): {hexes(c2)}")
    print(f"max relative error of R with these float32 coefficients: {err_r:.3g}")
    print(f"e (rho^0..rho^6): {hexes(ce)}")
    print(f"max relative error of e with these float32 coefficients: {err_e:.3g}")


if __name__ == "__main__":
    main()
