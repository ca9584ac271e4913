"""quantize: PT2E with edgebuild's own Quantizer, which annotates only what our int8 kernels run.

The contract (docs/quantization.md): activations int8 asymmetric per tensor; weights int8 symmetric per output
channel in [-127, 127]; bias int32 with scale s_x * s_w[c]. Ops that move values without arithmetic (pooling,
reshapes, concatenation, standalone clamps) share their input's quantization parameters, so their kernels need no
requantization.

Dynamic activation quantization (`activations`, docs/quantization.md (14)-(15)): the linear layers chosen dynamic are
left unannotated, like float layers, so their inputs stay float32; lowering gives them DYNAMIC_FULLY_CONNECTED (int8
weights per output channel, the input quantized per row at run time). The ops around them that only float values
reach (layer norm, softmax, GELU, the attention products, the mask add) stay float too: in a build with dynamic
layers, an op other than a convolution or a linear layer is annotated only when an int8 op's output reaches it.

What each op gets is its family's annotation rule (`@register_annotation` in edgebuild/lower/ops/<family>.py, next
to its lowerings); the Quantizer here walks the graph and applies them through an `Annotator`, which holds the specs
and the marking.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Callable, Collection, Iterable

import torch
from torch.fx import GraphModule, Node

from . import progress
from ._torchao import pt2e
from .errors import EdgebuildError
from .lower import ACTIVATIONS, ANNOTATIONS, matches_float_layer, op_name

INT8_MIN, INT8_MAX = -128, 127
# --activations: static (per-tensor int8 activations calibrated by PT2E), dynamic (every linear layer quantizes its
# input per row at run time), auto (dynamic in models with attention or layer norm, static otherwise)
ACTIVATION_MODES = ("static", "dynamic", "auto")
# ops that quantize their input with a weight of their own: annotated behind a float producer too (a convolution
# stays int8 in a build with dynamic linear layers)
WEIGHTED_OPS = frozenset({"aten.conv2d.default", "aten.linear.default", "aten.addmm.default",
                          "aten.convolution.default", "aten.conv1d.default", "aten.conv3d.default",
                          "aten.conv_transpose2d.input", "aten.conv_transpose1d.default"})  # fmt: skip
# what makes a model a transformer for `auto`: a normalization over features, or attention
NORM_OPS = frozenset({"aten.layer_norm.default", "aten.native_layer_norm.default", "aten.rms_norm.default"})
SOFTMAX_OPS = frozenset({"aten.softmax.int", "aten._softmax.default"})


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


def is_float(node: Node) -> bool:
    """Does `node` produce a floating-point tensor (the only kind PT2E may observe)? Integer and bool tensors (token
    and position ids, masks, argmax) and non-tensors (shapes, tuples) do not; a node with no recorded value is taken
    as float, as before."""
    val = node.meta.get("val")
    if val is None:
        return True
    return isinstance(val, torch.Tensor) and val.dtype.is_floating_point


def _shares_dropped(spec: object, dropped: set[object]) -> bool:
    """A SharedQuantizationSpec (or a derived one) whose edge or node was dropped."""
    edge = getattr(spec, "edge_or_node", None)
    if edge is not None and edge in dropped:
        return True
    return any(e in dropped or (isinstance(e, tuple) and e[0] in dropped)
               for e in getattr(spec, "derived_from", ()))  # fmt: skip


def _fixed_output(node: Node) -> object | None:
    """The fixed output quantization of `node` (int8 softmax: 1/256, −128), if it has one. An input edge from it
    takes the same spec, so PT2E observes nothing there and puts no requantization between the two ops."""
    ann = node.meta.get("quantization_annotation")
    spec = getattr(ann, "output_qspec", None)
    return spec if isinstance(spec, pt2e.quantizer.FixedQParamsQuantizationSpec) else None


class Annotator:
    """What an annotation rule (lower/registry.py) works with: the specs of the contract above and the marking of
    nodes. A rule calls `mark` (or one of the shorthands) for the nodes it annotates; marked nodes are not visited
    again."""

    def __init__(self, shared_weight_scale: bool | Collection[str] = False) -> None:
        self.act, self._weight, self._bias = _specs()
        _, self._shared_weight, _ = _specs(shared_weight_scale=True)
        self.shared_weight_scale = shared_weight_scale
        self.done: set[Node] = set()

    # --- specs ----------------------------------------------------------------------------------------------
    def weight(self, w: Node) -> object:
        """Per-channel symmetric; one scale per layer for the weights named in `shared_weight_scale`."""
        shared = self.shared_weight_scale
        named = w.op == "get_attr" and not isinstance(shared, bool) and str(w.target) in shared
        return self._shared_weight if shared is True or named else self._weight

    def bias(self, x: Node, w: Node, op: Node) -> object:
        """int32 with scale s_x · s_w[c] (derived from the observers of x and w at `op`)."""
        return self._bias(x, w, op)

    @staticmethod
    def shared(x: Node, op: Node) -> object:
        """The quantization of input edge (x, op), shared (no requantization between them)."""
        return pt2e.quantizer.SharedQuantizationSpec((x, op))

    # --- marking --------------------------------------------------------------------------------------------
    def mark(self, node: Node, inputs: dict[Node, object], output: object | None) -> None:
        """Annotate `node`. Integer and bool tensors are never observed: an input edge from one is dropped, an
        integer output gets no spec, and a spec shared with a dropped edge is dropped with it."""
        dropped: set[object] = set()
        kept: dict[Node, object] = {}
        for x, spec in inputs.items():
            spec = _fixed_output(x) if spec is self.act and _fixed_output(x) is not None else spec
            if not is_float(x) or _shares_dropped(spec, dropped):
                dropped.add((x, node))
                dropped.add(x)
            else:
                kept[x] = spec
        if output is not None and (not is_float(node) or _shares_dropped(output, dropped)):
            output = None
        node.meta["quantization_annotation"] = pt2e.quantizer.QuantizationAnnotation(
            input_qspec_map=kept, output_qspec=output, _annotated=True
        )
        self.done.add(node)

    def mark_fusing(self, node: Node, inputs: dict[Node, object]) -> None:
        """Mark an op that requantizes its output; a fusable activation behind it (its only user) takes the
        output observer, as the kernel applies it in its clamp (docs/quantization.md (8))."""
        users = list(node.users)
        user = users[0] if len(users) == 1 else None
        if user is not None and user.target in ACTIVATIONS and user.args[0] is node:
            self.mark(node, inputs, None)
            self.mark(user, {}, self.act)
        else:
            self.mark(node, inputs, self.act)

    def share_input(self, node: Node) -> None:
        """The output shares the first input's scale and zero point (pooling, reshapes, standalone clamps)."""
        x = node.args[0]
        if isinstance(x, Node):
            self.mark(node, {x: self.act}, self.shared(x, node))

    def share_int8_input(self, node: Node) -> None:
        """As share_input, but only behind a producer that is itself int8 (annotated output) or a graph input, so
        that a transpose / slice between two float ops stays on the float fallback instead of being quantized for
        nothing."""
        x = node.args[0]
        if isinstance(x, Node) and self.int8_output(x):
            self.mark(node, {x: self.act}, self.shared(x, node))

    # --- facts ----------------------------------------------------------------------------------------------
    @staticmethod
    def int8_output(node: Node) -> bool:
        """Is `node`'s output quantized: a graph input, or annotated (earlier in topological order) with an output
        spec."""
        if node.op == "placeholder":
            return is_float(node)
        ann = node.meta.get("quantization_annotation")
        return ann is not None and ann.output_qspec is not None

    @staticmethod
    def shape(node: Node) -> tuple[int, ...] | None:
        val = node.meta.get("val")
        return tuple(val.shape) if isinstance(val, torch.Tensor) else None


