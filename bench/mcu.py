"""Microcontrollers (issue 18): the MLPerf Tiny models and the CMSIS-NN kernel shapes on Cortex-M4 and Cortex-M55,
under qemu-system-arm, in instructions (not a test).

    python -m bench.mcu [--models kws vww ic ad] [--cores cortex-m4 cortex-m55] [--kernels conv fc dwconv]
                        [--no-models] [--no-kernels] [--no-firmware] [--references] [--json out.json]
                        [--markdown] [--work DIR]

Each model (tests/tiny_models.py, seeded trained-like weights) is built for host with edgebuild.api (random
calibration), and its int8 program is compiled ahead of time by edgebuild.mcu.aot.write_model_sources with the
core's kernel variants (edgebuild/mcu/variants: "dsp" on M4, "mve" on M55; whichever are registered). The generated
model.c / model_data.c, the kernel sources it lists and bench/mcu_harness.c are compiled with tests/mcu/baremetal.py
(-O2, the cores' flags, --gc-sections) and run once on the core's QEMU board with the instruction-count plugin:

- instructions: executed between eb_profile_invoke_begin/end, which model.c (-DEB_MODEL_PROFILE) calls around
  eb_model_run's body; deterministic run to run. Per MAC: over the model's CONV2D, DEPTHWISE_CONV2D and
  FULLY_CONNECTED multiply-accumulates (the runner's rule: output elements × the weight's per-output extent);
- peak RAM = the arena (model.h's EB_MODEL_ARENA_BYTES) + the model's and kernels' other .data/.bss (linker map) +
  the stack eb_model_run reached (the harness paints the stack before the run and finds the deepest word changed);
- flash = code (model.c and the kernels: .text, .rodata, .data's load image, from the linker map) and weights
  (model_data.c) separately; the harness, startup, newlib and libgcc are left out;
- TFLM: the same host build exported with `--io int8` and run in TFLite Micro's interpreter (tflite-micro wheel,
  reference kernels): its smallest working arena (bisection; tests/mcu/tflm.py) and its activation part (head);
- bit-exact: the firmware's int8 outputs on the harness's input against edgebuild's host runtime on the same codes.

The kernel table builds one-op models with the CMSIS-NN benchmark shapes (conv 3×3 32×32×16 → 16 with padding 1,
FC 256 → 64, depthwise 3×3 on 32×32×32), once with the reference kernels (isa None) and once with the variant
`edgebuild.mcu.variants.choose` picks (the generator calls it), and counts eb_model_run's instructions, which is that
one kernel call (the float edges run outside it). CMSIS-NN's figures are the issue's: measured outside the project
(CMSIS-NN is on no package registry here) on the same QEMU boards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgebuild import api
from edgebuild.ir import Layout, Op, OpCode, Program
from tests.mcu.baremetal import KERNELS, compile_program, missing_tools, run_program
from tests.mcu.tflm import HostInt8, tflm_arena
from tests.tiny_models import TINY_MODELS, tiny_model

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(__file__).with_name("mcu_harness.c")
CORES = ("cortex-m4", "cortex-m55")
ISA = {"cortex-m4": "dsp", "cortex-m55": "mve"}  # targets/cortex-m*.toml's [mcu] isa

# CMSIS-NN's instructions per call on the issue's shapes (issue 18, measured outside the project on the same QEMU
# boards: mps3-an547 for M55/MVE, mps2-an386 for M4/DSP).
CMSIS_NN = {
    "conv": {"cortex-m55": 0.94e6, "cortex-m4": 5.49e6},
    "fc": {"cortex-m55": 8.7e3, "cortex-m4": 34e3},
    "dwconv": {"cortex-m55": 0.81e6, "cortex-m4": 2.42e6},
}
KERNEL_SHAPES = {  # name -> (module, input shape, description)
    "conv": (lambda: nn.Conv2d(16, 16, 3, padding=1), (1, 16, 32, 32), "conv 3x3 32x32x16->16"),
    "fc": (lambda: nn.Linear(256, 64), (1, 256), "FC 256->64"),
    "dwconv": (lambda: nn.Conv2d(32, 32, 3, padding=1, groups=32), (1, 32, 32, 32), "depthwise 3x3 32x32x32"),
}
MAC_OPS = (OpCode.CONV2D, OpCode.DEPTHWISE_CONV2D, OpCode.FULLY_CONNECTED)


# ---- host build -------------------------------------------------------------------------------------------------


@dataclass
class HostBuild:
    host: HostInt8
    tflite: bytes
    shape: tuple[int, ...]

    @property
    def program(self) -> Program:
        return self.host.program


def host_build(module: nn.Module, shape: tuple[int, ...], out: Path) -> HostBuild:
    g = torch.Generator().manual_seed(0)
    calib = [torch.randn(shape, generator=g) for _ in range(8)]
    bundle = api.build(module.eval(), calib=calib, out=out, smoke=False)
    tflite = bundle.export("tflite", io="int8", out=out / "model.tflite").read_bytes()
    return HostBuild(HostInt8.load(bundle.artifact), tflite, tuple(shape))


def program_macs(program: Program) -> int:
    """CONV2D, DEPTHWISE_CONV2D and FULLY_CONNECTED multiply-accumulates: output elements × the weight's extent
    per output (w is [OC, KH, KW, C/G], [OC, KH, KW, 1] or [N, K]), as kernels/runner/main.cc's op_macs counts."""
    total = 0
    for op in program.ops:
        if op.opcode in MAC_OPS:
            w, y = program.tensors[op.inputs[1]], program.tensors[op.outputs[0]]
            total += y.numel * int(np.prod(w.shape[1:]))
    return total


