"""Build a module entirely in float through the real path (export, capture's core-ATen decompositions and constant
folding, PT2E with every op forced float, lowering)."""

from __future__ import annotations

import torch

from edgebuild.capture import graph_of
from edgebuild.ir import Program
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model


def core_graph(model: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """The graph `edgebuild build` quantizes: ops without a lowering decomposed, constants folded."""
    return graph_of(torch.export.export(model.eval(), example))


def float_program(model: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> Program:
    gm = core_graph(model, example)
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(gm, [example], float_layers=layers)
    return lower_graph(qgm, "m", float_layers=layers)


__all__ = ["core_graph", "float_program"]
