"""onnx_prep: an ONNX graph made convertible before onnx2torch sees it (steps 1-4 of edgebuild/onnx_in.py's
docstring): identifier input names, static input shapes, QDQ pairs removed, constants folded into initializers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .errors import EdgebuildError

QOPERATOR_OPS = {
    "QLinearConv",
    "QLinearMatMul",
    "QLinearAdd",
    "QLinearMul",
    "QLinearAveragePool",
    "QLinearGlobalAveragePool",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    "QLinearConcat",
    "ConvInteger",
    "MatMulInteger",
    "DynamicQuantizeLinear",
}
# Never evaluated ahead of time: random ops, and loops (an If is resolved by its condition instead).
_NOT_FOLDED = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Multinomial",
    "Loop",
    "Scan",
}
_FOLD_LIMIT = 1 << 24  # elements: a larger constant result stays a graph op
_MAX_PASSES = 32


def prepare(
    path: Path, model: onnx.ModelProto, shapes: list[tuple[int, ...]]
) -> tuple[onnx.ModelProto, list[str]]:
    """(the prepared model, notes for the user)."""
    from .onnx_in import graph_inputs, identifier

    model = _copy(model)
    g = model.graph
    qop = sorted({n.op_type for n in g.node if n.op_type in QOPERATOR_OPS})
    if qop:
        raise EdgebuildError(
            f"{path}: a QOperator-format quantized ONNX model ({', '.join(qop)}); edgebuild takes float or QDQ "
            "(QuantizeLinear/DequantizeLinear) models: export the float model, or quantize to QDQ format"
        )
    inputs = graph_inputs(model)
    taken = {vi.name for vi in inputs}
    for vi, shape in zip(inputs, shapes):
        new = identifier(vi.name)
        if new != vi.name:
            if new in taken:
                raise EdgebuildError(f"{path}: inputs {vi.name!r} and {new!r} have the same identifier form")
            _rename(g, vi.name, new)
            vi.name = new
        dims = vi.type.tensor_type.shape.dim
        del dims[:]
        for d in shape:
            dims.add().dim_value = d
    for vi in list(g.value_info):  # inferred again below, from the static inputs
        g.value_info.remove(vi)
    notes = []
    _fold(path, model)  # Constant nodes and weight DequantizeLinear first: a pair's scale may be a Constant
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    pairs = _drop_qdq_pairs(model, opset)
    _fold(path, model)
    left = sorted({n.op_type for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")})
    if left:
        raise EdgebuildError(
            f"{path}: {', '.join(left)} on values that are neither a QuantizeLinear/DequantizeLinear pair nor "
            "weights (integer tensors between ops); edgebuild takes float or QDQ models"
        )
    if pairs:
        notes.append(
            f"{path.name} is a QDQ model: its {pairs} QuantizeLinear/DequantizeLinear pair(s) became clamps to "
            "their ranges and its weights were dequantized; edgebuild quantized it again from the calibration data to its own contract "
            "(per-tensor int8 activations, per-channel symmetric int8 weights): the file's scales were not used"
        )
    _pad_rank3(model)
    _reshape_zeros(model)
    _single_output_producers(g)
    _drop_unused_initializers(g)
    return model, notes


def unsupported_ops(model: onnx.ModelProto, onnx2torch: Any) -> list[str]:
    """'OpType (opset N)' for every op type onnx2torch has no converter for."""
    from onnx2torch.node_converters.registry import get_converter

    opsets = {o.domain or "": o.version for o in model.opset_import}
    missing: dict[str, None] = {}
    for n in model.graph.node:
        domain = n.domain if n.domain != "ai.onnx" else ""
        version = opsets.get(domain)
        if version is None:
            missing[f"{domain}.{n.op_type} (no opset)"] = None
            continue
        try:
            get_converter(operation_type=n.op_type, version=version, domain=domain)
        except NotImplementedError:
            missing[f"{domain + '.' if domain else ''}{n.op_type} (opset {version})"] = None
    return list(missing)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def _rename(g: onnx.GraphProto, old: str, new: str) -> None:
    """Every use of value `old` (in subgraphs too, which may read outer values) becomes `new`."""
    for n in g.node:
        for i, name in enumerate(n.input):
            if name == old:
                n.input[i] = new
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                _rename(a.g, old, new)
            for sub in a.graphs:
                _rename(sub, old, new)
    for o in g.output:
        if o.name == old:
            o.name = new


_QRANGE = {
    onnx.TensorProto.INT8: (-128, 127),
    onnx.TensorProto.UINT8: (0, 255),
    onnx.TensorProto.INT16: (-32768, 32767),
    onnx.TensorProto.UINT16: (0, 65535),
}


def _drop_qdq_pairs(model: onnx.ModelProto, opset: int) -> int:
    """DequantizeLinear(QuantizeLinear(x)) -> Clip(x) to the pair's representable range, for every pair whose scale
    and zero point are constants. The saturation is kept (onnxruntime's quantizer drops a Relu / Clip behind a
    Conv and lets the quantization range do it), the rounding is not: edgebuild quantizes again. Returns how many
    pairs were replaced."""
    g = model.graph
    ranks = {vi.name: len(vi.type.tensor_type.shape.dim) for vi in _inferred(model).graph.value_info}
    ranks.update({vi.name: len(vi.type.tensor_type.shape.dim) for vi in g.input})
    producer = {o: n for n in g.node for o in n.output}
    inits = {t.name: t for t in g.initializer}
    count = 0
    for n in list(g.node):
        q = producer.get(n.input[0]) if n.op_type == "DequantizeLinear" else None
        if q is None or q.op_type != "QuantizeLinear" or any(i not in inits for i in q.input[1:] if i):
            continue
        scale = numpy_helper.to_array(inits[q.input[1]]).astype(np.float32)
        zp_t = inits[q.input[2]] if len(q.input) > 2 and q.input[2] else None
        zp = numpy_helper.to_array(zp_t).astype(np.float32) if zp_t is not None else np.zeros_like(scale)
        qrange = _QRANGE.get(zp_t.data_type if zp_t is not None else onnx.TensorProto.UINT8)
        if qrange is None:
            continue  # int4, float8 ...: left in place, refused below
        qmin, qmax = qrange
        lo, hi = (qmin - zp) * scale, (qmax - zp) * scale
        at = list(g.node).index(n)
        g.node.remove(n)
        base = n.output[0]
        if scale.size == 1 and opset >= 11:
            names = [f"{base}__qmin", f"{base}__qmax"]
            g.initializer.extend(
                [
                    numpy_helper.from_array(np.asarray(v.reshape(()), np.float32), k)
                    for v, k in zip((lo, hi), names)
                ]
            )
            g.node.insert(at, helper.make_node("Clip", [q.input[0], *names], [base]))
        else:  # per-axis: broadcast bounds along the pair's axis
            axis = next((a.i for a in q.attribute if a.name == "axis"), 1)
            rank = ranks.get(q.input[0], axis + 1)
            shape = [1] * max(rank, axis + 1)
            shape[axis] = -1 if scale.size > 1 else 1
            names = [f"{base}__qmin", f"{base}__qmax", f"{base}__low"]
            g.initializer.extend(
                [
                    numpy_helper.from_array(v.reshape(shape).astype(np.float32), k)
                    for v, k in zip((lo, hi), names)
                ]
            )
            g.node.insert(at, helper.make_node("Min", [q.input[0], names[1]], [names[2]]))
            g.node.insert(at + 1, helper.make_node("Max", [names[2], names[0]], [base]))
        count += 1
    used = {i for m in g.node for i in m.input} | {o.name for o in g.output}
    for m in list(g.node):
        if m.op_type == "QuantizeLinear" and m.output[0] not in used:
            g.node.remove(m)
    return count


def _inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    return onnx.shape_inference.infer_shapes(model)


def _static_shape(vi: onnx.ValueInfoProto) -> list[int] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
        return None
    return [int(d.dim_value) for d in t.shape.dim]


def _fold(path: Path, model: onnx.ModelProto) -> None:
    """Evaluate every node whose inputs are known, until none is left (module docstring, step 4)."""
    g = model.graph
    for _ in range(_MAX_PASSES):
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception as e:  # an inconsistent graph: onnx2torch would fail on it too
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EdgebuildError(f"{path}: ONNX shape inference failed: {first}") from e
        shapes = {vi.name: _static_shape(vi) for vi in [*inferred.graph.value_info, *inferred.graph.input]}
        known = {t.name: t for t in g.initializer}
        changed = False
        for n in list(g.node):
            values = _evaluate(model, n, known, shapes)
            if values is None:
                continue
            g.node.remove(n)
            for name, value in zip(n.output, values):
                if name:
                    t = numpy_helper.from_array(np.asarray(value), name)
                    g.initializer.append(t)
                    known[name] = t
            changed = True
        changed = _resolve_ifs(g, known) or changed
        if not changed:
            break
    for vi in list(g.value_info):
        g.value_info.remove(vi)


def _evaluate(
    model: onnx.ModelProto,
    n: onnx.NodeProto,
    known: dict[str, onnx.TensorProto],
    shapes: dict[str, list[int] | None],
) -> list[np.ndarray] | None:
    if n.domain not in ("", "ai.onnx") or n.op_type in _NOT_FOLDED or n.op_type == "If":
        return None
    if n.op_type in ("Shape", "Size") and shapes.get(n.input[0]) is not None:
        shape = np.array(shapes[n.input[0]], dtype=np.int64)
        if n.op_type == "Size":
            return [np.array(int(np.prod(shape)), dtype=np.int64)]
        attrs = {a.name: a.i for a in n.attribute}
        return [shape[attrs.get("start", 0) : attrs.get("end")]]
    if any(name and name not in known for name in n.input):
        return None
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in n.attribute):
        return None
    if n.op_type == "DequantizeLinear":
        return [_dequantize(n, [numpy_helper.to_array(known[name]) if name else None for name in n.input])]
    from onnx.reference import ReferenceEvaluator

    names = [name for name in n.input if name]
    graph = helper.make_graph(
        [n],
        "fold",
        [],
        [helper.make_empty_tensor_value_info(o) for o in n.output if o],
        initializer=[known[name] for name in dict.fromkeys(names)],
    )
    tiny = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
    try:
        values = ReferenceEvaluator(tiny).run(None, {})
    except Exception:  # noqa: BLE001  (an op or form the reference evaluator lacks: it stays a graph op)
        return None
    if any(np.asarray(v).size > _FOLD_LIMIT for v in values):
        return None
    return [np.asarray(v) for v in values]


def _dequantize(n: onnx.NodeProto, args: list[np.ndarray | None]) -> np.ndarray:
    """DequantizeLinear of a constant (weights, int32 biases): onnx's reference evaluator implements only opset 19+."""
    x, scale = args[0], args[1]
    assert x is not None and scale is not None
    zp = args[2] if len(args) > 2 and args[2] is not None else np.zeros_like(scale, dtype=np.int64)
    axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
    if scale.ndim == 1 and scale.size > 1:
        shape = [1] * x.ndim
        shape[axis] = scale.size
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((x.astype(np.int64) - zp.astype(np.int64)) * scale.astype(np.float32)).astype(np.float32)


