"""LiteRT as a peer in edgebuild's benchmarks: latency of a .tflite on LiteRT's default path (XNNPACK), and a
script measuring it against edgebuild on the same exported model, in the same run.

    from bench.litert_peer import litert_latency_ms
    ms = litert_latency_ms(tflite_bytes, x, threads=1)         # median ms per invoke

    python -m bench.litert_peer [--models mobilenet_v2 resnet18] [--runs 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np


def litert_interpreter(
    tflite: bytes | str | Path, *, threads: int = 1, reference: bool = False
):  # -> Interpreter
    """LiteRT's default path (builtin ops + the XNNPACK delegate it applies by itself), or its reference kernels."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except (
        ImportError
    ):  # tflite-runtime 2.14 (crashes with numpy 2: a fallback for numpy 1 environments only)
        from tflite_runtime.interpreter import Interpreter, OpResolverType  # type: ignore[no-redef]
    data = tflite if isinstance(tflite, bytes) else Path(tflite).read_bytes()
    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
    it = Interpreter(model_content=data, num_threads=threads, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    return it


def litert_latency_ms(
    tflite: bytes | str | Path, x: np.ndarray, *, threads: int = 1, runs: int = 20, warmup: int = 3
) -> float:
    """Median wall time (ms) of one invoke on LiteRT's default path, input set before each invoke."""
    it = litert_interpreter(tflite, threads=threads)
    index = it.get_input_details()[0]["index"]
    x = np.ascontiguousarray(x, np.float32)
    times = []
    for i in range(warmup + runs):
        it.set_tensor(index, x)
        t = time.perf_counter()
        it.invoke()
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    from bench.bench_latency import MODELS, calibration, edgebuild_artifact, edgebuild_model, median_ms
    from edgebuild.export.tflite import export_tflite
    from edgebuild.serialize import read_artifact

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--calib", type=int, default=8)
    args = p.parse_args(argv)
    print(
        f"| model | edgebuild ms | LiteRT default (XNNPACK) ms | LiteRT / edgebuild | threads={args.threads} |"
    )
    print("|---|---|---|---|---|")
    for name in args.models:
        model, shape = MODELS[name]()
        calib = calibration(shape, args.calib)
        blob = edgebuild_artifact(model, calib, name)
        tfl = export_tflite(read_artifact(blob))
        x = calibration(shape, 1, seed=7)[0].numpy()
        eb = edgebuild_model(blob, None, args.threads)
        eb_ms = median_ms(partial(eb.run, [x]), args.runs)
        lr_ms = litert_latency_ms(tfl, x, threads=args.threads, runs=args.runs)
        ours = np.asarray(eb.run([x])[0])
        it = litert_interpreter(tfl, threads=args.threads)
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        theirs = it.get_tensor(it.get_output_details()[0]["index"])
        top1 = "same top-1" if ours.argmax() == theirs.argmax() else "top-1 differs"
        print(f"| {name} | {eb_ms:.2f} | {lr_ms:.2f} | {lr_ms / eb_ms:.2f}× | {top1}, ISA {eb.isa} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
