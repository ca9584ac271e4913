"""emit: one C call (or a few) per op for model.c, with the parameters the host runtime's run_ref computes at load
time (kernels/runtime/ops/<op>.cc) computed here, in Python, as `static const` initializers.

Each emitter mirrors its op file's reference path field by field, so the generated call gives the bytes the host
runtime gives. Conv, depthwise, fully connected, add and the pools go through the Cortex-M variant registry
(variants/__init__.py): the chosen variant is called with the reference's parameter struct and arguments, its
extra constant arrays and its scratch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EdgebuildError
from ..ir import DType, Op, OpCode, Program
from .memplan import McuPlan, Step
from .variants import Variant, choose

__all__ = ["KERNEL_SOURCES", "SUPPORTED", "Emitter", "c_float", "family_of"]

# The reference kernels and the file defining each (relative to kernels/); qs8-binary's requantization is
# qs8-vadd's (eb_qs8_vadd_requant_ref).
KERNEL_SOURCES: dict[str, tuple[str, ...]] = {
    "eb_qs8_quantize_ref": ("ukernels/qs8-quantize/ref.cc",),
    "eb_qs8_quantize_to_nhwc_ref": ("ukernels/qs8-quantize/ref.cc",),
    "eb_qs8_dequantize_ref": ("ukernels/qs8-dequantize/ref.cc",),
    "eb_qs8_dequantize_to_nchw_ref": ("ukernels/qs8-dequantize/ref.cc",),
    "eb_qs8_conv_ref": ("ukernels/qs8-conv/ref.cc",),
    "eb_qs8_gemm_ref": ("ukernels/qs8-gemm/ref.cc",),
    "eb_qs8_vadd_ref": ("ukernels/qs8-vadd/ref.cc",),
    "eb_qs8_binary_ref": ("ukernels/qs8-binary/ref.cc", "ukernels/qs8-vadd/ref.cc"),
    "eb_qs8_avgpool_ref": ("ukernels/qs8-avgpool/ref.cc",),
    "eb_qs8_maxpool_ref": ("ukernels/qs8-maxpool/ref.cc",),
    "eb_qs8_concat_ref": ("ukernels/qs8-concat/ref.cc",),
    "eb_qs8_clamp_ref": ("ukernels/qs8-clamp/ref.cc",),
    "eb_qs8_softmax_ref": ("ukernels/qs8-softmax/ref.cc",),
    "eb_xx_copy_ref": ("ukernels/xx-copy/ref.cc",),
    "eb_xx_transpose_ref": ("ukernels/xx-transpose/ref.cc",),
    "eb_xx_pad_ref": ("ukernels/xx-pad/ref.cc",),
    "eb_xx_reduce_ref": ("ukernels/xx-reduce/ref.cc",),
    "eb_xx_reduce_s32_ref": ("ukernels/xx-reduce/ref.cc",),
    "eb_xx_reduce_s8_ref": ("ukernels/xx-reduce/ref.cc",),
    "eb_f32_conv_ref": ("ukernels/f32-conv/ref.cc",),
    "eb_f32_gemm_ref": ("ukernels/f32-gemm/ref.cc",),
    "eb_f32_add_ref": ("ukernels/f32-add/ref.cc",),
    "eb_f32_binary_ref": ("ukernels/f32-binary/ref.cc",),
    "eb_f32_avgpool_ref": ("ukernels/f32-avgpool/ref.cc",),
    "eb_f32_maxpool_ref": ("ukernels/f32-maxpool/ref.cc",),
    "eb_f32_clamp_ref": ("ukernels/f32-clamp/ref.cc",),
    "eb_f32_softmax_ref": ("ukernels/f32-softmax/ref.cc",),
}

_CTYPE = {DType.INT8: "int8_t", DType.INT32: "int32_t", DType.FLOAT32: "float"}
_NP_CTYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}

# Variant families of the ops that have one (variants/__init__.py)
_FAMILY = {
    OpCode.CONV2D: "conv",
    OpCode.DEPTHWISE_CONV2D: "dwconv",
    OpCode.FULLY_CONNECTED: "fc",
    OpCode.ADD: "add",
    OpCode.AVG_POOL2D: "avgpool",
    OpCode.MAX_POOL2D: "maxpool",
}


def family_of(program: Program, op: Op) -> str | None:
    if program.form_of(op) != "int8" or op.opcode not in _FAMILY:
        return None
    if op.opcode == OpCode.ADD and not _same_shape(program, op):
        return None  # broadcasting ADD: eb_qs8_binary_ref, no variant family
    return _FAMILY[op.opcode]


def c_float(v: float) -> str:
    """A float32 value as an exact C literal (hex float), +-INFINITY for the unbounded activation limits."""
    f = float(np.float32(v))
    if math.isinf(f):
        return "INFINITY" if f > 0 else "-INFINITY"
    if math.isnan(f):
        raise EdgebuildError("a float parameter is NaN: the model cannot be compiled ahead of time")
    return f"{f.hex()}f"


def _same_shape(program: Program, op: Op) -> bool:
    t = program.tensors
    return t[op.inputs[0]].shape == t[op.inputs[1]].shape == t[op.outputs[0]].shape


def _init(fields: dict[str, Any]) -> str:
    def val(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, float):
            return c_float(v)
        return str(int(v))

    return "{" + ", ".join(f".{k} = {val(v)}" for k, v in fields.items()) + "}"


@dataclass
class Call:
    """What a step runs: its C lines and the kernel functions it calls (the first is the one the report names)."""

    lines: list[str]
    functions: list[str]


@dataclass
class Emitter:
    program: Program
    plan: McuPlan
    isa: str | None
    statics: list[str] = field(default_factory=list)  # model.c file-scope declarations (params, dims)
    data: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # model_data.c arrays: name -> (ctype, a)
    prototypes: dict[str, str] = field(default_factory=dict)  # variant symbol -> its declaration
    sources: list[str] = field(default_factory=list)
    packed: dict[tuple[int, str], str] = field(default_factory=dict)  # (weights tensor, variant) -> array name
    _count: int = 0

    # ---- names and pointers ----

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"eb_{prefix}{self._count}"

    def ptr(self, t: int, *, const: bool = True) -> str:
        """The C expression of tensor t's data: a const array of model_data.c, or its bytes of the arena."""
        if t < 0:
            return "NULL"
        tensor = self.program.tensors[t]
        ctype = _CTYPE[tensor.dtype]
        if tensor.data is not None:
            return self.const_array(f"eb_model_c{t}", np.ascontiguousarray(tensor.data, tensor.dtype.numpy))
        q = "const " if const else ""
        return f"(({q}{ctype}*)(eb_arena + {self.plan.offsets[t]}))"

    def const_array(self, name: str, a: np.ndarray) -> str:
        if name not in self.data:
            self.data[name] = (_NP_CTYPE[a.dtype.name], a)
        return name

    def dims(self, t: int) -> str:
        return self.i32_array("dims", [int(d) for d in self.program.tensors[t].shape])

    def i32_array(self, prefix: str, values: list[int]) -> str:
        name = self._name(prefix)
        body = ", ".join(str(int(v)) for v in values) if values else "0"
        self.statics.append(f"static const int32_t {name}[{max(len(values), 1)}] = {{{body}}};")
        return name

    def params(self, ctype: str, fields: dict[str, Any]) -> str:
        name = self._name("p")
        self.statics.append(f"static const {ctype} {name} = {_init(fields)};")
        return name

    def use(self, function: str) -> None:
        for s in KERNEL_SOURCES[function]:
            if s not in self.sources:
                self.sources.append(s)

    def use_variant(self, v: Variant) -> None:
        self.prototypes.setdefault(v.function, v.prototype)
        for s in v.sources:
            if s not in self.sources:
                self.sources.append(s)

    def scratch_ptr(self, item: int) -> str:
        return f"((void*)(eb_arena + {self.plan.scratch[item][0]}))"

    # ---- the reference parameter structs, as kernels/runtime/ops/<op>.cc fills them ----

    def conv_fields(self, op: Op) -> dict[str, Any]:
        t = self.program.tensors
        x, w, y = t[op.inputs[0]], t[op.inputs[1]], t[op.outputs[0]]
        p = self.program.params_of(op)
        groups = p.groups if op.opcode == OpCode.CONV2D else x.shape[3]  # depthwise: one group per channel
        f: dict[str, Any] = {
            "batch": x.shape[0],
            "input_height": x.shape[1],
            "input_width": x.shape[2],
            "input_channels": x.shape[3],
            "output_height": y.shape[1],
            "output_width": y.shape[2],
            "output_channels": y.shape[3],
            "kernel_height": w.shape[1],
            "kernel_width": w.shape[2],
            "groups": groups,
            "stride_height": p.stride_h,
            "stride_width": p.stride_w,
            "pad_top": p.pad_top,
            "pad_left": p.pad_left,
            "dilation_height": p.dilation_h,
            "dilation_width": p.dilation_w,
        }
        if self.program.form_of(op) == "float":
            f.update(output_min=float(p.lo), output_max=float(p.hi))
        else:
            f.update(
                input_zero_point=x.zero_point,
                output_zero_point=y.zero_point,
                output_min=p.act_min,
                output_max=p.act_max,
            )
        return f

    def gemm_fields(self, op: Op) -> dict[str, Any]:
        t = self.program.tensors
        x, w, y = t[op.inputs[0]], t[op.inputs[1]], t[op.outputs[0]]
        p = self.program.params_of(op)
        k = w.shape[1]
        return {
            "m": x.numel // k,  # rows: every dim of x but the last
            "n": w.shape[0],
            "k": k,
            "input_zero_point": x.zero_point,
            "output_zero_point": y.zero_point,
            "output_min": p.act_min,
            "output_max": p.act_max,
        }

    def vadd_fields(self, op: Op) -> dict[str, Any]:
        t = self.program.tensors
        p = self.program.params_of(op)
        return {
            "a_zero_point": t[op.inputs[0]].zero_point,
            "b_zero_point": t[op.inputs[1]].zero_point,
            "output_zero_point": t[op.outputs[0]].zero_point,
            "left_shift": p.left_shift,
            "a_multiplier": p.a_mult,
            "a_shift": p.a_shift,
            "b_multiplier": p.b_mult,
            "b_shift": p.b_shift,
            "output_multiplier": p.out_mult,
            "output_shift": p.out_shift,
            "output_min": p.act_min,
            "output_max": p.act_max,
        }

    def pool_fields(self, op: Op) -> dict[str, Any]:
        t = self.program.tensors
        x, y = t[op.inputs[0]], t[op.outputs[0]]
        p = self.program.params_of(op)
        f: dict[str, Any] = {
            "batch": x.shape[0],
            "input_height": x.shape[1],
            "input_width": x.shape[2],
            "channels": x.shape[3],
            "output_height": y.shape[1],
            "output_width": y.shape[2],
            "kernel_height": p.kernel_h,
            "kernel_width": p.kernel_w,
            "stride_height": p.stride_h,
            "stride_width": p.stride_w,
            "pad_height": p.pad_h,
            "pad_width": p.pad_w,
        }
        is_float = self.program.form_of(op) == "float"
        if op.opcode == OpCode.MAX_POOL2D:
            f.update(dilation_height=p.dilation_h, dilation_width=p.dilation_w)
        elif is_float:
            f.update(dilation_height=1, dilation_width=1)
        if op.opcode == OpCode.AVG_POOL2D:
            f["count_include_pad"] = int(p.count_include_pad)
            if not is_float:
                f["zero_point"] = x.zero_point
        elif is_float:
            f["count_include_pad"] = 0
        if is_float:
            f.update(output_min=float(p.lo), output_max=float(p.hi))
        else:
            f.update(output_min=p.act_min, output_max=p.act_max)
        return f

    def constants(self, op: Op) -> dict[str, np.ndarray | None]:
        """The op's constants as variants/__init__.py `Constants` names them."""
        t = self.program.tensors

        def data(i: int) -> np.ndarray | None:
            return None if i < 0 else t[i].data

        return {
            "weights": data(op.inputs[1]),
            "bias": data(op.inputs[2]),
            "multiplier": data(op.inputs[3]),
            "shift": data(op.inputs[4]),
        }

    def variant_params(self, op: Op) -> dict[str, int] | None:
        """The reference struct's fields `choose` sees for an op with a variant family, else None."""
        fam = family_of(self.program, op)
        if fam is None:
            return None
        if fam in ("conv", "dwconv"):
            return self.conv_fields(op)
        if fam == "fc":
            return self.gemm_fields(op)
        if fam == "add":
            return self.vadd_fields(op)
        return self.pool_fields(op)

    def variant_of(self, op: Op, params: list[dict[str, int]] | None = None) -> Variant | None:
        """The variant the op calls (None: the reference): `params`, when given, are every parameter set it will
        be called with (a fused conv's bands); the variant must apply to each."""
        fam = family_of(self.program, op)
        base = self.variant_params(op)
        if fam is None or base is None:
            return None
        v = choose(fam, self.isa, base)
        if v is not None and params and not all(v.applies(p) for p in params):
            return None
        return v

    def variant_scratch(self, op: Op, params: list[dict[str, int]] | None = None) -> int:
        v = self.variant_of(op, params)
        if v is None:
            return 0
        return max(v.scratch_bytes(p) for p in (params or [self.variant_params(op) or {}]))

    def weight_args(self, op: Op, v: Variant | None, fields: dict[str, Any]) -> list[str]:
        """weights, bias, multiplier, shift (conv / fc), the weights packed when the variant packs them."""
        w = op.inputs[1]
        if v is not None and v.pack is not None:
            key = (w, v.function)
            if key not in self.packed:
                packed = np.ascontiguousarray(v.pack(fields, self.constants(op)))
                self.packed[key] = self.const_array(f"eb_model_c{w}_{v.function}", packed)
            warg = self.packed[key]
        else:
            warg = self.ptr(w)
        return [warg, self.ptr(op.inputs[2]), self.ptr(op.inputs[3]), self.ptr(op.inputs[4])]

    def extra_args(self, op: Op, v: Variant | None, fields: dict[str, Any], tag: str) -> list[str]:
        if v is None or v.extra is None:
            return []
        out = []
        for j, a in enumerate(v.extra(fields, self.constants(op))):
            out.append(self.const_array(f"eb_model_x{tag}_{j}", np.ascontiguousarray(a)))
        return out

    # ---- the steps ----

    def emit_step(self, index: int, step: Step) -> Call:
        if step.kind == "conv_add":
            return self.emit_conv_add(index, step)
        op = self.program.ops[step.ops[0]]
        fn = _EMITTERS.get(op.opcode)
        if fn is None:
            raise unsupported(op)
        return fn(self, index, step, op)

    def emit_conv_add(self, index: int, step: Step) -> Call:
        """A conv computed a band of output rows at a time into scratch, each band added in place into the skip
        tensor (memplan.py): the band's conv is the reference conv with the input moved to the band's first input
        row and pad_top / input_height adjusted, so every sum is the whole conv's."""
        prog = self.program
        conv, add = prog.ops[step.ops[0]], prog.ops[step.ops[1]]
        bands = band_params(self.conv_fields(conv), step.band_rows)
        cv = self.variant_of(conv, [b for _, b in bands])
        fields = self.conv_fields(conv)
        p_conv = self.params("eb_qs8_conv_params", fields)
        av = self.variant_of(add)
        p_add = self.params("eb_qs8_vadd_params", {**self.vadd_fields(add), "table": "NULL"})
        x = prog.tensors[conv.inputs[0]]
        y = prog.tensors[conv.outputs[0]]
        row_in = x.shape[2] * x.shape[3]
        row_out = y.shape[2] * y.shape[3]
        band = f"((int8_t*)(eb_arena + {self.plan.scratch[step.scratch][0]}))"
        skip_t = add.inputs[1 - step.add_conv_operand]
        skip = f"((int8_t*)(eb_arena + {self.plan.offsets[skip_t]}))"
        out = f"((int8_t*)(eb_arena + {self.plan.offsets[add.outputs[0]]}))"
        conv_fn = cv.function if cv else "eb_qs8_conv_ref"
        add_fn = av.function if av else "eb_qs8_vadd_ref"
        (self.use_variant(cv) if cv else self.use("eb_qs8_conv_ref"))
        (self.use_variant(av) if av else self.use("eb_qs8_vadd_ref"))
        cargs = self.weight_args(conv, cv, fields) + self.extra_args(conv, cv, fields, f"{index}c")
        if cv is not None and step.kernel_scratch >= 0 and self.variant_scratch(conv, [b for _, b in bands]) > 0:
            cargs.append(self.scratch_ptr(step.kernel_scratch))
        elif cv is not None and self.variant_scratch(conv, [b for _, b in bands]) > 0:
            raise AssertionError("conv variant scratch not planned")
        aextra = self.extra_args(add, av, self.vadd_fields(add), f"{index}a")
        ab = ["(const int8_t*)band", "(const int8_t*)(skip + off)"]
        if step.add_conv_operand == 1:
            ab.reverse()
        aargs = [*ab, "out + off", *aextra]
        if av is not None and av.scratch_bytes(self.vadd_fields(add)) > 0:
            raise EdgebuildError(f"op {add.name!r}: add variant {av.function} needs scratch inside a fused conv")
        lines = [
            "{",
            f"  eb_qs8_conv_params p = {p_conv};",
            f"  int8_t* band = {band};",
            f"  int8_t* skip = {skip};",
            f"  int8_t* out = {out};",
            f"  for (int32_t r0 = 0; r0 < {y.shape[1]}; r0 += {step.band_rows}) {{",
            f"    const int32_t rows = {y.shape[1]} - r0 < {step.band_rows} ? {y.shape[1]} - r0 : {step.band_rows};",
            f"    const int32_t ih0 = r0 * {fields['stride_height']} - {fields['pad_top']};",
            f"    const size_t off = (size_t)r0 * {row_out};",
            "    p.output_height = rows;",
            "    p.pad_top = ih0 < 0 ? -ih0 : 0;",
            f"    p.input_height = ih0 < 0 ? {x.shape[1]} : {x.shape[1]} - ih0;",
            f"    {conv_fn}(&p, {self.ptr(conv.inputs[0])} + (ih0 < 0 ? 0 : (size_t)ih0 * {row_in}), "
            + ", ".join([*cargs[:4], "band", *cargs[4:]])
            + ");",
            f"    {add_fn}(&{p_add}, (size_t)rows * {row_out}, " + ", ".join(aargs) + ");",
            "  }",
            "}",
        ]
        return Call(lines, [conv_fn, add_fn])


