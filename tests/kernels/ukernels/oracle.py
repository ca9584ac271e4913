"""A NumPy int64 interpreter of edgebuild IR: the second, independent implementation of docs/quantization.md.

Written from the equations, not from the C++: the reference kernels must agree with it exactly.

Float fallback ops (float32 output, docs/artifact.md "Float fallback") are computed in float64 from the same
definitions (`_float_op`) and rounded once to float32; the f32 reference kernels agree with them within a stated
tolerance (tests/kernels/ukernels/test_f32_ref.py), not exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from edgebuild.ir import DType, OpCode, Program, UnaryFunc

I32_MIN, I32_MAX = -(2**31), 2**31 - 1


def _trunc_div(a: np.ndarray, d: int) -> np.ndarray:
    return np.where(a >= 0, a // d, -((-a) // d))


def srdhm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(4a)"""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    out = _trunc_div(ab + nudge, 1 << 31)
    return np.where((a == I32_MIN) & (b == I32_MIN), I32_MAX, out)


def rdbpot(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(4b)"""
    x = np.asarray(x, np.int64)
    n = np.asarray(n, np.int64)
    mask = (np.int64(1) << n) - 1
    r = x & mask
    t = (mask >> 1) + (x < 0)
    return (x >> n) + (r > t)


def mbqm(x: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(5)"""
    e = np.asarray(e, np.int64)
    left = np.maximum(e, 0)
    right = np.maximum(-e, 0)
    shifted = np.clip(np.asarray(x, np.int64) * (np.int64(1) << left), I32_MIN, I32_MAX)
    return rdbpot(srdhm(shifted, m), right)


def _sat32(x: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x, np.int64), I32_MIN, I32_MAX)


# docs/quantization.md (19)-(20): gemmlowp's constants (Q0.31 unless noted)
EXP_MINUS_EIGHTH, ONE_THIRD = 1895147668, 715827883
EXP_MINUS_POW2 = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)  # exp(-2^j), j = -2..4
NEWTON_A, NEWTON_B = 1515870810, -1010580540  # 48/17 and -32/17 in Q2.29


def softmax_exp(a: np.ndarray) -> np.ndarray:
    """(19): exp(a · 2^-26) in Q0.31, a <= 0 (elementwise)."""
    a = np.asarray(a, np.int64)
    r = (a & ((1 << 24) - 1)) - (1 << 24)
    t = r * 32 + (1 << 28)
    t2 = srdhm(t, t)
    t3, t4 = srdhm(t2, t), srdhm(t2, t2)
    poly = rdbpot(srdhm(rdbpot(t4, 2) + t3, ONE_THIRD) + t2, 1)
    e = EXP_MINUS_EIGHTH + srdhm(EXP_MINUS_EIGHTH, t + poly)
    whole = r - a
    for j, k in enumerate(EXP_MINUS_POW2):
        e = np.where((whole >> (24 + j)) & 1, srdhm(e, k), e)
    return np.where(a == 0, I32_MAX, e)


