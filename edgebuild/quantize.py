"""quantize: PT2E with edgebuild's own Quantizer, which annotates only what our int8 kernels run.

The contract (docs/quantization.md): activations int8 asymmetric per tensor; weights int8 symmetric per output
channel in [-127, 127]; bias int32 with scale s_x * s_w[c]. Ops that move values without arithmetic (pooling,
reshapes, concatenation, standalone clamps) share their input's quantization parameters, so their kernels need no
requantization.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable

import torch
from torch.fx import GraphModule, Node

from ._torchao import pt2e
from .errors import EdgebuildError

A = torch.ops.aten

# Ops whose output is requantized by the kernel (their own observer).
COMPUTE_OPS = {A.conv2d.default, A.linear.default, A.add.Tensor, A.sub.Tensor, A.mul.Tensor}
BINARY_OPS = {A.add.Tensor, A.sub.Tensor, A.mul.Tensor}
# Elementwise functions of one tensor: int8 tables (lower/ops/unary.py), own output observer.
UNARY_OPS = {
    A.hardswish.default,
    A.hardsigmoid.default,
    A.sigmoid.default,
    A.silu.default,
    A.gelu.default,
    A.tanh.default,
    A.leaky_relu.default,
    A.prelu.default,
}
# split / chunk: the input edge is annotated on the split, each getitem shares it.
SPLIT_OPS = {A.split.Tensor, A.split_with_sizes.default, A.chunk.default}
WEIGHTED_OPS = {A.conv2d.default, A.linear.default}
# Activations our kernels fuse into the producing op's clamp (docs/quantization.md (8)).
FUSABLE_ACTIVATIONS = {
    A.relu.default,
    A.relu_.default,
    A.relu6.default,
    A.hardtanh.default,
    A.hardtanh_.default,
}
# Ops whose output shares the first input's scale and zero point.
SHARED_OPS = {
    A.max_pool2d.default,
    A.avg_pool2d.default,
    A.adaptive_avg_pool2d.default,
    A.flatten.using_ints,
    A.view.default,
    A.reshape.default,
    A.dropout.default,
    A.mean.dim,
    A.clone.default,
    A._unsafe_view.default,
    A.relu.default,
    A.relu_.default,
    A.relu6.default,
    A.hardtanh.default,
    A.hardtanh_.default,
}
# Issue 8's value-moving ops: shared like SHARED_OPS, but only behind a producer that is itself int8 (annotated
# output) or a graph input, so that a transpose / slice between two float ops stays on the float fallback instead
# of being quantized for nothing.
MOVER_OPS = {
    A.permute.default,
    A.transpose.int,
    A.contiguous.default,
    A.slice.Tensor,
    A.pad.default,
    A.constant_pad_nd.default,
    A.upsample_nearest2d.vec,
    A.upsample_nearest2d.default,
    A.upsample_bilinear2d.vec,
    A.upsample_bilinear2d.default,
}
CAT_OPS = {A.cat.default, A.concat.default}
# Products of two activations (attention written out: q @ kᵀ, p @ v): int8 BATCH_MATMUL.
MATMUL_OPS = {A.matmul.default, A.bmm.default}

INT8_MIN, INT8_MAX = -128, 127


class SharedScaleObserver(pt2e.PerChannelMinMaxObserver):  # type: ignore[misc, name-defined]
    """Per-channel symmetric weights whose channels all get the layer's largest scale: a layer whose float weights
    take k shared values (compress/cluster.py) then has at most k distinct int8 values, which Huffman coding stores
    compactly. Still per-channel in form, so lowering and kernels are unchanged (docs/quantization.md)."""

    def calculate_qparams(self) -> tuple[torch.Tensor, torch.Tensor]:
        scale, zero_point = super().calculate_qparams()
        return torch.full_like(scale, float(scale.max())), zero_point


def _specs(shared_weight_scale: bool = False) -> tuple[object, object, Callable[[Node, Node, Node], object]]:
    q = pt2e.quantizer
    act = q.QuantizationSpec(
        dtype=torch.int8,
        quant_min=INT8_MIN,
        quant_max=INT8_MAX,
        qscheme=torch.per_tensor_affine,
        observer_or_fake_quant_ctr=pt2e.HistogramObserver.with_args(eps=2**-12),
    )
    weight = q.QuantizationSpec(
        dtype=torch.int8,
        quant_min=-127,
        quant_max=127,
        qscheme=torch.per_channel_symmetric,
        ch_axis=0,
        observer_or_fake_quant_ctr=(
            SharedScaleObserver if shared_weight_scale else pt2e.PerChannelMinMaxObserver
        ).with_args(eps=2**-12),
    )

    def bias(x: Node, w: Node, op: Node) -> object:
        def derive(observers: list) -> tuple[torch.Tensor, torch.Tensor]:
            s_x, _ = observers[0].calculate_qparams()
            s_w, _ = observers[1].calculate_qparams()
            scale = (s_x * s_w).to(torch.float32)
            return scale, torch.zeros_like(scale, dtype=torch.int32)

        return q.DerivedQuantizationSpec(
            derived_from=[(x, op), (w, op)],
            derive_qparams_fn=derive,
            dtype=torch.int32,
            quant_min=-(2**31),
            quant_max=2**31 - 1,
            qscheme=torch.per_channel_symmetric,
            ch_axis=0,
        )

    return act, weight, bias


def _single_user(node: Node) -> Node | None:
    users = list(node.users)
    return users[0] if len(users) == 1 else None


class EdgebuildQuantizer(pt2e.quantizer.Quantizer):  # type: ignore[misc, name-defined]
    """Annotates conv2d / linear / add / sub / mul (+ fused relu, relu6, hardtanh), elementwise functions
    (tables) and the value-moving ops around them.

    `float_layers`: layers (module paths or node names, lower.matches_float_layer) left unannotated, so they keep
    float32 weights and run on the float fallback. `shared_weight_scale`: True for every weight, or the weights
    (get_attr targets) that get one scale per layer (SharedScaleObserver; weight sharing)."""

    def __init__(
        self, float_layers: Iterable[str] = (), shared_weight_scale: bool | Collection[str] = False
    ) -> None:
        super().__init__()
        self.float_layers = tuple(float_layers)
        self.shared_weight_scale = shared_weight_scale

    def annotate(self, model: GraphModule) -> GraphModule:
        from .lower import matches_float_layer

        q = pt2e.quantizer
        act, weight, bias = _specs()
        _, shared_weight, _ = _specs(shared_weight_scale=True)
        shared_scale = self.shared_weight_scale
        done: set[Node] = set()

        def mark(node: Node, inputs: dict[Node, object], output: object | None) -> None:
            node.meta["quantization_annotation"] = q.QuantizationAnnotation(
                input_qspec_map=inputs, output_qspec=output, _annotated=True
            )
            done.add(node)

        nodes: list[Node] = list(model.graph.nodes)
        for node in nodes:
            if node.op != "call_function" or node in done:
                continue
            if matches_float_layer(node, self.float_layers):
                continue
            if node.target in COMPUTE_OPS:
                inputs: dict[Node, object] = {}
                x = node.args[0]
                if node.target in WEIGHTED_OPS:
                    w = node.args[1]
                    b = node.args[2] if len(node.args) > 2 else None
                    if not (isinstance(x, Node) and isinstance(w, Node)):
                        continue
                    inputs[x] = act
                    named = (
                        w.op == "get_attr"
                        and not isinstance(shared_scale, bool)
                        and str(w.target) in shared_scale
                    )
                    inputs[w] = shared_weight if shared_scale is True or named else weight
                    if isinstance(b, Node):
                        inputs[b] = bias(x, w, node)
                else:  # add / sub / mul: two tensor operands (broadcasting allowed), no alpha
                    y = node.args[1]
                    if not (isinstance(x, Node) and isinstance(y, Node)) or len(node.args) > 2 or node.kwargs:
                        continue
                    if _shape(x) is None or _shape(y) is None:
                        continue
                    inputs[x] = act
                    inputs[y] = act
                user = _single_user(node)
                if user is not None and user.target in FUSABLE_ACTIVATIONS and user.args[0] is node:
                    mark(node, inputs, None)
                    mark(user, {}, act)
                else:
                    mark(node, inputs, act)
            elif node.target in UNARY_OPS:
                x = node.args[0]
                if isinstance(x, Node):
                    mark(node, {x: act}, act)  # a prelu slope stays a float constant: the table folds it in
            elif node.target in SPLIT_OPS:
                x = node.args[0]
                if isinstance(x, Node) and _int8_output(x):
                    mark(node, {x: act}, None)
                    for user in node.users:
                        if user.target is operator.getitem:
                            mark(user, {}, q.SharedQuantizationSpec((x, node)))
            elif node.target in MATMUL_OPS:
                a, b = node.args[0], node.args[1]
                sa, sb = (_shape(v) if isinstance(v, Node) else None for v in (a, b))
                if sa is None or sb is None or len(sa) < 2 or len(sa) != len(sb) or sa[:-2] != sb[:-2]:
                    continue  # broadcasting matmul: the float fallback says why
                assert isinstance(a, Node) and isinstance(b, Node)
                mark(node, {a: act, b: act} if a is not b else {a: act}, act)
            elif node.target in SHARED_OPS or (
                node.target in MOVER_OPS and isinstance(node.args[0], Node) and _int8_output(node.args[0])
            ):
                x = node.args[0]
                if isinstance(x, Node):
                    mark(node, {x: act}, q.SharedQuantizationSpec((x, node)))
            elif node.target in CAT_OPS:
                arg = node.args[0]
                tensors = [t for t in arg if isinstance(t, Node)] if isinstance(arg, (list, tuple)) else []
                if tensors and len(tensors) == len(arg):  # type: ignore[arg-type]
                    first = tensors[0]
                    shared = q.SharedQuantizationSpec((first, node))
                    cat_inputs: dict[Node, object] = {first: act}
                    for t in tensors[1:]:  # the same node twice (torch.cat([y, y])) is one input edge
                        cat_inputs.setdefault(t, shared)
                    mark(node, cat_inputs, shared)
        return model

    def validate(self, model: GraphModule) -> None:
        pass


def _int8_output(node: Node) -> bool:
    """Is `node`'s output quantized: a graph input, or annotated (earlier in topological order) with an output spec."""
    if node.op == "placeholder":
        return True
    ann = node.meta.get("quantization_annotation")
    return ann is not None and ann.output_qspec is not None


def _shape(node: Node) -> tuple[int, ...] | None:
    val = node.meta.get("val")
    return tuple(val.shape) if isinstance(val, torch.Tensor) else None


def quantize_model(
    exported: GraphModule,
    calibration: Iterable[tuple[torch.Tensor, ...]],
    float_layers: Iterable[str] = (),
    shared_weight_scale: bool | Collection[str] = False,
) -> GraphModule:
    """prepare_pt2e -> run calibration -> convert_pt2e. Returns the q/dq reference graph (BN folded by prepare).
    Layers named in `float_layers` are not quantized (pass the same names to lower_graph); weights named in
    `shared_weight_scale` (or all, with True) get one scale per layer."""
    prepared = pt2e.prepare_pt2e(exported, EdgebuildQuantizer(float_layers, shared_weight_scale))
    n = 0
    with torch.no_grad():
        for batch in calibration:
            prepared(*batch)
            n += 1
    if n == 0:
        raise EdgebuildError("calibration data is empty: give at least one sample with --calib")
    return pt2e.convert_pt2e(prepared, fold_quantize=True)


__all__ = ["EdgebuildQuantizer", "quantize_model"]
