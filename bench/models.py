"""The benchmarks' models: MobileNetV2 and ResNet-18 live in tests/cnn_models.py, shared with the tests (which must
not import bench/)."""

from tests.cnn_models import (
    MobileNetV2,
    ResNet18,
    _make_divisible,
    mobilenet_v2,
    output_spread,
    randomized,
    resnet18,
)

__all__ = [
    "MobileNetV2",
    "ResNet18",
    "_make_divisible",
    "mobilenet_v2",
    "output_spread",
    "randomized",
    "resnet18",
]