def softmax_reciprocal(total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(20): (1 / total as Q0.31 of the normalized sum, bits over unit) for Q12.19 row sums in [1, 2^31)."""
    total = np.asarray(total, np.int64)
    # leading zeros of the 32-bit total (log2 is exact enough below 2^31)
    h = 31 - np.floor(np.log2(total)).astype(np.int64)
    z = ((total << h) & 0xFFFFFFFF) - (1 << 31)
    half = (z + I32_MAX + 1) // 2  # z >= 0: rounding the half sum away from zero is rounding up
    x = NEWTON_A + srdhm(half, NEWTON_B)
    for _ in range(3):
        x = x + _sat32(srdhm(x, (1 << 29) - srdhm(half, x)) * 4)
    return _sat32(x * 2), 12 - h


def softmax_int8(q: np.ndarray, mult: int, shift: int, diff_min: int) -> np.ndarray:
    """(17)-(21) over the last axis, one element at a time (no table): int8 codes of scale 1/256, zero point -128."""
    x = np.asarray(q, np.int64)
    d = x - x.max(axis=-1, keepdims=True)
    ok = d >= diff_min
    e = softmax_exp(srdhm(np.where(ok, d, 0) * (1 << shift), mult))
    total = np.sum(np.where(ok, rdbpot(e, 12), 0), axis=-1, keepdims=True)
    inv, over = softmax_reciprocal(total)
    return np.where(ok, np.clip(rdbpot(srdhm(inv, e), over + 23) - 128, -128, 127), -128)


def _round_half_away_div(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(9)"""
    return np.where(a >= 0, (a + n // 2) // n, -((-a + n // 2) // n))


def _clamp8(v: np.ndarray, lo: int = -128, hi: int = 127) -> np.ndarray:
    return np.clip(v, lo, hi).astype(np.int8)


def unary_f32(func: UnaryFunc, x: np.ndarray, alpha: np.float32, slope: np.ndarray | None) -> np.ndarray:
    """The float functions in float64 (the float32 kernel is held to them with a tolerance)."""
    erf = np.vectorize(math.erf)

    v = x.astype(np.float64)
    if func == UnaryFunc.HARDSWISH:
        y = v * np.clip(v + 3, 0, 6) / 6
    elif func == UnaryFunc.HARDSIGMOID:
        y = np.clip(v + 3, 0, 6) / 6
    elif func == UnaryFunc.SIGMOID:
        y = 1 / (1 + np.exp(-v))
    elif func == UnaryFunc.SILU:
        y = v / (1 + np.exp(-v))
    elif func == UnaryFunc.GELU:
        y = 0.5 * v * (1 + erf(v / np.sqrt(2)))
    elif func == UnaryFunc.GELU_TANH:
        y = 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))
    elif func == UnaryFunc.TANH:
        y = np.tanh(v)
    elif func == UnaryFunc.LEAKY_RELU:
        y = np.where(v > 0, v, v * float(alpha))
    elif func == UnaryFunc.RECIPROCAL:
        with np.errstate(divide="ignore"):
            y = 1 / v  # a float64 quotient rounded to float32 is the correctly rounded float32 quotient
    elif func == UnaryFunc.PRELU:
        assert slope is not None
        s = slope.astype(np.float64)
        y = np.where(v > 0, v, v * (s[0] if s.size == 1 else s))
    elif func.name in _NUMPY_F64:
        with np.errstate(all="ignore"):
            y = _NUMPY_F64[func.name](v, float(alpha))
    else:
        raise AssertionError(f"the oracle has no {func.name}: add it here")
    return y.astype(np.float32)


def _round_half_even(v: np.ndarray, _a: float) -> np.ndarray:
    return np.round(v)  # numpy rounds half to even, as torch.round


# issue 16's functions, in float64 (the kernel computes in double and rounds once); the *_SCALAR forms take alpha
_NUMPY_F64: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "EXP": lambda v, a: np.exp(v),
    "LOG": lambda v, a: np.log(v),
    "LOG2": lambda v, a: np.log2(v),
    "LOG10": lambda v, a: np.log10(v),
    "LOG1P": lambda v, a: np.log1p(v),
    "EXPM1": lambda v, a: np.expm1(v),
    "SQRT": lambda v, a: np.sqrt(v),
    "RSQRT": lambda v, a: 1 / np.sqrt(v),
    "ERF": lambda v, a: np.vectorize(math.erf)(v),
    "SIN": lambda v, a: np.sin(v),
    "COS": lambda v, a: np.cos(v),
    "TAN": lambda v, a: np.tan(v),
    "ASIN": lambda v, a: np.arcsin(v),
    "ACOS": lambda v, a: np.arccos(v),
    "ATAN": lambda v, a: np.arctan(v),
    "SINH": lambda v, a: np.sinh(v),
    "COSH": lambda v, a: np.cosh(v),
    "ASINH": lambda v, a: np.arcsinh(v),
    "ACOSH": lambda v, a: np.arccosh(v),
    "ATANH": lambda v, a: np.arctanh(v),
    "ABS": lambda v, a: np.abs(v),
    "SIGN": lambda v, a: np.sign(v),
    "NEG": lambda v, a: -v,
    "FLOOR": lambda v, a: np.floor(v),
    "CEIL": lambda v, a: np.ceil(v),
    "ROUND": _round_half_even,
    "TRUNC": lambda v, a: np.trunc(v),
    "ELU": lambda v, a: np.where(v > 0, v, a * np.expm1(v)),
    "POW_SCALAR": lambda v, a: np.power(v, a),
    "ADD_SCALAR": lambda v, a: v + a,
    "MUL_SCALAR": lambda v, a: v * a,
    "RSUB_SCALAR": lambda v, a: a - v,
    "DIV_SCALAR": lambda v, a: v / a,
    "RDIV_SCALAR": lambda v, a: a / v,
    "MAX_SCALAR": lambda v, a: np.maximum(v, a),
    "MIN_SCALAR": lambda v, a: np.minimum(v, a),
}