def band_params(fields: dict[str, Any], rows: int) -> list[tuple[int, dict[str, Any]]]:
    """(first output row, conv parameters) of each band of `rows` output rows, as model.c's loop sets them."""
    out = []
    oh = fields["output_height"]
    for r0 in range(0, oh, rows):
        ih0 = r0 * fields["stride_height"] - fields["pad_top"]
        b = dict(fields)
        b["output_height"] = min(rows, oh - r0)
        b["pad_top"] = -ih0 if ih0 < 0 else 0
        b["input_height"] = fields["input_height"] if ih0 < 0 else fields["input_height"] - ih0
        out.append((r0, b))
    return out


def unsupported(op: Op) -> EdgebuildError:
    names = ", ".join(sorted(SUPPORTED))
    return EdgebuildError(
        f"op {op.opcode.name} ({op.name!r}) has no microcontroller code generator; supported ops: {names}. "
        "Keep that layer on a Linux target, or replace it in the model"
    )


# ---- per-op emitters: (emitter, step index, step, op) -> Call ----

Fn = Callable[[Emitter, int, Step, Op], Call]


def _variant_call(e: Emitter, index: int, op: Op, ref: str, struct: str, fields: dict[str, Any], args: list[str]) -> Call:
    """A variant-family op: `args` are the reference's arguments after params, weights arguments included."""
    v = e.variant_of(op)
    p = e.params(struct, fields)
    if v is None:
        e.use(ref)
        return Call([f"{ref}(&{p}, {', '.join(args)});"], [ref])
    e.use_variant(v)
    extra = e.extra_args(op, v, fields, str(index))
    if v.scratch_bytes(fields) > 0:
        step = e.plan.steps[index]
        extra.append(e.scratch_ptr(step.kernel_scratch))
    return Call([f"{v.function}(&{p}, {', '.join(args + extra)});"], [v.function])


