"""DYNAMIC_FULLY_CONNECTED on all-MiniLM-L6-v2's linear shapes, 1 thread, same run (not a test).

    python -m bench.bench_qd8 [--seq 128 32] [--isa avx512vnni avx2] [--rounds 5]

Per shape (M = seq rows, K -> N): edgebuild's op time from its own profiler (the op alone, no Python), torch fp32
`F.linear`, and ONNX Runtime on the graph `quantize_dynamic` makes of one MatMul + Add (DynamicQuantizeLinear,
MatMulInteger, the float scale and bias: its MLAS u8s8 VNNI kernels), each the median of `--runs` calls, taken in
`--rounds` alternating rounds; printed as GOPS (2·M·K·N / s) and the best round's ratios. Also the VNNI loop peak
(bench/vnni_peak.cc) for scale. Torch and ORT times include their Python call overhead (a few µs); edgebuild's is
the op's own.
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


def main(argv: list[str] | None = None) -> int:
    import torch

    from bench.bench_latency import vnni_loop_peak_gmacs

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", type=int, nargs="+", default=[128, 32])
    ap.add_argument("--isa", nargs="+", default=["avx512vnni", "avx2"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    peak = vnni_loop_peak_gmacs()
    print(f"VNNI loop peak (bench/vnni_peak.cc): {2 * peak:.0f} GOPS int8 ({peak:.0f} GMAC/s)")
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp())
    total: dict[str, float] = {}
    for m in args.seq:
        for k, n, count in SHAPES:
            wf = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
            b = (rng.standard_normal(n) * 0.1).astype(np.float32)
            s = (np.abs(wf).max(axis=1) / 127).astype(np.float32)
            w = np.clip(np.rint(wf / s[:, None]), -127, 127).astype(np.int8)
            x = rng.standard_normal((m, k)).astype(np.float32)
            xt, wt, bt = torch.from_numpy(x), torch.from_numpy(wf), torch.from_numpy(b)
            sess = ort_session(k, n, wf, b, tmp)
            engines = {isa: edgebuild_op(m, k, n, w, s, b, isa) for isa in args.isa}
            times: dict[str, list[float]] = {name: [] for name in [*engines, "torch fp32", "ort int8"]}
            with torch.inference_mode():
                for _ in range(args.rounds):  # alternate engines within each round
                    for isa, model in engines.items():
                        times[isa].append(edgebuild_s(model, x, args.runs))
                    torch_fn = functools.partial(torch.nn.functional.linear, xt, wt, bt)
                    times["torch fp32"].append(median_s(torch_fn, args.runs))
                    times["ort int8"].append(median_s(functools.partial(sess.run, None, {"x": x}), args.runs))
            ops = 2.0 * m * k * n
            best = {name: min(t) for name, t in times.items()}
            spread = {name: (max(t) - min(t)) / min(t) for name, t in times.items()}
            line = f"M={m:4d} {k:4d}->{n:<4d} x{count}:"
            for name, t in best.items():
                line += f"  {name} {ops / t * 1e-9:6.1f} GOPS ({t * 1e6:7.1f} us, ±{100 * spread[name]:.0f}%)"
                total[f"{m}:{name}"] = total.get(f"{m}:{name}", 0.0) + count * t
            print(line)
        tot = {name.split(":", 1)[1]: t for name, t in total.items() if name.startswith(f"{m}:")}
        ref = tot[args.isa[0]]
        print(
            f"  seq {m}, one layer's linears: "
            + ", ".join(f"{name} {t * 1e3:.3f} ms ({t / ref:.2f}x {args.isa[0]})" for name, t in tot.items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
