"""The quantizer never crashes: integer and bool tensors are never observed, q/dq nodes have shapes, and an op PT2E
cannot annotate or observe stays float with the reason in float_ops (instead of a raw traceback)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.fx import GraphModule, Node

from edgebuild.errors import EdgebuildError
from edgebuild.lower import ANNOTATIONS, REASON_FORCED, REASON_NOT_QUANTIZED, lower_graph
from edgebuild.lower.context import QUANTIZE_NODES, node_shape
from edgebuild.quantize import quantize_model


class PositionIds(nn.Module):
    """Position ids computed from an integer mask (int64 arithmetic), then two embeddings and a linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(16, 8)
        self.pos = nn.Embedding(16, 8)
        self.fc = nn.Linear(8, 4)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pos = (mask * mask).view(1, 6)  # an int64 mul and view: once observed by a histogram (a traceback)
        return self.fc(self.tok(ids) + self.pos(pos))


def _export(model: nn.Module, args: tuple[torch.Tensor, ...]) -> GraphModule:
    return torch.export.export(model.eval(), args).module()  # type: ignore[return-value]


def _observed_inputs(qgm: GraphModule) -> list[Node]:
    return [n.args[0] for n in qgm.graph.nodes if n.target in QUANTIZE_NODES and isinstance(n.args[0], Node)]


def test_integer_tensors_are_never_observed() -> None:
    torch.manual_seed(0)
    ids = torch.randint(0, 16, (1, 6))
    mask = torch.ones(1, 6, dtype=torch.long)
    qgm = quantize_model(_export(PositionIds(), (ids, mask)), [(ids, mask), (ids.flip(1), mask)])
    observed = _observed_inputs(qgm)
    assert observed, "the float activations are still quantized"
    for x in observed:
        val = x.meta.get("val")
        assert val is None or val.dtype.is_floating_point, (x.name, val.dtype)
    assert not any(x.name.startswith(("mul", "view", "ids", "mask")) for x in observed)


def test_q_dq_nodes_have_shapes() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.c(x).mean((2, 3))
            return self.fc(y) + torch.flatten(y, 1)

    x = torch.randn(1, 3, 8, 8)
    qgm = quantize_model(_export(M(), (x,)), [(x,)])
    qdq = [n for n in qgm.graph.nodes if getattr(n.target, "namespace", "") == "quantized_decomposed"]
    assert qdq and all("val" not in n.meta for n in qdq)  # what PT2E leaves: the case node_shape must handle
    for n in qdq:
        src = n.args[0]
        assert isinstance(src, Node)
        assert node_shape(n) == node_shape(src)
    conv_q = next(n for n in qdq if n.args[0].name == "conv2d")
    assert node_shape(conv_q) == (1, 4, 6, 6)


class TwoLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)) * x)