def _conv(e: Emitter, index: int, step: Step, op: Op) -> Call:
    fields = e.conv_fields(op)
    if e.program.form_of(op) == "float":
        p = e.params("eb_f32_conv_params", fields)
        e.use("eb_f32_conv_ref")
        args = [e.ptr(op.inputs[0]), e.ptr(op.inputs[1]), e.ptr(op.inputs[2]), e.ptr(op.outputs[0], const=False)]
        return Call([f"eb_f32_conv_ref(&{p}, {', '.join(args)});"], ["eb_f32_conv_ref"])
    v = e.variant_of(op)
    args = [e.ptr(op.inputs[0]), *e.weight_args(op, v, fields), e.ptr(op.outputs[0], const=False)]
    return _variant_call(e, index, op, "eb_qs8_conv_ref", "eb_qs8_conv_params", fields, args)


def _fc(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    if e.program.form_of(op) == "float":
        p = e.program.params_of(op)
        k, n = t[op.inputs[1]].shape[1], t[op.inputs[1]].shape[0]
        m = t[op.inputs[0]].numel // k
        e.use("eb_f32_gemm_ref")
        args = [str(m), str(n), str(k), e.ptr(op.inputs[0]), e.ptr(op.inputs[1]), e.ptr(op.inputs[2])]
        args += [c_float(p.lo), c_float(p.hi), e.ptr(op.outputs[0], const=False)]
        return Call([f"eb_f32_gemm_ref({', '.join(args)});"], ["eb_f32_gemm_ref"])
    fields = e.gemm_fields(op)
    v = e.variant_of(op)
    args = [e.ptr(op.inputs[0]), *e.weight_args(op, v, fields), e.ptr(op.outputs[0], const=False)]
    return _variant_call(e, index, op, "eb_qs8_gemm_ref", "eb_qs8_gemm_params", fields, args)


def _binary(e: Emitter, op: Op, kind: str) -> Call:
    """ADD / SUB / MUL with broadcasting (binary.h): eb_qs8_binary_ref / eb_f32_binary_ref over the dims."""
    t = e.program.tensors
    a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
    dims = [e.dims(a), e.dims(b), e.dims(y)]
    rank = len(t[y].shape)
    p = e.program.params_of(op)
    if e.program.form_of(op) == "float":
        e.use("eb_f32_binary_ref")
        args = [f"EB_BINARY_{kind}", str(rank), *dims, e.ptr(a), e.ptr(b), c_float(p.lo), c_float(p.hi)]
        args.append(e.ptr(y, const=False))
        return Call([f"eb_f32_binary_ref({', '.join(args)});"], ["eb_f32_binary_ref"])
    f: dict[str, Any] = {
        "op": f"EB_BINARY_{kind}",
        "a_zero_point": t[a].zero_point,
        "b_zero_point": t[b].zero_point,
        "output_zero_point": t[y].zero_point,
        "left_shift": 0,
        "a_multiplier": 0,
        "a_shift": 0,
        "b_multiplier": 0,
        "b_shift": 0,
    }
    if kind != "MUL":  # set_add_sub_int8 (binary.h)
        f.update(
            left_shift=p.left_shift, a_multiplier=p.a_mult, a_shift=p.a_shift, b_multiplier=p.b_mult, b_shift=p.b_shift
        )
    f.update(output_multiplier=p.out_mult, output_shift=p.out_shift, output_min=p.act_min, output_max=p.act_max)
    name = e.params("eb_qs8_binary_params", f)
    e.use("eb_qs8_binary_ref")
    args = [f"&{name}", str(rank), *dims, e.ptr(a), e.ptr(b), e.ptr(y, const=False)]
    return Call([f"eb_qs8_binary_ref({', '.join(args)});"], ["eb_qs8_binary_ref"])


def _add(e: Emitter, index: int, step: Step, op: Op) -> Call:
    if not _same_shape(e.program, op):
        return _binary(e, op, "ADD")
    t = e.program.tensors
    y = op.outputs[0]
    if e.program.form_of(op) == "float":
        p = e.program.params_of(op)
        e.use("eb_f32_add_ref")
        args = [str(t[y].numel), e.ptr(op.inputs[0]), e.ptr(op.inputs[1]), c_float(p.lo), c_float(p.hi)]
        args.append(e.ptr(y, const=False))
        return Call([f"eb_f32_add_ref({', '.join(args)});"], ["eb_f32_add_ref"])
    fields = {**e.vadd_fields(op), "table": "NULL"}  # table: the arm64 NEON kernel's only
    args = [str(t[y].numel), e.ptr(op.inputs[0]), e.ptr(op.inputs[1]), e.ptr(y, const=False)]
    return _variant_call(e, index, op, "eb_qs8_vadd_ref", "eb_qs8_vadd_params", fields, args)


def _pool(e: Emitter, index: int, step: Step, op: Op) -> Call:
    fields = e.pool_fields(op)
    x, y = e.ptr(op.inputs[0]), e.ptr(op.outputs[0], const=False)
    kind = "maxpool" if op.opcode == OpCode.MAX_POOL2D else "avgpool"
    if e.program.form_of(op) == "float":
        fn = f"eb_f32_{kind}_ref"
        p = e.params("eb_f32_pool_params", fields)
        e.use(fn)
        return Call([f"{fn}(&{p}, {x}, {y});"], [fn])
    return _variant_call(e, index, op, f"eb_qs8_{kind}_ref", f"eb_qs8_{kind}_params", fields, [x, y])


def _reshape(e: Emitter, index: int, step: Step, op: Op) -> Call:
    x, y = op.inputs[0], op.outputs[0]
    if e.plan.offsets.get(x) == e.plan.offsets.get(y):
        return Call([], [])  # an alias (memplan.py): the same bytes
    e.use("eb_xx_copy_ref")
    n = e.program.tensors[x].nbytes
    return Call([f"eb_xx_copy_ref({n}, {e.ptr(x)}, {e.ptr(y, const=False)});"], ["eb_xx_copy_ref"])


def _clamp(e: Emitter, index: int, step: Step, op: Op) -> Call:
    p = e.program.params_of(op)
    n = e.program.tensors[op.inputs[0]].numel
    x, y = e.ptr(op.inputs[0]), e.ptr(op.outputs[0], const=False)
    if e.program.form_of(op) == "float":
        e.use("eb_f32_clamp_ref")
        return Call([f"eb_f32_clamp_ref({n}, {x}, {y}, {c_float(p.lo)}, {c_float(p.hi)});"], ["eb_f32_clamp_ref"])
    e.use("eb_qs8_clamp_ref")
    return Call([f"eb_qs8_clamp_ref({n}, {x}, {y}, {p.act_min}, {p.act_max});"], ["eb_qs8_clamp_ref"])


def _concat(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    y = t[op.outputs[0]]
    p = e.program.params_of(op)
    axis = p.axis
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64))
    yp = e.ptr(op.outputs[0], const=False)
    lines: list[str] = []
    slot = 0
    if e.program.form_of(op) == "float":
        e.use("eb_xx_copy_ref")
        out_row = y.shape[axis] * inner * 4
        for i in op.inputs:
            row = t[i].shape[axis] * inner * 4
            lines.append(
                f"for (size_t o = 0; o < {outer}; ++o) eb_xx_copy_ref({row}, (const uint8_t*){e.ptr(i)} + o * {row}, "
                f"(uint8_t*){yp} + o * {out_row} + {slot});"
            )
            slot += row
        return Call(lines, ["eb_xx_copy_ref"])
    e.use("eb_qs8_concat_ref")
    out_row = y.shape[axis] * inner
    for j, i in enumerate(op.inputs):
        row = t[i].shape[axis] * inner
        f = {
            "outer": outer,
            "input_row": row,
            "output_stride": out_row,
            "input_zero_point": t[i].zero_point,
            "output_zero_point": y.zero_point,
            "multiplier": p.input_requant[2 * j],
            "shift": p.input_requant[2 * j + 1],
        }
        name = e.params("eb_qs8_concat_params", f)
        lines.append(f"eb_qs8_concat_ref(&{name}, {e.ptr(i)}, {yp} + {slot});")
        slot += row
    return Call(lines, ["eb_qs8_concat_ref"])


