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
from .memplan import McuPlan, Step, chain_schedule, conv_geometry
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
    "eb_qs8_lut_ref": ("ukernels/qs8-lut/ref.cc",),
    "eb_f32_unary_ref": ("ukernels/f32-unary/ref.cc",),
    "eb_xx_gather_broadcast_ref": ("ukernels/xx-gather/ref.cc",),
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


def conv_fields(program: Program, op: Op) -> dict[str, Any]:
    """eb_qs8_conv_params (eb_f32_conv_params for the float form) of a CONV2D / DEPTHWISE_CONV2D, field by field as
    kernels/runtime/ops/conv2d.cc fills it: the `Params` the variant registry sees (bench/mcu.py uses it too)."""
    t = program.tensors
    x, w, y = t[op.inputs[0]], t[op.inputs[1]], t[op.outputs[0]]
    p = program.params_of(op)
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
    if program.form_of(op) == "float":
        f.update(output_min=float(p.lo), output_max=float(p.hi))
    else:
        f.update(
            input_zero_point=x.zero_point,
            output_zero_point=y.zero_point,
            output_min=p.act_min,
            output_max=p.act_max,
        )
    return f


def gemm_fields(program: Program, op: Op) -> dict[str, Any]:
    """eb_qs8_gemm_params of a FULLY_CONNECTED, as kernels/runtime/ops/fully_connected.cc fills it."""
    t = program.tensors
    x, w, y = t[op.inputs[0]], t[op.inputs[1]], t[op.outputs[0]]
    p = program.params_of(op)
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


