"""DYNAMIC_FULLY_CONNECTED on all-MiniLM-L6-v2's linear shapes, 1 thread, same run (not a test).

    python -m bench.bench_qd8 [--seq 128 32] [--isa avx512vnni avx2] [--rounds 5]

Per shape (M = seq rows, K -> N): edgebuild's op time from its own profiler (the op alone, no Python), torch fp32
`F.linear`, and ONNX Runtime on the graph `quantize_dynamic` makes of one MatMul + Add (DynamicQuantizeLinear,
MatMulInteger, the float scale and bias: its MLAS u8s8 VNNI kernels), each the median of `--runs` calls, taken in
`--rounds` alternating rounds; printed as GOPS (2·M·K·N / s) of the best round, with the spread over rounds. Also
ExecuTorch 1.5 + XNNPACK on one nn.Linear quantized with XNNPACKQuantizer's dynamic per-channel config (qd8-f32-qc8w)
when executorch is installed. The peers' times have their Python call overhead (measured on a 1 x 8 -> 8 linear,
printed) subtracted; edgebuild's is the op's own time from its profiler.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

# (K, N, count per layer) of one MiniLM layer: q, k, v, attention output; intermediate; output.
SHAPES = [(384, 384, 4), (384, 1536, 1), (1536, 384, 1)]


def edgebuild_op(m: int, k: int, n: int, w: np.ndarray, s: np.ndarray, b: np.ndarray, isa: str):
    import os

    from edgebuild import _native
    from edgebuild.ir import DType, Op, OpCode, Program, Tensor
    from edgebuild.lower import f32_bits_of
    from edgebuild.plan import plan_arena
    from edgebuild.serialize import artifact_bytes

    prog = Program()
    x = prog.add_tensor(Tensor("x", DType.FLOAT32, (m, k)))
    prog.inputs.append(x)
    ids = [prog.add_constant("w", w, DType.INT8), prog.add_constant("s", s, DType.FLOAT32)]
    ids.append(prog.add_constant("b", b, DType.FLOAT32))
    y = prog.add_tensor(Tensor("y", DType.FLOAT32, (m, n)))
    prog.outputs.append(y)
    inf = f32_bits_of(float("inf"))
    prog.add_op(Op(OpCode.DYNAMIC_FULLY_CONNECTED, "dfc", [x, *ids], [y], [f32_bits_of(float("-inf")), inf]))
    plan_arena(prog)
    os.environ["EDGEBUILD_ISA"] = isa
    model = _native.Model.from_bytes(artifact_bytes(prog))
    del os.environ["EDGEBUILD_ISA"]
    model.threads = 1
    model.profiling = True
    return model


def ort_session(k: int, n: int, wf: np.ndarray, b: np.ndarray, tmp: Path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "wt"], ["t"]), helper.make_node("Add", ["t", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
        [numpy_helper.from_array(wf.T.copy(), "wt"), numpy_helper.from_array(b, "b")],
    )
    f32, q8 = tmp / f"l{k}x{n}.onnx", tmp / f"l{k}x{n}.q.onnx"
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what this onnxruntime reads
    onnx.save(model, f32)
    quantize_dynamic(str(f32), str(q8), weight_type=QuantType.QInt8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    return ort.InferenceSession(str(q8), so, providers=["CPUExecutionProvider"])


def median_s(fn, runs: int) -> float:
    for _ in range(3):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def edgebuild_s(model, x: np.ndarray, runs: int) -> float:
    ts = []
    for _ in range(runs):
        model.run([x])
        ts.append(model.op_times_ns()[0] * 1e-9)
    return statistics.median(ts)


def et_method(k: int, n: int, wf: np.ndarray, b: np.ndarray, m: int):
    """ExecuTorch 1.5 + XNNPACK on one nn.Linear: PT2E with XNNPACKQuantizer's dynamic per-channel config (its
    qd8-f32-qc8w kernels), one thread; None when executorch is not installed."""
    import torch

    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from executorch.exir import to_edge_transform_and_lower
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ImportError:
        return None
    lin = torch.nn.Linear(k, n)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(wf))
        lin.bias.copy_(torch.from_numpy(b))
    x = (torch.zeros(m, k),)
    quantizer = XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
    )
    prepared = prepare_pt2e(torch.export.export(lin, x).module(), quantizer)
    prepared(*x)
    converted = convert_pt2e(prepared)
    lowered = to_edge_transform_and_lower(
        torch.export.export(converted, x), partitioner=[XnnpackPartitioner()]
    )
    portable_lib._unsafe_reset_threadpool(1)
    program = Runtime.get().load_program(lowered.to_executorch().buffer)
    return program, program.load_method("forward")


def peers(m: int, k: int, n: int, wf: np.ndarray, b: np.ndarray, x: np.ndarray, tmp: Path) -> dict:
    """name -> a call of that engine on x (torch fp32, ORT int8, ExecuTorch int8)."""
    import torch

    xt, wt, bt = torch.from_numpy(x), torch.from_numpy(wf), torch.from_numpy(b)
    sess = ort_session(k, n, wf, b, tmp)
    out = {
        "torch fp32": functools.partial(torch.nn.functional.linear, xt, wt, bt),
        "ort int8": functools.partial(sess.run, None, {"x": x}),
    }
    et = et_method(k, n, wf, b, m)
    if et is not None:
        out["executorch int8"] = functools.partial(
            lambda meth, _prog, xs: meth.execute(xs), et[1], et[0], [xt]
        )
    return out


def main(argv: list[str] | None = None) -> int:
    import logging

    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", type=int, nargs="+", default=[128, 32])
    ap.add_argument("--isa", nargs="+", default=["avx512vnni", "avx2"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # quantize_dynamic's pre-processing advice
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp())
    # Each peer's Python call overhead, from a 1 x 8 -> 8 linear: subtracted from its times below.
    tiny = (rng.standard_normal((8, 8)) * 0.1).astype(np.float32), np.zeros(8, np.float32)
    with torch.inference_mode():
        overhead = {
            name: min(median_s(fn, args.runs) for _ in range(args.rounds))
            for name, fn in peers(1, 8, 8, *tiny, np.ones((1, 8), np.float32), tmp).items()
        }
    print(
        "call overhead subtracted: " + ", ".join(f"{name} {t * 1e6:.1f} us" for name, t in overhead.items())
    )
    for m in args.seq:
        total: dict[str, float] = {}
        for k, n, count in SHAPES:
            wf = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
            b = (rng.standard_normal(n) * 0.1).astype(np.float32)
            s = (np.abs(wf).max(axis=1) / 127).astype(np.float32)
            w = np.clip(np.rint(wf / s[:, None]), -127, 127).astype(np.int8)
            x = rng.standard_normal((m, k)).astype(np.float32)
            engines = {isa: edgebuild_op(m, k, n, w, s, b, isa) for isa in args.isa}
            others = peers(m, k, n, wf, b, x, tmp)
            times: dict[str, list[float]] = {name: [] for name in [*engines, *others]}
            with torch.inference_mode():
                for _ in range(args.rounds):  # alternate engines within each round
                    for isa, model in engines.items():
                        times[isa].append(edgebuild_s(model, x, args.runs))
                    for name, fn in others.items():
                        times[name].append(median_s(fn, args.runs) - overhead[name])
            ops = 2.0 * m * k * n
            line = f"M={m:4d} {k:4d}->{n:<4d} x{count}:"
            for name, t in times.items():
                best, spread = min(t), (max(t) - min(t)) / min(t)
                line += f"  {name} {ops / best * 1e-9:5.0f} GOPS ({best * 1e6:6.1f} us ±{100 * spread:.0f}%)"
                total[name] = total.get(name, 0.0) + count * best
            print(line)
        ref = total[args.isa[0]]
        print(
            f"  seq {m}, one layer's six linears: "
            + ", ".join(f"{name} {t * 1e3:.3f} ms ({t / ref:.2f}x)" for name, t in total.items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
