"""The Cortex-M4 DSP CONV2D and FULLY_CONNECTED kernels (kernels/ukernels/qs8-conv/qs8_conv_minmax__dsp.cc,
qs8-gemm/qs8_gemm_minmax_2x2c4__dsp.cc) against their reference twins, byte for byte, under qemu-system-arm on
mps2-an386 (kernels/mcu/test/dsp_gemm_test.cc generates the cases on the device from a fixed seed); their
instruction counts on the CMSIS-NN kernel shapes of issue 18; and their registry entries (edgebuild/mcu/variants/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgebuild.mcu.variants import choose

from .baremetal import KERNELS, compile_program, missing_tools, run_program

pytestmark = pytest.mark.skipif(
    bool(missing_tools()),
    reason=f"needs {', '.join(missing_tools())} (scripts/setup.sh installs the MCU toolchain)",
)

SOURCES = [
    KERNELS / "mcu" / "test" / "dsp_gemm_test.cc",
    KERNELS / "ukernels" / "qs8-conv" / "ref.cc",
    KERNELS / "ukernels" / "qs8-gemm" / "ref.cc",
    KERNELS / "ukernels" / "qs8-conv" / "qs8_conv_minmax__dsp.cc",
    KERNELS / "ukernels" / "qs8-gemm" / "qs8_gemm_minmax_2x2c4__dsp.cc",
]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dsp_gemm")


@pytest.fixture(scope="module")
def tester(build_dir: Path) -> Path:
    return compile_program("cortex-m4", SOURCES, build_dir)


# -Os too: a bundle's user may build the kernels at any level, and the k loops must not depend on the register
# allocator (they are naked assembly functions; inline asm with 14 operands fails at -Os and -O3).
@pytest.mark.parametrize("seed,cases,opt", [(1, 600, "-O2"), (20261203, 600, "-O2"), (7, 300, "-Os")])
def test_dsp_conv_and_fc_equal_their_references(build_dir: Path, seed: int, cases: int, opt: str) -> None:
    elf = compile_program("cortex-m4", SOURCES, build_dir, opt=opt)
    run = run_program("cortex-m4", elf, ("test", str(seed), str(cases)), timeout=120)
    assert run.returncode == 0, run.stdout
    assert " 0 failures" in run.stdout, run.stdout


def conv_params(n, h, w, c, oc, kh, kw, s, pad) -> dict[str, int]:
    return {
        "batch": n,
        "input_height": h,
        "input_width": w,
        "input_channels": c,
        "output_channels": oc,
        "output_height": (h + 2 * pad - kh) // s + 1,
        "output_width": (w + 2 * pad - kw) // s + 1,
        "kernel_height": kh,
        "kernel_width": kw,
        "groups": 1,
        "stride_height": s,
        "stride_width": s,
        "pad_top": pad,
        "pad_left": pad,
        "dilation_height": 1,
        "dilation_width": 1,
        "input_zero_point": 0,
        "output_zero_point": 0,
        "output_min": -128,
        "output_max": 127,
    }


# (kind, shape args for the tester's bench mode, CMSIS-NN's M4/DSP instructions per call from issue 18 or None)
SHAPES = [
    ("conv", ("1", "32", "32", "16", "16", "3", "3", "1", "1", "1", "1"), 5_490_000),
    ("fc", ("1", "256", "64"), 34_000),
]


@pytest.mark.parametrize("kind,shape,cmsis", SHAPES)
def test_instruction_counts_are_reported(tester: Path, kind: str, shape: tuple[str, ...], cmsis: int) -> None:
    counts = {}
    scratch = 0
    for impl in ("ref", "dsp"):
        run = run_program("cortex-m4", tester, ("bench", kind, impl, *shape), count=True, timeout=120)
        assert run.returncode == 0, run.stdout
        assert run.insns is not None and run.insns > 0, run.stdout
        words = run.stdout.split()
        macs = float(words[words.index("macs") + 1])
        scratch = int(words[words.index("scratch") + 1])
        counts[impl] = run.insns
    print(
        f"{kind} {' '.join(shape)}: ref {counts['ref']} ({counts['ref'] / macs:.2f}/MAC), dsp {counts['dsp']} "
        f"({counts['dsp'] / macs:.2f}/MAC), CMSIS-NN {cmsis} ({cmsis / macs:.2f}/MAC): "
        f"{counts['dsp'] / cmsis:.2f}x CMSIS-NN"
    )
    # The Python registry's scratch size is the one the C kernel uses (the tester prints the kernel header's).
    if kind == "conv":
        v = [int(a) for a in shape]
        chosen = choose("conv", "dsp", conv_params(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[9]))
        assert (
            chosen is not None
            and chosen.scratch_bytes(conv_params(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[9]))
            == scratch
        )
    else:
        fields = {
            "m": int(shape[0]),
            "k": int(shape[1]),
            "n": int(shape[2]),
            "output_min": -128,
            "output_max": 127,
        }
        chosen = choose("fc", "dsp", fields)
        assert chosen is not None and chosen.scratch_bytes(fields) == scratch


def tiny_conv_layers() -> list[dict[str, int]]:
    """The groups-1 convolutions of the four MLPerf Tiny models, as the code generator's parameters."""
    torch = pytest.importorskip("torch")
    from tests.tiny_models import tiny_model

    layers = []
    for name in ("kws", "vww", "ic"):
        module, shape = tiny_model(name)
        found: list[dict[str, int]] = []

        def hook(mod, inputs, output, found=found) -> None:
            if mod.groups != 1:
                return
            x = inputs[0]
            found.append(
                {
                    **conv_params(
                        1,
                        x.shape[2],
                        x.shape[3],
                        x.shape[1],
                        output.shape[1],
                        *mod.kernel_size,
                        mod.stride[0],
                        0,
                    ),
                    "stride_width": mod.stride[1],
                    "pad_top": mod.padding[0],
                    "pad_left": mod.padding[1],
                    "output_height": output.shape[2],
                    "output_width": output.shape[3],
                }
            )

        handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            module(torch.zeros(shape))
        for h in handles:
            h.remove()
        layers += found
    return layers


# Slow (~20 s: it lowers all four models); the default run has tests/mcu/test_tiny_goals.py, whose firmware calls the
# DSP kernels on every one of those models.
@pytest.mark.slow
def test_every_tiny_model_conv_runs_on_the_dsp_kernel() -> None:
    layers = tiny_conv_layers()
    assert len(layers) >= 10
    for p in layers:
        v = choose("conv", "dsp", p)
        assert v is not None and v.function == "eb_qs8_conv_minmax_ukernel__dsp", p
        assert v.scratch_bytes(p) <= 8 * 1024, p  # im2col of two pixels: small next to the activations
    assert choose("conv", "dsp", {**layers[0], "groups": 4}) is None  # grouped / depthwise: not this family
    fc = {"m": 1, "n": 12, "k": 64, "output_min": -128, "output_max": 127}
    one_row = choose("fc", "dsp", fc)
    assert one_row is not None and one_row.function == "eb_qs8_gemm_minmax_ukernel_1x4c4__dsp"
    assert one_row.scratch_bytes(fc) == 0  # batch 1 adds nothing to the arena
    rows = choose("fc", "dsp", {**fc, "m": 3})
    assert rows is not None and rows.function == "eb_qs8_gemm_minmax_ukernel__dsp"
