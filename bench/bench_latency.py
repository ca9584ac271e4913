"""Single-thread latency of edgebuild int8 against the engines a user would otherwise pick, all in one run.

    python -m bench.bench_latency [--models mobilenet_v2 resnet18] [--runs 30] [--threads 1] [--isa all]
                                  [--peak] [--layers] [--scaling]

Engines (batch 1, random weights, random calibration, medians over --runs after warm-up):
  edgebuild int8    in-process (edgebuild._native), one line per ISA path (EDGEBUILD_ISA) with --isa all
  torch fp32        eager, torch.inference_mode
  torch int8 fx     FX graph mode post-training quantization, x86 backend (fbgemm/onednn eager quantized ops)
  ort fp32 / int8   ONNX Runtime, int8 = static QDQ, per-channel weights (onnxruntime.quantization)
  litert int8       LiteRT's default path (builtin ops + XNNPACK) on edgebuild's own .tflite export of the model
Prints each latency and edgebuild / best peer (every engine but edgebuild is a peer).
--arm counts ARM instructions per inference and per layer under qemu (bench/arm_insns.py): arm64 i8mm, arm64
dotprod, arm64 plain NEON (cortex-a53), armv7, and the reference path, against the ideal MACs / 16 (SDOT) and
MACs / 32 (SMMLA, for i8mm).
--peak measures this core's int8 peak with a tight VNNI loop (kernels' own code path: one 8x32c4 call over an
L1-resident K) and reports GMAC/s of the GEMM-heavy layers against it; --scaling adds ResNet-18 at 1 and 2 threads.
Not a test: numbers depend on the machine and its load (the bench prints what it measured, nothing more).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench.models import mobilenet_v2, resnet18

MODELS = {"mobilenet_v2": mobilenet_v2, "resnet18": resnet18}


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def calibration(shape: tuple[int, ...], n: int, seed: int = 1) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) for _ in range(n)]


# ---- edgebuild ----


def edgebuild_artifact(model: torch.nn.Module, calib: list[torch.Tensor], name: str) -> bytes:
    from edgebuild.plan import plan_arena
    from edgebuild.serialize import artifact_bytes
    from tests.helpers import quantize_and_lower

    q = quantize_and_lower(model, calib, name)
    plan_arena(q.program)
    return artifact_bytes(q.program)


def edgebuild_model(blob: bytes, isa: str | None, threads: int):  # -> _native.Model
    from edgebuild import _native

    old = os.environ.get("EDGEBUILD_ISA")
    if isa:
        os.environ["EDGEBUILD_ISA"] = isa
    else:
        os.environ.pop("EDGEBUILD_ISA", None)
    try:
        m = _native.Model.from_bytes(blob)
    finally:
        if old is None:
            os.environ.pop("EDGEBUILD_ISA", None)
        else:
            os.environ["EDGEBUILD_ISA"] = old
    m.threads = threads
    return m


# ---- PyTorch ----


def torch_int8_fx(model: torch.nn.Module, calib: list[torch.Tensor]) -> torch.nn.Module:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    backend = "x86"
    torch.backends.quantized.engine = backend
    prepared = prepare_fx(copy.deepcopy(model).eval(), get_default_qconfig_mapping(backend), (calib[0],))
    with torch.inference_mode():
        for c in calib:
            prepared(c)
    return convert_fx(prepared)


# ---- ONNX Runtime ----


def ort_sessions(model: torch.nn.Module, x: torch.Tensor, calib: list[torch.Tensor], tmp: Path, threads: int):
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32 = tmp / "model.onnx"
    torch.onnx.export(
        model, (x,), str(fp32), input_names=["x"], output_names=["y"], opset_version=17, dynamo=False
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"x": c.numpy()} for c in calib])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    pre = tmp / "model.pre.onnx"
    quant_pre_process(str(fp32), str(pre))
    int8 = tmp / "model.int8.onnx"
    quantize_static(
        str(pre), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
    )  # fmt: skip
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return (
        ort.InferenceSession(str(fp32), opts, providers=["CPUExecutionProvider"]),
        ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"]),
    )


# ---- per-layer GMAC/s and the VNNI peak ----


def layer_report(
    m, xs: list[np.ndarray]
) -> list[tuple[str, str, float, float, int]]:  # name, type, ms, GMAC/s, MACs
    m.profiling = True
    x_runs = []
    for _ in range(10):
        m.run(xs)
        x_runs.append(m.op_times_ns())
    m.profiling = False
    rows = []
    for i in range(m.num_ops):
        info = m.op_info(i)
        ns = statistics.median(r[i] for r in x_runs)
        macs = 0
        if info["type"] in ("CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED"):
            w = m.tensor_info(info["inputs"][1])["shape"]
            y = m.tensor_info(info["outputs"][0])["shape"]
            macs = int(np.prod(y)) * int(np.prod(w[1:]))
        rows.append((info["name"], info["type"], ns / 1e6, macs / ns if ns else 0.0, macs))
    return rows


def vnni_loop_peak_gmacs() -> float:
    """bench/vnni_peak.cc: 16 independent vpdpbusd chains, 64 int8 MACs each per instruction, best of 5."""
    import ctypes
    import subprocess

    src = Path(__file__).with_name("vnni_peak.cc")
    lib = Path(tempfile.gettempdir()) / "edgebuild-vnni-peak.so"
    cmd = ["g++", "-O2", "-mavx512f", "-mavx512vnni", "-shared", "-fPIC", str(src), "-o", str(lib)]
    subprocess.run(cmd, check=True)
    fn = ctypes.CDLL(str(lib)).eb_bench_vnni_loop
    fn.argtypes = [ctypes.c_int64]
    iters = 20_000_000
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        fn(iters)
        best = max(best, iters * 16 * 64 / (time.perf_counter() - t) / 1e9)
    return best


def vnni_peak_gmacs() -> float:
    """A GEMM with one row tile over an L1-resident K through the avx512vnni kernel: the kernel's own ceiling."""
    from edgebuild.ir import DType, Op, OpCode, Program, Tensor
    from edgebuild.plan import plan_arena
    from edgebuild.qmath import f32_bits
    from edgebuild.serialize import artifact_bytes

    m_rows, n, k = 8, 32, 4096 * 4
    prog = Program()
    x = prog.add_tensor(Tensor("x", DType.FLOAT32, (m_rows, k)))
    prog.inputs.append(x)
    q = prog.add_tensor(Tensor("q", DType.INT8, (m_rows, k), 1.0, 0))
    prog.add_op(Op(OpCode.QUANTIZE, "q", [x], [q], [0, f32_bits(np.float32(1.0))]))
    rng = np.random.default_rng(0)
    w = prog.add_constant("w", rng.integers(-127, 128, size=(n, k)), DType.INT8)
    mu = prog.add_constant("m", [1 << 30] * n, DType.INT32)
    sh = prog.add_constant("s", [-20] * n, DType.INT32)
    y = prog.add_tensor(Tensor("y", DType.INT8, (m_rows, n), 1.0, 0))
    prog.add_op(Op(OpCode.FULLY_CONNECTED, "fc", [q, w, -1, mu, sh], [y], [-128, 127]))
    out = prog.add_tensor(Tensor("o", DType.FLOAT32, (m_rows, n)))
    prog.add_op(Op(OpCode.DEQUANTIZE, "dq", [y], [out], [0]))
    prog.outputs.append(out)
    plan_arena(prog)
    model = edgebuild_model(artifact_bytes(prog), "avx512vnni", 1)
    xin = [np.zeros((m_rows, k), np.float32)]
    model.profiling = True
    best = 0.0
    for _ in range(200):
        model.run(xin)
        best = max(best, m_rows * n * k / model.op_times_ns()[1])
    return best


