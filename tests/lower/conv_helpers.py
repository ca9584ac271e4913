"""Shared by tests/lower/test_conv_*.py, test_matmul_*.py, test_rnn_*.py: build a module's float program (every op
forced to float) and run it on the host runtime."""

from __future__ import annotations

import numpy as np
import torch

from edgebuild.decompose import to_core_aten
from edgebuild.fold import fold_constants
from edgebuild.ir import Program
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from tests.helpers import run_native


def float_program(m: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> Program:
    """The program of `m` with every op forced to float (quantize_model annotates nothing)."""
    m = m.eval()
    gm = torch.export.export(m, inputs).module()
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(torch.export.export(m, inputs).module(), [inputs], float_layers=layers)
    return lower_graph(qgm, "m", float_layers=layers)


def run_float(m: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[Program, list[np.ndarray]]:
    prog = float_program(m, inputs)
    return prog, run_native(prog, [i.numpy() for i in inputs])


def decomposed(m: torch.nn.Module, inputs: tuple[torch.Tensor, ...]):  # -> GraphModule
    """The module as edgebuild's capture gives it: torch.export, the core ATen decompositions of every op without
    a lowering, constant subgraphs folded (edgebuild/decompose.py, edgebuild/fold.py)."""
    gm = to_core_aten(torch.export.export(m.eval(), inputs)).module()
    fold_constants(gm)
    return gm


def float_program_decomposed(m: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> Program:
    gm = decomposed(m, inputs)
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(decomposed(m, inputs), [inputs], float_layers=layers)
    return lower_graph(qgm, "m", float_layers=layers)


def int8_program_decomposed(m: torch.nn.Module, calib: list[torch.Tensor]):  # -> (GraphModule, Program)
    """(PT2E's q/dq graph, our program) of a one-input module, decomposed as capture does."""
    qgm = quantize_model(decomposed(m, (calib[0],)), [(c,) for c in calib])
    return qgm, lower_graph(qgm, "m")
