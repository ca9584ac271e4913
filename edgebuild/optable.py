"""The op table: the one place each runtime op is defined (docs/artifact.md "Ops" is generated from it).

Each op has an opcode, a runtime file (`kernels/runtime/ops/<file>.cc`) and one or more forms. An op's form is told
by its output: `int8` (the quantized form, or an op that moves int8/float bytes alike when it has one form only, see
`single`), `float` (the float32 fallback of docs/artifact.md, output float32). A form lists its inputs, outputs and
named, typed parameters. The parameters keep the artifact's byte layout: one int32 each in INT_POOL, in order;
`f32` parameters are the IEEE bits of a float32; an array parameter has `count` entries (`rank` of input 0, or
`2*inputs` for one pair per input).

`python -m edgebuild.opgen` writes, from this table:
- `kernels/runtime/ops_generated.h`: the Opcode enum, one parameter struct per form, their decoders, the arity
  and optional-input table, the op-name table and the registration array's declarations;
- `edgebuild/ir_ops.py`: the Python OpCode enum, UnaryFunc and one dataclass per form (`encode` / `decode`);
- the op table in `docs/artifact.md` (between the `optable` markers).
`tests/test_opgen.py` fails when any of them is stale.
"""

from __future__ import annotations

from .opschema import Form, OpDef, Operand, Param
from .opschema import check_table as _check

__all__ = ["BY_NAME", "BY_OPCODE", "ENUMS", "OPS", "Form", "OpDef", "Operand", "Param", "check_table"]

ENUMS: dict[str, tuple[str, ...]] = {
    # UNARY's function; kernels/include/edgebuild/ukernels.h EB_UNARY_* keep the same values.
    "UnaryFunc": (
        "HARDSWISH",
        "HARDSIGMOID",
        "SIGMOID",
        "SILU",
        "GELU",
        "GELU_TANH",
        "TANH",
        "LEAKY_RELU",
        "PRELU",
        "RECIPROCAL",
        # issue 16, elementwise: float32 formulas in kernels/ukernels/f32-unary/ref.cc (f32math.h); alpha as noted
        "EXP",
        "LOG",
        "LOG2",
        "LOG10",
        "LOG1P",
        "EXPM1",
        "SQRT",
        "RSQRT",
        "ERF",
        "SIN",
        "COS",
        "TAN",
        "ASIN",
        "ACOS",
        "ATAN",
        "SINH",
        "COSH",
        "ASINH",
        "ACOSH",
        "ATANH",
        "ABS",
        "SIGN",
        "NEG",
        "FLOOR",
        "CEIL",
        "ROUND",
        "TRUNC",
        "ELU",  # alpha: the negative slope's scale
        "POW_SCALAR",  # x ** alpha
        "ADD_SCALAR",  # x + alpha
        "MUL_SCALAR",  # x * alpha
        "RSUB_SCALAR",  # alpha - x
        "DIV_SCALAR",  # x / alpha
        "RDIV_SCALAR",  # alpha / x
        "MAX_SCALAR",  # torch.maximum(x, alpha): NaN propagates
        "MIN_SCALAR",  # torch.minimum(x, alpha)
    ),
    "ResizeMode": ("NEAREST", "BILINEAR"),
    # --- issue 16, elementwise (ELEMENTWISE, WHERE, CAST): enums here ---
    # ELEMENTWISE's function (kernels/ukernels/xx-elementwise/ref.cc has the semantics, torch's).
    "BinaryFunc": (
        "ADD",
        "SUB",
        "MUL",
        "DIV",
        "DIV_TRUNC",
        "DIV_FLOOR",
        "POW",
        "MAXIMUM",
        "MINIMUM",
        "EQ",
        "NE",
        "LT",
        "LE",
        "GT",
        "GE",
        "LOGICAL_AND",
        "LOGICAL_OR",
        "LOGICAL_XOR",
        "BITWISE_AND",
        "BITWISE_OR",
        "BITWISE_XOR",
        "FMOD",
        "REMAINDER",
        "ATAN2",
        "SHIFT_LEFT",
        "SHIFT_RIGHT",
    ),
    # --- end elementwise enums ---
    # --- issue 16, reductions (REDUCE, CUMSUM): enums here ---
    # REDUCE's function; ARGMAX/ARGMIN/ANY/ALL write int32 (ANY/ALL 0/1), the rest the input's dtype.
    "ReduceFunc": (
        "SUM",
        "MEAN",
        "MAX",
        "MIN",
        "PROD",
        "ANY",
        "ALL",
        "ARGMAX",
        "ARGMIN",
        "VAR",
        "LOGSUMEXP",
    ),
    # --- end reduction enums ---
    # --- issue 16, indexing (GATHER, GATHER_ELEMENTS, SCATTER_ELEMENTS, BROADCAST_TO, TOPK): enums here ---
    # SCATTER_ELEMENTS's combination of a scattered value with the one already there (torch.scatter_reduce).
    "ScatterReduce": ("NONE", "ADD", "MUL", "MAX", "MIN", "MEAN"),
    # --- end indexing enums ---
    # --- issue 16, conv (TRANSPOSE_CONV2D, GRID_SAMPLE): enums here ---
    # GRID_SAMPLE's interpolation and padding, numbered as aten.grid_sampler_2d's integer arguments.
    "GridSampleMode": ("BILINEAR", "NEAREST"),
    "GridSamplePadding": ("ZEROS", "BORDER", "REFLECTION"),
    # --- end conv enums ---
}


