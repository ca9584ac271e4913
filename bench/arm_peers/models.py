"""The models bench/arm_peers measures, their edgebuild artifacts (built for arm64) and the files the peers run:
the `.tflite` and the ONNX that `edgebuild export --io int8` writes (edgebuild.export.export_file, as the CLI calls
it). Artifacts and exports are cached by the model's weights, the calibration data and edgebuild's Python sources.

- MobileNetV2 1.0 @224 and ResNet-18 @224: tests/cnn_models.py (bench/models.py), torchvision's layer layout.
- SqueezeNet 1.1 @224 and ShuffleNetV2 1.0× @224 (torchvision's stage widths 24-116-232-464-1024): the test zoo's
  architectures (tests/zoo/models.py) at their published sizes, for what the two big models do not have:
  concatenation and ceil-mode max pooling (SqueezeNet), channel split (strided slices), channel shuffle
  (reshape-transpose-reshape) and concatenation around depthwise layers (ShuffleNetV2). Every run prints the share
  of the XNNPACK path's instructions spent in TFLite's builtin kernels (ops the delegate did not take): 0.5% for
  SqueezeNet (nearly whole; MobileNetV2 0.15%, ResNet-18 5.4%, likely its PADV2 with -128 before max pooling),
  ~12% for ShuffleNetV2 (some of its 49 TRANSPOSE / 35 RESHAPE / 26 STRIDED_SLICE ops stay on the builtin
  kernels). MobileNetV3-small (opt-in, below) is worse at ~39%.
All weights are trained-like random (tests/cnn_models.randomized), 1000 classes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.models import mobilenet_v2, randomized, resnet18

SHAPE = (1, 3, 224, 224)


def squeezenet() -> tuple[nn.Module, tuple[int, ...]]:
    from tests.zoo.models import SqueezeNet

    return randomized(SqueezeNet(num_classes=1000, width=1.0), 0, SHAPE), SHAPE


def shufflenet_v2() -> tuple[nn.Module, tuple[int, ...]]:
    from tests.zoo.models import ShuffleNetV2

    return randomized(ShuffleNetV2(num_classes=1000, stages=(24, 116, 232, 464, 1024)), 0, SHAPE), SHAPE


def mobilenet_v3_small() -> tuple[nn.Module, tuple[int, ...]]:
    from tests.zoo.models import MobileNetV3Small

    return randomized(MobileNetV3Small(num_classes=1000, width=1.0), 0, SHAPE), SHAPE


class _Logits(nn.Module):
    """A `transformers` image classifier called with pixel_values, returning its logits tensor."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_values=x).logits


def hf_mobilenet_v2() -> tuple[nn.Module, tuple[int, ...]]:
    """transformers' MobileNetV2ForImageClassification built from its config (1.0 @224, 1000 labels): the same
    network family as ours, written by somebody else (TF-style 'same' padding, its own block layout)."""
    from transformers import MobileNetV2Config, MobileNetV2ForImageClassification

    net = MobileNetV2ForImageClassification(MobileNetV2Config(image_size=224, num_labels=1000))
    return randomized(_Logits(net), 0, SHAPE), SHAPE


MODELS: dict[str, Callable[[], tuple[nn.Module, tuple[int, ...]]]] = {
    "mobilenet_v2": mobilenet_v2,
    "resnet18": resnet18,
    "squeezenet": squeezenet,
    "shufflenet_v2": shufflenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "hf_mobilenet_v2": hf_mobilenet_v2,
}
# MobileNetV3-small is there to be asked for: XNNPACK leaves ~39% of its instructions to TFLite's builtin kernels
# (its .tflite has 28 GATHER and 28 CAST ops, which the delegate does not take), so it says little about XNNPACK
DEFAULT_MODELS = ("mobilenet_v2", "resnet18", "squeezenet", "shufflenet_v2")
LABELS = {
    "mobilenet_v2": "MobileNetV2 1.0 @224",
    "resnet18": "ResNet-18 @224",
    "squeezenet": "SqueezeNet 1.1 @224",
    "shufflenet_v2": "ShuffleNetV2 1.0× @224",
    "mobilenet_v3_small": "MobileNetV3-small 1.0 @224",
    "hf_mobilenet_v2": "transformers MobileNetV2 1.0 @224",
}


@dataclass
class Prepared:
    name: str
    model: nn.Module
    shape: tuple[int, ...]
    blob: bytes  # edgebuild's artifact
    tflite: Path  # edgebuild export --format tflite --io int8
    onnx: Path  # edgebuild export --format onnx --io int8
    q: np.ndarray  # the int8 input the peers get
    x: (
        np.ndarray
    )  # the same input as float, exactly on the int8 grid (edgebuild's runner quantizes it back to q)
    out_scale: float
    out_zero_point: int


def _sources_hash() -> str:
    import edgebuild

    root = Path(edgebuild.__file__).parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def prepare(name: str, cache: Path, log=print) -> Prepared:
    model, shape = MODELS[name]()
    g = torch.Generator().manual_seed(1)
    calib = torch.randn((8, *shape[1:]), generator=g).numpy()
    h = hashlib.sha256(_sources_hash().encode())
    for v in model.state_dict().values():
        h.update(v.numpy().tobytes())
    h.update(calib.tobytes())
    folder = cache / "models" / f"{name}-{h.hexdigest()[:16]}"
    ebm, tfl, onx = folder / "model.ebm", folder / "model.tflite", folder / "model.onnx"
    if not (ebm.is_file() and tfl.is_file() and onx.is_file()):
        import edgebuild
        from edgebuild.export import export_file

        log(f"{name}: building the edgebuild artifact (arm64) and its int8 exports")
        folder.mkdir(parents=True, exist_ok=True)
        bundle = edgebuild.build(
            model, (torch.from_numpy(calib[:1]),), calib=calib, target="arm64", smoke=False
        )
        (folder / ".model.ebm").write_bytes((bundle.path / "model.ebm").read_bytes())
        export_file(folder / ".model.ebm", "tflite", folder / ".model.tflite", io="int8")
        export_file(folder / ".model.ebm", "onnx", folder / ".model.onnx", io="int8")
        for f in (tfl, onx, ebm):  # the .ebm last: its presence says the folder is complete
            (folder / f".{f.name}").replace(f)
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(tfl))
    (in_scale, in_zp), (out_scale, out_zp) = (
        it.get_input_details()[0]["quantization"],
        it.get_output_details()[0]["quantization"],
    )
    if tuple(it.get_input_details()[0]["shape"]) != tuple(shape):
        raise RuntimeError(
            f"{name}: the .tflite input is {it.get_input_details()[0]['shape']}, the model's {shape}"
        )
    x0 = torch.randn(shape, generator=torch.Generator().manual_seed(7)).numpy()
    q = np.clip(np.round(x0 / in_scale) + in_zp, -128, 127).astype(np.int8)
    x = (in_scale * (q.astype(np.float32) - in_zp)).astype(np.float32)
    return Prepared(name, model, shape, ebm.read_bytes(), tfl, onx, q, x, float(out_scale), int(out_zp))
