"""A NumPy int64 interpreter of edgebuild IR: the second, independent implementation of docs/quantization.md.

Written from the equations, not from the C++: the reference kernels must agree with it exactly.
"""

from __future__ import annotations

import math

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
    else:
        assert slope is not None
        s = slope.astype(np.float64)
        y = np.where(v > 0, v, v * (s[0] if s.size == 1 else s))
    return y.astype(np.float32)


def run_program(prog: Program, inputs: list[np.ndarray], keep: bool = False) -> list | dict:
    vals: dict[int, np.ndarray] = {}
    for tid, x in zip(prog.inputs, inputs):
        vals[tid] = np.asarray(x, np.float32).reshape(prog.tensors[tid].shape)
    for t_id, t in enumerate(prog.tensors):
        if t.data is not None:
            vals[t_id] = t.data
    for op in prog.ops:
        ins = [vals[i] if i >= 0 else None for i in op.inputs]
        yt = prog.tensors[op.outputs[0]]
        p = op.params
        xt = prog.tensors[op.inputs[0]]
        if op.opcode == OpCode.QUANTIZE:
            inv = np.array([p[1]], np.int32).view(np.float32)[0]
            x = ins[0]
            if p[0]:
                x = x.transpose(0, 2, 3, 1)
            with np.errstate(invalid="ignore"):
                v = np.rint(x * inv).astype(np.float32) + np.float32(yt.zero_point)
                v = np.fmin(np.fmax(v, np.float32(-128)), np.float32(127))
            y = v.astype(np.int8)
        elif op.opcode == OpCode.DEQUANTIZE:
            y = (ins[0].astype(np.float32) - np.float32(xt.zero_point)) * np.float32(xt.scale)
            if p[0]:
                y = y.transpose(0, 3, 1, 2)
        elif op.opcode == OpCode.CONV2D:
            x, w, b, mult, shift = ins
            sh, sw, pt, pl, pb, pr, dh, dw, g, amin, amax = p
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
            amin, amax = p
            k = w.shape[1]
            acc = (x.reshape(-1, k).astype(np.int64) - xt.zero_point) @ w.astype(np.int64).T
            if b is not None:
                acc += b.astype(np.int64)
            y = _clamp8(mbqm(acc, mult.astype(np.int64), shift.astype(np.int64)) + yt.zero_point, amin, amax)
            y = y.reshape(yt.shape)
        elif op.opcode in (OpCode.ADD, OpCode.SUB, OpCode.MUL) and xt.dtype == DType.FLOAT32:
            fn = {OpCode.ADD: np.add, OpCode.SUB: np.subtract, OpCode.MUL: np.multiply}[op.opcode]
            y = fn(ins[0], ins[1]).astype(np.float32)  # NumPy broadcasting
        elif op.opcode in (OpCode.ADD, OpCode.SUB):
            ls, am, ash, bm, bsh, om, osh, amin, amax = p
            bt = prog.tensors[op.inputs[1]]
            a2 = mbqm((ins[0].astype(np.int64) - xt.zero_point) * (1 << ls), am, ash)
            b2 = mbqm((ins[1].astype(np.int64) - bt.zero_point) * (1 << ls), bm, bsh)
            total = a2 - b2 if op.opcode == OpCode.SUB else a2 + b2  # broadcasts
            y = _clamp8(mbqm(total, om, osh) + yt.zero_point, amin, amax)
        elif op.opcode == OpCode.MUL:  # (12)
            om, osh, amin, amax = p
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
            y = unary_f32(UnaryFunc(p[0]), ins[0], np.array([p[1]], np.int32).view(np.float32)[0], ins[1])
        elif op.opcode == OpCode.PAD:
            r = len(xt.shape)
            value = p[2 * r] if xt.dtype == DType.INT8 else np.array([p[2 * r]], np.int32).view(np.float32)[0]
            y = np.pad(ins[0], [(p[d], p[r + d]) for d in range(r)], constant_values=value)
        elif op.opcode == OpCode.SLICE:
            r = len(xt.shape)
            y = ins[0][
                tuple(slice(p[d], p[d] + (yt.shape[d] - 1) * p[r + d] + 1, p[r + d]) for d in range(r))
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
            if op.opcode == OpCode.MAX_POOL2D:
                kh, kw, sh, sw, ph, pw, dh, dw, amin, amax = p
                for i in range(oh):
                    for j in range(ow):
                        rows = [i * sh - ph + a * dh for a in range(kh)]
                        cols = [j * sw - pw + b_ * dw for b_ in range(kw)]
                        rows = [r for r in rows if 0 <= r < h]
                        cols = [q for q in cols if 0 <= q < wd]
                        y[:, i, j, :] = x[:, rows][:, :, cols].max(axis=(1, 2))
            else:
                kh, kw, sh, sw, ph, pw, include, amin, amax = p
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
            axis = p[0]
            parts = []
            for k, (v, tid) in enumerate(zip(ins, op.inputs)):
                m, e = p[1 + 2 * k], p[2 + 2 * k]
                if m == 0:
                    parts.append(v)
                else:
                    zx = prog.tensors[tid].zero_point
                    parts.append(_clamp8(mbqm(v.astype(np.int64) - zx, m, e) + yt.zero_point))
            y = np.concatenate(parts, axis=axis)
        elif op.opcode == OpCode.RESHAPE:
            y = ins[0].reshape(yt.shape)
        elif op.opcode == OpCode.TRANSPOSE:
            y = np.ascontiguousarray(ins[0].transpose(p))
        elif op.opcode == OpCode.CLAMP:
            y = _clamp8(ins[0], p[0], p[1])
        else:
            raise NotImplementedError(op.opcode)
        assert y.shape == yt.shape, (op.name, y.shape, yt.shape)
        vals[op.outputs[0]] = y.astype(yt.dtype.numpy)
    if keep:
        return vals
    return [vals[o] for o in prog.outputs]


__all__ = ["DType", "mbqm", "rdbpot", "run_program", "srdhm"]
