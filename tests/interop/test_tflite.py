""".tflite export run in LiteRT (ai-edge-litert): bit-exact with the reference kernels, ≤ 1 LSB on the default path.

Models are quantized and lowered in-process, written to .ebm bytes and read back (what `edgebuild export` reads),
exported, and run in LiteRT next to edgebuild's own runtime (the host extension) on the same float inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgebuild.export.tflite import export_tflite
from edgebuild.ir import DType, Op, Program, Tensor
from edgebuild.ir_ops import DequantizeParams, FullyConnectedInt8Params, QuantizeParams
from edgebuild.qmath import inv_scale_f32, quantize_multiplier
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import native, quantize_and_lower
from tests.interop.litert import litert_interpreter, run_litert
from tests.kernels.ukernels.oracle import mbqm
from tests.models import RandomCNN, calibration

RANDOM_SEEDS = range(10)


def output_scale(prog: Program) -> float:
    dq = next(op for op in prog.ops if op.outputs[0] == prog.outputs[0])
    return prog.tensors[dq.inputs[0]].scale


def compare(prog: Program, samples: list[np.ndarray]) -> dict[str, float]:
    """Max |difference| in output LSBs between edgebuild and LiteRT (reference kernels, default path)."""
    model = native(prog)
    ours = [np.asarray(model.run([x])[0]) for x in samples]
    roundtrip = read_artifact(artifact_bytes(prog))
    data = export_tflite(roundtrip)
    result = {}
    for path in ("reference", "default"):
        theirs = run_litert(data, samples, path)
        result[path] = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs)) / output_scale(prog)
        if path == "reference":
            result["bit_exact"] = float(all(a.tobytes() == b.tobytes() for a, b in zip(ours, theirs)))
    return result


@pytest.fixture(scope="module")
def digits_program() -> tuple[Program, list[np.ndarray]]:
    from examples.digits.model import DigitsCNN

    data = np.load("examples/digits/calib.npz")["x"].astype(np.float32)
    model = DigitsCNN()
    model.load_state_dict(torch.load("examples/digits/state_dict.pt", weights_only=True))
    q = quantize_and_lower(model, [torch.from_numpy(data[i : i + 1]) for i in range(32)], "digits")
    return q.program, [data[i : i + 1] for i in range(40, 104)]


def test_digits_tflite(digits_program: tuple[Program, list[np.ndarray]]) -> None:
    prog, samples = digits_program
    r = compare(prog, samples)
    assert r["bit_exact"] == 1.0 and r["reference"] == 0.0, r
    assert r["default"] <= 1.0 + 1e-4, r  # 1 LSB, up to float32 rounding of the ratio


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_cnn_tflite(seed: int) -> None:
    model = RandomCNN(seed)
    q = quantize_and_lower(model, calibration(model.input_shape()), f"random{seed}")
    samples = [c.numpy() for c in calibration(model.input_shape(), 8, seed=1000 + seed)]
    r = compare(q.program, samples)
    assert r["bit_exact"] == 1.0, (q.program.op_counts(), r)
    assert r["default"] <= 1.0 + 1e-4, (q.program.op_counts(), r)


def test_int8_io(digits_program: tuple[Program, list[np.ndarray]]) -> None:
    """io="int8": the graph's inputs and outputs are the int8 tensors, NCHW, with the artifact's scales."""
    prog, samples = digits_program
    data = export_tflite(read_artifact(artifact_bytes(prog)), io="int8")
    it = litert_interpreter(data, "reference")
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    scale, zp = inp["quantization"]
    x = samples[0]
    q = np.clip(np.rint(x * inv_scale_f32(scale)) + zp, -128, 127).astype(np.int8)
    it.set_tensor(inp["index"], q)
    it.invoke()
    y = it.get_tensor(out["index"])
    oscale, ozp = out["quantization"]
    ours = np.asarray(native(prog).run([x])[0])
    np.testing.assert_array_equal((y.astype(np.float32) - ozp) * np.float32(oscale), ours)


def _one_fc(m_rows: int, weight_scales: np.ndarray, bias: np.ndarray) -> Program:
    """QUANTIZE -> FULLY_CONNECTED (K = 1, weights 127) -> DEQUANTIZE, with x scale 0.5 and y scale 1."""
    n = len(weight_scales)
    sx, sy = 0.5, 1.0
    mults = [quantize_multiplier(sx * float(s) / sy) for s in weight_scales]
    p = Program()
    xf = p.add_tensor(Tensor("x", DType.FLOAT32, (m_rows, 1)))
    xq = p.add_tensor(Tensor("xq", DType.INT8, (m_rows, 1), sx, 0))
    w = p.add_constant("fc.weight", np.full((n, 1), 127), DType.INT8)
    b = p.add_constant("fc.bias", bias, DType.INT32)
    m = p.add_constant("fc.multiplier", np.array([a for a, _ in mults]), DType.INT32)
    e = p.add_constant("fc.shift", np.array([s for _, s in mults]), DType.INT32)
    yq = p.add_tensor(Tensor("yq", DType.INT8, (m_rows, n), sy, 0))
    yf = p.add_tensor(Tensor("y", DType.FLOAT32, (m_rows, n)))
    q = QuantizeParams(to_nhwc=False, inv_scale=float(inv_scale_f32(sx)))
    fc = FullyConnectedInt8Params(act_min=-128, act_max=127)
    dq = DequantizeParams(to_nchw=False)
    p.ops = [
        Op(q.OPCODE, "q", [xf], [xq], q.encode()),
        Op(fc.OPCODE, "fc", [xq, w, b, m, e], [yq], fc.encode()),
        Op(dq.OPCODE, "dq", [yq], [yf], dq.encode()),
    ]
    p.inputs, p.outputs = [xf], [yf]
    p.metadata["weight_scales"] = {"fc.weight": [float(s) for s in weight_scales]}
    return p


def _double_rounding(x: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul + RoundingDivideByPOT (for e <= 0), the former contract."""
    ab = x * m
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    v = ab + nudge
    high = np.where(v >= 0, v // (1 << 31), -((-v) // (1 << 31)))
    n = -e
    mask = (np.int64(1) << n) - 1
    return (high >> n) + ((high & mask) > ((mask >> 1) + (high < 0)))


def _litert_codes(data: bytes, x: np.ndarray) -> np.ndarray:
    it = litert_interpreter(data, "reference")
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).astype(np.int64)


