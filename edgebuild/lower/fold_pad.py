"""Folds a constant PAD into the convolutions that read it: TF-style 'same' padding written as an explicit `F.pad`
before a strided or depthwise convolution (transformers' MobileNetV2, EfficientNet ports) becomes the convolution's
own pad_top / left / bottom / right, and the PAD op and its tensor disappear.

Exact by construction, for the int8 form only: a convolution's padding taps read the input's zero point (real 0), so a
PAD whose value is that zero point, with the same scale and zero point on both sides (a PAD shares its input's
quantization), padding only H and W of an NHWC tensor, gives the same window sums as the convolution padding by the
same amounts. Float PADs stay (0 * w and a skipped tap can differ in the sign of a zero); pools stay (max pool's
padding is never the maximum, average pool's is not counted).
"""

from __future__ import annotations

from ..ir import DType, Layout, Op, OpCode, Program
from ..ir_ops import Conv2dInt8Params, DepthwiseConv2dInt8Params, PadInt8Params

_CONVS = {OpCode.CONV2D: Conv2dInt8Params, OpCode.DEPTHWISE_CONV2D: DepthwiseConv2dInt8Params}


def _foldable(prog: Program, pad: Op, readers: list[Op]) -> bool:
    x, y = prog.tensors[pad.inputs[0]], prog.tensors[pad.outputs[0]]
    if x.dtype != DType.INT8 or y.dtype != DType.INT8 or x.layout != Layout.NHWC or len(x.shape) != 4:
        return False
    if x.scale != y.scale or x.zero_point != y.zero_point or pad.outputs[0] in prog.outputs:
        return False
    p = PadInt8Params.decode(pad.params)
    if p.value != x.zero_point or p.before[0] or p.after[0] or p.before[3] or p.after[3]:
        return False
    for op in readers:
        if op.opcode not in _CONVS or prog.form_of(op) != "int8":
            return False
        if op.inputs[0] != pad.outputs[0] or pad.outputs[0] in op.inputs[1:]:
            return False
    return bool(readers)


def fold_pads(prog: Program) -> int:
    """Folds every foldable PAD (module docstring) into its readers; returns how many were folded. Tensor ids are
    renumbered when a PAD's output tensor goes."""
    from ..sparse import drop_unused_constants  # removes every tensor no op uses, renumbering ids

    readers: dict[int, list[Op]] = {}
    for op in prog.ops:
        for i in set(op.inputs):
            readers.setdefault(i, []).append(op)
    folded: list[Op] = []
    for pad in prog.ops:
        if pad.opcode != OpCode.PAD or not _foldable(prog, pad, readers.get(pad.outputs[0], [])):
            continue
        p = PadInt8Params.decode(pad.params)
        for op in readers[pad.outputs[0]]:
            cls = _CONVS[op.opcode]
            c = cls.decode(op.params)
            c.pad_top += p.before[1]
            c.pad_bottom += p.after[1]
            c.pad_left += p.before[2]
            c.pad_right += p.after[2]
            op.params = c.encode()
            op.inputs = [pad.inputs[0], *op.inputs[1:]]
        folded.append(pad)
    if folded:
        gone = {id(op) for op in folded}
        prog.ops = [op for op in prog.ops if id(op) not in gone]
        drop_unused_constants(prog)
    return len(folded)
