"""TensorFlow Lite Micro (the `tflite-micro` wheel) next to edgebuild's host runtime, on one int8 input.

Shared by tests/mcu/test_tflm.py and bench/mcu.py (TFLM's arena beside ours): the model is built for host with
edgebuild.api, exported as .tflite with int8 inputs and outputs (`edgebuild export --io int8`), and run in TFLM's
Python interpreter, which uses TFLM's reference kernels (the wheel has no CMSIS-NN).

The host runtime takes float inputs and gives float outputs; the int8 codes are carried across its QUANTIZE and
DEQUANTIZE exactly: the float input is (q − zp)·s, which QUANTIZE maps back to q (docs/quantization.md (1), checked
here in float32 as the kernel does it), and the int8 output is read from the tensor DEQUANTIZE reads (nothing runs
after it, so the arena still holds it).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgebuild.ir import OpCode, Program
from edgebuild.serialize import read_artifact


def tflm_interpreter(data: bytes, arena_size: int | None = None) -> Any:
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(data, arena_size=arena_size)


def run_tflm(data: bytes, inputs: list[np.ndarray], arena_size: int | None = None) -> list[np.ndarray]:
    """TFLM's int8 output for each int8 input (NCHW, as the exported graph takes it)."""
    it = tflm_interpreter(data, arena_size)
    outs = []
    for x in inputs:
        it.set_input(x, 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)))
    return outs


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """C-level stderr (file descriptor 2) into `path`: TFLM's recording allocator prints its figures there."""
    saved = os.dup(2)
    try:
        with open(path, "wb") as f:
            os.dup2(f.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tflm_runs(data: bytes, x: np.ndarray, size: int) -> bool:
    """TFLM allocates and runs `data` once on `x` in an arena of `size` bytes. In a forked child: some of TFLM's
    allocation-failure paths crash the process (AD at 20,000 bytes segfaults) instead of raising."""
    pid = os.fork()
    if pid == 0:  # the child: no Python cleanup, only an exit status
        status = 1
        try:
            faulthandler.disable()  # a crash here is an answer (False), not a traceback for pytest's log
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)  # TFLM explains each failure on stderr
            it = tflm_interpreter(data, arena_size=size)
            it.set_input(x, 0)
            it.invoke()
            status = 0
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status) == 0


@dataclass(frozen=True)
class TflmArena:
    head: int  # non-persistent part: the activation plan (TFLM's counterpart of our arena)
    tail: int  # persistent part: tensor structs, quantization data, kernels' persistent buffers
    total: int  # head + tail, as TFLM's recording allocator reports it after one invoke
    smallest: int  # the smallest arena_size with which allocation and one invoke succeed (bisection)


def tflm_arena(data: bytes, x: np.ndarray) -> TflmArena:
    """TFLM's arena use on `data` (one invoke on `x`), and the smallest arena it runs in."""
    it = tflm_interpreter(data, arena_size=max(1 << 20, 10 * len(data)))
    it.set_input(x, 0)
    it.invoke()
    with tempfile.TemporaryDirectory(prefix="edgebuild-tflm-") as tmp:
        log = Path(tmp) / "allocations.txt"
        with _stderr_to(log):
            it.print_allocations()
        text = log.read_text(errors="replace")
    figures = {k: int(v) for k, v in re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text)}
    if set(figures) != {"total", "head", "tail"}:
        raise RuntimeError(f"TFLM's print_allocations() gave no arena figures: {text[:300]!r}")

    # The recorded total is a lower bound; preparing the ops also takes temporary space that the recording does
    # not count (AD: recorded 20,800 bytes, needs 27,832), so bisect to the byte from the total up.
    lo, hi = figures["total"] - 1, figures["total"] + 1024
    while not tflm_runs(data, x, hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if tflm_runs(data, x, mid) else (mid, hi)
    return TflmArena(figures["head"], figures["tail"], figures["total"], hi)


@dataclass(frozen=True)
class HostInt8:
    """edgebuild's host runtime (the pybind11 extension) driven with int8 codes in and out."""

    program: Program
    model: Any  # edgebuild._native.Model

    @classmethod
    def load(cls, artifact: Path) -> HostInt8:
        from edgebuild import _native

        return cls(read_artifact(artifact.read_bytes()), _native.Model(artifact))

    def _edge(self, opcode: OpCode) -> Any:
        (op,) = [
            o
            for o in self.program.ops
            if o.opcode == opcode
            and (o.inputs[0] in self.program.inputs or o.outputs[0] in self.program.outputs)
        ]
        return op

    def run(self, q: np.ndarray) -> np.ndarray:
        """The int8 output for the int8 input `q` (NCHW, the model's float input layout)."""
        quant = self._edge(OpCode.QUANTIZE)
        t = self.program.tensors[quant.outputs[0]]
        inv_scale = np.float32(self.program.params_of(quant).inv_scale)
        x = ((q.astype(np.float32) - np.float32(t.zero_point)) * np.float32(t.scale)).astype(np.float32)
        back = np.clip(
            np.rint(x * inv_scale) + np.float32(t.zero_point), -128, 127
        )  # docs/quantization.md (1)
        if not np.array_equal(back.astype(np.int8), q):
            raise AssertionError("the float input does not quantize back to the int8 input")
        self.model.run([np.ascontiguousarray(x)])
        dequant = self._edge(OpCode.DEQUANTIZE)
        return np.array(self.model.tensor(dequant.inputs[0])).astype(np.int8)

    def input_quant(self) -> tuple[float, int]:
        t = self.program.tensors[self._edge(OpCode.QUANTIZE).outputs[0]]
        return float(t.scale), int(t.zero_point)