def _resolve_ifs(g: onnx.GraphProto, known: dict[str, onnx.TensorProto]) -> bool:
    """An If whose condition is known is replaced by the nodes of the branch it takes."""
    changed = False
    for n in list(g.node):
        if n.op_type != "If" or n.input[0] not in known:
            continue
        cond = bool(numpy_helper.to_array(known[n.input[0]]).reshape(-1)[0])
        branch = next(a.g for a in n.attribute if a.name == ("then_branch" if cond else "else_branch"))
        at = list(g.node).index(n)
        g.node.remove(n)
        new = list(branch.node)
        for out, bout in zip(n.output, branch.output):
            new.append(helper.make_node("Identity", [bout.name], [out]))
        for k, node in enumerate(new):
            g.node.insert(at + k, node)
        g.initializer.extend(branch.initializer)
        changed = True
    return changed


def _pad_rank3(model: onnx.ModelProto) -> None:
    """A reflect / edge Pad of a rank-1 or rank-2 tensor runs on it with unit axes in front (Unsqueeze, Pad,
    Squeeze): PyTorch (and onnx2torch's converter) pads the trailing dims of 3-D to 5-D tensors only."""
    g = model.graph
    ranks = {vi.name: len(vi.type.tensor_type.shape.dim) for vi in _inferred(model).graph.value_info}
    ranks.update({vi.name: len(vi.type.tensor_type.shape.dim) for vi in g.input})
    inits = {t.name: t for t in g.initializer}
    for n in list(g.node):
        mode = next((a.s.decode() for a in n.attribute if a.name == "mode"), "constant")
        rank = ranks.get(n.input[0])
        if n.op_type != "Pad" or mode == "constant" or rank not in (1, 2) or n.input[1] not in inits:
            continue
        if len(n.input) > 3 and n.input[3]:
            continue  # an axes operand (opset 18): left as it is
        extra = 3 - rank
        pads = numpy_helper.to_array(inits[n.input[1]]).astype(np.int64)
        new_pads = np.concatenate(
            [np.zeros(extra, np.int64), pads[:rank], np.zeros(extra, np.int64), pads[rank:]]
        )
        pads_name, axes_name = f"{n.output[0]}__pads3", f"{n.output[0]}__axes3"
        g.initializer.extend(
            [
                numpy_helper.from_array(new_pads, pads_name),
                numpy_helper.from_array(np.arange(extra), axes_name),
            ]
        )
        at = list(g.node).index(n)
        up, padded = f"{n.output[0]}__up", f"{n.output[0]}__padded"
        g.node.insert(at, helper.make_node("Unsqueeze", [n.input[0], axes_name], [up]))
        g.node.insert(at + 2, helper.make_node("Squeeze", [padded, axes_name], [n.output[0]]))
        n.input[0], n.input[1] = up, pads_name
        n.output[0] = padded


