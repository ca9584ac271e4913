"""Lowerings for flatten / view / reshape and cat: int8 moved, not computed.

4-D activations live as NHWC; PyTorch's reshapes are defined on NCHW order. A reshape of an NHWC tensor with more
than one spatial position therefore transposes to NCHW first (and back to NHWC when the result is 4-D again), as the
TFLite converter does. With a 1×1 spatial extent both orders are the same bytes and no transpose is needed.
"""

from __future__ import annotations

from torch.fx import Node

from ...errors import EdgebuildError
from ...ir import Layout, OpCode
from ...qmath import quantize_multiplier
from .. import NCHW_TO_NHWC_AXIS, LoweringContext, logical, node_shape, physical, register

TO_NCHW = [0, 3, 1, 2]  # y.dims[j] = x.dims[perm[j]]: NHWC -> NCHW
TO_NHWC = [0, 2, 3, 1]


def _spatial(shape: tuple[int, ...]) -> int:
    return shape[2] * shape[3] if len(shape) == 4 else 1


@register("aten.flatten.using_ints", "aten.view.default", "aten.reshape.default", "aten._unsafe_view.default")
def lower_reshape(ctx: LoweringContext, node: Node) -> None:
    x = ctx.input(node.args[0])
    xt = ctx.tensor(x)
    in_logical = logical(xt)
    out_logical = node_shape(node)
    out_shape, out_layout = physical(out_logical)
    if out_shape == xt.shape and out_layout == xt.layout:
        ctx.alias_output(node, x)
        return
    src = x
    if xt.layout == Layout.NHWC and _spatial(in_logical) > 1:
        src = ctx.temp(f"{node.name}.nchw", xt, in_logical, Layout.PLAIN)
        ctx.add_op(OpCode.TRANSPOSE, node, [x], [src], TO_NCHW, name=f"{node.name}.to_nchw")
    if out_layout == Layout.NHWC and _spatial(out_logical) > 1:
        flat = ctx.temp(f"{node.name}.reshaped", xt, out_logical, Layout.PLAIN)
        ctx.add_op(OpCode.RESHAPE, node, [src], [flat], [])
        y, _, _ = ctx.new_output(node, out_shape, out_layout)
        ctx.add_op(OpCode.TRANSPOSE, node, [flat], [y], TO_NHWC, name=f"{node.name}.to_nhwc")
    else:
        y, _, _ = ctx.new_output(node, out_shape, out_layout)
        ctx.add_op(OpCode.RESHAPE, node, [src], [y], [])


@register("aten.cat.default", "aten.concat.default")
def lower_cat(ctx: LoweringContext, node: Node) -> None:
    inputs = [ctx.input(a) for a in node.args[0]]  # type: ignore[union-attr]
    dim = int(node.args[1]) if len(node.args) > 1 else 0  # type: ignore[arg-type]
    out_logical = node_shape(node)
    rank = len(out_logical)
    dim %= rank
    shape, layout = physical(out_logical)
    if any(ctx.tensor(t).layout != layout for t in inputs):
        raise EdgebuildError(f"{node.name}: cat of tensors with different ranks is not supported")
    axis = NCHW_TO_NHWC_AXIS[dim] if layout == Layout.NHWC else dim
    y, _, _ = ctx.new_output(node, shape, layout)
    yt = ctx.tensor(y)
    params = [axis]
    for t in inputs:
        xt = ctx.tensor(t)
        if (xt.scale, xt.zero_point) == (yt.scale, yt.zero_point):
            params += [0, 0]
        else:  # docs/quantization.md (10)
            params += list(quantize_multiplier(xt.scale / yt.scale))
    ctx.add_op(OpCode.CONCAT, node, inputs, [y], params)
