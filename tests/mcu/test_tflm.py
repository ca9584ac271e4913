"""TFLite Micro's reference kernels agree with edgebuild's, bit for bit, on the exported .tflite (issue 18).

The four MLPerf Tiny models (tests/tiny_models.py), the digits example and three random CNNs are built for host,
exported with int8 inputs and outputs, and run on the same int8 inputs in TFLM's interpreter (the tflite-micro
wheel) and in edgebuild's host runtime: the int8 outputs must be byte-identical. TFLM's arena on each named model
is recorded (printed with -s; bench/mcu.py tabulates it beside our peak RAM).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebuild import api
from tests.mcu.tflm import HostInt8, run_tflm, tflm_arena, tflm_runs
from tests.models import RandomCNN, calibration
from tests.tiny_models import TINY_MODELS, tiny_model

# The wheel is x86_64 only (pyproject's test extra installs it there); anywhere else a missing wheel is a skip, on
# x86_64 a failure.
pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="tflite-micro has x86_64 wheels only")

DIGITS = Path("examples/digits")
MODELS = (*TINY_MODELS, "digits")
# Random CNNs (tests/models.py) with ops the five above lack (MAX_POOL2D, CONCAT, TRANSPOSE) and ADD after depthwise
RANDOM = ("random1", "random7", "random8")
SAMPLES = 4


@dataclass
class Built:
    host: HostInt8
    tflite: bytes
    shape: tuple[int, ...]


def build_tiny(name: str, out: Path) -> Built:
    """Build `name` for host (smoke run off: the host runtime runs it here) and export its int8-I/O .tflite."""
    shape: tuple[int, ...]
    if name.startswith("random"):
        cnn = RandomCNN(int(name.removeprefix("random"))).eval()
        shape = cnn.input_shape()
        bundle = api.build(cnn, calib=calibration(shape, 8), out=out, smoke=False)
    elif name == "digits":
        bundle = api.build(DIGITS / "model.pt", calib=DIGITS / "calib.npz", out=out, smoke=False)
        shape = (1, *np.load(DIGITS / "calib.npz")["x"].shape[1:])
    else:
        model, shape = tiny_model(name)
        g = torch.Generator().manual_seed(0)
        calib = [torch.randn(shape, generator=g) for _ in range(8)]
        bundle = api.build(model, calib=calib, out=out, smoke=False)
    tflite = bundle.export("tflite", io="int8", out=out / "model.tflite").read_bytes()
    return Built(HostInt8.load(bundle.artifact), tflite, tuple(shape))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    root = tmp_path_factory.mktemp("tflm")
    return {name: build_tiny(name, root / name) for name in (*MODELS, *RANDOM)}


def int8_inputs(shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Full-range int8 codes (-128 and 127 included), plus one sample of all -128 (the clamp's corner)."""
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(SAMPLES - 1)]
    return [*xs, np.full(shape, -128, np.int8)]


@pytest.mark.parametrize("name", (*MODELS, *RANDOM))
def test_tflm_bit_identical(built: dict[str, Built], name: str) -> None:
    b = built[name]
    xs = int8_inputs(b.shape, seed=sum(map(ord, name)))
    ours = [b.host.run(x) for x in xs]
    theirs = run_tflm(b.tflite, xs)
    for i, (a, t) in enumerate(zip(ours, theirs)):
        assert a.dtype == t.dtype == np.int8 and a.shape == t.shape, (name, i, a.shape, t.shape)
        assert a.tobytes() == t.tobytes(), f"{name} sample {i}: ours {a.ravel()[:12]} TFLM {t.ravel()[:12]}"
    # The outputs depend on the input (a test that cannot fail would pass on a constant model too).
    assert len({a.tobytes() for a in ours}) > 1, f"{name}: every input gave the same output"


@pytest.mark.parametrize("name", MODELS)
def test_tflm_arena(built: dict[str, Built], name: str) -> None:
    """TFLM's arena: the recorded head (activations) and tail (persistent data), and the smallest arena_size
    that still runs, found by bisection: at least the recorded total, and 16 bytes less fails."""
    b = built[name]
    x = int8_inputs(b.shape, seed=1)[0]
    a = tflm_arena(b.tflite, x)
    print(f"TFLM arena {name}: head {a.head} tail {a.tail} total {a.total} smallest {a.smallest}")
    assert a.head > 0 and a.tail > 0 and a.total == a.head + a.tail
    assert a.total <= a.smallest
    # The smallest working arena gives the same output as a generous one.
    assert run_tflm(b.tflite, [x], a.smallest)[0].tobytes() == run_tflm(b.tflite, [x])[0].tobytes()
    assert not tflm_runs(b.tflite, x, a.smallest - 16)
