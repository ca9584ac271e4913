"""The op table (edgebuild/optable.py) is consistent and every file generated from it is up to date."""

from __future__ import annotations

from edgebuild import opgen
from edgebuild.ir_ops import Conv2dInt8Params, OpCode, PadFloatParams, params_class
from edgebuild.optable import OPS, check_table


def test_table_is_consistent() -> None:
    assert check_table() == []


def test_generated_files_are_fresh() -> None:
    stale = opgen.stale()
    assert stale == [], f"stale generated files {stale}: run python -m edgebuild.opgen"


def test_params_round_trip() -> None:
    p = Conv2dInt8Params(1, 2, 0, 1, 0, 1, 1, 1, 4, -128, 127)
    assert Conv2dInt8Params.decode(p.encode()) == p
    pad = PadFloatParams(before=[0, 1, 2], after=[3, 0, 1], value=-0.5)
    enc = pad.encode()
    assert len(enc) == 7 and PadFloatParams.decode(enc) == pad
    assert params_class(OpCode.TRANSPOSE, "float") is params_class(OpCode.TRANSPOSE, "int8")


def test_every_op_has_a_runtime_file() -> None:
    from pathlib import Path

    root = Path(opgen.ROOT)
    missing = [
        op.file for op in OPS if not (root / "kernels" / "runtime" / "ops" / f"{op.file}.cc").is_file()
    ]
    assert missing == [], f"ops without kernels/runtime/ops/<op>.cc: {missing}"
