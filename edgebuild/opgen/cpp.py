"""The C++ side of the op table: kernels/runtime/ops_generated.h and kernels/include/edgebuild/ops_enums.h."""

from __future__ import annotations

from ..optable import ENUMS, OPS, Form, OpDef, Param
from .names import STAMP, camel, field_name, fixed_count, struct_name, variable


def _c_type(p: Param) -> str:
    return "float" if p.kind == "f32" else "int32_t"


def _c_struct(op: OpDef, form: Form) -> list[str]:
    lines = [f"struct {struct_name(op, form)} {{"]
    for p in form.params:
        note = f"  // {p.doc}" if p.doc else ""
        if p.kind.startswith("enum:"):
            note = f"  // {p.kind[5:]}"
        if p.count == "rank":
            lines.append(
                f"  int32_t {p.name}[EB_MAX_RANK];  // one per dim of input 0{note.replace('  //', ';')}"
            )
        elif p.count == "2*inputs":
            lines.append(
                f"  const int32_t* {p.name};  // 2 per input, in INT_POOL{note.replace('  //', ';')}"
            )
        else:
            lines.append(f"  {_c_type(p)} {p.name};{note}")
    if not form.params:
        lines.append("  int32_t unused;  // no params")
    lines.append("};")
    return lines


def _c_decoder(op: OpDef, form: Form) -> list[str]:
    s = struct_name(op, form)
    fn = f"decode_{field_name(op, form)}"
    fixed = fixed_count(form)
    arrays = [p for p in form.params if p.count]
    signature = "const int32_t* p, uint32_t n, uint32_t rank, uint32_t inputs, OpParams* out, ParamError* e"
    lines = [f"inline bool {fn}({signature}) {{"]
    lines.append(f"  {s}& o = out->{field_name(op, form)};")
    lines.append("  (void)p, (void)rank, (void)inputs, (void)o;")
    if not arrays:
        lines.append(f"  if (n != {fixed}) return e->count(n, {fixed});")
    elif arrays[0].count == "rank":
        lines.append("  if (rank > EB_MAX_RANK) return e->count(n, 0);")
        lines.append(
            f"  if (n != {fixed} + {len(arrays)} * rank) return e->count(n, {fixed} + {len(arrays)} * rank);"
        )
    else:
        lines.append(f"  if (n != {fixed} + 2 * inputs) return e->count(n, {fixed} + 2 * inputs);")
    lines.append("  uint32_t k = 0;")
    for p in form.params:
        if p.count == "rank":
            lines.append(f"  for (uint32_t d = 0; d < rank; ++d) o.{p.name}[d] = p[k++];")
        elif p.count == "2*inputs":
            lines.append(f"  o.{p.name} = p + k;")
            lines.append("  k += 2 * inputs;")
        elif p.kind == "f32":
            lines.append(f"  memcpy(&o.{p.name}, &p[k++], sizeof(float));")
        else:
            lines.append(f"  o.{p.name} = p[k++];")
            if p.kind == "bool":
                lines.append(
                    f'  if (o.{p.name} != 0 && o.{p.name} != 1) return e->range("{p.name}", o.{p.name}, 0, 1);'
                )
            elif p.kind.startswith("enum:"):
                top = len(ENUMS[p.kind[5:]]) - 1
                lines.append(
                    f'  if (o.{p.name} < 0 || o.{p.name} > {top}) return e->range("{p.name}", o.{p.name}, 0, {top});'
                )
    lines.append("  (void)k;")
    lines.append("  return true;")
    lines.append("}")
    return lines


def _form_info(op: OpDef, form: Form | None) -> str:
    if form is None:
        return "{false, 0, 0, 0, 0, NULL}"
    ins = -1 if any(o.variadic for o in form.inputs) else len(form.inputs)
    optional = 0
    for i, o in enumerate(form.inputs):
        if o.optional:
            optional |= 1 << i
    params = -1 if variable(form) else fixed_count(form)
    return f"{{true, {ins}, {len(form.outputs)}, {params}, 0x{optional:x}u, decode_{field_name(op, form)}}}"


