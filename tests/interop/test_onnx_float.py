"""ONNX export of builds with float-form ops (edgebuild's float fallback) run in onnxruntime next to edgebuild.

A float-form op is the ONNX op on float32 values between the int8 graph's DequantizeLinear / QuantizeLinear.
onnxruntime runs unfused (ORT_DISABLE_ALL: the QDQ graph's own semantics, any CPU; tests/interop/ort.py).

Stated agreement, and why: the int8 parts agree as in test_onnx.py (float requantization: within 1 LSB per op,
outputs within MAX_LSB = 2 of their scale). Float ops differ from edgebuild's by float32 rounding only: edgebuild
sums in double and computes exp / erf / tanh as double-precision series rounded once (f32math.h), onnxruntime sums
in float32 in its own (vectorized) order with its own exp / erf / tanh; each op is off by a few float32 ulps, a
float-only network by at most REL (1e-5) of its output's magnitude. A probability after int8 logits within
MAX_LSB moves by at most MAX_LSB · LSB / 2 (softmax's Jacobian: sum_j |dp_i/dz_j| = 2 p_i (1 - p_i) <= 1/2).
"""

from __future__ import annotations

import numpy as np
import onnx
import torch

from edgebuild.export.onnx import export_onnx
from edgebuild.ir import Program
from edgebuild.serialize import artifact_bytes, read_artifact
from tests.helpers import native
from tests.interop.ort import session
from tests.interop.test_onnx import MAX_LSB
from tests.interop.test_tflite import output_scale
from tests.interop.test_tflite_float import FLOAT_SOFTMAX, Mixed, SoftmaxCNN, SoftmaxMLP, as_np, build, images

REL = 1e-5


def compare(prog: Program, samples: list[list[np.ndarray]]) -> tuple[float, float]:
    """(max |ours - theirs| over the outputs, the same relative to max |ours|)."""
    data = export_onnx(read_artifact(artifact_bytes(prog)))
    sess = session(data, fused=False)
    model = native(prog)
    absd, rel = 0.0, 0.0
    for inputs in samples:
        ours = [np.asarray(o) for o in model.run(inputs)]
        feed = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
        theirs = sess.run(None, feed)
        for a, b in zip(ours, theirs):
            d = float(np.abs(a - b).max())
            absd, rel = max(absd, d), max(rel, d / max(float(np.abs(a).max()), 1e-30))
    return absd, rel


def op_types(prog: Program) -> list[str]:
    m = onnx.load_model_from_string(export_onnx(read_artifact(artifact_bytes(prog))))
    return [n.op_type for n in m.graph.node]


def test_softmax_classifier_onnx() -> None:
    torch.manual_seed(0)
    prog = build(SoftmaxCNN(), images((1, 1, 16, 16), 16, 0), float_layers=FLOAT_SOFTMAX)
    assert op_types(prog).count("Softmax") == 1
    logits = next(op.inputs[0] for op in prog.ops if op.opcode.name == "DEQUANTIZE")
    absd, _ = compare(prog, as_np(images((1, 1, 16, 16), 6, 1)))
    assert absd <= MAX_LSB * prog.tensors[logits].scale / 2 + 1e-6, absd


def test_float_islands_onnx() -> None:
    """softmax between int8 layers, a forced float conv inside an int8 CNN: outputs within MAX_LSB."""
    torch.manual_seed(0)
    for model, shape, layers in ((SoftmaxMLP(), (1, 24), FLOAT_SOFTMAX), (Mixed(), (1, 3, 8, 8), ("b",))):
        prog = build(model, images(shape, 16, 0), float_layers=layers)
        assert prog.float_form_ops()
        absd, _ = compare(prog, as_np(images(shape, 6, 2)))
        assert absd <= MAX_LSB * output_scale(prog) * 1.0001, (type(model).__name__, absd)


def test_every_cnn_float_form_onnx() -> None:
    from tests.lower.test_cnn_ops_vs_pt2e import AllCnnOps

    torch.manual_seed(5)
    model = AllCnnOps().eval()
    x0 = torch.randn(1, 3, 6, 6)
    gm = torch.export.export(model, (x0,)).module()
    layers = ("c1", "c2", "prelu") + tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    prog = build(model, [(x0,)], float_layers=layers)
    types = op_types(prog)
    assert "QuantizeLinear" not in types and "PRelu" in types and "Resize" in types, types
    _, rel = compare(prog, as_np(images((1, 3, 6, 6), 3, 7)))
    assert rel <= REL, rel


def test_transformer_float_ops_onnx() -> None:
    """EMBEDDING (Gather of int32 ids), LAYER_NORM (LayerNormalization), BATCH_MATMUL, SOFTMAX, int8 GELU."""
    from tests.zoo.bert import tiny_bert, token_batch

    model = tiny_bert(layers=1)
    ids, types = token_batch(12)
    prog = build(model, [(ids[i : i + 1], types[i : i + 1]) for i in range(8)])
    kinds = op_types(prog)
    assert {"Gather", "LayerNormalization", "Softmax", "MatMul"} <= set(kinds), kinds
    samples = [
        [ids[i : i + 1].numpy().astype(np.int32), types[i : i + 1].numpy().astype(np.int32)]
        for i in range(8, 12)
    ]
    absd, rel = compare(prog, samples)
    # the output is LAYER_NORM's (float): no output LSB to state it in. Every int8 op (a dozen in sequence) within
    # 1 LSB of edgebuild's, the float ops within REL: measured 0.019 of the output's magnitude, bound 0.05
    assert rel <= 0.05, (absd, rel)
