"""edgebuild IR: int8 tensors and ops as the runtime executes them (docs/artifact.md is the binary form)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .ir_enums import SINGLE_FORM, OpCode, UnaryFunc
from .ir_ops import params_class

__all__ = ["DType", "Layout", "Op", "OpCode", "Program", "Storage", "Tensor", "UnaryFunc", "params_class"]


class DType(enum.IntEnum):
    INT8 = 1
    INT32 = 2
    FLOAT32 = 3

    @property
    def numpy(self) -> np.dtype:
        return np.dtype({DType.INT8: "<i1", DType.INT32: "<i4", DType.FLOAT32: "<f4"}[self])

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize


class Storage(enum.IntEnum):
    ARENA = 0
    CONSTANT = 1


class Layout(enum.IntEnum):
    PLAIN = 0
    NHWC = 1  # a 4-D activation PyTorch sees as NCHW, stored channels-last


# The opcodes and the UNARY functions come from the op table (edgebuild/optable.py, generated into ir_ops.py).

MAX_RANK = 6


@dataclass
class Tensor:
    name: str
    dtype: DType
    shape: tuple[int, ...]
    scale: float = 0.0
    zero_point: int = 0
    layout: Layout = Layout.PLAIN
    data: np.ndarray | None = None  # set for constants
    offset: int = 0  # arena offset (planner) or constant offset (serializer)

    @property
    def storage(self) -> Storage:
        return Storage.CONSTANT if self.data is not None else Storage.ARENA

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


@dataclass
class Op:
    opcode: OpCode
    name: str
    inputs: list[int]
    outputs: list[int]
    params: list[int] = field(default_factory=list)
    aten: str = ""  # the ATen op this came from, for reports
    source: str = ""  # "file.py:line" of the PyTorch code, for reports


@dataclass
class Program:
    tensors: list[Tensor] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    arena_bytes: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def add_tensor(self, tensor: Tensor) -> int:
        if len(tensor.shape) > MAX_RANK:
            raise ValueError(f"tensor {tensor.name!r} has rank {len(tensor.shape)} > {MAX_RANK}")
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def add_constant(self, name: str, array: np.ndarray, dtype: DType) -> int:
        data = np.ascontiguousarray(array, dtype=dtype.numpy)
        return self.add_tensor(Tensor(name, dtype, tuple(int(d) for d in data.shape), data=data))

    def add_op(self, op: Op) -> int:
        self.ops.append(op)
        return len(self.ops) - 1

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.opcode.name] = counts.get(op.opcode.name, 0) + 1
        return counts

    def form_of(self, op: Op) -> str:
        """The op's form in the op table (edgebuild/optable.py): "float" when its output is float32 (the float
        fallback, docs/artifact.md), else "int8"; single-form ops (QUANTIZE, DEQUANTIZE, RESHAPE, TRANSPOSE) have
        "int8" only."""
        if op.opcode in SINGLE_FORM or self.tensors[op.outputs[0]].dtype != DType.FLOAT32:
            return "int8"
        return "float"

    def params_of(self, op: Op) -> Any:
        """The op's parameters by name: the dataclass of its form (edgebuild/ir_ops.py) decoded from `op.params`."""
        return params_class(op.opcode, self.form_of(op)).decode(op.params)

    def float_form_ops(self) -> list[Op]:
        """Ops in their float32 form (the float fallback: output float32; docs/artifact.md)."""
        return [op for op in self.ops if self.form_of(op) == "float"]

    def weights_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors if t.data is not None)
