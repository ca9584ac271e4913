"""Shapes that break kernels (STYLE.md), as small programs: QUANTIZE -> one CONV2D / FULLY_CONNECTED -> DEQUANTIZE.

Shared by the per-ISA tests: each program is run on the reference path and on an optimized path and the outputs
must be equal bit for bit. Unit scales make the float inputs exactly the int8 codes chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor
from edgebuild.qmath import f32_bits, quantize_multiplier, softmax_params
from tests.kernels.ukernels.test_ref_vs_oracle import float_output, int8_input

# Tile sizes of the registered kernels: m (rows) 1, 2, 4, 8; n (columns) 4, 8, 32; k steps 4, 8.
# 1 .. 3 tiles past each, primes, and one either side of powers of two.
FC_M = (1, 2, 3, 5, 8, 9, 17, 25)
FC_N = (1, 3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 65, 97)
FC_K = (1, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65, 127, 129)


@dataclass
class Case:
    name: str
    program: Program
    inputs: list[np.ndarray]


def _requant(rng: np.random.Generator, n: int, max_real: float = 4.0) -> tuple[list[int], list[int]]:
    # Real multipliers of conv/fc layers: mostly (1e-4, 1); a few above 1 (left shifts) and near the extremes.
    # max_real < 0.5: every exponent negative (right >= 1), the columns the rq64 GEMM epilogues take.
    reals = np.exp(rng.uniform(np.log(1e-5), np.log(max_real), size=n))
    ms = [quantize_multiplier(float(r)) for r in reals]
    return [m for m, _ in ms], [e for _, e in ms]


def _codes(rng: np.random.Generator, shape: tuple[int, ...], zp: int, all_min: bool = False) -> np.ndarray:
    q = np.full(shape, -128) if all_min else rng.integers(-128, 128, size=shape)
    return (q - zp).astype(np.float32)


def _act(rng: np.random.Generator) -> tuple[int, int]:
    if rng.random() < 0.5:
        return -128, 127
    lo = int(rng.integers(-128, 100))
    return lo, int(rng.integers(lo, 128))


def fc_case(m: int, n: int, k: int, seed: int, *, extreme: bool = False, max_real: float = 4.0) -> Case:
    rng = np.random.default_rng(seed)
    zx = 127 if extreme else int(rng.integers(-128, 128))
    zy = int(rng.integers(-128, 128))
    prog = Program()
    _, q = int8_input(prog, (m, k), zx)
    w = np.where(rng.random((n, k)) < 0.5, 127, -127) if extreme else rng.integers(-127, 128, size=(n, k))
    wt = prog.add_constant("w", w, DType.INT8)
    bias = prog.add_constant("b", rng.integers(-(2**20), 2**20, size=n), DType.INT32) if seed % 3 else -1
    mult, shift = _requant(rng, n, max_real)
    m_id, s_id = prog.add_constant("m", mult, DType.INT32), prog.add_constant("s", shift, DType.INT32)
    y = prog.add_tensor(Tensor("fc", DType.INT8, (m, n), 1.0, zy))
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [q, wt, bias, m_id, s_id], [y], list(_act(rng))))
    float_output(prog, y)
    tag = ("-extreme" if extreme else "") + (f"-below{max_real}" if max_real < 4.0 else "")
    return Case(f"fc-m{m}-n{n}-k{k}{tag}", prog, [_codes(rng, (m, k), zx, extreme)])


def conv_case(
    *,
    c: int,
    oc: int,
    k: int,
    stride: int = 1,
    pad: int = 0,
    groups: int = 1,
    dilation: int = 1,
    hw: tuple[int, int] = (7, 6),
    batch: int = 1,
    seed: int = 0,
    extreme: bool = False,
    pads: tuple[int, int, int, int] | None = None,
    requant: tuple[list[int], list[int], list[int]] | None = None,
    legacy: bool = False,
) -> Case:
    """`pads` (top, left, bottom, right) overrides the symmetric `pad`; `requant` = (bias, mult, shift) per output
    channel overrides the drawn ones. One input channel per group (groups > 1) is a DEPTHWISE_CONV2D, as the lowering
    writes it; `legacy` keeps it a CONV2D with groups = C, as a format 1.0 / 1.1 file says it."""
    rng = np.random.default_rng(seed)
    h, w_ = hw
    zx = 127 if extreme else int(rng.integers(-128, 128))
    zy = int(rng.integers(-128, 128))
    pt, pl, pb, pr = pads if pads is not None else (pad, pad, pad, pad)
    oh = (h + pt + pb - dilation * (k - 1) - 1) // stride + 1
    ow = (w_ + pl + pr - dilation * (k - 1) - 1) // stride + 1
    prog = Program()
    _, q = int8_input(prog, (batch, h, w_, c), zx, Layout.NHWC)
    shape = (oc, k, k, c // groups)
    wv = np.where(rng.random(shape) < 0.5, 127, -127) if extreme else rng.integers(-127, 128, size=shape)
    wt = prog.add_constant("w", wv, DType.INT8)
    bias = prog.add_constant("b", rng.integers(-(2**20), 2**20, size=oc), DType.INT32) if seed % 3 else -1
    mult, shift = _requant(rng, oc)
    if requant is not None:
        bias = prog.add_constant("b", requant[0], DType.INT32)
        mult, shift = requant[1], requant[2]
    m_id, s_id = prog.add_constant("m", mult, DType.INT32), prog.add_constant("s", shift, DType.INT32)
    y = prog.add_tensor(Tensor("conv", DType.INT8, (batch, oh, ow, oc), 1.0, zy, Layout.NHWC))
    lo, hi = _act(rng)
    depthwise = groups > 1 and c == groups and not legacy
    window = [stride, stride, pt, pl, pb, pr, dilation, dilation]
    params = window + ([] if depthwise else [groups]) + [lo, hi]
    opcode = OpCode.DEPTHWISE_CONV2D if depthwise else OpCode.CONV2D
    prog.add_op(Op(opcode, "conv", [q, wt, bias, m_id, s_id], [y], params))
    float_output(prog, y)
    p_name = f"p{pad}" if pads is None else "p" + "-".join(map(str, pads))
    kind = "dwconv" if depthwise else "conv"
    name = f"{kind}-c{c}-oc{oc}-k{k}-s{stride}-{p_name}-g{groups}-d{dilation}-{h}x{w_}-b{batch}"
    return Case(name + ("-extreme" if extreme else ""), prog, [_codes(rng, (batch, h, w_, c), zx, extreme)])


def add_case(count: int, seed: int, *, extreme: bool = False, edge: bool = False) -> Case:
    """ADD of two [count] tensors; `extreme`: all -128 codes against zero points of 127 and loader-valid parameters
    that saturate every sat32 of docs/quantization.md (7) (left shift 24, positive exponents). `edge`: the largest
    parameters for which the optimized kernels skip the input-side sat32s (left shift 22, multipliers 2^31 − 1,
    exponents 0) with both inputs 255 from their zero points, the same sign."""
    rng = np.random.default_rng(seed)
    za, zb, zy = (127, 127, -128) if extreme else (int(v) for v in rng.integers(-128, 128, size=3))
    if edge:  # both inputs at the same extreme: |a − zp_a + b − zp_b| reaches 510
        za = zb = 127 if seed % 2 else -128
    prog = Program()
    _, a = int8_input(prog, (count,), za)
    _, b = int8_input(prog, (count,), zb)
    if edge:
        ls, (am, ae), (bm, be) = 22, (2**31 - 1, 0), (2**31 - 1, 0)
        om, oe = int(rng.integers(2**30, 2**31)), int(rng.integers(-31, 1))
    elif extreme:
        ls = 24
        am, ae = int(rng.integers(2**30, 2**31)), int(rng.integers(-2, 31))
        bm, be = int(rng.integers(2**30, 2**31)), int(rng.integers(-2, 31))
        om, oe = int(rng.integers(2**30, 2**31)), int(rng.integers(-31, 31))
    else:
        sa, sb, sy = (float(v) for v in np.exp(rng.uniform(np.log(1e-3), 0.0, size=3)))
        twice = 2 * max(sa, sb)
        ls = 20
        (am, ae), (bm, be) = quantize_multiplier(sa / twice), quantize_multiplier(sb / twice)
        om, oe = quantize_multiplier(twice / ((1 << 20) * sy))
    lo, hi = _act(rng)
    y = prog.add_tensor(Tensor("add", DType.INT8, (count,), 1.0, zy))
    prog.add_op(Op(OpCode.ADD, "add", [a, b], [y], [ls, am, ae, bm, be, om, oe, lo, hi]))
    float_output(prog, y)
    xa, xb = _codes(rng, (count,), za, extreme), _codes(rng, (count,), zb, extreme)
    if extreme:  # half the lanes at +127 so both saturation directions occur
        xa[1::2], xb[::3] = 127 - za, 127 - zb
    if edge:  # a − zp_a = b − zp_b = ∓255 on every 6th lane, one of them on others
        far = -128 if za == 127 else 127
        xa[::2], xb[::3] = far - za, far - zb
    tag = "-extreme" if extreme else "-edge" if edge else ""
    return Case(f"add-{count}{tag}", prog, [xa, xb])


def add_pairs_case(
    tag: str,
    seed: int,
    ls: int,
    a: tuple[int | None, int],
    b: tuple[int | None, int],
    y: tuple[int | None, int],
    zps: tuple[int, int, int],
    act: tuple[int, int] = (-128, 127),
) -> Case:
    """ADD of every (a, b) int8 pair (65 536 lanes, then 19 more for a vector tail) with the given left shift,
    (multiplier, exponent) per input and output (None: a random multiplier in [2^30, 2^31)) and zero points
    (a, b, y). For the boundaries of the avx512vnni kernel's specialised loop (its comment): left shift 8 and 22,
    input exponent 0 with m = 2^30 (the larger input scale) or any m, exponents down to -31, and the output shift /
    zero point at the edge of what it folds into int32."""
    rng = np.random.default_rng(seed)

    def mult(me: tuple[int | None, int]) -> tuple[int, int]:
        return (int(rng.integers(2**30, 2**31)) if me[0] is None else me[0]), me[1]

    (am, ae), (bm, be), (om, oe) = mult(a), mult(b), mult(y)
    za, zb, zy = zps
    n = 65536 + 19
    prog = Program()
    _, qa = int8_input(prog, (n,), za)
    _, qb = int8_input(prog, (n,), zb)
    out = prog.add_tensor(Tensor("add", DType.INT8, (n,), 1.0, zy))
    prog.add_op(Op(OpCode.ADD, "add", [qa, qb], [out], [ls, am, ae, bm, be, om, oe, *act]))
    float_output(prog, out)
    codes = np.arange(65536)
    xa = np.concatenate([codes % 256 - 128, rng.integers(-128, 128, size=19)])
    xb = np.concatenate([codes // 256 - 128, rng.integers(-128, 128, size=19)])
    return Case(f"add-pairs-{tag}", prog, [(xa - za).astype(np.float32), (xb - zb).astype(np.float32)])


def add_pairs_sweep() -> list[Case]:
    """add_pairs_case at the boundaries: shifts of the lowering (20) and the ends of the specialised range (8, 22)
    and just outside them (7, 23); multipliers 2^30 and 2^31 − 1; exponents 0, -1, -30, -31; output exponent where
    510 · 2^L + 129 · 2^r_y < 2^31 stops holding (L = 20: r_y 23 / 24; L = 22: 15 / 16); zero points at -128 / 127;
    multipliers that put exact ties in front of each rounding (a nudge or correction off by one changes outputs)."""
    top, t = 2**31 - 1, 2**30
    return [
        add_pairs_case("ls20-lowering", 1, 20, (t, 0), (None, -1), (None, -19), (-5, 3, -10)),
        add_pairs_case("ls20-lin-b", 2, 20, (None, -2), (t, 0), (None, -18), (127, -128, 127), (-20, 100)),
        add_pairs_case("ls20-both-lin", 3, 20, (t, 0), (t, 0), (None, -19), (-128, 127, -128)),
        add_pairs_case("ls8", 4, 8, (None, -3), (None, 0), (None, -7), (127, 127, 0)),
        add_pairs_case("ls8-r0", 5, 8, (top, 0), (t, 0), (None, -12), (-128, 127, 5), (-128, 0)),
        add_pairs_case("ls8-ry0", 13, 8, (top, -9), (None, -8), (None, 0), (0, -3, 5), (-128, 0)),
        add_pairs_case("ls22-max", 6, 22, (top, 0), (top, 0), (None, -15), (127, 127, -128)),
        add_pairs_case("ls22-ry16", 7, 22, (top, 0), (top, 0), (None, -16), (-128, -128, 127)),
        add_pairs_case("ls20-ry23", 8, 20, (None, -1), (top, -31), (None, -23), (127, -128, -128)),
        add_pairs_case("ls20-ry24", 9, 20, (None, -1), (t, 0), (None, -24), (-128, 127, 127)),
        add_pairs_case("ls22-ry0", 10, 22, (None, -22), (top, -21), (None, 0), (3, -7, 127), (-100, 127)),
        # Exact ties at every rounding (L = 8, k = 23): m mod 2^23 = 2^22 (d odd) or 2^22 - 1 (d = 1) on the inputs;
        # m_y = 2^30 + 1 (a' + b' = -1) or 3 * 2^29 (a' + b' = 2 mod 4) at the output, small sums left unclamped.
        add_pairs_case(
            "ls8-ties-r0", 14, 8, (t + 2**22 - 1, 0), (t + 5 * 2**23 + 2**22, 0), (t + 1, 0), (0, 0, 0)
        ),
        add_pairs_case(
            "ls8-ties", 15, 8, (t + 2**22, -1), (t + 9 * 2**23 + 2**22 - 1, -2), (3 * 2**29, -1), (0, 0, 0)
        ),
        # Ties found by searching for parameters where a nudge or the sign correction off by one changes outputs.
        add_pairs_case("ls16", 16, 16, (None, -3), (None, -5), (None, -14), (-128, 127, 0)),
        add_pairs_case(
            "ls17-ties-a", 17, 17, (1135288320, -20), (1256513537, -3), (1217978610, -7), (57, 52, 2)
        ),
        add_pairs_case(
            "ls17-ties-b", 18, 17, (1422467072, -10), (1514921985, -14), (1814566297, 0), (-105, -59, -7)
        ),
        add_pairs_case(
            "ls20-ties", 19, 20, (1472668671, -15), (1749163009, -3), (2044004111, -10), (13, 51, -8)
        ),
        # The one-shift vpdpwssd form (k + r <= 15) and its edge (k + r = 16 must not take it): searched likewise.
        add_pairs_case("words-fix", 20, 18, (1683313607, -2), (t, 0), (1610612736, -12), (69, -96, 11)),
        add_pairs_case("words-nudge-lo", 21, 17, (1882628096, 0), (t, 0), (1610612736, -14), (85, 67, -4)),
        add_pairs_case(
            "words-nudge-hi", 22, 17, (1129046015, 0), (1203003391, 0), (1610612736, -12), (43, 36, -14)
        ),
        add_pairs_case("words-edge", 23, 18, (1553503479, -3), (t, 0), (1073741825, -16), (113, -78, 4)),
        add_pairs_case("ls7", 11, 7, (None, -2), (None, 0), (None, -6), (-128, 127, 1)),
        add_pairs_case("ls23", 12, 23, (None, -1), (t, 0), (None, -22), (127, -128, -1)),
    ]


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= size + p:  # PyTorch: the last window starts inside the input or the left pad
        o -= 1
    return o


def pool_case(
    *,
    is_max: bool,
    c: int,
    k: int,
    stride: int,
    pad: int,
    hw: tuple[int, int],
    dilation: int = 1,
    ceil: bool = False,
    include_pad: bool = False,
    batch: int = 1,
    seed: int = 0,
    all_min: bool = False,
) -> Case:
    rng = np.random.default_rng(seed)
    h, w = hw
    z = int(rng.integers(-128, 128))
    oh, ow = _pool_out(h, k, stride, pad, dilation, ceil), _pool_out(w, k, stride, pad, dilation, ceil)
    prog = Program()
    _, q = int8_input(prog, (batch, h, w, c), z, Layout.NHWC)
    y = prog.add_tensor(Tensor("pool", DType.INT8, (batch, oh, ow, c), 1.0, z, Layout.NHWC))
    lo, hi = _act(rng)
    if is_max:
        params = [k, k, stride, stride, pad, pad, dilation, dilation, lo, hi]
        prog.add_op(Op(OpCode.MAX_POOL2D, "pool", [q], [y], params))
    else:
        prog.add_op(
            Op(
                OpCode.AVG_POOL2D,
                "pool",
                [q],
                [y],
                [k, k, stride, stride, pad, pad, int(include_pad), lo, hi],
            )
        )
    float_output(prog, y)
    kind = "maxpool" if is_max else "avgpool"
    name = f"{kind}-c{c}-k{k}-s{stride}-p{pad}-d{dilation}-{h}x{w}-b{batch}{'-ceil' if ceil else ''}"
    name += "-incl" if include_pad else ""
    return Case(name + ("-min" if all_min else ""), prog, [_codes(rng, (batch, h, w, c), z, all_min)])


# Channel counts around the pooling kernels' vectors (8, 16, 32, 64 int8 lanes) and ADD lengths around 8/16/64
# lanes, past the executor's 16 Ki-element thread chunk.
POOL_C = (1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 130)
ADD_N = (1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 1000, 16384, 16385, 40_003)


def quantize_case(shape: tuple[int, ...], seed: int, *, to_nhwc: bool = False) -> Case:
    """QUANTIZE of floats that hit every branch of docs/quantization.md (1): exact ties (k + 0.5 after the scale),
    NaN, +-inf, -0.0, denormals, values far outside the int8 range; NCHW -> NHWC when to_nhwc."""
    rng = np.random.default_rng(seed)
    scale = np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(4.0))))
    zp = int(rng.integers(-128, 128))
    n = int(np.prod(shape))
    x = (rng.standard_normal(n) * 200.0 * scale).astype(np.float32)
    ties = (rng.integers(-300, 300, size=n) + 0.5).astype(np.float32)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, -1e-45, 1e30, -1e30], np.float32)
    pick = rng.random(n)
    x = np.where(pick < 0.3, ties, x)  # with scale 1 below: exact ties
    x = np.where(pick > 0.95, special[rng.integers(0, len(special), size=n)], x).astype(np.float32)
    inv = np.float32(1.0) if seed % 2 else np.float32(1.0 / scale)
    prog = Program()
    xin = prog.add_tensor(Tensor("x", DType.FLOAT32, shape))
    prog.inputs.append(xin)
    out_shape = (shape[0], shape[2], shape[3], shape[1]) if to_nhwc else shape
    layout = Layout.NHWC if to_nhwc else Layout.PLAIN
    q = prog.add_tensor(Tensor("q", DType.INT8, out_shape, float(1.0 / inv), zp, layout))
    prog.add_op(Op(OpCode.QUANTIZE, "quantize", [xin], [q], [int(to_nhwc), f32_bits(inv)]))
    float_output(prog, q)
    return Case(f"quantize-{'x'.join(map(str, shape))}{'-nhwc' if to_nhwc else ''}", prog, [x.reshape(shape)])


def elementwise_sweep() -> list[Case]:
    """ADD, MAX_POOL2D and AVG_POOL2D: vector tails, windows clipped by padding, dilation, ceil mode, batches,
    windows above the int16 sums of the avgpool kernels (> 256 taps), all -128 inputs, saturating ADD parameters."""
    cases, seed = [], 9000
    for n in ADD_N:
        seed += 1
        cases.append(add_case(n, seed))
    for n in (1, 17, 64, 1000):
        seed += 1
        cases.append(add_case(n, seed, extreme=True))
        cases.append(add_case(n, seed, edge=True))
    cases += add_pairs_sweep()
    for c in POOL_C:
        for is_max in (True, False):
            for k, stride, pad, hw, ceil in (
                (3, 2, 1, (9, 8), False),
                (2, 2, 0, (6, 7), True),
                (3, 1, 1, (5, 4), False),
            ):
                seed += 1
                cases.append(
                    pool_case(
                        is_max=is_max,
                        c=c,
                        k=k,
                        stride=stride,
                        pad=pad,
                        hw=hw,
                        ceil=ceil,
                        seed=seed,
                        include_pad=bool(seed % 2),
                    )
                )
    for is_max in (True, False):
        cases.append(pool_case(is_max=is_max, c=64, k=3, stride=2, pad=1, hw=(12, 11), batch=2, seed=1))
        cases.append(pool_case(is_max=is_max, c=5, k=7, stride=1, pad=0, hw=(7, 7), seed=2))  # global 7x7
        cases.append(pool_case(is_max=is_max, c=33, k=16, stride=1, pad=0, hw=(16, 16), seed=3, all_min=True))
        cases.append(pool_case(is_max=is_max, c=40, k=17, stride=1, pad=0, hw=(17, 17), seed=4, all_min=True))
    cases.append(pool_case(is_max=True, c=17, k=3, stride=2, pad=2, dilation=2, hw=(9, 10), seed=5))
    cases.append(pool_case(is_max=True, c=70, k=3, stride=2, pad=1, hw=(11, 9), batch=3, ceil=True, seed=6))
    cases.append(
        pool_case(is_max=False, c=1280, k=7, stride=1, pad=0, hw=(7, 7), seed=7)
    )  # MobileNetV2's mean
    for n in (1, 3, 7, 8, 9, 15, 16, 17, 33, 100, 1000):
        seed += 1
        cases.append(quantize_case((n,), seed))
    for c, h, w in ((1, 2, 3), (3, 5, 8), (3, 4, 17), (2, 3, 16), (5, 2, 33), (3, 7, 64)):
        seed += 1
        cases.append(quantize_case((1 + seed % 2, c, h, w), seed, to_nhwc=True))
    for cols, scale in ((1, 0.1), (7, 0.01), (16, 0.05), (33, 0.3), (128, 0.05), (257, 2.0), (300, 1e4)):
        seed += 1
        cases.append(softmax_case(cols, scale, seed))
    return cases


def softmax_case(cols: int, scale: float, seed: int) -> Case:
    """int8 SOFTMAX (docs/quantization.md (17)-(21)) of 5 random rows, a row of equal codes and a one-hot row."""
    rng = np.random.default_rng(seed)
    prog = Program()
    _, x = int8_input(prog, (7, cols), 0)
    y = prog.add_tensor(Tensor("softmax", DType.INT8, (7, cols), 1 / 256, -128))
    prog.add_op(Op(OpCode.SOFTMAX, "softmax", [x], [y], list(softmax_params(scale))))
    float_output(prog, y)
    q = _codes(rng, (7, cols), 0)
    q[5] = 3
    q[6] = -128
    q[6, cols // 2] = 127
    return Case(f"softmax_{cols}_{scale:g}", prog, [q])


def _extreme_requant(
    rng: np.random.Generator, shift: list[int], big: bool
) -> tuple[list[int], list[int], list[int]]:
    """(bias, mult, shift) per channel for the given exponents: the extreme multipliers at both ends, and biases from
    INT32_MIN to INT32_MAX (the int32 sum wraps; `big`) or small ones (rounding ties)."""
    n = len(shift)
    mult = [int(v) for v in rng.integers(2**30, 2**31, size=n)]
    mult[0], mult[1], mult[-1], mult[-2] = 2**30, 2**31 - 1, 2**30, 2**31 - 1
    span = 2**31 if big else 2**12
    bias = [int(v) for v in rng.integers(-span, span, size=n)]
    if big:
        bias[2], bias[3], bias[-3], bias[-4] = 2**31 - 1, -(2**31), 2**31 - 1, -(2**31)
    return bias, mult, shift


def _rqu_bound_columns(
    rng: np.random.Generator, taps: int
) -> tuple[list[list[int]], list[int], list[int], list[int]]:
    """Weights, bias, mult, shift of 48 output channels in three groups of 16 for the rq_u / u_right bound
    (packing.cc): |bias| + 255·Σ|w| at the largest value the unsigned-offset requantization allows for the
    channel's right shift, one more, and 2^31 - 1 with the largest multiplier (where that form would overflow;
    group 2 stays below r = 22 so that a bound looser by 2^29 would flag its whole half)."""
    w, bias, mult, shift = [], [], [], []
    for group in range(3):
        for r in (0, 1, 2, 5, 9, 14, 20, 23) if group < 2 else (0, 1, 2, 3, 5, 9, 14, 20):
            limit = 2**31 - 2 - (2 ** (r - 1) if r > 0 else 0) - 128 * 2**r
            extra = (0, 1, 2**31 - 1 - limit)[group]
            for sign in (1, -1):
                w.append([127 * sign] * taps)
                bias.append(sign * (limit + extra - 255 * 127 * taps))
                mult.append(2**31 - 1 if group == 2 else int(rng.integers(2**30, 2**31)))
                shift.append(-r)
    return w, bias, mult, shift


def dw_row_cases(seed: int) -> list[Case]:
    """Depthwise rows for the row kernels (4 columns a step, unchecked interior, checked edges): widths whose
    interior leaves 0..3 columns after the 4-column steps, rows with no interior at all, one-sided and asymmetric
    padding (TF SAME at stride 2 pads right/bottom only), 3x3 / 5x5 at stride 1 and 2, dilation, windows of other
    sizes, channels across several blocks with a partial last one."""
    cases = []
    for c, w_ in ((8, 12), (16, 13), (17, 14), (33, 15), (200, 11), (7, 20)):
        for kk, stride, pad in ((3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 2)):
            seed += 1
            cases.append(conv_case(c=c, oc=c, k=kk, stride=stride, pad=pad, groups=c, seed=seed, hw=(4, w_)))
    shapes = (
        (16, 3, 2, (0, 0, 1, 1), 1, (6, 17)),  # TF SAME, stride 2: right/bottom padding only
        (24, 3, 1, (2, 0, 0, 2), 1, (5, 18)),
        (9, 5, 1, (1, 3, 3, 1), 1, (5, 16)),
        (32, 3, 1, (2, 2, 2, 2), 2, (5, 19)),  # dilation 2
        (17, 3, 2, (3, 3, 3, 3), 3, (7, 21)),  # dilation 3, stride 2
        (16, 5, 1, (4, 4, 4, 4), 1, (2, 3)),  # no interior column: every column touches the padding
        (8, 3, 1, (0, 0, 0, 0), 1, (3, 30)),  # no padding at all
        (40, 2, 1, (0, 1, 1, 0), 1, (4, 23)),  # 2x2
        (16, 7, 2, (3, 3, 3, 3), 1, (9, 25)),  # 7x7 stride 2
        (16, 1, 1, (0, 0, 0, 0), 1, (3, 13)),  # 1x1 depthwise
    )
    for c, kk, stride, pads, dil, hw in shapes:
        seed += 1
        cases.append(
            conv_case(c=c, oc=c, k=kk, stride=stride, pads=pads, dilation=dil, groups=c, seed=seed, hw=hw)
        )
    cases.append(conv_case(c=48, oc=48, k=3, pad=1, groups=48, seed=seed + 1, hw=(6, 22), extreme=True))
    # Every exponent the loader accepts (-31..30: right shifts up to 31, left shifts up to 30 that saturate), the
    # extreme multipliers, biases from INT32_MIN to INT32_MAX (the int32 sum wraps) and small ones (rounding ties).
    for i, big in enumerate((True, False)):
        c = 62
        bias, mult, shift = _extreme_requant(np.random.default_rng(seed + 10 + i), list(range(-31, 31)), big)
        cases.append(
            conv_case(
                c=c, oc=c, k=3, pad=1, groups=c, seed=seed + 12 + i, hw=(4, 13), requant=(bias, mult, shift)
            )
        )
    cases.append(conv_case(c=24, oc=24, k=3, stride=2, pad=1, groups=24, batch=2, seed=seed + 2, hw=(7, 18)))
    return cases


def gemm_rq64_cases(seed: int) -> list[Case]:
    """GEMM tiles whose columns all have right shifts (the one-rounding-shift epilogue of the avx512vnni kernels):
    every remainder of the 8-row tile (rows 1..8 computed by their own code), partial column blocks, accumulator
    extremes, every right shift 1..31 with the extreme multipliers and biases, and one column with exponent 0 in
    an otherwise qualifying block (the block falls back to the general epilogue)."""
    cases = []
    for m in (1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 15, 49):
        for n, k in ((16, 64), (33, 20), (96, 16)):
            seed += 1
            cases.append(fc_case(m, n, k, seed, max_real=0.49))
    for k in (255, 4096):
        seed += 1
        cases.append(fc_case(7, 33, k, seed, extreme=True, max_real=0.49))
    for i, big in enumerate((True, False)):
        oc = 62
        rng = np.random.default_rng(seed + 10 + i)
        bias, mult, shift = _extreme_requant(rng, [-(1 + j % 31) for j in range(oc)], big)
        cases.append(
            conv_case(c=24, oc=oc, k=3, pad=1, seed=seed + 12 + i, hw=(5, 7), requant=(bias, mult, shift))
        )
        shift = list(shift)
        shift[5] = 0  # one column of the first 16 without a right shift
        cases.append(conv_case(c=24, oc=oc, k=1, seed=seed + 14 + i, hw=(3, 5), requant=(bias, mult, shift)))
    cases.append(gemm_rqu_bound_case(-128, (-128, 127), seed + 20))
    cases.append(gemm_rqu_bound_case(127, (-128, 127), seed + 21))
    cases.append(gemm_rqu_bound_case(-5, (-100, 90), seed + 22))
    cases.append(dw_rqu_bound_case(-128, (-128, 127), seed + 23))
    cases.append(dw_rqu_bound_case(127, (-128, 127), seed + 24))
    cases.append(dw_rqu_bound_case(-5, (-100, 90), seed + 25))
    return cases


def gemm_rqu_bound_case(zy: int, act: tuple[int, int], seed: int) -> Case:
    """The packer's rq_u bound (packing.cc) at its edge: in the first 16 columns the largest possible |acc|
    (|bias| + 255·Σ|w|) is exactly the largest the unsigned-offset requantization allows for the column's right
    shift (rq_u set: that epilogue runs), in the next 16 one more (rq_u clear: another one runs), in the last 16
    2^31 - 1 with the largest multiplier (that form would overflow: a looser bound fails here). Row 0 reaches
    that |acc| (every d = x − zp_x = 255), row 1 has acc = bias, rows 2-4 are random; zp_y at an extreme."""
    rng = np.random.default_rng(seed)
    k, zx = 3, -128
    w, bias, mult, shift = _rqu_bound_columns(rng, k)
    prog = Program()
    _, q = int8_input(prog, (5, k), zx)
    wt = prog.add_constant("w", np.array(w), DType.INT8)
    b = prog.add_constant("b", bias, DType.INT32)
    m_id, s_id = prog.add_constant("m", mult, DType.INT32), prog.add_constant("s", shift, DType.INT32)
    y = prog.add_tensor(Tensor("fc", DType.INT8, (5, len(w)), 1.0, zy))
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [q, wt, b, m_id, s_id], [y], list(act)))
    float_output(prog, y)
    codes = np.concatenate(
        [np.full((1, k), 127), np.full((1, k), -128), rng.integers(-128, 128, size=(3, k))]
    )
    return Case(f"fc-rqu-bound-zy{zy}-act{act[0]}_{act[1]}", prog, [(codes - zx).astype(np.float32)])


def dw_rqu_bound_case(zy: int, act: tuple[int, int], seed: int) -> Case:
    """gemm_rqu_bound_case for the depthwise kernel's u_right (packing.cc pack_rq64): three blocks of 16 channels,
    at the bound, one past it, and at |acc| = 2^31 - 1 with the largest multiplier; every input d = 255, so the
    interior pixels reach the bound (the padding taps add 0)."""
    rng = np.random.default_rng(seed)
    taps, zx = 9, -128
    w, bias, mult, shift = _rqu_bound_columns(rng, taps)
    c = len(w)
    prog = Program()
    _, q = int8_input(prog, (1, 5, 6, c), zx, Layout.NHWC)
    wt = prog.add_constant("w", np.array(w).reshape(c, 3, 3, 1), DType.INT8)
    b = prog.add_constant("b", bias, DType.INT32)
    m_id, s_id = prog.add_constant("m", mult, DType.INT32), prog.add_constant("s", shift, DType.INT32)
    y = prog.add_tensor(Tensor("conv", DType.INT8, (1, 5, 6, c), 1.0, zy, Layout.NHWC))
    params = [1, 1, 1, 1, 1, 1, 1, 1, act[0], act[1]]
    prog.add_op(Op(OpCode.DEPTHWISE_CONV2D, "conv", [q, wt, b, m_id, s_id], [y], params))
    float_output(prog, y)
    return Case(
        f"dw-rqu-bound-zy{zy}-act{act[0]}_{act[1]}", prog, [np.full((1, 5, 6, c), 127 - zx, np.float32)]
    )


def sweep() -> list[Case]:
    """The exhaustive small-shape sweep: every FC (m, n, k) of the grids, plus convolutions of every kind the
    executor dispatches (direct 1x1, im2col, grouped, depthwise 3x3 / 5x5 / other, stride 1 / 2, padding,
    dilation, depth multiplier 2), channel counts around the channel tiles (8, 16), and the overflow cases."""
    cases = []
    seed = 0
    for m in FC_M:
        for n in FC_N:
            for k in FC_K:
                seed += 1
                cases.append(fc_case(m, n, k, seed))
    for k in (255, 4096, 65_000):
        cases.append(fc_case(2, 5, k, k, extreme=True))
    for c, oc in ((1, 1), (3, 8), (8, 16), (15, 17), (16, 33), (33, 7)):
        for kk, stride, pad in ((1, 1, 0), (1, 2, 0), (3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 0), (7, 2, 3)):
            seed += 1
            cases.append(conv_case(c=c, oc=oc, k=kk, stride=stride, pad=pad, seed=seed, hw=(9, 8)))
    for c in (1, 2, 7, 8, 9, 15, 16, 17, 24, 33, 64):  # depthwise
        for kk, stride, pad in ((3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 2), (3, 1, 0), (2, 1, 0), (7, 1, 3)):
            seed += 1
            cases.append(conv_case(c=c, oc=c, k=kk, stride=stride, pad=pad, groups=c, seed=seed, hw=(8, 9)))
    seed += 1
    cases.append(conv_case(c=8, oc=16, k=3, pad=1, groups=8, seed=seed))  # depth multiplier 2
    cases.append(conv_case(c=12, oc=18, k=3, pad=1, groups=3, seed=seed + 1))  # grouped
    cases.append(
        conv_case(c=16, oc=16, k=3, pad=2, dilation=2, groups=16, seed=seed + 2)
    )  # dilated depthwise
    cases.append(conv_case(c=6, oc=10, k=3, pad=2, dilation=2, seed=seed + 3))  # dilated
    cases.append(conv_case(c=8, oc=8, k=3, pad=1, batch=2, seed=seed + 4, hw=(5, 4)))  # batch 2
    cases.append(conv_case(c=8, oc=8, k=3, pad=1, groups=8, batch=3, seed=seed + 5, hw=(5, 4)))
    cases.append(conv_case(c=40, oc=70, k=1, seed=seed + 6, hw=(14, 14)))  # several row tiles, direct
    cases.append(conv_case(c=4096, oc=9, k=1, seed=seed + 7, hw=(2, 2), extreme=True))  # accumulator extremes
    cases.append(conv_case(c=64, oc=5, k=5, pad=2, seed=seed + 8, hw=(4, 4), extreme=True))
    cases.append(conv_case(c=32, oc=32, k=3, pad=1, groups=32, seed=seed + 9, extreme=True))
    cases.append(conv_case(c=5, oc=6, k=1, pad=2, seed=seed + 10, hw=(3, 4)))  # windows wholly in the padding
    cases.append(conv_case(c=4, oc=9, k=3, stride=2, pad=3, seed=seed + 11, hw=(5, 6)))
    for c, oc in (
        (8, 8),
        (17, 17),
        (33, 33),
        (8, 16),
    ):  # depthwise as an older file writes it: CONV2D, groups = C
        cases.append(conv_case(c=c, oc=oc, k=3, pad=1, groups=c, seed=seed + 12 + c + oc, legacy=True))
    return cases + dw_row_cases(seed + 100) + gemm_rq64_cases(seed + 200) + elementwise_sweep()
