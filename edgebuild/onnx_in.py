"""onnx_in: an ONNX file -> a static-shape torch.export program, through onnx2torch (DESIGN.md "ONNX in").

The file is prepared with the `onnx` package before onnx2torch sees it, because real files need it:

1. Input shapes become static: a symbolic batch dimension (an input's first dimension, and every dimension with
   the same symbol) is 1; other symbolic dimensions come from `--input-shape` / the calibration data, or the build
   is refused. An input whose first dimension is not 1 (silero-vad's state [2, 1, 128]) gets a leading batch axis
   of 1: edgebuild's data files count samples along dim 0.
2. Constant nodes become initializers (paddle2onnx keeps weights in them; onnx2torch does not read them).
3. QDQ files: weights behind DequantizeLinear are dequantized into float initializers, and each activation
   QuantizeLinear -> DequantizeLinear pair becomes a Clip to the pair's representable range (the saturation is
   kept: onnxruntime's quantizer drops a Relu / Clip behind a Conv and lets the range do it; the rounding is not).
   edgebuild then quantizes again from the calibration data to its own contract (docs/quantization.md): the file's
   scales are not used, and the build says so. QOperator files (QLinearConv, ConvInteger, ...) are refused.
4. Nodes whose inputs are known (shapes from shape inference) are evaluated until none is left (onnx_prep.py): Shape
   -> Gather -> Concat chains become numbers, an If whose condition became known is replaced by its branch.
5. onnx2torch converts the graph (edgebuild/onnx_lstm.py adds LSTM, which it lacks). Its converters read shape
   operands with `.tolist()` / `.numpy()` at run time, which torch.export rejects on its fake tensors: Squeeze /
   Unsqueeze / ReduceSum with constant axes become onnx2torch's static-axes forms, and every other converter with
   integer constant operands gets them as real tensors, made inside its call with the fake-tensor mode lifted.
6. torch.export captures it at the static shapes, inputs named as the ONNX inputs (the calibration keys).

Unsupported ops are listed, all at once, with the opset, on one line.
"""

from __future__ import annotations

import re
import sys
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EdgebuildError

if TYPE_CHECKING:
    import onnx
    import torch


@dataclass
class OnnxModel:
    """What load.py keeps of a converted file."""

    exported: torch.export.ExportedProgram
    input_names: list[str]  # as the calibration keys name them (the ONNX names, made identifiers)
    notes: list[str] = field(default_factory=list)  # said to the user by the build (e.g. QDQ re-quantized)


def is_onnx(head: bytes) -> bool:
    """A ModelProto starts with field 1 (ir_version, a varint: tag byte 0x08) and a small version number."""
    return len(head) >= 2 and head[0] == 0x08 and 1 <= head[1] <= 32


def read_model(path: Path) -> onnx.ModelProto:
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as e:  # DecodeError, a missing external-data file, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgebuildError(
            f"{path}: not a readable ONNX model ({first}); the file may be truncated: export it again"
        ) from e
    if not model.graph.node:
        raise EdgebuildError(f"{path}: the ONNX model has no nodes (a truncated or empty file?)")
    return model


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The real inputs (older exporters also list initializers as inputs)."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def identifier(name: str) -> str:
    out = re.sub(r"\W", "_", name)
    return out if out and not out[0].isdigit() else f"input_{out}"


def declared_shapes(model: onnx.ModelProto) -> list[list[int | str | None]]:
    """Each input's dims: an int, a symbol, or None (unknown)."""
    shapes = []
    for vi in graph_inputs(model):
        dims: list[int | str | None] = []
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            else:
                dims.append(d.dim_param or None)
        shapes.append(dims)
    return shapes