FIXED_FORM = (OpCode.QUANTIZE, OpCode.DEQUANTIZE, OpCode.RESHAPE, OpCode.TRANSPOSE)
# issue 8's CNN ops whose float form run_program computes in its own branch (below)
OWN_FLOAT_FORM = (OpCode.UNARY, OpCode.PAD, OpCode.SLICE, OpCode.RESIZE)


def _pool_windows(h: int, k: int, s: int, p: int, o: int) -> list[tuple[int, int, int]]:
    """(start, end, pool size) per output index, clipped as docs/quantization.md (9)."""
    out = []
    for i in range(o):
        hs = i * s - p
        he = min(hs + k, h + p)
        out.append((max(hs, 0), min(he, h), he - hs))
    return out


def _float_op(op, p, ins: list, out_shape: tuple[int, ...]) -> np.ndarray:
    """The float form of an op in float64 (then rounded to float32 by the caller); `p`: its parameters by name."""
    ins = [None if v is None else np.asarray(v, np.float64) if v.dtype.kind == "f" else v for v in ins]
    oc = op.opcode
    if oc == OpCode.CONV2D:
        x, w, b = ins
        sh, sw, dh, dw, g = p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.groups
        pt, pl, pb, pr = p.pad_top, p.pad_left, p.pad_bottom, p.pad_right
        n, h, wd, c = x.shape
        o, kh, kw, cg = w.shape
        _, oh, ow, _ = out_shape
        xp = np.zeros((n, h + pt + pb, wd + pl + pr, c))
        xp[:, pt : pt + h, pl : pl + wd, :] = x
        y = np.zeros((n, oh, ow, o))
        og = o // g
        for i in range(kh):
            for j in range(kw):
                patch = xp[
                    :, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw
                ]
                for gi in range(g):
                    y[..., gi * og : (gi + 1) * og] += np.einsum(
                        "nhwc,oc->nhwo", patch[..., gi * cg : (gi + 1) * cg], w[gi * og : (gi + 1) * og, i, j]
                    )
        if b is not None:
            y += b
    elif oc == OpCode.FULLY_CONNECTED:
        x, w, b = ins
        y = x.reshape(-1, w.shape[1]) @ w.T + (0.0 if b is None else b)
    elif oc in (OpCode.ADD, OpCode.SUB, OpCode.MUL):  # NumPy broadcasting
        fn = {OpCode.ADD: np.add, OpCode.SUB: np.subtract, OpCode.MUL: np.multiply}[oc]
        y = fn(ins[0], ins[1])
    elif oc == OpCode.CLAMP:
        y = ins[0]
    elif oc in (OpCode.MAX_POOL2D, OpCode.AVG_POOL2D):
        x = ins[0]
        n, h, wd, c = x.shape
        _, oh, ow, _ = out_shape
        y = np.zeros(out_shape)
        kh, kw, sh, sw, ph, pw = p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w
        if oc == OpCode.MAX_POOL2D:
            dh, dw = p.dilation_h, p.dilation_w
            for i in range(oh):
                for j in range(ow):
                    rows = [r for r in (i * sh - ph + a * dh for a in range(kh)) if 0 <= r < h]
                    cols = [q for q in (j * sw - pw + b_ * dw for b_ in range(kw)) if 0 <= q < wd]
                    y[:, i, j, :] = x[:, rows][:, :, cols].max(axis=(1, 2))
        else:
            include = p.count_include_pad
            for i, (hs, he, ph_) in enumerate(_pool_windows(h, kh, sh, ph, oh)):
                for j, (ws, we, pw_) in enumerate(_pool_windows(wd, kw, sw, pw, ow)):
                    count = ph_ * pw_ if include else (he - hs) * (we - ws)
                    y[:, i, j, :] = x[:, hs:he, ws:we, :].sum(axis=(1, 2)) / count
    elif oc == OpCode.CONCAT:
        return np.concatenate(ins, axis=p.axis)
    elif oc == OpCode.BATCH_MATMUL:
        a, b = ins
        bb = np.swapaxes(b, -1, -2) if p.transpose_b else b
        return (a @ bb) * p.alpha
    elif oc == OpCode.SOFTMAX:
        x = ins[0]
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    elif oc == OpCode.LAYER_NORM:
        x, g_, b_ = ins
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + p.eps)
        return y * (1.0 if g_ is None else g_) + (0.0 if b_ is None else b_)
    elif oc == OpCode.EMBEDDING:
        table, ids = ins
        return table[ids.astype(np.int64)]
    else:
        raise NotImplementedError(f"float {oc.name}")
    return np.clip(y.reshape(out_shape), p.lo, p.hi)