def _reshape_zeros(model: onnx.ModelProto) -> None:
    """A 0 in a constant Reshape shape (copy the input's dim) becomes that dim: onnx2torch's Reshape resolves zeros
    by iterating over the shape tensor, which torch.export cannot trace even with the values known."""
    g = model.graph
    inferred = _inferred(model).graph
    shapes = {vi.name: _static_shape(vi) for vi in [*inferred.value_info, *inferred.input]}
    inits = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type != "Reshape" or n.input[1] not in inits or shapes.get(n.input[0]) is None:
            continue
        if any(a.name == "allowzero" and a.i for a in n.attribute):
            continue
        target = numpy_helper.to_array(inits[n.input[1]]).astype(np.int64)
        if not (target == 0).any():
            continue
        dims = shapes[n.input[0]] or []
        fixed = np.array([dims[i] if v == 0 else v for i, v in enumerate(target)], np.int64)
        name = f"{n.output[0]}__shape"
        g.initializer.append(numpy_helper.from_array(fixed, name))
        n.input[1] = name


def _single_output_producers(g: onnx.GraphProto) -> None:
    """A graph output made by a node with several outputs (LSTM's Y_h) goes through an Identity: onnx2torch returns
    a producer's whole output tuple for each graph output it makes."""
    producer = {o: n for n in g.node for o in n.output}
    for out in g.output:
        n = producer.get(out.name)
        if n is None or sum(1 for o in n.output if o) == 1:
            continue
        inner = f"{out.name}__value"
        n.output[list(n.output).index(out.name)] = inner
        for m in g.node:
            for i, name in enumerate(m.input):
                if name == out.name:
                    m.input[i] = inner
        g.node.append(helper.make_node("Identity", [inner], [out.name]))


def _drop_unused_initializers(g: onnx.GraphProto) -> None:
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    for n in g.node:
        for a in n.attribute:  # values read inside subgraphs
            for sub in [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs):
                used |= {i for m in sub.node for i in m.input}
    for t in list(g.initializer):
        if t.name not in used:
            g.initializer.remove(t)