def resolve_shapes(
    path: Path, model: onnx.ModelProto, given: list[tuple[int, ...]] | None
) -> list[tuple[int, ...]]:
    """Static input shapes (see the module docstring, step 1). `given`: shapes from --input-shape or the
    calibration data, in edgebuild's form (a leading batch axis where the ONNX input has none)."""
    inputs = graph_inputs(model)
    declared = declared_shapes(model)
    batch_symbols = {dims[0] for dims in declared if dims and isinstance(dims[0], str)}
    out: list[tuple[int, ...]] = []
    for i, (vi, dims) in enumerate(zip(inputs, declared)):
        want = given[i] if given is not None and i < len(given) else None
        if want is not None and len(want) in (len(dims), len(dims) + 1):
            if len(want) == len(dims) + 1:
                want = want[1:]  # edgebuild's leading batch axis
            fixed = [d for d, w in zip(dims, want) if isinstance(d, int) and d != w]
            if not fixed:
                out.append(tuple(want))
                continue
        shape: list[int] = []
        for j, d in enumerate(dims):
            if isinstance(d, int):
                shape.append(d)
            elif (j == 0 and d is not None) or d in batch_symbols or (j == 0 and len(dims) > 1):
                shape.append(1)  # the batch dimension
            else:
                dyn = [str(x or "?") for x in dims]
                raise EdgebuildError(
                    f"{path}: input {vi.name!r} has dynamic dimensions [{', '.join(dyn)}]; edgebuild builds static "
                    f"shapes: pass --input-shape (one input) or --calib data of the shape to build for"
                )
        out.append(tuple(shape))
    return out


def _stub_torchvision() -> types.ModuleType:
    """onnx2torch imports torchvision for its NonMaxSuppression / RoiAlign converters only. torchvision from PyPI
    breaks beside torch 2.13, so it is absent: a stand-in that fails when used is present during the import only."""
    tv = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")

    def unavailable(*_: Any, **__: Any) -> Any:
        raise EdgebuildError(
            "the ONNX model uses NonMaxSuppression or RoiAlign, which edgebuild does not build"
        )

    ops.roi_align = ops.nms = ops.box_convert = unavailable  # type: ignore[attr-defined]
    tv.ops = ops  # type: ignore[attr-defined]
    return tv


def onnx2torch_module() -> Any:
    from .onnx_lstm import register

    if "onnx2torch" in sys.modules or "torchvision" in sys.modules:
        import onnx2torch

        register()
        return onnx2torch
    tv = _stub_torchvision()
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = tv, tv.ops
    try:
        import onnx2torch
    except ImportError as e:
        raise EdgebuildError(
            f"ONNX input needs onnx2torch ({e}): pip install --no-deps onnx2torch==1.5.15"
        ) from e
    finally:
        del sys.modules["torchvision"], sys.modules["torchvision.ops"]
    register()
    return onnx2torch


def convert_onnx(path: Path, given: list[tuple[int, ...]] | None = None) -> OnnxModel:
    """The file -> OnnxModel (module docstring). `given`: input shapes from --input-shape / the calibration data."""
    import torch

    from .onnx_prep import prepare, unsupported_ops

    model = read_model(path)
    shapes = resolve_shapes(path, model, given)
    model, notes = prepare(path, model, shapes)
    missing = unsupported_ops(model, onnx2torch_module())
    if missing:
        raise EdgebuildError(
            f"{path}: ONNX op(s) edgebuild cannot convert: {', '.join(missing)}; re-export the model without them"
        )
    inputs = graph_inputs(model)
    names = [vi.name for vi in inputs]  # identifiers now (onnx_prep.prepare)
    try:
        gm = onnx2torch_module().convert(model, save_input_names=True).eval()  # BatchNorm: running statistics
    except Exception as e:  # a converter that refuses an attribute (NotImplementedError), or a bad graph
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgebuildError(f"{path}: onnx2torch cannot convert {_failing_node(e, model)}: {first}") from e
    _values_not_symbols(gm)
    _static_axes(gm)
    _bind_constants(gm)
    extra = [len(s) < 1 or s[0] != 1 for s in shapes]
    module = _batched(gm, names, extra)
    example = tuple(
        torch.zeros((1, *s) if e else s, dtype=_torch_dtype(vi)) for s, e, vi in zip(shapes, extra, inputs)
    )
    try:
        with warnings.catch_warnings():  # onnx2torch's converters trip torch's deprecation notices
            warnings.simplefilter("ignore")
            ep = torch.export.export(module, example, strict=False)
    except EdgebuildError:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgebuildError(f"{path}: torch.export cannot capture the converted ONNX model: {first}") from e
    return OnnxModel(ep, names, notes)


