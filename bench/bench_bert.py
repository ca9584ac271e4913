"""Latency of the BERT-style encoder (tests/zoo/bert.py) built by edgebuild against PyTorch fp32, in one run.

    python -m bench.bench_bert [--runs 30] [--threads 1] [--configs zoo minilm]

Configs: `zoo` is the test-zoo encoder (2 layers, d=64, 4 heads, ffn 128, seq 16); `minilm` has MiniLM-L2's layer
shape (2 layers, d=384, 12 heads, ffn 1536, seq 128, vocab 8192 instead of 30522 to keep calibration quick: the
vocabulary size does not change the latency, an embedding lookup reads SEQ rows).
Engines (batch 1, seeded random weights and token ids, medians over --runs after warm-up, --threads threads):
  edgebuild            in-process (edgebuild._native): int8 linears (ISA dispatch), embedding / layer_norm /
                       attention / GELU on the float fallback (fp32 reference kernels)
  edgebuild all-float  every layer forced to float (float_layers): the float fallback alone
  torch fp32           eager, torch.inference_mode
Prints each latency and the ratios edgebuild / torch. Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch

CONFIGS = {
    "zoo": {},
    "minilm": {"vocab": 8192, "seq": 128, "dim": 384, "heads": 12, "ffn": 1536},
}


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def build(model: torch.nn.Module, calib: list, float_all: bool, threads: int):  # -> _native.Model
    from edgebuild import _native
    from edgebuild.lower import lower_graph
    from edgebuild.plan import plan_arena
    from edgebuild.quantize import quantize_model
    from edgebuild.serialize import artifact_bytes

    gm = torch.export.export(copy.deepcopy(model), calib[0]).module()
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function") if float_all else ()
    prog = lower_graph(quantize_model(gm, calib, float_layers=layers), "bert", float_layers=layers)
    plan_arena(prog)
    m = _native.Model.from_bytes(artifact_bytes(prog))
    m.threads = threads
    return m, prog


def main(argv: list[str] | None = None) -> int:
    from tests.zoo.bert import tiny_bert, token_batch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in args.configs:
        sizes = CONFIGS[name]
        model = tiny_bert(**sizes)  # GELU in the FFN (int8 UNARY table)
        ids, types = token_batch(8, vocab=sizes.get("vocab", 512), seq=sizes.get("seq", 16))
        calib = [(ids[i : i + 1], types[i : i + 1]) for i in range(8)]
        x = calib[0]
        xs = [t.numpy() for t in x]
        mixed, prog = build(model, calib, False, args.threads)
        floats, _ = build(model, calib, True, args.threads)
        n_float = len(prog.metadata["float_ops"])
        with torch.inference_mode():
            t_torch = median_ms(lambda m=model, a=x: m(*a), args.runs)
        t_mixed = median_ms(lambda m=mixed, a=xs: m.run(a), args.runs)
        t_float = median_ms(lambda m=floats, a=xs: m.run(a), args.runs)
        print(
            f"{name}: seq {x[0].shape[1]}, {args.threads} thread(s), ISA {mixed.isa}, {args.runs} runs (median)"
        )
        print(f"  torch fp32            {t_torch:9.3f} ms")
        print(
            f"  edgebuild             {t_mixed:9.3f} ms   {t_mixed / t_torch:6.2f}x torch  ({n_float} ops in float)"
        )
        print(f"  edgebuild all-float   {t_float:9.3f} ms   {t_float / t_torch:6.2f}x torch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