def _act(kind: str) -> tuple[Param, ...]:
    """The activation bounds of a form: int8 codes (eq. 8), or float32 bounds."""
    if kind == "int8":
        return (Param("act_min", doc="int8 code"), Param("act_max", doc="int8 code"))
    return (Param("lo", "f32"), Param("hi", "f32"))


_CONV_GEOMETRY = (
    Param("stride_h"),
    Param("stride_w"),
    Param("pad_top"),
    Param("pad_left"),
    Param("pad_bottom"),
    Param("pad_right"),
    Param("dilation_h"),
    Param("dilation_w"),
)
_REQUANT = (
    Operand("bias", "i32", "[OC]", const=True, optional=True),
    Operand("mult", "i32", "[OC]", const=True),
    Operand("shift", "i32", "[OC]", const=True),
)
_POOL_WINDOW = (
    Param("kernel_h"),
    Param("kernel_w"),
    Param("stride_h"),
    Param("stride_w"),
    Param("pad_h"),
    Param("pad_w"),
)
_ADD_INT8 = (
    Param("left_shift"),
    Param("a_mult"),
    Param("a_shift"),
    Param("b_mult"),
    Param("b_shift"),
    Param("out_mult"),
    Param("out_shift"),
    *_act("int8"),
)


def _x(dtype: str, shape: str = "") -> Operand:
    return Operand("x", dtype, shape)


def _y(dtype: str, shape: str = "") -> Operand:
    return Operand("y", dtype, shape)


def _binary(name: str, opcode: int, file: str, int8_params: tuple[Param, ...], doc: str) -> OpDef:
    return OpDef(
        name,
        opcode,
        file,
        (
            Form("int8", (Operand("a", "i8"), Operand("b", "i8")), (_y("i8"),), int8_params),
            Form("float", (Operand("a", "f32"), Operand("b", "f32")), (_y("f32"),), _act("float")),
        ),
        doc=doc,
    )


def _conv(kind: str, *, groups: bool) -> Form:
    """CONV2D's forms (groups) and DEPTHWISE_CONV2D's (no groups: one per input channel, by definition)."""
    t = "i8" if kind == "int8" else "f32"
    wshape = "[OC,KH,KW,C/G]" if groups else "[OC,KH,KW,1]"
    ins: tuple[Operand, ...] = (_x(t, "[N,H,W,C]"), Operand("w", t, wshape, const=True))
    ins += _REQUANT if kind == "int8" else (Operand("bias", "f32", "[OC]", const=True, optional=True),)
    geometry = _CONV_GEOMETRY + ((Param("groups"),) if groups else ())
    return Form(kind, ins, (_y(t, "[N,OH,OW,OC]"),), geometry + _act(kind))