def _failing_node(e: BaseException, model: onnx.ModelProto) -> str:
    """'the ONNX op Pad (opset 13, node "pad_1")': the node convert() was at, read from its traceback frame."""
    tb = e.__traceback__
    node = None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "convert" and "onnx_node" in tb.tb_frame.f_locals:
            node = tb.tb_frame.f_locals["onnx_node"]
        tb = tb.tb_next
    if node is None:
        return "the model"
    opsets = {o.domain or "": o.version for o in model.opset_import}
    return f'the ONNX op {node.operation_type} (opset {opsets.get(node.domain, "?")}, node "{node.name}")'


def _torch_dtype(vi: onnx.ValueInfoProto) -> torch.dtype:
    import onnx
    import torch

    elem = vi.type.tensor_type.elem_type
    if elem in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
        return torch.int64
    if elem == onnx.TensorProto.FLOAT:
        return torch.float32
    raise EdgebuildError(
        f"ONNX input {vi.name!r} is {onnx.TensorProto.DataType.Name(elem)}; edgebuild takes float32 or integer inputs"
    )


def _values_not_symbols(gm: torch.fx.GraphModule) -> None:
    """onnx2torch keeps initializers as buffers; torch.export makes buffers symbolic, and the converters' `.tolist()`
    on a shape operand then fails (GuardOnDataDependentSymNode). Integer initializers are shape operands, indices or
    axes, never weights: as plain attributes they are constants torch.export reads by value."""
    import torch

    inits = getattr(
        gm, "initializers", torch.nn.Module()
    )  # onnx2torch's container; BatchNorm's counters stay
    for name, buf in list(inits._buffers.items()):
        if buf is not None and not buf.is_floating_point() and buf.dtype != torch.bool:
            del inits._buffers[name]
            setattr(inits, name, buf)


def _attr(gm: torch.fx.GraphModule, node: torch.fx.Node) -> torch.Tensor:
    import torch

    value = torch.fx.graph_module._get_attr(gm, str(node.target))
    assert isinstance(value, torch.Tensor)
    return value


def _static_axes(gm: torch.fx.GraphModule) -> None:
    """onnx2torch's Squeeze / Unsqueeze / ReduceSum with an axes operand (opset 13+) sort the axes tensor, and its
    Reshape compares the shape tensor with 0, which torch.export traces as data (`.item()` fails). With a constant
    operand they become the converter's own static-axes forms, and a reshape to a fixed shape."""
    import torch
    from onnx2torch.node_converters.reduce import OnnxReduceSumDynamicAxes, OnnxReduceSumStaticAxes
    from onnx2torch.node_converters.reshape import OnnxReshape
    from onnx2torch.node_converters.squeeze import OnnxSqueezeDynamicAxes, OnnxSqueezeStaticAxes
    from onnx2torch.node_converters.unsqueeze import OnnxUnsqueezeDynamicAxes, OnnxUnsqueezeStaticAxes

    for node in list(gm.graph.nodes):
        if node.op != "call_module" or len(node.args) != 2 or node.kwargs:
            continue
        axes_node = node.args[1]
        if not (isinstance(axes_node, torch.fx.Node) and axes_node.op == "get_attr"):
            continue
        axes = [int(a) for a in _attr(gm, axes_node).reshape(-1).tolist()]
        mod = gm.get_submodule(node.target)
        new: torch.nn.Module
        if isinstance(mod, OnnxSqueezeDynamicAxes):
            new = OnnxSqueezeStaticAxes(axes=axes or None)
        elif isinstance(mod, OnnxUnsqueezeDynamicAxes):
            new = OnnxUnsqueezeStaticAxes(axes=axes)
        elif isinstance(mod, OnnxReduceSumDynamicAxes) and axes:
            new = OnnxReduceSumStaticAxes(axes, mod._keepdims, mod._noop_with_empty_axes)
        elif isinstance(mod, OnnxReshape) and 0 not in axes:  # the operand is the shape (zeros: onnx_prep)
            new = _static_reshape_class()(axes)
        else:
            continue
        owner, _, leaf = node.target.rpartition(".")
        setattr(gm.get_submodule(owner) if owner else gm, leaf, new)
        node.args = (node.args[0],)
    gm.graph.eliminate_dead_code()
    gm.recompile()