class EdgebuildQuantizer(pt2e.quantizer.Quantizer):  # type: ignore[misc, name-defined]
    """Annotates what edgebuild runs in int8: each op by its family's rule (edgebuild/lower/ops/).

    `float_layers`: layers (module paths or node names, lower.matches_float_layer) left unannotated, so they keep
    float32 weights and run on the float fallback. `shared_weight_scale`: True for every weight, or the weights
    (get_attr targets) that get one scale per layer (SharedScaleObserver; weight sharing)."""

    def __init__(
        self,
        float_layers: Iterable[str] = (),
        shared_weight_scale: bool | Collection[str] = False,
        dynamic: Collection[str] = (),
    ) -> None:
        super().__init__()
        self.float_layers = tuple(float_layers)
        self.shared_weight_scale = shared_weight_scale
        # node names of the linear layers quantized at run time (dynamic_linears)
        self.dynamic = frozenset(dynamic)
        self.failed: dict[str, str] = {}  # node name -> why it was left float

    def annotate(self, model: GraphModule) -> GraphModule:
        from .lower import ops as _families  # noqa: F401  (importing it registers the families' rules)

        annotator = Annotator(self.shared_weight_scale)
        for node in list(model.graph.nodes):
            if node.op != "call_function" or node in annotator.done:
                continue
            if matches_float_layer(node, self.float_layers) or node.name in self.dynamic:
                continue
            if self.dynamic and op_name(node) not in WEIGHTED_OPS and not _int8_input(node):
                continue  # only float values reach it (a dynamic layer's output): it stays float
            rule = ANNOTATIONS.get(op_name(node))
            if rule is not None:
                try:
                    rule(annotator, node)
                except Exception as e:  # noqa: BLE001  (a rule that cannot handle this node: it stays float)
                    node.meta.pop("quantization_annotation", None)
                    annotator.done.discard(node)
                    self.failed[node.name] = f"not quantized: its annotation rule failed ({_one_line(e)})"
        return model

    def validate(self, model: GraphModule) -> None:
        pass


