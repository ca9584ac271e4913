"""silero-vad's packaged ONNX files (PyPI `silero-vad`), built as a user builds them and run against ONNX Runtime.

`silero_vad_openvino_16k.onnx` (16 kHz, static shapes: 576 samples = 64 of context + 512 new, state [2, 1, 128];
STFT as a Conv1d, four Conv1d + ReLU, an LSTM cell, a Conv1d head + Sigmoid) builds; the inputs are a synthetic
16 kHz stream (voiced bursts, then noise) fed chunk by chunk, each chunk with the state ONNX Runtime returned for the
previous one, as silero-vad's iterator does. Calibration on the even chunks, figures on the odd ones.

Bounds:
- float (the graph lowered without quantization, host extension and the arm64 runner under qemu): every output within
  1e-5 of ONNX Runtime. float32 both ways; the largest sums are the 258-tap STFT and the 129x3 and 128x3 convolutions
  (K <= 387: ~2.3e-5·Σ|terms| at worst, Σ|terms| ~0.1 for the small signal) and the LSTM's 256-term gates; the
  outputs are bounded (sigmoid, |state| < 2). Measured 3e-6.
- int8 (`edgebuild` build for host and arm64; arm64's smoke run is bit-identical to the host), with the STFT
  magnitude (sqrt(re² + im²), `--float-layers` below) kept float: the speech probability within 0.15 of ONNX Runtime
  (measured 0.095), and the speech / no-speech decision at silero's default threshold 0.5 the same for every chunk
  whose probability is more than 0.15 from it. Fully int8, the power spectrum's dynamic range does not fit one
  per-tensor int8 scale: quiet chunks all read as the same spectrum and the probability is off by up to 0.9.

`silero_vad.onnx` (the default file) chooses the 8 kHz or 16 kHz network with an If on the sample-rate input: the
branch is not known at build time, and the build is refused naming If.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from edgebuild.capture import capture
from edgebuild.errors import EdgebuildError
from edgebuild.load import load_model
from edgebuild.lower import lower_graph
from edgebuild.pipeline import BuildOptions, build, native_model
from edgebuild.run import run_runner
from edgebuild.serialize import artifact_bytes
from edgebuild.targets import load_target
from tests.helpers import run_native
from tests.onnx_in.onnx_files import SILERO_IF_FILE, ort_session, silero_path, silero_stream

FLOAT_ATOL = 1e-5
PROB_ERR = 0.15
THRESHOLD = 0.5
N = 32
_STFT = (
    "onnx.F0::If_0_then_branch__Inline_0__/stft/"  # module paths: onnx2torch names modules after ONNX nodes
)
FLOAT_LAYERS = tuple(_STFT + op for op in ("Pow", "Pow_1", "Add", "Sqrt"))


@pytest.fixture(scope="module")
def stream() -> tuple[list[dict[str, np.ndarray]], list[list[np.ndarray]]]:
    feeds = silero_stream(N)
    sess = ort_session(silero_path())
    return feeds, [[np.asarray(o) for o in sess.run(None, f)] for f in feeds]


def edgebuild_inputs(feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The state [2, 1, 128] gets a leading batch axis (edgebuild's data count samples along dim 0)."""
    return [feed["input"], feed["state"][None]]


def test_float_matches_onnxruntime_on_host_and_arm64(stream, tmp_path: Path, runner_for) -> None:
    feeds, want = stream
    loaded = load_model(silero_path())
    assert loaded.format == "onnx"
    prog = lower_graph(copy.deepcopy(capture(loaded, edgebuild_inputs(feeds[0]))), name="silero")
    probs = []
    for feed, ref in zip(feeds, want):
        got = run_native(prog, edgebuild_inputs(feed))
        assert len(got) == 2
        for g, r in zip(got, ref):
            assert np.abs(g.reshape(r.shape) - r).max() <= FLOAT_ATOL
        probs.append(float(got[0].ravel()[0]))
    assert max(probs) > 0.9 and min(probs) < 0.1, f"the stream should hold speech and silence: {probs}"

    artifact = tmp_path / "silero.ebm"
    artifact.write_bytes(artifact_bytes(prog))
    for k in (1, 6):  # a voiced chunk, and one with a carried state
        ins = []
        for i, x in enumerate(edgebuild_inputs(feeds[k])):
            ins.append(tmp_path / f"x{i}.npy")
            np.save(ins[-1], x)
        outs = [tmp_path / "y0.npy", tmp_path / "y1.npy"]
        doc = run_runner(load_target("arm64"), runner_for("arm64"), artifact, ins, outs)
        assert doc.get("status") == "ok", doc
        for o, r in zip(outs, want[k]):
            assert np.abs(np.load(o).reshape(r.shape) - r).max() <= FLOAT_ATOL


@pytest.mark.parametrize("target", ["host", "arm64"])
def test_int8_build(stream, tmp_path: Path, target: str) -> None:
    feeds, want = stream
    calib = tmp_path / "calib.npz"
    np.savez(
        calib,
        input=np.concatenate([f["input"] for f in feeds[0::2]]),
        state=np.stack([f["state"] for f in feeds[0::2]]),
    )
    opts = BuildOptions(
        model=silero_path(), target=target, calib=calib, out=tmp_path / "bundle", float_layers=FLOAT_LAYERS
    )
    result = build(opts)
    assert "aten.sqrt.default" in {f["op"] for f in result.report["float_ops"]}, result.report["float_ops"]
    assert result.report["model"]["format"] == "onnx"
    assert result.report["smoke_run"]["bit_identical_to_host"] is True
    model = native_model((result.out / "model.ebm").read_bytes())
    for feed, ref in zip(feeds[1::2], want[1::2]):
        p = float(np.asarray(model.run(edgebuild_inputs(feed))[0]).ravel()[0])
        p_ref = float(ref[0].ravel()[0])
        assert abs(p - p_ref) <= PROB_ERR, (p, p_ref)
        if abs(p_ref - THRESHOLD) > PROB_ERR:
            assert (p > THRESHOLD) == (p_ref > THRESHOLD)


def test_if_on_an_input_is_refused(tmp_path: Path) -> None:
    path = silero_path(SILERO_IF_FILE)  # input [?, ?]: the calibration data gives the chunk length
    calib = tmp_path / "calib.npz"
    np.savez(
        calib,
        input=np.zeros((2, 512), np.float32),
        state=np.zeros((2, 2, 1, 128), np.float32),
        sr=[16000] * 2,
    )
    with pytest.raises(EdgebuildError, match=r"ONNX op\(s\) edgebuild cannot convert: If \(opset 16\)") as e:
        load_model(path, calib=calib)
    assert "\n" not in str(e.value)
