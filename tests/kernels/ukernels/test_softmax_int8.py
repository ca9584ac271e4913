"""int8 SOFTMAX (kernels/ukernels/qs8-softmax/ref.cc through writer -> loader -> executor) against the NumPy int64
oracle of docs/quantization.md (17)-(21), exactly: random rows, rows of equal values, one-hot and two-level rows,
extreme input scales (the multiplier capped at 2^31 − 1; diff_min cutting most differences), row lengths 1 to the
4095 the kernel accepts; and the loader's rules."""

from __future__ import annotations

import numpy as np
import pytest

from edgebuild.ir import DType, Op, OpCode, Program, Tensor
from edgebuild.ir_ops import QuantizeParams
from edgebuild.qmath import SOFTMAX_MAX_COLS, SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP, inv_scale_f32, softmax_params
from tests.helpers import native, run_native
from tests.kernels.ukernels.oracle import run_program
from tests.kernels.ukernels.test_ref_vs_oracle import float_output, int8_input

SCALES = (1e-7, 2.0**-20, 1e-3, 0.0123, 0.0625, 0.1, 0.37, 1.0, 8.0, 32.0, 1e4)


def softmax_program(shape: tuple[int, ...], params: tuple[int, int, int], out_scale: float = SOFTMAX_OUT_SCALE,
                    out_zp: int = SOFTMAX_OUT_ZP, in_scale: float = 1.0) -> Program:  # fmt: skip
    """float x -> QUANTIZE (in_scale, zero point 0) -> SOFTMAX (params) -> DEQUANTIZE."""
    prog = Program()
    _, q = int8_input(prog, shape, 0)
    prog.tensors[q].scale = in_scale
    prog.ops[-1].params = QuantizeParams(to_nhwc=False, inv_scale=float(inv_scale_f32(in_scale))).encode()
    y = prog.add_tensor(Tensor("qy", DType.INT8, shape, out_scale, out_zp))
    prog.add_op(Op(OpCode.SOFTMAX, "softmax", [q], [y], list(params)))
    float_output(prog, y)
    return prog


def rows(rng: np.random.Generator, cols: int) -> np.ndarray:
    """Row patterns that break softmax kernels: uniform random, all equal (at both ends and in the middle), one-hot
    (127 among −128), two levels, a narrow band near the max, a ramp."""
    r = [
        rng.integers(-128, 128, cols),
        np.full(cols, -128),
        np.full(cols, 127),
        np.full(cols, 3),
        np.where(np.arange(cols) == cols // 2, 127, -128),
        np.where(rng.random(cols) < 0.5, 100, 99),
        rng.integers(120, 128, cols),
        np.arange(cols) % 256 - 128,
    ]
    return np.stack(r).astype(np.float32)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("cols", [1, 2, 3, 7, 16, 33, 128, 257])
def test_softmax_int8_exact(scale: float, cols: int) -> None:
    rng = np.random.default_rng(cols * 7919 + int(scale * 1e6) % 1000)
    x = np.concatenate([rows(rng, cols), rng.integers(-128, 128, (5, cols)).astype(np.float32)])
    prog = softmax_program(x.shape, softmax_params(scale))
    got, want = run_native(prog, [x])[0], run_program(prog, [x])[0]
    np.testing.assert_array_equal(got, want)


def test_softmax_int8_every_pair() -> None:
    """Every (max, other) code pair in rows of two, at scales that put diff_min inside [−255, 0] and outside it."""
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128))
    x = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.float32)
    for scale in (0.01, 0.5, 4.0):
        prog = softmax_program(x.shape, softmax_params(scale))
        np.testing.assert_array_equal(run_native(prog, [x])[0], run_program(prog, [x])[0])


def test_softmax_int8_longest_row() -> None:
    """4095 equal values: the largest row sum (4095 · 2^19) that stays in int32, and a random row of that length."""
    rng = np.random.default_rng(4095)
    x = np.stack([np.full(SOFTMAX_MAX_COLS, 5), rng.integers(-128, 128, SOFTMAX_MAX_COLS)]).astype(np.float32)
    prog = softmax_program(x.shape, softmax_params(0.05))
    np.testing.assert_array_equal(run_native(prog, [x])[0], run_program(prog, [x])[0])


def test_softmax_int8_batched_rank() -> None:
    """A 4-D attention-shaped tensor [B, H, L, S]: rows are the last axis."""
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (2, 3, 5, 11)).astype(np.float32)
    prog = softmax_program(x.shape, softmax_params(0.08))
    np.testing.assert_array_equal(run_native(prog, [x])[0], run_program(prog, [x])[0])


@pytest.mark.parametrize(
    "shape, params, out, match",
    [
        ((1, SOFTMAX_MAX_COLS + 1), softmax_params(0.1), (SOFTMAX_OUT_SCALE, -128), "at most 4095"),
        ((1, 8), softmax_params(0.1), (0.01, -128), "writes 1/256"),
        ((1, 8), softmax_params(0.1), (SOFTMAX_OUT_SCALE, 0), "zero point 0"),
        ((1, 8), (1 << 29, 3, -100), (SOFTMAX_OUT_SCALE, -128), "input_mult 536870912"),
        ((1, 8), (1 << 30, 32, 0), (SOFTMAX_OUT_SCALE, -128), "input_shift 32"),
        ((1, 8), (1 << 30, 30, -2), (SOFTMAX_OUT_SCALE, -128), "diff_min"),
        ((1, 8), (1 << 30, 20, 1), (SOFTMAX_OUT_SCALE, -128), "diff_min"),
    ],
)
def test_softmax_int8_loader_rejects(shape, params, out, match) -> None:
    with pytest.raises(Exception, match=match):
        native(softmax_program(shape, params, *out))


def test_softmax_params_match_tflite_rules() -> None:
    """(17): the multiplier is capped at 2^31 − 1 (shift 31, only d = 0 survives); diff_min scales with the shift."""
    assert softmax_params(1e4) == (2**31 - 1, 31, 0)
    m, e, dmin = softmax_params(1.0)
    assert (m, e) == (1 << 30, 27) and dmin == -15  # 2^26 = 2^30 · 2^(27 − 31); floor(31 / 2) = 15
    with pytest.raises(Exception, match="no fixed-point multiplier"):
        softmax_params(2.0**-27)
