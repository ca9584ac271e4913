"""Every claim of `edgebuild ops` (edgebuild/coverage.py) is checked by building the op's sample (core_samples.py):

- each sample's graph, after capture's decomposition (edgebuild/decompose.py), contains its op (or, for an op the table calls
  decomposed, does not, and holds only the ops the table says it becomes);
- every op claimed covered (float lowering, folded, decomposed) builds in float through the real path (capture ->
  quantize with every node a float layer -> lower -> edgebuild's host runtime) and agrees with PyTorch eager;
- every op claimed int8 is lowered in int8 when PT2E quantizes it, within 1 output LSB of PT2E's q/dq reference;
- every op claimed missing fails the build with an EdgebuildError that names it;
- docs/ops.md is the table's current rendering.

Samples are built in batches (one module holding many samples) so that the file stays fast; when a batch fails,
each of its samples is built alone to name the ones at fault.

Tolerances. Float forms against PyTorch eager: max |ours - torch| <= tol * max(1, max |torch|), tol = 1e-5 unless a
sample states more (core_samples.Sample.tol). Our reference kernels sum in double and round once and compute
transcendentals in double rounded once (f32math.h), PyTorch works in fp32 in its own order, so the difference is
PyTorch's own rounding, a few float32 ULPs (~1e-7 relative) times the reduction length for these tiny shapes.
Predicates and integer results agree exactly (they are 0/1 or integers well inside float32's exact range).
int8 forms against PT2E's q/dq reference graph: within one step of the output's quantization scale (+1e-6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.fx import GraphModule, Node

from edgebuild.capture import capture
from edgebuild.coverage import DECOMPOSED, KNOWN_GAPS, OpCoverage, core_aten_ops, coverage_table, docs_stale
from edgebuild.decompose import kept_ops, to_core_aten
from edgebuild.errors import EdgebuildError
from edgebuild.load import LoadedModel
from edgebuild.lower import DEQUANTIZE_NODES, lower_graph, op_name
from edgebuild.quantize import quantize_model
from tests.ops.core_samples import SAMPLES

TABLE = {r.op: r for r in coverage_table()}
KEPT = kept_ops()  # not decomposed by capture


class Batch(torch.nn.Module):
    """Several samples as one module: the inputs of each in turn, the outputs of each in turn."""

    def __init__(self, ops: Sequence[str]):
        super().__init__()
        self.ops = list(ops)
        self.parts = torch.nn.ModuleList([SAMPLES[op].module() for op in self.ops])

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs: list[torch.Tensor] = []
        i = 0
        for op, part in zip(self.ops, self.parts):
            n = len(SAMPLES[op].inputs)
            r = part(*xs[i : i + n])
            i += n
            outs.extend(r if isinstance(r, tuple) else (r,))
        return tuple(outs)

    def example(self, seed: int) -> tuple[torch.Tensor, ...]:
        return tuple(t for op in self.ops for t in SAMPLES[op].example(seed))

    def n_outputs(self, seed: int = 0) -> list[int]:
        counts = []
        for op in self.ops:
            r = SAMPLES[op].module()(*SAMPLES[op].example(seed))
            counts.append(len(r) if isinstance(r, tuple) else 1)
        return counts


def capture_graph(module: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> GraphModule:
    """The graph edgebuild builds from: capture's (ops without a lowering decomposed, constants folded)."""
    loaded = LoadedModel(Path("samples.pt"), "module", module=module)
    return capture(loaded, [t.numpy() for t in example])