def run_program(prog: Program, inputs: list[np.ndarray], keep: bool = False) -> list | dict:
    vals: dict[int, np.ndarray] = {}
    for tid, x in zip(prog.inputs, inputs):
        vals[tid] = np.asarray(x, prog.tensors[tid].dtype.numpy).reshape(prog.tensors[tid].shape)
    for t_id, t in enumerate(prog.tensors):
        if t.data is not None:
            vals[t_id] = t.data
    for op in prog.ops:
        ins = [vals[i] if i >= 0 else None for i in op.inputs]
        yt = prog.tensors[op.outputs[0]]
        p = prog.params_of(op)  # the op's parameters by name (edgebuild/ir_ops.py)
        xt = prog.tensors[op.inputs[0]]
        if yt.dtype == DType.FLOAT32 and op.opcode not in FIXED_FORM + OWN_FLOAT_FORM:
            y = _float_op(op, p, ins, yt.shape)
        elif op.opcode == OpCode.QUANTIZE:
            inv = np.float32(p.inv_scale)
            x = ins[0]
            if p.to_nhwc:
                x = x.transpose(0, 2, 3, 1)
            with np.errstate(invalid="ignore"):
                v = np.rint(x * inv).astype(np.float32) + np.float32(yt.zero_point)
                v = np.fmin(np.fmax(v, np.float32(-128)), np.float32(127))
            y = v.astype(np.int8)
        elif op.opcode == OpCode.DEQUANTIZE:
            y = (ins[0].astype(np.float32) - np.float32(xt.zero_point)) * np.float32(xt.scale)
            if p.to_nchw:
                y = y.transpose(0, 3, 1, 2)
        elif op.opcode == OpCode.CONV2D:
            x, w, b, mult, shift = ins
            sh, sw, dh, dw, g = p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.groups
            pt, pl, pb, pr = p.pad_top, p.pad_left, p.pad_bottom, p.pad_right
            amin, amax = p.act_min, p.act_max
            n, h, wd, c = x.shape
            oc, kh, kw, cg = w.shape
            _, oh, ow, _ = yt.shape
            xp = np.full((n, h + pt + pb, wd + pl + pr, c), xt.zero_point, np.int64)
            xp[:, pt : pt + h, pl : pl + wd, :] = x
            xp -= xt.zero_point
            acc = np.zeros((n, oh, ow, oc), np.int64)
            ocg = oc // g
            for i in range(kh):
                for j in range(kw):
                    patch = xp[
                        :,
                        i * dh : i * dh + (oh - 1) * sh + 1 : sh,
                        j * dw : j * dw + (ow - 1) * sw + 1 : sw,
                        :,
                    ]
                    for gi in range(g):
                        acc[..., gi * ocg : (gi + 1) * ocg] += np.einsum(
                            "nhwc,oc->nhwo",
                            patch[..., gi * cg : (gi + 1) * cg],
                            w[gi * ocg : (gi + 1) * ocg, i, j, :].astype(np.int64),
                        )
            if b is not None:
                acc += b.astype(np.int64)
            y = _clamp8(mbqm(acc, mult.astype(np.int64), shift.astype(np.int64)) + yt.zero_point, amin, amax)
        elif op.opcode == OpCode.FULLY_CONNECTED:
            x, w, b, mult, shift = ins
            amin, amax = p.act_min, p.act_max
            k = w.shape[1]
            acc = (x.reshape(-1, k).astype(np.int64) - xt.zero_point) @ w.astype(np.int64).T
            if b is not None:
                acc += b.astype(np.int64)
            y = _clamp8(mbqm(acc, mult.astype(np.int64), shift.astype(np.int64)) + yt.zero_point, amin, amax)
            y = y.reshape(yt.shape)
        elif op.opcode in (OpCode.ADD, OpCode.SUB):
            ls, am, ash, bm, bsh = p.left_shift, p.a_mult, p.a_shift, p.b_mult, p.b_shift
            om, osh, amin, amax = p.out_mult, p.out_shift, p.act_min, p.act_max
            bt = prog.tensors[op.inputs[1]]
            a2 = mbqm((ins[0].astype(np.int64) - xt.zero_point) * (1 << ls), am, ash)
            b2 = mbqm((ins[1].astype(np.int64) - bt.zero_point) * (1 << ls), bm, bsh)
            total = a2 - b2 if op.opcode == OpCode.SUB else a2 + b2  # broadcasts
            y = _clamp8(mbqm(total, om, osh) + yt.zero_point, amin, amax)
        elif op.opcode == OpCode.MUL:  # (12)
            om, osh, amin, amax = p.out_mult, p.out_shift, p.act_min, p.act_max
            bt = prog.tensors[op.inputs[1]]
            prod = (ins[0].astype(np.int64) - xt.zero_point) * (ins[1].astype(np.int64) - bt.zero_point)
            y = _clamp8(mbqm(prod, om, osh) + yt.zero_point, amin, amax)
        elif op.opcode == OpCode.UNARY and xt.dtype == DType.INT8:  # (11)
            table = ins[1].astype(np.int64)
            idx = ins[0].astype(np.int64) + 128
            y = (
                table[0][idx]
                if table.shape[0] == 1
                else np.take_along_axis(table.T, idx.reshape(-1, table.shape[0]), 0)
            )
            y = y.reshape(yt.shape)
        elif op.opcode == OpCode.UNARY:
            y = unary_f32(p.func, ins[0], np.float32(p.alpha), ins[1])
        elif op.opcode == OpCode.PAD:
            value = p.value if xt.dtype == DType.INT8 else np.float32(p.value)
            y = np.pad(ins[0], list(zip(p.before, p.after)), constant_values=value)
        elif op.opcode == OpCode.SLICE:
            y = ins[0][
                tuple(
                    slice(start, start + (n - 1) * step + 1, step)
                    for start, step, n in zip(p.start, p.step, yt.shape)
                )
            ]
        elif op.opcode == OpCode.RESIZE:
            x, ht, wt = ins
            if xt.dtype == DType.INT8:  # (13): exact rational, rounded half away from zero
                x = x.astype(np.int64)
                lh, lw = ht[:, 2].astype(np.int64)[:, None, None], wt[:, 2].astype(np.int64)[None, :, None]
                one = 1 << 16

                c = {(i, j): x[:, ht[:, i]][:, :, wt[:, j]] for i in (0, 1) for j in (0, 1)}  # corners
                acc = (one - lh) * ((one - lw) * c[0, 0] + lw * c[0, 1]) + lh * (
                    (one - lw) * c[1, 0] + lw * c[1, 1]
                )
                y = _round_half_away_div(acc, np.int64(1 << 32))
            else:
                x = x.astype(np.float64)
                h0, h1, w0, w1 = (t[:, k].astype(np.int64) for t, k in ((ht, 0), (ht, 1), (wt, 0), (wt, 1)))
                lh, lw = (
                    ht[:, 2].astype(np.float64)[:, None, None],
                    wt[:, 2].astype(np.float64)[None, :, None],
                )
                top = (1 - lw) * x[:, h0][:, :, w0] + lw * x[:, h0][:, :, w1]
                bottom = (1 - lw) * x[:, h1][:, :, w0] + lw * x[:, h1][:, :, w1]
                y = ((1 - lh) * top + lh * bottom).astype(np.float32)
        elif op.opcode in (OpCode.MAX_POOL2D, OpCode.AVG_POOL2D):
            x = ins[0].astype(np.int64)
            n, h, wd, c = x.shape
            _, oh, ow, _ = yt.shape
            y = np.zeros(yt.shape, np.int64)
            kh, kw, sh, sw, ph, pw = p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w
            amin, amax = p.act_min, p.act_max
            if op.opcode == OpCode.MAX_POOL2D:
                dh, dw = p.dilation_h, p.dilation_w
                for i in range(oh):
                    for j in range(ow):
                        rows = [i * sh - ph + a * dh for a in range(kh)]
                        cols = [j * sw - pw + b_ * dw for b_ in range(kw)]
                        rows = [r for r in rows if 0 <= r < h]
                        cols = [q for q in cols if 0 <= q < wd]
                        y[:, i, j, :] = x[:, rows][:, :, cols].max(axis=(1, 2))
            else:
                include = p.count_include_pad
                for i in range(oh):
                    for j in range(ow):
                        hs, ws = i * sh - ph, j * sw - pw
                        he, we = min(hs + kh, h + ph), min(ws + kw, wd + pw)
                        pool = (he - hs) * (we - ws)
                        hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, wd)
                        valid = (he - hs) * (we - ws)
                        count = pool if include else valid
                        acc = x[:, hs:he, ws:we, :].sum(axis=(1, 2)) + (count - valid) * xt.zero_point
                        y[:, i, j, :] = _round_half_away_div(acc, np.int64(count))
            y = _clamp8(y, amin, amax)
        elif op.opcode == OpCode.CONCAT:
            parts = []
            for k, (v, tid) in enumerate(zip(ins, op.inputs)):
                m, e = p.input_requant[2 * k], p.input_requant[2 * k + 1]
                if m == 0:
                    parts.append(v)
                else:
                    zx = prog.tensors[tid].zero_point
                    parts.append(_clamp8(mbqm(v.astype(np.int64) - zx, m, e) + yt.zero_point))
            y = np.concatenate(parts, axis=p.axis)
        elif op.opcode == OpCode.RESHAPE:
            y = ins[0].reshape(yt.shape)
        elif op.opcode == OpCode.TRANSPOSE:
            y = np.ascontiguousarray(ins[0].transpose(p.perm))
        elif op.opcode == OpCode.CLAMP:
            y = _clamp8(ins[0], p.act_min, p.act_max)
        elif op.opcode == OpCode.BATCH_MATMUL:
            tr, mult, shift, amin, amax = p.transpose_b, p.mult, p.shift, p.act_min, p.act_max
            bt = prog.tensors[op.inputs[1]]
            a = ins[0].astype(np.int64) - xt.zero_point
            b = ins[1].astype(np.int64) - bt.zero_point
            acc = a @ (np.swapaxes(b, -1, -2) if tr else b)
            y = _clamp8(mbqm(acc, mult, shift) + yt.zero_point, amin, amax)
        elif op.opcode == OpCode.SOFTMAX:  # int8: (17)-(21)
            y = softmax_int8(ins[0], p.input_mult, p.input_shift, p.diff_min)
        else:
            raise NotImplementedError(op.opcode)
        assert y.shape == yt.shape, (op.name, y.shape, yt.shape)
        vals[op.outputs[0]] = y.astype(yt.dtype.numpy)
    if keep:
        return vals
    return [vals[o] for o in prog.outputs]


__all__ = ["DType", "mbqm", "rdbpot", "run_program", "softmax_int8", "srdhm"]
