"""export: an edgebuild artifact (.ebm) as a file other runtimes read: `.tflite` (LiteRT) and ONNX (QDQ).

Both exporters start from the artifact, not from the PyTorch model: what is exported is exactly what edgebuild runs
(same int8 weights, scales, zero points, padding and memory order), so agreement can be tested op for op.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EdgebuildError
from ..ir import Program
from ..serialize import ArtifactError, read_artifact

FORMATS = ("tflite", "onnx")


class ExportError(EdgebuildError):
    """The artifact uses something the target format cannot express exactly."""


def refuse_float_ops(program: Program, fmt: str) -> None:
    """The exporters write int8 ops only: a program with float-fallback ops (or an opcode they do not know) is
    refused with the list of those ops."""
    known = set(range(1, 12))  # QUANTIZE .. CLAMP, the int8 opcodes both exporters write
    bad = program.float_form_ops() + [op for op in program.ops if int(op.opcode) not in known]
    if bad:
        names = ", ".join(sorted({f"{op.opcode.name} ({op.aten or op.name})" for op in bad}))
        raise ExportError(
            f"the {fmt} exporter writes int8 ops only, and {len(bad)} op(s) of this build run on edgebuild's float "
            f"fallback or have no {fmt} mapping: {names}. Export a build whose ops all have int8 kernels."
        )


def load_program(path: str | Path) -> Program:
    path = Path(path)
    if path.is_dir():
        path = path / "model.ebm"
    try:
        return read_artifact(path.read_bytes())
    except (OSError, ArtifactError) as e:
        raise EdgebuildError(f"cannot read {path}: {e}") from e


def export_file(artifact: str | Path, fmt: str, out: str | Path, *, io: str = "float") -> Path:
    """Export `artifact` (a .ebm file or a bundle folder) to `out` in format `fmt`; returns `out`."""
    program = load_program(artifact)
    from ..sparse import densify_program

    densify_program(program)  # neither format has block-sparse int8 ops: the same weights, stored dense
    if fmt == "tflite":
        from .tflite import export_tflite

        data = export_tflite(program, io=io)
    elif fmt == "onnx":
        from .onnx import export_onnx

        data = export_onnx(program, io=io)
    else:
        raise EdgebuildError(f"unknown export format {fmt!r}; one of: {', '.join(FORMATS)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
