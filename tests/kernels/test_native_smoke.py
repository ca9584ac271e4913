"""The native side's own contract: the pybind11 API, load errors and their messages, and the runner's CLI and JSON."""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from edgebuild import _native
from edgebuild.ir import DType, Layout, Op, OpCode, Program, Tensor
from edgebuild.plan import plan_arena
from edgebuild.qmath import f32_bits, inv_scale_f32
from edgebuild.serialize import artifact_bytes


def small_program(weight_shape: tuple[int, ...] = (4, 3, 3, 1)) -> Program:
    """x f32 [1,2,6,6] -> QUANTIZE (NCHW->NHWC) -> grouped CONV2D (G=2) -> MAX_POOL2D -> DEQUANTIZE (->NCHW)."""
    rng = np.random.default_rng(0)
    p = Program()
    x = p.add_tensor(Tensor("x", DType.FLOAT32, (1, 2, 6, 6)))
    xq = p.add_tensor(Tensor("x.q", DType.INT8, (1, 6, 6, 2), 0.05, -3, Layout.NHWC))
    w = p.add_constant("conv.weight", rng.integers(-127, 128, weight_shape), DType.INT8)
    b = p.add_constant("conv.bias", rng.integers(-500, 500, 4), DType.INT32)
    m = p.add_constant("conv.mult", rng.integers(2**30, 2**31, 4), DType.INT32)
    s = p.add_constant("conv.shift", np.full(4, -7), DType.INT32)
    c = p.add_tensor(Tensor("conv", DType.INT8, (1, 6, 6, 4), 0.1, 5, Layout.NHWC))
    mp = p.add_tensor(Tensor("pool", DType.INT8, (1, 3, 3, 4), 0.1, 5, Layout.NHWC))
    y = p.add_tensor(Tensor("y", DType.FLOAT32, (1, 4, 3, 3)))
    p.add_op(Op(OpCode.QUANTIZE, "quantize", [x], [xq], [1, f32_bits(inv_scale_f32(0.05))]))
    p.add_op(Op(OpCode.CONV2D, "conv1", [xq, w, b, m, s], [c], [1, 1, 1, 1, 1, 1, 1, 1, 2, -128, 127]))
    p.add_op(Op(OpCode.MAX_POOL2D, "pool1", [c], [mp], [2, 2, 2, 2, 0, 0, 1, 1, -128, 127]))
    p.add_op(Op(OpCode.DEQUANTIZE, "dequantize", [mp], [y], [1]))
    p.inputs, p.outputs = [x], [y]
    plan_arena(p, reuse=False)
    return p


@pytest.fixture(scope="module")
def artifact() -> bytes:
    return artifact_bytes(small_program())


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(1).normal(0, 2, (1, 2, 6, 6)).astype(np.float32)


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def reseal(data: bytearray) -> bytes:
    """Recompute the header CRC after an edit, so the structural checks (not the checksum) see it."""
    struct.pack_into("<I", data, 20, zlib.crc32(bytes(data[32:])) & 0xFFFFFFFF)
    return bytes(data)


def test_binding_api(artifact: bytes, x: np.ndarray) -> None:
    m = _native.Model.from_bytes(artifact)
    assert [(i["name"], i["shape"], i["dtype"]) for i in m.inputs] == [("x", (1, 2, 6, 6), "float32")]
    assert [(o["name"], o["shape"], o["dtype"]) for o in m.outputs] == [("y", (1, 4, 3, 3), "float32")]
    assert m.num_ops == 4
    assert m.op_info(1)["type"] == "CONV2D" and m.op_info(1)["name"] == "conv1"
    (y,) = m.run([x])
    assert y.dtype == np.float32 and y.shape == (1, 4, 3, 3)
    # Intermediates by tensor id, with their dtype and shape: the pool output dequantized is the graph output.
    pool_id = m.op_info(2)["outputs"][0]
    pool = m.tensor(pool_id)
    assert pool.dtype == np.int8 and pool.shape == (1, 3, 3, 4)
    assert np.array_equal(y, ((pool.astype(np.float32) - 5) * np.float32(0.1)).transpose(0, 3, 1, 2))
    assert m.tracked_bytes >= m.arena_bytes > 0
    assert m.weights_bytes == 4 * 9 + 3 * 4 * 4
    m.profiling = True
    m.run([x])
    assert len(m.op_times_ns()) == 4 and all(t >= 0 for t in m.op_times_ns())
    # Same results from a file, a bytearray (copied) and repeated runs.
    assert np.array_equal(_native.Model.from_bytes(bytearray(artifact)).run([x])[0], y)
    assert np.array_equal(m.run([x])[0], y)


