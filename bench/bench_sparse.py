"""Block-sparse int8 against dense int8 and the best dense peer, all in one run.

    python -m bench.bench_sparse [--kernels] [--write-costs] [--models resnet18 mobilenet_v2]
                                 [--sparsity 0.5 0.7 0.9] [--runs 20] [--peers torch_fp32,torch_int8,ort_int8,litert]
    python -m bench.bench_sparse --arm [--models resnet18 mobilenet_v2] [--sparsity 0.9] [--cache DIR]

--kernels: per kernel kind (conv 1x1, conv kxk, linear) and layer shape of ResNet-18 / MobileNetV2, the time of one
SPARSE op over its dense twin (the same pruned weights, one thread, the op's own time from the runtime's profiler,
min over --runs), at block densities 1.0 … 0.05. A least-squares line sparse/dense = c0 + c1·density per kind gives
the break-even density (1 − c0) / c1; --write-costs stores the lines in edgebuild/sparse_costs.json, the cost model
the build's dense-or-sparse choice uses (edgebuild/sparse.py).

Models (batch 1, random weights and calibration, min over --runs with the engines interleaved: the machine is shared): for each sparsity, the model is pruned by
block magnitude in 16×4 blocks (16 output channels × 4 consecutive k: the AVX-512 kernel's strip; 2 strips of the ARM
kernels), quantized, lowered, and each layer made sparse where the cost model predicts a gain. Lines: our dense
int8 (the unpruned model), our sparse int8 at each sparsity, and the dense peers on the same (unpruned) model: a
dense engine does the same work whatever the zeros. Ratios: dense / sparse (speed-up) and sparse / best peer.
Not a test: the numbers depend on the machine and its load.

--arm: instructions per inference of our dense build and of the same model block-pruned to each --sparsity (built for
the arm64 target, so each layer is dense or sparse as the arm64 cost model decides), counted under qemu-user on
cortex-a53 (EDGEBUILD_ISA=neon), cortex-a76 (neondot) and max,sme=off (i8mm) with bench/arm_insns.py's TCG plugin:
deterministic, so the dense / sparse ratio is reproducible run to run. Per op type, and the ratio per core.
--cache DIR keeps the artifacts (sparse-<model>-<sparsity>.ebm) between runs. --arm --write-costs makes every
eligible layer sparse and fits, per layer kind, sparse / dense instructions against the slice density on the worst
of the three cores: the arm64 lines of edgebuild/sparse_costs.json (e.g. --sparsity 0.3 0.5 0.7 0.9).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

from bench.bench_latency import MODELS, calibration, edgebuild_model

DENSITIES = (1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05)
BLOCK = (16, 4)
# Layer shapes from ResNet-18 and MobileNetV2 at 224: (kind, C, OC, kernel, stride, H=W).
KERNEL_SHAPES = [
    ("convkxk", 64, 64, 3, 1, 56),
    ("convkxk", 128, 128, 3, 1, 28),
    ("convkxk", 256, 256, 3, 1, 14),
    ("convkxk", 512, 512, 3, 1, 7),
    ("conv1x1", 32, 192, 1, 1, 28),
    ("conv1x1", 192, 32, 1, 1, 28),
    ("conv1x1", 384, 64, 1, 1, 14),
    ("conv1x1", 320, 1280, 1, 1, 7),
    ("linear", 512, 1024, 0, 0, 1),
    ("linear", 1280, 1024, 0, 0, 1),
]


def _op_ms(blob: bytes, inputs: list[np.ndarray], runs: int) -> float:
    m = edgebuild_model(blob, None, 1)
    m.profiling = True
    best = float("inf")
    for i in range(runs + 2):
        m.run(inputs)
        if i >= 2:
            best = min(best, m.op_times_ns()[1] / 1e6)  # op 0 quantizes the float input; op 1 is the layer
    return best


def kernel_sweep(runs: int) -> dict[str, dict[str, float]]:
    from edgebuild.plan import plan_arena
    from edgebuild.serialize import artifact_bytes
    from tests.kernels.runtime.isa_cases import conv_case, fc_case
    from tests.kernels.runtime.sparse_cases import sparse_twin

    points: dict[str, list[tuple[float, float]]] = {}
    print(
        f"\n== kernels: SPARSE op time / dense op time, block {BLOCK[0]}x{BLOCK[1]}, 1 thread, min of {runs}"
    )
    print(f"{'layer':34s} {'dense ms':>9s} " + " ".join(f"d={d:<5}" for d in DENSITIES))
    for kind, c, oc, k, s, hw in KERNEL_SHAPES:
        label = f"{kind} {c}->{oc}" + (f" k{k} s{s} {hw}x{hw}" if kind != "linear" else "")
        row = []
        dense_ms = 0.0
        for d in DENSITIES:
            case = (
                fc_case(1, oc, c, 3)
                if kind == "linear"
                else conv_case(c=c, oc=oc, k=k, stride=s, pad=k // 2, hw=(hw, hw), seed=3)
            )
            sc = sparse_twin(case, BLOCK, d, 5)
            for p in (sc.dense, sc.sparse):
                plan_arena(p)
            if d == DENSITIES[0]:
                dense_ms = _op_ms(artifact_bytes(sc.dense), sc.inputs, runs)
            sparse_ms = _op_ms(artifact_bytes(sc.sparse), sc.inputs, runs)
            from edgebuild.sparse import slice_density

            w = sc.dense.tensors[sc.dense.ops[1].inputs[1]].data
            assert w is not None
            real_d = slice_density(w.reshape(w.shape[0], -1), BLOCK[0])
            points.setdefault(kind, []).append((real_d, sparse_ms / dense_ms))
            row.append(sparse_ms / dense_ms)
        print(f"{label:34s} {dense_ms:9.3f} " + " ".join(f"{r:7.3f}" for r in row), flush=True)
    fits: dict[str, dict[str, float]] = {}
    print("\nfit sparse/dense = c0 + c1 * density, break-even density = (1 - c0) / c1:")
    for kind, pts in points.items():
        d = np.array([p[0] for p in pts])
        r = np.array([p[1] for p in pts])
        c1, c0 = np.polyfit(d, r, 1)
        be = (1 - c0) / c1
        fits[kind] = {
            "c0": round(float(c0), 4),
            "c1": round(float(c1), 4),
            "break_even_density": round(float(be), 3),
        }
        print(f"  {kind:8s} c0 {c0:.3f}  c1 {c1:.3f}  break-even density {be:.2f} (sparsity {1 - be:.0%})")
    return fits


def _prune_and_build(
    model: torch.nn.Module,
    calib: list[torch.Tensor],
    sparsity: float,
    name: str,
    target: str = "host",
    mode: str | None = None,
):
    from edgebuild.compress.prune import PruneSpec, prune
    from edgebuild.plan import plan_arena
    from edgebuild.serialize import artifact_bytes
    from edgebuild.sparse import choose_sparse
    from tests.helpers import quantize_and_lower

    pruned = copy.deepcopy(model)
    if sparsity > 0:
        prune(pruned, PruneSpec("block", sparsity, BLOCK))
    q = quantize_and_lower(pruned, calib, name)
    mode = mode or ("auto" if sparsity > 0 else "never")
    choices = choose_sparse(q.program, target, block=BLOCK, mode=mode)
    plan_arena(q.program)
    return artifact_bytes(q.program), choices


def model_sweep(names: list[str], sparsities: list[float], runs: int, peers: set[str]) -> None:
    for name in names:
        _one_model(name, sparsities, runs, peers)


def _min_interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Min wall time (ms) of each callable over `runs` rounds, the callables interleaved within each round: on a
    shared, loaded machine the minimum is the least disturbed figure and interleaving exposes every engine to the
    same load."""
    for fn in fns.values():
        fn()
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(runs):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], (time.perf_counter() - t) * 1e3)
    return best


