"""Which core ATen ops edgebuild builds: the table behind `edgebuild ops` and docs/ops.md.

The op list comes from torch itself: every registered `aten` OpOverload tagged `torch.Tag.core`. Each is, in this
order of precedence,

- **lowered**: it has an int8 lowering (lower/registry.py LOWERINGS) and/or a float one (FLOAT_LOWERINGS); `dynamic`
  says it also has a dynamic form (DYNAMIC_LOWERINGS: DYNAMIC_FULLY_CONNECTED, `--activations`);
- **folded**: FOLDED below — its output depends only on its arguments and static shapes, so build-time constant
  folding turns it into a constant and no kernel is needed;
- **decomposed**: DECOMPOSED below — capture never leaves it in the graph (torch's core decomposition table or
  functionalization rewrites it into the ops listed); it is covered when every one of those is;
- **excluded**: EXCLUDED below — not an inference op (backward ops, random sampling, symbolic-shape queries,
  out= / in-place-storage variants); not counted;
- **missing**: none of the above; MISSING_WHY gives the reason where there is more to say than "no lowering yet".

Every claim is checked by building a sample that contains the op (tests/ops/test_core_coverage.py).

    python -m edgebuild.coverage                # the table
    python -m edgebuild.coverage --write-docs   # regenerate docs/ops.md
    python -m edgebuild.coverage --check        # exit 1 if docs/ops.md is stale
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ops.md"

_BACKWARD = "backward (training) op"
_RANDOM = "random sampling: no inference graph draws random numbers (and a fixed draw would be a constant)"
_SYMBOLIC = "symbolic-shape query: appears only with dynamic shapes; edgebuild builds static shapes"

EXCLUDED: dict[str, str] = {
    "aten._adaptive_avg_pool2d_backward.default": _BACKWARD,
    "aten.avg_pool2d_backward.default": _BACKWARD,
    "aten.convolution_backward.default": _BACKWARD,
    "aten.embedding_dense_backward.default": _BACKWARD,
    "aten.max_pool2d_with_indices_backward.default": _BACKWARD,
    "aten.native_group_norm_backward.default": _BACKWARD,
    "aten.native_layer_norm_backward.default": _BACKWARD,
    "aten.rand.default": _RANDOM,
    "aten.randn.default": _RANDOM,
    "aten.randperm.default": _RANDOM,
    "aten.native_dropout.default": "training-mode dropout (random); a model exported in eval mode has no dropout",
    "aten.sym_size.int": _SYMBOLIC,
    "aten.sym_numel.default": _SYMBOLIC,
    "aten.sym_stride.int": _SYMBOLIC,
    "aten.sym_storage_offset.default": _SYMBOLIC,
    "aten.sym_is_contiguous.default": _SYMBOLIC,
    "aten.atan2.out": "out= variant: torch.export's functional graph has aten.atan2.default instead",
    "aten.resize_.default": "in-place storage resize (Tensor.resize_), not part of a functional inference graph",
}

_CONST = "constant-folded at build time: the output depends only on its arguments"
_SHAPE = "constant-folded at build time: the output depends only on the input's static shape and dtype"
FOLDED: dict[str, str] = {
    "aten.arange.start_step": _CONST,
    "aten.full.default": _CONST,
    "aten.scalar_tensor.default": _CONST,
    "aten.empty.memory_format": _CONST + " (uninitialized: only its later fill matters)",
    "aten.empty_strided.default": _CONST + " (uninitialized: only its later fill matters)",
    "aten.full_like.default": _SHAPE,
}

_TABLE = "torch's core decomposition table"
_OURS = "edgebuild's decomposition (edgebuild/decompose.py DECOMPOSITIONS)"
# what decompose._cdist becomes, for every p
_CDIST_INTO = (
    "aten.unsqueeze.default",
    "aten.sub.Tensor",
    "aten.mul.Tensor",
    "aten.abs.default",
    "aten.pow.Tensor_Scalar",
    "aten.sum.dim_IntList",
    "aten.amax.default",
    "aten.sqrt.default",
    "aten.ne.Scalar",
    "aten._to_copy.default",
)
# op -> (the ops it becomes, how); tests/ops/test_core_coverage.py checks each against the sample's graph
DECOMPOSED: dict[str, tuple[tuple[str, ...], str]] = {
    "aten._cdist_forward.default": (_CDIST_INTO, _OURS),
    # row i against the rows after it: slices, one cdist each, concatenated
    "aten._pdist_forward.default": (
        ("aten.slice.Tensor", "aten.squeeze.dim", "aten.cat.default", "aten.view.default", *_CDIST_INTO),
        _OURS,
    ),
    "aten.fill.Scalar": (("aten.full_like.default",), _TABLE),
    "aten.squeeze.dim": (("aten.squeeze.dims",), _TABLE),
    "aten.var.dim": (("aten.var.correction",), _TABLE),
    "aten.adaptive_avg_pool1d.default": (
        ("aten._adaptive_avg_pool2d.default", "aten.squeeze.dims", "aten.unsqueeze.default"),
        _TABLE,
    ),
    "aten.avg_pool1d.default": (
        ("aten.avg_pool2d.default", "aten.squeeze.dims", "aten.unsqueeze.default"),
        _TABLE,
    ),
    "aten.col2im.default": (
        (
            "aten.add.Tensor",
            "aten.arange.start_step",
            "aten.constant_pad_nd.default",
            "aten.full.default",
            "aten.index_put.default",
            "aten.permute.default",
            "aten.unsqueeze.default",
            "aten.view.default",
        ),
        _TABLE,
    ),
    "aten.reflection_pad1d.default": (
        ("aten.abs.default", "aten.arange.start_step", "aten.index.Tensor", "aten.sub.Tensor"),
        _TABLE,
    ),
    "aten.reflection_pad2d.default": (
        ("aten.abs.default", "aten.arange.start_step", "aten.index.Tensor", "aten.sub.Tensor"),
        _TABLE,
    ),
    "aten.reflection_pad3d.default": (
        ("aten.abs.default", "aten.arange.start_step", "aten.index.Tensor", "aten.sub.Tensor"),
        _TABLE,
    ),
    "aten.replication_pad2d.default": (
        ("aten.arange.start_step", "aten.clamp.default", "aten.index.Tensor"),
        _TABLE,
    ),
    "aten.replication_pad3d.default": (
        ("aten.arange.start_step", "aten.clamp.default", "aten.index.Tensor"),
        _TABLE,
    ),
    "aten.select_scatter.default": (
        (
            "aten.arange.start_step",
            "aten.eq.Scalar",
            "aten.expand.default",
            "aten.unsqueeze.default",
            "aten.view.default",
            "aten.where.self",
        ),
        _TABLE,
    ),
    "aten._native_batch_norm_legit.default": (
        ("aten._native_batch_norm_legit_functional.default",),
        "functionalization (the running-statistics update becomes an output)",
    ),
}

MISSING_WHY: dict[str, str] = {
    "aten._fft_r2c.default": "complex output: edgebuild has no complex tensors",
    "aten._fft_c2r.default": "complex input: edgebuild has no complex tensors",
    "aten.nonzero.default": "data-dependent output shape: edgebuild builds static shapes",
    "aten._local_scalar_dense.default": "Tensor.item(): a data-dependent Python scalar in the graph",
    "aten.as_strided.default": "reads raw storage by strides, which edgebuild's tensors do not have",
}

NO_LOWERING = "no lowering yet"


@dataclass(frozen=True)
class OpCoverage:
    op: str  # "aten.add.Tensor"
    status: str  # "lowered", "folded", "decomposed", "excluded", "missing"
    int8: bool
    float: bool
    note: str
    dynamic: bool = False  # a dynamic form: DYNAMIC_FULLY_CONNECTED for a product by a constant weight

    @property
    def covered(self) -> bool:
        return self.status in ("lowered", "folded", "decomposed")

    @property
    def inference(self) -> bool:
        return self.status != "excluded"


@functools.cache
def core_aten_ops() -> tuple[str, ...]:
    """Every registered aten OpOverload tagged core, as "aten.<name>.<overload>", sorted.

    Read from the dispatcher's list of every registered op: `dir(torch.ops.aten)` shows only the packets loaded so
    far and would miss some."""
    import torch

    found = []
    for qualified in torch._C._dispatch_get_all_op_names():
        if not qualified.startswith("aten::"):
            continue
        name, _, overload = qualified[len("aten::") :].partition(".")
        try:
            op = getattr(getattr(torch.ops.aten, name), overload or "default")
        except (AttributeError, RuntimeError):
            continue
        if torch.Tag.core in op.tags:
            found.append(f"aten.{name}.{overload or 'default'}")
    return tuple(sorted(set(found)))


# Ops with a registered lowering that does not yet cover what their core form can express (tests/ops holds these):
# listed as missing with why, so the table never claims more than the tests show.
KNOWN_GAPS: dict[str, str] = {
    "aten._embedding_bag.default": "lowered only with constant offsets (a bag matrix); computed offsets are missing",
    "aten._native_batch_norm_legit.default": (
        "batch statistics (a training-mode BatchNorm) reach the graph as _native_batch_norm_legit_functional, "
        "which has no lowering"
    ),
    "aten.copy.default": "a copy that broadcasts its source is refused",
}
# Ops whose int8 lowering is registered but refused for some operands: claimed float only.
INT8_GAPS: dict[str, str] = {
    "aten.scatter.value": "int8 scatter of a python number: the runtime refuses its scale (float form only)",
}


DYNAMIC_NOTE = "dynamic: DYNAMIC_FULLY_CONNECTED by a constant 2-D weight (--activations)"


def _registries() -> tuple[set[str], set[str], set[str]]:
    from .lower import ops  # noqa: F401  (registers every family)
    from .lower.registry import DYNAMIC_LOWERINGS, FLOAT_LOWERINGS, LOWERINGS

    return set(LOWERINGS), set(FLOAT_LOWERINGS), set(DYNAMIC_LOWERINGS)


def coverage_table() -> list[OpCoverage]:
    int8_ops, float_ops, dynamic_ops = _registries()

    def lowered(op: str) -> OpCoverage | None:
        i8, f32, dyn = op in int8_ops, op in float_ops, op in dynamic_ops
        if not (i8 or f32):
            return None
        if op in INT8_GAPS:
            return OpCoverage(op, "lowered", False, f32, INT8_GAPS[op], dyn)
        notes = ("" if f32 else "int8 only: no float fallback", DYNAMIC_NOTE if dyn else "")
        return OpCoverage(op, "lowered", i8, f32, "; ".join(n for n in notes if n), dyn)

    def direct(op: str) -> OpCoverage | None:
        return lowered(op) or (OpCoverage(op, "folded", False, False, FOLDED[op]) if op in FOLDED else None)

    rows = []
    for op in core_aten_ops():
        row = None if op in EXCLUDED else direct(op)
        if op in KNOWN_GAPS:
            row = OpCoverage(op, "missing", False, False, KNOWN_GAPS[op])
        if row is None and op in EXCLUDED:
            row = OpCoverage(op, "excluded", False, False, EXCLUDED[op])
        elif row is None and op in DECOMPOSED:
            into, how = DECOMPOSED[op]
            lacking = [o for o in into if direct(o) is None]
            note = f"{how}: " + ", ".join(o.removeprefix("aten.") for o in into)
            if lacking:
                row = OpCoverage(op, "missing", False, False, note + "; missing " + ", ".join(lacking))
            else:
                row = OpCoverage(op, "decomposed", False, False, note)
        elif row is None:
            row = OpCoverage(op, "missing", False, False, MISSING_WHY.get(op, NO_LOWERING))
        rows.append(row)
    return rows


def summary(rows: list[OpCoverage]) -> str:
    inference = [r for r in rows if r.inference]
    covered = sum(r.covered for r in inference)
    pct = 100.0 * covered / len(inference) if inference else 0.0
    return (
        f"{covered} of {len(inference)} core ATen inference ops covered ({pct:.1f}%); "
        f"{len(rows)} core ops in torch, {len(rows) - len(inference)} excluded as not inference ops"
    )


def _mark(row: OpCoverage, which: str) -> str:
    if row.status in ("folded", "decomposed"):
        return row.status
    if row.status == "excluded":
        return ""
    return "yes" if getattr(row, which) else "—"


def to_json(rows: list[OpCoverage]) -> str:
    inference = [r for r in rows if r.inference]
    return json.dumps(
        {
            "schema": "edgebuild.ops/1",
            "core_ops": len(rows),
            "inference_ops": len(inference),
            "covered": sum(r.covered for r in inference),
            "ops": [asdict(r) | {"covered": r.covered} for r in rows],
        },
        indent=2,
    )


def docs_text(rows: list[OpCoverage]) -> str:
    import torch

    lines = [
        "# Core ATen ops",
        "",
        "<!-- generated by `python -m edgebuild.coverage --write-docs` from edgebuild/coverage.py; do not edit -->",
        "",
        f"Every op of PyTorch's core ATen opset (ops tagged `torch.Tag.core` in torch {torch.__version__.split('+')[0]})",
        "and what edgebuild does with it; `edgebuild ops` prints the same table, `edgebuild ops --coverage` the summary.",
        "**int8**: an int8 lowering (used where PT2E quantizes the op); **float**: a float32 reference kernel",
        "(the float fallback); **folded**: evaluated at build time (the output depends only on constants and static",
        "shapes); **decomposed**: capture rewrites it into the ops named in the note. Each claim is tested by building",
        "a sample that contains the op (tests/ops/).",
        "",
        f"**{summary(rows)}.**",
        "",
        "| op | int8 | float | note |",
        "|---|---|---|---|",
    ]
    for r in rows:
        if r.inference:
            lines.append(f"| `{r.op}` | {_mark(r, 'int8')} | {_mark(r, 'float')} | {r.note} |")
    lines += ["", "## Not inference ops (not counted)", "", "| op | why |", "|---|---|"]
    lines += [f"| `{r.op}` | {r.note} |" for r in rows if not r.inference]
    return "\n".join(lines) + "\n"


def docs_stale() -> bool:
    return not DOCS.is_file() or DOCS.read_text() != docs_text(coverage_table())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edgebuild.coverage", description=__doc__.splitlines()[0])
    p.add_argument("--write-docs", action="store_true", help=f"regenerate {DOCS.name}")
    p.add_argument("--check", action="store_true", help=f"exit 1 if {DOCS.name} is stale")
    args = p.parse_args(argv)
    if args.check:
        if docs_stale():
            print("stale: docs/ops.md (run python -m edgebuild.coverage --write-docs)", file=sys.stderr)
            return 1
        return 0
    rows = coverage_table()
    if args.write_docs:
        DOCS.write_text(docs_text(rows))
        print(f"wrote docs/ops.md: {summary(rows)}")
        return 0
    print(docs_text(rows), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