def arm_report(blob: bytes, xs: list[np.ndarray]) -> None:
    """Instructions per inference and for the heaviest layers on every ARM path (bench/arm_insns.py)."""
    from bench.arm_insns import arm_instruction_counts
    from edgebuild.ir import OpCode
    from edgebuild.serialize import read_artifact

    prog = read_artifact(blob)
    macs, depthwise = [], []
    for op in prog.ops:
        if op.opcode in (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D, OpCode.FULLY_CONNECTED):
            w, y = prog.tensors[op.inputs[1]].shape, prog.tensors[op.outputs[0]].shape
            macs.append(int(np.prod(y)) * int(np.prod(w[1:])))
            # the lowering's depthwise layers (the depthwise kernels, not the GEMM)
            depthwise.append(op.opcode == OpCode.DEPTHWISE_CONV2D)
        else:
            macs.append(0)
            depthwise.append(False)
    gemm_macs = sum(m for m, d in zip(macs, depthwise) if not d)
    t = time.perf_counter()
    counts = arm_instruction_counts(blob, xs)
    ideal = sum(macs) / 16
    print(
        f"  ARM instructions per inference (qemu TCG plugin, 1 thread, {time.perf_counter() - t:.0f}s to count):"
    )
    print(
        f"    ideal CONV2D+FC at 16 MACs/instruction (SDOT): {ideal / 1e6:9.1f} M, at 32 (SMMLA): "
        f"{ideal / 2e6:.1f} M  ({sum(macs) / 1e6:.0f} M MACs)"
    )
    ref = counts.get("arm64 ref", {}).get("per_invoke")
    for label, c in counts.items():
        gemm = sum(n for n, m in zip(c["per_op"], macs) if m)
        # The ideal of the path's own GEMM instruction: SMMLA for i8mm, SDOT (MACs/16) for the others.
        own = f" = {gemm / (ideal / 2):.2f}x MACs/32" if "i8mm" in label else ""
        vs_ref = f", {ref / c['per_invoke']:5.1f}x fewer than ref" if ref and label != "arm64 ref" else ""
        print(f"    {label:26s} {c['per_invoke'] / 1e6:9.1f} M  (CONV2D+FC {gemm / 1e6:.1f} M = "
              f"{gemm / ideal:.2f}x MACs/16{own}{vs_ref}; identical across invokes: "
              f"{c['identical_across_invokes']})")  # fmt: skip
        # The GEMM kernel's share alone (depthwise runs its own kernel on every path).
        if gemm_macs < sum(macs):
            g = sum(n for n, m, d in zip(c["per_op"], macs, depthwise) if m and not d)
            own_g = f" = {g / (gemm_macs / 32):.2f}x MACs/32" if "i8mm" in label else ""
            print(f"    {'':26s}   of which GEMM layers (no depthwise, {gemm_macs / 1e6:.0f} M MACs) {g / 1e6:.1f} M = "
                  f"{g / (gemm_macs / 16):.2f}x MACs/16{own_g}, depthwise {(gemm - g) / 1e6:.1f} M")  # fmt: skip
    labels = list(counts)
    first = counts[labels[0]]["per_op"]
    print("    heaviest layers (M instructions): " + " | ".join(labels) + " | ideal MACs/16")
    for i in sorted(range(len(prog.ops)), key=lambda i: -first[i])[:10]:
        op = prog.ops[i]
        cols = " | ".join(f"{counts[k]['per_op'][i] / 1e6:8.2f}" for k in labels)
        ideal_op = f"{macs[i] / 16 / 1e6:8.2f}" if macs[i] else "       -"
        print(f"      {OpCode(op.opcode).name:16s} {op.name[:28]:28s} {cols} | {ideal_op}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calib", type=int, default=8, help="calibration samples (random)")
    ap.add_argument("--isa", default="best", help="'best', 'all', or one of ref,avx2,avx512vnni")
    ap.add_argument("--engines", default="edgebuild,torch_fp32,torch_int8,ort_fp32,ort_int8,litert")
    ap.add_argument("--layers", action="store_true", help="per-layer ms and GMAC/s of edgebuild's best path")
    ap.add_argument("--peak", action="store_true", help="measure the VNNI int8 peak of this core")
    ap.add_argument("--scaling", action="store_true", help="ResNet-18 edgebuild at 1 and 2 threads")
    ap.add_argument(
        "--arm", action="store_true", help="ARM instruction counts under qemu (bench/arm_insns.py)"
    )
    args = ap.parse_args(argv)
    engines = set(args.engines.split(","))
    torch.set_num_threads(args.threads)
    from edgebuild import _native

    print(f"torch {torch.__version__}, threads {args.threads}, runs {args.runs} (median), "
          f"edgebuild ISAs available: {_native.available_isas()}")  # fmt: skip
    peak = None
    if args.peak and "avx512vnni" in _native.available_isas():
        peak = vnni_loop_peak_gmacs()
        print(f"int8 peak of this core (tight vpdpbusd zmm loop, bench/vnni_peak.cc): {peak:.0f} GMAC/s")
        print(
            f"edgebuild 8x32c4 avx512vnni kernel, one row tile, L1-resident K: {vnni_peak_gmacs():.0f} GMAC/s"
        )
    results: dict[str, dict[str, float]] = {}
    for name in args.models:
        model, shape = MODELS[name]()
        calib = calibration(shape, args.calib)
        x = calibration(shape, 1, seed=99)[0]
        lat: dict[str, float] = {}
        t0 = time.perf_counter()
        blob = edgebuild_artifact(model, calib, name)
        print(f"\n== {name} {shape}: edgebuild build {time.perf_counter() - t0:.1f}s", flush=True)
        xs = [x.numpy()]
        if "edgebuild" in engines:
            isas = [None] if args.isa == "best" else (
                [i for i in _native.available_isas().split(",")] if args.isa == "all" else [args.isa])  # fmt: skip
            for isa in isas:
                m = edgebuild_model(blob, isa, args.threads)
                lat[f"edgebuild int8 [{m.isa}]"] = median_ms(lambda m=m, xs=xs: m.run(xs), args.runs)
                if args.layers and isa is None:
                    rows = layer_report(m, xs)
                    total_ms = sum(r[2] for r in rows)
                    print(f"  per-op ({m.isa}): total {total_ms:.2f} ms; heaviest ops:")
                    for r in sorted(rows, key=lambda r: -r[2])[:12]:
                        frac = f" = {100 * r[3] / peak:.0f}% of peak" if peak and r[4] else ""
                        gm = f"{r[3]:6.1f} GMAC/s{frac}" if r[4] else ""
                        print(f"    {r[1]:16s} {r[0][:40]:40s} {r[2]:7.3f} ms  {gm}")
                    by_type: dict[str, float] = {}
                    for r in rows:
                        by_type[r[1]] = by_type.get(r[1], 0.0) + r[2]
                    print("  by op type: " + ", ".join(f"{k} {v:.2f} ms" for k, v in sorted(by_type.items())))
                    gemm = [r for r in rows if r[4]]
                    macs, ns = sum(r[4] for r in gemm), sum(r[2] for r in gemm) * 1e6
                    print(f"  CONV2D+FC: {macs / 1e9:.2f} GMAC in {ns / 1e6:.2f} ms = {macs / ns:.0f} GMAC/s"
                          + (f" ({100 * macs / ns / peak:.0f}% of peak)" if peak else ""))  # fmt: skip
            if args.scaling and name == "resnet18":
                for t in (1, 2):
                    m = edgebuild_model(blob, None, t)
                    lat[f"edgebuild int8 [{m.isa}] {t} threads"] = median_ms(
                        lambda m=m, xs=xs: m.run(xs), args.runs
                    )
        with torch.inference_mode():
            if "torch_fp32" in engines:
                lat["torch fp32"] = median_ms(lambda model=model, x=x: model(x), args.runs)
            if "torch_int8" in engines:
                try:
                    qm = torch_int8_fx(model, calib)
                    lat["torch int8 (fx, x86)"] = median_ms(lambda qm=qm, x=x: qm(x), args.runs)
                except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
                    print(f"  torch int8 failed: {type(e).__name__}: {e}")
        if engines & {"ort_fp32", "ort_int8"}:
            with tempfile.TemporaryDirectory() as tmp:
                s32, s8 = ort_sessions(model, x, calib, Path(tmp), args.threads)
                feed = {"x": x.numpy()}
                if "ort_fp32" in engines:
                    lat["onnxruntime fp32"] = median_ms(lambda s=s32, f=feed: s.run(None, f), args.runs)
                if "ort_int8" in engines:
                    lat["onnxruntime int8 (QDQ, per-channel)"] = median_ms(
                        lambda s=s8, f=feed: s.run(None, f), args.runs
                    )
        if "litert" in engines:
            try:
                from bench.litert_peer import litert_latency_ms
                from edgebuild.export.tflite import export_tflite
                from edgebuild.serialize import read_artifact

                tfl = export_tflite(read_artifact(blob))
                lat["litert int8 (default path, XNNPACK)"] = litert_latency_ms(
                    tfl, x.numpy(), threads=args.threads, runs=args.runs
                )
            except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
                print(f"  litert failed: {type(e).__name__}: {e}")
        if args.arm:
            arm_report(blob, xs)
        results[name] = lat
        ours = {k: v for k, v in lat.items() if k.startswith("edgebuild") and "threads" not in k}
        peers = {k: v for k, v in lat.items() if not k.startswith("edgebuild")}
        best_peer = min(peers.items(), key=lambda kv: kv[1]) if peers else None
        for k, v in lat.items():
            ratio = f"  ({v / best_peer[1]:.2f}x best peer)" if best_peer and k in ours else ""
            print(f"  {k:40s} {v:8.2f} ms{ratio}")
        if best_peer:
            print(f"  best peer: {best_peer[0]} {best_peer[1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
