"""What a user sees when a build cannot go on: every blocking op at once (count, source line, what to do), one
`edgebuild: error:` line for anything unexpected, and none of torch's own warnings or log lines."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.fx import Node

from edgebuild.errors import EdgebuildError
from edgebuild.lower import LOWERINGS, UnsupportedOpsError, lower_graph
from edgebuild.lower.walker import REASON_INT8_REFUSED
from edgebuild.quantize import quantize_model
from tests.trust.conftest import DIGITS, cli

HERE = Path(__file__).name


def _lower(model: nn.Module, x: torch.Tensor):  # -> Program
    gm = torch.export.export(model.eval(), (x,)).module()
    return lower_graph(quantize_model(gm, [(x,)]), "m")


class NobodyLowers(nn.Module):
    """Ops no lowering covers (and none is planned): an FFT and a random tensor drawn inside forward()."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        spectrum = torch.fft.rfft(h, dim=-1).real  # line A
        noise = torch.randn(1, 8)  # line B
        return h + noise + spectrum.mean()


def test_every_blocking_op_is_listed_at_once() -> None:
    with pytest.raises(UnsupportedOpsError) as e:
        _lower(NobodyLowers(), torch.randn(1, 8))
    msg = str(e.value)
    names = [u.name for u in e.value.ops]
    assert any("fft" in n for n in names), msg
    assert any("randn" in n for n in names), msg
    lines = Path(__file__).read_text().splitlines()
    line_a = next(i for i, s in enumerate(lines, 1) if s.endswith("# line A"))
    line_b = next(i for i, s in enumerate(lines, 1) if s.endswith("# line B"))
    fft_line = next(s for s in msg.splitlines() if "fft" in s)
    randn_line = next(s for s in msg.splitlines() if "randn" in s)
    assert f"×1 at {HERE}:{line_a}" in fft_line and "op missing" in fft_line, fft_line
    assert f"×1 at {HERE}:{line_b}" in randn_line and "edgebuild ops" in randn_line, randn_line


class TwoLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def test_a_refused_int8_form_runs_in_float_and_a_lowering_bug_is_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An int8 lowering that refuses its node's attributes (EdgebuildError) leaves the op to its float form
    (float_ops says why); one with a bug (any other exception) is listed with what to do, after the whole walk."""
    linear = LOWERINGS["aten.linear.default"]

    def picky(ctx: object, node: Node) -> None:
        if node.name == "linear":
            raise EdgebuildError(f"{node.name}: 4097 input features exceed the int8 kernel's limit")
        linear(ctx, node)  # type: ignore[arg-type]

    monkeypatch.setitem(LOWERINGS, "aten.linear.default", picky)
    prog = _lower(TwoLayers(), torch.randn(1, 8))
    entry = next(e for e in prog.metadata["float_ops"] if e["node"] == "linear")
    assert entry["reason"] == f"{REASON_INT8_REFUSED}: 4097 input features exceed the int8 kernel's limit"

    def buggy(ctx: object, node: Node) -> None:
        if node.name == "linear_1":
            raise ZeroDivisionError("division by zero")
        picky(ctx, node)

    monkeypatch.setitem(LOWERINGS, "aten.linear.default", buggy)
    with pytest.raises(UnsupportedOpsError) as e:
        _lower(TwoLayers(), torch.randn(1, 8))
    msg = str(e.value)
    assert msg.startswith("1 op(s) of 1 type(s) cannot be lowered:"), msg
    bug = msg.splitlines()[1]
    assert "internal error" in bug and "ZeroDivisionError: division by zero" in bug, bug
    assert "--float-layers b" in bug, bug


def test_an_unexpected_exception_is_one_line_and_leaves_no_bundle(
    tmp_path: Path, small_calib: Path, edgebuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = importlib.import_module("edgebuild.pipeline")

    def boom(*args: object, **kwargs: object) -> None:
        raise ValueError("arena of -1 bytes\nsecond line")

    monkeypatch.setattr(pipeline, "plan_arena", boom)
    out = tmp_path / "bundle"
    r = edgebuild(str(DIGITS / "model.pt"), "--calib", str(small_calib), "--out", str(out), "--no-smoke",
                  "--no-cache")  # fmt: skip
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    errors = [s for s in r.stderr.splitlines() if s.startswith("edgebuild: error:")]
    assert len(errors) == 1 and "internal error: ValueError: arena of -1 bytes (in boom" in errors[0], (
        r.stderr
    )
    assert "second line" not in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".bundle.partial-*"))


TORCH_CHATTER = re.compile(
    r"Warning|warnings\.warn|^[WIE]\d{4} \d\d:|Traceback|torch/_export|Dim\.AUTO", re.MULTILINE
)


def test_torch_warnings_do_not_reach_the_terminal(tmp_path: Path, small_calib: Path) -> None:
    """A TorchScript file (torch's converter warns and logs for every input and BatchNorm counter) and a .pt
    torch.export archive, built as a user runs edgebuild: stderr holds edgebuild's lines only."""
    sys.path.insert(0, str(DIGITS.parent.parent))
    from examples.digits.model import DigitsCNN

    model = DigitsCNN().eval()
    model.load_state_dict(torch.load(DIGITS / "state_dict.pt"))
    traced = tmp_path / "traced.pt"
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 1, 8, 8)), str(traced))
    for path in (traced, DIGITS / "model.pt"):
        p = cli(str(path), "--calib", str(small_calib), "--out", str(tmp_path / path.stem), "--no-smoke",
                "--no-cache")  # fmt: skip
        assert p.returncode == 0, p.stderr
        assert not TORCH_CHATTER.search(p.stderr), p.stderr
        assert (tmp_path / path.stem / "model.ebm").is_file()


def test_calibration_by_forward_argument_names(tmp_path: Path, edgebuild) -> None:
    """--calib keyed by forward()'s argument names (any order in the file), x0/x1 still accepted, and a file
    keyed otherwise is one line naming both spellings."""
    (tmp_path / "twoin.py").write_text(
        "import torch\n"
        "class TwoIn(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(8, 4)\n"
        "    def forward(self, pixels, bias_map):\n"
        "        return self.fc(pixels) + bias_map\n"
    )
    sys.path.insert(0, str(tmp_path))
    from twoin import TwoIn  # type: ignore[import-not-found]

    torch.save(TwoIn().state_dict(), tmp_path / "sd.pt")
    rng = np.random.default_rng(0)
    pixels = rng.standard_normal((6, 8)).astype(np.float32)
    bias_map = rng.standard_normal((6, 4)).astype(np.float32)
    np.savez(tmp_path / "named.npz", bias_map=bias_map, pixels=pixels)  # not forward()'s order
    np.savez(tmp_path / "positional.npz", x0=pixels, x1=bias_map)
    np.savez(tmp_path / "other.npz", a=pixels, b=bias_map)
    common = (str(tmp_path / "sd.pt"), "--model-class", "twoin:TwoIn", "--no-smoke", "--no-cache")
    reports = []
    for name in ("named", "positional"):
        r = edgebuild(*common, "--calib", str(tmp_path / f"{name}.npz"), "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        reports.append((tmp_path / name / "model.ebm").read_bytes())
    assert reports[0] == reports[1]  # the same samples reach the same inputs
    r = edgebuild(*common, "--calib", str(tmp_path / "other.npz"), "--out", str(tmp_path / "other"))
    assert r.returncode == 1
    err = [s for s in r.stderr.splitlines() if s.startswith("edgebuild: error:")]
    assert len(err) == 1 and "x0, x1" in err[0] and "pixels, bias_map" in err[0], r.stderr
