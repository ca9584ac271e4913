"""all-MiniLM-L6-v2 in bench/arm_peers (issue 19): instructions per inference of edgebuild's arm64 build against ONNX
Runtime's aarch64 wheel, in the same rootfs under the same `qemu-aarch64 -cpu`, one thread.

    python -m bench.arm_peers --models minilm --cores a76 [--seq 32 128]

The graph and the models are bench/bench_minilm.py's (the same files as on x86, from its cache): the SentenceEncoder
(BERT + mean pooling + L2 normalize), inputs (input_ids, attention_mask) int64 [1, seq] of one real sentence
(real_weights.SENTENCES[0], padded to seq; --full: the sentences joined, no padding), output the embedding float32 [1, 384].
- edgebuild: edgebuild.build(target="arm64"), with activations="dynamic" when the build accepts it, else the default
  build (static int8 + float fallback); counted by bench/arm_insns.py with the path forced to the core's (a76 →
  neondot), per op category by the runner's per-op markers.
- ONNX Runtime: the four int8 models of bench_minilm.ort_models (quantize_dynamic, per-tensor / per-channel weights,
  plain / fused by ORT's transformer optimizer), and the fp32 export for reference; CPU provider, default graph
  optimizations, one thread (guest.py). ORT's libraries are stripped: totals only. The peer's figure is its best
  int8 variant (fewest instructions).
- agreement: every engine's embedding against torch fp32 on the host (cosine), and the embedding of a second
  sentence (SENTENCES[2], by edgebuild on the host) must differ: an output that ignores the input cannot pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

# edgebuild's opcodes by category, for its per-op split
CATEGORY_OPS = {
    "FC": ("FULLY_CONNECTED", "DYNAMIC_FULLY_CONNECTED", "SPARSE_FULLY_CONNECTED"),
    "BMM": ("BATCH_MATMUL", "DYNAMIC_BATCH_MATMUL"),
    "add": ("ADD",),
    "softmax": ("SOFTMAX",),
    "attention": ("ATTENTION",),  # the fused op: its products, mask add and softmax (lower/fuse_attention.py)
    "norm": ("LAYER_NORM",),
    "GELU": ("UNARY",),
    "transpose/reshape": ("TRANSPOSE", "RESHAPE"),
    "(de)quantize": ("QUANTIZE", "DEQUANTIZE"),
}
CATEGORIES = (*CATEGORY_OPS, "other")


def edgebuild_categories(blob: bytes, counts: dict[str, Any]) -> dict[str, int]:
    from edgebuild.ir import OpCode
    from edgebuild.serialize import read_artifact

    by_op = {op: cat for cat, ops in CATEGORY_OPS.items() for op in ops}
    cat = dict.fromkeys(CATEGORIES, 0)
    for op, n in zip(read_artifact(blob).ops, counts["per_op"]):
        cat[by_op.get(OpCode(op.opcode).name, "other")] += n
    cat["other"] += counts["per_invoke"] - counts["ops_sum"]  # the executor's own instructions
    return cat


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def m(n: float) -> str:
    return f"{n / 1e6:.1f} M"


def run_minilm(
    seqs: list[int],
    cores: dict[str, tuple[str, str]],
    root: Path,
    plugin: Path,
    ranges: Path,
    cross_check: bool,
    log: Callable[[str], None],
    full: bool = False,
) -> list[str]:
    """Counts every engine on every core and seq; returns the markdown lines to print. `full`: inputs without
    padding (the sentences joined, as bench_minilm --full), so no key of attention is masked."""
    from bench.arm_insns import arm_instruction_counts
    from bench.bench_minilm import (
        edgebuild_artifact,
        edgebuild_dynamic_supported,
        load,
        onnx_export,
        ort_models,
    )
    from edgebuild import _native
    from tests.zoo.real_weights import CALIB_SENTENCES, SENTENCES, tokenize

    from .engines import run_engine

    model, tok, folder = load()
    dynamic = edgebuild_dynamic_supported()
    eb_label = "edgebuild int8 dynamic" if dynamic else "edgebuild default (static int8 + float fallback)"
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for seq in seqs:
        calib = tokenize(tok, CALIB_SENTENCES, seq)
        texts = [" ".join((SENTENCES[i:] + SENTENCES[:i]) * 2) for i in range(3)] if full else SENTENCES
        ids, mask = tokenize(tok, texts, seq)
        if full:
            notes.append(f"seq {seq}: no padding (--full): {int(mask[0].sum())} of {seq} tokens real")
        x = {"input_ids": ids[:1], "attention_mask": mask[:1]}
        with torch.inference_mode():
            ref = model(torch.from_numpy(ids[:1]), torch.from_numpy(mask[:1])).numpy()
        t = time.perf_counter()
        blob = edgebuild_artifact(model, seq, calib, folder, dynamic, target="arm64")
        peers = {**ort_models(model, seq, folder), "ORT fp32": onnx_export(model, seq, folder)}
        log(f"minilm seq {seq}: models ready ({time.perf_counter() - t:.0f} s)")
        host = _native.Model.from_bytes(blob)
        other = np.asarray(host.run([ids[2:3], mask[2:3]])[0])
        same = np.asarray(host.run([ids[:1], mask[:1]])[0])
        notes.append(
            f"seq {seq}: edgebuild (host) embedding of sentence 0 vs sentence 2: cosine {cosine(same, other):.3f}"
            " (the output follows the input)"
        )
        for cpu, isa in cores.values():
            t = time.perf_counter()
            eb = arm_instruction_counts(
                blob, [ids[:1], mask[:1]], (("eb", "arm64", cpu, isa),), outputs=True
            )["eb"]
            row: dict[str, Any] = {
                "seq": seq,
                "cpu": cpu,
                "isa": isa,
                "edgebuild": eb["per_invoke"],
                "edgebuild_cat": edgebuild_categories(blob, eb),
                "edgebuild_cos": cosine(eb["outputs"][0], ref),
                "edgebuild_vs_host": float(np.abs(np.asarray(eb["outputs"][0]) - same).max()),
            }
            log(
                f"minilm seq {seq} -cpu {cpu}: edgebuild {m(eb['per_invoke'])} ({time.perf_counter() - t:.0f} s)"
            )
            for label, path in peers.items():
                t = time.perf_counter()
                r = run_engine(root, plugin, ranges, "ort", path, x, cpu)
                row[label] = r["per_invoke"]
                row[f"{label}_cos"] = cosine(r["output"], ref)
                row[f"{label}_threads"] = r["threads"]
                log(
                    f"minilm seq {seq} -cpu {cpu}: {label} {m(r['per_invoke'])} ({time.perf_counter() - t:.0f} s)"
                )
            if cross_check and not any("cross" in r for r in rows):
                best = min((k for k in peers if "int8" in k), key=lambda k: row[k])
                log(f"minilm seq {seq} -cpu {cpu}: {best}, 1 and 11 invokes (cross-check)")
                one = run_engine(root, plugin, ranges, "ort", peers[best], x, cpu, invokes=1)
                eleven = run_engine(root, plugin, ranges, "ort", peers[best], x, cpu, invokes=11)
                whole = (eleven["process_total"] - one["process_total"]) / 10
                row["cross"] = (
                    f"seq {seq}, -cpu {cpu}, {best}: between markers {m(row[best])}, (11 invokes − 1 invoke)/10 of "
                    f"the whole process {m(whole)} ({(whole / row[best] - 1) * 100:+.2f}%)"
                )
            rows.append(row)

    labels = (
        [k for k in rows[0] if k.startswith("ORT") and not k.endswith(("_cos", "_threads"))] if rows else []
    )
    int8 = [k for k in labels if "int8" in k]
    out = [
        f"\nall-MiniLM-L6-v2 (SentenceEncoder), instructions per inference, 1 thread (M = 10⁶); {eb_label}:\n",
        "| seq | `-cpu` | edgebuild (path) | "
        + " | ".join(labels)
        + " | edgebuild / best ORT int8 | edgebuild / ORT fp32 |",
        "|---|---|---|" + "---|" * len(labels) + "---|---|",
    ]
    for row in rows:
        best = min(row[k] for k in int8)
        out.append(
            f"| {row['seq']} | {row['cpu']} | {m(row['edgebuild'])} ({row['isa']}) | "
            + " | ".join(m(row[k]) for k in labels)
            + f" | **{row['edgebuild'] / best:.2f}×** | {row['edgebuild'] / row['ORT fp32']:.2f}× |"
        )
    out += [
        "\nedgebuild per op category, M instructions (ONNX Runtime's libraries are stripped: totals only):\n",
        "| seq | `-cpu` | " + " | ".join(CATEGORIES) + " |",
        "|---|---|" + "---|" * len(CATEGORIES),
    ]
    for row in rows:
        out.append(
            f"| {row['seq']} | {row['cpu']} | "
            + " | ".join(f"{row['edgebuild_cat'][c] / 1e6:.1f}" for c in CATEGORIES)
            + " |"
        )
    out += [
        "\nEmbedding cosine against torch fp32 (host), the counted sentence:\n",
        "| seq | `-cpu` | edgebuild | " + " | ".join(labels) + " |",
        "|---|---|---|" + "---|" * len(labels),
    ]
    for row in rows:
        out.append(
            f"| {row['seq']} | {row['cpu']} | {row['edgebuild_cos']:.4f} | "
            + " | ".join(f"{row[f'{k}_cos']:.4f}" for k in labels)
            + " |"
        )
    out.append("")
    out += [f"- {n}" for n in notes]
    for row in rows:
        out.append(
            f"- seq {row['seq']}, -cpu {row['cpu']}: edgebuild's arm64 output vs the host extension's: "
            f"max |Δ| {row['edgebuild_vs_host']:.3g}"
        )
    threads = {k: sorted({row[f"{k}_threads"] for row in rows}) for k in labels}
    out.append(
        "- ONNX Runtime, threads that executed instructions during run() (all counted; intra_op_num_threads=1): "
        + ", ".join(f"{k} {v}" for k, v in threads.items())
    )
    out += [f"- cross-check: {row['cross']}" for row in rows if "cross" in row]
    return out
