"""tflite: an edgebuild Program as a TFLite flatbuffer following the TFLite int8 spec (docs/integration.md).

Every edgebuild op maps to TFLite builtins whose reference kernels compute the same integers (docs/quantization.md):

    QUANTIZE (to NHWC)    QUANTIZE, then TRANSPOSE of the int8 tensor (the model keeps PyTorch's NCHW interface)
    DEQUANTIZE (to NCHW)  TRANSPOSE of the int8 tensor, then DEQUANTIZE
    CONV2D                CONV_2D (grouped included), SAME/VALID padding; other explicit padding is a PAD op
                          first (pad value = the input's zero point = real 0)
    DEPTHWISE_CONV2D      DEPTHWISE_CONV_2D (depthMultiplier = OC / C), padding as CONV2D
    FULLY_CONNECTED       RESHAPE + 1×1 CONV_2D + RESHAPE (LiteRT's reference FULLY_CONNECTED rounds once, its
                          CONV_2D twice like edgebuild: docs/quantization.md, "Measured")
    ADD                   ADD
    MAX_POOL2D            MAX_POOL_2D; explicit padding is PADV2 with −128 first (never the max of a window)
    AVG_POOL2D            AVERAGE_POOL_2D; TFLite averages the taps inside its input, so PyTorch's
                          count_include_pad=True becomes PAD (zero point) + pool over the padded input
    CONCAT                CONCATENATION; an input with other scale/zero point is requantized by QUANTIZE first
    RESHAPE / TRANSPOSE   RESHAPE / TRANSPOSE
    CLAMP                 MAXIMUM / MINIMUM with an int8 constant of the same scale (no arithmetic)
    SUB / MUL             SUB / MUL (TFLite's int8 arithmetic is eq. 7 / eq. 12; multipliers checked)
    PAD / SLICE           PADV2 (the value as an int8 code) / STRIDED_SLICE: copies
    UNARY                 its lookup table (eq. 11) as GATHER of the int8 table at CAST(x) + 128 (+ 256·channel)
    RESIZE                RESIZE_NEAREST_NEIGHBOR (a copy); bilinear as a float island; the options are the ones
                          under which TFLite reads the artifact's tables' source pixels (resize.py), else refused
    BATCH_MATMUL          a float island (BATCH_MATMUL float32, then QUANTIZE)
    SOFTMAX               SOFTMAX on int8 tensors, beta 1 (TFLite's int8 SOFTMAX is eqs. 16-20; parameters checked)

Float forms (edgebuild's float fallback: output float32) are TFLite's float32 builtins on float32 tensors, between
the DEQUANTIZE / QUANTIZE that the artifact has at its int8/float boundaries: CONV_2D, DEPTHWISE_CONV_2D, 1×1 CONV_2D
(FULLY_CONNECTED), ADD / SUB / MUL (fused RELU / RELU6 / RELU_N1_TO_1 or MAXIMUM / MINIMUM), pools (max pooling pads
with −inf), CONCATENATION, PADV2, STRIDED_SLICE, RESIZE_*, BATCH_MATMUL (+ MUL by alpha), SOFTMAX, LAYER_NORM as
MEAN / SUB / MUL / MEAN / ADD eps / RSQRT / MUL / MUL gamma / ADD beta, EMBEDDING as GATHER of the int32 ids, UNARY
as HARD_SWISH, LOGISTIC, TANH, GELU (approximate for GELU_TANH), LEAKY_RELU, PRELU, DIV (reciprocal), LOGISTIC · x
(silu), ADD 3 + RELU6 then DIV 6 (hardsigmoid). float_ops.py has them. An int8 op with no exact int8 builtin runs the
same float builtin between DEQUANTIZE and QUANTIZE (a float island). Float results agree with edgebuild's within
float32 rounding, not bit for bit (tests/interop/test_tflite_float.py states the tolerance and why).

An op the exporter cannot write stops the export with one line naming every such op (export.write_ops).

A fused activation is a TFLite fused activation when TFLite derives the same clamp from the output's scale; else the
op gets NONE and a MAXIMUM / MINIMUM pair. Requantization multipliers are not stored in a .tflite: the interpreter
derives them from the float32 scales, so the exporter re-derives them the same way and refuses a model where they
differ from the artifact's (they never did on the models tested). Weight scales come from the artifact's METADATA.

io="float" keeps edgebuild's interface (float32, NCHW); io="int8" makes the graph inputs and outputs the int8
tensors (NCHW), for integer-only apps and for the bit-exact test.

Modules: flatbuffer.py (the file being written), tensors.py (tensors, weights and their quantization, fused
activations, float islands), quant.py (what TFLite derives by itself: activation ranges, multipliers, SAME / VALID
padding), ops.py (the int8 CNN ops, int8 or float32 alike), float_ops.py (the handler table, float builtins, int8
SUB / MUL / UNARY / PAD / SLICE), resize.py (RESIZE's options).
"""

from __future__ import annotations

from ...ir import Program
from .. import ExportError, write_ops
from .float_ops import Writer
from .quant import tflite_activation_range, tflite_padding

__all__ = ["export_tflite", "tflite_activation_range", "tflite_padding"]


def export_tflite(program: Program, *, io: str = "float") -> bytes:
    """The .tflite flatbuffer of a Program (as read back from a .ebm); see the module docstring."""
    from ...lower.fuse_attention import unfused_program

    program = unfused_program(program)  # the format has no fused attention op: its ops, the same values
    w = Writer(program, io)
    write_ops(program, "TFLite", w.handlers())
    for tid in program.inputs:
        if tid not in w.tmap:
            raise ExportError(f"graph input {program.tensors[tid].name!r} is not used by the model")
    return w.fb.finish(
        [w.tmap[t] for t in program.inputs],
        [w.tmap[t] for t in program.outputs],
        f"edgebuild export of {program.metadata.get('model', 'model')}",
    )
