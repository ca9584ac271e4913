"""The Python side of the op table: edgebuild/ir_enums.py and edgebuild/ir_ops.py."""

from __future__ import annotations

from ..optable import ENUMS, OPS, Form, OpDef, Param
from .names import STAMP, struct_name


def _py_type(p: Param) -> str:
    if p.count:
        return "list[int]"
    if p.kind == "f32":
        return "float"
    if p.kind == "bool":
        return "bool"
    if p.kind.startswith("enum:"):
        return p.kind[5:]
    return "int"


def _py_class(op: OpDef, form: Form) -> list[str]:
    name = struct_name(op, form)
    lines = ["", "", f'class {name}(OpParams, opcode=OpCode.{op.name}, form="{form.kind}"):']
    for p in form.params:
        lines.append(f"    {p.name}: {_py_type(p)}")
    if not form.params:
        lines.append("    pass")
    return lines


def python_enums() -> str:
    out = [
        f'"""Opcodes and enums of the op table ({STAMP})."""',
        "",
        "from __future__ import annotations",
        "",
        "import enum",
        "",
        "",
        "class OpCode(enum.IntEnum):",
    ]
    for op in OPS:
        out.append(f"    {op.name} = {op.opcode}")
    for name, values in ENUMS.items():
        out += ["", "", f"class {name}(enum.IntEnum):"]
        for i, v in enumerate(values):
            out.append(f"    {v} = {i}")
    single = ["OpCode." + op.name for op in OPS if op.single]
    out += ["", "", "# Ops with one form whatever their output dtype."]
    line = f"SINGLE_FORM = frozenset({{{', '.join(single)}}})"
    if len(line) <= 110:
        out += [line, ""]
    else:  # as ruff format writes it
        out += ["SINGLE_FORM = frozenset(", "    {", *(f"        {s}," for s in single), "    }", ")", ""]
    return "\n".join(out)


_ALL_FUNCS = ['"bits_f32"', '"f32_bits"', '"params_class"']


def _wrapped(head: str, items: list[str], tail: str) -> list[str]:
    """`head item, item tail` on one line, or one item a line when longer than 110 (as ruff format writes it)."""
    line = f"{head}{', '.join(items)}{tail}"
    return [line] if len(line) <= 110 else [head, *(f"    {n}," for n in items), tail]


def _import_enums() -> list[str]:
    """`from .ir_enums import ...` of every enum, as ruff's isort and formatter write it."""
    names = ["SINGLE_FORM", *sorted(["OpCode", *ENUMS])]
    line = f"from .ir_enums import {', '.join(names)}"
    return [line] if len(line) <= 110 else _wrapped("from .ir_enums import (", names, ")")


def python_module() -> str:
    out = [
        f'"""Op parameters by name ({STAMP}).',
        "",
        "One dataclass per op form. `encode()` gives the INT_POOL int32s of docs/artifact.md (f32 fields as IEEE",
        "bits, arrays in place), `decode(params)` reads them back; the field kinds come from edgebuild/optable.py.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import struct",
        "from collections.abc import Sequence",
        "from dataclasses import dataclass, fields",
        "from typing import Any, ClassVar, dataclass_transform",
        "",
        "from . import optable",
        *_import_enums(),
        "",
        *_wrapped(
            "__all__ = [", [f'"{n}"' for n in sorted(["OpCode", "OpParams", *ENUMS])] + _ALL_FUNCS, "]"
        ),
        "",
        "",
        "def f32_bits(value: float) -> int:",
        '    """The IEEE bits of float32(value) as a signed int32."""',
        '    return int(struct.unpack("<i", struct.pack("<f", value))[0])',
        "",
        "",
        "def bits_f32(bits: int) -> float:",
        '    return float(struct.unpack("<f", struct.pack("<i", bits))[0])',
        "",
        "",
        "_ENUMS: dict[str, Any] = {" + ", ".join(f'"{n}": {n}' for n in ENUMS) + "}",
        "PARAMS: dict[tuple[OpCode, str], Any] = {}  # (opcode, form) -> class, filled as the classes are defined",
        "",
        "",
        "@dataclass_transform()",
        "class OpParams:",
        '    """Base of the generated classes: encode / decode by the op table\'s parameter kinds."""',
        "",
        "    OPCODE: ClassVar[OpCode]",
        "    FORM: ClassVar[str]",
        "",
        "    def __init_subclass__(cls, opcode: OpCode, form: str) -> None:",
        "        cls.OPCODE, cls.FORM = opcode, form",
        "        dataclass(cls)  # each subclass is a dataclass (dataclass_transform tells type checkers)",
        "        PARAMS[(opcode, form)] = cls",
        "",
        "    @classmethod",
        "    def spec(cls) -> tuple[optable.Param, ...]:",
        "        form = optable.BY_OPCODE[int(cls.OPCODE)].form(cls.FORM)",
        "        assert form is not None",
        "        return form.params",
        "",
        "    def encode(self) -> list[int]:",
        "        out: list[int] = []",
        "        for p in self.spec():",
        "            v = getattr(self, p.name)",
        "            if p.count:",
        "                out += [int(x) for x in v]",
        "            else:",
        '                out.append(f32_bits(v) if p.kind == "f32" else int(v))',
        "        return out",
        "",
        "    @classmethod",
        "    def decode(cls, p: Sequence[int]) -> Any:",
        "        spec = cls.spec()",
        "        arrays = [q for q in spec if q.count]",
        "        fixed = len(spec) - len(arrays)",
        '        n = (len(p) - fixed) // (len(arrays) if arrays and arrays[0].count == "rank" else 1)',
        "        values: dict[str, Any] = {}",
        "        k = 0",
        "        for q in spec:",
        "            if q.count:",
        "                values[q.name] = [int(x) for x in p[k : k + n]]",
        "                k += n",
        "                continue",
        "            v = int(p[k])",
        "            k += 1",
        '            if q.kind == "f32":',
        "                values[q.name] = bits_f32(v)",
        '            elif q.kind == "bool":',
        "                values[q.name] = bool(v)",
        '            elif q.kind.startswith("enum:"):',
        "                values[q.name] = _ENUMS[q.kind[5:]](v)",
        "            else:",
        "                values[q.name] = v",
        "        return cls(**values)",
        "",
        "    def names(self) -> list[str]:",
        "        return [f.name for f in fields(self)]  # type: ignore[arg-type]",
    ]
    for op in OPS:
        for form in op.forms:
            out += _py_class(op, form)
    out += ["", "", "def params_class(opcode: OpCode, form: str) -> Any:"]
    out += ['    """The parameter class of an op form ("int8" or "float"; single-form ops have one)."""']
    out += ['    return PARAMS[(opcode, "int8" if opcode in SINGLE_FORM else form)]', ""]
    return "\n".join(out)
