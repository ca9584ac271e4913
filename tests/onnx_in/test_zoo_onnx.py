"""ONNX files that torch.onnx.export writes for zoo models (tests/models.py RandomCNN), and onnxruntime's own
quantized forms of them, built by edgebuild and compared with ONNX Runtime on the same files.

Bounds:
- float: edgebuild's float program (the graph lowered without quantization) against ONNX Runtime on the float file:
  |diff| <= 1e-5 * max(1, max|ORT|). Both compute in float32 and differ only in summation order: a K-term dot
  product differs by at most ~K·ε·Σ|terms| (K <= 12·3·3 = 108 here, ε = 6e-8: ~6e-6 of the terms' scale), through
  at most five layers. Measured 1.2e-7.
- int8: the int8 program against ONNX Runtime's float output, on 8 samples not used for calibration: cosine >= 0.99
  (MIN_COSINE of the zoo) and the same arg-max (top-1) on every sample. Measured cosine >= 0.9997.
- QDQ: a file quantized by onnxruntime.quantization (QDQ format, per-channel int8 weights, int8 activations) is
  built (its pairs become clamps, edgebuild re-quantizes from the same calibration samples) and compared with ONNX
  Runtime running the QDQ file itself: cosine >= 0.99, same top-1. Measured >= 0.9998.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebuild.capture import capture
from edgebuild.errors import EdgebuildError
from edgebuild.load import detect_format, load_model
from edgebuild.lower import lower_graph
from edgebuild.quantize import quantize_model
from tests.helpers import run_native
from tests.models import RandomCNN
from tests.onnx_in.onnx_files import export_onnx, ort_run, quantize_with_ort
from tests.zoo.hf_driver import MIN_COSINE, cosine

FLOAT_REL = 1e-5
N_CALIB, N_EVAL = 16, 8


def samples(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N_CALIB + N_EVAL, *shape[1:])).astype(np.float32)


def int8_program(path: Path, xs: np.ndarray):  # -> Program
    loaded = load_model(path)
    gm = capture(loaded, [xs[:1]])
    return lower_graph(quantize_model(gm, [(torch.from_numpy(x[None]),) for x in xs[:N_CALIB]]), name="q")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exported_zoo_model(tmp_path: Path, seed: int) -> None:
    model = RandomCNN(seed)
    shape = model.input_shape()
    path = export_onnx(model, shape, tmp_path / "m.onnx")
    assert detect_format(path) == "onnx"
    xs = samples(shape, seed)

    loaded = load_model(path)
    assert loaded.format == "onnx" and loaded.exported is not None
    user = torch.export.graph_signature.InputKind.USER_INPUT
    assert [s.arg.name for s in loaded.exported.graph_signature.input_specs if s.kind == user] == ["image"]

    gm = capture(loaded, [xs[:1]])
    float_prog = lower_graph(copy.deepcopy(gm), name="f")
    outs = []
    for x in xs[N_CALIB:]:
        want = ort_run(path, {"image": x[None]})[0]
        got = run_native(float_prog, [x[None]])[0].reshape(want.shape)
        assert np.abs(got - want).max() <= FLOAT_REL * max(1.0, float(np.abs(want).max()))
        outs.append(got)
    assert np.abs(outs[0] - outs[1]).max() > 1e-3, "the output does not depend on the input"

    qprog = lower_graph(quantize_model(gm, [(torch.from_numpy(x[None]),) for x in xs[:N_CALIB]]), name="q")
    for x in xs[N_CALIB:]:
        want = ort_run(path, {"image": x[None]})[0]
        got = run_native(qprog, [x[None]])[0].reshape(want.shape)
        assert cosine(got, want) >= MIN_COSINE
        assert got.argmax() == want.argmax()


def test_qdq_file_requantized(tmp_path: Path) -> None:
    model = RandomCNN(0)
    shape = model.input_shape()
    xs = samples(shape, 0)
    qdq = quantize_with_ort(
        export_onnx(model, shape, tmp_path / "m.onnx"), tmp_path / "qdq.onnx", xs[:N_CALIB], "qdq"
    )
    loaded = load_model(qdq)
    assert len(loaded.notes) == 1 and "scales were not used" in loaded.notes[0]
    qprog = int8_program(qdq, xs)
    for x in xs[N_CALIB:]:
        want = ort_run(qdq, {"image": x[None]})[0]
        got = run_native(qprog, [x[None]])[0].reshape(want.shape)
        assert cosine(got, want) >= MIN_COSINE
        assert got.argmax() == want.argmax()


def test_qoperator_file_refused(tmp_path: Path) -> None:
    model = RandomCNN(0)
    shape = model.input_shape()
    qop = quantize_with_ort(
        export_onnx(model, shape, tmp_path / "m.onnx"),
        tmp_path / "qop.onnx",
        samples(shape, 0)[:4],
        "qoperator",
    )
    with pytest.raises(EdgebuildError, match="QOperator-format quantized ONNX model .*QLinearConv") as e:
        load_model(qop)
    assert "\n" not in str(e.value)


def test_dynamic_dims_need_a_shape(tmp_path: Path) -> None:
    model = RandomCNN(3)  # global pooling: any spatial size
    assert model.global_pool
    dyn = {"image": {0: "batch", 2: "height", 3: "width"}}
    path = export_onnx(model, model.input_shape(), tmp_path / "dyn.onnx", dynamic=dyn)
    with pytest.raises(
        EdgebuildError, match=r"input 'image' has dynamic dimensions \[batch, 1, height, width\]"
    ):
        load_model(path)
    loaded = load_model(path, input_shape="1,1,20,24")
    assert loaded.exported is not None
    ph = next(n for n in loaded.exported.graph.nodes if n.op == "placeholder" and n.name == "image")
    assert tuple(ph.meta["val"].shape) == (1, 1, 20, 24)
    x = np.random.default_rng(0).standard_normal((1, 1, 20, 24)).astype(np.float32)
    got = loaded.exported.module()(torch.from_numpy(x)).detach().numpy()
    want = ort_run(path, {"image": x})[0]
    assert np.abs(got - want).max() <= FLOAT_REL * max(1.0, float(np.abs(want).max()))


def test_exported_resnet18_float(tmp_path: Path) -> None:
    """tests/cnn_models.py's ResNet-18 (torchvision's layer layout, BatchNorm folded by the exporter, residual Adds,
    max pooling, Flatten + Gemm) at 32 px and width 0.25: the float program within 1e-4 relative of ONNX Runtime
    (K <= 3·3·128 = 1152 terms: ~7e-5 of the terms' scale). (The zoo's random-weight MobileNetV2 is not used: its
    output does not depend on its input, in PyTorch too.)"""
    from tests import cnn_models

    arch = "resnet18"
    model, shape = cnn_models.resnet18(resolution=32, width=0.25)
    path = export_onnx(model, shape, tmp_path / f"{arch}.onnx")
    xs = samples(shape, 0)[:2]
    prog = lower_graph(capture(load_model(path), [xs[:1]]), name=arch)
    outs = []
    for x in xs:
        want = ort_run(path, {"image": x[None]})[0]
        got = run_native(prog, [x[None]])[0].reshape(want.shape)
        assert np.abs(got - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
        outs.append(got)
    assert np.abs(outs[0] - outs[1]).max() > 1e-4, "the output does not depend on the input"


def test_converter_refusal_names_the_op(tmp_path: Path) -> None:
    """An attribute onnx2torch's converter does not implement (Reshape allowzero=1) is refused on one line naming
    the op, its opset and the node."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"], allowzero=1, name="reshape_1")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 24])],
        initializer=[helper.make_tensor("shape", TensorProto.INT64, [2], [1, 24])],
    )
    path = tmp_path / "allowzero.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), path)
    with pytest.raises(
        EdgebuildError, match=r'the ONNX op Reshape \(opset 14, node "reshape_1"\): .*allowzero'
    ) as e:
        load_model(path)
    assert "\n" not in str(e.value)


def test_batchnorm_nodes_use_running_statistics(tmp_path: Path) -> None:
    """BatchNormalization nodes (as paddle2onnx and unfolded exports leave them) convert with their running
    statistics: the converted program matches ONNX Runtime within the float bound on a single sample (batch
    statistics of one sample would not)."""
    import onnx

    from tests import cnn_models

    model, shape = cnn_models.resnet18(resolution=32, width=0.25)
    path = export_onnx(model, shape, tmp_path / "bn.onnx", fold=False)
    assert any(n.op_type == "BatchNormalization" for n in onnx.load(str(path)).graph.node)
    x = samples(shape, 0)[:1]
    want = ort_run(path, {"image": x})[0]
    got = load_model(path).exported.module()(torch.from_numpy(x)).detach().numpy()  # type: ignore[union-attr]
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
