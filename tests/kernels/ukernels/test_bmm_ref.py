"""int8 BATCH_MATMUL (kernels/ukernels/qs8-bmm/ref.cc through writer -> loader -> executor) against the NumPy int64
oracle, exactly (Hypothesis: shapes, transpose_b, zero points, multipliers, clamps, the accumulator's extremes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebuild.ir import DType, Op, OpCode, Program, Tensor
from edgebuild.qmath import quantize_multiplier
from tests.helpers import native, run_native
from tests.kernels.ukernels.oracle import run_program
from tests.kernels.ukernels.test_ref_vs_oracle import codes, float_output, int8_input


def bmm_program(lead, m, k, n, tr, zps, real_mult, act=(-128, 127)) -> Program:
    prog = Program()
    _, qa = int8_input(prog, (*lead, m, k), zps[0])
    _, qb = int8_input(prog, (*lead, n, k) if tr else (*lead, k, n), zps[1])
    y = prog.add_tensor(Tensor("qy", DType.INT8, (*lead, m, n), 1.0, zps[2]))
    mult, shift = quantize_multiplier(real_mult)
    prog.add_op(Op(OpCode.BATCH_MATMUL, "bmm", [qa, qb], [y], [tr, mult, shift, *act]))
    float_output(prog, y)
    return prog


@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=2),
    st.integers(1, 9),
    st.integers(1, 40),
    st.integers(1, 9),
    st.integers(0, 1),
    st.tuples(*(st.integers(-128, 127),) * 3),
    st.floats(1e-5, 0.5),
    st.integers(0, 2**31),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_bmm_int8_exact(lead, m, k, n, tr, zps, real_mult, seed) -> None:
    prog = bmm_program(tuple(lead), m, k, n, tr, zps, real_mult)
    rng = np.random.default_rng(seed)
    shapes = [prog.tensors[t].shape for t in prog.inputs]
    inputs = [codes(rng, s, z) for s, z in zip(shapes, zps[:2])]
    np.testing.assert_array_equal(run_native(prog, inputs)[0], run_program(prog, inputs)[0])


def test_bmm_int8_accumulator_extreme() -> None:
    """K = 33025 products of (−128 − 127)·(−128 − 127): the largest sum the loader accepts, exact in int32."""
    k = 33025
    prog = bmm_program((1,), 1, k, 1, 1, (127, 127, 0), 1e-5)
    inputs = [np.full((1, 1, k), -128 - 127, np.float32), np.full((1, 1, k), -128 - 127, np.float32)]
    np.testing.assert_array_equal(run_native(prog, inputs)[0], run_program(prog, inputs)[0])


def test_bmm_int8_loader_rejects_large_k() -> None:
    prog = bmm_program((1,), 1, 33026, 1, 1, (0, 0, 0), 1e-5)
    with pytest.raises(Exception, match="K = 33026 exceeds 33025"):
        native(prog)
