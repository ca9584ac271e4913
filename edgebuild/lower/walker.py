"""The graph walker: lower_graph visits the q/dq graph in order and decides, per node, int8 or float fallback.

The decisions (lower/__init__.py, "Float fallback"): a linear layer the quantizer chose dynamic (the node names in
`gm.meta["edgebuild_dynamic"]`, edgebuild/quantize.py) takes its dynamic form (DYNAMIC_FULLY_CONNECTED), or its
float form when the dynamic one refuses it. Otherwise an op with an int8 lowering is lowered in int8 unless it is in a
forced float layer; when its int8 lowering finds an input or output that is not int8 (NotQuantized), the partial
work is undone and its float lowering runs instead, if it has one. An op with only a float lowering runs in float.
An op with neither is collected, and the build stops with every such op, its count and source lines.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch.fx import GraphModule, Node

from ..errors import EdgebuildError
from ..ir import DType, Layout, Program, Tensor
from .context import (
    CHANNEL_DEQUANTIZE,
    DEQUANTIZE_NODES,
    QUANTIZE_NODES,
    FloatBlocked,
    LoweringContext,
    NotQuantized,
    node_shape,
    op_name,
    source_line,
)
from .fold_pad import fold_pads
from .fuse_attention import fuse_attention as fuse_attention_ops
from .registry import DYNAMIC_LOWERINGS, FLOAT_LOWERINGS, LOWERINGS

REASON_NO_INT8 = "no int8 kernel"
REASON_NOT_QUANTIZED = "not quantized by PT2E"
REASON_FORCED = "forced to float (float_layers)"
REASON_INT8_REFUSED = "the int8 form refuses it"
REASON_DYNAMIC_REFUSED = "the dynamic form refuses it"

SKIPPED_MODULES = {"_guards_fn"}
# run-time assertions torch.export leaves in a graph (dtype / shape / value checks): nothing to compute
ASSERTIONS = {"aten._assert_tensor_metadata.default", "aten._assert_scalar.default", "aten._assert_async.msg",
              "aten._assert_async.default", "aten.sym_constrain_range_for_size.default",
              "aten.sym_constrain_range.default"}  # fmt: skip


def matches_float_layer(node: Node, float_layers: Iterable[str]) -> bool:
    """Does `node` belong to one of the named layers (a module path or one of its parents, or the node's name)?"""
    layers = [name for name in float_layers if name]
    if not layers:
        return False
    if node.name in layers:
        return True
    stack = node.meta.get("nn_module_stack") or {}
    paths: list[str] = []
    for value in stack.values():
        path = value[0] if isinstance(value, tuple) else str(value)
        # torch.export spells module paths "L['self'].encoder.0" or "encoder.0" depending on the version
        paths.append(path.replace("L['self'].", "").replace("L['self']", ""))
    return any(p == layer or p.startswith(layer + ".") for p in paths for layer in layers)


ADVICE_MISSING = "op missing: file an issue / see `edgebuild ops`"
ADVICE_FORM = "this form is missing: file an issue / see `edgebuild ops`"
ADVICE_FLOAT = "keep it float: --float-layers {layer}"
REASON_MISSING = "no int8 lowering and no float fallback"


@dataclass
class Unsupported:
    name: str
    sources: list[str] = field(default_factory=list)
    reason: str = ""
    advice: str = ""
    layers: list[str] = field(default_factory=list)


def layer_of(node: Node) -> str:
    """The module path of the layer that made `node` (for --float-layers), else the node's name."""
    stack = node.meta.get("nn_module_stack") or {}
    for value in reversed(list(stack.values())):
        path = value[0] if isinstance(value, tuple) else str(value)
        path = path.replace("L['self'].", "").replace("L['self']", "")
        if path:
            return path
    return node.name


def _symbolic(node: Node) -> bool:
    """A node computing a symbolic size or a check on one (sym_size, operator.ge on SymInts), not a tensor."""
    if node.target is torch.ops.aten._local_scalar_dense.default:
        return False  # Tensor.item(): a data-dependent value, not a size: reported as missing
    val = node.meta.get("val")
    return isinstance(val, (torch.SymInt, torch.SymBool, torch.SymFloat))


def _why(node: Node, e: BaseException) -> str:
    """A lowering's failure as one line, without the node-name prefix lowerings put on their messages."""
    text = " ".join(str(e).split()) or type(e).__name__
    if text.startswith(f"{node.name}: "):
        text = text[len(node.name) + 2 :]
    if not isinstance(e, EdgebuildError):
        text = f"internal error in its lowering ({type(e).__name__}: {text}); please report it"
    return text


class UnsupportedOpsError(EdgebuildError):
    def __init__(self, message: str, ops: list[Unsupported]):
        super().__init__(message)
        self.ops = ops


def _graph_input(ctx: LoweringContext, node: Node) -> None:
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        raise EdgebuildError(f"model input {node.name!r} is not a tensor; only tensor inputs are supported")
    if val.dtype == torch.float32:
        dtype = DType.FLOAT32
    elif val.dtype in (torch.int32, torch.int64):
        dtype = DType.INT32  # token ids: int64 data is narrowed to int32 (checked) when it is set
    else:
        raise EdgebuildError(
            f"model input {node.name!r} is {val.dtype}; float32 and integer (token id) inputs are "
            "supported: cast it in the model or export with float32/int64 example inputs"
        )
    if not all(isinstance(d, int) for d in val.shape):
        raise EdgebuildError(
            f"model input {node.name!r} has a dynamic shape {tuple(val.shape)}; edgebuild builds static "
            "shapes (batch 1): export with fixed example inputs (no dynamic_shapes)"
        )
    shape = node_shape(node)
    ctx.values[node] = ctx.program.add_tensor(Tensor(node.name, dtype, shape))
    ctx.program.inputs.append(ctx.values[node])


def lower_graph(
    gm: GraphModule, name: str = "model", float_layers: Iterable[str] = (), fuse_attention: bool = True
) -> Program:
    """The IR of the q/dq graph `gm` (lower/__init__.py). fuse_attention: attention's op chains become ATTENTION ops
    (lower/fuse_attention.py; the same output bits either way)."""
    from . import ops  # noqa: F401  (registers the lowerings)
    from .ops.quantize import dequantize_output, lower_quantize

    ctx = LoweringContext(gm)
    prog = ctx.program
    unsupported: dict[str, Unsupported] = {}
    blocked: list[tuple[Node, str]] = []
    float_layers = tuple(float_layers)
    float_ops: list[dict[str, str]] = []
    # ops the quantizer left float because PT2E could not handle them (quantize.py), with the reason
    quant_reasons: dict[str, str] = dict(gm.meta.get("edgebuild_float_reasons", {}))
    # linear layers the quantizer left unannotated for dynamic activation quantization (quantize.py)
    dynamic = set(gm.meta.get("edgebuild_dynamic", ()))
    dynamic_ops: list[dict[str, str]] = []

    Snapshot = tuple[int, int, set[Node], dict[Node, int], dict[str, object], dict[Node, dict[Layout, int]]]

    def snapshot() -> Snapshot:
        meta = {k: (dict(v) if isinstance(v, dict) else v) for k, v in prog.metadata.items()}
        fvalues = {k: dict(v) for k, v in ctx.fvalues.items()}  # an undone lowering's float tensors go too
        return len(prog.tensors), len(prog.ops), set(ctx.consumed), dict(ctx.values), meta, fvalues

    def restore(snap: Snapshot) -> None:
        n_tensors, n_ops, consumed, values, meta, fvalues = snap
        del prog.tensors[n_tensors:]
        del prog.ops[n_ops:]
        ctx.consumed = consumed
        ctx.values = values
        ctx.fvalues = fvalues
        prog.metadata = meta

    def lower_float(node: Node, reason: str) -> None:
        snap = snapshot()
        try:
            FLOAT_LOWERINGS[op_name(node)](ctx, node)
        except FloatBlocked as e:
            restore(snap)
            blocked.append((node, str(e)))
            return
        except Exception as e:  # noqa: BLE001  (a form the float lowering refuses, or a bug: listed, walk goes on)
            restore(snap)
            note_unsupported(node, _why(node, e), ADVICE_FORM)
            return
        float_ops.append(
            {
                "op": op_name(node),
                "node": node.name,
                "source": source_line(node),
                "reason": quant_reasons.get(node.name, reason),
            }
        )

    def lower_dynamic(node: Node) -> None:
        snap = snapshot()
        try:
            DYNAMIC_LOWERINGS[op_name(node)](ctx, node)
        except EdgebuildError as e:  # a form the dynamic lowering refuses: the float form
            restore(snap)
            lower_float(node, f"{REASON_DYNAMIC_REFUSED}: {_why(node, e)}")
            return
        except Exception as e:  # noqa: BLE001  (a bug in the dynamic lowering: listed, the walk goes on)
            restore(snap)
            note_unsupported(node, _why(node, e), ADVICE_FLOAT)
            return
        dynamic_ops.append(
            {"op": op_name(node), "node": node.name, "source": source_line(node), "layer": layer_of(node)}
        )

    def note_unsupported(node: Node, reason: str = REASON_MISSING, advice: str = ADVICE_MISSING) -> None:
        key = f"{op_name(node)}\0{reason}"
        entry = unsupported.setdefault(key, Unsupported(op_name(node), reason=reason, advice=advice))
        entry.sources.append(source_line(node) or node.name)
        entry.layers.append(layer_of(node))

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            _graph_input(ctx, node)
        elif node.op in ("get_attr",) or (node.op == "call_module" and node.target in SKIPPED_MODULES):
            continue
        elif node.op == "output":
            for out in node.args[0]:  # type: ignore[union-attr]
                try:
                    src = ctx.input(out)
                except NotQuantized:
                    try:
                        fsrc = ctx.float_value(out, Layout.PLAIN)
                    except FloatBlocked:
                        if not unsupported and not blocked:
                            raise EdgebuildError(
                                f"model output {getattr(out, 'name', out)!r} has no value: "
                                "the op that produces it was not lowered"
                            ) from None
                        continue
                    ft = ctx.tensor(fsrc)
                    if ft.dtype != DType.FLOAT32 or fsrc in prog.inputs or fsrc in prog.outputs:
                        raise EdgebuildError(
                            f"model output {out.name!r} is a graph input or repeats another output; "
                            "edgebuild needs every output computed by an op"
                        )
                    prog.outputs.append(fsrc)
                    continue
                prog.outputs.append(dequantize_output(ctx, out, src))
        elif node in ctx.consumed or (
            node.op == "call_function" and op_name(node) in ASSERTIONS and not node.users
        ):
            continue
        elif node.op == "call_function" and node.target in QUANTIZE_NODES:
            lower_quantize(ctx, node)
        elif node.op == "call_function" and (
            node.target in DEQUANTIZE_NODES or node.target in CHANNEL_DEQUANTIZE
        ):
            continue
        elif (
            node.op == "call_function"
            and node.name in dynamic
            and op_name(node) in DYNAMIC_LOWERINGS
            and not matches_float_layer(node, float_layers)
        ):
            lower_dynamic(node)
        elif node.op == "call_function" and op_name(node) in LOWERINGS:
            has_float = op_name(node) in FLOAT_LOWERINGS
            if has_float and matches_float_layer(node, float_layers):
                lower_float(node, REASON_FORCED)
                continue
            snap = snapshot()
            try:
                LOWERINGS[op_name(node)](ctx, node)
            except NotQuantized as e:
                restore(snap)
                if has_float:
                    lower_float(node, REASON_NOT_QUANTIZED)
                else:
                    blocked.append((node, str(e)))
            except EdgebuildError as e:  # attributes the int8 form refuses: the float form, if it takes them
                restore(snap)
                if has_float:
                    lower_float(node, f"{REASON_INT8_REFUSED}: {_why(node, e)}")
                else:
                    note_unsupported(node, _why(node, e), ADVICE_FORM)
            except Exception as e:  # noqa: BLE001  (a bug in the int8 lowering: listed, the walk goes on)
                restore(snap)
                note_unsupported(node, _why(node, e), ADVICE_FLOAT if has_float else ADVICE_FORM)
        elif node.op == "call_function" and op_name(node) in FLOAT_LOWERINGS:
            lower_float(node, REASON_FORCED if matches_float_layer(node, float_layers) else REASON_NO_INT8)
        elif _symbolic(node):
            continue  # shape arithmetic behind a data-dependent op (nonzero, ...): that op is what is listed
        else:
            note_unsupported(node)

    if not unsupported and blocked:
        stuck = {node for node, _ in blocked}
        for node, _ in blocked:
            if node.target is operator.getitem and node.args[0] in stuck:
                continue  # the part of a tuple whose op is listed itself
            note_unsupported(node, "its inputs or output are not int8 (the quantizer did not annotate it) and it "
                             "has no float form")  # fmt: skip
    if unsupported:
        raise UnsupportedOpsError(
            _listing(list(unsupported.values())), sorted(unsupported.values(), key=lambda u: u.name)
        )
    if not prog.outputs:
        raise EdgebuildError("the model has no outputs")
    _refuse_empty(prog)
    fold_pads(prog)  # F.pad before a convolution -> the convolution's padding (fold_pad.py)
    if fuse_attention:
        fuse_attention_ops(prog)  # BMM -> ADD mask -> SOFTMAX -> BMM -> one ATTENTION op (fuse_attention.py)
    prog.metadata["model"] = name
    prog.metadata["ops"] = [{"name": op.name, "aten": op.aten, "source": op.source} for op in prog.ops]
    prog.metadata["float_ops"] = float_ops
    if dynamic_ops:  # absent otherwise: the metadata (and bytes) of static builds stay as they were
        prog.metadata["dynamic_ops"] = dynamic_ops
    return prog


def _refuse_empty(prog: Program) -> None:
    """An artifact holds no tensor without elements (the loader refuses one): name the op that makes it."""
    for op in prog.ops:
        for tid in op.outputs:
            t = prog.tensors[tid]
            if 0 in t.shape:
                where = f" at {op.source}" if op.source else ""
                raise EdgebuildError(
                    f"{op.aten or op.name}{where} gives an empty tensor {list(t.shape)}; edgebuild builds no "
                    "empty tensors: remove the op from the model's forward(), or file an issue"
                )


def _listing(entries: list[Unsupported]) -> str:
    """Every op that blocks the build, one line per op and reason: count, source lines, what to do."""
    entries = sorted(entries, key=lambda u: (u.name, u.reason))
    nodes = sum(len(u.sources) for u in entries)
    lines = [f"{nodes} op(s) of {len({u.name for u in entries})} type(s) cannot be lowered:"]
    for u in entries:
        where = ", ".join(dict.fromkeys(u.sources[:5])) + (", ..." if len(u.sources) > 5 else "")
        advice = u.advice.format(layer=",".join(dict.fromkeys(u.layers[:5])))
        lines.append(
            f"  {u.name} ×{len(u.sources)} at {where} — {u.reason}" + (f"; {advice}" if advice else "")
        )
    return "\n".join(lines)