def test_run_checks_inputs(artifact: bytes) -> None:
    m = _native.Model.from_bytes(artifact)
    with pytest.raises(
        ValueError,
        match=r"input 0 \('x'\) has shape \(1, 1, 6, 6\) but the model expects "
        r"\(1, 2, 6, 6\)",
    ):
        m.run([np.zeros((1, 1, 6, 6), np.float32)])
    with pytest.raises(ValueError, match="1 input"):
        m.run([])
    with pytest.raises(ValueError, match="EB_ERR_ARGUMENT"):
        m.tensor(10_000)


def test_load_errors_name_their_cause(artifact: bytes, tmp_path: Path) -> None:
    def load_error(data: bytes) -> str:
        with pytest.raises(_native.LoadError) as e:
            _native.Model.from_bytes(data)
        assert isinstance(e.value, ValueError)
        return str(e.value)

    assert load_error(artifact[:100]).startswith("EB_ERR_FORMAT: header says file_size")
    assert load_error(b"not a model" * 4).startswith("EB_ERR_FORMAT: bad magic")
    v2 = bytearray(artifact)
    struct.pack_into("<H", v2, 8, 2)
    assert load_error(bytes(v2)).startswith("EB_ERR_VERSION")
    flipped = bytearray(artifact)
    flipped[-1] ^= 0x10
    assert load_error(bytes(flipped)).startswith("EB_ERR_CHECKSUM")
    with pytest.raises(_native.LoadError, match="EB_ERR_IO"):
        _native.Model(tmp_path / "missing.ebm")

    unknown = small_program()
    unknown.ops[2].opcode = 99  # type: ignore[assignment]  # an opcode from a newer format minor
    assert load_error(artifact_bytes(unknown)).startswith(
        "EB_ERR_UNSUPPORTED: op 2 ('pool1'): unknown opcode 99"
    )

    bad_weight = artifact_bytes(small_program(weight_shape=(4, 3, 3, 2)))
    assert load_error(bad_weight) == (
        "EB_ERR_FORMAT: op 1 (CONV2D 'conv1'): weight dims [4,3,3,2] do not match input channels 2 / groups 2"
    )


def test_structural_checks_without_the_checksum(artifact: bytes) -> None:
    """Edits with a recomputed CRC reach the per-op checks; each must be an error, never a crash."""
    program = small_program()
    program.ops[1].params[8] = 3  # groups that do not divide the channels
    with pytest.raises(_native.LoadError, match="multiples of groups 3"):
        _native.Model.from_bytes(artifact_bytes(program))
    rng = np.random.default_rng(2)
    for pos in rng.choice(np.arange(32, len(artifact)), size=300, replace=False):
        data = bytearray(artifact)
        data[pos] ^= 1 << int(rng.integers(8))
        try:
            _native.Model.from_bytes(reseal(data)).run([np.zeros((1, 2, 6, 6), np.float32)])
        except ValueError:
            pass