def _by_op_type(blob: bytes, xs: list[np.ndarray], runs: int) -> dict[str, float]:
    """Per op type, ms: the min over runs of each op's own time (runtime profiler)."""
    m = edgebuild_model(blob, None, 1)
    m.profiling = True
    best = None
    for _ in range(runs):
        m.run(xs)
        t = np.array(m.op_times_ns(), dtype=np.float64)
        best = t if best is None else np.minimum(best, t)
    assert best is not None
    out: dict[str, float] = {}
    for i in range(m.num_ops):
        kind = m.op_info(i)["type"]
        out[kind] = out.get(kind, 0.0) + float(best[i]) / 1e6
    return out


def _one_model(name: str, sparsities: list[float], runs: int, peers: set[str]) -> None:
    from bench.bench_latency import ort_sessions, torch_int8_fx

    model, shape = MODELS[name]()
    calib = calibration(shape, 4)
    x = calibration(shape, 1, seed=99)[0]
    xs = [x.numpy()]
    fns: dict[str, Callable[[], object]] = {}
    t0 = time.perf_counter()
    dense_blob, _ = _prune_and_build(model, calib, 0.0, name)
    dense = edgebuild_model(dense_blob, None, 1)
    isa = dense.isa
    dense_key = f"edgebuild dense int8 [{isa}]"
    fns[dense_key] = partial(dense.run, xs)
    print(f"\n== {name} {shape} (built in {time.perf_counter() - t0:.1f}s, {isa}, 1 thread)", flush=True)
    blobs = {}
    for s in sparsities:
        blob, choices = _prune_and_build(model, calib, s, name)
        blobs[s] = blob
        n_sparse = sum(c.chosen == "sparse" for c in choices)
        gain = [c.expected_gain for c in choices if c.chosen == "sparse"]
        print(f"  {s:.0%} block sparsity: {n_sparse}/{len(choices)} layers sparse"
              + (f" (expected per-layer gains {min(gain):.1f}x .. {max(gain):.1f}x)" if gain else ""), flush=True)  # fmt: skip
        fns[f"edgebuild sparse int8 {s:.0%} [{isa}]"] = partial(edgebuild_model(blob, None, 1).run, xs)
    with torch.inference_mode():
        if "torch_fp32" in peers:
            fns["torch fp32"] = partial(model, x)
        if "torch_int8" in peers:
            try:
                fns["torch int8 (fx, x86)"] = partial(torch_int8_fx(model, calib), x)
            except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
                print(f"  torch int8 failed: {type(e).__name__}: {e}")
        with tempfile.TemporaryDirectory() as tmp:
            if peers & {"ort_fp32", "ort_int8"}:
                s32, s8 = ort_sessions(model, x, calib, Path(tmp), 1)
                feed = {"x": x.numpy()}
                if "ort_fp32" in peers:
                    fns["onnxruntime fp32"] = partial(s32.run, None, feed)
                if "ort_int8" in peers:
                    fns["onnxruntime int8 (QDQ)"] = partial(s8.run, None, feed)
            if "litert" in peers:
                try:
                    from bench.litert_peer import litert_interpreter
                    from edgebuild.export.tflite import export_tflite
                    from edgebuild.serialize import read_artifact

                    it = litert_interpreter(export_tflite(read_artifact(dense_blob)), threads=1)
                    index = it.get_input_details()[0]["index"]

                    def litert_run(it=it, index=index) -> None:
                        it.set_tensor(index, xs[0])
                        it.invoke()

                    fns["LiteRT int8 (XNNPACK)"] = litert_run
                except Exception as e:  # noqa: BLE001
                    print(f"  LiteRT failed: {type(e).__name__}: {e}")
            lat = _min_interleaved(fns, runs)
    dense_ms = lat[dense_key]
    peer = {k: v for k, v in lat.items() if not k.startswith("edgebuild")}
    best = min(peer.items(), key=lambda kv: kv[1]) if peer else None
    for k, v in lat.items():
        extra = ""
        if k.startswith("edgebuild sparse"):
            extra = f"  {dense_ms / v:.2f}x faster than our dense"
            if best:
                extra += f", {v / best[1]:.2f}x the best dense peer"
        print(f"  {k:40s} {v:8.2f} ms{extra}")
    if best:
        print(f"  best dense peer: {best[0]} {best[1]:.2f} ms")
    top = max(sparsities)
    d_ops, s_ops = _by_op_type(dense_blob, xs, runs), _by_op_type(blobs[top], xs, runs)
    print(f"  where the time goes (ms per op type, min of {runs}): dense vs {top:.0%} sparse")
    for kind in sorted(set(d_ops) | set(s_ops), key=lambda k: -max(d_ops.get(k, 0), s_ops.get(k, 0))):
        if max(d_ops.get(kind, 0), s_ops.get(kind, 0)) >= 0.05:
            print(f"    {kind:24s} {d_ops.get(kind, 0.0):7.2f} {s_ops.get(kind, 0.0):7.2f}")
    dense_kinds = ("CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED")
    conv_d = sum(v for k, v in d_ops.items() if k in dense_kinds)
    conv_s = sum(
        v for k, v in s_ops.items() if k in dense_kinds + ("SPARSE_CONV2D", "SPARSE_FULLY_CONNECTED")
    )
    print(f"    conv + linear: {conv_d:.2f} -> {conv_s:.2f} ms ({conv_d / conv_s:.2f}x); all ops "
          f"{sum(d_ops.values()):.2f} -> {sum(s_ops.values()):.2f} ms")  # fmt: skip


