"""all-MiniLM-L6-v2 (real weights, real sentences) on edgebuild against PyTorch fp32, ONNX Runtime int8 and
ExecuTorch + XNNPACK int8, in one run (issue 19):

    python -m bench.bench_minilm [--seq 32 128] [--runs 30] [--engines torch ort executorch edgebuild] [--also-default]

The graph, the same for every engine: tests/zoo/real_weights.py's SentenceEncoder, i.e. all-MiniLM-L6-v2 as
sentence-transformers runs it (BERT's last hidden state, mean-pooled over the attention mask, L2-normalized),
inputs (input_ids, attention_mask) int64 [1, seq], output the sentence embedding float32 [1, 384]. Every engine runs
it whole (the pooling and the normalization are a few hundred FLOPs next to the encoder's ~0.3 / 1.4 GMAC).
Inputs are the 12 real sentences of real_weights.SENTENCES tokenized by the package's tokenizer and padded to seq
(--full: no padding, every token real: sample i is the sentences joined twice from sentence i on, cut at seq); the static
int8 builds calibrate on real_weights.CALIB_SENTENCES (other sentences).

Engines (batch 1, one thread each):
  torch          PyTorch fp32 eager, torch.inference_mode, torch.set_num_threads(1).
  ort            ONNX Runtime int8 by `onnxruntime.quantization.quantize_dynamic` (uint8 activations quantized per
                 tensor at run time, int8 weights) on the TorchScript ONNX export (opset 17); intra_op_num_threads=1,
                 graph optimizations on (ORT_ENABLE_ALL). Four variants, each timed, the fastest is ORT's figure:
                 per-tensor or per-channel weights (per_channel=True), each on the plain export or on the export
                 fused first by ORT's transformer optimizer (onnxruntime.transformers.optimizer, model_type "bert":
                 Attention, SkipLayerNormalization, BiasGelu; then quantize_dynamic makes QAttention), which is
                 ORT's documented recipe for BERT-family models.
  executorch     ExecuTorch 1.5 + XNNPACK, int8: PT2E with XNNPACKQuantizer and
                 get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True) (dynamic int8 activations,
                 per-channel int8 weights on the linears), to_edge_transform_and_lower(XnnpackPartitioner()), run by
                 executorch.runtime after portable_lib._unsafe_reset_threadpool(1). `pip install -e .[bench]`.
  edgebuild      edgebuild.build(..., target="host") run in-process (edgebuild._native, the ISA dispatch picks).
                 With `activations="dynamic"` when edgebuild.build accepts it (dynamic int8 linears, eq. 14-15 of
                 docs/quantization.md), else the default build (static int8 where the calibration allows, float
                 fallback for the rest); the column's label says which. --also-default measures both builds.
                 Artifacts, ONNX models and the .pte are cached in ~/.cache/edgebuild/bench-minilm/ (a warm run
                 takes ~1 minute; a cold one ~5, ExecuTorch's lowering at seq 128 the longest).
Timing: every engine is warmed up (3 calls), then the engines alternate call by call (round r runs each engine once
on sentence r mod 12, the order rotating per round), and each latency is the median of --runs calls. The figure
compared is the process's CPU time per call (time.process_time: every thread of the process, so an engine that ran
more threads than asked is not flattered, and a note says so), which a shared machine's preemption does not inflate
as it does wall time (printed too); the p10-p90 spread says how noisy the machine was all the same.
Accuracy, per engine against torch fp32 on the same 12 sentences: min cosine of the sentence embeddings, the
Spearman correlation of the 66 pairwise similarities (the issue's ranking criterion) and whether every sentence's
nearest neighbour is the same; and, so an engine whose output ignores its input cannot pass, the smallest distance
between the embeddings of two different sentences (it must not be ~0).
Not a test: latencies depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import inspect
import io
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ENGINES = ("torch", "ort", "executorch", "edgebuild")
WARMUP = 3
# the smallest |e_i - e_j| between two different sentences' embeddings that counts as distinct
MIN_DISTINCT = 1e-3
# (input_ids [1, seq], attention_mask [1, seq]) -> the embedding [1, 384]
Run = Callable[[np.ndarray, np.ndarray], np.ndarray]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def quiet() -> Any:
    """The exporters' and quantizers' warnings and progress output, which say nothing about the figures."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgebuild" / "bench-minilm"