def cpp_header() -> str:
    out = [
        f"// ops_generated.h: the op table in C++ ({STAMP}).",
        "//",
        "// Opcodes, one parameter struct per op form with its decoder (INT_POOL int32s -> named, typed fields; bool",
        "// and enum parameters are range-checked here), arities, and the registration array of kernels/runtime/ops/.",
        "#ifndef EDGEBUILD_RUNTIME_OPS_GENERATED_H_",
        "#define EDGEBUILD_RUNTIME_OPS_GENERATED_H_",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        '#include "edgebuild/edgebuild.h"',
        '#include "edgebuild/ops_enums.h"',
        "",
        "namespace eb {",
        "",
        "enum Opcode : uint32_t {",
    ]
    for op in OPS:
        out.append(f"  kOp{camel(op.name)} = {op.opcode},")
    out += [
        "};",
        "",
        f"constexpr uint32_t kOpCount = {len(OPS)};  // ops in the table (dense indices 0..kOpCount-1)",
        "",
    ]
    out += [
        "// Dense index of an opcode in kOpInfo / kOpImpls, or -1 for an opcode this runtime does not know."
    ]
    out += ["inline int32_t op_index(uint32_t opcode) {", "  switch (opcode) {"]
    for i, op in enumerate(OPS):
        out.append(f"    case kOp{camel(op.name)}: return {i};")
    out += ["    default: return -1;", "  }", "}", ""]
    out += ["// ---- parameter structs (docs/artifact.md, op table) ----", ""]
    for op in OPS:
        for form in op.forms:
            out += _c_struct(op, form)
    out += ["", "// An op's decoded parameters; the member is the op's form (Op::form).", "union OpParams {"]
    for op in OPS:
        for form in op.forms:
            out.append(f"  {struct_name(op, form)} {field_name(op, form)};")
    out += ["};", ""]
    out += [
        "// Why a decoder refused: a count mismatch (field == NULL) or a parameter outside its range.",
        "struct ParamError {",
        "  const char* field;",
        "  int64_t value, lo, hi;",
        "  uint32_t got, expected;",
        "  bool count(uint32_t n, uint32_t want) {",
        "    field = NULL, got = n, expected = want;",
        "    return false;",
        "  }",
        "  bool range(const char* name, int64_t v, int64_t a, int64_t b) {",
        "    field = name, value = v, lo = a, hi = b;",
        "    return false;",
        "  }",
        "};",
        "",
        "// ---- decoders: p[0, n) of INT_POOL -> out; rank = rank of input 0, inputs = the op's input count ----",
        "",
    ]
    for op in OPS:
        for form in op.forms:
            out += _c_decoder(op, form)
    out += [
        "",
        "using ParamDecoder = bool (*)(const int32_t*, uint32_t, uint32_t, uint32_t, OpParams*, ParamError*);",
        "",
        "// One form of an op: arity (-1: variable; checked by the decoder or the op), optional inputs (bit k: input k",
        "// may be -1) and the parameter decoder.",
        "struct FormInfo {",
        "  bool present;",
        "  int32_t inputs, outputs, params;",
        "  uint32_t optional_inputs;",
        "  ParamDecoder decode;",
        "};",
        "",
        "enum Form : uint8_t { kFormInt8 = 0, kFormFloat = 1 };",
        "",
        "struct OpInfo {",
        "  uint32_t opcode;",
        "  const char* name;",
        "  bool single;  // one form whatever the output dtype (kFormInt8 holds it)",
        "  FormInfo forms[2];  // kFormInt8, kFormFloat",
        "};",
        "",
        "inline constexpr OpInfo kOpInfo[kOpCount] = {",
    ]
    for op in OPS:
        i8, fl = _form_info(op, op.form("int8")), _form_info(op, op.form("float"))
        single = "true" if op.single else "false"
        out.append(f'    {{kOp{camel(op.name)}, "{op.name}", {single}, {{{i8}, {fl}}}}},')
    out += ["};", ""]
    out += [
        '// Name of an opcode ("CONV2D"), or NULL when unknown.',
        "inline const char* opcode_name(uint32_t opcode) {",
        "  const int32_t i = op_index(opcode);",
        "  return i < 0 ? NULL : kOpInfo[i].name;",
        "}",
        "",
        "// ---- registration: each kernels/runtime/ops/<op>.cc defines its OpImpl (kernels/runtime/op.h) ----",
        "",
        "struct OpImpl;",
    ]
    for op in OPS:
        out.append(f"extern const OpImpl kOpImpl{camel(op.name)};  // ops/{op.file}.cc")
    out += [
        "",
        "// A lean runtime (`edgebuild build --lean`, kernels/CMakeLists.txt EDGEBUILD_OPS) defines EB_LEAN and",
        "// EB_LEAN_OP_<NAME> for each op it keeps; the others are NULL here, so nothing references their OpImpl and the",
        "// linker's --gc-sections drops them with the micro-kernels only they call. The loader refuses a NULL op.",
        "inline const OpImpl* const kOpImpls[kOpCount] = {",
    ]
    for op in OPS:
        out += [
            f"#if !defined(EB_LEAN) || defined(EB_LEAN_OP_{op.name})",
            f"    &kOpImpl{camel(op.name)},",
            "#else",
            "    NULL,",
            "#endif",
        ]
    out += ["};", "", "}  // namespace eb", "", "#endif  // EDGEBUILD_RUNTIME_OPS_GENERATED_H_", ""]
    return "\n".join(out)


def enums_header() -> str:
    out = [
        f"/* ops_enums.h: enums of the op table for kernels and runtime ({STAMP}). */",
        "#ifndef EDGEBUILD_OPS_ENUMS_H_",
        "#define EDGEBUILD_OPS_ENUMS_H_",
        "",
    ]
    # Opcodes for code outside the runtime that sees ops through the C API (runner, fuzzer): eb_op_info's opcode.
    out.append("enum {")
    for op in OPS:
        out.append(f"  EB_OP_{op.name} = {op.opcode},")
    out += ["};", ""]
    prefixes = {"UnaryFunc": "EB_UNARY", "ResizeMode": "EB_RESIZE"}  # older enums keep their short prefixes
    for name, values in ENUMS.items():
        # BinaryFunc -> EB_BINARY_FUNC
        upper = "".join("_" + ch if ch.isupper() else ch.upper() for ch in name)[1:]
        pre = prefixes.get(name) or "EB_" + upper
        out.append("enum {")
        for i, v in enumerate(values):
            out.append(f"  {pre}_{v} = {i},")
        out.append(f"  {pre}_COUNT = {len(values)},")
        out.append("};")
        out.append("")
    out += ["#endif /* EDGEBUILD_OPS_ENUMS_H_ */", ""]
    return "\n".join(out)