def _bind_constants(gm: torch.fx.GraphModule) -> None:
    """Every converter call with integer constant operands (shape operands of Reshape, Slice, Resize, Split, Pad,
    ...) gets them as fresh real tensors made inside its call, with torch.export's fake-tensor mode lifted: the
    converter's `.tolist()` / `.numpy()` read values, while its data input, a traced fake tensor, is traced as
    usual."""
    import torch
    from onnx2torch.node_converters.resize import OnnxResize, OnnxResizeV10

    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue

        resize = isinstance(gm.get_submodule(str(node.target)), (OnnxResize, OnnxResizeV10))

        def constant(a: object, resize: bool = resize, data: object = node.args[0]) -> bool:
            """An integer operand; or a Resize's float scales / roi (not its data input)."""
            return (
                isinstance(a, torch.fx.Node)
                and a.op == "get_attr"
                and (resize or not _attr(gm, a).is_floating_point())
                and a is not data
            )

        if not any(constant(a) for a in (*node.args, *node.kwargs.values())):
            continue
        bound: dict[int | str, torch.Tensor] = {}
        args = []
        for i, a in enumerate(node.args):
            if constant(a):
                bound[i] = _attr(gm, a).clone()
            else:
                args.append(a)
        kwargs = {}
        for k, a in node.kwargs.items():
            if constant(a):
                bound[k] = _attr(gm, a).clone()
            else:
                kwargs[k] = a
        owner, _, leaf = node.target.rpartition(".")
        parent = gm.get_submodule(owner) if owner else gm
        setattr(parent, leaf, _real_constants_class()(getattr(parent, leaf), bound, len(node.args)))
        node.args, node.kwargs = tuple(args), kwargs
    gm.graph.eliminate_dead_code()
    gm.recompile()


def _batched(gm: torch.fx.GraphModule, names: list[str], extra_batch: list[bool]) -> torch.fx.GraphModule:
    """The converted graph called with edgebuild's inputs, named as the ONNX inputs (the calibration keys): an input
    given a leading batch axis loses it here."""
    import operator

    import torch

    root = torch.nn.Module()
    root.add_module("onnx", gm)
    g = torch.fx.Graph()
    args = []
    for name, extra in zip(names, extra_batch):
        ph = g.placeholder(name)
        args.append(g.call_function(operator.getitem, (ph, 0)) if extra else ph)
    g.output(g.call_module("onnx", tuple(args)))
    return torch.fx.GraphModule(root, g)


def _real_constants_class() -> type:
    import torch
    from torch._subclasses.fake_tensor import unset_fake_temporarily

    class RealConstants(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module, bound: dict[int | str, torch.Tensor], n_args: int) -> None:
            super().__init__()
            self.inner = inner
            self.bound = {
                k: v.numpy() for k, v in bound.items()
            }  # not attributes: torch.export would lift them
            self.n_args = n_args

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            with unset_fake_temporarily():
                given = iter(args)
                full = [
                    torch.from_numpy(self.bound[i].copy()) if i in self.bound else next(given)
                    for i in range(self.n_args)
                ]
                for k, v in self.bound.items():
                    if isinstance(k, str):
                        kwargs[k] = torch.from_numpy(v.copy())
                return self.inner(*full, **kwargs)

    return RealConstants


def _static_reshape_class() -> type:
    import torch

    class StaticReshape(torch.nn.Module):
        def __init__(self, shape: list[int]) -> None:
            super().__init__()
            self.shape = shape

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.reshape(x, self.shape)

    return StaticReshape
