"""onnxruntime sessions for the ONNX export tests, and when its fused int8 kernels are exact enough to compare.

onnxruntime runs a QDQ graph two ways. Fused (its default): each DequantizeLinear -> Conv/Gemm -> QuantizeLinear
group becomes one int8 kernel. On x86 without VNNI those kernels multiply u8 x s8 pairs with vpmaddubsw, whose
int16 pair sums saturate (the "saturation issue" that onnxruntime's quantization docs and OpenVINO document for
pre-VNNI CPUs): outputs drift by tens of LSB, so no LSB bound on them says anything about our export. With VNNI
(avx512_vnni or avx_vnni) or on ARM the sums are exact and the 2-LSB bound of docs/integration.md holds.
Unfused (ORT_DISABLE_ALL): every Q/DQ runs as written and the arithmetic is float, i.e. the QDQ graph's own
semantics, on any CPU.
"""

from __future__ import annotations

import platform
from pathlib import Path

import onnxruntime as ort


def _x86_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def fused_int8_exact() -> tuple[bool, str]:
    """(True, "") where onnxruntime's fused int8 kernels accumulate exactly, else (False, why)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return True, ""
    flags = _x86_flags()
    if flags & {"avx512_vnni", "avx_vnni"}:
        return True, ""
    return False, (
        "onnxruntime's fused int8 kernels saturate int16 pair sums on x86 without VNNI (vpmaddubsw); "
        "this CPU has no avx512_vnni / avx_vnni, so only the unfused QDQ graph is compared here"
    )


def session(model: bytes, fused: bool) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    if not fused:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
