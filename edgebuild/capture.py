"""capture: the loaded model -> a core-ATen graph (torch.export), with batch-1 static example inputs."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.fx import GraphModule

from .decompose import to_core_aten
from .errors import EdgebuildError
from .fold import drop_empty_operands, fold_constants
from .load import LoadedModel


def exported_input_shapes(loaded: LoadedModel) -> list[tuple[int, ...]] | None:
    """The input shapes a torch.export archive was traced with (fixed), or None for a module."""
    if loaded.exported is None:
        return None
    shapes = []
    for node in loaded.exported.graph.nodes:
        if node.op != "placeholder":
            continue
        spec_kinds = {s.arg.name: s.kind for s in loaded.exported.graph_signature.input_specs}
        if spec_kinds.get(node.name) != torch.export.graph_signature.InputKind.USER_INPUT:
            continue
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise EdgebuildError(f"model input {node.name!r} is not a tensor")
        try:
            shapes.append(tuple(int(d) for d in val.shape))
        except TypeError:
            raise EdgebuildError(
                f"model input {node.name!r} has a dynamic shape {tuple(val.shape)}; edgebuild builds static shapes: "
                "export with fixed example inputs (no dynamic_shapes)"
            ) from None
    return shapes


def exported_integer_inputs(loaded: LoadedModel) -> list[str]:
    """Names of a torch.export archive's integer inputs (token ids): random calibration cannot make them."""
    if loaded.exported is None:
        return []
    return [
        n.name
        for n in loaded.exported.graph.nodes
        if n.op == "placeholder"
        and isinstance(n.meta.get("val"), torch.Tensor)
        and not n.meta["val"].is_floating_point()
        and any(
            s.arg.name == n.name and s.kind == torch.export.graph_signature.InputKind.USER_INPUT
            for s in loaded.exported.graph_signature.input_specs
        )
    ]


def num_inputs(loaded: LoadedModel) -> int | None:
    shapes = exported_input_shapes(loaded)
    return len(shapes) if shapes is not None else None


def capture(loaded: LoadedModel, example: list[np.ndarray]) -> GraphModule:
    """A fresh GraphModule of the model (each call gives a new one: PT2E rewrites its argument)."""
    args = tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in example)
    if any(a.dim() == 0 or a.shape[0] != 1 for a in args):
        raise EdgebuildError(
            f"example input shapes {[tuple(a.shape) for a in args]}: edgebuild builds batch 1 (dim 0 must be 1)"
        )
    if loaded.exported is not None:
        shapes = exported_input_shapes(loaded) or []
        got = [tuple(a.shape) for a in args]
        if got != shapes:
            raise EdgebuildError(f"the model was exported for input shape(s) {shapes}, the data has {got}")
        return graph_of(loaded.exported)
    assert loaded.module is not None
    module = loaded.module
    try:
        if isinstance(module, torch.jit.ScriptModule):
            return _capture_torchscript(module, args)
        else:
            ep = torch.export.export(module, args, strict=False)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EdgebuildError(f"torch.export could not capture the model: {first}") from e
    return graph_of(ep)


def graph_of(ep: torch.export.ExportedProgram) -> GraphModule:
    """The graph edgebuild quantizes and lowers: ops it does not lower decomposed into core ATen, constant
    subgraphs folded, empty operands of cat dropped (edgebuild/decompose.py, edgebuild/fold.py)."""
    gm = to_core_aten(ep).module()
    fold_constants(gm)
    drop_empty_operands(gm)
    return gm


def _capture_torchscript(module: torch.jit.ScriptModule, args: tuple[torch.Tensor, ...]) -> GraphModule:
    """TorchScript -> a static-shape graph whose weights are parameters, as torch.export gives for a module.

    torch's converter (TS2EPConverter) leaves every dimension symbolic (Dim.AUTO) and turns the parameters into
    buffers: the graph is exported again at the example's (the calibration data's) shapes, and the module's
    parameters are parameters again (PT2E folds BatchNorm into them; the graph stage fine-tunes them)."""
    import logging

    from torch._export.converter import TS2EPConverter

    quiet = logging.getLogger("torch._export.non_strict_utils")  # "Dim.AUTO ... specialized" for every input
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # it warns about every unused BatchNorm counter
            warnings.simplefilter("ignore")
            converted = TS2EPConverter(module, args).convert().module()
            for name, _ in module.named_parameters():
                owner_path, _, leaf = name.rpartition(".")
                try:
                    owner = converted.get_submodule(owner_path)
                except AttributeError:
                    continue
                buf = owner._buffers.get(leaf)
                if isinstance(buf, torch.Tensor) and buf.is_floating_point():
                    del owner._buffers[leaf]
                    owner.register_parameter(leaf, torch.nn.Parameter(buf))
            _plain_convolutions(converted)  # type: ignore[arg-type]
            ep = torch.export.export(converted, args, strict=False)
    finally:
        quiet.setLevel(level)
    return graph_of(ep)


def _plain_convolutions(gm: GraphModule) -> None:
    """A traced TorchScript model calls aten.convolution (from aten::_convolution): a non-transposed 1-D / 2-D one
    becomes conv1d / conv2d, the op torch.export gives for nn.Conv1d / nn.Conv2d, which PT2E folds BatchNorm into
    and edgebuild lowers."""
    conv = {3: torch.ops.aten.conv1d.default, 4: torch.ops.aten.conv2d.default}
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target != torch.ops.aten.convolution.default or node.kwargs:
            continue
        x, w, b, stride, padding, dilation, transposed, output_padding, groups = node.args
        rank = len(w.meta["val"].shape) if isinstance(w, torch.fx.Node) and "val" in w.meta else None
        if transposed or rank not in conv or any(output_padding):
            continue
        node.target = conv[rank]
        node.args = (x, w, b, stride, padding, dilation, groups)
    gm.graph.lint()
    gm.recompile()


def run_float(gm: GraphModule | torch.nn.Module, sample: list[np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        out = gm(*(torch.from_numpy(x) for x in sample))
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().numpy().astype(np.float32) for o in outs]