def _transpose_conv(kind: str) -> Form:
    """TRANSPOSE_CONV2D's forms: CONV2D's operands (weights regrouped to [OC, KH, KW, C/G]), PyTorch's geometry."""
    t = "i8" if kind == "int8" else "f32"
    ins: tuple[Operand, ...] = (_x(t, "[N,H,W,C]"), Operand("w", t, "[OC,KH,KW,C/G]", const=True))
    ins += _REQUANT if kind == "int8" else (Operand("bias", "f32", "[OC]", const=True, optional=True),)
    geometry = (
        Param("stride_h"),
        Param("stride_w"),
        Param("pad_h"),
        Param("pad_w"),
        Param("output_pad_h"),
        Param("output_pad_w"),
        Param("dilation_h"),
        Param("dilation_w"),
        Param("groups"),
    )
    return Form(kind, ins, (_y(t, "[N,OH,OW,OC]"),), geometry + _act(kind))


def _pool(kind: str, extra: tuple[Param, ...]) -> Form:
    t = "i8" if kind == "int8" else "f32"
    return Form(kind, (_x(t, "[N,H,W,C]"),), (_y(t, "[N,OH,OW,C]"),), _POOL_WINDOW + extra + _act(kind))


def _mover(kind: str, params: tuple[Param, ...], extra_in: tuple[Operand, ...] = ()) -> Form:
    t = "i8" if kind == "int8" else "f32"
    return Form(kind, (_x(t),) + extra_in, (_y(t),), params)


