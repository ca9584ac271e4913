"""Build a module entirely in float through the real path (export, core-ATen decompositions minus the ops edgebuild
lowers directly, as capture does, PT2E with every op forced float, lowering, the host runtime)."""

from __future__ import annotations

import torch

from edgebuild.ir import Program
from edgebuild.lower import FLOAT_LOWERINGS, LOWERINGS, lower_graph
from edgebuild.lower.context import op_name
from edgebuild.quantize import quantize_model


def core_graph(model: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """torch.export, then torch's default decompositions except for the ops with a lowering of their own."""
    ep = torch.export.export(model.eval(), example)
    table = torch.export.default_decompositions()
    lowered = set(LOWERINGS) | set(FLOAT_LOWERINGS)
    for op in list(table):
        if isinstance(op, torch._ops.OpOverload) and op.namespace == "aten":
            name = f"aten.{op._schema.name.split('::')[-1]}.{op._overloadname}"
            if name in lowered:
                del table[op]
    return ep.run_decompositions(table).module()


def float_program(model: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> Program:
    gm = core_graph(model, example)
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(gm, [example], float_layers=layers)
    return lower_graph(qgm, "m", float_layers=layers)


def aten_ops(program: Program) -> set[str]:
    return {op.aten for op in program.ops}


__all__ = ["aten_ops", "core_graph", "float_program", "op_name"]
