"""Every documented build option (README.md, docs/compression.md, docs/sparsity.md) on every accepted model format,
on the digits example: a torch.export archive, TorchScript (`torch.jit.script` and `torch.jit.trace`), a
state_dict with --model-class and an ONNX file (`torch.onnx.export`, converted by onnx2torch). Each build ends in a bundle, or in one `edgebuild: error:` line where the option
cannot apply to the format (channel pruning needs the model as Python code); never a traceback.

The default run builds a representative subset (each format, each option family, the README's own `--distill`
example and the issue's TorchScript cases) in about three minutes; the whole cross product is marked slow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.onnx_in.onnx_files import export_onnx
from tests.trust.conftest import DIGITS

FORMATS = ("export", "script", "trace", "state_dict", "onnx")

# docs/compression.md's combination
COMPRESSION_DOCS = ("--cluster-bits", "4", "--low-rank-energy", "0.95", "--finetune-epochs", "1", "--huffman")
OPTIONS: dict[str, tuple[str, ...]] = {
    "plain": (),
    "prune-unstructured": ("--prune", "unstructured:0.5"),
    "prune-block": ("--prune", "block:0.5"),
    "prune-nm": ("--prune", "2:4"),
    "prune-channel": ("--prune", "channel:0.3"),
    "prune-sensitivity": ("--prune", "block:0.5", "--prune-sensitivity"),
    "prune-global": ("--prune", "block:0.5", "--prune-scope", "global"),
    "distill": ("--distill", "--epochs", "1"),
    "prune-gradual-distill": ("--prune", "2:4", "--prune-gradual", "--distill", "--epochs", "1"),
    "cluster": ("--cluster-bits", "5", "--finetune-epochs", "1"),
    "low-rank-energy": ("--low-rank-energy", "0.9", "--finetune-epochs", "1"),
    "low-rank-size": ("--low-rank-size", "0.5", "--finetune-epochs", "0"),
    "huffman": ("--huffman",),
    # docs/compression.md's combination
    "compression-docs": (*COMPRESSION_DOCS, "--max-drop", "5", "--eval", "{eval}"),
    "float-layers": ("--float-layers", "fc"),
    "sparse-always": ("--prune", "block:0.5", "--sparse", "always"),
    "sparse-never": ("--prune", "block:0.5", "--sparse", "never"),
    "lean": ("--lean",),
    "export-formats": ("--export", "tflite", "--export", "onnx"),
    "activations-static": ("--activations", "static"),
    "activations-dynamic": ("--activations", "dynamic", "--export", "tflite", "--export", "onnx"),
    # --max-drop with no compression option: the static -> dynamic -> float search of --activations auto
    "max-drop-activations": ("--max-drop", "5", "--eval", "{eval}"),
    "max-drop-static": ("--activations", "static", "--max-drop", "5", "--eval", "{eval}"),
}

DEFAULT = {
    ("export", "distill"),  # README's example (the teacher once failed torch.export's batch guard)
    ("script", "cluster"),  # issue 16: 'optimizer got an empty parameter list'
    ("trace", "plain"),  # issue 16: 'model input x_1 has a dynamic shape'
    ("state_dict", "prune-nm"),
    ("trace", "prune-block"),  # TorchScript is pruned as its captured graph
    ("script", "prune-channel"),  # refused in one line
    ("onnx", "plain"),  # issue 20: ONNX in
    ("onnx", "distill"),  # training on the converted graph
    ("state_dict", "lean"),
    ("onnx", "activations-dynamic"),  # issue 19: the fc layer as DYNAMIC_FULLY_CONNECTED, exported
    ("trace", "max-drop-activations"),
    ("export", "max-drop-static"),  # refused in one line
}


def expected_refusal(fmt: str, option: str) -> str | None:
    """The one-line error a format/option pair must give, or None when it must build."""
    if fmt in ("export", "script", "trace", "onnx") and option == "prune-channel":
        return "channels cannot be removed from a torch.export or TorchScript graph"
    if option == "max-drop-static":
        return "--max-drop trades compression or dynamic activations for accuracy"
    return None


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from examples.digits.model import DigitsCNN

    d = tmp_path_factory.mktemp("matrix")
    model = DigitsCNN().eval()
    model.load_state_dict(torch.load(DIGITS / "state_dict.pt"))
    example = torch.zeros(1, 1, 8, 8)
    torch.jit.save(torch.jit.script(model), str(d / "script.pt"))
    torch.jit.save(torch.jit.trace(model, example), str(d / "trace.pt"))
    export_onnx(model, (1, 1, 8, 8), d / "model.onnx")
    np.savez(d / "calib.npz", x=np.load(DIGITS / "calib.npz")["x"][:8])
    ev = np.load(DIGITS / "eval.npz")
    np.savez(d / "eval.npz", x=ev["x"][:40], y=ev["y"][:40])
    return {"dir": d, "export": DIGITS / "model.pt", "script": d / "script.pt", "trace": d / "trace.pt",
            "state_dict": DIGITS / "state_dict.pt", "onnx": d / "model.onnx"}  # fmt: skip


def _cases() -> list[object]:
    cases = []
    for fmt in FORMATS:
        for option in OPTIONS:
            marks = () if (fmt, option) in DEFAULT else (pytest.mark.slow,)
            cases.append(pytest.param(fmt, option, id=f"{fmt}-{option}", marks=marks))
    return cases


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(("fmt", "option"), _cases())
def test_option_on_format(fmt: str, option: str, files: dict[str, Path], edgebuild) -> None:
    d = files["dir"]
    out = d / f"{fmt}-{option}"
    model = [str(files[fmt])]
    if fmt == "state_dict":
        model += ["--model-class", "examples.digits.model:DigitsCNN"]
    args = [a.format(eval=d / "eval.npz") for a in OPTIONS[option]]
    r = edgebuild(*model, "--target", "host", "--calib", str(d / "calib.npz"), "--out", str(out), "--no-smoke",
                  "--no-cache", *args)  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    refusal = expected_refusal(fmt, option)
    if refusal is None:
        assert r.returncode == 0, r.stderr
        assert (out / "model.ebm").is_file() and (out / "report.json").is_file()
    else:
        assert r.returncode == 1, r.stderr
        errors = [s for s in r.stderr.splitlines() if s.startswith("edgebuild: error:")]
        assert len(errors) == 1 and refusal in errors[0], r.stderr
        assert not out.exists()
