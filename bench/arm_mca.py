"""Cycles of the ARM kernels' hot loops on in-order and out-of-order cores, estimated by llvm-mca (Debian's LLVM 14),
and a per-layer table of MobileNetV2 and ResNet-18 (instructions counted under qemu, MACs/16 ratio, llvm-mca cycles).

    python -m bench.arm_mca                      # kernel table: every arm64 GEMM / depthwise / sparse micro-kernel
    python -m bench.arm_mca --layers             # + the per-layer tables (builds the two models once, ~3 min of qemu)
    python -m bench.arm_mca --cores cortex-a55 cortex-a76 --kernels neondot

How: the arm64 runner (the same cached `edgebuild-run` the tests run, so the same flags) is disassembled with
`aarch64-linux-gnu-objdump`; in each micro-kernel the hot loop is the innermost loop (a backward branch whose range
holds no other backward branch) with the most multiply-accumulates, its block from the branch target to the branch.
That block goes to `llvm-mca -mtriple=aarch64 -mcpu=<core> -mattr=+dotprod,+i8mm -iterations=200`: cycles per
iteration = total cycles / 200 (steady state, loop-carried dependencies included), instructions per iteration, and
MACs per cycle (SDOT 16 MACs, SMMLA 32, SMULL/SMLAL .8h 8, MLA by its lanes). A core that lacks the kernel's ISA
(an A53 has no dotprod) shows "—".

LLVM 14's scheduling models: cortex-a53 has its own, cortex-a55 its own (which `generic` also uses); cortex-a57,
a72, a76, neoverse-n1, cortex-a710 and neoverse-n2 all map to the Cortex-A57 model (3-wide, one 128-bit NEON pipe
pair, modelled SDOT latency 3). So the "cortex-a76" and "cortex-a710" columns are the A57 model: the closest real
out-of-order model LLVM 14 has for them, not theirs. The tool checks this itself (a probe block's per-instruction
latencies per -mcpu) and prints which cores share a model. The A55 model also books the lane-indexed SDOT
(`sdot v.4s, v.16b, v.4b[l]`) at half the issue cost of the vector one: the figures are the model's.

Per layer (--layers): instructions from bench/arm_insns.py (qemu TCG plugin, one invoke, one thread) per core
configuration (a53: qemu cortex-a53, NEON; a55: qemu cortex-a76 with EDGEBUILD_CPU=cortex-a55, which picks the
in-order variants; a76: qemu cortex-a76, neondot), their ratio to MACs/16, and the estimated cycles of the layer's
kernel: the hot loop's cycles per iteration × the layer's iterations of it. Iterations of a GEMM layer (CONV2D as
direct 1×1 or im2col rows, FULLY_CONNECTED; M = output pixels, N = output channels, K = taps × input channels):
ceil(M / MR) · ceil(N / NR) · floor(K' / k_iter), with K' = K rounded up to the kernel's KR and k_iter = the loop's
MACs / (MR · NR); depthwise: the MACs of the padded tile grid (OH · ceil(OW / MR)·MR · ceil(C / NR)·NR · taps) / the
loop's MACs. Only the inner loop is counted (no tile epilogue, packing, im2col or loop remainders): a lower bound of
the layer's cycles, comparable between cores and kernels. Not a test; prints markdown.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OBJDUMP = "aarch64-linux-gnu-objdump"
MCA = "llvm-mca"
ITERATIONS = 200
CORES = ("cortex-a53", "cortex-a55", "cortex-a76", "cortex-a710")
# The ISA paths each core has (kernels/runtime/cpu.cc kCores).
CORE_ISAS = {
    "cortex-a53": {"neon"},
    "cortex-a55": {"neon", "neondot"},
    "cortex-a76": {"neon", "neondot"},
    "cortex-a710": {"neon", "neondot", "i8mm"},
}
FAMILIES = ("qs8-gemm", "qs8-dwconv", "qs8-spmm")
SYMBOL = re.compile(r"^eb_qs8_(gemm|dwconv|spmm)_minmax_ukernel_(\w+?)__(neon|neondot|i8mm)(_\w+)?$")
BRANCH = re.compile(r"^(b|b\.\w+|cbz|cbnz|tbz|tbnz)$")
PROBE = """sdot v0.4s, v1.16b, v2.16b
sdot v4.4s, v1.16b, v2.4b[1]
ldr q3, [x0], #16
ldr d6, [x1], #8
ld1r {v7.4s}, [x2]
smull v8.8h, v1.8b, v2.8b
smlal v8.8h, v1.8b, v2.8b
sadalp v9.4s, v8.8h
add x3, x3, #1
ins v10.d[1], x5
"""


@dataclass
class Loop:
    symbol: str
    family: str
    isa: str
    tile: str  # "4x8c4"
    lines: list[str]  # the block, branch targets replaced by a label
    macs: int  # multiply-accumulates per iteration

    @property
    def name(self) -> str:
        return self.symbol.removeprefix("eb_").replace("ukernel_", "")

    def mr_nr_kr(self) -> tuple[int, int, int]:
        m = re.match(r"(\d+)x(\d+)(?:c(\d+))?", self.tile)
        assert m, self.tile
        return int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)


def macs_of(mnemonic: str, operands: str) -> int:
    """Multiply-accumulates one instruction does (0 for everything else)."""
    dest = operands.split(",")[0].strip()
    lanes = {"16b": 16, "8h": 8, "4s": 4, "2d": 2, "8b": 8, "4h": 4, "2s": 2}
    arr = dest.split(".")[-1] if "." in dest else ""
    if mnemonic in ("sdot", "udot", "usdot", "sudot"):
        return 16 if arr == "4s" else 8
    if mnemonic in ("smmla", "ummla", "usmmla"):
        return 32
    if mnemonic in (
        "smull",
        "smull2",
        "umull",
        "umull2",
        "smlal",
        "smlal2",
        "umlal",
        "umlal2",
        "smlsl",
        "smlsl2",
    ):
        return lanes.get(arr, 0)
    if mnemonic in ("mla", "mls", "mul"):
        return lanes.get(arr, 0)
    return 0


def disassemble(runner: Path, symbol: str) -> list[tuple[int, str, str]]:
    """(address, mnemonic, operands) of one function."""
    out = subprocess.run(
        [OBJDUMP, "-d", "--no-show-raw-insn", f"--disassemble={symbol}", str(runner)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    insns = []
    for line in out.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m:
            operands = m.group(3).split("//")[0].strip()
            insns.append((int(m.group(1), 16), m.group(2), operands))
    return insns


def hot_loop(symbol: str, insns: list[tuple[int, str, str]]) -> Loop | None:
    m = SYMBOL.match(symbol)
    assert m, symbol
    family, tile, isa = f"qs8-{m.group(1)}", m.group(2), m.group(3)
    index = {addr: i for i, (addr, _, _) in enumerate(insns)}
    loops = []
    for i, (addr, mnem, ops) in enumerate(insns):
        if not BRANCH.match(mnem):
            continue
        t = re.search(r"\b([0-9a-f]+) <", ops)
        if t is None:
            continue
        target = int(t.group(1), 16)
        if target <= addr and target in index:
            loops.append((index[target], i))
    inner = [
        (s, e) for s, e in loops if not any(s <= s2 and e2 <= e and (s2, e2) != (s, e) for s2, e2 in loops)
    ]
    best = None
    for s, e in inner:
        body = insns[s : e + 1]
        if any(mn in ("bl", "blr", "ret") for _, mn, _ in body):
            continue
        macs = sum(macs_of(mn, ops) for _, mn, ops in body)
        if macs and (best is None or macs > best[0]):
            best = (macs, s, e)
    if best is None:
        return None
    macs, s, e = best
    lines = ["loop:"]
    for _, mn, ops in insns[s : e + 1]:
        ops = re.sub(r"\b[0-9a-f]+ <[^>]*>", "loop", ops)
        lines.append(f"  {mn}\t{ops}")
    return Loop(symbol, family, isa, tile, lines, macs)


_MCA_CACHE: dict[tuple[str, str], dict[str, float]] = {}


def mca(lines: list[str], core: str) -> dict[str, float]:
    """llvm-mca's steady state of one block: cycles and instructions per iteration (cached per block and core)."""
    key = ("\n".join(lines), core)
    if key not in _MCA_CACHE:
        _MCA_CACHE[key] = _run_mca(lines, core)
    return _MCA_CACHE[key]