def _pad(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x, y = op.inputs[0], op.outputs[0]
    p = e.program.params_of(op)
    before = e.i32_array("pad", list(p.before))
    if e.program.form_of(op) == "float":
        value, ctype, size = c_float(p.value), "float", 4
    elif t[x].dtype == DType.INT8:
        value, ctype, size = str(int(p.value)), "int8_t", 1
    else:
        value, ctype, size = str(int(p.value)), _CTYPE[t[x].dtype], t[x].dtype.itemsize
    v = e._name("padv")
    e.statics.append(f"static const {ctype} {v} = {value};")
    e.use("eb_xx_pad_ref")
    args = [str(size), str(len(t[x].shape)), e.dims(x), before, e.dims(y), f"&{v}", e.ptr(x), e.ptr(y, const=False)]
    return Call([f"eb_xx_pad_ref({', '.join(args)});"], ["eb_xx_pad_ref"])


def _transpose(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x = op.inputs[0]
    perm = e.i32_array("perm", list(e.program.params_of(op).perm))
    e.use("eb_xx_transpose_ref")
    args = [str(t[x].dtype.itemsize), str(len(t[x].shape)), e.dims(x), perm, e.ptr(x), e.ptr(op.outputs[0], const=False)]
    return Call([f"eb_xx_transpose_ref({', '.join(args)});"], ["eb_xx_transpose_ref"])


def _softmax(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x = t[op.inputs[0]]
    cols = x.shape[-1] if x.shape else 1
    if cols == 0:
        return Call([], [])
    rows = x.numel // cols
    xp, yp = e.ptr(op.inputs[0]), e.ptr(op.outputs[0], const=False)
    if e.program.form_of(op) == "float":
        e.use("eb_f32_softmax_ref")
        return Call([f"eb_f32_softmax_ref({rows}, {cols}, {xp}, {yp});"], ["eb_f32_softmax_ref"])
    p = e.program.params_of(op)
    e.use("eb_qs8_softmax_ref")
    call = f"eb_qs8_softmax_ref({rows}, {cols}, {xp}, {yp}, {p.input_mult}, {p.input_shift}, {p.diff_min});"
    return Call([call], ["eb_qs8_softmax_ref"])


def _reduce(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x = op.inputs[0]
    p = e.program.params_of(op)
    rank = len(t[x].shape)
    head = [str(int(p.func)), str(rank), e.dims(x), f"{int(p.axes)}u"]
    yv = e.ptr(op.outputs[0], const=False)
    if t[x].dtype == DType.FLOAT32:
        fn, args = "eb_xx_reduce_ref", [*head, c_float(p.correction), e.ptr(x), f"(void*){yv}"]
    elif t[x].dtype == DType.INT32:
        fn, args = "eb_xx_reduce_s32_ref", [*head, e.ptr(x), f"(int32_t*){yv}"]
    else:
        fn, args = "eb_xx_reduce_s8_ref", [*head, e.ptr(x), f"(void*){yv}"]
    e.use(fn)
    return Call([f"{fn}({', '.join(args)});"], [fn])


def _quantize(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x, y = op.inputs[0], op.outputs[0]
    p = e.program.params_of(op)
    args_tail = [e.ptr(x), e.ptr(y, const=False), c_float(p.inv_scale), str(t[y].zero_point)]
    if p.to_nhwc:
        fn, head = "eb_qs8_quantize_to_nhwc_ref", [str(d) for d in t[x].shape]
    else:
        fn, head = "eb_qs8_quantize_ref", [str(t[x].numel)]
    e.use(fn)
    return Call([f"{fn}({', '.join(head + args_tail)});"], [fn])


def _dequantize(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x, y = op.inputs[0], op.outputs[0]
    p = e.program.params_of(op)
    tail = [e.ptr(x), e.ptr(y, const=False), c_float(t[x].scale), str(t[x].zero_point)]
    if p.to_nchw:
        fn, head = "eb_qs8_dequantize_to_nchw_ref", [str(d) for d in t[x].shape]
    else:
        fn, head = "eb_qs8_dequantize_ref", [str(t[x].numel)]
    e.use(fn)
    return Call([f"{fn}({', '.join(head + tail)});"], [fn])


_EMITTERS: dict[OpCode, Fn] = {
    OpCode.QUANTIZE: _quantize,
    OpCode.DEQUANTIZE: _dequantize,
    OpCode.CONV2D: _conv,
    OpCode.DEPTHWISE_CONV2D: _conv,
    OpCode.FULLY_CONNECTED: _fc,
    OpCode.ADD: _add,
    OpCode.SUB: lambda e, i, s, op: _binary(e, op, "SUB"),
    OpCode.MUL: lambda e, i, s, op: _binary(e, op, "MUL"),
    OpCode.AVG_POOL2D: _pool,
    OpCode.MAX_POOL2D: _pool,
    OpCode.RESHAPE: _reshape,
    OpCode.CLAMP: _clamp,
    OpCode.CONCAT: _concat,
    OpCode.PAD: _pad,
    OpCode.TRANSPOSE: _transpose,
    OpCode.SOFTMAX: _softmax,
    OpCode.REDUCE: _reduce,
}
SUPPORTED = frozenset(op.name for op in _EMITTERS)