# (label, target, qemu -cpu, EDGEBUILD_ISA): the three ARM cores of issue 17.
ARM_CORES = (
    ("cortex-a53 neon", "arm64", "cortex-a53", "neon"),
    ("cortex-a76 neondot", "arm64", "cortex-a76", "neondot"),
    ("max,sme=off i8mm", "arm64", "max,sme=off", "i8mm"),
)


def _layer_kind(prog, op) -> tuple[str, float]:  # (kernel kind, slice density at the ARM strip width)
    from edgebuild.ir import OpCode
    from edgebuild.ir_ops import SparseConv2dInt8Params
    from edgebuild.sparse import KERNEL_NR, densify, slice_density

    values, row_ptr, col_idx = (prog.tensors[op.inputs[i]].data for i in (1, 5, 6))
    oc, k = prog.tensors[op.outputs[0]].shape[-1], prog.tensors[op.inputs[0]].shape[-1]
    kind = "linear"
    if op.opcode == OpCode.SPARSE_CONV2D:
        sc = SparseConv2dInt8Params.decode(op.params)
        k *= sc.kernel_h * sc.kernel_w
        kind = "conv1x1" if sc.kernel_h == sc.kernel_w == 1 else "convkxk"
    return kind, slice_density(densify(values, row_ptr, col_idx, oc, k), KERNEL_NR["arm64"])