def test_runner_json_contract(runner_for, artifact: bytes, x: np.ndarray, tmp_path: Path) -> None:
    model, inp, out = tmp_path / "m.ebm", tmp_path / "x.npy", tmp_path / "y.npy"
    model.write_bytes(artifact)
    np.save(inp, x)
    done = subprocess.run(
        [
            runner_for("host"),
            model,
            "--input",
            inp,
            "--output",
            out,
            "--warmup",
            "2",
            "--iterations",
            "5",
            "--profile",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert (doc["status"], doc["runner"], doc["version"]) == ("ok", "edgebuild-run", 1)
    lat = doc["latency_ms"]
    assert (lat["warmup"], lat["iterations"]) == (2, 5)
    assert 0 <= lat["min"] <= lat["median"] <= lat["p90"] <= lat["max"]
    expected = _native.Model.from_bytes(artifact).run([x])[0]
    assert np.load(out).tobytes() == expected.tobytes()
    assert doc["outputs"] == [{"name": "y", "shape": [1, 4, 3, 3], "fnv1a64": fnv1a64(expected.tobytes())}]
    mem = doc["memory"]
    assert mem["arena_bytes"] > 0 and mem["tracked_bytes"] > mem["arena_bytes"]
    assert mem["peak_rss_delta_kb"] == mem["rss_peak_kb"] - mem["rss_start_kb"]
    assert [(o["name"], o["type"]) for o in doc["ops"]] == [
        ("quantize", "QUANTIZE"),
        ("conv1", "CONV2D"),
        ("pool1", "MAX_POOL2D"),
        ("dequantize", "DEQUANTIZE"),
    ]


def test_runner_errors(runner_for, artifact: bytes, tmp_path: Path) -> None:
    model, inp = tmp_path / "m.ebm", tmp_path / "x.npy"
    model.write_bytes(artifact)
    np.save(inp, np.zeros((1, 3, 6, 6), np.float32))
    done = subprocess.run(
        [runner_for("host"), model, "--input", inp], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc == {
        "status": "error",
        "code": "EB_ERR_SHAPE",
        "message": "input 0 ('x') has shape (1,3,6,6) but the model expects (1,2,6,6)",
    }
    assert doc["message"] in done.stderr
    np.save(inp, np.zeros((1, 2, 6, 6), np.float64))
    done = subprocess.run(
        [runner_for("host"), model, "--input", inp], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "'<f4'" in json.loads(done.stdout)["message"]
    assert (
        subprocess.run(
            [runner_for("host"), model, "--iterations", "0"], capture_output=True, check=False
        ).returncode
        == 2
    )
    assert subprocess.run([runner_for("host")], capture_output=True, check=False).returncode == 2


def test_runner_survives_truncation(runner_for, artifact: bytes, tmp_path: Path) -> None:
    model, inp = tmp_path / "m.ebm", tmp_path / "x.npy"
    np.save(inp, np.zeros((1, 2, 6, 6), np.float32))
    for n in range(0, len(artifact), 37):
        model.write_bytes(artifact[:n])
        done = subprocess.run(
            [runner_for("host"), model, "--input", inp], capture_output=True, text=True, check=False
        )
        assert done.returncode == 1, n
        assert json.loads(done.stdout)["code"] in ("EB_ERR_FORMAT", "EB_ERR_CHECKSUM")


def test_set_threads_tracks_scratch_once(artifact: bytes) -> None:
    """Growing the thread count replaces the per-thread scratch: the old allocation leaves tracked_bytes with it, so
    stepping 1 -> 2 -> 3 -> 4 threads tracks exactly what setting 4 at once does (and more than 1 thread does,
    since this artifact's CONV2D needs im2col scratch on the optimized paths)."""
    stepped, direct = _native.Model.from_bytes(artifact), _native.Model.from_bytes(artifact)
    stepped.threads = 1
    one = stepped.tracked_bytes
    for t in (2, 3, 4):
        stepped.threads = t
    direct.threads = 4
    assert stepped.tracked_bytes == direct.tracked_bytes
    if _native.Model.from_bytes(artifact).isa != "ref":
        assert stepped.tracked_bytes > one
    stepped.threads = 2  # shrinking keeps the larger scratch: nothing allocated, nothing counted twice
    assert stepped.tracked_bytes == direct.tracked_bytes
