"""aot: a lowered, planned Program compiled ahead of time to C for a microcontroller (model.c, model.h,
model_data.c). No interpreter, no malloc: model.c calls the kernels in order on one static arena at offsets the MCU
memory plan (memplan.py) fixed at build time; weights are `const` arrays in flash, read in place; each call's
parameter struct is a `static const` initializer computed here exactly as the host runtime computes it at load
(emit.py), so every output byte equals the host runtime's.

The float edges of the model run outside the arena: `eb_model_set_input_f32` quantizes the caller's float buffer
straight into the int8 input tensor, `eb_model_get_output_f32` dequantizes the int8 output into the caller's float
buffer, each with the reference kernel the host's QUANTIZE / DEQUANTIZE op runs (the same bits). `eb_model_run` runs
the int8 middle only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgebuildError
from ..ir import DType, Program
from .emit import SUPPORTED, Emitter, band_params, c_float, unsupported
from .memplan import McuPlan, Step, find_edges, plan_mcu

__all__ = ["AotBundle", "write_model_sources"]

MODEL_C, MODEL_H, MODEL_DATA_C = "model.c", "model.h", "model_data.c"


@dataclass
class AotBundle:
    files: list[Path]
    kernel_sources: list[str]  # relative to kernels/, e.g. "ukernels/qs8-conv/ref.cc"
    arena_bytes: int
    weights_bytes: int  # the const arrays of model_data.c
    # per model input / output: name, shape (the float tensor's), dtype and arena_shape (the tensor in the arena:
    # eb_model_input / eb_model_output), scale, zero_point, f32_count, tensor (its id in the Program)
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    # per op of eb_model_run (as profiled): index, type ("CONV2D", or "CONV2D+ADD" fused), name, function (the
    # kernel it calls), functions (every function its code calls), fused (the source ops' names), output (tensor id)
    ops: list[dict[str, Any]]
    # For comparison: the ordinary plan's live-tensor lower bound over the same int8 middle (edgebuild/plan.py's
    # 64-byte alignment, no in-place, no fusion), and the host build's arena (plan.py over the whole program,
    # float edges included: Program.arena_bytes as planned).
    baseline_arena_bytes: int = 0
    host_arena_bytes: int = 0
    plan_notes: list[str] = field(default_factory=list)  # what the MCU plan did (fusions, in place, streamed)


def write_model_sources(program: Program, out_dir: Path, *, isa: str | None) -> AotBundle:
    """Write out_dir/model.c, model.h and model_data.c for `program` on a core with `isa` ("dsp", "mve" or None:
    reference kernels only)."""
    edges = find_edges(program)
    edge_ops = edges.edge_ops()
    for i, op in enumerate(program.ops):
        if i not in edge_ops and op.opcode.name not in SUPPORTED:
            raise unsupported(op)
    io_in = [_input_io(program, edges, t) for t in program.inputs]
    io_out = [_output_io(program, edges, t) for t in program.outputs]

    # The scratch each step's kernel variant asks for does not depend on the plan (only on the op and its bands).
    probe = Emitter(program, plan_mcu(program, edges, fuse=False, inplace=False), isa)
    plan = plan_mcu(program, edges, kernel_scratch=lambda st: _step_scratch(probe, st))
    em = Emitter(program, plan, isa)

    body: list[str] = []
    ops: list[dict[str, Any]] = []
    profiled = 0
    for index, step in enumerate(plan.steps):
        call = em.emit_step(index, step)
        if not call.lines:
            continue  # an alias: no code, not an op of the profile
        src = [program.ops[i] for i in step.ops]
        y = src[-1].outputs[0]
        ops.append(
            {
                "index": profiled,
                "type": "+".join(o.opcode.name for o in src),
                "name": src[-1].name if step.kind == "conv_add" else src[0].name,
                "function": call.functions[0],
                "functions": call.functions,
                "fused": [o.name for o in src],
                "output": y,
            }
        )
        names = " + ".join(repr(o.name) for o in src)
        body.append(f"  // op {profiled}: {ops[-1]['type']} {names}")
        body.append("  EB_OP_BEGIN();")
        body += ["  " + line for line in call.lines]
        body.append("  EB_OP_END();")
        body.append(f"  EB_TRACE({profiled}, {plan.offsets[y]}, {program.tensors[y].nbytes});")
        profiled += 1

    io_code = _io_functions(em, program, edges, io_in, io_out)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = str(program.metadata.get("model") or "model")
    arena = max(plan.arena_bytes, 16)
    files = [
        _write(out_dir / MODEL_H, _model_h(arena, io_in, io_out, profiled)),
        _write(out_dir / MODEL_C, _model_c(em, body, io_code, name)),
        _write(out_dir / MODEL_DATA_C, _model_data_c(em)),
    ]
    weights = sum(a.nbytes for _, a in em.data.values())
    return AotBundle(
        files,
        list(em.sources),
        arena,
        weights,
        io_in,
        io_out,
        ops,
        plan.baseline_bytes,
        program.arena_bytes,
        list(plan.notes),
    )


def _step_scratch(em: Emitter, step: Step) -> int:
    prog = em.program
    op = prog.ops[step.ops[0]]
    if step.kind == "chain":  # A and B run one after the other: one scratch serves both
        bands_a, bands_b = em.chain_bands(step)
        return max(em.variant_scratch(op, bands_a), em.variant_scratch(prog.ops[step.ops[1]], bands_b))
    if step.kind in ("conv_add", "conv_stream"):
        bands = [b for _, b in band_params(em.conv_fields(op), step.band_rows)]
        return em.variant_scratch(op, bands)
    return em.variant_scratch(op) if em.variant_params(op) is not None else 0


def _io_entry(program: Program, t: int, arena: int) -> dict[str, Any]:
    """A model input or output `t` as the API exposes it: `arena` is the int8 tensor its QUANTIZE writes / its
    DEQUANTIZE reads (the float32 tensor itself, `t`, when the edge is not quantized)."""
    tensor, held = program.tensors[t], program.tensors[arena]
    quantized = arena != t
    return {
        "name": tensor.name,
        "shape": list(tensor.shape),
        "dtype": "int8" if quantized else "float32",
        "tensor": arena,
        "arena_shape": list(held.shape),
        "scale": float(np.float32(held.scale)) if quantized else 0.0,
        "zero_point": int(held.zero_point) if quantized else 0,
        "f32_count": tensor.numel,
    }


def _input_io(program: Program, edges: Any, t: int) -> dict[str, Any]:
    tensor = program.tensors[t]
    if t in edges.quantize:
        return _io_entry(program, t, program.ops[edges.quantize[t]].outputs[0])
    if tensor.dtype != DType.FLOAT32:
        raise EdgebuildError(
            f"model input {tensor.name!r} is {tensor.dtype.name.lower()}: the microcontroller API takes float32 "
            "inputs (quantized in eb_model_set_input_f32); give the model float inputs"
        )
    return _io_entry(program, t, t)


def _output_io(program: Program, edges: Any, t: int) -> dict[str, Any]:
    tensor = program.tensors[t]
    if t in edges.dequantize:
        return _io_entry(program, t, program.ops[edges.dequantize[t]].inputs[0])
    if tensor.dtype != DType.FLOAT32:
        producer = next((op for op in program.ops if t in op.outputs), None)
        what = f" ({producer.opcode.name} {producer.name!r})" if producer else ""
        raise EdgebuildError(
            f"model output {tensor.name!r}{what} is {tensor.dtype.name.lower()}: the microcontroller API gives "
            "float32 outputs; end the model on a float tensor"
        )
    return _io_entry(program, t, t)


def _io_functions(em: Emitter, program: Program, edges: Any, io_in: list, io_out: list) -> list[str]:
    plan: McuPlan = em.plan
    tensors = program.tensors
    lines: list[str] = []

    def table(ctype: str, name: str, values: list[str]) -> None:
        lines.append(f"static {ctype} const {name}[{max(len(values), 1)}] = {{{', '.join(values) or '0'}}};")

    table("size_t", "eb_in_offset", [str(plan.offsets[d["tensor"]]) for d in io_in])
    table("size_t", "eb_in_bytes", [str(tensors[d["tensor"]].nbytes) for d in io_in])
    table("size_t", "eb_in_f32", [str(d["f32_count"]) for d in io_in])
    table("size_t", "eb_out_offset", [str(plan.offsets[d["tensor"]]) for d in io_out])
    table("size_t", "eb_out_bytes", [str(tensors[d["tensor"]].nbytes) for d in io_out])
    table("size_t", "eb_out_f32", [str(d["f32_count"]) for d in io_out])
    lines += [
        "",
        "void* eb_model_input(int i) { return eb_arena + eb_in_offset[i]; }",
        "size_t eb_model_input_bytes(int i) { return eb_in_bytes[i]; }",
        "const void* eb_model_output(int i) { return eb_arena + eb_out_offset[i]; }",
        "size_t eb_model_output_bytes(int i) { return eb_out_bytes[i]; }",
        "size_t eb_model_input_f32_count(int i) { return eb_in_f32[i]; }",
        "size_t eb_model_output_f32_count(int i) { return eb_out_f32[i]; }",
        "",
        "// The model's QUANTIZE ops, from the caller's float buffer into the int8 input tensors (docs/quantization.md (1)).",
        "void eb_model_set_input_f32(int i, const float* x) {",
        "  switch (i) {",
    ]
    for i, (t, d) in enumerate(zip(program.inputs, io_in)):
        dst = f"(int8_t*)(eb_arena + {plan.offsets[d['tensor']]})"
        if t in edges.quantize:
            op = program.ops[edges.quantize[t]]
            p = program.params_of(op)
            zp = tensors[op.outputs[0]].zero_point
            if p.to_nhwc:
                fn, head = "eb_qs8_quantize_to_nhwc_ref", [str(s) for s in tensors[t].shape]
            else:
                fn, head = "eb_qs8_quantize_ref", [str(tensors[t].numel)]
            em.use(fn)
            lines.append(
                f"    case {i}: {fn}({', '.join(head)}, x, {dst}, {c_float(p.inv_scale)}, {zp}); break;"
            )
        else:
            lines.append(
                f"    case {i}: memcpy(eb_arena + {plan.offsets[t]}, x, {tensors[t].nbytes}); break;"
            )
    lines += ["    default: break;", "  }", "}", ""]
    lines += [
        "// The model's DEQUANTIZE ops, from the int8 output tensors into the caller's float buffer (docs/quantization.md (2)).",
        "void eb_model_get_output_f32(int i, float* y) {",
        "  switch (i) {",
    ]
    for i, (t, d) in enumerate(zip(program.outputs, io_out)):
        if t in edges.dequantize:
            op = program.ops[edges.dequantize[t]]
            x = op.inputs[0]
            src = f"(const int8_t*)(eb_arena + {plan.offsets[x]})"
            if program.params_of(op).to_nchw:
                fn, head = "eb_qs8_dequantize_to_nchw_ref", [str(s) for s in tensors[x].shape]
            else:
                fn, head = "eb_qs8_dequantize_ref", [str(tensors[x].numel)]
            em.use(fn)
            q = f"{c_float(tensors[x].scale)}, {tensors[x].zero_point}"
            lines.append(f"    case {i}: {fn}({', '.join(head)}, {src}, y, {q}); break;")
        else:
            lines.append(
                f"    case {i}: memcpy(y, eb_arena + {plan.offsets[t]}, {tensors[t].nbytes}); break;"
            )
    lines += ["    default: break;", "  }", "}"]
    return lines


def _model_h(arena: int, io_in: list, io_out: list, num_ops: int) -> str:
    def describe(kind: str, items: list) -> list[str]:
        out = []
        for i, d in enumerate(items):
            q = f", scale {d['scale']!r}, zero point {d['zero_point']}" if d["dtype"] == "int8" else ""
            out.append(
                f"// {kind} {i}: {d['name']!r}, float32 {d['shape']}; in the arena {d['dtype']} {d['arena_shape']}{q}"
            )
        return out

    return "\n".join(
        [
            "// model.h: generated by edgebuild (edgebuild/mcu/aot.py); do not edit.",
            "#ifndef EB_MODEL_H_",
            "#define EB_MODEL_H_",
            "",
            "#include <stddef.h>",
            "",
            *describe("input", io_in),
            *describe("output", io_out),
            f"#define EB_MODEL_ARENA_BYTES {arena}",
            f"#define EB_MODEL_NUM_INPUTS {len(io_in)}",
            f"#define EB_MODEL_NUM_OUTPUTS {len(io_out)}",
            f"#define EB_MODEL_NUM_OPS {num_ops}",
            "",
            "#ifdef __cplusplus",
            'extern "C" {',
            "#endif",
            "",
            "// The tensors as the kernels use them, inside the arena (NHWC for images). eb_model_run may overwrite an",
            "// input tensor (ops run in place over tensors they are the last reader of): set the inputs before each run.",
            "void* eb_model_input(int i);",
            "size_t eb_model_input_bytes(int i);",
            "const void* eb_model_output(int i);",
            "size_t eb_model_output_bytes(int i);",
            "// Runs every op in order: no malloc, no failure path.",
            "void eb_model_run(void);",
            "// The float interface: the build's QUANTIZE / DEQUANTIZE at the model's edges, same reference kernels.",
            "size_t eb_model_input_f32_count(int i);",
            "void eb_model_set_input_f32(int i, const float* x);",
            "size_t eb_model_output_f32_count(int i);",
            "void eb_model_get_output_f32(int i, float* y);",
            "",
            "// Profiling markers (the firmware defines them noinline and empty), called with -DEB_MODEL_PROFILE.",
            "extern void eb_profile_invoke_begin(void);",
            "extern void eb_profile_invoke_end(void);",
            "extern void eb_profile_op_begin(void);",
            "extern void eb_profile_op_end(void);",
            "",
            "#ifdef __cplusplus",
            "}",
            "#endif",
            "",
            "#endif  // EB_MODEL_H_",
            "",
        ]
    )


def _model_c(em: Emitter, body: list[str], io_code: list[str], name: str) -> str:
    externs = [f"extern const {ctype} {n}[{a.size}];" for n, (ctype, a) in em.data.items()]
    protos = [em.prototypes[f] for f in sorted(em.prototypes)]
    return "\n".join(
        [
            f"// model.c: {name}, generated by edgebuild (edgebuild/mcu/aot.py); do not edit.",
            "// The ops in order on one static arena; parameters computed at build time; weights in model_data.c.",
            "#include <math.h>",
            "#include <stddef.h>",
            "#include <stdint.h>",
            "#include <string.h>",
            "",
            '#include "edgebuild/ukernels.h"',
            '#include "model.h"',
            "",
            "static uint8_t eb_arena[EB_MODEL_ARENA_BYTES] __attribute__((aligned(16)));",
            "",
            "#ifdef EB_MODEL_PROFILE",
            "#define EB_OP_BEGIN() eb_profile_op_begin()",
            "#define EB_OP_END() eb_profile_op_end()",
            "#else",
            "#define EB_OP_BEGIN() ((void)0)",
            "#define EB_OP_END() ((void)0)",
            "#endif",
            "#ifdef EB_MODEL_TRACE  // tests: each op's output as it is written (tests/mcu/test_aot.py)",
            "extern void eb_model_trace(int op, const void* data, size_t bytes);",
            "#define EB_TRACE(op, offset, bytes) eb_model_trace(op, eb_arena + (offset), bytes)",
            "#else",
            "#define EB_TRACE(op, offset, bytes) ((void)0)",
            "#endif",
            "",
            "// Constants (model_data.c, in flash)",
            *externs,
            "",
            *(["// Kernel variants (edgebuild/mcu/variants/)", *protos, ""] if protos else []),
            "// Parameters",
            *em.statics,
            "",
            "void eb_model_run(void) {",
            "#ifdef EB_MODEL_PROFILE",
            "  eb_profile_invoke_begin();",
            "#endif",
            *body,
            "#ifdef EB_MODEL_PROFILE",
            "  eb_profile_invoke_end();",
            "#endif",
            "}",
            "",
            *io_code,
            "",
        ]
    )


def _model_data_c(em: Emitter) -> str:
    lines = [
        "// model_data.c: generated by edgebuild (edgebuild/mcu/aot.py); do not edit.",
        "// The model's constants, read in place from flash.",
        "#include <stdint.h>",
        "",
    ]
    for n, (ctype, a) in em.data.items():
        flat = a.reshape(-1)
        if ctype == "float":
            vals = [c_float(float(v)) for v in flat]
        else:
            vals = [str(int(v)) for v in flat.tolist()]
        lines.append(f"const {ctype} {n}[{max(flat.size, 1)}] __attribute__((aligned(16))) = {{")
        for k in range(0, len(vals), 24):
            lines.append("  " + ", ".join(vals[k : k + 24]) + ",")
        if not vals:
            lines.append("  0,")
        lines.append("};")
    lines.append("")
    return "\n".join(lines)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
