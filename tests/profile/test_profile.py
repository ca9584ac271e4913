"""edgebuild profile on the host and under qemu: the runner's JSON, the memory figures the issue promises, and
deterministic per-op instruction counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgebuild.cli import main
from edgebuild.errors import EdgebuildError
from edgebuild.profile import ProfileOptions, elf_symbols, parse_size, profile_bundle


def test_host_profile_document(digits_bundle: Callable[[str], Path]) -> None:
    prof = profile_bundle(ProfileOptions(digits_bundle("host"), warmup=1, iterations=5))
    dev = prof["device"]
    assert (dev["kind"], dev["name"], dev["emulated"], dev["target"]) == ("local", "local", False, "host")
    lat = prof["latency_ms"]
    assert lat["meaningful"] and lat["iterations"] == 5 and lat["warmup"] == 1
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["max"]
    assert prof["load_ms"] > 0
    convs = [o for o in prof["ops"] if o["type"] in ("CONV2D", "DEPTHWISE_CONV2D")]
    assert convs and all(o["macs"] > 0 for o in convs)
    # DEPTHWISE_CONV2D (digits has one): output elements × KH·KW, its weight being [OC, KH, KW, 1].
    (dw,) = [o for o in convs if o["type"] == "DEPTHWISE_CONV2D"]
    w = dw["inputs"][1]
    assert w[3] == 1 and dw["macs"] == int(np.prod(dw["outputs"][0])) * w[1] * w[2]
    for o in prof["ops"]:
        assert {"name", "type", "inputs", "outputs", "macs", "ms", "gmacs_per_s"} <= set(o)
        assert all(isinstance(d, int) for d in o["outputs"][0])
    # MACs of the first conv from its shapes: output elements × KH·KW·C/G (weights are the op's second input).
    c = convs[0]
    w = c["inputs"][1]
    out = c["outputs"][0]
    assert c["macs"] == out[0] * out[1] * out[2] * out[3] * w[1] * w[2] * w[3]
    assert prof["instructions"] is None


def test_host_memory_figures(digits_bundle: Callable[[str], Path]) -> None:
    prof = profile_bundle(ProfileOptions(digits_bundle("host"), warmup=1, iterations=3))
    mem = prof["memory"]
    # The plan is never below the bound (a bound no plan can beat) and within 10% of it.
    assert mem["arena_lower_bound_bytes"] <= mem["arena_bytes"] <= 1.10 * mem["arena_lower_bound_bytes"]
    # Tracked peak = arena + weights + a named overhead, exactly.
    ov = mem["overhead"]
    assert mem["tracked_peak_bytes"] == mem["arena_bytes"] + mem["weights_bytes"] + ov["bytes"]
    assert ov["bytes"] == ov["artifact_other_bytes"] + ov["runtime_bookkeeping_bytes"]
    assert ov["runtime_bookkeeping_bytes"] > 0
    # The OS's peak RSS is within 5% of what the tracked bytes predict on top of the process's own baseline.
    rss = mem["rss"]
    assert rss["source"] == "VmHWM" and not rss["includes_emulator"]
    assert abs(rss["peak_vs_predicted"]) <= 0.05, rss
    assert prof["size"]["artifact_bytes"] == sum(s["bytes"] for s in prof["size"]["artifact_sections"])


def test_qemu_instruction_counts_are_deterministic(digits_bundle: Callable[[str], Path]) -> None:
    bundle = digits_bundle("arm64")
    a, b = (profile_bundle(ProfileOptions(bundle, device="qemu", warmup=1, iterations=2)) for _ in range(2))
    assert a["device"]["emulated"] and not a["latency_ms"]["meaningful"]
    assert "not device latency" in a["latency_ms"]["note"]
    ia, ib = a["instructions"], b["instructions"]
    assert ia["identical_across_invokes"] and ia["invokes_counted"] == 3
    assert [o["instructions"] for o in a["ops"]] == [o["instructions"] for o in b["ops"]]
    assert ia["per_invoke"] == ib["per_invoke"]
    # Per-op counts sum to the invoke's count within the runtime's own overhead (loop, clock reads, markers).
    assert ia["ops_sum"] + ia["runtime_overhead"] == ia["per_invoke"]
    assert 0 <= ia["runtime_overhead"] <= 200 * len(a["ops"])
    assert all(o["instructions"] > 0 for o in a["ops"])


def test_markers_are_in_the_static_runners(digits_bundle: Callable[[str], Path]) -> None:
    marks = elf_symbols(
        digits_bundle("arm64") / "edgebuild-run", ("eb_profile_op_begin", "eb_profile_op_end")
    )
    assert len(set(marks.values())) == 2


def test_cli_profile_writes_report_and_html(
    digits_bundle: Callable[[str], Path], tmp_path: Path, capsys
) -> None:
    assert main(["profile", str(digits_bundle("host")), "--iterations", "2", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "edgebuild profile" in printed and "CONV2D" in printed and "tracked peak" in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["profile"]["schema"] == "edgebuild.profile/1"
    assert report["target"]["name"] == "host"
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_cli_profile_errors(tmp_path: Path, capsys) -> None:
    assert main(["profile", str(tmp_path)]) == 1
    assert "not an edgebuild bundle" in capsys.readouterr().err
    with pytest.raises(EdgebuildError, match="bad size"):
        parse_size("12 parsecs")
    assert parse_size("8MiB") == 8 << 20 and parse_size("8MB") == 8_000_000 and parse_size("512") == 512