def _run_mca(lines: list[str], core: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".s") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        done = subprocess.run(
            [
                MCA,
                "-mtriple=aarch64",
                f"-mcpu={core}",
                "-mattr=+dotprod,+i8mm",
                f"-iterations={ITERATIONS}",
                f.name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"llvm-mca -mcpu={core}: {done.stderr.strip()[:300]}")
    text = done.stdout
    iters = int(re.search(r"Iterations:\s+(\d+)", text).group(1))  # type: ignore[union-attr]
    insns = int(re.search(r"Instructions:\s+(\d+)", text).group(1))  # type: ignore[union-attr]
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", text).group(1))  # type: ignore[union-attr]
    return {"cycles": cycles / iters, "insns": insns / iters}


def model_groups(cores: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Which LLVM scheduling model each core uses, told by a probe block's latencies: (core, cores sharing it)."""

    def signature(core: str) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".s") as f:
            f.write(PROBE)
            f.flush()
            out = subprocess.run(
                [MCA, "-mtriple=aarch64", f"-mcpu={core}", "-mattr=+dotprod,+i8mm", "-instruction-info",
                 "-iterations=1", f.name],
                capture_output=True, text=True, check=False,
            ).stdout  # fmt: skip
        return "\n".join(ln for ln in out.splitlines() if re.match(r"^\s+\d+\s+\d+\s+\d", ln))

    refs = ("cortex-a53", "cortex-a55", "cortex-a57", "generic")
    sigs = {c: signature(c) for c in (*cores, *refs)}
    return [(c, [r for r in (*cores, *refs) if r != c and sigs[r] == sigs[c]]) for c in cores]


def kernel_loops(runner: Path, isas: tuple[str, ...]) -> list[Loop]:
    nm = subprocess.run(
        ["aarch64-linux-gnu-nm", str(runner)], capture_output=True, text=True, check=True
    ).stdout
    symbols = sorted(
        {ln.split()[-1] for ln in nm.splitlines() if ln.split() and SYMBOL.match(ln.split()[-1])}
    )
    out = []
    for sym in symbols:
        if SYMBOL.match(sym).group(3) not in isas:  # type: ignore[union-attr]
            continue
        loop = hot_loop(sym, disassemble(runner, sym))
        if loop is not None:
            out.append(loop)
    return out


def kernel_table(
    loops: list[Loop], cores: tuple[str, ...]
) -> tuple[str, dict[tuple[str, str], dict[str, float]]]:
    results: dict[tuple[str, str], dict[str, float]] = {}
    head = "| kernel | MACs/iter | " + " | ".join(f"{c} cyc/iter (insns) | MACs/cycle" for c in cores) + " |"
    rows = [head, "|" + "---|" * (2 + 2 * len(cores))]
    for loop in loops:
        cells = [f"`{loop.name}`", str(loop.macs)]
        for core in cores:
            if loop.isa not in CORE_ISAS.get(core, {"neon", "neondot", "i8mm"}):
                cells += ["—", "—"]
                continue
            r = mca(loop.lines, core)
            results[(loop.symbol, core)] = r
            cells += [f"{r['cycles']:.2f} ({r['insns']:.0f})", f"{loop.macs / r['cycles']:.1f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows), results


# ---- per layer ----

CONFIGS = (  # label, qemu -cpu, EDGEBUILD_ISA, EDGEBUILD_CPU (or ""), llvm-mca core
    ("a53", "cortex-a53", "neon", "", "cortex-a53"),
    ("a55", "cortex-a76", "neondot", "cortex-a55", "cortex-a55"),
    ("a76", "cortex-a76", "neondot", "", "cortex-a76"),
)
# Extra cycle columns without another qemu run: (column, the config whose kernels it takes, llvm-mca core). The A76's
# (the default) neondot GEMM on the A55 model is what an A55 would run without the in-order variant.
MCA_ONLY = (("a76 kernels on A55 model", "a76", "cortex-a55"),)


def model_blob(name: str, cache: Path) -> tuple[bytes, list[np.ndarray]]:
    """The arm64 artifact of a bench model (tests/cnn_models.py: seeded weights), built once into `cache`."""
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    f = cache / f"{name}.ebm"
    if not f.exists():
        import torch

        import edgebuild
        from tests.cnn_models import mobilenet_v2, resnet18

        model, shape = {"mobilenet_v2": mobilenet_v2, "resnet18": resnet18}[name]()
        calib = np.random.default_rng(0).standard_normal((4, *shape[1:])).astype(np.float32)
        b = edgebuild.build(model, (torch.from_numpy(x),), calib=calib, target="arm64", out=None)
        cache.mkdir(parents=True, exist_ok=True)
        f.write_bytes((b.path / "model.ebm").read_bytes())
    return f.read_bytes(), [x]


def layer_geometry(prog: Any, op: Any) -> dict[str, Any] | None:
    from edgebuild.ir import OpCode

    code = OpCode(op.opcode).name
    if code not in ("CONV2D", "FULLY_CONNECTED", "DEPTHWISE_CONV2D"):
        return None
    w, y = prog.tensors[op.inputs[1]].shape, prog.tensors[op.outputs[0]].shape
    if code in ("CONV2D", "FULLY_CONNECTED"):
        n = y[-1]
        m = int(np.prod(y)) // n
        k = int(np.prod(w[1:]))
        return {
            "kind": "gemm",
            "code": code,
            "m": m,
            "n": n,
            "k": k,
            "macs": m * n * k,
            "shape": f"{m}×{n}×{k}",
        }
    if code == "DEPTHWISE_CONV2D":
        oh, ow, c = y[1], y[2], y[3]
        taps = w[1] * w[2]
        return {"kind": "dw", "code": code, "oh": oh, "ow": ow, "c": c, "taps": taps, "macs": oh * ow * c * taps,
                "shape": f"{oh}×{ow}×{c}, {w[1]}×{w[2]}"}  # fmt: skip
    return None


def iterations(geo: dict[str, Any], loop: Loop) -> int:
    mr, nr, kr = loop.mr_nr_kr()
    if geo["kind"] == "gemm":
        k_iter = max(1, loop.macs // (mr * nr))
        kc = -(-geo["k"] // kr) * kr
        return math.ceil(geo["m"] / mr) * math.ceil(geo["n"] / nr) * max(1, kc // k_iter)
    padded = geo["oh"] * math.ceil(geo["ow"] / mr) * mr * math.ceil(geo["c"] / nr) * nr * geo["taps"]
    return math.ceil(padded / loop.macs)


def layer_tables(runner: Path, loops: list[Loop], models: list[str], cache: Path) -> str:
    from bench.arm_insns import arm_instruction_counts
    from edgebuild.serialize import read_artifact

    by_name = {lp.name: lp for lp in loops}
    out = []
    for name in models:
        blob, xs = model_blob(name, cache)
        prog = read_artifact(blob)
        configs = tuple((label, "arm64", cpu, isa, core) for label, cpu, isa, core, _ in CONFIGS)
        counts = arm_instruction_counts(blob, xs, configs)  # type: ignore[arg-type]
        kernels: dict[str, dict[str, Loop | None]] = {}
        for label, _, isa, _, _ in CONFIGS:
            gemm = counts[label].get("kernels", {}).get("qs8-gemm", "")
            dw = [lp for lp in loops if lp.family == "qs8-dwconv" and lp.isa in (isa, "neon")]
            dw.sort(key=lambda lp: lp.isa != isa)  # the ISA's own depthwise kernel, else NEON's (cpu.cc)
            kernels[label] = {"gemm": by_name.get(gemm), "dw": dw[0] if dw else None}
        head = ["layer", "op", "M×N×K / OH×OW×C", "MACs (M)"]
        for label, *_ in CONFIGS:
            head += [f"{label} insns (M)", f"{label} ÷ MACs/16", f"{label} mca Mcyc"]
        head += [f"{column} Mcyc" for column, _, _ in MCA_ONLY]
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        totals = {label: [0.0, 0.0] for label, *_ in CONFIGS}
        extra_totals = [0.0 for _ in MCA_ONLY]
        total_macs = 0
        for i, op in enumerate(prog.ops):
            geo = layer_geometry(prog, op)
            if geo is None:
                continue
            total_macs += geo["macs"]
            cells = [
                op.name,
                geo["code"].replace("_CONV2D", "").lower(),
                geo["shape"],
                f"{geo['macs'] / 1e6:.2f}",
            ]
            for label, _, _, _, core in CONFIGS:
                n = counts[label]["per_op"][i]
                loop = kernels[label]["gemm" if geo["kind"] == "gemm" else "dw"]
                est = None
                if loop is not None:
                    est = iterations(geo, loop) * mca(loop.lines, core)["cycles"]
                totals[label][0] += n
                totals[label][1] += est or 0
                cells += [
                    f"{n / 1e6:.2f}",
                    f"{n / (geo['macs'] / 16):.2f}",
                    f"{est / 1e6:.2f}" if est else "—",
                ]
            for j, (_, source, core) in enumerate(MCA_ONLY):
                loop = kernels[source]["gemm" if geo["kind"] == "gemm" else "dw"]
                est = iterations(geo, loop) * mca(loop.lines, core)["cycles"] if loop is not None else None
                extra_totals[j] += est or 0
                cells.append(f"{est / 1e6:.2f}" if est else "—")
            rows.append("| " + " | ".join(cells) + " |")
        cells = ["**total**", "", "", f"{total_macs / 1e6:.1f}"]
        for label, *_ in CONFIGS:
            n, est = totals[label]
            cells += [f"{n / 1e6:.1f}", f"{n / (total_macs / 16):.2f}", f"{est / 1e6:.1f}"]
        cells += [f"{t / 1e6:.1f}" for t in extra_totals]
        rows.append("| " + " | ".join(cells) + " |")
        used = "; ".join(
            f"{label}: GEMM `{(k['gemm'].name if k['gemm'] else '?')}`, depthwise `{(k['dw'].name if k['dw'] else '?')}`"
            for label, k in kernels.items()
        )
        out.append(f"### {name} (arm64, one thread)\n\nKernels: {used}.\n\n" + "\n".join(rows))
    return "\n\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", nargs="+", default=list(CORES), help="llvm-mca -mcpu values")
    ap.add_argument("--kernels", nargs="+", default=["neon", "neondot", "i8mm"], help="ISA paths to include")
    ap.add_argument(
        "--layers", action="store_true", help="also the per-layer tables of MobileNetV2 and ResNet-18"
    )
    ap.add_argument("--models", nargs="+", default=["mobilenet_v2", "resnet18"])
    ap.add_argument("--cache", type=Path, default=None, help="where the models' artifacts are kept")
    ap.add_argument("--show-loop", metavar="SYMBOL", help="print the hot-loop block of one kernel and exit")
    args = ap.parse_args()
    from edgebuild import paths
    from edgebuild.compile import build_runner
    from edgebuild.targets import load_target

    runner = build_runner(load_target("arm64"))
    loops = kernel_loops(runner, tuple(args.kernels))
    if args.show_loop:
        for lp in loops:
            if args.show_loop in (lp.symbol, lp.name):
                print("\n".join(lp.lines))
        return
    cores = tuple(args.cores)
    print("## llvm-mca: the micro-kernels' hot loops (arm64 runner, LLVM 14)\n")
    for core, same in model_groups(cores):
        print(f"- `-mcpu={core}`: " + (f"the same model as {', '.join(same)}" if same else "its own model"))
    print()
    table, _ = kernel_table(loops, cores)
    print(table)
    if args.layers:
        cache = args.cache or paths.cache_root() / "bench-arm-mca"
        print("\n## Per layer: instructions (qemu), ratio to MACs/16, llvm-mca cycles of the inner loop\n")
        print(layer_tables(runner, loops, args.models, cache))


if __name__ == "__main__":
    main()
