"""The TFLite builtins of each edgebuild op (the table in export/tflite/__init__.py), reading the op's parameters
by name (edgebuild/ir_ops.py)."""

from __future__ import annotations

import numpy as np

from ...ir import DType, Op, OpCode
from ...ir_ops import (
    AddInt8Params,
    DequantizeParams,
    QuantizeParams,
    TransposeParams,
)
from .. import ExportError
from .quant import Window, check_multiplier
from .tensors import TensorWriter

TO_NHWC = [0, 2, 3, 1]
TO_NCHW = [0, 3, 1, 2]
ADD_LEFT_SHIFT = 20  # TFLite's int8 ADD (docs/quantization.md (7))


class OpWriter(TensorWriter):
    # --- windows and padding --------------------------------------------------------------------------------
    def pad(self, x: int, src: int, pads: list[tuple[int, int]], value: float | None, name: str) -> int:
        """PAD (value None: the zero point, i.e. real 0) or PADV2 (an explicit value: an int8 code of x's
        quantization, or a float32) of tensor `src` (edgebuild tensor `x`); returns the padded tensor."""
        fb = self.fb
        t = self.program.tensors[x]
        shape = [d + a + b for d, (a, b) in zip(t.shape, pads)]
        out = self.like(x, f"{name}.padded", shape)
        paddings = fb.const_i32(f"{name}.paddings", np.asarray(pads, dtype=np.int32))
        if value is None:
            fb.op("PAD", [src, paddings], [out], fb.options("PadOptions"), "PadOptions")
        else:
            v = self.const_like(f"{name}.pad_value", value, x)
            fb.op("PADV2", [src, paddings, v], [out], fb.options("PadV2Options"), "PadV2Options")
        return out

    def windowed(
        self,
        op: Op,
        dims: list[Window],
        candidates: list[tuple[str, list[tuple[int, int]]]],
        pad_value: float | None,
        what: str,
    ) -> tuple[int, str]:
        """Pick the first (padding kind, explicit pads per spatial dim) that TFLite runs as PyTorch did."""
        x = op.inputs[0]
        for kind, pads in candidates:
            if all(d.matches(a, b, kind) for d, (a, b) in zip(dims, pads)):
                src = self.tensor(x)
                if any(a or b for a, b in pads):
                    src = self.pad(x, src, [(0, 0), pads[0], pads[1], (0, 0)], pad_value, op.name)
                return src, kind
        raise ExportError(
            f"{op.name}: this {what} window (PyTorch semantics {dims}) has no TFLite equivalent"
        )

    # --- convolution ----------------------------------------------------------------------------------------
    def conv(self, op: Op) -> None:
        """CONV2D -> CONV_2D (grouped included), DEPTHWISE_CONV2D -> DEPTHWISE_CONV_2D (the lowering decided it);
        SAME/VALID padding, other explicit padding is a PAD op first (pad value = the input's zero point = real 0).
        int8 or float32 alike (the form is the tensors' dtype)."""
        P, fb = self.program, self.fb
        depthwise = op.opcode == OpCode.DEPTHWISE_CONV2D
        p = P.params_of(op)  # Conv2d / DepthwiseConv2d, Int8 / Float
        x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
        w = P.tensors[op.inputs[1]]
        assert w.data is not None
        oc, kh, kw, _ = w.shape
        dims = [
            Window(x.shape[1], y.shape[1], kh, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom),
            Window(x.shape[2], y.shape[2], kw, p.stride_w, p.dilation_w, p.pad_left, p.pad_right),
        ]
        candidates = [
            ("VALID", [(0, 0), (0, 0)]),
            ("SAME", [(0, 0), (0, 0)]),
            ("VALID", [(p.pad_top, dims[0].needed_after()), (p.pad_left, dims[1].needed_after())]),
        ]
        src, kind = self.windowed(op, dims, candidates, None, "convolution")
        geometry = {
            "padding": getattr(self.s.Padding, kind),
            "strideH": p.stride_h,
            "strideW": p.stride_w,
            "dilationHFactor": p.dilation_h,
            "dilationWFactor": p.dilation_w,
        }
        act, out = self.fused(op.outputs[0], *self.bounds(p))
        if depthwise:  # TFLite's depthwise filter is [1, KH, KW, C * multiplier], quantized on axis 3
            wt, b = self.weight_bias(op, w.data.transpose(3, 1, 2, 0), 3)
            opts = fb.options(
                "DepthwiseConv2DOptions",
                **geometry,
                depthMultiplier=oc // x.shape[3],
                fusedActivationFunction=act,
            )
            fb.op("DEPTHWISE_CONV_2D", [src, wt, b], [out], opts, "DepthwiseConv2DOptions")
        else:  # OHWI, as stored; TFLite infers groups from input channels / filter input channels
            wt, b = self.weight_bias(op, w.data, 0)
            opts = fb.options("Conv2DOptions", **geometry, fusedActivationFunction=act)
            fb.op("CONV_2D", [src, wt, b], [out], opts, "Conv2DOptions")
        self.flush_clamp()

    def fully_connected(self, op: Op) -> None:
        """As RESHAPE [1, 1, M, K] -> 1×1 CONV_2D -> RESHAPE: LiteRT's reference FULLY_CONNECTED rounds once, its
        CONV_2D rounds twice as edgebuild does (docs/quantization.md, "Measured"). The float form likewise."""
        w = self.program.tensors[op.inputs[1]]
        assert w.data is not None
        n, k = w.shape
        self.fc_as_conv(op, *self.weight_bias(op, w.data.reshape(n, 1, 1, k), 0), n, k)

    def fc_as_conv(self, op: Op, wt: int, b: int, n: int, k: int) -> None:
        """x [..., K] · wt [N, 1, 1, K] + b as RESHAPE [1, 1, M, K] -> 1×1 CONV_2D -> RESHAPE (fully_connected)."""
        P, fb = self.program, self.fb
        p = P.params_of(op)
        x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
        rows = x.numel // k
        act, out = self.fused(op.outputs[0], *self.bounds(p))
        x4 = self.like(op.inputs[0], f"{op.name}.rows", [1, 1, rows, k])
        self.reshape_to(self.tensor(op.inputs[0]), x4, [1, 1, rows, k], f"{op.name}.in")
        y4 = self.like(op.outputs[0], f"{op.name}.conv", [1, 1, rows, n])
        opts = fb.options(
            "Conv2DOptions",
            padding=self.s.Padding.VALID,
            strideH=1,
            strideW=1,
            dilationHFactor=1,
            dilationWFactor=1,
            fusedActivationFunction=act,
        )
        fb.op("CONV_2D", [x4, wt, b], [y4], opts, "Conv2DOptions")
        self.reshape_to(y4, out, list(y.shape), f"{op.name}.out")
        self.flush_clamp()

    # --- elementwise ----------------------------------------------------------------------------------------
    def add(self, op: Op) -> None:
        P = self.program
        p = AddInt8Params.decode(op.params)
        a, b, y = (P.tensors[i] for i in (*op.inputs, op.outputs[0]))
        if p.left_shift != ADD_LEFT_SHIFT:
            raise ExportError(f"{op.name}: ADD with left_shift {p.left_shift}; TFLite's int8 ADD uses 20")
        sa, sb, sy = (float(np.float32(t.scale)) for t in (a, b, y))
        twice = 2.0 * max(sa, sb)
        check_multiplier(op, sa / twice, p.a_mult, p.a_shift, "first input")
        check_multiplier(op, sb / twice, p.b_mult, p.b_shift, "second input")
        check_multiplier(op, twice / ((1 << ADD_LEFT_SHIFT) * sy), p.out_mult, p.out_shift, "output")
        act, out = self.fused(op.outputs[0], p.act_min, p.act_max)
        opts = self.fb.options("AddOptions", fusedActivationFunction=act)
        self.fb.op("ADD", [self.tensor(op.inputs[0]), self.tensor(op.inputs[1])], [out], opts, "AddOptions")
        self.flush_clamp()

    def clamp_op(self, op: Op) -> None:
        lo, hi = self.bounds(self.program.params_of(op))
        self.clamp(self.tensor(op.inputs[0]), self.tensor(op.outputs[0]), lo, hi)

    # --- pooling --------------------------------------------------------------------------------------------
    def max_pool(self, op: Op) -> None:
        """MAX_POOL_2D; explicit padding is PADV2 with −128 first (never the max of a window)."""
        P = self.program
        p = P.params_of(op)
        x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
        if p.dilation_h != 1 or p.dilation_w != 1:
            raise ExportError(f"{op.name}: TFLite's MAX_POOL_2D has no dilation")
        dims = [
            Window(x.shape[1], y.shape[1], p.kernel_h, p.stride_h, 1, p.pad_h, p.pad_h),
            Window(x.shape[2], y.shape[2], p.kernel_w, p.stride_w, 1, p.pad_w, p.pad_w),
        ]
        candidates = [
            ("VALID", [(0, 0), (0, 0)]),
            ("SAME", [(0, 0), (0, 0)]),
            ("VALID", [(p.pad_h, dims[0].needed_after()), (p.pad_w, dims[1].needed_after())]),
        ]
        lowest = -np.inf if x.dtype == DType.FLOAT32 else -128
        src, kind = self.windowed(op, dims, candidates, lowest, "max pooling")
        window = (p.kernel_h, p.kernel_w, p.stride_h, p.stride_w)
        self.pool("MAX_POOL_2D", op, src, kind, window, *self.bounds(p))

    def avg_pool(self, op: Op) -> None:
        """AVERAGE_POOL_2D. TFLite averages the taps inside its input, so PyTorch's count_include_pad=True becomes
        PAD (zero point) + pool over the padded input."""
        P = self.program
        p = P.params_of(op)
        x, y = P.tensors[op.inputs[0]], P.tensors[op.outputs[0]]
        ph, pw = p.pad_h, p.pad_w
        dims = [
            Window(x.shape[1], y.shape[1], p.kernel_h, p.stride_h, 1, ph, ph),
            Window(x.shape[2], y.shape[2], p.kernel_w, p.stride_w, 1, pw, pw),
        ]
        # TFLite counts the taps inside its (possibly padded) input. count_include_pad: the padding is counted, so
        # it must be real (a PAD op); otherwise it must be TFLite's own (SAME) padding.
        if p.count_include_pad and (ph or pw):
            candidates = [(kind, [(ph, ph), (pw, pw)]) for kind in ("VALID", "SAME")]
        else:
            candidates = [(kind, [(0, 0), (0, 0)]) for kind in ("VALID", "SAME")]
        src, kind = self.windowed(op, dims, candidates, None, "average pooling")
        window = (p.kernel_h, p.kernel_w, p.stride_h, p.stride_w)
        self.pool("AVERAGE_POOL_2D", op, src, kind, window, *self.bounds(p))

    def pool(
        self,
        builtin: str,
        op: Op,
        src: int,
        kind: str,
        window: tuple[int, int, int, int],
        amin: float,
        amax: float,
    ) -> None:
        """One MAX_POOL_2D / AVERAGE_POOL_2D with its fused clamp, reading `src` (the input, or a PAD of it)."""
        kh, kw, sh, sw = window
        act, out = self.fused(op.outputs[0], amin, amax)
        opts = self.fb.options(
            "Pool2DOptions",
            padding=getattr(self.s.Padding, kind),
            strideH=sh,
            strideW=sw,
            filterHeight=kh,
            filterWidth=kw,
            fusedActivationFunction=act,
        )
        self.fb.op(builtin, [src], [out], opts, "Pool2DOptions")
        self.flush_clamp()

    # --- moving values --------------------------------------------------------------------------------------
    def concat(self, op: Op) -> None:
        """CONCATENATION; an input with other scale/zero point is requantized by QUANTIZE first (eq. 10)."""
        P = self.program
        y = op.outputs[0]
        p = P.params_of(op)
        requant = getattr(p, "input_requant", [0] * (2 * len(op.inputs)))  # the float form has none
        ins = []
        for i, tid in enumerate(op.inputs):
            mult, shift = requant[2 * i], requant[2 * i + 1]
            src = self.tensor(tid)
            if mult != 0:  # TFLite's int8 CONCATENATION requires equal scales
                xt = P.tensors[tid]
                real = float(np.float32(xt.scale)) / float(np.float32(P.tensors[y].scale))
                check_multiplier(op, real, mult, shift, f"input {i}")
                req = self.like(y, f"{xt.name}.requantized", xt.shape)
                self.fb.op("QUANTIZE", [src], [req])
                src = req
            ins.append(src)
        opts = self.fb.options("ConcatenationOptions", axis=p.axis)
        self.fb.op("CONCATENATION", ins, [self.tensor(y)], opts, "ConcatenationOptions")

    def reshape_to(self, src: int, dst: int, shape: list[int], name: str) -> None:
        new_shape = self.fb.const_i32(f"{name}.shape", shape)
        opts = self.fb.options("ReshapeOptions", newShape=shape)
        self.fb.op("RESHAPE", [src, new_shape], [dst], opts, "ReshapeOptions")

    def reshape(self, op: Op) -> None:
        y = self.program.tensors[op.outputs[0]]
        self.reshape_to(self.tensor(op.inputs[0]), self.tensor(op.outputs[0]), list(y.shape), y.name)

    def transpose_to(self, src: int, perm: int, dst: int) -> None:
        """TRANSPOSE `src` by the int32 constant `perm` into `dst` (callers create the tensors in file order)."""
        self.fb.op("TRANSPOSE", [src, perm], [dst], self.fb.options("TransposeOptions"), "TransposeOptions")

    def transpose(self, op: Op) -> None:
        perm = self.fb.const_i32(f"{op.name}.perm", TransposeParams.decode(op.params).perm)
        self.transpose_to(self.tensor(op.inputs[0]), perm, self.tensor(op.outputs[0]))

    # --- the int8 boundaries --------------------------------------------------------------------------------
    def quantize(self, op: Op) -> None:
        """f32 (a graph input, NCHW, or a float op's output) -> int8: QUANTIZE, then an int8 TRANSPOSE when to_nhwc."""
        P = self.program
        x, y = op.inputs[0], op.outputs[0]
        to_nhwc = QuantizeParams.decode(op.params).to_nhwc
        xt = P.tensors[x]
        if self.io == "int8" and x in P.inputs:
            q = self.like(y, xt.name, xt.shape)
            self.tmap[x] = q
        else:
            q = self.like(y, f"{xt.name}.int8", xt.shape) if to_nhwc else self.tensor(y)
            self.fb.op("QUANTIZE", [self.tensor(x)], [q])
        if to_nhwc:
            perm = self.fb.const_i32(f"{op.name}.perm", TO_NHWC)
            self.transpose_to(q, perm, self.tensor(y))
        elif self.io == "int8":
            self.tmap[y] = q

    def dequantize(self, op: Op) -> None:
        """int8 -> f32 (a graph output, or a float op's input): an int8 TRANSPOSE when to_nchw, then DEQUANTIZE."""
        P = self.program
        x, y = op.inputs[0], op.outputs[0]
        to_nchw = DequantizeParams.decode(op.params).to_nchw
        xt, yt = P.tensors[x], P.tensors[y]
        int8_out = self.io == "int8" and y in P.outputs
        src = self.tensor(x)
        if to_nchw:
            name = yt.name if int8_out else f"{xt.name}.nchw"
            nchw = self.like(x, name, yt.shape)
            self.transpose_to(src, self.fb.const_i32(f"{op.name}.perm", TO_NCHW), nchw)
            src = nchw
        if int8_out:
            self.tmap[y] = src
        else:
            self.fb.op("DEQUANTIZE", [src], [self.tensor(y)])
