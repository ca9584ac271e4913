"""`--cpu CORE` (edgebuild build / run / profile, the API's cpu=, a target file's `cpu`) reaches the runner, which
chooses its kernel variants for that core and says so (cpu, core_class, kernels); a bundle built with a core runs and
profiles with it by default; an unknown core is one line listing the known ones, before anything is built or run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild import targets
from edgebuild.bundle import load_bundle, record_cpu
from edgebuild.cli import main
from edgebuild.errors import EdgebuildError
from edgebuild.profile import ProfileOptions, profile_bundle
from edgebuild.run import run_runner
from edgebuild.targets import load_target

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"


@pytest.fixture
def digit(tmp_path: Path) -> Path:
    np.save(tmp_path / "x.npy", np.load(DIGITS / "eval.npz")["x"][:1])
    return tmp_path / "x.npy"


def test_run_and_profile_cpu_reach_the_runner(
    digits_bundle: Callable[[str], Path], digit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = digits_bundle("host")
    argv = [
        "run",
        str(bundle),
        "--input",
        str(digit),
        "--output",
        str(tmp_path / "y.npy"),
        "--cpu",
        "cortex-a55",
    ]
    assert main(argv) == 0
    assert (
        "cpu: cortex-a55 (in-order; EDGEBUILD_CPU), GEMM kernel qs8_gemm_minmax_"
        in " ".join(capsys.readouterr().out.split())  # rich wraps lines
    )
    argv = ["profile", str(bundle), "--cpu", "cortex-a76", "--warmup", "0", "--iterations", "1"]
    assert main([*argv, "--out", str(tmp_path / "p")]) == 0
    assert "cpu: cortex-a76 (out-of-order; EDGEBUILD_CPU)" in " ".join(capsys.readouterr().err.split())
    device = json.loads((tmp_path / "p" / "report.json").read_text())["profile"]["device"]
    assert (device["cpu"], device["core_class"], device["cpu_source"]) == (
        "cortex-a76",
        "out-of-order",
        "EDGEBUILD_CPU",
    )
    assert device["kernels"]["qs8-gemm"].startswith("qs8_gemm_minmax_")


def test_a_bundle_built_for_a_core_runs_with_it(
    digits_bundle: Callable[[str], Path], digit: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(digits_bundle("host"), bundle)
    assert load_bundle(bundle).cpu is None
    assert json.loads((bundle / "report.json").read_text())["target"]["cpu"] is None
    record_cpu(bundle, "cortex-a53")
    b = load_bundle(bundle)
    assert b.cpu == "cortex-a53"
    prof = b.profile(warmup=0, iterations=1, count_instructions=False)
    assert prof["device"]["cpu"] == "cortex-a53"
    assert (
        b.profile(cpu="cortex-a72", warmup=0, iterations=1)["device"]["cpu"] == "cortex-a72"
    )  # the call wins


def test_the_arm64_runner_picks_the_in_order_variant(
    digits_bundle: Callable[[str], Path], digit: Path
) -> None:
    """Through the Python plumbing on arm64 under qemu (`-cpu max`): cortex-a55 gets the A55-tuned SDOT GEMM (and
    neondot, as an A55 has no i8mm); a cortex-a76 gets the neondot default."""
    bundle = digits_bundle("arm64")
    target = load_target("arm64")
    docs = {
        cpu: run_runner(target, bundle / "edgebuild-run", bundle / "model.ebm", [digit], [], cpu=cpu)
        for cpu in ("cortex-a55", "cortex-a76")
    }
    assert (docs["cortex-a55"]["isa"], docs["cortex-a55"]["core_class"]) == ("neondot", "in-order")
    assert docs["cortex-a55"]["kernels"]["qs8-gemm"] == "qs8_gemm_minmax_4x8c4__neondot_a55"
    assert docs["cortex-a76"]["isa"] == "neondot"
    assert not docs["cortex-a76"]["kernels"]["qs8-gemm"].endswith("_a55")
    assert docs["cortex-a55"]["outputs"] == docs["cortex-a76"]["outputs"]  # digests: the same bytes


@pytest.mark.parametrize("command", ["run", "profile", "build"])
def test_unknown_cpu_is_one_line(
    digits_bundle: Callable[[str], Path],
    digit: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    out = tmp_path / "out"
    if command == "build":
        argv = ["build", str(DIGITS / "model.pt"), "--calib", str(DIGITS / "calib.npz"), "--out", str(out)]
    else:
        argv = [command, str(digits_bundle("host")), "--input", str(digit)]
        argv += ["--output", str(out / "y.npy")] if command == "run" else ["--out", str(out)]
    assert main([*argv, "--cpu", "cortex-a99"]) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgebuild: error: unknown cpu 'cortex-a99' (known: "), err
    assert "cortex-a55" in err and "Traceback" not in err
    assert not out.exists()


def test_api_cpu_checks(digits_bundle: Callable[[str], Path]) -> None:
    bundle = digits_bundle("host")
    for bad in ("Cortex-A55", "", "cortex a55", 55):
        with pytest.raises(EdgebuildError, match="cpu must be a core name"):
            run_runner(load_target("host"), bundle / "edgebuild-run", bundle / "model.ebm", [], [], cpu=bad)  # type: ignore[arg-type]
        with pytest.raises(EdgebuildError, match="cpu must be a core name"):
            profile_bundle(ProfileOptions(bundle, cpu=bad))  # type: ignore[arg-type]


def test_target_file_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = targets.targets_dir()
    (tmp_path / "cmake").symlink_to(real / "cmake")
    text = (real / "arm64.toml").read_text()
    (tmp_path / "arm64.toml").write_text('cpu = "cortex-a55"\n' + text)
    monkeypatch.setattr(targets, "targets_dir", lambda: tmp_path)
    assert load_target("arm64").cpu == "cortex-a55"
    (tmp_path / "arm64.toml").write_text('cpu = "cortex-a5x"\n' + text)
    with pytest.raises(EdgebuildError, match=r"arm64\.toml: unknown cpu 'cortex-a5x' \(known: "):
        load_target("arm64")
    monkeypatch.undo()
    assert load_target("arm64").cpu is None  # the shipped files name no core: the device's own is read