def test_litert_rounding_per_op() -> None:
    """The experiment behind docs/quantization.md, "Measured": every int8 input through 64 channels whose
    requantization rounds differently under one and two roundings on some outputs. LiteRT's reference CONV_2D
    rounds twice (edgebuild's (4)-(5)), its FULLY_CONNECTED once; the exporter's FC (a 1×1 CONV_2D) matches edgebuild."""
    rng = np.random.default_rng(0)
    scales = rng.uniform(1e-4, 1e-2, 64).astype(np.float32)
    bias = rng.integers(-40000, 40000, 64)
    prog = _one_fc(256, scales, bias)
    x = np.arange(-128, 128, dtype=np.int8).reshape(256, 1)
    acc = bias[None, :] + x.astype(np.int64) * 127
    m = prog.tensors[prog.ops[1].inputs[3]].data.astype(np.int64)[None, :]
    e = prog.tensors[prog.ops[1].inputs[4]].data.astype(np.int64)[None, :]
    double = np.clip(mbqm(acc, m, e), -128, 127)  # docs/quantization.md (4a), (4b), (5)
    single = np.clip((acc * m + (np.int64(1) << (30 - e))) >> (31 - e), -128, 127)
    assert (single != double).sum() >= 10, "the experiment needs outputs where the two rules differ"

    exported = export_tflite(prog, io="int8")  # FC written as RESHAPE + 1×1 CONV_2D + RESHAPE
    np.testing.assert_array_equal(_litert_codes(exported, x), double)
    ours = np.asarray(
        native(prog).run([x.astype(np.float32) * 0.5])[0]
    )  # x * 0.5 quantizes back to x exactly
    np.testing.assert_array_equal(ours.astype(np.int64), double)

    # The same layer as LiteRT's own FULLY_CONNECTED builtin rounds once.
    fc = _plain_fully_connected(exported)
    np.testing.assert_array_equal(_litert_codes(fc, x), single)


def _plain_fully_connected(conv_model: bytes) -> bytes:
    """Rewrite the exported RESHAPE + CONV_2D [N,1,1,K] + RESHAPE into one FULLY_CONNECTED [N,K] (the experiment's
    control: LiteRT's own FC on identical tensors)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromPackedBuf(conv_model, 0)
    sub = model.subgraphs[0]
    codes = [c.builtinCode for c in model.operatorCodes]
    conv_i = next(i for i, o in enumerate(sub.operators) if codes[o.opcodeIndex] == s.BuiltinOperator.CONV_2D)
    before, conv, after = sub.operators[conv_i - 1 : conv_i + 2]
    w = sub.tensors[conv.inputs[1]]
    w.shape = np.array([w.shape[0], w.shape[3]], np.int32)
    oc = s.OperatorCodeT()
    oc.builtinCode = oc.deprecatedBuiltinCode = s.BuiltinOperator.FULLY_CONNECTED
    oc.version = 4
    model.operatorCodes.append(oc)
    fc = s.OperatorT()
    fc.opcodeIndex = len(model.operatorCodes) - 1
    fc.inputs = np.array([before.inputs[0], conv.inputs[1], conv.inputs[2]], np.int32)
    fc.outputs = after.outputs
    fc.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
    fc.builtinOptions = s.FullyConnectedOptionsT()
    sub.operators[conv_i - 1 : conv_i + 2] = [fc]
    b = flatbuffers.Builder(1 << 16)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_depthwise_tflite() -> None:
    """DEPTHWISE_CONV2D -> DEPTHWISE_CONV_2D (depth multiplier 1 and 2), a grouped CONV2D -> CONV_2D: the exporter
    reads the opcode the lowering wrote; bit-exact with LiteRT's reference kernels."""
    from tests.lower.test_depthwise import SHAPE, Block

    torch.manual_seed(3)
    q = quantize_and_lower(Block(), calibration(SHAPE, 8), "block")
    assert q.program.op_counts()["DEPTHWISE_CONV2D"] == 2
    data = export_tflite(read_artifact(artifact_bytes(q.program)))
    it = litert_interpreter(data, "reference")
    ops = [d["op_name"] for d in it._get_ops_details()]
    assert ops.count("DEPTHWISE_CONV_2D") == 2 and ops.count("CONV_2D") == 3, ops
    r = compare(q.program, [c.numpy() for c in calibration(SHAPE, 8, seed=5)])
    assert r["bit_exact"] == 1.0 and r["reference"] == 0.0, r
