"""Microcontroller builds end to end, through the CLI as a user types it: `edgebuild --target cortex-m4|cortex-m55
model.pt` writes model.ebm, mcu/ (model.c, model.h, model_data.c, the kernels, a CMake snippet), firmware.elf and
its map; the build's smoke run and these tests run the firmware under qemu-system-arm and compare its outputs with
the host build's (the host extension on the same model.ebm), byte for byte. Then `edgebuild run` and `profile` on
an MCU bundle, the --max-ram gate (a clean one-line failure, nothing half-written), and every documented build
option on an MCU target (tests/pipeline/test_option_matrix.py's list): it builds, or it refuses in one line.

Builds use 8 calibration samples (the same pipeline, a quicker accuracy pass); the firmware's kernel objects are
cached across builds (edgebuild/mcu/firmware.py), so only the first build per core compiles them.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebuild.evaluate import native_model
from edgebuild.targets import load_target
from tests.models import RandomCNN
from tests.pipeline.test_option_matrix import OPTIONS

DIGITS = Path("examples/digits").resolve()
CORES = ("cortex-m4", "cortex-m55")


def _missing() -> str:
    for name in CORES:
        missing = load_target(name).missing()
        if missing:
            return f"{name}: " + ", ".join(str(m) for m in missing)
    return ""


pytestmark = pytest.mark.skipif(
    bool(_missing()), reason=f"MCU toolchain missing ({_missing()}; scripts/setup.sh)"
)


def cli(*args: str) -> tuple[int, str, str]:
    """`edgebuild ARGS` in this process: exit code, stdout, stderr."""
    from edgebuild.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's usage errors
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def one_error(stderr: str) -> str:
    """The single `edgebuild: error:` line of a refused command (and no traceback)."""
    assert "Traceback" not in stderr, stderr
    errors = [s for s in stderr.splitlines() if s.startswith("edgebuild: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("mcu")
    np.savez(d / "calib.npz", x=np.load(DIGITS / "calib.npz")["x"][:8])
    ev = np.load(DIGITS / "eval.npz")
    np.savez(d / "eval.npz", x=ev["x"][:40], y=ev["y"][:40])
    # A random CNN (tests/models.py): 3 input channels, concatenated 1×1 branches, depthwise convs, average pooling with
    # padding, no global pool (a flatten into the FC).
    model = RandomCNN(7).eval()
    shape = model.input_shape()
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(d / "cnn.pt"))
    g = torch.Generator().manual_seed(1)
    np.savez(d / "cnn_calib.npz", x=torch.randn(8, *shape[1:], generator=g).numpy())
    return {"dir": d, "calib": d / "calib.npz", "eval": d / "eval.npz", "cnn": d / "cnn.pt",
            "cnn_calib": d / "cnn_calib.npz"}  # fmt: skip


def _build(work: dict[str, Path], model: str, core: str, *extra: str) -> Path:
    src, calib = (
        (DIGITS / "model.pt", work["calib"]) if model == "digits" else (work["cnn"], work["cnn_calib"])
    )
    out = work["dir"] / f"{model}-{core}"
    code, _, err = cli(str(src), "--target", core, "--calib", str(calib), "--out", str(out), *extra)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def bundles(work: dict[str, Path]) -> dict[tuple[str, str], Path]:
    return {(m, c): _build(work, m, c) for m in ("digits", "cnn") for c in CORES}


def _samples(work: dict[str, Path], model: str, n: int) -> list[np.ndarray]:
    x = np.load(work["calib"] if model == "digits" else work["cnn_calib"])["x"]
    return [x[i : i + 1].astype(np.float32) for i in range(n)]


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("model", ["digits", "cnn"])
def test_firmware_outputs_are_the_hosts(
    model: str, core: str, bundles: dict[tuple[str, str], Path], work: dict[str, Path]
) -> None:
    out = bundles[(model, core)]
    report = json.loads((out / "report.json").read_text())
    assert report["smoke_run"]["bit_identical_to_host"] and "qemu-system-arm" in report["smoke_run"]["device"]
    for f in ("model.ebm", "firmware.elf", "firmware.map", "report.html", "mcu/model.c", "mcu/model.h",
              "mcu/model_data.c", "mcu/CMakeLists.txt"):  # fmt: skip
        assert (out / f).is_file(), f
    assert not (out / "edgebuild-run").exists()
    mcu = report["mcu"]
    assert mcu["board"] == load_target(core).mcu.board  # type: ignore[union-attr]
    for src in mcu["kernel_sources"]:  # every kernel the model calls is in the bundle, under the same path
        assert (out / "mcu" / "kernels" / src).is_file(), src
    # flash = code + weights and RAM = arena + static + stack, all inside the target's budget
    f, r = mcu["flash"], mcu["ram"]
    assert (
        f["total_bytes"] == f["code_bytes"] + f["weights_bytes"] and f["weights_bytes"] > 0 < f["code_bytes"]
    )
    assert f["code_bytes"] == f["code_model_bytes"] + f["code_kernels_bytes"]
    assert r["total_bytes"] == r["arena_bytes"] + r["static_bytes"] + r["stack_bytes"]
    assert r["total_bytes"] <= r["budget_bytes"] and f["total_bytes"] <= f["budget_bytes"]
    # the static stack bound holds what the smoke run measured (the stack painted below main's frame)
    assert 0 < mcu["stack"]["measured_bytes"] <= mcu["stack"]["bytes"], mcu["stack"]
    assert "mcu" in (out / "report.html").read_text()

    # More samples through `edgebuild run`, against the host extension on the same artifact
    native = native_model((out / "model.ebm").read_bytes())
    for i, x in enumerate(_samples(work, model, 2)):
        xin, yout = work["dir"] / f"{model}-{core}-x{i}.npy", work["dir"] / f"{model}-{core}-y{i}.npy"
        np.save(xin, x)
        code, stdout, err = cli("run", str(out), "--input", str(xin), "--output", str(yout))
        assert code == 0, err
        want = np.asarray(native.run([x])[0])
        got = np.load(yout)
        assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()
        assert "fnv1a64=" in stdout


def test_profile_counts_instructions_per_op(
    bundles: dict[tuple[str, str], Path], work: dict[str, Path]
) -> None:
    out = bundles[("digits", "cortex-m4")]
    prof_dir = work["dir"] / "profile-m4"
    code, stdout, err = cli("profile", str(out), "--iterations", "2", "--warmup", "1", "--out", str(prof_dir))
    assert code == 0, err
    prof = json.loads((prof_dir / "report.json").read_text())["profile"]
    model_h = (out / "mcu" / "model.h").read_text()
    num_ops = int(model_h.split("#define EB_MODEL_NUM_OPS")[1].split()[0])
    ins = prof["instructions"]
    assert len(prof["ops"]) == num_ops and ins["invokes_counted"] == 3 and ins["identical_across_invokes"]
    assert ins["per_invoke"] >= ins["ops_sum"] == sum(o["instructions"] for o in prof["ops"]) > 0
    assert not prof["latency_ms"]["meaningful"] and prof["device"]["kind"] == "qemu"
    assert prof["mcu"]["ram"]["total_bytes"] > 0 and 0 < prof["mcu"]["stack_measured_bytes"]
    assert "instructions per invoke" in stdout and (prof_dir / "report.html").is_file()
    # A real board is not driven from here: one line, before anything runs
    for argv in (
        ("--device", "local"),
        ("--device", "ssh://pi@board"),
        ("--threads", "2"),
        ("--cpu", "cortex-a55"),
    ):
        code, _, err = cli("profile", str(out), *argv)
        assert code == 1 and "cortex-m4" in one_error(err)
        code, _, err = cli("run", str(out), "--input", str(work["dir"] / "digits-cortex-m4-x0.npy"), *argv)
        assert code == 1 and "cortex-m4" in one_error(err)


def test_over_max_ram_fails_cleanly(work: dict[str, Path]) -> None:
    out = work["dir"] / "too-big"
    code, _, err = cli(str(DIGITS / "model.pt"), "--target", "cortex-m4", "--calib", str(work["calib"]),
                       "--out", str(out), "--max-ram", "2KiB", "--no-smoke")  # fmt: skip
    line = one_error(err)
    assert code == 1 and "RAM" in line and "--max-ram 2,048" in line and "arena" in line and "shrink" in line
    assert not out.exists() and not list(work["dir"].glob(".too-big*"))  # no bundle, no staging left over
    # a gate a Linux target cannot check is refused, not ignored
    code, _, err = cli(str(DIGITS / "model.pt"), "--target", "host", "--calib", str(work["calib"]),
                       "--out", str(out), "--max-flash", "1MiB")  # fmt: skip
    assert code == 1 and "--max-flash applies to microcontroller targets" in one_error(err)


# ---- every documented build option on an MCU target ---------------------------------------------------------------

# The one-line refusal an option must give on a microcontroller target; every other option must build.
REFUSED = {
    "huffman": "--huffman does not apply to cortex-m4",
    "compression-docs": "--huffman does not apply to cortex-m4",
    "sparse-always": "--sparse always does not apply to cortex-m4",
    "activations-dynamic": "--activations dynamic does not apply to cortex-m4",
    "max-drop-static": "--max-drop trades compression or dynamic activations for accuracy",
    "max-drop-activations": "--max-drop without compression options does not apply to cortex-m4",
    "prune-channel": "channels cannot be removed from a torch.export or TorchScript graph",
}
# Built by default (the rest are marked slow): the options an MCU user reaches for first.
DEFAULT = {"lean", "export-formats", "prune-nm", *REFUSED}


def _option_cases() -> Iterator[object]:
    for option in OPTIONS:
        marks = () if option in DEFAULT else (pytest.mark.slow,)
        yield pytest.param(option, id=option, marks=marks)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("option", list(_option_cases()))
def test_option_on_mcu(option: str, work: dict[str, Path]) -> None:
    out = work["dir"] / f"option-{option}"
    args = [a.format(eval=work["eval"]) for a in OPTIONS[option]]
    code, _, err = cli(str(DIGITS / "model.pt"), "--target", "cortex-m4", "--calib", str(work["calib"]), "--out",
                       str(out), "--no-cache", *args)  # fmt: skip
    assert "Traceback" not in err, err
    if option in REFUSED:
        assert code == 1 and REFUSED[option] in one_error(err)
        assert not out.exists()
    else:
        assert code == 0, err
        report = json.loads((out / "report.json").read_text())
        assert report["smoke_run"]["bit_identical_to_host"] and (out / "firmware.elf").is_file()


def test_cpu_option_is_refused(work: dict[str, Path]) -> None:
    code, _, err = cli(str(DIGITS / "model.pt"), "--target", "cortex-m55", "--calib", str(work["calib"]),
                       "--out", str(work["dir"] / "cpu"), "--cpu", "cortex-a55")  # fmt: skip
    assert code == 1 and "--cpu does not apply to cortex-m55" in one_error(err)


def test_targets_list_the_mcu_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m4, m55 = load_target("cortex-m4"), load_target("cortex-m55")
    assert m4.is_mcu and m4.mcu is not None and m55.mcu is not None
    assert (m4.mcu.board, m4.mcu.isa, m55.mcu.board, m55.mcu.isa) == (
        "mps2-an386",
        "dsp",
        "mps3-an547",
        "mve",
    )
    assert "-mfpu=fpv4-sp-d16" in m4.flags and "-mcpu=cortex-m55" in m55.flags
    assert m4.mcu.linker_script.is_file() and m4.toolchain_file is not None and m4.toolchain_file.is_file()
    assert (m4.mcu.flash_bytes, m4.mcu.ram_bytes) == (512 * 1024, 128 * 1024)
    assert not load_target("arm64").is_mcu
    code, out, _ = cli("targets")
    assert code == 0 and "mps2-an386" in out and "mps3-an547" in out
    # Without the emulator, what is missing is named with its Debian package
    import os
    import shutil

    from edgebuild.targets import describe_missing

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-g++", "cmake", "ninja"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    missing = m4.missing()
    assert [m.program for m in missing] == ["qemu-system-arm"]
    assert "apt-get install qemu-system-arm" in describe_missing(missing)
    assert m4.missing(run=False) == []


@pytest.mark.parametrize("core", ["cortex-m7", "cortex-m33"])
def test_dsp_sources_run_on_m7_and_m33(
    core: str, bundles: dict[tuple[str, str], Path], work: dict[str, Path]
) -> None:
    """cortex-m7 and cortex-m33 choose the same (dsp) kernels as cortex-m4: the M4 bundle's mcu/ folder, built into
    firmware for their boards (an500; an505 running secure, mps2-an505.ld), gives the host's bytes."""
    from edgebuild.mcu.firmware import build_firmware
    from edgebuild.run.mcu import run_firmware, split_outputs

    target = load_target(core)
    assert target.mcu is not None and target.mcu.isa == load_target("cortex-m4").mcu.isa  # type: ignore[union-attr]
    out = bundles[("digits", "cortex-m4")]
    fw = build_firmware(target, out / "mcu", work["dir"] / f"fw-{core}")
    native = native_model((out / "model.ebm").read_bytes())
    for x in _samples(work, "digits", 2):
        want = np.asarray(native.run([x])[0])
        got = split_outputs(run_firmware(target, fw.elf, [x]).outputs[0], [want.shape])[0]
        assert got.tobytes() == want.tobytes()


def test_firmware_build_cache_is_per_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached firmware build points into the checkout that configured it (cmake -S, EB_MCU_DIR): a second
    checkout with the same files must get its own, or it would compile the first one's kernels (or fail once that
    one is deleted, as a removed git worktree did)."""
    import shutil

    from edgebuild.mcu import firmware
    from edgebuild.targets import load_target

    target = load_target("cortex-m4")
    here = firmware._firmware_key(target)
    copy = tmp_path / "mcu"
    shutil.copytree(firmware._mcu_dir(), copy)
    monkeypatch.setattr(firmware, "_mcu_dir", lambda: copy)
    assert firmware._firmware_key(target) != here