def arm_sweep(names: list[str], sparsities: list[float], cache: Path | None, write_costs: bool) -> None:
    """Dense vs sparse instructions per inference on the ARM cores (bench/arm_insns.py). With write_costs, every
    eligible layer is made sparse ("always") and each one's instructions over its dense twin's, per core, give the
    arm64 lines of the cost model (the worst core per layer, fitted per kernel kind)."""
    from bench.arm_insns import arm_instruction_counts
    from edgebuild.ir import OpCode
    from edgebuild.serialize import read_artifact

    points: dict[str, list[tuple[float, dict[str, float]]]] = {}  # kind -> (density, {core: sparse / dense})
    for name in names:
        model, shape = MODELS[name]()
        calib = calibration(shape, 4)
        xs = [calibration(shape, 1, seed=99)[0].numpy()]
        blobs: dict[float, bytes] = {}
        for s in [0.0, *sparsities]:
            mode = "never" if s == 0 else ("always" if write_costs else "auto")
            tag = f"sparse-{name}-{round(s * 100)}" + ("-always" if mode == "always" else "")
            f = cache / f"{tag}.ebm" if cache else None
            if f is not None and f.exists():
                blobs[s] = f.read_bytes()
                continue
            blobs[s], _ = _prune_and_build(model, calib, s, name, "arm64", mode)
            if f is not None:
                f.write_bytes(blobs[s])
        print(f"\n== {name} {shape}: ARM instructions per inference (M), qemu TCG plugin, 1 thread")
        dense: dict[str, dict] = {}
        dense_ops: dict[str, int] = {}
        for s, blob in blobs.items():
            prog = read_artifact(blob)
            kinds = [OpCode(op.opcode).name for op in prog.ops]
            n_sparse = sum(k.startswith("SPARSE_") for k in kinds)
            n_gemm = sum(k in ("CONV2D", "FULLY_CONNECTED") for k in kinds) + n_sparse
            counts = arm_instruction_counts(blob, xs, ARM_CORES)
            if s == 0.0:
                dense, dense_ops = counts, {op.name: i for i, op in enumerate(prog.ops)}
            tag = "dense" if s == 0.0 else f"{s:.0%} block-sparse ({n_sparse}/{n_gemm} conv/FC layers sparse)"
            print(f"  {tag}")
            for label, c in counts.items():
                by: dict[str, float] = {}
                for k, n in zip(kinds, c["per_op"]):
                    by[k] = by.get(k, 0.0) + n
                parts = " ".join(
                    f"{k} {v / 1e6:.1f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if v >= 5e4
                )
                ratio = (
                    ""
                    if s == 0.0
                    else f"  {dense[label]['per_invoke'] / c['per_invoke']:.2f}x fewer than dense"
                )
                print(f"    {label:20s} {c['per_invoke'] / 1e6:8.1f}{ratio}   ({parts})", flush=True)
            for i, op in enumerate(prog.ops):
                if s == 0.0 or not kinds[i].startswith("SPARSE_") or op.name not in dense_ops:
                    continue
                kind, density = _layer_kind(prog, op)
                d = dense_ops[op.name]
                per_core = {lb: counts[lb]["per_op"][i] / dense[lb]["per_op"][d] for lb in counts}
                points.setdefault(kind, []).append((density, per_core))
    if write_costs:
        _write_arm_costs(points)