# ---- engines: each returns {label: run} ------------------------------------------------------------------------


def torch_engine(model: torch.nn.Module, seq: int) -> dict[str, Run]:
    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()

    return {"torch fp32": run}


def onnx_export(model: torch.nn.Module, seq: int, folder: Path) -> Path:
    path = folder / f"minilm-{seq}.onnx"
    if not path.is_file():
        x = (torch.ones((1, seq), dtype=torch.int64), torch.ones((1, seq), dtype=torch.int64))
        with quiet():
            torch.onnx.export(
                copy.deepcopy(model),
                x,
                str(folder / "tmp.onnx"),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamo=False,
                opset_version=17,
            )
        (folder / "tmp.onnx").replace(path)
    return path


def ort_models(model: torch.nn.Module, seq: int, folder: Path) -> dict[str, Path]:
    """ONNX Runtime's int8 models of the encoder at `seq` (cached in `folder`), by label: quantize_dynamic with
    per-tensor or per-channel weights, on the plain export or on the one ORT's transformer optimizer fused."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    plain = onnx_export(model, seq, folder)
    fused = folder / f"minilm-{seq}-fused.onnx"
    if not fused.is_file():
        with quiet():
            opt = optimizer.optimize_model(
                str(plain), model_type="bert", num_heads=12, hidden_size=384, opt_level=0
            )
            opt.save_model_to_file(str(folder / "tmp.onnx"))
        (folder / "tmp.onnx").replace(fused)
    out: dict[str, Path] = {}
    for base, tag in ((plain, ""), (fused, " fused")):
        for per_channel in (False, True):
            q = folder / f"{base.stem}-int8{'-pc' if per_channel else ''}.onnx"
            if not q.is_file():
                with quiet():
                    quantize_dynamic(
                        str(base),
                        str(folder / "tmp.onnx"),
                        weight_type=QuantType.QInt8,
                        per_channel=per_channel,
                        # shape inference stops at the fused com.microsoft ops: their outputs are float
                        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
                    )
                (folder / "tmp.onnx").replace(q)
            out[f"ORT int8{tag}{' per-channel' if per_channel else ''}"] = q
    return out


def ort_engine(model: torch.nn.Module, seq: int, folder: Path) -> dict[str, Run]:
    try:
        import onnxruntime as ort
    except ImportError:
        log("onnxruntime is not installed: pip install -e .[bench]  (onnxruntime==1.31.1; skipped)")
        return {}

    runs: dict[str, Run] = {}
    for label, path in ort_models(model, seq, folder).items():
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

        def run(ids: np.ndarray, mask: np.ndarray, s: Any = sess) -> np.ndarray:
            return s.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        runs[label] = run
    return runs


def executorch_engine(
    model: torch.nn.Module, seq: int, folder: Path, calib: list[np.ndarray]
) -> dict[str, Run]:
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from executorch.exir import to_edge_transform_and_lower
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime
    except ImportError:
        log("executorch is not installed: pip install -e .[bench]  (executorch==1.5.1; skipped)")
        return {}
    pte = folder / f"minilm-{seq}-xnnpack-qd8.pte"
    if not pte.is_file():
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        x = (torch.from_numpy(calib[0][:1]), torch.from_numpy(calib[1][:1]))
        with quiet():
            ep = torch.export.export(copy.deepcopy(model), x)
            for n in ep.graph.nodes:
                # transformers' mask builds `arange(seq) + 0`, exported as add.Tensor(arange, 0); ExportedProgram
                # .module() (torch 2.13) turns that 0 into a float tensor constant, and the module it returns
                # fails in aten.index (float indices). add.Scalar is the same arithmetic without the bug.
                if n.target is torch.ops.aten.add.Tensor and isinstance(n.args[1], int):
                    n.target = torch.ops.aten.add.Scalar
            gm = ep.module()
            quantizer = XNNPACKQuantizer().set_global(
                get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)
            )
            prepared = prepare_pt2e(gm, quantizer)
            for i in range(len(calib[0])):  # dynamic activations: the observers only see the weights
                prepared(torch.from_numpy(calib[0][i : i + 1]), torch.from_numpy(calib[1][i : i + 1]))
            converted = convert_pt2e(prepared)
            lowered = to_edge_transform_and_lower(
                torch.export.export(converted, x), partitioner=[XnnpackPartitioner()]
            ).to_executorch()
        (folder / "tmp.pte").write_bytes(lowered.buffer)
        (folder / "tmp.pte").replace(pte)
    portable_lib._unsafe_reset_threadpool(1)
    program = Runtime.get().load_program(pte.read_bytes())
    method = program.load_method("forward")

    # the method needs its program alive (else execute() crashes): the default argument holds it
    def run(ids: np.ndarray, mask: np.ndarray, _keep: Any = program) -> np.ndarray:
        return method.execute([torch.from_numpy(ids), torch.from_numpy(mask)])[0].numpy()

    return {"ExecuTorch XNNPACK int8": run}


def edgebuild_dynamic_supported() -> bool:
    """Whether edgebuild.build takes `activations=` (issue 19's dynamic int8 linears): as its own keyword, or as a
    field of CompressOptions (which build() takes as keywords too)."""
    import edgebuild
    from edgebuild.compress.options import CompressOptions

    return (
        "activations" in inspect.signature(edgebuild.build).parameters
        or "activations" in CompressOptions.__dataclass_fields__
    )


def edgebuild_artifact(
    model: torch.nn.Module,
    seq: int,
    calib: list[np.ndarray],
    folder: Path,
    dynamic: bool,
    target: str = "host",
) -> bytes:
    """The artifact for `target`, cached by edgebuild's Python sources (bench/arm_peers/models.py's hash), seq,
    target and mode."""
    import edgebuild
    from bench.arm_peers.models import _sources_hash

    h = hashlib.sha256(
        f"{_sources_hash()}-{seq}-{dynamic}-{target}".encode() + calib[0].tobytes()
    ).hexdigest()[:16]
    path = folder / f"minilm-{seq}-edgebuild-{target}-{h}.ebm"
    if not path.is_file():
        opts: dict[str, Any] = {"activations": "dynamic"} if dynamic else {}
        x = (torch.from_numpy(calib[0][:1]), torch.from_numpy(calib[1][:1]))
        with quiet():
            bundle = edgebuild.build(
                model,
                x,
                calib={"input_ids": calib[0], "attention_mask": calib[1]},
                target=target,
                smoke=False,
                **opts,
            )
        (folder / "tmp.ebm").write_bytes((bundle.path / "model.ebm").read_bytes())
        (folder / "tmp.ebm").replace(path)
    return path.read_bytes()


def edgebuild_engine(
    model: torch.nn.Module, seq: int, calib: list[np.ndarray], folder: Path, dynamic: bool
) -> dict[str, Run]:
    from edgebuild import _native

    blob = edgebuild_artifact(model, seq, calib, folder, dynamic)
    m = _native.Model.from_bytes(blob)
    m.threads = 1
    from edgebuild.serialize import read_artifact

    counts: dict[str, int] = {}
    prog = read_artifact(blob)
    for op in prog.ops:  # by opcode and the dtype of its first input: which ops run int8, which float
        key = (
            f"{op_name(op.opcode)}/{prog.tensors[op.inputs[0]].dtype.name.lower()}"
            if op.inputs
            else op_name(op.opcode)
        )
        counts[key] = counts.get(key, 0) + 1
    label = "edgebuild int8 dynamic" if dynamic else "edgebuild default (static int8 + float fallback)"
    log(
        f"edgebuild (seq {seq}, ISA {m.isa}): {label}; ops "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(m.run([ids, mask])[0])

    run.model = m  # type: ignore[attr-defined]  # for op_times
    run.program = prog  # type: ignore[attr-defined]
    return {label: run}


def op_times(run: Any, ids: np.ndarray, mask: np.ndarray, n: int = 10) -> list[tuple[str, float, int]]:
    """edgebuild's profiler: (opcode/dtype of its first input, ms (each op's fastest of n runs), number of ops),
    largest total first."""
    m, prog = run.model, run.program
    m.profiling = True
    per_run = []
    for _ in range(n):
        m.run([ids, mask])
        per_run.append(m.op_times_ns())
    m.profiling = False
    total: dict[str, float] = {}
    count: dict[str, int] = {}
    for i, op in enumerate(prog.ops):
        key = op_name(op.opcode) + (f"/{prog.tensors[op.inputs[0]].dtype.name.lower()}" if op.inputs else "")
        total[key] = total.get(key, 0.0) + min(r[i] for r in per_run) / 1e6
        count[key] = count.get(key, 0) + 1
    return sorted(((k, v, count[k]) for k, v in total.items()), key=lambda r: -r[1])


def op_name(code: int) -> str:
    from edgebuild.ir import OpCode

    return OpCode(code).name


# ---- accuracy ---------------------------------------------------------------------------------------------------


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)).astype(np.float64), np.argsort(np.argsort(b)).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def accuracy(emb: np.ndarray, ref: np.ndarray) -> dict[str, float | bool]:
    """emb, ref [n, 384]: min cosine per sentence, Spearman of the pairwise similarities, same nearest neighbours,
    the smallest distance between two different sentences' embeddings."""
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    r = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    iu = np.triu_indices(len(e), 1)
    se, sr = e @ e.T, r @ r.T
    np.fill_diagonal(se, -np.inf)
    np.fill_diagonal(sr, -np.inf)
    dist = np.linalg.norm(emb[:, None, :] - emb[None, :, :], axis=-1)[iu]
    return {
        "cos": float(np.sum(e * r, axis=1).min()),
        "spearman": spearman(se[iu], sr[iu]),
        "nn": bool((se.argmax(1) == sr.argmax(1)).all()),
        "distinct": float(dist.min()),
    }


