"""MobileNetV2's depthwise layers, per edgebuild ISA path: per-layer milliseconds and GMAC/s (not a test).

    python -m bench.bench_dwconv [--isa avx512vnni avx2] [--reports 3]

Builds MobileNetV2 (bench/models.py, random weights and calibration, as bench_latency does), then for each path
prints the whole-model median over 30 runs and, for every DEPTHWISE_CONV2D (the lowering's depthwise layers), the
minimum over `--reports` profiles of the per-op median of 10 runs (edgebuild's profiler, 1 thread): the minimum keeps
the number least disturbed by other load on a shared machine. Depthwise MACs = output elements × kh × kw.
"""

from __future__ import annotations

import argparse

from bench.bench_latency import (
    MODELS,
    calibration,
    edgebuild_artifact,
    edgebuild_model,
    layer_report,
    median_ms,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--isa", nargs="+", default=["avx512vnni", "avx2"])
    ap.add_argument("--reports", type=int, default=3)
    args = ap.parse_args(argv)
    model, shape = MODELS["mobilenet_v2"]()
    blob = edgebuild_artifact(model, calibration(shape, 8), "mobilenet_v2")
    xs = [calibration(shape, 1, seed=99)[0].numpy()]
    for isa in args.isa:
        m = edgebuild_model(blob, isa, 1)
        total = median_ms(lambda m=m: m.run(xs), 30)
        reports = [layer_report(m, xs) for _ in range(args.reports)]
        layers = []
        for i in range(m.num_ops):
            info = m.op_info(i)
            if info["type"] != "DEPTHWISE_CONV2D":
                continue
            w = m.tensor_info(info["inputs"][1])["shape"]
            y = m.tensor_info(info["outputs"][0])["shape"]
            x = m.tensor_info(info["inputs"][0])["shape"]
            ms = min(r[i][2] for r in reports)
            layers.append((info["name"], tuple(x), (w[1], w[2]), tuple(y), ms, reports[0][i][4] / (ms * 1e6)))
        print(
            f"[{m.isa}] whole model median {total:.2f} ms; depthwise sum {sum(r[4] for r in layers):.3f} ms"
        )
        for name, x, k, y, ms, gmacs in layers:
            print(f"  {name:12s} x{x} k{k[0]}x{k[1]} y{y} {ms:.3f} ms {gmacs:5.1f} GMAC/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
