"""export: an edgebuild artifact (.ebm) as a file other runtimes read: `.tflite` (LiteRT) and ONNX (QDQ).

Both exporters start from the artifact, not from the PyTorch model: what is exported is exactly what edgebuild runs
(same int8 weights, scales, zero points, padding and memory order), so agreement can be tested op for op.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import EdgebuildError
from ..ir import Op, OpCode, Program
from ..serialize import ArtifactError, read_artifact

FORMATS = ("tflite", "onnx")


class ExportError(EdgebuildError):
    """The artifact uses something the target format cannot express exactly."""


Handler = Callable[[Op], None]


def write_ops(program: Program, fmt: str, handlers: dict[tuple[OpCode, str], Handler]) -> None:
    """Run each op's handler, keyed by (opcode, form) ("int8" or "float", Program.form_of). Every op that has no
    handler, or whose handler refuses it, is collected, and the export stops with one line naming all of them."""
    refused: list[str] = []
    for op in program.ops:
        form = program.form_of(op)
        handler = handlers.get((op.opcode, form))
        try:
            if handler is None:
                raise ExportError(
                    f"{op.opcode.name} ({form} form) has no {fmt} mapping in edgebuild's exporter"
                )
            handler(op)
        except ExportError as e:
            reason = str(e).removeprefix(f"{op.name}: ")
            refused.append(f"{op.name} [{op.opcode.name}, {op.aten or 'no ATen op'}]: {reason}")
    if refused:
        raise ExportError(
            f"the {fmt} exporter cannot write {len(refused)} op(s) of this build (the model runs in edgebuild, "
            f"model.ebm): " + "; ".join(refused)
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
