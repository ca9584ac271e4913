"""Bare-metal test programs for the Cortex-M cores: compile C/C++ sources with arm-none-eabi-gcc against
kernels/mcu/startup.c and the board's linker script, run them under qemu-system-arm with semihosting (argv in, stdout
and the exit status out), and count their instructions between two marker functions with the TCG plugin
(kernels/tools/qemu-insn-count.c, the same plugin the profiler uses under qemu-user).

A test utility for kernel testers and benches; the product's firmware build is edgebuild/mcu/.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "kernels"


@dataclass(frozen=True)
class Core:
    name: str
    board: str  # qemu-system-arm -M
    flags: tuple[str, ...]
    linker_script: str  # under kernels/mcu/boards/


CORES = {
    "cortex-m4": Core(
        "cortex-m4",
        "mps2-an386",
        ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        "mps2-an386.ld",
    ),
    "cortex-m55": Core(
        "cortex-m55", "mps3-an547", ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"), "mps3-an547.ld"
    ),
}

# eb_qs8_conv_params' fields in declaration order (kernels/include/edgebuild/ukernels.h), for testers that pass
# parameter structs as int32 words.
CONV_FIELDS = [
    "batch",
    "input_height",
    "input_width",
    "input_channels",
    "output_height",
    "output_width",
    "output_channels",
    "kernel_height",
    "kernel_width",
    "groups",
    "stride_height",
    "stride_width",
    "pad_top",
    "pad_left",
    "dilation_height",
    "dilation_width",
    "input_zero_point",
    "output_zero_point",
    "output_min",
    "output_max",
]

TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-g++", "qemu-system-arm")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def compile_program(
    core: str,
    sources: list[Path],
    out_dir: Path,
    *,
    defines: tuple[str, ...] = (),
    include_dirs: tuple[Path, ...] = (),
    opt: str = "-O2",
) -> Path:
    """Compile and link `sources` (.c with gcc, .cc with g++ without exceptions, RTTI or libstdc++) into one ELF;
    cached in `out_dir` by a hash of the sources, flags and startup."""
    c = CORES[core]
    startup = KERNELS / "mcu" / "startup.c"
    ld = KERNELS / "mcu" / "boards" / c.linker_script
    h = hashlib.sha256()
    for p in [startup, ld, *sources]:
        h.update(str(p).encode())
        h.update(p.read_bytes())
    h.update(repr((c, defines, include_dirs, opt)).encode())
    out_dir.mkdir(parents=True, exist_ok=True)
    elf = out_dir / f"prog-{core}-{h.hexdigest()[:16]}.elf"
    if elf.is_file():
        return elf
    common = [
        *c.flags,
        opt,
        "-g",
        "-ffunction-sections",
        "-fdata-sections",
        "-ffp-contract=off",
        f"-I{KERNELS / 'include'}",
        *(f"-I{d}" for d in include_dirs),
        *(f"-D{d}" for d in defines),
    ]
    objs = []
    for i, src in enumerate([startup, *sources]):
        obj = out_dir / f"{elf.stem}-{i}-{src.stem}.o"
        if src.suffix == ".c":
            cmd = ["arm-none-eabi-gcc", "-std=c11", *common]
        else:
            cmd = [
                "arm-none-eabi-g++",
                "-std=c++17",
                "-fno-exceptions",
                "-fno-rtti",
                "-fno-threadsafe-statics",
                *common,
            ]
        subprocess.run([*cmd, "-c", str(src), "-o", str(obj)], check=True, capture_output=True, text=True)
        objs.append(obj)
    staged = elf.with_suffix(".tmp")
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            *c.flags,
            "-nostartfiles",
            "--specs=rdimon.specs",
            "-Wl,--gc-sections",
            f"-T{ld}",
            *map(str, objs),
            "-lm",
            "-o",
            str(staged),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    staged.replace(elf)
    return elf


@dataclass
class Run:
    returncode: int
    stdout: str
    insns: int | None  # instructions between the markers (count=True), else None


def run_program(
    core: str, elf: Path, args: tuple[str, ...] = (), *, timeout: float = 300, count: bool = False
) -> Run:
    """Run `elf` on the core's QEMU board; argv[0] is the ELF's name, then `args`. With `count`, the program must
    call `eb_profile_invoke_begin()` and `eb_profile_invoke_end()` (noinline, empty functions it defines) around
    the region to count; the result is the instructions executed between them (the last such region)."""
    c = CORES[core]
    cmd = ["qemu-system-arm", "-M", c.board, "-nographic", "-monitor", "none", "-serial", "null"]
    semi = "enable=on,target=native," + ",".join(f"arg={a}" for a in (elf.name, *args))
    cmd += ["-semihosting-config", semi, "-kernel", str(elf)]
    out_file = None
    if count:
        from edgebuild.profile.insns import build_insn_plugin, elf_symbols

        names = ("eb_profile_invoke_begin", "eb_profile_invoke_end")
        addrs = elf_symbols(elf, names)
        out_file = elf.with_suffix(f".insns-{hashlib.sha256(repr(args).encode()).hexdigest()[:8]}.txt")
        plugin = build_insn_plugin()
        cmd[1:1] = [
            "-plugin",
            (
                f"{plugin},out={out_file},invoke_begin={addrs[names[0]]:#x},invoke_end={addrs[names[1]]:#x},"
                "op_begin=0x1,op_end=0x3"
            ),
        ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    insns = None
    if out_file is not None and out_file.is_file():
        lines = [ln.split() for ln in out_file.read_text().splitlines() if ln.startswith("invoke ")]
        insns = int(lines[-1][1]) if lines else None
    return Run(done.returncode, done.stdout + done.stderr, insns)
