"""The erf / erfc coefficients of kernels/include/edgebuild/f32math.h (kEbErfP, kEbErfcQ): Chebyshev interpolants
fitted with mpmath at 40 digits, printed as exact hex doubles, with their relative error on a dense grid.

    python scripts/fit_erf.py

P: erf(z)/z as a polynomial of degree 10 in t = 2z² − 1 (z in [0, 1]).
Q: erfc(u)·exp(u²) as a polynomial of degree 14 in t = (1/u − c)/h, 1/u in [1/10.5, 1].
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
from numpy.polynomial import chebyshev as cheb

mp.mp.dps = 40


def fit(f, lo: float, hi: float, deg: int) -> tuple[list[float], float, float, float]:
    c, h = (lo + hi) / 2, (hi - lo) / 2
    n = 400
    t = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    y = np.array([float(f(mp.mpf(c) + mp.mpf(h) * mp.mpf(float(x)))) for x in t])
    mono = cheb.cheb2poly(cheb.chebfit(t, y, deg))
    grid = np.linspace(-1.0, 1.0, 3001)
    approx = np.zeros_like(grid)
    for co in mono[::-1]:
        approx = approx * grid + co
    exact = np.array([float(f(mp.mpf(c) + mp.mpf(h) * mp.mpf(float(x)))) for x in grid])
    return [float(v) for v in mono], c, h, float(np.max(np.abs(approx / exact - 1)))


def main() -> None:
    def erf_over_z(w):
        return mp.erf(mp.sqrt(w)) / mp.sqrt(w) if w > 0 else 2 / mp.sqrt(mp.pi)

    p, _, _, err = fit(erf_over_z, 0.0, 1.0, 10)
    print(f"kEbErfP (t = 2z² - 1), max rel error {err:.2g}:")
    print(", ".join(v.hex() for v in p))
    q, c, h, err = fit(lambda s: mp.erfc(1 / s) * mp.exp(1 / s**2), 1 / 10.5, 1.0, 14)
    print(f"kEbErfcQ (t = (1/u)·{(1 / h).hex()} + {(-c / h).hex()}), max rel error {err:.2g}:")
    print(", ".join(v.hex() for v in q))


if __name__ == "__main__":
    main()
