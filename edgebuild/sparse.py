"""Sparse int8 layers: the block-CSR form of docs/artifact.md and the per-layer dense-or-sparse choice.

After lowering, every CONV2D (one group) and FULLY_CONNECTED whose int8 weights are sparse enough becomes a
SPARSE_CONV2D / SPARSE_FULLY_CONNECTED holding the same weights as block-CSR (values, row_ptr, col_idx). Both forms
compute the same bits (the sparse reference kernel is the dense one over the non-zero blocks, and int32 sums wrap),
so the choice is about speed only. It is made by a cost model whose constants come from bench/bench_sparse.py
(edgebuild/sparse_costs.json): a layer is made sparse only where the model predicts a gain of at least
`MIN_GAIN`, so a sparse layer is never expected to be slower than its dense twin.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EdgebuildError
from .ir import DType, Op, OpCode, Program
from .ir_ops import (
    Conv2dInt8Params,
    FullyConnectedInt8Params,
    SparseConv2dInt8Params,
    SparseFullyConnectedInt8Params,
)

# The kernels read 4 consecutive k (channels of one tap) per weight slice: ukernels_isa.h, sparse strip.
KERNEL_KR = 4
# Output columns per strip of the sparse kernel each target's best ISA runs (kernels/runtime/cpu.cc spmm_kernel).
KERNEL_NR = {"host": 16, "arm64": 16, "armv7": 16}
MIN_GAIN = 1.15  # predicted dense/sparse time ratio below which a layer stays dense (margin for model error)
COSTS_FILE = Path(__file__).with_name("sparse_costs.json")
# Per target, the output-channels × K (= taps · input channels) product below which a layer stays dense whatever its
# density: the sparse kernel's cost per row of outputs has a fixed part (per 16-column strip: the tap group, the
# requantization and the call, ~25 instructions a row on arm64) that the density line does not see, and on a layer
# with little work per row it dominates. Measured (bench_sparse --arm, per layer): MobileNetV2's first 1×1
# projection (K 32, 16 output channels, 112×112 rows) ran 1.5× more instructions sparse than dense on the i8mm core
# at 90%, while the smallest layer sparse wins on (its 1×1 expansion, K 16, 96 channels: 1536) gained 1.45×.
MIN_ROW_WORK = {"arm64": 1024}


def block_csr(w: np.ndarray, block: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """w[OC, K] int8 -> (values [S, BR, BC] int8, row_ptr [OC/BR + 1] int32, col_idx [S] int32).

    Every block holding a non-zero weight is stored. An all-zero matrix is stored as one explicit zero block (the
    artifact has no empty tensors)."""
    br, bc = block
    oc, k = w.shape
    if oc % br or k % bc:
        raise EdgebuildError(f"block {br}x{bc} does not tile a {oc}x{k} weight matrix")
    tiles = w.reshape(oc // br, br, k // bc, bc).transpose(0, 2, 1, 3)  # [R, Kb, BR, BC]
    nonzero = np.any(tiles != 0, axis=(2, 3))
    if not nonzero.any():
        nonzero = nonzero.copy()
        nonzero[0, 0] = True
    rows, cols = np.nonzero(nonzero)  # row-major: rows ascending, columns ascending within a row
    values = np.ascontiguousarray(tiles[rows, cols], dtype=np.int8)
    row_ptr = np.zeros(oc // br + 1, dtype=np.int32)
    np.add.at(row_ptr, rows + 1, 1)
    return values, np.cumsum(row_ptr, dtype=np.int32), cols.astype(np.int32)


def densify(values: np.ndarray, row_ptr: np.ndarray, col_idx: np.ndarray, oc: int, k: int) -> np.ndarray:
    """The dense w[OC, K] of a block-CSR weight (exporters and tests)."""
    _, br, bc = values.shape
    w = np.zeros((oc, k), dtype=np.int8)
    for r in range(len(row_ptr) - 1):
        for b in range(int(row_ptr[r]), int(row_ptr[r + 1])):
            c = int(col_idx[b]) * bc
            w[r * br : (r + 1) * br, c : c + bc] = values[b]
    return w


def slice_density(w: np.ndarray, nr: int, kr: int = KERNEL_KR) -> float:
    """Fraction of the kernel's nr × kr weight slices (nr output columns of one strip, kr consecutive k) that hold
    a non-zero weight: the share of the dense work a sparse kernel still does."""
    oc, k = w.shape
    if k % kr:
        return 1.0
    pad = (-oc) % nr
    wp = np.concatenate([w, np.zeros((pad, k), w.dtype)]) if pad else w
    tiles = wp.reshape(-1, nr, k // kr, kr)
    return float(np.any(tiles != 0, axis=(1, 3)).mean())


@dataclass
class CostModel:
    """Sparse time / dense time = c0 + c1 · slice_density, per kernel kind (conv1x1, convkxk, linear), fitted by
    bench/bench_sparse.py: `kinds` on the host (wall time, --kernels), `targets[t]` for a cross target t from
    instructions per layer under qemu (--arm), the worst of the target's cores per kind, so that a layer made sparse is
    expected to be faster on each of them. A kind a target has no fit for uses the host's. break_even = (1 − c0) / c1.
    """

    kinds: dict[str, tuple[float, float]]
    source: str
    targets: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = COSTS_FILE) -> CostModel:
        doc = json.loads(path.read_text())
        kinds = {k: (float(v["c0"]), float(v["c1"])) for k, v in doc["kinds"].items()}
        targets = {
            t: {k: (float(v["c0"]), float(v["c1"])) for k, v in section["kinds"].items()}
            for t, section in doc.get("targets", {}).items()
        }
        return cls(kinds, doc.get("source", str(path)), targets)

    def _line(self, kind: str, target: str | None) -> tuple[float, float]:
        own = self.targets.get(target or "", {})
        return own[kind] if kind in own else self.kinds[kind]

    def ratio(self, kind: str, density: float, target: str | None = None) -> float:
        c0, c1 = self._line(kind, target)
        return c0 + c1 * density

    def break_even(self, kind: str, target: str | None = None) -> float:
        c0, c1 = self._line(kind, target)
        return (1.0 - c0) / c1


@dataclass
class LayerChoice:
    op: str
    kind: str  # conv1x1, convkxk, linear
    shape: list[int]  # [OC, K]
    sparsity: float  # fraction of zero weights
    block_sparsity: float  # fraction of empty BR x BC blocks
    slice_density: float
    dense_bytes: int
    sparse_bytes: int
    chosen: str  # "dense" or "sparse"
    expected_gain: float  # predicted dense time / chosen time (1.0 when dense)
    reason: str


def _weight_matrix(program: Program, op: Op) -> tuple[np.ndarray, str] | None:
    """The [OC, K] int8 weight of a CONV2D with one group or a FULLY_CONNECTED, and its kernel kind. A
    DEPTHWISE_CONV2D stays dense: SPARSE_CONV2D has one group."""
    if op.opcode not in (OpCode.CONV2D, OpCode.FULLY_CONNECTED):
        return None
    wt = program.tensors[op.inputs[1]]
    w = wt.data
    if w is None or wt.dtype != DType.INT8:  # a float32 layer (--float-layers) has no sparse int8 form
        return None
    if op.opcode == OpCode.CONV2D:
        if Conv2dInt8Params.decode(op.params).groups != 1:
            return None
        oc, kh, kw, _ = w.shape
        return w.reshape(oc, -1), ("conv1x1" if kh == kw == 1 else "convkxk")
    if op.opcode == OpCode.FULLY_CONNECTED:
        return w, "linear"
    return None


def choose_sparse(
    program: Program,
    target: str = "host",
    *,
    block: tuple[int, int] = (16, 4),
    mode: str = "auto",
    costs: CostModel | None = None,
) -> list[LayerChoice]:
    """Rewrites eligible CONV2D / FULLY_CONNECTED ops of `program` into their sparse twins where the cost model
    predicts a gain (mode "auto"), everywhere it is possible ("always", for tests and benchmarks) or nowhere
    ("never"). Returns one record per eligible layer."""
    if mode not in ("auto", "always", "never"):
        raise EdgebuildError(f"sparse mode {mode!r}: expected auto, always or never")
    costs = costs or CostModel.load()
    nr = KERNEL_NR.get(target, 8)
    br, bc = block
    out: list[LayerChoice] = []
    for op in program.ops:
        found = _weight_matrix(program, op)
        if found is None:
            continue
        w, kind = found
        oc, k = w.shape
        channels = program.tensors[op.inputs[0]].shape[-1]
        tiles = oc % br == 0 and k % bc == 0
        density = slice_density(w, nr)
        gain = 1.0 / costs.ratio(kind, density, target)
        record = LayerChoice(
            op=op.name,
            kind=kind,
            shape=[oc, k],
            sparsity=float(np.mean(w == 0)),
            block_sparsity=0.0,
            slice_density=density,
            dense_bytes=int(w.size),
            sparse_bytes=0,
            chosen="dense",
            expected_gain=1.0,
            reason="",
        )
        csr = block_csr(w, block) if tiles and (record.sparsity > 0 or mode == "always") else None
        if csr is not None:
            values, row_ptr, col_idx = csr
            record.block_sparsity = 1.0 - int(row_ptr[-1]) / ((oc // br) * (k // bc))
            record.sparse_bytes = int(values.size + 4 * (row_ptr.size + col_idx.size))
        if not tiles:
            record.reason = f"block {br}x{bc} does not tile {oc}x{k}"
        elif csr is None:
            record.reason = "no zero weights"
        elif channels % KERNEL_KR and mode != "always":
            record.reason = f"{channels} input channels: the sparse kernels need a multiple of {KERNEL_KR}"
        elif mode == "never":
            record.reason = "sparse kernels disabled"
        elif mode == "auto" and oc * k < MIN_ROW_WORK.get(target, 0):
            record.reason = (
                f"{oc} output channels x K {k} < {MIN_ROW_WORK[target]}: too little work per row for the sparse "
                "kernel's fixed cost"
            )
        elif mode == "auto" and gain < MIN_GAIN:
            record.reason = f"predicted gain {gain:.2f}x < {MIN_GAIN}x (slice density {density:.2f})"
        else:
            record.chosen = "sparse"
            record.expected_gain = gain
            record.reason = "forced" if mode == "always" else f"predicted gain {gain:.2f}x"
            _rewrite(program, op, *csr, block)
        out.append(record)
    return out


def _rewrite(
    program: Program,
    op: Op,
    values: np.ndarray,
    row_ptr: np.ndarray,
    col_idx: np.ndarray,
    block: tuple[int, int],
) -> None:
    w = program.tensors[op.inputs[1]]
    base = w.name.removesuffix(".weight")
    v_id = program.add_constant(f"{base}.values", values, DType.INT8)
    rp_id = program.add_constant(f"{base}.row_ptr", row_ptr, DType.INT32)
    ci_id = program.add_constant(f"{base}.col_idx", col_idx, DType.INT32)
    x, _, bias, mult, shift = op.inputs
    br, bc = block
    if op.opcode == OpCode.CONV2D:
        _, kh, kw, _ = w.shape
        conv = asdict(Conv2dInt8Params.decode(op.params))
        sparse_conv = SparseConv2dInt8Params(**conv, kernel_h=kh, kernel_w=kw, block_rows=br, block_cols=bc)
        op.opcode, op.params = OpCode.SPARSE_CONV2D, sparse_conv.encode()
    else:
        fc = asdict(FullyConnectedInt8Params.decode(op.params))
        sparse_fc = SparseFullyConnectedInt8Params(**fc, block_rows=br, block_cols=bc)
        op.opcode, op.params = OpCode.SPARSE_FULLY_CONNECTED, sparse_fc.encode()
    op.inputs = [x, v_id, bias, mult, shift, rp_id, ci_id]
    drop_unused_constants(program)  # the dense weight


def drop_unused_constants(program: Program) -> None:
    """Removes constant tensors no op uses (a dense weight replaced by its block-CSR form), renumbering ids."""
    used = {i for op in program.ops for i in (*op.inputs, *op.outputs) if i >= 0}
    used |= set(program.inputs) | set(program.outputs)
    keep = [i for i in range(len(program.tensors)) if i in used]
    if len(keep) == len(program.tensors):
        return
    remap = {old: new for new, old in enumerate(keep)}
    program.tensors = [program.tensors[i] for i in keep]
    for op in program.ops:
        op.inputs = [remap[i] if i >= 0 else i for i in op.inputs]
        op.outputs = [remap[i] for i in op.outputs]
    program.inputs = [remap[i] for i in program.inputs]
    program.outputs = [remap[i] for i in program.outputs]


def densify_program(program: Program) -> None:
    """Turns sparse ops back into CONV2D / FULLY_CONNECTED (exporters whose formats have no sparse int8 ops)."""
    for op in program.ops:
        if op.opcode not in (OpCode.SPARSE_CONV2D, OpCode.SPARSE_FULLY_CONNECTED):
            continue
        x, v, bias, mult, shift, rp, ci = op.inputs
        values, row_ptr, col_idx = (program.tensors[i].data for i in (v, rp, ci))
        assert values is not None and row_ptr is not None and col_idx is not None
        y = program.tensors[op.outputs[0]]
        oc = y.shape[-1]
        channels = program.tensors[x].shape[-1]
        name = program.tensors[v].name.removesuffix(".values") + ".weight"
        if op.opcode == OpCode.SPARSE_CONV2D:
            sc = SparseConv2dInt8Params.decode(op.params)
            kh, kw = sc.kernel_h, sc.kernel_w
            w = densify(values, row_ptr, col_idx, oc, kh * kw * channels).reshape(oc, kh, kw, channels)
            conv = Conv2dInt8Params(**{f.name: getattr(sc, f.name) for f in fields(Conv2dInt8Params)})
            op.opcode, op.params = OpCode.CONV2D, conv.encode()
        else:
            sf = SparseFullyConnectedInt8Params.decode(op.params)
            w = densify(values, row_ptr, col_idx, oc, channels)
            fc = FullyConnectedInt8Params(act_min=sf.act_min, act_max=sf.act_max)
            op.opcode, op.params = OpCode.FULLY_CONNECTED, fc.encode()
        op.inputs = [x, program.add_constant(name, w, DType.INT8), bias, mult, shift]
    drop_unused_constants(program)


def report_section(choices: list[LayerChoice], costs: CostModel, block: tuple[int, int]) -> dict[str, Any]:
    dense = sum(c.dense_bytes for c in choices)
    chosen = sum(c.sparse_bytes if c.chosen == "sparse" else c.dense_bytes for c in choices)
    return {
        "block": list(block),
        "cost_model": costs.source,
        "layers": [asdict(c) for c in choices],
        "sparse_layers": sum(c.chosen == "sparse" for c in choices),
        "dense_weight_bytes": dense,
        "chosen_weight_bytes": chosen,
    }