def test_an_annotation_rule_that_fails_leaves_the_op_float(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(q: object, node: Node) -> None:
        raise IndexError("tuple index out of range")

    monkeypatch.setitem(ANNOTATIONS, "aten.mul.Tensor", broken)
    x = torch.randn(1, 8)
    qgm = quantize_model(_export(TwoLinear(), (x,)), [(x,)])
    reasons = qgm.meta["edgebuild_float_reasons"]
    assert list(reasons) == ["mul"] and "annotation rule failed (IndexError" in reasons["mul"]
    prog = lower_graph(qgm)
    entry = next(e for e in prog.metadata["float_ops"] if e["node"] == "mul")
    assert entry["reason"] == reasons["mul"]


def test_an_observer_that_fails_while_calibrating_leaves_the_op_float(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An annotation that observes an integer tensor behind the Annotator's back (a third-party rule): the
    histogram observer raises on int64 while calibrating; the op is left float and quantization starts again."""

    class IntPath(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            return self.fc(x) + (k * k).float()

    from edgebuild._torchao import pt2e
    from edgebuild.quantize import Annotator

    original = ANNOTATIONS["aten.mul.Tensor"]

    def observes_ints(q: Annotator, node: Node) -> None:
        if node.meta["val"].dtype == torch.int64:
            node.meta["quantization_annotation"] = pt2e.quantizer.QuantizationAnnotation(
                input_qspec_map={}, output_qspec=q.act, _annotated=True
            )
            q.done.add(node)
        else:
            original(q, node)

    monkeypatch.setitem(ANNOTATIONS, "aten.mul.Tensor", observes_ints)
    x, k = torch.randn(1, 8), torch.arange(8).reshape(1, 8)
    qgm = quantize_model(_export(IntPath(), (x, k)), [(x, k)])
    reasons = qgm.meta["edgebuild_float_reasons"]
    assert list(reasons) == ["mul"], reasons
    assert "PT2E could not observe it" in reasons["mul"] and "Long" in reasons["mul"]


def test_a_model_that_fails_on_its_data_is_one_line() -> None:
    class Picky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x)

    gm = _export(Picky(), (torch.randn(1, 8),))
    with pytest.raises(EdgebuildError) as e:
        quantize_model(gm, [(torch.randn(1, 8),), (torch.randn(1, 9),)])
    assert "\n" not in str(e.value)
    assert "aten.linear.default" in str(e.value) or "calibrat" in str(e.value)


def test_empty_calibration_is_one_line() -> None:
    gm = _export(TwoLinear(), (torch.randn(1, 8),))
    with pytest.raises(EdgebuildError, match="calibration data is empty"):
        quantize_model(gm, [])


def test_float_ops_reason_defaults_unchanged() -> None:
    """Without a quantizer failure, an op left float keeps the walker's own reason."""
    x = torch.randn(1, 8)
    qgm = quantize_model(_export(TwoLinear(), (x,)), [(x,)], float_layers=("a",))
    assert qgm.meta["edgebuild_float_reasons"] == {}
    prog = lower_graph(qgm, float_layers=("a",))
    reasons = {e["reason"] for e in prog.metadata["float_ops"]}
    assert reasons and reasons <= {REASON_FORCED, REASON_NOT_QUANTIZED}, reasons


class _ConvBn(nn.Module):
    """A batch norm straight after a convolution (folded by prepare), and one after a ReLU (left to lower)."""

    def __init__(self, relu: bool) -> None:
        super().__init__()
        self.conv, self.bn, self.relu = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(torch.relu(y) if self.relu else y)


def test_conv_bn_fold_runs_only_where_a_convolution_feeds_the_batch_norm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """convert_pt2e's conv-bn fold costs ~20 s per build (it exports ~100 patterns); edgebuild skips it when no batch
    norm has a convolution right above it, and runs it otherwise (a QAT graph's conv, / scale, + bias, bn)."""
    from torchao.quantization.pt2e import quantize_pt2e as qp

    calls: list[int] = []
    monkeypatch.setattr(qp, "_fold_conv_bn_qat", lambda m: calls.append(1) or m)
    x = torch.randn(1, 3, 4, 4)
    quantize_model(_export(_ConvBn(relu=True), (x,)), [(x,)])
    assert calls == []  # the batch norm follows a ReLU: nothing to fold, the step was skipped
    conv = torch.fx.Graph()
    inp = conv.placeholder("x")
    c = conv.call_function(torch.ops.aten.conv2d.default, (inp,))
    d = conv.call_function(torch.ops.aten.div.Tensor, (c, 2.0))
    bn = conv.call_function(torch.ops.aten._native_batch_norm_legit_no_training.default, (d,))
    r = conv.call_function(torch.ops.aten.relu.default, (inp,))
    bn2 = conv.call_function(torch.ops.aten._native_batch_norm_legit_no_training.default, (r,))
    from edgebuild.quantize import _conv_feeds

    assert _conv_feeds(bn) and not _conv_feeds(bn2)