def _write_arm_costs(points: dict[str, list[tuple[float, dict[str, float]]]]) -> None:
    from edgebuild.sparse import COSTS_FILE

    def fit(pts: list[tuple[float, float]]) -> dict[str, float]:
        d, r = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        c1, c0 = np.polyfit(d, r, 1)
        return {
            "c0": round(float(c0), 4),
            "c1": round(float(c1), 4),
            "break_even_density": round((1 - c0) / c1, 3),
        }

    print(
        "\nfit sparse/dense instructions = c0 + c1 * slice density, per layer kind (arm64, 16-column strips):"
    )
    kinds, cores = {}, {}
    for kind, pts in points.items():
        if len(pts) < 2:
            continue
        kinds[kind] = fit([(dn, max(pc.values())) for dn, pc in pts])  # the worst core, layer by layer
        for label in pts[0][1]:
            cores.setdefault(label, {})[kind] = fit([(dn, pc[label]) for dn, pc in pts])
            print(f"  {kind:8s} {label:20s} {cores[label][kind]}")
        print(f"  {kind:8s} {'worst core':20s} {kinds[kind]}")
    doc = json.loads(COSTS_FILE.read_text())
    doc.setdefault("targets", {})["arm64"] = {
        "source": "bench/bench_sparse.py --arm --write-costs: instructions per layer under qemu, block "
        f"{BLOCK[0]}x{BLOCK[1]}, worst of " + ", ".join(cores),
        "kinds": kinds,
        "cores": cores,
    }
    COSTS_FILE.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {COSTS_FILE} (targets.arm64)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", action="store_true", help="per-kernel sparse/dense ratios and break-even")
    ap.add_argument(
        "--write-costs", action="store_true", help="store the fitted lines (needs --kernels or --arm)"
    )
    ap.add_argument("--models", nargs="*", default=["resnet18", "mobilenet_v2"], choices=list(MODELS))
    ap.add_argument("--sparsity", nargs="+", type=float, help="default 0.5 0.7 0.9 (--arm: 0.9)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--peers", default="torch_fp32,torch_int8,ort_fp32,ort_int8,litert")
    ap.add_argument(
        "--arm", action="store_true", help="dense vs sparse ARM instruction counts (qemu), not times"
    )
    ap.add_argument("--cache", type=Path, help="--arm: directory keeping the built artifacts between runs")
    args = ap.parse_args(argv)
    if args.arm:
        arm_sweep(args.models, args.sparsity or [0.9], args.cache, args.write_costs)
        return 0
    torch.set_num_threads(1)
    from edgebuild import _native

    print(f"torch {torch.__version__}; edgebuild ISAs available: {_native.available_isas()}; 1 thread")
    if args.kernels:
        fits = kernel_sweep(args.runs)
        if args.write_costs:
            from edgebuild.sparse import COSTS_FILE

            doc = {
                "source": f"bench/bench_sparse.py --kernels on {_native.available_isas().split(',')[-1]}, "
                f"block {BLOCK[0]}x{BLOCK[1]}",  # no date: report.json must not carry one (tests/trust)
                "kinds": fits,
            }
            COSTS_FILE.write_text(json.dumps(doc, indent=2) + "\n")
            print(f"wrote {COSTS_FILE}")
    if args.models:
        model_sweep(args.models, args.sparsity or [0.5, 0.7, 0.9], args.runs, set(args.peers.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
