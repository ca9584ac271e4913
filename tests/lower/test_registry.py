"""The op-family registries (edgebuild/lower/registry.py) and the typed op parameters the lowerings emit."""

from __future__ import annotations

import pytest
import torch
from torch.fx import Node

from edgebuild.ir import params_class
from edgebuild.lower import ANNOTATIONS, FLOAT_LOWERINGS, LOWERINGS, lower_graph
from edgebuild.lower import ops as _families  # noqa: F401  (registers every family)
from edgebuild.lower.registry import register
from edgebuild.quantize import quantize_model
from tests.lower.test_cnn_ops_vs_pt2e import AllCnnOps


def test_every_annotated_op_has_an_int8_lowering() -> None:
    """An annotation makes PT2E quantize an op; without an int8 lowering it would only add q/dq pairs."""
    assert ANNOTATIONS, "no annotation rule registered"
    assert sorted(set(ANNOTATIONS) - set(LOWERINGS)) == []
    assert "aten.conv2d.default" in FLOAT_LOWERINGS


def test_a_second_lowering_for_one_op_is_refused() -> None:
    def lower_conv2d_again(ctx: object, node: Node) -> None:  # pragma: no cover - never called
        pass

    with pytest.raises(RuntimeError, match="aten.conv2d.default: a second int8 lowering"):
        register("aten.conv2d.default")(lower_conv2d_again)  # type: ignore[arg-type]
    assert LOWERINGS["aten.conv2d.default"].__name__ == "lower_conv2d"


@pytest.mark.parametrize("forced_float", [False, True], ids=["int8", "float"])
def test_op_params_decode_by_name_and_encode_back(forced_float: bool) -> None:
    """Every op a lowering emits holds exactly the parameters of its form in the op table: decoding them with the
    form's dataclass and encoding again gives the same int32s (a missing, extra or misplaced field would not)."""
    torch.manual_seed(5)
    model = AllCnnOps().eval()
    x0 = torch.randn(1, 3, 6, 6)
    layers: tuple[str, ...] = ()
    if forced_float:
        gm = torch.export.export(model, (x0,)).module()
        layers = ("c1", "c2", "prelu") + tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(torch.export.export(model, (x0,)).module(), [(x0,)], float_layers=layers)
    prog = lower_graph(qgm, "m", float_layers=layers)
    forms = {prog.form_of(op) for op in prog.ops}
    assert forms == ({"int8", "float"} if forced_float else {"int8"}), forms  # TRANSPOSE / RESHAPE: one form
    assert len(prog.ops) > 20
    for op in prog.ops:
        p = prog.params_of(op)
        assert isinstance(p, params_class(op.opcode, prog.form_of(op))), op.name
        assert p.encode() == op.params, (op.name, p)
