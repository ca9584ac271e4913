"""No code runs from a model file unless --trust-model: crafted pickles inside torch.export and TorchScript archives.

torch.export.load unpickles archive members with the full unpickler (weights_only=False) -- pickled weights and
constants, and the example inputs when torch's own weights-only attempt fails -- so edgebuild reads every pickle in
an export archive first, without executing it, and refuses imports beyond torch's weights-only allowlist.
torch.jit.load's unpickler is C++ and resolves globals only to tensors and TorchScript classes: proven below.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from edgebuild.api import quiet_torch
from edgebuild.errors import EdgebuildError
from edgebuild.load import load_model, pickle_globals
from examples.digits.model import DigitsCNN
from tests.models import RandomCNN


class Payload:
    """Unpickling this runs a shell command: what a malicious model file does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Sneaky:
    """The payload behind an allowed-looking name: STACK_GLOBAL operands come through the memo."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> None:
    """Copy an archive, replacing members whose name ends with a key of `replace` (and adding `add`)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        prefix = zin.namelist()[0].split("/", 1)[0]
        for info in zin.infolist():
            data = zin.read(info.filename)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new
            zout.writestr(zipfile.ZipInfo(info.filename), data)
        for name, data in (add or {}).items():
            zout.writestr(zipfile.ZipInfo(f"{prefix}/{name}"), data)


@pytest.fixture(scope="module")
def export_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "digits.pt2"
    torch.export.save(torch.export.export(DigitsCNN().eval(), (torch.zeros(1, 1, 8, 8),)), path)
    return path


@pytest.fixture(scope="module")
def torchscript_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ts") / "digits.ts"
    torch.jit.save(torch.jit.script(DigitsCNN().eval()), path)
    return path


def torch_saved(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_plain_torch_export_load_runs_a_planted_pickle(export_archive: Path, tmp_path: Path) -> None:
    """Why the scan exists: torch itself executes a payload planted in the archive's example inputs."""
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt2"
    rewrite_zip(export_archive, evil, {"data/sample_inputs/model.pt": torch_saved({"x": Payload(marker)})})
    with open(evil, "rb") as f, quiet_torch():  # torch's own malformed log record (edgebuild/load.py)
        torch.export.load(f)
    assert marker.exists(), (
        "torch.export.load no longer unpickles example inputs; the scan is then belt and braces"
    )


@pytest.mark.parametrize("where", ["sample_inputs", "pickled_weight", "opaque_constant", "protocol0", "memo"])
def test_export_archive_payload_not_executed(export_archive: Path, tmp_path: Path, where: str) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt2"
    if where == "sample_inputs":
        rewrite_zip(
            export_archive, evil, {"data/sample_inputs/model.pt": torch_saved({"x": Payload(marker)})}
        )
    elif where == "pickled_weight":
        # Mark weight_0 as pickled in the config (what torch.export.save does for some tensors) and plant a payload.
        with zipfile.ZipFile(export_archive) as z:
            name = next(n for n in z.namelist() if n.endswith("model_weights_config.json"))
            config = json.loads(z.read(name))
        meta = next(v for v in config["config"].values() if v["path_name"] == "weight_0")
        meta["use_pickle"] = True
        rewrite_zip(
            export_archive,
            evil,
            {
                "model_weights_config.json": json.dumps(config).encode(),
                "data/weights/weight_0": torch_saved(Payload(marker)),
            },
        )
    elif where == "opaque_constant":
        rewrite_zip(
            export_archive, evil, {}, add={"data/constants/opaque_obj_0": pickle.dumps(Payload(marker))}
        )
    elif where == "protocol0":  # text pickle: GLOBAL opcode, no PROTO header
        rewrite_zip(
            export_archive,
            evil,
            {"data/sample_inputs/model.pt": f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()},
        )
    else:
        rewrite_zip(
            export_archive,
            evil,
            {"data/sample_inputs/model.pt": pickle.dumps(Sneaky(marker), protocol=4)},
        )
    with pytest.raises(EdgebuildError, match=r"imports (os|posix)\.system.*--trust-model"):
        load_model(evil)
    assert not marker.exists(), "the archive's pickle ran"


def test_trust_model_is_the_gate(export_archive: Path, tmp_path: Path) -> None:
    """With --trust-model the archive goes to torch unscanned (and torch runs its pickles: the user said so)."""
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt2"
    rewrite_zip(export_archive, evil, {"data/sample_inputs/model.pt": torch_saved({"x": Payload(marker)})})
    assert load_model(evil, trust_model=True).format == "torch.export"
    assert marker.exists()


@pytest.mark.parametrize("member", ["constants.pkl", "data.pkl"])
def test_torchscript_payload_not_executed(torchscript_archive: Path, tmp_path: Path, member: str) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ts"
    rewrite_zip(torchscript_archive, evil, {member: pickle.dumps(Payload(marker), protocol=2)})
    try:
        load_model(evil)  # constants.pkl: TorchScript refuses the type; data.pkl: same
    except EdgebuildError as e:
        assert "TorchScript" in str(e)
    assert not marker.exists(), "torch.jit.load ran a pickle's code"


def test_real_archives_pass_the_scan(tmp_path: Path) -> None:
    """No false alarms: export and TorchScript archives of real models load (their weights are raw bytes that
    must not read as imports)."""
    for seed in range(4):
        m = RandomCNN(seed).eval()
        x = torch.randn(m.input_shape())
        ex = tmp_path / f"r{seed}.pt2"
        torch.export.save(torch.export.export(m, (x,)), ex)
        assert load_model(ex).format == "torch.export"
    assert load_model(Path("examples/digits/model.pt")).format == "torch.export"


def test_pickle_globals_reads_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for proto in range(6):
        names = pickle_globals(pickle.dumps(Payload(marker), protocol=proto))
        assert names and names[0] in ("posix.system", "os.system"), (proto, names)
    assert pickle_globals(torch_saved(torch.zeros(2))) == []  # a zip, not a pickle: members are scanned
    assert pickle_globals(b"\x00\x01\x02 raw weights \xff") == []
    assert not marker.exists()
