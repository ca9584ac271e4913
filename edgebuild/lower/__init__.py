"""lower: the q/dq-annotated graph from PT2E -> edgebuild IR (int8 tensors, fixed-point requantization).

One module per op family in `lower/ops/` (conv.py, linear.py, pool.py, ...) holds the family's int8 lowering, its
float lowering and its PT2E annotation rule, each registered by the ATen op's name (`@register("aten.conv2d.default")`,
`@register_float`, `@register_annotation`; lower/registry.py). Lowerings build their op parameters through the
generated dataclasses of edgebuild/ir_ops.py (`ctx.add_op(node, ins, outs, Conv2dInt8Params(...))`).

The walker (lower/walker.py) maps every `quantize_per_tensor` node to an int8 IR tensor; a lowering reads its inputs
through the `dequantize` nodes in front of it and writes the tensor of the `quantize` node behind it (behind a fused
activation when there is one); lower/context.py has the LoweringContext and the helpers lowerings share.

Float fallback. Every op may also have a float lowering (`@register_float("aten.softmax.int")`), which emits the
float32 form of an opcode (the op's output is float32; the runtime runs the fp32 reference kernel
kernels/ukernels/f32-<family>/ref.cc, docs/artifact.md "Float fallback"). The walker lowers an op in float when

- it has no int8 lowering ("no int8 kernel"),
- PT2E left it in float: its inputs are not dequantized int8 tensors or its output is not quantized ("not quantized
  by PT2E"), or
- the caller forced it: `lower_graph(..., float_layers=[...])` / `quantize_model(..., float_layers=[...])` /
  `BuildOptions(float_layers=(...))` / `edgebuild build --float-layers a,b` name layers (module paths as in
  `model.named_modules()`, e.g. "encoder.0.attn", which covers every op inside it, or graph node names) that stay
  float32 ("forced to float"): the quantizer does not annotate them, so their weights stay float32 too.

A float lowering reads its inputs with `ctx.float_value(arg)`: an int8 input gets a DEQUANTIZE in front, a value
another float op produced is used as is; `ctx.new_float(node, ...)` makes its float32 output, and a `quantize` node
behind it becomes a QUANTIZE. So DEQUANTIZE / QUANTIZE appear exactly at the int8/float boundaries. Float 4-D
tensors may be NHWC (conv, pooling) or plain (everything else); `float_value(arg, layout)` inserts the TRANSPOSE.
The program's metadata["float_ops"] lists every op lowered in float with its reason and source line (report.json).

An op with neither lowering stops the build with a list of every such op, its count and its source lines.
"""

from __future__ import annotations

from ..ir_ops import f32_bits as f32_bits_of
from .context import (
    ACTIVATIONS,
    CHANNEL_DEQUANTIZE,
    DEQUANTIZE_NODES,
    NCHW_TO_NHWC_AXIS,
    QUANTIZE_NODES,
    FloatBlocked,
    LoweringContext,
    NotQuantized,
    activation_of,
    logical,
    nhwc,
    node_shape,
    op_name,
    physical,
    source_line,
)
from .registry import ANNOTATIONS, FLOAT_LOWERINGS, LOWERINGS, register, register_annotation, register_float
from .walker import (
    REASON_FORCED,
    REASON_NO_INT8,
    REASON_NOT_QUANTIZED,
    Unsupported,
    UnsupportedOpsError,
    lower_graph,
    matches_float_layer,
)

__all__ = [
    "ACTIVATIONS",
    "ANNOTATIONS",
    "CHANNEL_DEQUANTIZE",
    "DEQUANTIZE_NODES",
    "FLOAT_LOWERINGS",
    "LOWERINGS",
    "NCHW_TO_NHWC_AXIS",
    "QUANTIZE_NODES",
    "REASON_FORCED",
    "REASON_NOT_QUANTIZED",
    "REASON_NO_INT8",
    "FloatBlocked",
    "LoweringContext",
    "NotQuantized",
    "Unsupported",
    "UnsupportedOpsError",
    "activation_of",
    "f32_bits_of",
    "logical",
    "lower_graph",
    "matches_float_layer",
    "nhwc",
    "node_shape",
    "op_name",
    "physical",
    "register",
    "register_annotation",
    "register_float",
    "source_line",
]
