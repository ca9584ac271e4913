"""The pipeline's microcontroller branch (edgebuild/pipeline.py calls it for targets with `kind = "mcu"`).

After the front end (load, quantize, lower, plan: the same Program every target gets, serialized to model.ebm as
for every target), an MCU build:

1. generates model.c / model.h / model_data.c from the Program (aot.py, `write_model_sources`) into the bundle's
   `mcu/` folder, with the kernels it calls and a CMake snippet (firmware.py, `write_mcu_folder`);
2. builds firmware.elf from that folder (firmware.py, `build_firmware`) and measures flash and RAM from its map and
   call graph (`measure_firmware`);
3. checks them against the target's budgets and the --max-flash / --max-ram gates (a failure is one line naming the
   figure, the budget and the fix; the staged bundle is removed, so nothing half-written is left);
4. smoke-runs the firmware under qemu-system-arm on one sample and compares its float outputs with the host
   extension's, byte for byte (a difference fails the build: an edgebuild bug).

Options that cannot apply to firmware are refused before any work (`check_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EdgebuildError
from ..targets import Target
from .firmware import FIRMWARE, MAP, build_firmware, measure_firmware, write_mcu_folder

if TYPE_CHECKING:
    from ..ir import Program

MCU_DIR = "mcu"


def check_options(
    target: Target,
    *,
    huffman: bool = False,
    sparse: str = "auto",
    activations: str = "auto",
    cpu: str | None = None,
    max_drop_alone: bool = False,
) -> None:
    """One line for each build option that does not apply to a microcontroller target (the others work)."""
    name = target.name
    if huffman:
        raise EdgebuildError(
            f"--huffman does not apply to {name}: its weights are const arrays read in place from flash, with no "
            "loader to decode them; drop --huffman"
        )
    if sparse == "always":
        raise EdgebuildError(
            f"--sparse always does not apply to {name}: its kernels are dense (pruned weights are stored with their "
            "zeros); use --sparse auto or never (auto means never there)"
        )
    if activations == "dynamic":
        raise EdgebuildError(
            f"--activations dynamic does not apply to {name}: dynamic activations quantize in float at run time, "
            "which the microcontroller kernels do not do; use --activations static (auto is static there)"
        )
    if max_drop_alone and activations == "auto":
        raise EdgebuildError(
            f"--max-drop without compression options does not apply to {name}: it would trade static for dynamic "
            "activations, which the microcontroller kernels do not do; add --cluster-bits or --low-rank-energy/-size"
        )
    if cpu is not None:
        raise EdgebuildError(
            f"--cpu does not apply to {name}: its core is fixed by the target and its kernels chosen at build time"
        )


def check_gates(max_ram: int | None, max_flash: int | None, target: Target) -> None:
    for flag, value in (("--max-ram", max_ram), ("--max-flash", max_flash)):
        if value is None:
            continue
        if target.mcu is None:
            raise EdgebuildError(
                f"{flag} applies to microcontroller targets (cortex-m4, cortex-m55); {target.name} bundles are "
                "gated by `edgebuild profile --max-peak-memory / --max-size`"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise EdgebuildError(
                f"{flag} must be a positive number of bytes (got {value!r}), e.g. 131072 or 128KiB"
            )


def build_mcu(
    target: Target,
    program: Program,
    stage: Path,
    native: Any,
    sample: list[np.ndarray] | None,
    *,
    model_name: str = "model",
    max_ram: int | None = None,
    max_flash: int | None = None,
    log: Any = lambda s: None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Writes `stage`/mcu/, firmware.elf and firmware.map; returns report.json's `mcu` section and its smoke run
    (None without a sample)."""
    from .aot import write_model_sources

    assert target.mcu is not None
    mcu = stage / MCU_DIR
    mcu.mkdir()
    log(f"generating model.c for {target.name} ({target.mcu.isa or 'reference'} kernels)")
    aot = write_model_sources(program, mcu, isa=target.mcu.isa)
    kernel_files = write_mcu_folder(mcu, list(aot.kernel_sources), target, model_name)
    log(f"compiling firmware.elf for {target.mcu.board} (kernel objects cached across builds)")
    fw = build_firmware(target, mcu, stage, log)
    figures = measure_firmware(fw, aot.arena_bytes)
    section = _section(target, aot, figures, kernel_files, max_ram, max_flash)
    section["kernels"] = [_with_shapes(program, k) for k in section["kernels"]]
    smoke = None
    if sample is not None:
        smoke = smoke_run(target, stage / FIRMWARE, native, sample)
        section["stack"]["measured_bytes"] = smoke.pop("stack_bytes")
        ram = section["ram"]
        if ram["stack_bytes"] is None:  # no static bound: the measured depth stands in, and says so
            ram["stack_bytes"] = section["stack"]["measured_bytes"]
            ram["stack_source"] = "measured under qemu (no static bound)"
            ram["total_bytes"] = ram["arena_bytes"] + ram["static_bytes"] + ram["stack_bytes"]
            _budget(section, "ram", target.mcu.ram_bytes, max_ram)
    check_budgets(target, section)
    return section, smoke


