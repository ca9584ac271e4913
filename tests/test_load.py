"""Loading: the format is told by content, each failure is one clear message, and no pickle runs code unasked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from edgebuild.errors import EdgebuildError
from edgebuild.load import detect_format, load_model
from examples.digits.model import DigitsCNN

DIGITS = Path("examples/digits")


class Payload:
    """Unpickling this runs os.system: what a malicious model file does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_formats_by_content_not_extension(tmp_path: Path) -> None:
    m = DigitsCNN().eval()
    ts = tmp_path / "model.bin"  # TorchScript under an unusual extension
    torch.jit.save(torch.jit.script(m), ts)
    ex = tmp_path / "model.weights"
    torch.export.save(torch.export.export(m, (torch.zeros(1, 1, 8, 8),)), ex)
    assert detect_format(ts) == "torchscript"
    assert detect_format(ex) == "torch.export"
    assert detect_format(DIGITS / "state_dict.pt") == "torch.save"
    assert load_model(ts).format == "torchscript"
    assert load_model(ex).format == "torch.export"
    loaded = load_model(DIGITS / "state_dict.pt", model_class="examples.digits.model:DigitsCNN")
    assert loaded.format == "state_dict" and loaded.module is not None


def test_malicious_pickle_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"weights": Payload(marker)}, evil)
    with pytest.raises(EdgebuildError, match="--trust-model"):
        load_model(evil)
    with pytest.raises(EdgebuildError):
        load_model(evil, model_class="examples.digits.model:DigitsCNN")
    assert not marker.exists(), "the pickle's code ran"


def test_legacy_pickle_refused(tmp_path: Path) -> None:
    f = tmp_path / "legacy.pt"
    torch.save(DigitsCNN().eval(), f, _use_new_zipfile_serialization=False)
    with pytest.raises(EdgebuildError, match="--trust-model"):
        load_model(f)
    assert load_model(f, trust_model=True).format == "pickled module"


def test_state_dict_of_wrong_class(tmp_path: Path) -> None:
    f = tmp_path / "sd.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), f)
    with pytest.raises(EdgebuildError, match="does not fit"):
        load_model(f, model_class="examples.digits.model:DigitsCNN")


def test_bad_model_class_spec() -> None:
    with pytest.raises(EdgebuildError, match="package.module:ClassName"):
        load_model(DIGITS / "state_dict.pt", model_class="DigitsCNN")
    with pytest.raises(EdgebuildError, match="no torch.nn.Module subclass named 'Nope'"):
        load_model(DIGITS / "state_dict.pt", model_class="examples.digits.model:Nope")