def _int8_input(node: Node) -> bool:
    """Does an int8 value reach `node` (an annotated op's output), or no float value at all (only constants, integer
    or non-tensor inputs: nothing to keep float)? A float graph input does not count: a transformer's residual
    stream starts there, and per-tensor int8 is what loses it; a convolution quantizes it for itself."""
    floats = [x for x in node.all_input_nodes if x.op != "get_attr" and is_float(x)]
    return not floats or any(x.op != "placeholder" and Annotator.int8_output(x) for x in floats)


def has_attention_or_norm(gm: GraphModule) -> bool:
    """A transformer, for `activations="auto"`: a layer norm (or RMS norm), scaled-dot-product attention, or a
    softmax with a product of two activations (eager attention)."""
    from .lower.ops.matmul import MATMUL_OPS, is_constant

    names: set[str] = set()
    products = False
    for n in gm.graph.nodes:
        if n.op != "call_function":
            continue
        name = op_name(n)
        names.add(name)
        if name in MATMUL_OPS and len(n.args) >= 2:
            products = products or not (is_constant(n.args[0]) or is_constant(n.args[1]))
    if names & NORM_OPS or any("scaled_dot_product" in name for name in names):
        return True
    return products and bool(names & SOFTMAX_OPS)


def dynamic_linears(
    gm: GraphModule,
    activations: str = "static",
    dynamic_layers: Iterable[str] = (),
    float_layers: Iterable[str] = (),
) -> dict[str, str]:
    """The linear layers to quantize dynamically (node name -> layer): every one with "dynamic", every one in a
    model with attention or layer norm with "auto", none with "static"; plus those named in `dynamic_layers`
    (module paths or node names, as float_layers). Layers in `float_layers` stay float. Products of two activations
    (attention's Q·Kᵀ and P·V) are chosen with them: DYNAMIC_BATCH_MATMUL."""
    if activations not in ACTIVATION_MODES:
        raise EdgebuildError(f"activations={activations!r}: one of {', '.join(ACTIVATION_MODES)}")
    from .lower.ops.dynamic_fc import activation_product, linear_parts
    from .lower.walker import layer_of

    every = activations == "dynamic" or (activations == "auto" and has_attention_or_norm(gm))
    named = tuple(dynamic_layers)
    floats = tuple(float_layers)
    out: dict[str, str] = {}
    for n in gm.graph.nodes:
        if n.op != "call_function" or matches_float_layer(n, floats):
            continue
        if linear_parts(n) is None and activation_product(n) is None:
            continue
        if every or matches_float_layer(n, named):
            out[n.name] = layer_of(n)
    return out


MAX_RETRIES = 8  # ops PT2E fails to observe that are left float, one by one, before the build gives up


