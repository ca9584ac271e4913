"""The polynomial of SOFTMAX's float32 exp (kernels/include/edgebuild/f32math.h eb_exp_f32_nonpos).

    python scripts/fit_expf.py

exp(r) on r in [−ln2/2, ln2/2] (widened by 0.05% for the rounding of r) as 1 + r + c2·r² + … + c6·r⁶: c2..c6 by
Lawson's iteration (weighted least squares whose weights move to where the relative error peaks: it converges to the
minimax fit) on 6001 Chebyshev points, then rounded to float32 and printed as exact hex floats with the relative
error of the rounded polynomial (evaluated in double). The kernel's float32 error over every input:
scripts/f32math_ulp.cc.
"""

from __future__ import annotations

import numpy as np

DEGREE = 6


def main() -> None:
    half = float(np.log(2.0)) / 2 * 1.0005
    r = np.cos(np.linspace(0.0, np.pi, 6001)) * half
    y = np.exp(r)
    basis = np.vander(r, DEGREE + 1, increasing=True)[:, 2:]
    target = y - 1.0 - r
    w = np.ones_like(r)
    for _ in range(200):
        sw = np.sqrt(w) / y
        c, *_ = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)
        err = np.abs((basis @ c - target) / y)
        w = w * err
        w /= w.sum()
    c32 = c.astype(np.float32)
    rel = np.max(np.abs((1.0 + r + basis @ c32.astype(np.float64)) / y - 1.0))
    for i, v in enumerate(c32, start=2):
        print(f"c{i} = {float(v).hex()}")
    print(f"relative error of the float32 coefficients: {rel:.3g}")


if __name__ == "__main__":
    main()