def decomposed_graph(module: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> GraphModule:
    """Capture's decomposition without its constant folding: where each sample's op is still visible."""
    return to_core_aten(torch.export.export(module, example, strict=False)).module()


def sample_of(node: Node) -> int | None:
    """The index of the Batch part a node comes from (its module path "parts.<i>")."""
    for value in (node.meta.get("nn_module_stack") or {}).values():
        path = value[0] if isinstance(value, tuple) else str(value)
        path = path.replace("L['self'].", "")
        if path.startswith("parts."):
            return int(path.split(".")[1])
    return None


def run_native(prog: object, example: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    from tests.helpers import native

    arrays = [t.numpy().astype(np.int32) if not t.is_floating_point() else t.numpy() for t in example]
    return [np.asarray(o) for o in native(prog).run(arrays)]


def build_float(batch: Batch, example: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    gm = capture_graph(batch, example)
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    qgm = quantize_model(gm, [example], float_layers=layers)
    return run_native(lower_graph(qgm, "ops", float_layers=layers), example)


def per_sample(ops: Sequence[str], check: Callable[[list[str]], list[str]]) -> list[str]:
    """Run `check` on all of `ops` at once; if that raises, on each half in turn (down to single ops), so one bad
    sample costs a few extra builds and every op's failure is still reported."""
    try:
        return check(list(ops))
    except Exception as e:  # noqa: BLE001  (reported per op)
        if len(ops) == 1:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            return [f"{ops[0]}: {type(e).__name__}: {first}"]
    half = len(ops) // 2
    return per_sample(ops[:half], check) + per_sample(ops[half:], check)


class _NotNamed(Exception):
    """The batch's build error does not name every op: look at smaller batches."""


def close(op: str, got: np.ndarray, ref: torch.Tensor, tol: float) -> str | None:
    want = ref.detach().to(torch.float32).numpy()
    if got.shape != want.shape and got.size == want.size:
        got = got.reshape(want.shape)
    if got.shape != want.shape:
        return f"{op}: shape {got.shape}, torch {want.shape}"
    err = float(np.abs(got - want).max()) if want.size else 0.0
    bound = tol * max(1.0, float(np.abs(want).max()) if want.size else 0.0)
    return None if err <= bound else f"{op}: max |ours - torch| = {err:.3g} > {bound:.3g}"


def with_status(pred: Callable[[OpCoverage], bool]) -> list[str]:
    return [op for op, r in TABLE.items() if pred(r)]


# ---- the table itself ----


def test_every_inference_op_has_a_sample() -> None:
    inference = with_status(lambda r: r.inference)
    assert len(core_aten_ops()) >= 180
    assert sorted(set(inference) - set(SAMPLES)) == []
    assert sorted(set(SAMPLES) - set(inference)) == []


def test_table_claims_are_consistent() -> None:
    for op, r in TABLE.items():
        assert r.status in ("lowered", "folded", "decomposed", "excluded", "missing"), r
        assert r.status != "lowered" or r.int8 or r.float, r
        assert r.status == "lowered" or not (r.int8 or r.float), r
        assert r.note or r.status == "lowered", r
    # an op torch's table would decompose and we did not lower must be in DECOMPOSED with what it becomes
    table = torch.export.default_decompositions()
    for op in core_aten_ops():
        _, name, overload = op.split(".")
        if getattr(getattr(torch.ops.aten, name), overload) in table and TABLE[op].inference:
            assert TABLE[op].status == "lowered" or op in DECOMPOSED, op


def test_docs_ops_md_is_current() -> None:
    assert not docs_stale(), "docs/ops.md is stale: run python -m edgebuild.coverage --write-docs"


# ---- the samples contain their op ----


def test_each_sample_graph_contains_its_op() -> None:
    ops = sorted(SAMPLES)
    batch = Batch(ops).eval()
    example = batch.example(0)
    plain = torch.export.export(batch, example, strict=False).module()
    gm = decomposed_graph(Batch(ops).eval(), example)

    def ops_by_sample(g: GraphModule) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for n in g.graph.nodes:
            i = sample_of(n) if n.op == "call_function" else None
            if i is not None:
                found.setdefault(i, set()).add(op_name(n))
        return found

    before, after = ops_by_sample(plain), ops_by_sample(gm)
    problems = []
    for i, op in enumerate(ops):
        got = after.get(i, set())
        if TABLE[op].status == "decomposed" or (TABLE[op].status == "missing" and op in DECOMPOSED):
            into = set(DECOMPOSED[op][0])
            # a non-core op with a lowering is not decomposed further (squeeze.dim, pad, adaptive_avg_pool2d):
            # it may stand in for a core op of the list
            extra = {o for o in got - into - (before.get(i, set()) - {op}) if o not in KEPT}
            if op in got or extra:
                problems.append(f"{op}: decomposed graph has {sorted(got)}; the table says {sorted(into)}")
        elif (
            op not in got and op not in KNOWN_GAPS
        ):  # a known gap may never reach the graph (coverage.py says why)
            problems.append(f"{op}: not in its sample's graph {sorted(got)}")
    assert problems == [], "\n".join(problems)


# ---- float claims ----


def test_float_claims_build_and_match_pytorch() -> None:
    ops = with_status(lambda r: r.float or r.status in ("folded", "decomposed"))

    # one build, two inputs: capture/quantize/lower once, run the program on each seed
    def check_once(part: list[str]) -> list[str]:
        batch = Batch(part).eval()
        counts = batch.n_outputs()
        example0 = batch.example(0)
        gm = capture_graph(batch, example0)
        layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
        prog = lower_graph(quantize_model(gm, [example0], float_layers=layers), "ops", float_layers=layers)
        problems = []
        for seed in (0, 1):
            example = batch.example(seed)
            got, refs = run_native(prog, example), batch(*example)
            k = 0
            for op, n in zip(part, counts):
                problems += [
                    p for j in range(n) if (p := close(op, got[k + j], refs[k + j], SAMPLES[op].tol))
                ]
                k += n
        return sorted(set(problems))

    problems = per_sample(ops, check_once)
    assert problems == [], "float claims that do not hold:\n" + "\n".join(problems)


# ---- int8 claims ----


class _Prelude(torch.nn.Module):
    """hardtanh(x, -8, 8) in front of each float input (the identity on these inputs): PT2E quantizes it, so the
    sample's op reads an int8 tensor, as it would behind any quantized layer."""

    def __init__(self, batch: Batch):
        super().__init__()
        self.batch = batch

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.batch(
            *(torch.ops.aten.hardtanh(x, -8.0, 8.0) if x.is_floating_point() else x for x in xs)
        )


# Ops whose samples output indices: int8 values tie often, and which of two equal values comes first is not
# specified (PyTorch's order is its kernel's), so only their int8 lowering is checked, not the indices' values.
TIE_BROKEN = {
    "aten.topk.default",
    "aten.sort.default",
    "aten.max.dim",
    "aten.min.dim",
    "aten.argmax.default",
    "aten.argmin.default",
}


def test_int8_claims_lower_in_int8_within_one_lsb() -> None:
    ops = with_status(lambda r: r.int8)

    def check(part: list[str]) -> list[str]:
        batch = Batch(part).eval()
        model = _Prelude(batch).eval()
        calib = [batch.example(s) for s in range(4)]
        gm = capture_graph(model, calib[0])
        qgm = quantize_model(gm, calib)
        prog = lower_graph(qgm, "ops")
        floated = {e["node"] for e in prog.metadata["float_ops"]}
        problems = [
            f"{part[i]}: lowered in float ({n.name})"
            for n in qgm.graph.nodes
            if n.op == "call_function"
            and (i := sample_of(n)) is not None
            and op_name(n) == part[i]
            and n.name in floated
        ]
        example = batch.example(7)
        got, refs = run_native(prog, example), qgm(*example)
        outputs = next(n for n in qgm.graph.nodes if n.op == "output").args[0]
        owner = [op for op, n in zip(part, batch.n_outputs()) for _ in range(n)]
        for k, (g, r, node) in enumerate(zip(got, refs, outputs)):
            if owner[k] in TIE_BROKEN:
                continue
            lsb = float(node.args[1]) if isinstance(node, Node) and node.target in DEQUANTIZE_NODES else 0.0
            want = r.detach().numpy()
            err = float(np.abs(g.reshape(want.shape) - want).max())
            if err > lsb + 1e-6 + (0.0 if lsb else 1e-5 * max(1.0, float(np.abs(want).max()))):
                problems.append(f"{owner[k]}: max |ours - PT2E| = {err:.3g}, output LSB {lsb:.3g}")
        return problems

    problems = per_sample(ops, check)
    assert problems == [], "int8 claims that do not hold:\n" + "\n".join(problems)


# ---- missing claims ----


def test_missing_ops_fail_the_build_naming_the_op() -> None:
    # KNOWN_GAPS have a lowering that refuses part of what the op expresses: their samples fail on that refusal
    ops = [op for op in with_status(lambda r: r.status == "missing") if op not in KNOWN_GAPS]

    def names(op: str) -> list[str]:
        if op in DECOMPOSED:
            # it is gone from the graph: the build names an op it became that is missing, by its ATen name, or by
            # the name of the non-core op capture kept in its place ("aten._adaptive_avg_pool2d.default" is
            # "aten.adaptive_avg_pool2d.default" when that one has a lowering: "adaptive_avg_pool2d")
            lacking = [o for o in DECOMPOSED[op][0] if TABLE.get(o) is None or not TABLE[o].covered]
            return lacking + [o.split(".")[1].lstrip("_") for o in lacking]
        return [op]

    def check(part: list[str]) -> list[str]:
        batch = Batch(part).eval()
        try:
            build_float(batch, batch.example(0))
        except EdgebuildError as e:
            msg = str(e)
            unnamed = [op for op in part if not any(n in msg for n in names(op))]
            if unnamed and len(part) > 1:
                raise _NotNamed(msg) from e
            return [f"{op}: the build error does not name {names(op)}: {msg[:300]}" for op in unnamed]
        return [f"{op}: built although the table says missing" for op in part]

    problems = per_sample(ops, check)
    assert problems == [], "missing claims that do not hold:\n" + "\n".join(problems)


@pytest.mark.parametrize("argv", [["ops", "--coverage"], ["ops"], ["ops", "--json"]])
def test_cli_ops(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from edgebuild.cli import main

    assert main(argv) == 0
    out = capsys.readouterr().out
    inference = with_status(lambda r: r.inference)
    covered = sum(TABLE[op].covered for op in inference)
    if argv == ["ops", "--coverage"]:
        assert f"{covered} of {len(inference)} core ATen inference ops covered" in out
        for op in with_status(lambda r: r.status == "missing"):
            assert f"  {op}: " in out
    elif argv == ["ops", "--json"]:
        data = json.loads(out)
        assert data["inference_ops"] == len(inference) and data["covered"] == covered
        assert {d["op"] for d in data["ops"]} == set(TABLE)
    else:
        assert "aten.add.Tensor" in out and "aten.rand.default" not in out
