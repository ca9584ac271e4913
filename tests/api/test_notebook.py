"""The Python API as a notebook uses it (issue 20, "Done means"): a module held in memory is built for host and arm64,
run, profiled and exported, and nothing is written where the caller is. A CNN defined here, and a Hugging Face
`transformers` BERT built from a small config (tests/zoo/hf_text.py's "bert": random seeded weights, no download).

Tolerances: the CNN's int8 outputs stay within 3% of the float output's largest magnitude on held-out samples (two
int8 conv layers and a linear one each add rounding of ~1/256 of their range; measured: 0.5%); BERT's cosine
similarity to float is at least the zoo's bound, 0.99 (tests/zoo/test_hf_zoo.py; measured 0.998). The host and
arm64 runners agree bit for bit (DESIGN.md: every ISA gives the reference kernel's bytes).
"""

from __future__ import annotations

import copy
import gc
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import edgebuild
from tests.api.conftest import make_cnn, samples
from tests.interop.litert import run_litert
from tests.zoo.hf_models import HF_ZOO, instantiate

CNN_TOLERANCE = 0.03  # of max |float output|
MIN_COSINE = 0.99


def _float(model: torch.nn.Module, *inputs: np.ndarray) -> np.ndarray:
    ref = copy.deepcopy(model).eval()
    with torch.no_grad():
        return ref(*(torch.from_numpy(x) for x in inputs)).numpy()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cnn_in_memory_host_and_arm64(empty_cwd: Path) -> None:
    model = make_cnn()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    calib, held_out = samples(32), samples(4, seed=7)
    example = (torch.from_numpy(calib[:1]),)

    host = edgebuild.build(model, example_inputs=example, calib=calib, target="host")
    arm = edgebuild.build(model, example, calib, target="arm64")

    # the caller's module is left as it was: training mode, same weights and BatchNorm statistics
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert host.target == "host" and arm.target == "arm64"
    assert (
        host.report["model"]["name"] == "SmallCNN"
        and host.report["model"]["format"] == "nn.Module (in memory)"
    )
    assert host.report["smoke_run"]["bit_identical_to_host"] and arm.report["smoke_run"]["emulated"]
    assert "SmallCNN" in repr(host) and "arm64" in repr(arm) and "int8 vs float" in host.summary()

    for i in range(len(held_out)):
        x = held_out[i]  # without its batch dimension; run() takes both
        (h,) = host.run(x)
        (a,) = arm.run(torch.from_numpy(held_out[i : i + 1]))
        assert h.shape == (1, 10) and h.dtype == np.float32
        assert h.tobytes() == a.tobytes(), f"sample {i}: host and arm64 outputs differ"
        ref = _float(model, held_out[i : i + 1])
        err = float(np.abs(h - ref).max())
        assert err <= CNN_TOLERANCE * float(np.abs(ref).max()), (i, err, float(np.abs(ref).max()))

    # threads: the same bytes on one thread and on three (on the host and under qemu)
    one = [b.run(held_out[0], threads=1)[0].tobytes() for b in (host, arm)]
    assert one == [b.run(held_out[0], threads=3)[0].tobytes() for b in (host, arm)]
    profile = host.profile(warmup=1, iterations=3, threads=2)
    assert profile["latency_ms"]["median"] > 0 and profile["latency_ms"]["iterations"] == 3
    assert profile["device"]["threads"] == 2
    assert len(profile["ops"]) == sum(host.report["ops"].values())

    tflite, onnx = host.export("tflite"), host.export("onnx")
    assert tflite == host.path / "model.tflite" and onnx == host.path / "model.onnx"
    x = held_out[:1]
    (ours,) = host.run(x)
    # LiteRT's reference kernels compute TFLite's int8 arithmetic: the same bytes (DESIGN.md)
    (lite,) = run_litert(tflite.read_bytes(), [x], "reference")
    assert lite.tobytes() == ours.tobytes()
    session = ort.InferenceSession(onnx.read_bytes(), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    ref = _float(model, x)
    assert float(np.abs(onnx_out - ref).max()) <= CNN_TOLERANCE * float(np.abs(ref).max())

    # out=None: the bundles live in temporary directories the Bundle objects own, gone with them
    paths = [host.path, arm.path]
    kept = host.save(Path(tempfile.gettempdir()) / "kept")
    assert edgebuild.load_bundle(kept.path).run(x)[0].tobytes() == ours.tobytes()
    del host, arm
    gc.collect()
    assert not any(p.exists() for p in paths) and kept.path.is_dir()


def test_transformers_bert_in_memory_host_and_arm64(empty_cwd: Path) -> None:
    entry = HF_ZOO["bert"]
    model = instantiate(entry)
    (ids,) = entry.sample(np.random.default_rng(0), 20)
    calib, held_out = {"input_ids": ids[:16]}, ids[16:]
    # no example_inputs: the module is exported at the first calibration sample's shape
    host = edgebuild.build(model, calib=calib, target="host", smoke=False)
    arm = edgebuild.build(model, calib=calib, target="arm64", smoke=False)
    assert host.report["model"]["inputs"] == [{"name": "input_ids", "shape": [1, ids.shape[1]]}]
    for i in range(len(held_out)):
        (h,) = host.run(held_out[i])
        (a,) = arm.run(held_out[i])
        assert h.tobytes() == a.tobytes(), f"sample {i}: host and arm64 outputs differ"
        cos = _cosine(h, _float(model, held_out[i : i + 1]))
        assert cos >= MIN_COSINE, (i, cos)
