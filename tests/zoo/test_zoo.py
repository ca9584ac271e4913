"""The CNN zoo (tests/zoo/models.py) end to end: structure, agreement with PT2E's q/dq reference, and the same bytes
on every target.

Agreement with PT2E (the issue's "int8 within stated tolerance of PT2E's reference"), on 4 held-out inputs:
- op by op, every lowered op fed our int8 inputs is within 1 LSB of the reference op, and the table and value-moving
  ops are exact (tests/lower/test_cnn_ops_vs_pt2e.py states why);
- end to end, every output within 2 LSB of its own scale, and at most 0.5 LSB on average. Measured (02:25 UTC, this
  machine): max 1 LSB for all six models; mean 0.0 (ShuffleNetV2, SqueezeNet) to 0.43 (ResNet-18, 10 outputs x 4
  inputs: a 1-LSB difference carried from an early layer shows up in many logits of a small head).

Cross-target: the artifact's outputs are byte-identical in the host extension, the host runner and the arm64 and
armv7 runners under qemu for every zoo model; TinyYolo additionally goes through the whole `edgebuild build` for each
target (bundle, runner, smoke run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebuild.ir import OpCode
from edgebuild.pipeline import BuildOptions, build
from edgebuild.plan import plan_arena
from edgebuild.run import run_runner
from edgebuild.serialize import write_artifact
from edgebuild.targets import load_target
from tests.conftest import TARGETS
from tests.helpers import Quantized, op_by_op, quantize_and_lower, run_native
from tests.interop.ort import session
from tests.interop.test_onnx import FUSED
from tests.lower.test_cnn_ops_vs_pt2e import EXACT
from tests.models import calibration
from tests.zoo.models import ZOO, make

# The ops each model must lower to (structure before numbers): a missing one means a pattern fell off the int8 path.
EXPECTED = {
    "mobilenet_v2": {"CONV2D", "DEPTHWISE_CONV2D", "ADD", "AVG_POOL2D", "FULLY_CONNECTED"},
    "mobilenet_v3_small": {
        "CONV2D",
        "DEPTHWISE_CONV2D",
        "UNARY",
        "MUL",
        "ADD",
        "AVG_POOL2D",
        "FULLY_CONNECTED",
    },
    "resnet18": {"CONV2D", "ADD", "MAX_POOL2D", "AVG_POOL2D", "FULLY_CONNECTED"},
    "shufflenet_v2": {
        "CONV2D",
        "DEPTHWISE_CONV2D",
        "SLICE",
        "CONCAT",
        "TRANSPOSE",
        "AVG_POOL2D",
        "FULLY_CONNECTED",
    },
    "squeezenet": {"CONV2D", "CONCAT", "MAX_POOL2D", "AVG_POOL2D"},
    "tiny_yolo": {"CONV2D", "UNARY", "RESIZE", "CONCAT", "MAX_POOL2D"},
}
CALIBRATION_SAMPLES = 4  # PT2E's HistogramObserver costs ~1 s per sample on these models; 4 keep CI fast
MAX_LSB, MEAN_LSB = 2, 0.5


@pytest.fixture(scope="session")
def zoo() -> Callable[[str], Quantized]:
    done: dict[str, Quantized] = {}

    def get(name: str) -> Quantized:
        if name not in done:
            shape = ZOO[name][1]
            done[name] = quantize_and_lower(make(name), calibration(shape, CALIBRATION_SAMPLES), name)
        return done[name]

    return get


def outputs_of(q: Quantized, x: torch.Tensor) -> list[np.ndarray]:
    out = q.qgm(x)
    return [o.detach().numpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_vs_pt2e(name: str, zoo: Callable[[str], Quantized]) -> None:
    q = zoo(name)
    counts = q.program.op_counts()
    assert EXPECTED[name] <= set(counts), counts
    ref_outputs = outputs_of(q, calibration(ZOO[name][1], 1)[0])
    assert counts["DEQUANTIZE"] == len(ref_outputs) == len(q.program.outputs)
    scales = [q.program.tensors[op.inputs[0]].scale for op in q.program.ops if op.opcode == OpCode.DEQUANTIZE]
    diffs = []
    for i, x in enumerate(calibration(ZOO[name][1], 4, seed=123)):
        ours = run_native(q.program, [x.numpy()])
        for ref, got, s in zip(outputs_of(q, x), ours, scales):
            assert ref.shape == got.shape
            diffs.append(np.rint(np.abs(ref - got) / s).ravel())
        if i == 0:  # op by op on one input (it runs every op's reference once more)
            checks = op_by_op(q, x.numpy())
            assert len(checks) >= sum(
                counts.get(k, 0) for k in ("CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED", "UNARY", "MUL")
            )
            bad = [c for c in checks if c.max_lsb > (0 if c.aten in EXACT else 1)]
            assert not bad, bad
    d = np.concatenate(diffs)
    assert d.max() <= MAX_LSB and d.mean() <= MEAN_LSB, (d.max(), d.mean())


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_bit_identical_across_targets(
    name: str, zoo: Callable[[str], Quantized], runner_for: Callable[[str], Path], tmp_path: Path
) -> None:
    """One artifact, four executors (host extension; host, arm64 and armv7 runners, the ARM ones under qemu)."""
    q = zoo(name)
    program = q.program
    plan_arena(program)
    artifact = tmp_path / "model.ebm"
    write_artifact(program, artifact)
    x = calibration(ZOO[name][1], 1, seed=5)[0].numpy()
    first = [o.tobytes() for o in run_native(program, [x])]
    xin = tmp_path / "x.npy"
    np.save(xin, x)
    for target in TARGETS:
        outs = [tmp_path / f"{target}-y{k}.npy" for k in range(len(program.outputs))]
        doc = run_runner(load_target(target), runner_for(target), artifact, [xin], outs)
        assert doc["status"] == "ok"
        assert [np.load(o).tobytes() for o in outs] == first, f"{target} differs from the host extension"


def test_tiny_yolo_builds_for_every_target(tmp_path: Path) -> None:
    """The whole `edgebuild build` (export archive -> bundle with runner, smoke run on the target) per target, for
    the two-output detector; then the bundles' outputs byte-compared across targets."""
    name = "tiny_yolo"
    shape = ZOO[name][1]
    model = make(name)
    model_path = tmp_path / "tiny_yolo.pt"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), model_path)
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=torch.cat(calibration(shape, CALIBRATION_SAMPLES)).numpy())
    bundles = {t: build(BuildOptions(model_path, t, calib=calib, out=tmp_path / f"b-{t}")) for t in TARGETS}
    for t, b in bundles.items():
        assert b.report["smoke_run"]["bit_identical_to_host"] is True, t
        assert "RESIZE" in b.program.op_counts()
    x = calibration(shape, 1, seed=3)[0].numpy()
    xin = tmp_path / "x.npy"
    np.save(xin, x)
    first = [o.tobytes() for o in run_native(bundles["host"].program, [x])]
    assert len(first) == 2
    for t, b in bundles.items():
        outs = [tmp_path / f"{t}-y{k}.npy" for k in range(len(first))]
        doc = run_runner(load_target(t), b.out / "edgebuild-run", b.out / "model.ebm", [xin], outs)
        assert doc["status"] == "ok"
        assert [np.load(o).tobytes() for o in outs] == first, f"{t} bundle differs from the host extension"


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("name", ["mobilenet_v3_small", "shufflenet_v2", "tiny_yolo"])
def test_zoo_onnx(name: str, fused: bool, zoo: Callable[[str], Quantized]) -> None:
    """ONNX (QDQ) export of the zoo models with the new ops, run in onnxruntime (unfused, and fused where its int8
    kernels are exact: tests/interop/ort.py): within tests/interop/test_onnx.py's 2 LSB of edgebuild's outputs
    (onnxruntime computes the functions and resize in float and requantizes)."""
    from edgebuild.export.onnx import export_onnx
    from edgebuild.serialize import artifact_bytes, read_artifact

    q = zoo(name)
    sess = session(export_onnx(read_artifact(artifact_bytes(q.program))), fused)
    scales = [q.program.tensors[op.inputs[0]].scale for op in q.program.ops if op.opcode == OpCode.DEQUANTIZE]
    for x in calibration(ZOO[name][1], 2, seed=77):
        ours = run_native(q.program, [x.numpy()])
        theirs = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
        for o, t, s in zip(ours, theirs, scales):
            assert np.abs(o - t).max() / s <= 2 + 1e-4, (name, np.abs(o - t).max() / s)