def _section(
    target: Target,
    aot: Any,
    figures: dict[str, Any],
    kernel_files: list[str],
    max_ram: int | None,
    max_flash: int | None,
) -> dict[str, Any]:
    assert target.mcu is not None
    m = target.mcu
    section: dict[str, Any] = {
        "board": m.board,
        "isa": m.isa,
        "flags": list(target.flags),
        "opt": m.opt,
        "budget_part": m.budget_part,
        "flash": dict(figures["flash"]),
        "ram": {**figures["ram"], "stack_source": "static call graph (-fcallgraph-info=su)"},
        "stack": figures["stack"],
        "firmware_other": figures["firmware_other"],
        "firmware": {"file": FIRMWARE, "map": MAP},
        "arena_bytes": aot.arena_bytes,
        "inputs": list(aot.inputs),
        "outputs": list(aot.outputs),
        # the ops model.c runs (after fusion) and the kernel function each calls
        "kernels": list(aot.ops),
        "kernel_sources": list(aot.kernel_sources),
        "files": sorted(
            [*(p.name if isinstance(p, Path) else str(p) for p in aot.files), "CMakeLists.txt"]
            + [f"kernels/{f}" for f in kernel_files]
        ),
    }
    _budget(section, "flash", m.flash_bytes, max_flash)
    _budget(section, "ram", m.ram_bytes, max_ram)
    return section


def _with_shapes(program: Program, step: dict[str, Any]) -> dict[str, Any]:
    """A step of eb_model_run with its output shape and MACs (output elements × the weights' elements per output
    channel, for the ops with constant weights: conv, depthwise, fully connected), from the Program's ops it runs."""
    by_name = {op.name: op for op in program.ops}
    src = [by_name[n] for n in step.get("fused", []) if n in by_name]
    out = dict(step)
    if not src:
        return out
    last = src[-1]
    out["outputs"] = [list(program.tensors[t].shape) for t in last.outputs if t >= 0]
    macs = 0
    for op in src:
        w = program.tensors[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
        if (
            w is not None
            and w.data is not None
            and op.opcode.name in ("CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED")
            and w.shape
            and w.shape[0]
        ):
            elems = int(np.prod(program.tensors[op.outputs[0]].shape))
            macs += elems * int(np.prod(w.shape)) // int(w.shape[0])
    out["macs"] = macs
    return out


def _budget(section: dict[str, Any], kind: str, budget: int, gate: int | None) -> None:
    part = section[kind]
    part["budget_bytes"] = budget
    part["gate_bytes"] = gate
    total = part["total_bytes"]
    limit = min(budget, gate) if gate is not None else budget
    part["margin_bytes"] = None if total is None else limit - total


def check_budgets(target: Target, section: dict[str, Any]) -> None:
    """One line when flash or RAM exceeds the target's budget or a gate: the figure, its parts, the limit, the fix."""
    flash, ram = section["flash"], section["ram"]
    checks = [
        ("flash", flash["total_bytes"], f"code {flash['code_bytes']:,} + weights {flash['weights_bytes']:,}",
         flash["budget_bytes"], flash["gate_bytes"], "--max-flash"),
        ("RAM", ram["total_bytes"], (f"arena {ram['arena_bytes']:,} + static {ram['static_bytes']:,} + stack "
         f"{ram['stack_bytes'] if ram['stack_bytes'] is not None else '?'}"),
         ram["budget_bytes"], ram["gate_bytes"], "--max-ram"),
    ]  # fmt: skip
    for what, total, parts, budget, gate, flag in checks:
        if total is None:
            continue
        if gate is not None and total > gate:
            raise EdgebuildError(
                f"{target.name}: {what} {total:,} bytes ({parts}) exceeds {flag} {gate:,} by {total - gate:,}: "
                f"shrink the model (narrower or fewer layers; --prune channel:S removes channels) or raise {flag}"
            )
        if total > budget:
            raise EdgebuildError(
                f"{target.name}: {what} {total:,} bytes ({parts}) exceeds the target's budget of {budget:,} "
                f"({section['budget_part']}) by {total - budget:,}: shrink the model, or build for a target file "
                f"with a larger part (docs/adding-a-target.md)"
            )


def smoke_run(target: Target, elf: Path, native: Any, sample: list[np.ndarray]) -> dict[str, Any]:
    """One run of the firmware on the target's QEMU board against the host extension's outputs, byte for byte."""
    from .. import progress
    from ..run.mcu import run_firmware, split_outputs

    expected = [np.asarray(o) for o in native.run(sample)]
    with progress.status(f"smoke run on qemu-system-arm -M {target.mcu.board if target.mcu else '?'}"):
        done = run_firmware(target, elf, sample)
    got = split_outputs(done.outputs[0], [e.shape for e in expected])
    identical = all(
        g.shape == e.shape and g.tobytes() == np.ascontiguousarray(e, dtype=np.float32).tobytes()
        for g, e in zip(got, expected)
    )
    if not identical:
        raise EdgebuildError(
            f"the {target.name} firmware's outputs differ from the host's for the same input: this is an edgebuild "
            "bug, please report it"
        )
    return {
        "device": done.device,
        "emulated": True,
        "bit_identical_to_host": identical,
        "outputs": [{"shape": list(g.shape)} for g in got],
        "arena_bytes": done.doc.get("arena_bytes"),
        "tracked_bytes": None,
        "stack_bytes": done.doc.get("stack_bytes"),
    }
