"""The op table's vocabulary: an op (OpDef), its forms, operands and named, typed parameters (edgebuild/optable.py
holds the table itself)."""

from __future__ import annotations

from dataclasses import dataclass

# Parameter kinds: i32 (plain int32), bool (0 or 1, checked by the decoder), f32 (IEEE bits of a float32),
# enum:<Name> (one of ENUMS[Name], checked by the decoder).


@dataclass(frozen=True)
class Param:
    name: str
    kind: str = "i32"
    count: str = ""  # "" scalar; "rank": one per dim of input 0; "2*inputs": a pair per input
    doc: str = ""


@dataclass(frozen=True)
class Operand:
    name: str
    dtype: str  # i8, i32, f32, any; "i8|f32" in docs only
    shape: str = ""
    const: bool = False
    optional: bool = False  # the tensor id may be -1
    variadic: bool = False  # one or more tensors (CONCAT)


@dataclass(frozen=True)
class Form:
    kind: str  # "int8" or "float"
    inputs: tuple[Operand, ...]
    outputs: tuple[Operand, ...]
    params: tuple[Param, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class OpDef:
    name: str
    opcode: int
    file: str  # kernels/runtime/ops/<file>.cc
    forms: tuple[Form, ...]
    single: bool = False  # one form whatever the output dtype (QUANTIZE, DEQUANTIZE, RESHAPE, TRANSPOSE)
    doc: str = ""
    since: str = "1.0"

    def form(self, kind: str) -> Form | None:
        for f in self.forms:
            if f.kind == kind:
                return f
        return None


def check_table(ops: tuple[OpDef, ...], enums: dict[str, tuple[str, ...]]) -> list[str]:
    """Consistency of the table itself (unique names, opcodes and files; forms; parameter kinds)."""
    errors: list[str] = []
    for what, key in (("name", "name"), ("opcode", "opcode"), ("file", "file")):
        seen: dict[object, str] = {}
        for op in ops:
            v = getattr(op, key)
            if v in seen:
                errors.append(f"{op.name}: {what} {v!r} also used by {seen[v]}")
            seen[v] = op.name
    for op in ops:
        kinds = [f.kind for f in op.forms]
        if len(set(kinds)) != len(kinds) or not set(kinds) <= {"int8", "float"}:
            errors.append(f"{op.name}: forms {kinds} (each of int8 / float at most once)")
        if op.single and len(op.forms) != 1:
            errors.append(f"{op.name}: a single-form op has one form")
        for f in op.forms:
            for p in f.params:
                base = p.kind.split(":")[0]
                if base not in ("i32", "bool", "f32", "enum") or (base == "enum" and p.kind[5:] not in enums):
                    errors.append(f"{op.name}.{p.name}: unknown kind {p.kind!r}")
                if p.count not in ("", "rank", "2*inputs"):
                    errors.append(f"{op.name}.{p.name}: unknown count {p.count!r}")
            if sum(1 for p in f.params if p.count) > 1 and any(p.count == "2*inputs" for p in f.params):
                errors.append(f"{op.name}: a per-input array must be the only array")
    return errors