@dataclass
class Emitter:
    program: Program
    plan: McuPlan
    isa: str | None
    statics: list[str] = field(default_factory=list)  # model.c file-scope declarations (params, dims)
    data: dict[str, tuple[str, np.ndarray]] = field(
        default_factory=dict
    )  # model_data.c arrays: name -> (ctype, a)
    prototypes: dict[str, str] = field(default_factory=dict)  # variant symbol -> its declaration
    sources: list[str] = field(default_factory=list)
    packed: dict[tuple[int, str], str] = field(
        default_factory=dict
    )  # (weights tensor, variant) -> array name
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
        return conv_fields(self.program, op)

    def gemm_fields(self, op: Op) -> dict[str, Any]:
        return gemm_fields(self.program, op)

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

        weighted = op.opcode in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D, OpCode.FULLY_CONNECTED)

        def data(k: int) -> np.ndarray | None:  # add and the pools have no constants: all None
            i = op.inputs[k] if weighted else -1
            return None if i < 0 else t[i].data

        return {
            "weights": data(1),
            "bias": data(2),
            "multiplier": data(3),
            "shift": data(4),
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
        if step.kind == "conv_stream":
            return self.emit_conv_stream(index, step)
        if step.kind == "chain":
            return self.emit_chain(index, step)
        op = self.program.ops[step.ops[0]]
        fn = _EMITTERS.get(op.opcode)
        if fn is None:
            raise unsupported(op)
        return fn(self, index, step, op)

    def emit_conv_add(self, index: int, step: Step) -> Call:
        """A conv computed a band of output rows at a time into scratch, each band added in place into the skip
        tensor (memplan.py)."""
        add = self.program.ops[step.ops[1]]
        av = self.variant_of(add)
        fields = self.vadd_fields(add)
        p_add = self.params("eb_qs8_vadd_params", {**fields, "table": "NULL"})
        add_fn = av.function if av else "eb_qs8_vadd_ref"
        self.use_variant(av) if av else self.use("eb_qs8_vadd_ref")
        if av is not None and av.scratch_bytes(fields) > 0:
            raise EdgebuildError(
                f"op {add.name!r}: add variant {av.function} needs scratch inside a fused conv"
            )
        ab = ["(const int8_t*)band", f"{self.ptr(add.inputs[1 - step.add_conv_operand])} + off"]
        if step.add_conv_operand == 1:
            ab.reverse()
        out = f"(int8_t*)(eb_arena + {self.plan.offsets[add.outputs[0]]})"
        args = ["rows_bytes", *ab, f"{out} + off", *self.extra_args(add, av, fields, f"{index}a")]
        return self._banded(index, step, f"{add_fn}(&{p_add}, {', '.join(args)});", add_fn)

    def emit_conv_stream(self, index: int, step: Step) -> Call:
        """A conv computed a band of rows at a time into scratch, each band copied into its place, which overlaps
        the conv's input where the rows still to come no longer read it (memplan._stream_offset)."""
        y = self.program.ops[step.ops[0]].outputs[0]
        out = f"(eb_arena + {self.plan.offsets[y]})"
        return self._banded(index, step, f"memcpy({out} + off, band, rows_bytes);", "memcpy")

    def chain_bands(self, step: Step) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The parameters conv A and conv B of a chain are called with, band by band (model.c's loop)."""
        a, b = (self.program.ops[i] for i in step.ops[:2])
        fa, fb = self.conv_fields(a), self.conv_fields(b)
        pa, pb = [], []
        for r0, n, wlo, a0, an, _ in chain_schedule(
            conv_geometry(self.program, step.ops[0]), fb, step.band_rows
        ):
            if an > 0:
                ih0 = a0 * fa["stride_height"] - fa["pad_top"]
                h = fa["input_height"] if ih0 < 0 else fa["input_height"] - ih0
                pa.append({**fa, "output_height": an, "pad_top": max(0, -ih0), "input_height": h})
            ib0 = r0 * fb["stride_height"] - fb["pad_top"] - wlo
            h = fb["input_height"] - wlo - max(ib0, 0)
            pb.append({**fb, "output_height": n, "pad_top": max(0, -ib0), "input_height": h})
        return pa, pb

    def emit_chain(self, index: int, step: Step) -> Call:
        """conv A -> conv B [-> ADD]: B a band of rows at a time; before each band the window of A's output
        drops the rows no later band reads (memmove to its start) and A computes the rows the band reads next
        (memplan.chain_schedule). Every call is the reference conv on a band (input moved, pad_top and
        input_height adjusted), so every element is the whole conv's sum (docs/quantization.md (6))."""
        prog = self.program
        a, b = prog.ops[step.ops[0]], prog.ops[step.ops[1]]
        fa, fb = self.conv_fields(a), self.conv_fields(b)
        bands_a, bands_b = self.chain_bands(step)
        va, vb = self.variant_of(a, bands_a), self.variant_of(b, bands_b)
        fn_a = va.function if va else "eb_qs8_conv_ref"
        fn_b = vb.function if vb else "eb_qs8_conv_ref"
        for v in (va, vb):
            self.use_variant(v) if v else self.use("eb_qs8_conv_ref")
        p_a = self.params("eb_qs8_conv_params", fa)
        p_b = self.params("eb_qs8_conv_params", fb)
        x, h = prog.tensors[a.inputs[0]], prog.tensors[a.outputs[0]]
        y = prog.tensors[b.outputs[0]]
        xrow, hrow, yrow = (t.shape[2] * t.shape[3] for t in (x, h, y))
        hh, oh, rows = fb["input_height"], fb["output_height"], step.band_rows
        sb, pb_, khb, dhb = fb["stride_height"], fb["pad_top"], fb["kernel_height"], fb["dilation_height"]
        sa, pa_, ha = fa["stride_height"], fa["pad_top"], fa["input_height"]
        win = f"((int8_t*)(eb_arena + {self.plan.scratch[step.window][0]}))"
        args_a = self.weight_args(a, va, fa) + ["win + (size_t)(whi - wlo) * " + str(hrow)]
        args_a += self.extra_args(a, va, fa, f"{index}a")
        if va is not None and self.variant_scratch(a, bands_a) > 0:
            args_a.append(self.scratch_ptr(step.kernel_scratch))
        if len(step.ops) == 3:
            out = "band"
        else:
            out = f"(int8_t*)(eb_arena + {self.plan.offsets[b.outputs[0]]}) + (size_t)r0 * {yrow}"
        args_b = self.weight_args(b, vb, fb) + [out] + self.extra_args(b, vb, fb, f"{index}b")
        if vb is not None and self.variant_scratch(b, bands_b) > 0:
            args_b.append(self.scratch_ptr(step.kernel_scratch))
        lines = [
            "{",
            f"  eb_qs8_conv_params pa = {p_a}, pb = {p_b};",
            f"  int8_t* win = {win};",
            "  int32_t wlo = 0, whi = 0;",
        ]
        functions = [fn_b, fn_a]
        if len(step.ops) == 3:
            add = prog.ops[step.ops[2]]
            av = self.variant_of(add)
            afields = self.vadd_fields(add)
            if av is not None and av.scratch_bytes(afields) > 0:
                raise EdgebuildError(
                    f"op {add.name!r}: add variant {av.function} needs scratch inside a chain"
                )
            p_add = self.params("eb_qs8_vadd_params", {**afields, "table": "NULL"})
            add_fn = av.function if av else "eb_qs8_vadd_ref"
            self.use_variant(av) if av else self.use("eb_qs8_vadd_ref")
            ab = ["(const int8_t*)band", f"{self.ptr(add.inputs[1 - step.add_conv_operand])} + off"]
            if step.add_conv_operand == 1:
                ab.reverse()
            dst = f"(int8_t*)(eb_arena + {self.plan.offsets[add.outputs[0]]}) + off"
            aargs = ["(size_t)rows * " + str(yrow), *ab, dst, *self.extra_args(add, av, afields, f"{index}d")]
            lines.append(f"  int8_t* band = ((int8_t*)(eb_arena + {self.plan.scratch[step.scratch][0]}));")
            tail = [
                f"    const size_t off = (size_t)r0 * {yrow};",
                f"    {add_fn}(&{p_add}, {', '.join(aargs)});",
            ]
            functions.append(add_fn)
        else:
            tail = []
        lines += [
            f"  for (int32_t r0 = 0; r0 < {oh}; r0 += {rows}) {{",
            f"    const int32_t rows = {oh} - r0 < {rows} ? {oh} - r0 : {rows};",
            f"    int32_t lo = r0 * {sb} - {pb_}, hi = (r0 + rows - 1) * {sb} - {pb_} + {(khb - 1) * dhb + 1};",
            "    if (lo < 0) lo = 0;",
            f"    if (hi > {hh}) hi = {hh};",
            "    if (hi < lo) hi = lo;",
            "    if (lo > wlo) {  // drop the rows no band reads again",
            f"      if (whi > lo) memmove(win, win + (size_t)(lo - wlo) * {hrow}, (size_t)(whi - lo) * {hrow});",
            "      else whi = lo;",
            "      wlo = lo;",
            "    }",
            "    if (hi > whi) {  // A's rows [whi, hi) into the window",
            f"      const int32_t ih0 = whi * {sa} - {pa_};",
            "      pa.output_height = hi - whi;",
            "      pa.pad_top = ih0 < 0 ? -ih0 : 0;",
            f"      pa.input_height = ih0 < 0 ? {ha} : {ha} - ih0;",
            f"      {fn_a}(&pa, {self.ptr(a.inputs[0])} + (ih0 < 0 ? 0 : (size_t)ih0 * {xrow}), {', '.join(args_a)});",
            "      whi = hi;",
            "    }",
            "    {  // B's rows [r0, r0 + rows) from the window",
            f"      const int32_t ib0 = r0 * {sb} - {pb_} - wlo;",
            "      pb.output_height = rows;",
            "      pb.pad_top = ib0 < 0 ? -ib0 : 0;",
            f"      pb.input_height = {hh} - wlo - (ib0 < 0 ? 0 : ib0);",
            f"      {fn_b}(&pb, (const int8_t*)win + (ib0 < 0 ? 0 : (size_t)ib0 * {hrow}), {', '.join(args_b)});",
            "    }",
            *tail,
            "  }",
            "}",
        ]
        return Call(lines, functions)

    def _banded(self, index: int, step: Step, tail: str, tail_fn: str) -> Call:
        """The conv of `step` a band of step.band_rows output rows at a time into the band scratch, then `tail`
        (band rows [r0, r0 + rows) are at byte `off` of the output, `rows_bytes` long). A band is the reference
        conv with the input moved to the band's first input row and pad_top / input_height adjusted, so every
        output element is the same sum as the whole conv's (docs/quantization.md (6))."""
        conv = self.program.ops[step.ops[0]]
        fields = self.conv_fields(conv)
        bands = [b for _, b in band_params(fields, step.band_rows)]
        cv = self.variant_of(conv, bands)
        p_conv = self.params("eb_qs8_conv_params", fields)
        x = self.program.tensors[conv.inputs[0]]
        y = self.program.tensors[conv.outputs[0]]
        row_in = x.shape[2] * x.shape[3]
        row_out = y.shape[2] * y.shape[3]
        band = f"((int8_t*)(eb_arena + {self.plan.scratch[step.scratch][0]}))"
        conv_fn = cv.function if cv else "eb_qs8_conv_ref"
        self.use_variant(cv) if cv else self.use("eb_qs8_conv_ref")
        cargs = self.weight_args(conv, cv, fields)
        cargs += ["band", *self.extra_args(conv, cv, fields, f"{index}c")]
        if cv is not None and self.variant_scratch(conv, bands) > 0:
            cargs.append(self.scratch_ptr(step.kernel_scratch))
        oh, rows = y.shape[1], step.band_rows
        lines = [
            "{",
            f"  eb_qs8_conv_params p = {p_conv};",
            f"  int8_t* band = {band};",
            f"  for (int32_t r0 = 0; r0 < {oh}; r0 += {rows}) {{",
            f"    const int32_t rows = {oh} - r0 < {rows} ? {oh} - r0 : {rows};",
            f"    const int32_t ih0 = r0 * {fields['stride_height']} - {fields['pad_top']};",
            f"    const size_t off = (size_t)r0 * {row_out}, rows_bytes = (size_t)rows * {row_out};",
            "    p.output_height = rows;",
            "    p.pad_top = ih0 < 0 ? -ih0 : 0;",
            f"    p.input_height = ih0 < 0 ? {x.shape[1]} : {x.shape[1]} - ih0;",
            f"    {conv_fn}(&p, {self.ptr(conv.inputs[0])} + (ih0 < 0 ? 0 : (size_t)ih0 * {row_in}), "
            + ", ".join(cargs)
            + ");",
            f"    {tail}",
            "  }",
            "}",
        ]
        return Call(lines, [conv_fn, tail_fn])


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


def _variant_call(
    e: Emitter, index: int, op: Op, ref: str, struct: str, fields: dict[str, Any], args: list[str]
) -> Call:
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
        args = [
            e.ptr(op.inputs[0]),
            e.ptr(op.inputs[1]),
            e.ptr(op.inputs[2]),
            e.ptr(op.outputs[0], const=False),
        ]
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
            left_shift=p.left_shift,
            a_multiplier=p.a_mult,
            a_shift=p.a_shift,
            b_multiplier=p.b_mult,
            b_shift=p.b_shift,
        )
    f.update(
        output_multiplier=p.out_mult, output_shift=p.out_shift, output_min=p.act_min, output_max=p.act_max
    )
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
        return Call(
            [f"eb_f32_clamp_ref({n}, {x}, {y}, {c_float(p.lo)}, {c_float(p.hi)});"], ["eb_f32_clamp_ref"]
        )
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
    args = [
        str(size),
        str(len(t[x].shape)),
        e.dims(x),
        before,
        e.dims(y),
        f"&{v}",
        e.ptr(x),
        e.ptr(y, const=False),
    ]
    return Call([f"eb_xx_pad_ref({', '.join(args)});"], ["eb_xx_pad_ref"])


def _transpose(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x = op.inputs[0]
    perm = e.i32_array("perm", list(e.program.params_of(op).perm))
    e.use("eb_xx_transpose_ref")
    args = [
        str(t[x].dtype.itemsize),
        str(len(t[x].shape)),
        e.dims(x),
        perm,
        e.ptr(x),
        e.ptr(op.outputs[0], const=False),
    ]
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


def _unary(e: Emitter, index: int, step: Step, op: Op) -> Call:
    """UNARY: int8 through its constant [T, 256] table (qs8-lut), float32 by the formula (slope table for PRELU)."""
    t = e.program.tensors
    x, table = op.inputs[0], op.inputs[1]
    channels = t[x].shape[-1] if t[x].shape else 1
    xp, yp = e.ptr(x), e.ptr(op.outputs[0], const=False)
    if e.program.form_of(op) == "int8":
        e.use("eb_qs8_lut_ref")
        args = [str(t[x].numel), str(channels), str(t[table].shape[0]), e.ptr(table), xp, yp]
        return Call([f"eb_qs8_lut_ref({', '.join(args)});"], ["eb_qs8_lut_ref"])
    p = e.program.params_of(op)
    slopes = t[table].shape[0] if table >= 0 else 1
    e.use("eb_f32_unary_ref")
    args = [
        str(int(p.func)),
        str(t[x].numel),
        str(channels),
        str(slopes),
        e.ptr(table),
        c_float(p.alpha),
        xp,
        yp,
    ]
    return Call([f"eb_f32_unary_ref({', '.join(args)});"], ["eb_f32_unary_ref"])


def _broadcast_to(e: Emitter, index: int, step: Step, op: Op) -> Call:
    t = e.program.tensors
    x, y = op.inputs[0], op.outputs[0]
    e.use("eb_xx_gather_broadcast_ref")
    args = [
        str(t[x].dtype.itemsize),
        str(len(t[x].shape)),
        e.dims(x),
        e.dims(y),
        e.ptr(x),
        e.ptr(y, const=False),
    ]
    return Call([f"eb_xx_gather_broadcast_ref({', '.join(args)});"], ["eb_xx_gather_broadcast_ref"])


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
    OpCode.UNARY: _unary,
    OpCode.BROADCAST_TO: _broadcast_to,
}
SUPPORTED = frozenset(op.name for op in _EMITTERS)