# ---- the run ----------------------------------------------------------------------------------------------------


def measure(
    runs: dict[str, Run], samples: list[tuple[np.ndarray, np.ndarray]], n: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(wall ms, process CPU ms) per call of each engine, the engines alternating call by call."""
    names = list(runs)
    for name in names:
        for i in range(WARMUP):
            runs[name](*samples[i % len(samples)])
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for r in range(n):
        order = names[r % len(names) :] + names[: r % len(names)]  # no engine always first after another's
        for name in order:
            ids, mask = samples[r % len(samples)]
            c, t = time.process_time(), time.perf_counter()
            runs[name](ids, mask)
            wall[name].append((time.perf_counter() - t) * 1e3)
            cpu[name].append((time.process_time() - c) * 1e3)
    return wall, cpu


def load() -> tuple[torch.nn.Module, Any, Path]:
    """(the SentenceEncoder, its tokenizer, the cache folder of its exports: keyed by the weights)."""
    from tests.zoo.real_weights import minilm

    with quiet():
        model, tok = minilm()
    digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.state_dict().values()))
    folder = cache_dir() / digest.hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    return model, tok, folder


def main(argv: list[str] | None = None) -> int:
    from tests.zoo.real_weights import CALIB_SENTENCES, SENTENCES, tokenize

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    ap.add_argument(
        "--also-default",
        action="store_true",
        help="when edgebuild has dynamic activations, measure its default build too (before / after in one run)",
    )
    ap.add_argument(
        "--full",
        action="store_true",
        help="no padding: sample i is the 12 sentences joined twice, starting at sentence i, cut at seq (every token real; "
        "the padded default lets attention skip the masked keys' exps, which no peer does)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, tok, folder = load()
    uptime = os.getloadavg()
    t0 = time.perf_counter()
    for seq in args.seq:
        calib = tokenize(tok, CALIB_SENTENCES, seq)
        texts = (
            [" ".join((SENTENCES[i:] + SENTENCES[:i]) * 2) for i in range(len(SENTENCES))]
            if args.full
            else SENTENCES
        )
        ids, mask = tokenize(tok, texts, seq)
        if args.full and not mask.all():
            log(f"seq {seq}: the joined sentences are shorter than seq: some padding is left")
        samples = [(ids[i : i + 1], mask[i : i + 1]) for i in range(len(SENTENCES))]
        runs: dict[str, Run] = torch_engine(model, seq)
        t = time.perf_counter()
        if "ort" in args.engines:
            runs.update(ort_engine(model, seq, folder))
            log(f"seq {seq}: ORT models ready ({time.perf_counter() - t:.0f} s)")
        t = time.perf_counter()
        if "executorch" in args.engines:
            runs.update(executorch_engine(model, seq, folder, calib))
            log(f"seq {seq}: ExecuTorch program ready ({time.perf_counter() - t:.0f} s)")
        t = time.perf_counter()
        if "edgebuild" in args.engines:
            dynamic = edgebuild_dynamic_supported()
            if args.also_default and dynamic:
                runs.update(edgebuild_engine(model, seq, calib, folder, False))
            runs.update(edgebuild_engine(model, seq, calib, folder, dynamic))
            log(f"seq {seq}: edgebuild built ({time.perf_counter() - t:.0f} s)")
        if "torch" not in args.engines:
            del runs["torch fp32"]
        ref = np.concatenate([torch_engine(model, seq)["torch fp32"](*s) for s in samples])
        acc = {
            k: accuracy(np.concatenate([np.asarray(run(*s)) for s in samples]), ref)
            for k, run in runs.items()
        }
        wall, cpu = measure(runs, samples, args.runs)
        med = {k: statistics.median(v) for k, v in cpu.items()}
        print(
            f"\nall-MiniLM-L6-v2 (SentenceEncoder: BERT + mean pooling + L2 normalize), seq {seq}, batch 1, 1 thread, "
            f"{args.runs} alternating runs, {len(SENTENCES)} real sentences; load average {os.getloadavg()[0]:.1f}\n"
        )
        print(
            "| engine | CPU ms (median) | p10-p90 | wall ms (median) | min cos vs fp32 | Spearman (pairs) | same NN "
            "| min dist between sentences |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for k, v in cpu.items():
            q = np.percentile(v, [10, 90])
            a = acc[k]
            print(
                f"| {k} | {med[k]:.2f} | {q[0]:.2f}-{q[1]:.2f} | {statistics.median(wall[k]):.2f} | {a['cos']:.4f} "
                f"| {a['spearman']:.4f} | {'yes' if a['nn'] else '**no**'} | {a['distinct']:.3f}"
                f"{'' if a['distinct'] >= MIN_DISTINCT else ' **output ignores the input**'} |"
            )
        print()
        for k, run in runs.items():
            if hasattr(run, "model"):
                rows = op_times(run, *samples[0])
                total = sum(r[1] for r in rows)
                print(
                    f"- {k}, share of each op type in its time (profiler, wall time per op, each op's fastest of "
                    "10 runs; number of ops): "
                    + ", ".join(
                        f"{name} {100 * ms / total:.1f}% ({n})" for name, ms, n in rows if ms >= total / 500
                    )
                )
        for k in cpu:
            if statistics.median(cpu[k]) > 1.3 * statistics.median(wall[k]):
                print(f"- note: {k} used more CPU time than wall time: more than one thread ran")
        eb = next((k for k in reversed(med) if k.startswith("edgebuild")), None)  # the dynamic one when both
        peers = {k: v for k, v in med.items() if k.startswith(("ORT", "ExecuTorch"))}
        if eb is not None:
            if "torch fp32" in med:
                print(f"- {eb} / torch fp32: **{med[eb] / med['torch fp32']:.2f}×** (issue 19's goal ≤ 0.5×)")
            if peers:
                best = min(peers, key=peers.__getitem__)
                print(
                    f"- {eb} / best int8 peer ({best}, {peers[best]:.2f} ms, min cos {acc[best]['cos']:.4f}): "
                    f"**{med[eb] / peers[best]:.2f}×** (goal ≤ 0.8×)"
                )
                good = {k: v for k, v in peers.items() if acc[k]["cos"] >= 0.99}
                if good and min(good, key=good.__getitem__) != best:
                    b = min(good, key=good.__getitem__)
                    print(
                        f"- {eb} / best int8 peer with min cos ≥ 0.99 ({b}, {good[b]:.2f} ms): {med[eb] / good[b]:.2f}×"
                    )
    print(
        f"\n{time.perf_counter() - t0:.0f} s in all; load average at the start {uptime[0]:.2f} "
        f"(2 cores shared: compare the columns of one run, not runs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
