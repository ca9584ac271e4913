"""ARM instructions per inference and per layer, counted under qemu-user with edgebuild's TCG plugin
(kernels/tools/qemu-insn-count.c, the counter `edgebuild profile` uses), for each ARM dispatch path:

    arm64 i8mm     (qemu-aarch64 -cpu max,        EDGEBUILD_ISA=i8mm: SMMLA GEMM, the default on such a core)
    arm64 neondot  (qemu-aarch64 -cpu max,        EDGEBUILD_ISA=neondot: SDOT GEMM)
    arm64 neon     (qemu-aarch64 -cpu cortex-a53, EDGEBUILD_ISA=neon: armv8.0, no dotprod)
    armv7 neon     (qemu-arm -cpu max,            EDGEBUILD_ISA=neon)
    arm64 ref      (qemu-aarch64 -cpu max,        EDGEBUILD_ISA=ref: the reference kernels, the baseline)

Counts are of guest instructions between the runner's profiling markers (one invoke, one thread): deterministic,
not a latency. The ideal for the GEMM-like ops is MACs / 16 for SDOT (one SDOT does 16 int8 MACs) and MACs / 32 for
SMMLA (a 2×8 by 8×2 int8 block, 32 MACs).

    from bench.arm_insns import arm_instruction_counts
    counts = arm_instruction_counts(blob, [x])     # {"arm64 i8mm": {"per_invoke": ..., "per_op": [...]}, ...}
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

CONFIGS = (
    ("arm64 i8mm", "arm64", "max", "i8mm"),
    ("arm64 neondot", "arm64", "max", "neondot"),
    ("arm64 neon (cortex-a53)", "arm64", "cortex-a53", "neon"),
    ("armv7 neon", "armv7", "max", "neon"),
    ("arm64 ref", "arm64", "max", "ref"),
)


def arm_instruction_counts(
    blob: bytes,
    xs: list[np.ndarray],
    configs: tuple[tuple[str, ...], ...] = CONFIGS,
    *,
    outputs: bool = False,
) -> dict[str, dict[str, Any]]:
    """Per config (label, target, qemu -cpu, EDGEBUILD_ISA[, EDGEBUILD_CPU]): the counts, plus the `kernels` the
    runner reports (the core's variants: EDGEBUILD_CPU=cortex-a55 picks the in-order ones). `outputs`: also return
    the runner's float outputs of the counted invoke (key "outputs", a list of arrays)."""
    from edgebuild.compile import build_runner
    from edgebuild.profile import MARKERS, build_insn_plugin, elf_symbols, parse_insn_counts
    from edgebuild.run import run_runner
    from edgebuild.run.transports import Local
    from edgebuild.serialize import read_artifact
    from edgebuild.targets import load_target

    num_ops = len(read_artifact(blob).ops)
    plugin = build_insn_plugin()
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="edgebuild-bench-arm-") as tmp_name:
        tmp = Path(tmp_name)
        artifact = tmp / "model.ebm"
        artifact.write_bytes(blob)
        inputs = []
        for i, x in enumerate(xs):
            inputs.append(tmp / f"x{i}.npy")
            # token ids stay integers (the runner reads int32/int64 .npy for them); everything else is float32
            np.save(inputs[-1], np.ascontiguousarray(x, x.dtype if x.dtype.kind in "iu" else np.float32))
        for label, target_name, cpu, isa, *core in configs:
            target = load_target(target_name)
            runner = build_runner(target)
            marks = elf_symbols(runner, MARKERS)
            # No "," or "=" from the -cpu spelling (max,sme=off): qemu splits plugin arguments at ",".
            counts = tmp / f"insns-{target_name}-{cpu.replace(',', '_').replace('=', '-')}-{isa}.txt"
            plugin_args = ",".join(
                [str(plugin), f"out={counts}"]
                + [f"{m.removeprefix('eb_profile_')}={hex(marks[m])}" for m in MARKERS]
            )
            device = Local(
                name=f"{target.emulator[0]} -cpu {cpu}",
                prefix=(target.emulator[0], "-cpu", cpu, "-plugin", plugin_args),
                env={"EDGEBUILD_ISA": isa, **({"EDGEBUILD_CPU": core[0]} if core and core[0] else {})},
            )
            ys = (
                [tmp / f"y{i}-{len(out)}.npy" for i in range(len(read_artifact(blob).outputs))]
                if outputs
                else []
            )
            doc = run_runner(
                target,
                runner,
                artifact,
                inputs,
                ys,
                device=device,
                profile=True,
                extra_options=("--threads", "1"),
            )
            if doc.get("isa") != isa:
                raise RuntimeError(f"{label}: asked for {isa}, the runner ran {doc.get('isa')}")
            out[label] = {**parse_insn_counts(counts.read_text(), num_ops), "kernels": doc.get("kernels", {})}
            if outputs:
                out[label]["outputs"] = [np.load(y) for y in ys]
    return out