def quantize_model(
    exported: GraphModule,
    calibration: Iterable[tuple[torch.Tensor, ...]],
    float_layers: Iterable[str] = (),
    shared_weight_scale: bool | Collection[str] = False,
    activations: str = "static",
    dynamic_layers: Iterable[str] = (),
) -> GraphModule:
    """prepare_pt2e -> run calibration -> convert_pt2e. Returns the q/dq reference graph (BN folded by prepare).
    Layers named in `float_layers` are not quantized (pass the same names to lower_graph); weights named in
    `shared_weight_scale` (or all, with True) get one scale per layer. The linear layers `dynamic_linears` picks
    (`activations`, `dynamic_layers`) are left unannotated and named in the result's meta["edgebuild_dynamic"]
    (node name -> layer), which lower_graph reads: they become DYNAMIC_FULLY_CONNECTED.

    It does not crash on an op PT2E cannot handle: a node whose annotation rule fails, or whose observer fails while
    calibrating, is left float (and quantization starts again without it); the result's `meta` holds
    "edgebuild_float_reasons" (node name -> why), which lower_graph reports in float_ops. A failure that names no
    node is one EdgebuildError line."""
    batches = list(calibration)
    if not batches:
        raise EdgebuildError("calibration data is empty: give at least one sample with --calib")
    float_layers = tuple(float_layers)
    dynamic = dynamic_linears(exported, activations, dynamic_layers, float_layers)
    pristine = _copy(exported)
    reasons: dict[str, str] = {}
    for _attempt in range(MAX_RETRIES + 1):
        gm = exported if _attempt == 0 else _copy(pristine)
        quantizer = EdgebuildQuantizer(float_layers + tuple(reasons), shared_weight_scale, dynamic)
        try:
            prepared = pt2e.prepare_pt2e(gm, quantizer)
        except Exception as e:
            raise EdgebuildError(f"quantization failed (PT2E prepare): {_one_line(e)}") from e
        reasons.update(quantizer.failed)
        try:
            with torch.no_grad(), progress.task("calibrating", total=len(batches)) as advance:
                for batch in batches:
                    prepared(*batch)
                    advance()
        except Exception as e:
            failed = _calibration_failure(prepared, batches, e)
            if not failed or all(name in reasons for name in failed):
                raise EdgebuildError(f"quantization failed while calibrating: {_one_line(e)}") from e
            for name in failed:
                reasons.setdefault(name, f"not quantized: PT2E could not observe it ({_one_line(e)})")
            continue
        wide = {k: v for k, v in _wide_ranges(prepared).items() if k not in reasons}
        if (
            wide
        ):  # a masking constant (finfo.min, -1e4) would leave int8 no codes for the rest: keep those float
            reasons.update(wide)
            continue
        try:
            converted = _convert(prepared)
        except Exception as e:
            raise EdgebuildError(f"quantization failed (PT2E convert): {_one_line(e)}") from e
        converted.meta["edgebuild_float_reasons"] = dict(reasons)
        converted.meta["edgebuild_dynamic"] = dict(dynamic)
        return converted  # type: ignore[no-any-return]
    raise EdgebuildError(
        f"quantization failed: PT2E could not observe {len(reasons)} ops ({', '.join(sorted(reasons)[:5])}, ...); "
        "keep those layers float with --float-layers"
    )


WIDE_RANGE = (
    1e4  # |activation| at or above this is a masking constant, not a value int8 can share a scale with
)


def _wide_ranges(prepared: GraphModule) -> dict[str, str]:
    """The ops to leave float because an observer saw values of magnitude >= WIDE_RANGE (an attention mask filled
    with finfo.min or -10000): the op producing the observed value and the ops reading it."""
    out: dict[str, str] = {}
    for node in prepared.graph.nodes:
        if node.op != "call_module":
            continue
        obs = prepared.get_submodule(str(node.target))
        lo, hi = getattr(obs, "min_val", None), getattr(obs, "max_val", None)
        if not (isinstance(lo, torch.Tensor) and isinstance(hi, torch.Tensor)) or lo.numel() == 0:
            continue
        peak = float(torch.maximum(lo.abs().max(), hi.abs().max()))
        if not peak >= WIDE_RANGE:
            continue
        src = node.args[0]
        why = f"not quantized: its values reach {peak:.3g} (a masking constant); int8 would lose the rest"
        if isinstance(src, Node) and src.op == "call_function":
            out[src.name] = why
        for user in node.users:
            if user.op == "call_function":
                out[user.name] = why
    return out