# ---- firmware ---------------------------------------------------------------------------------------------------


def lcg_bytes(count: int, state: int = 12345) -> tuple[np.ndarray, int]:
    """The harness's input codes (mcu_harness.c: Numerical Recipes' LCG, the top byte of each state)."""
    out = np.empty(count, np.int8)
    for j in range(count):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out[j] = np.int8(np.uint8(state >> 24).view(np.int8))
    return out, state


@dataclass
class Firmware:
    core: str
    isa: str | None
    elf: Path
    arena_bytes: int
    ops: list[dict[str, Any]]
    flash: dict[str, int]
    static_ram_bytes: int


def build_firmware(program: Program, core: str, isa: str | None, work: Path) -> Firmware:
    """model.c, model_data.c (write_model_sources) + the kernels + bench/mcu_harness.c -> an ELF with a map."""
    from edgebuild.mcu.aot import write_model_sources

    src = work / "src"
    if src.exists():
        shutil.rmtree(src)
    aot = write_model_sources(program, src, isa=isa)
    sources = [src / "model.c", src / "model_data.c", *(KERNELS / k for k in aot.kernel_sources), HARNESS]
    elf = compile_program(core, sources, work / "build", defines=("EB_MODEL_PROFILE",), include_dirs=(src,))
    map_text = link_map(core, elf, sources)
    flash, static_ram = footprint(map_text, aot.arena_bytes)
    return Firmware(core, isa, elf, aot.arena_bytes, aot.ops, flash, static_ram)