OPS: tuple[OpDef, ...] = (
    OpDef(
        "QUANTIZE",
        1,
        "quantize",
        (Form("int8", (_x("f32"),), (_y("i8"),), (Param("to_nhwc", "bool"), Param("inv_scale", "f32"))),),
        single=True,
        doc="float32 -> int8 (eq. 1); to_nhwc transposes a 4-D NCHW input",
    ),
    OpDef(
        "DEQUANTIZE",
        2,
        "dequantize",
        (Form("int8", (_x("i8"),), (_y("f32"),), (Param("to_nchw", "bool"),)),),
        single=True,
        doc="int8 -> float32 (eq. 2); to_nchw transposes an NHWC output",
    ),
    OpDef("CONV2D", 3, "conv2d", (_conv("int8", groups=True), _conv("float", groups=True)), doc="eq. 6"),
    OpDef(
        "FULLY_CONNECTED",
        4,
        "fully_connected",
        (
            Form(
                "int8",
                (_x("i8", "[..., K]"), Operand("w", "i8", "[N,K]", const=True)) + _REQUANT,
                (_y("i8", "[..., N]"),),
                _act("int8"),
            ),
            Form(
                "float",
                (
                    _x("f32", "[..., K]"),
                    Operand("w", "f32", "[N,K]", const=True),
                    Operand("bias", "f32", "[N]", const=True, optional=True),
                ),
                (_y("f32", "[..., N]"),),
                _act("float"),
            ),
        ),
    ),
    _binary("ADD", 5, "add", _ADD_INT8, "eq. 7; a and b broadcast to y"),
    OpDef(
        "MAX_POOL2D",
        6,
        "max_pool2d",
        (
            _pool("int8", (Param("dilation_h"), Param("dilation_w"))),
            _pool("float", (Param("dilation_h"), Param("dilation_w"))),
        ),
    ),
    OpDef(
        "AVG_POOL2D",
        7,
        "avg_pool2d",
        (
            _pool("int8", (Param("count_include_pad", "bool"),)),
            _pool("float", (Param("count_include_pad", "bool"),)),
        ),
        doc="eq. 9",
    ),
    OpDef(
        "CONCAT",
        8,
        "concat",
        (
            Form(
                "int8",
                (Operand("x", "i8", variadic=True),),
                (_y("i8"),),
                (Param("axis"), Param("input_requant", count="2*inputs", doc="per input: mult, shift")),
            ),
            Form("float", (Operand("x", "f32", variadic=True),), (_y("f32"),), (Param("axis"),)),
        ),
    ),
    OpDef(
        "RESHAPE",
        9,
        "reshape",
        (Form("int8", (_x("any"),), (_y("any"),)),),
        single=True,
        doc="byte copy; same dtype and byte size",
    ),
    OpDef(
        "TRANSPOSE",
        10,
        "transpose",
        (Form("int8", (_x("any"),), (_y("any"),), (Param("perm", count="rank"),)),),
        single=True,
    ),
    OpDef("CLAMP", 11, "clamp", (_mover("int8", _act("int8")), _mover("float", _act("float")))),
    OpDef(
        "UNARY",
        12,
        "unary",
        (
            _mover(
                "int8",
                (Param("func", "enum:UnaryFunc"), Param("alpha", "f32")),
                (Operand("table", "i8", "[T,256]", const=True, optional=True),),
            ),
            _mover(
                "float",
                (Param("func", "enum:UnaryFunc"), Param("alpha", "f32")),
                (Operand("table", "f32", "[T]", const=True, optional=True),),
            ),
        ),
        doc="eq. 11 (int8: a lookup table)",
    ),
    _binary("SUB", 13, "sub", _ADD_INT8, "eq. 7 with a' - b'"),
    _binary("MUL", 14, "mul", (Param("out_mult"), Param("out_shift"), *_act("int8")), "eq. 12"),
    OpDef(
        "PAD",
        15,
        "pad",
        (
            _mover("int8", (Param("before", count="rank"), Param("after", count="rank"), Param("value"))),
            _mover(
                "float", (Param("before", count="rank"), Param("after", count="rank"), Param("value", "f32"))
            ),
        ),
    ),
    OpDef(
        "SLICE",
        16,
        "slice",
        (
            _mover("int8", (Param("start", count="rank"), Param("step", count="rank"))),
            _mover("float", (Param("start", count="rank"), Param("step", count="rank"))),
        ),
    ),
    OpDef(
        "RESIZE",
        17,
        "resize",
        (
            Form(
                "int8",
                (
                    _x("i8", "[N,H,W,C]"),
                    Operand("rows", "i32", "[OH,3]", const=True),
                    Operand("cols", "i32", "[OW,3]", const=True),
                ),
                (_y("i8", "[N,OH,OW,C]"),),
                (Param("mode", "enum:ResizeMode"), Param("align_corners", "bool")),
            ),
            Form(
                "float",
                (
                    _x("f32", "[N,H,W,C]"),
                    Operand("rows", "f32", "[OH,3]", const=True),
                    Operand("cols", "f32", "[OW,3]", const=True),
                ),
                (_y("f32", "[N,OH,OW,C]"),),
                (Param("mode", "enum:ResizeMode"), Param("align_corners", "bool")),
            ),
        ),
        doc="eq. 13",
    ),
    OpDef(
        "DEPTHWISE_CONV2D",
        18,
        "depthwise_conv2d",
        (_conv("int8", groups=False), _conv("float", groups=False)),
        doc="eq. 6 with one group per input channel; OC = C x depth multiplier",
        since="1.2",
    ),
    # --- issue 16, elementwise: opcodes 19-21 (spare 31-33) ---
    OpDef(
        "ELEMENTWISE",
        19,
        "elementwise",
        (
            Form(
                "int8",
                (Operand("a", "any"), Operand("b", "any")),
                (_y("any"),),
                (Param("func", "enum:BinaryFunc"),),
            ),
        ),
        single=True,
        since="1.3",
        doc="a, b: both float32 or both int32, broadcast to y (same rank); y int32 for comparisons and logical "
        "functions, else a's dtype",
    ),
    OpDef(
        "WHERE",
        20,
        "where",
        (Form("int8", (Operand("cond", "i32"), Operand("a", "any"), Operand("b", "any")), (_y("any"),)),),
        single=True,
        since="1.3",
        doc="y = cond != 0 ? a : b; cond, a, b broadcast to y (same rank); a, b, y of one dtype",
    ),
    OpDef(
        "CAST",
        21,
        "cast",
        (Form("int8", (_x("any"),), (_y("any"),), (Param("to_bool", "bool"),)),),
        single=True,
        since="1.3",
        doc="float32 <-> int32 (float -> int truncates, saturates, NaN -> 0); to_bool: y = x != 0 (int32 0/1)",
    ),
    # --- end elementwise ops ---
    # --- issue 16, reductions: opcodes 22-23 (spare 34-35) ---
    OpDef(
        "REDUCE",
        22,
        "reduce",
        (
            Form(
                "int8",
                (_x("any"),),
                (_y("any", "x dims, reduced dims 1 or dropped"),),
                (
                    Param("func", "enum:ReduceFunc"),
                    Param("axes", doc="bit k set: axis k of x is reduced"),
                    Param("correction", "f32", doc="VAR: divisor N - correction"),
                ),
            ),
        ),
        single=True,
        doc="f32 (any func), i32 (not MEAN/VAR/LOGSUMEXP), i8 (MAX/MIN keep scale and zero point; ARGMAX/ARGMIN)",
        since="1.3",
    ),
    OpDef(
        "CUMSUM",
        23,
        "cumsum",
        (Form("int8", (_x("any"),), (_y("any"),), (Param("axis"),)),),
        single=True,
        doc="f32 (running sum in double) or i32 (wraps); y dims = x dims",
        since="1.3",
    ),
    # --- end reduction ops ---
    # --- issue 16, indexing: opcodes 24-28 (spare 36-37) ---
    OpDef(
        "GATHER",
        24,
        "gather",
        (Form("int8", (_x("any"), Operand("indices", "i32")), (_y("any"),), (Param("axis"),)),),
        single=True,
        doc="y = x.dims[:axis] + indices.dims + x.dims[axis+1:]; an out-of-range index gives zeros",
        since="1.3",
    ),
    OpDef(
        "GATHER_ELEMENTS",
        25,
        "gather_elements",
        (Form("int8", (_x("any"), Operand("indices", "i32")), (_y("any"),), (Param("axis"),)),),
        single=True,
        doc="torch.gather: y[i] = x[i with i[axis] = indices[i]]; y.dims = indices.dims; out of range: zero",
        since="1.3",
    ),
    OpDef(
        "SCATTER_ELEMENTS",
        26,
        "scatter_elements",
        (
            Form(
                "int8",
                (_x("any"), Operand("indices", "i32"), Operand("src", "any")),
                (_y("any"),),
                (Param("axis"), Param("reduce", "enum:ScatterReduce"), Param("include_self", "bool")),
            ),
        ),
        single=True,
        doc="y = x with src[i] combined into y[i with i[axis] = indices[i]]; an out-of-range index is skipped",
        since="1.3",
    ),
    OpDef(
        "BROADCAST_TO",
        27,
        "broadcast_to",
        (Form("int8", (_x("any"),), (_y("any"),)),),
        single=True,
        doc="same rank; each input dim is 1 or the output's",
        since="1.3",
    ),
    OpDef(
        "TOPK",
        28,
        "topk",
        (
            Form(
                "int8",
                (_x("any"),),
                (_y("any"),),
                (Param("axis"), Param("k"), Param("largest", "bool"), Param("indices", "bool")),
            ),
        ),
        single=True,
        doc="the k largest (smallest) along axis, sorted, ties by lower index; y = values, or int32 indices",
        since="1.3",
    ),
    # --- end indexing ops ---
    # --- issue 16, conv: opcodes 29-30 (spare 38-39) ---
    OpDef(
        "TRANSPOSE_CONV2D",
        29,
        "transpose_conv2d",
        (_transpose_conv("int8"), _transpose_conv("float")),
        doc="eq. 6 gathered: y[oh] sums x[ih] · w[kh] over oh = ih·sh − ph + kh·dh; PyTorch's conv_transpose2d",
        since="1.3",
    ),
    OpDef(
        "GRID_SAMPLE",
        30,
        "grid_sample",
        (
            Form(
                "float",
                (_x("f32", "[N,H,W,C]"), Operand("grid", "f32", "[N,OH,OW,2]")),
                (_y("f32", "[N,OH,OW,C]"),),
                (
                    Param("mode", "enum:GridSampleMode"),
                    Param("padding", "enum:GridSamplePadding"),
                    Param("align_corners", "bool"),
                ),
            ),
        ),
        doc="aten.grid_sampler_2d; grid (x, y) in [-1, 1]",
        since="1.3",
    ),
    # --- end conv ops ---
    OpDef(
        "BATCH_MATMUL",
        40,
        "batch_matmul",
        (
            Form(
                "int8",
                (Operand("a", "i8", "[..., M, K]"), Operand("b", "i8", "[..., K, N]")),
                (_y("i8", "[..., M, N]"),),
                (Param("transpose_b", "bool"), Param("mult"), Param("shift"), *_act("int8")),
            ),
            Form(
                "float",
                (Operand("a", "f32", "[..., M, K]"), Operand("b", "f32", "[..., K, N]")),
                (_y("f32", "[..., M, N]"),),
                (Param("transpose_b", "bool"), Param("alpha", "f32")),
            ),
        ),
    ),
    OpDef(
        "SOFTMAX",
        41,
        "softmax",
        (
            # issue 19: TFLite's int8 SOFTMAX (docs/quantization.md (17)-(21)); y has scale 1/256, zero point -128
            Form(
                "int8",
                (_x("i8"),),
                (_y("i8"),),
                (
                    Param("input_mult", doc="Q31 multiplier of beta·s_x·2^26 (eq. 16)"),
                    Param("input_shift", doc="its left shift, 0..31"),
                    Param("diff_min", doc="differences below it give exp 0 (eq. 16)"),
                ),
            ),
            Form("float", (_x("f32"),), (_y("f32"),)),
        ),
        doc="over the last axis",
    ),
    OpDef(
        "LAYER_NORM",
        42,
        "layer_norm",
        (
            Form(
                "float",
                (
                    _x("f32", "[..., D]"),
                    Operand("gamma", "f32", "[D]", const=True, optional=True),
                    Operand("beta", "f32", "[D]", const=True, optional=True),
                ),
                (_y("f32"),),
                (Param("eps", "f32"),),
            ),
        ),
    ),
    OpDef(
        "EMBEDDING",
        43,
        "embedding",
        (
            Form(
                "float",
                (Operand("table", "f32", "[V, D]", const=True), Operand("ids", "i32")),
                (_y("f32", "[ids dims..., D]"),),
            ),
        ),
    ),
    # issue 19: a linear layer quantized at run time (docs/quantization.md (14)-(15)): float32 in and out, int8
    # weights per output channel; the input's rows are quantized per row into the op's scratch.
    OpDef(
        "DYNAMIC_FULLY_CONNECTED",
        44,
        "dynamic_fully_connected",
        (
            Form(
                "float",
                (
                    _x("f32", "[..., K]"),
                    Operand("w", "i8", "[N,K]", const=True),
                    Operand("w_scale", "f32", "[N]", const=True),
                    Operand("bias", "f32", "[N]", const=True, optional=True),
                ),
                (_y("f32", "[..., N]"),),
                _act("float"),
            ),
        ),
        doc="eqs. 14-15",
        since="1.4",
    ),
    # issue 19: a product of two float32 activations quantized at run time (docs/quantization.md (14)-(16)):
    # attention's Q·Kᵀ and P·V in a dynamically quantized transformer.
    OpDef(
        "DYNAMIC_BATCH_MATMUL",
        45,
        "dynamic_batch_matmul",
        (
            Form(
                "float",
                (Operand("a", "f32", "[..., M, K]"), Operand("b", "f32", "[..., K, N]")),
                (_y("f32", "[..., M, N]"),),
                (Param("transpose_b", "bool"), Param("alpha", "f32")),
            ),
        ),
        doc="eqs. 14-16",
        since="1.4",
    ),
    # issue 19: scaled dot-product attention in one op (the lowering's fusion, edgebuild/lower/fuse_attention.py):
    # exactly BATCH_MATMUL(Q, Kᵀ, alpha) (or DYNAMIC_BATCH_MATMUL with `quantized`) -> ADD(mask) -> SOFTMAX ->
    # BATCH_MATMUL(P, V), per head, the scores in the op's scratch. Each operand is its tensor permuted by its perm
    # (Q = q.permute(q_perm) [..., L, D], likewise K [..., S, D], V [..., S, Dv], and y.permute(y_perm) = Y
    # [..., L, Dv]), so the TRANSPOSE ops around attention are not needed; the mask broadcasts to [..., L, S].
    OpDef(
        "ATTENTION",
        46,
        "attention",
        (
            Form(
                "float",
                (
                    Operand("q", "f32", "[..., L, D] after q_perm"),
                    Operand("k", "f32", "[..., S, D] after k_perm"),
                    Operand("v", "f32", "[..., S, Dv] after v_perm"),
                    Operand("mask", "f32", "[..., L, S], dims of 1 broadcast", optional=True),
                ),
                (_y("f32", "[..., L, Dv] after y_perm"),),
                (
                    Param("quantized", "bool", doc="1: both products as DYNAMIC_BATCH_MATMUL (eqs. 14-16)"),
                    Param("alpha", "f32", doc="the scores' scale"),
                    Param("q_perm", count="rank"),
                    Param("k_perm", count="rank"),
                    Param("v_perm", count="rank"),
                    Param("y_perm", count="rank"),
                ),
            ),
        ),
        doc="fused SDPA",
        since="1.5",
    ),
    OpDef(
        "SPARSE_CONV2D",
        70,
        "sparse_conv2d",
        (
            Form(
                "int8",
                (
                    _x("i8", "[N,H,W,C]"),
                    Operand("values", "i8", "[S,BR,BC]", const=True),
                    *_REQUANT,
                    Operand("row_ptr", "i32", "[OC/BR+1]", const=True),
                    Operand("col_idx", "i32", "[S]", const=True),
                ),
                (_y("i8", "[N,OH,OW,OC]"),),
                _CONV_GEOMETRY
                + (Param("groups"),)
                + _act("int8")
                + (Param("kernel_h"), Param("kernel_w"), Param("block_rows"), Param("block_cols")),
            ),
        ),
        doc="block-CSR weights",
    ),
    OpDef(
        "SPARSE_FULLY_CONNECTED",
        71,
        "sparse_fully_connected",
        (
            Form(
                "int8",
                (
                    _x("i8", "[..., K]"),
                    Operand("values", "i8", "[S,BR,BC]", const=True),
                    *_REQUANT,
                    Operand("row_ptr", "i32", "[N/BR+1]", const=True),
                    Operand("col_idx", "i32", "[S]", const=True),
                ),
                (_y("i8", "[..., N]"),),
                _act("int8") + (Param("block_rows"), Param("block_cols")),
            ),
        ),
        doc="block-CSR weights",
    ),
)

BY_NAME: dict[str, OpDef] = {op.name: op for op in OPS}
BY_OPCODE: dict[int, OpDef] = {op.opcode: op for op in OPS}


def check_table() -> list[str]:
    """Consistency of the table itself (unique names, opcodes and files; forms; parameter kinds)."""
    return _check(OPS, ENUMS)