# The ops between a convolution and the batch norm torchao's convert folds into it (a QAT graph's conv, / scale,
# + bias, and the q / dq around them): a batch norm with none of those chains above it has nothing to fold.
_CONV_OPS = (
    "aten.conv1d",
    "aten.conv2d",
    "aten.conv_transpose1d",
    "aten.conv_transpose2d",
    "aten.convolution",
)
_FOLD_PATH_OPS = (
    "aten.div",
    "aten.add",
    "aten.mul",
    "quantize_per",
    "dequantize_per",
    "aten.reshape",
    "aten.view",
)


def _conv_feeds(bn: Node) -> bool:
    n = bn.args[0] if bn.args else None
    for _ in range(8):
        if not isinstance(n, Node) or n.op != "call_function":
            return False
        name = str(n.target)
        if name.startswith(_CONV_OPS):
            return True
        if not any(k in name for k in _FOLD_PATH_OPS) or not n.args:
            return False
        n = n.args[0]
    return False


def _convert(prepared: GraphModule) -> GraphModule:
    """convert_pt2e. Its last step (torchao's _fold_conv_bn_qat) exports ~100 conv-bn patterns to look for one
    whenever the graph has a batch norm: ~20 s per build on these machines, for nothing when no batch norm sits
    right after a convolution (prepare folds those; a batch norm left in an eval graph follows a ReLU, a linear or
    the input, and lowers to MUL + ADD). Then that step is skipped; it runs as shipped otherwise."""
    from torchao.quantization.pt2e import quantize_pt2e as qp

    bns = [n for n in prepared.graph.nodes if n.op == "call_function" and "batch_norm" in str(n.target)]
    with _CONVERT_LOCK:  # the skip patches torchao's module: a build in another thread must not see it
        fold = getattr(qp, "_fold_conv_bn_qat", None)
        if not bns or any(_conv_feeds(n) for n in bns) or fold is None:
            return pt2e.convert_pt2e(prepared, fold_quantize=True)  # type: ignore[no-any-return]
        qp._fold_conv_bn_qat = lambda m: m
        try:
            return pt2e.convert_pt2e(prepared, fold_quantize=True)  # type: ignore[no-any-return]
        finally:
            qp._fold_conv_bn_qat = fold


_CONVERT_LOCK = threading.Lock()


def _copy(gm: GraphModule) -> GraphModule:
    with warnings.catch_warnings():  # torch's own pytree deprecation notice, raised while copying the graph
        warnings.simplefilter("ignore", FutureWarning)
        return copy.deepcopy(gm)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


def _calibration_failure(
    prepared: GraphModule, batches: list[tuple[torch.Tensor, ...]], error: Exception
) -> list[str]:
    """The op nodes to leave float after calibration failed: the node whose observer failed (or, for an observer on
    a graph input, the ops that read it). Raises EdgebuildError when an op of the model itself fails: the float
    model cannot run on this data."""
    from .lower.context import source_line

    class Probe(torch.fx.Interpreter):
        current: Node | None = None

        def run_node(self, n: Node) -> object:
            self.current = n
            return super().run_node(n)

    probe = Probe(prepared)
    for batch in batches:
        try:
            with torch.no_grad():
                probe.run(*batch)
        except Exception:  # noqa: BLE001  (the failure being located)
            break
    else:
        return []
    node = probe.current
    if node is None:
        return []
    if node.op == "call_function":
        where = source_line(node) or node.name
        raise EdgebuildError(
            f"the model fails on the calibration data at {op_name(node)} ({where}): {_one_line(error)}"
        ) from error
    if node.op != "call_module" or not node.args or not isinstance(node.args[0], Node):
        return []
    observed = node.args[0]
    if observed.op == "call_function":
        return [observed.name]
    return [u.name for u in node.users if u.op == "call_function"]


__all__ = ["ACTIVATION_MODES", "Annotator", "EdgebuildQuantizer", "dynamic_linears", "quantize_model"]
