"""ONNX files for the tests: zoo models through torch.onnx.export (the TorchScript exporter, `dynamo=False`: the
dynamo exporter needs onnxscript, which is not installed), QDQ and QOperator files from onnxruntime's own quantizer,
silero-vad's packaged files, and ONNX Runtime's outputs on them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

# opset 17: onnx2torch 1.5.15 has no converters for the opset-19 forms of AveragePool and others (a newer file is
# refused with the op and opset named)
OPSET = 17
SILERO_FILE = "silero_vad_openvino_16k.onnx"  # static shapes [1, 576] + state [2, 1, 128]; LSTM, Pad(reflect)
SILERO_IF_FILE = "silero_vad.onnx"  # the sample rate (an input) picks the 8k or 16k branch of an If


def silero_path(name: str = SILERO_FILE) -> Path:
    import silero_vad  # the test extra (pyproject.toml); installed --no-deps by scripts/setup.sh

    path = Path(silero_vad.__file__).parent / "data" / name
    assert path.is_file(), f"silero-vad no longer ships {name}"
    return path


def export_onnx(
    model: torch.nn.Module, shape: tuple[int, ...], path: Path, dynamic: dict | None = None, fold: bool = True
) -> Path:
    """`fold=False` keeps BatchNormalization nodes (the exporter otherwise folds them into the convolutions)."""
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (torch.zeros(shape),),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            do_constant_folding=fold,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes=dynamic if dynamic is not None else {"image": {0: "batch"}, "logits": {0: "batch"}},
        )
    return path


def ort_session(path: Path):  # -> onnxruntime.InferenceSession
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def ort_run(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(o) for o in ort_session(path).run(None, feeds)]


def quantize_with_ort(src: Path, dst: Path, calib: np.ndarray, fmt: str) -> Path:
    """onnxruntime's static quantizer: QDQ (QuantizeLinear / DequantizeLinear around float ops) or QOperator
    (QLinearConv, ...), per-channel int8 weights, int8 activations."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"image": x[None]} for x in calib])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    quantize_static(
        str(src),
        str(dst),
        Reader(),
        quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    return dst


def silero_stream(n: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """`n` consecutive model inputs as silero-vad's own iterator makes them: 64 samples of context + 512 new samples
    of a 16 kHz signal (voiced bursts: a harmonic tone with a syllable-rate envelope, then noise), with the state ONNX
    Runtime returned for the previous chunk — the states the model meets in use."""
    rng = np.random.default_rng(seed)
    t = np.arange(512 * (n + 1)) / 16000
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    voice = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / 16000) / k for k in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 3 * t), 0, None) * (t < t[-1] / 2)
    audio = (0.3 * envelope * voice + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    state = np.zeros((2, 1, 128), np.float32)
    sess = ort_session(silero_path())
    feeds = []
    for i in range(n):
        chunk = audio[512 * i - 64 : 512 * (i + 1)] if i else np.concatenate([np.zeros(64), audio[:512]])
        feeds.append({"input": chunk.astype(np.float32)[None], "state": state})
        _, state = sess.run(None, feeds[-1])
    return feeds