def link_map(core: str, elf: Path, sources: list[Path]) -> str:
    """The GNU ld map of `elf`: its objects (compile_program's, named <elf stem>-<i>-<source stem>.o, startup first)
    linked again with the same command plus -Map."""
    from tests.mcu.baremetal import CORES

    c = CORES[core]
    objs = [elf.parent / f"{elf.stem}-{i}-{s.stem}.o" for i, s in enumerate([Path("startup.c"), *sources])]
    missing = [o for o in objs if not o.is_file()]
    if missing:
        raise RuntimeError(f"compile_program's objects not found (its naming changed?): {missing[0]}")
    out = elf.with_suffix(".map")
    if not out.is_file():
        subprocess.run(
            [
                "arm-none-eabi-gcc",
                *c.flags,
                "-nostartfiles",
                "--specs=rdimon.specs",
                "-Wl,--gc-sections",
                f"-T{KERNELS / 'mcu' / 'boards' / c.linker_script}",
                *map(str, objs),
                "-lm",
                f"-Wl,-Map={out}",
                "-o",
                str(elf.with_suffix(".mapped.elf")),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    return out.read_text(errors="replace")


_MAP_SECTION = re.compile(
    r"^ (\.[\w.$]+|COMMON)\s*(?:\n\s+)?(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$", re.MULTILINE
)


def footprint(map_text: str, arena_bytes: int) -> tuple[dict[str, int], int]:
    """Flash (code of model.c and of the kernels, weights of model_data.c) and the static RAM besides the arena,
    from the input sections the linker kept (the map's "Linker script and memory map" part)."""
    start = map_text.find("Linker script and memory map")
    sums: dict[tuple[str, str], int] = {}
    for m in _MAP_SECTION.finditer(map_text[max(start, 0) :]):
        name, size, obj = m.group(1), int(m.group(3), 16), m.group(4).strip()
        if not size or obj.startswith("load address"):
            continue
        base = Path(obj).name
        if re.search(r"-\d+-model_data\.o$", base):
            role = "weights"
        elif re.search(r"-\d+-model\.o$", base):
            role = "model"
        elif re.search(r"-\d+-(startup|mcu_harness)\.o$", base) or not base.endswith(".o"):
            role = "other"  # the harness, the startup code, newlib and libgcc (archive members)
        else:
            role = "kernels"
        kind = (
            "flash"
            if name.startswith((".text", ".rodata", ".ARM"))
            else "data"
            if name.startswith(".data")
            else "bss"
            if name.startswith((".bss", "COMMON"))
            else "other"
        )
        sums[(role, kind)] = sums.get((role, kind), 0) + size

    def get(role: str, *kinds: str) -> int:
        return sum(sums.get((role, k), 0) for k in kinds)

    flash = {
        "code_model": get("model", "flash", "data"),
        "code_kernels": get("kernels", "flash", "data"),
        "weights": get("weights", "flash", "data"),
    }
    flash["code"] = flash["code_model"] + flash["code_kernels"]
    static = sum(get(r, "data", "bss") for r in ("model", "kernels", "weights")) - arena_bytes
    return flash, max(0, static)


@dataclass
class FirmwareRun:
    insns: int
    outputs: list[bytes]
    stack_bytes: int
    input_codes: list[np.ndarray]  # the harness's int8 inputs, in the arena's layout


def run_firmware(fw: Firmware, program: Program) -> FirmwareRun:
    done = run_program(fw.core, fw.elf, count=True, timeout=900)
    if done.returncode != 0 or done.insns is None:
        raise RuntimeError(f"{fw.elf.name} on {fw.core}: exit {done.returncode}\n{done.stdout[-2000:]}")
    outs = [bytes.fromhex(m) for m in re.findall(r"^out \d+ ([0-9a-f]*)$", done.stdout, re.MULTILINE)]
    stack = int(re.search(r"^stack (\d+)$", done.stdout, re.MULTILINE).group(1))  # type: ignore[union-attr]
    # The arena's int8 input tensors: the QUANTIZE outputs of the model's inputs (what eb_model_input points at).
    state, codes = 12345, []
    for t in program.inputs:
        (q,) = [o for o in program.ops if o.opcode == OpCode.QUANTIZE and o.inputs[0] == t]
        n = program.tensors[q.outputs[0]].numel
        c, state = lcg_bytes(n, state)
        codes.append(c)
    return FirmwareRun(done.insns, outs, stack, codes)


def host_int8_output(hb: HostBuild, codes: np.ndarray) -> bytes:
    """The host runtime's int8 output on the firmware's input codes (arena layout: NHWC for images)."""
    prog = hb.program
    (q,) = [o for o in prog.ops if o.opcode == OpCode.QUANTIZE and o.inputs[0] == prog.inputs[0]]
    t = prog.tensors[q.outputs[0]]
    x = codes.reshape(t.shape)
    if t.layout == Layout.NHWC:
        x = x.transpose(0, 3, 1, 2)
    return hb.host.run(np.ascontiguousarray(x)).tobytes()


# ---- the tables -------------------------------------------------------------------------------------------------


@dataclass
class ModelRow:
    model: str
    core: str
    isa: str | None
    macs: int
    insns: int
    insns_per_mac: float
    arena_bytes: int
    static_bytes: int
    stack_bytes: int
    peak_ram_bytes: int
    code_bytes: int
    code_model_bytes: int
    code_kernels_bytes: int
    weights_bytes: int
    tflm_arena_bytes: int
    tflm_head_bytes: int
    ram_vs_tflm: float
    bit_exact: bool
    ops: int  # kernel calls in eb_model_run
    variant_ops: int  # of which call a variant (not a *_ref kernel)
    functions: dict[str, int] = field(default_factory=dict)  # kernel function -> calls


def measure_model(
    name: str, core: str, hb: HostBuild, work: Path, tflm: tuple[int, int], *, references: bool = False
) -> ModelRow:
    fw = build_firmware(hb.program, core, None if references else ISA[core], work)
    run = run_firmware(fw, hb.program)
    exact = len(hb.program.inputs) == 1 and run.outputs == [host_int8_output(hb, run.input_codes[0])]
    macs = program_macs(hb.program)
    peak = fw.arena_bytes + fw.static_ram_bytes + run.stack_bytes
    functions: dict[str, int] = {}
    for op in fw.ops:
        for f in op.get("functions", [op["function"]]):
            functions[f] = functions.get(f, 0) + 1
    return ModelRow(
        name,
        core,
        fw.isa,
        macs,
        run.insns,
        run.insns / macs,
        fw.arena_bytes,
        fw.static_ram_bytes,
        run.stack_bytes,
        peak,
        fw.flash["code"],
        fw.flash["code_model"],
        fw.flash["code_kernels"],
        fw.flash["weights"],
        tflm[0],
        tflm[1],
        peak / tflm[0],
        exact,
        len(fw.ops),
        sum(not op["function"].endswith("_ref") for op in fw.ops),
        functions,
    )


@dataclass
class KernelRow:
    kernel: str
    core: str
    macs: int
    ref_insns: int
    variant: str  # the function the generator called with the core's isa
    variant_insns: int
    cmsis_nn_insns: float
    ref_vs_cmsis: float
    variant_vs_cmsis: float
    bit_exact: bool  # both builds' outputs equal the host runtime's


def op_fields(program: Program, op: Op) -> dict[str, int]:
    """The reference's parameter struct for a CONV2D / DEPTHWISE_CONV2D (eb_qs8_conv_params) or FULLY_CONNECTED
    (eb_qs8_gemm_params), field by field, as the ahead-of-time generator fills it (variants/__init__.py `Params`)."""
    from edgebuild.mcu.emit import conv_fields, gemm_fields

    return gemm_fields(program, op) if op.opcode == OpCode.FULLY_CONNECTED else conv_fields(program, op)


_C_TYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t", np.dtype(np.int32): "int32_t"}


def c_array(name: str, a: np.ndarray) -> str:
    a = np.ascontiguousarray(a).ravel()
    body = ",".join(str(int(v)) for v in a) or "0"
    return f"static const {_C_TYPES[a.dtype]} {name}[{max(a.size, 1)}] __attribute__((aligned(16))) = {{{body}}};"


def kernel_harness(family: str, fields: dict[str, int], consts: dict[str, Any], variant: Any) -> str:
    """A test program calling the family's reference (argv[1] "ref") or `variant` ("var", per the calling
    convention of edgebuild/mcu/variants/__init__.py) once between the instruction-count markers, on the harness's
    LCG input; prints the output bytes."""
    conv = family in ("conv", "dwconv")
    struct, ref = (
        ("eb_qs8_conv_params", "eb_qs8_conv_ref") if conv else ("eb_qs8_gemm_params", "eb_qs8_gemm_ref")
    )
    f = fields
    x_bytes = (
        f["batch"] * f["input_height"] * f["input_width"] * f["input_channels"] if conv else f["m"] * f["k"]
    )
    y_bytes = (
        f["batch"] * f["output_height"] * f["output_width"] * f["output_channels"]
        if conv
        else f["m"] * f["n"]
    )
    lines = [
        "#include <stdint.h>",
        "#include <stdio.h>",
        "#include <string.h>",
        '#include "edgebuild/ukernels.h"',
        '__attribute__((noipa)) void eb_profile_invoke_begin(void) { __asm__ volatile(""); }',
        '__attribute__((noipa)) void eb_profile_invoke_end(void) { __asm__ volatile(""); }',
        f"static const {struct} P = {{" + ", ".join(f".{k} = {int(v)}" for k, v in f.items()) + "};",
        c_array("W", consts["weights"]),
        c_array("B", consts["bias"]),
        c_array("M", consts["multiplier"]),
        c_array("S", consts["shift"]),
        f"static int8_t X[{x_bytes}] __attribute__((aligned(16)));",
        f"static int8_t Y[{y_bytes}] __attribute__((aligned(16)));",
    ]
    args = ["&P", "X", "W", "B", "M", "S", "Y"]
    if variant is not None:
        lines.append(variant.prototype)
        if variant.pack is not None:
            lines.append(c_array("WP", variant.pack(f, consts)))
            args[2] = "WP"
        for j, e in enumerate(variant.extra(f, consts) if variant.extra is not None else []):
            lines.append(c_array(f"E{j}", e))
            args.append(f"E{j}")
        scratch = variant.scratch_bytes(f)
        if scratch > 0:
            lines.append(f"static uint8_t SCRATCH[{scratch}] __attribute__((aligned(16)));")
            args.append("SCRATCH")
    call_var = f"{variant.function}({', '.join(args)});" if variant is not None else "return 2;"
    lines += [
        "int main(int argc, char** argv) {",
        "  uint32_t state = 12345u;",
        f"  for (int j = 0; j < {x_bytes}; ++j) {{ state = state * 1664525u + 1013904223u; X[j] = (int8_t)(state >> 24); }}",
        '  const int var = argc > 1 && strcmp(argv[1], "var") == 0;',
        "  eb_profile_invoke_begin();",
        f"  if (var) {{ {call_var} }} else {{ {ref}(&P, X, W, B, M, S, Y); }}",
        "  eb_profile_invoke_end();",
        '  printf("out 0 ");',
        f'  for (int j = 0; j < {y_bytes}; ++j) printf("%02x", (uint8_t)Y[j]);',
        '  printf("\\n");',
        "  return 0;",
        "}",
    ]
    return "\n".join(lines) + "\n"


def measure_kernel(kernel: str, core: str, hb: HostBuild, work: Path) -> KernelRow:
    """The one-op model's kernel called directly (not through model.c, whose memory plan may split the op into
    row bands): the reference and the variant `choose` picks for the core, with the op's own constants."""
    from edgebuild.mcu.variants import choose

    prog = hb.program
    (op,) = [o for o in prog.ops if o.opcode in MAC_OPS]
    fields = op_fields(prog, op)
    t = prog.tensors
    consts = {
        "weights": t[op.inputs[1]].data,
        "bias": t[op.inputs[2]].data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None,
        "multiplier": t[op.inputs[3]].data,
        "shift": t[op.inputs[4]].data,
    }
    if consts["bias"] is None:
        raise RuntimeError(f"{kernel}: the one-op model has no bias")
    variant = choose(kernel, ISA[core], fields)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"kernel_{kernel}.c"
    src.write_text(kernel_harness(kernel, fields, consts, variant))
    family_ref = "ukernels/qs8-conv/ref.cc" if kernel in ("conv", "dwconv") else "ukernels/qs8-gemm/ref.cc"
    sources = [
        src,
        *(KERNELS / s for s in dict.fromkeys([family_ref, *(variant.sources if variant else ())])),
    ]
    elf = compile_program(core, sources, work / "build")
    counts, outputs = {}, {}
    for mode in ("ref", "var") if variant is not None else ("ref",):
        done = run_program(core, elf, (mode,), count=True, timeout=900)
        if done.returncode != 0 or done.insns is None:
            raise RuntimeError(f"{elf.name} {mode} on {core}: exit {done.returncode}\n{done.stdout[-2000:]}")
        counts[mode] = done.insns
        outputs[mode] = re.findall(r"^out 0 ([0-9a-f]*)$", done.stdout, re.MULTILINE)
    counts.setdefault("var", counts["ref"])
    outputs.setdefault("var", outputs["ref"])
    x, _ = lcg_bytes(t[op.inputs[0]].numel)
    host = host_int8_output(hb, x).hex()
    cmsis = CMSIS_NN[kernel][core]
    return KernelRow(
        kernel,
        core,
        program_macs(prog),
        counts["ref"],
        variant.function if variant is not None else "(none registered: the reference)",
        counts["var"],
        cmsis,
        counts["ref"] / cmsis,
        counts["var"] / cmsis,
        outputs["ref"] == outputs["var"] == [host],
    )


def print_models(rows: list[ModelRow]) -> None:
    print("MLPerf Tiny (int8), one inference under qemu-system-arm; instructions from the TCG plugin")
    print(
        f"{'model':5} {'core':10} {'isa':4} {'MACs':>10} {'instructions':>13} {'/MAC':>6} "
        f"{'arena':>8} {'static':>6} {'stack':>6} {'peak RAM':>9} {'code':>7} {'weights':>8} "
        f"{'TFLM arena':>10} {'(head)':>8} {'RAM/TFLM':>8} exact variant ops"
    )
    for r in rows:
        print(
            f"{r.model:5} {r.core:10} {r.isa or '-':4} {r.macs:>10,} {r.insns:>13,} {r.insns_per_mac:>6.2f} "
            f"{r.arena_bytes:>8,} {r.static_bytes:>6,} {r.stack_bytes:>6,} {r.peak_ram_bytes:>9,} "
            f"{r.code_bytes:>7,} {r.weights_bytes:>8,} {r.tflm_arena_bytes:>10,} {r.tflm_head_bytes:>8,} "
            f"{r.ram_vs_tflm:>8.2f} {'yes' if r.bit_exact else 'NO':5} {r.variant_ops}/{r.ops}"
        )
    print(
        "  peak RAM = arena + static (.data/.bss of model.c and the kernels besides the arena) + stack (measured);"
        " code = model.c + kernels (flash without weights; harness, startup, newlib left out); TFLM arena = its"
        " smallest working arena_size (incl. persistent data; head = its activation plan); RAM/TFLM = peak RAM /"
        " TFLM arena; variant ops = kernel calls of eb_model_run that run a variant, not a reference"
    )


@dataclass
class ProductRow:
    """The same model through the product: `edgebuild build --target <core>` (the pipeline's MCU branch, its
    firmware.elf built by CMake from the bundle's mcu/ folder) and `edgebuild profile`: report.json's `mcu` figures."""

    model: str
    core: str
    insns: int | None
    code_bytes: int
    weights_bytes: int
    arena_bytes: int
    static_bytes: int
    stack_bound_bytes: int | None  # the static call graph's bound (-fcallgraph-info=su)
    ram_bytes: int | None  # arena + static + the stack bound
    bit_identical_to_host: bool


def product_targets() -> set[str]:
    """The MCU targets this tree's edgebuild knows (none before the pipeline's MCU branch landed)."""
    from edgebuild.errors import EdgebuildError
    from edgebuild.targets import load_target

    known = set()
    for core in CORES:
        with contextlib.suppress(EdgebuildError):  # "unknown target": the product path is not in this tree
            load_target(core)
            known.add(core)
    return known


def measure_product(name: str, core: str, module: nn.Module, shape: tuple[int, ...], out: Path) -> ProductRow:
    g = torch.Generator().manual_seed(0)
    calib = [torch.randn(shape, generator=g) for _ in range(8)]  # host_build's: the same int8 program
    bundle = api.build(module.eval(), calib=calib, target=core, out=out)
    mcu = bundle.report["mcu"]
    prof = bundle.profile(count_instructions=True, iterations=1, warmup=0)
    insns = (prof.get("instructions") or {}).get("per_invoke")
    return ProductRow(
        name,
        core,
        insns,
        mcu["flash"]["code_bytes"],
        mcu["flash"]["weights_bytes"],
        mcu["ram"]["arena_bytes"],
        mcu["ram"]["static_bytes"],
        mcu["ram"]["stack_bytes"],
        mcu["ram"]["total_bytes"],
        bool((bundle.report.get("smoke_run") or {}).get("bit_identical_to_host")),
    )


def print_product(rows: list[ProductRow]) -> None:
    print(
        "The same models through `edgebuild build --target <core>` + `edgebuild profile` (report.json's mcu)"
    )
    print(
        f"{'model':5} {'core':10} {'instructions':>13} {'code':>7} {'weights':>8} {'arena':>8} {'static':>6} "
        f"{'stack bound':>11} {'RAM':>8} smoke run = host"
    )
    for r in rows:
        print(
            f"{r.model:5} {r.core:10} {r.insns or 0:>13,} {r.code_bytes:>7,} {r.weights_bytes:>8,} "
            f"{r.arena_bytes:>8,} {r.static_bytes:>6,} {r.stack_bound_bytes or 0:>11,} {r.ram_bytes or 0:>8,} "
            f"{'yes' if r.bit_identical_to_host else 'NO'}"
        )


def print_kernels(rows: list[KernelRow]) -> None:
    print(
        "CMSIS-NN kernel shapes: instructions per kernel call (the op's constants from a one-op host build)"
    )
    print(
        f"{'kernel':7} {'core':10} {'MACs':>9} {'reference':>10} {'/MAC':>6} {'variant':>10} {'/MAC':>6} "
        f"{'CMSIS-NN':>9} {'ref/CMSIS':>9} {'var/CMSIS':>9} exact  function"
    )
    for r in rows:
        print(
            f"{r.kernel:7} {r.core:10} {r.macs:>9,} {r.ref_insns:>10,} {r.ref_insns / r.macs:>6.2f} "
            f"{r.variant_insns:>10,} {r.variant_insns / r.macs:>6.2f} {r.cmsis_nn_insns:>9,.0f} "
            f"{r.ref_vs_cmsis:>9.2f} {r.variant_vs_cmsis:>9.2f} {'yes' if r.bit_exact else 'NO':5}  {r.variant}"
        )
    print(
        "  CMSIS-NN's figures are the issue's, measured outside the project (CMSIS-NN is not installable here) on"
        " the same QEMU boards (mps2-an386 for M4/DSP, mps3-an547 for M55/MVE); the goal is variant/CMSIS <= 0.90"
    )


def goals(result: dict[str, Any]) -> list[str]:
    """Issue 18's measurable goals, each with the figure and whether it is met."""
    out = []
    for r in result.get("kernels", []):
        ok = r["variant_vs_cmsis"] <= 0.9
        out.append(
            f"{'met' if ok else 'NOT met'}: {r['kernel']} on {r['core']}: instructions {r['variant_vs_cmsis']:.2f}x "
            "CMSIS-NN's (goal <= 0.90)"
        )
    for r in result.get("models", []):
        if r["model"] in ("vww", "ic"):
            ok = r["ram_vs_tflm"] <= 0.6
            out.append(
                f"{'met' if ok else 'NOT met'}: {r['model']} on {r['core']}: peak RAM {r['peak_ram_bytes']:,} B = "
                f"{r['ram_vs_tflm']:.2f}x TFLM's arena {r['tflm_arena_bytes']:,} B (goal <= 0.60)"
            )
        if r["model"] == "kws" and r["core"] == "cortex-m4":
            ok = r["code_bytes"] <= 16 * 1024
            out.append(
                f"{'met' if ok else 'NOT met'}: kws on cortex-m4: runtime code (flash without weights) "
                f"{r['code_bytes']:,} B (goal <= 16,384)"
            )
        if not r["bit_exact"]:
            out.append(f"NOT met: {r['model']} on {r['core']}: int8 outputs differ from the host runtime's")
    return out


def markdown(result: dict[str, Any]) -> str:
    """The tables as Markdown (bench/README.md's "Microcontrollers" section)."""
    out = []
    if result.get("models"):
        out += [
            (
                "| model | core | MACs | instructions | /MAC | arena | stack | peak RAM | code (model + kernels) "
                "| weights | TFLM arena (head) | RAM/TFLM | exact | variant ops |"
            ),
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
        ]
        for r in result["models"]:
            out.append(
                f"| {r['model']} | {r['core']} | {r['macs']:,} | {r['insns']:,} | {r['insns_per_mac']:.2f} | "
                f"{r['arena_bytes']:,} | {r['stack_bytes']:,} | {r['peak_ram_bytes']:,} | {r['code_bytes']:,} "
                f"({r['code_model_bytes']:,} + {r['code_kernels_bytes']:,}) | {r['weights_bytes']:,} | "
                f"{r['tflm_arena_bytes']:,} ({r['tflm_head_bytes']:,}) | {r['ram_vs_tflm']:.2f} | "
                f"{'yes' if r['bit_exact'] else 'NO'} | {r['variant_ops']}/{r['ops']} |"
            )
        out.append("")
    if result.get("product"):
        out += [
            "| model | core | instructions | code | weights | arena | stack bound | RAM | smoke run = host |",
            "|---|---|--:|--:|--:|--:|--:|--:|---|",
        ]
        for r in result["product"]:
            out.append(
                f"| {r['model']} | {r['core']} | {r['insns'] or 0:,} | {r['code_bytes']:,} | {r['weights_bytes']:,} | "
                f"{r['arena_bytes']:,} | {r['stack_bound_bytes'] or 0:,} | {r['ram_bytes'] or 0:,} | "
                f"{'yes' if r['bit_identical_to_host'] else 'NO'} |"
            )
        out.append("")
    if result.get("kernels"):
        out += [
            "| kernel | core | MACs | reference | variant | /MAC | CMSIS-NN | variant / CMSIS-NN | exact | function |",
            "|---|---|--:|--:|--:|--:|--:|--:|---|---|",
        ]
        for r in result["kernels"]:
            out.append(
                f"| {r['kernel']} | {r['core']} | {r['macs']:,} | {r['ref_insns']:,} | {r['variant_insns']:,} | "
                f"{r['variant_insns'] / r['macs']:.2f} | {r['cmsis_nn_insns']:,.0f} | {r['variant_vs_cmsis']:.2f} | "
                f"{'yes' if r['bit_exact'] else 'NO'} | `{r['variant']}` |"
            )
        out.append("")
    out += [f"- {g}" for g in result.get("goals", [])]
    out += [f"FAILED {e}" for e in result.get("errors", [])]
    return "\n".join(out)


def one_line(e: BaseException) -> str:
    """The error's last line of text and where it was raised (file:line), for the FAILED lines."""
    import traceback

    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    text = str(e).strip().splitlines()
    return (text[-1] if text else "") + where


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(TINY_MODELS), choices=list(TINY_MODELS))
    ap.add_argument("--cores", nargs="+", default=list(CORES), choices=list(CORES))
    ap.add_argument("--kernels", nargs="+", default=list(KERNEL_SHAPES), choices=list(KERNEL_SHAPES))
    ap.add_argument("--no-models", action="store_true", help="skip the MLPerf Tiny table")
    ap.add_argument("--no-kernels", action="store_true", help="skip the CMSIS-NN kernel table")
    ap.add_argument(
        "--references", action="store_true", help="models with the reference kernels only (isa None)"
    )
    ap.add_argument(
        "--no-firmware", action="store_true", help="skip the models' `edgebuild build --target <core>` rows"
    )
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    ap.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    ap.add_argument("--work", type=Path, help="keep the builds here (default: a temporary folder)")
    args = ap.parse_args(argv)
    if missing_tools():
        print(f"bench.mcu: missing {', '.join(missing_tools())} (bash scripts/setup.sh installs them)")
        return 1
    try:
        import edgebuild.mcu.aot  # noqa: F401
    except ImportError:
        print("bench.mcu: edgebuild.mcu.aot (the ahead-of-time generator) is not in this tree")
        return 1
    from edgebuild.mcu.variants import all_variants

    registered = sorted(f"{v.isa}:{v.family}:{v.function}" for v in all_variants())
    print(f"kernel variants registered: {', '.join(registered) or 'none (reference kernels only)'}")
    t0 = time.time()
    result: dict[str, Any] = {"variants": registered}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="edgebuild-bench-mcu-") as tmp:
        work = args.work or Path(tmp)
        if not args.no_models:
            rows = []
            for name in args.models:
                module, shape = tiny_model(name)
                hb = host_build(module, shape, work / name / "host")
                x = np.zeros(shape, np.int8)
                a = tflm_arena(hb.tflite, x)
                for core in args.cores:
                    try:
                        where = work / name / (f"{core}-ref" if args.references else core)
                        tflm = (a.smallest, a.head)
                        rows.append(measure_model(name, core, hb, where, tflm, references=args.references))
                    except Exception as e:  # noqa: BLE001  (a generator or kernel bug: a FAILED line, the rest runs)
                        errors.append(f"{name} on {core}: {type(e).__name__}: {one_line(e)}")
                    print(f"  [{time.time() - t0:.0f} s] {name} on {core}", file=sys.stderr)
            print_models(rows)
            result["models"] = [asdict(r) for r in rows]
        if not args.no_models and not args.no_firmware and not args.references:
            known = product_targets()
            prows = []
            for name in args.models:
                module, shape = tiny_model(name)
                for core in args.cores:
                    if core not in known:
                        continue
                    try:
                        prows.append(
                            measure_product(name, core, module, shape, work / name / f"{core}-bundle")
                        )
                    except Exception as e:  # noqa: BLE001  (as above)
                        errors.append(
                            f"edgebuild build {name} --target {core}: {type(e).__name__}: {one_line(e)}"
                        )
                    print(
                        f"  [{time.time() - t0:.0f} s] {name}: edgebuild build --target {core}",
                        file=sys.stderr,
                    )
            print()
            if prows:
                print_product(prows)
            else:
                print("(no cortex-m target in this tree's edgebuild: the product rows are skipped)")
            result["product"] = [asdict(r) for r in prows]
        if not args.no_kernels:
            krows = []
            for kernel in args.kernels:
                make, shape, _ = KERNEL_SHAPES[kernel]
                torch.manual_seed(0)
                hb = host_build(make(), shape, work / kernel / "host")
                for core in args.cores:
                    try:
                        krows.append(measure_kernel(kernel, core, hb, work / kernel / core))
                    except Exception as e:  # noqa: BLE001  (as above)
                        errors.append(f"{kernel} on {core}: {type(e).__name__}: {one_line(e)}")
                    print(f"  [{time.time() - t0:.0f} s] {kernel} on {core}", file=sys.stderr)
            print()
            print_kernels(krows)
            result["kernels"] = [asdict(r) for r in krows]
    result["errors"] = errors
    result["goals"] = goals(result)
    if result["goals"]:
        print()
        print("Issue 18's goals:")
        for line in result["goals"]:
            print(f"  {line}")
    for line in errors:
        print(f"FAILED {line}")
    print(f"({time.time() - t0:.0f} s)")
    if args.markdown:
        print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
