"""The third-party zoo (tests/zoo/hf_models.py: 63 `transformers` architectures, small configs, realistic init) built
the way a user builds it (tests/zoo/hf_driver.py): torch.export at batch 1 -> `edgebuild.build` with calibration
data -> one artifact, run on the host extension and on the host, arm64 and armv7 runners.

Each model must (1) build, (2) give byte-identical outputs on every target it runs on, (3) have a float output that
depends on its input (sensitivity ≥ 0.05: agreement on a constant means nothing) and (4) agree with the float
PyTorch model: cosine similarity ≥ 0.99 over 4 held-out samples (MIN_COSINE; the issue's starting bound: int8
activations carry ~1/256 of their range as rounding noise per layer, which on 1-2 layer models with LayerNorm /
BatchNorm re-centering leaves the output direction within a few tenths of a percent).

Every model runs on all three targets. The default run takes the models of DEFAULT (15 of 63: every family, and
the odd ones out: a run-time attention mask, depthwise and grouped convs, windowed attention, a decoder head that
upsamples); the rest are marked slow (`-m slow`): one model costs 5-15 s of CPU (PT2E's histogram observers
dominate), and the whole zoo does not fit the default run's ~5 minutes on two cores. Models that do not build on main yet are xfail(strict=True) with the cause
they fail with today (XFAIL): a model whose failure changes is reported as a failure (update the reason), and one
that starts to pass XPASSes strictly (delete its line).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TARGETS
from tests.zoo.hf_driver import MIN_COSINE, MIN_SENSITIVITY, KnownFailure, ZooResult, build_and_check
from tests.zoo.hf_models import HF_ZOO

DEFAULT = (
    "bert_masked",
    "distilbert",
    "gpt2",
    "llama",
    "resnet",
    "mobilenet_v2",
    "convnext",
    "vit",
    "swin",
    "segformer",
    "wav2vec2",
    "whisper_encoder",
    "qwen3",
    "poolformer",  # GroupNorm(1, C) on NHWC images and [C, 1, 1] layer scales broadcast against them
    "t5_encoder",  # relative position bias, T5's RMS norm
)

INT8_LOSS = "cosine < 0.99"  # int8 output further from float than the bound (see bench/README.md)

# model -> how it fails on main today (a substring of its first error line or failure reason). Each of these builds,
# runs bit-identically on every target and agrees with PT2E's own q/dq reference (cosine >= 0.977); PT2E's
# reference itself is as far from float (0.94-0.989 with 4 calibration samples): the loss is int8's, not a lowering's.
# (mobilebert, qwen2, qwen3 and mobilevit were here with static int8 activations, 0.988-0.990; with the default
# --activations auto their linear layers are dynamic and they agree at 0.991-0.999. The CNNs below have no attention
# or layer norm: static, as before.)
XFAIL: dict[str, str] = {
    "resnet": INT8_LOSS,
    "efficientnet": INT8_LOSS,
    "regnet": INT8_LOSS,
    # 0.9927 -> 0.9896 when SOFTMAX and LAYER_NORM moved to float32 arithmetic (issue 19; its all-float build stays at
    # cosine 1.0000): int8 noise at the bound. One dynamic code on a rounding tie (42.5) flips with a 1-ulp layer norm
    # change and the int8 layers after it amplify it; nudging the layer norms' gamma by ±1 ulp moves this 4-sample
    # figure over 0.988-0.995 with the old kernels and the new alike (mean 0.9915 both), every op within its bound.
    "mobilevit": INT8_LOSS,
    # 0.917 with PT2E's own q/dq reference at 0.905 (all-float build 1.0000): deep static int8 convolutions (25 of
    # them, separable attention without a product for --activations auto to make dynamic); it built once its
    # softmax -> multiply requantization lowered (lower/ops/quantize.py requantize)
    "mobilevitv2": INT8_LOSS,
    # 0.988 with PT2E's own q/dq reference at 0.980 (all-float build 1.0000): int8's loss, not a lowering's; its
    # span-based dynamic convolution (a softmax over a product with static int8 operands) is what BERT lacks
    "convbert": INT8_LOSS,
}

# Per-model cosine bounds below MIN_COSINE, each with its reason (none yet).
COSINE_BOUND: dict[str, float] = {}


def check(r: ZooResult) -> None:
    expected = XFAIL.get(r.name)
    if r.status != "ok" and expected is not None and any(expected in t for t in [r.error, *r.reasons]):
        raise KnownFailure(r.error)
    assert r.status != "traceback", f"{r.name}: a raw traceback reached the user:\n{r.message}"
    assert r.status != "build failed", f"{r.name}: {r.message}"
    assert all(r.identical.values()), f"{r.name}: outputs differ across targets {r.identical}"
    assert r.sensitivity is not None and r.sensitivity >= MIN_SENSITIVITY, (
        f"{r.name}: the float output hardly depends on the input (sensitivity {r.sensitivity})"
    )
    bound = COSINE_BOUND.get(r.name, MIN_COSINE)
    assert r.cosine is not None and r.cosine >= bound, (
        f"{r.name}: cosine {r.cosine} < {bound} (input-dependent part: {r.cosine_dev}; float ops {r.float_ops})"
    )


def _marks(name: str) -> list[pytest.MarkDecorator]:
    marks = [] if name in DEFAULT else [pytest.mark.slow]
    if name in XFAIL:
        marks.append(pytest.mark.xfail(reason=XFAIL[name], strict=True, raises=KnownFailure))
    return marks


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in HF_ZOO])
def test_hf_model(name: str, runner_for: Callable[[str], Path], tmp_path: Path) -> None:
    r = build_and_check(name, tmp_path, TARGETS, runner_for)
    check(r)
    assert set(r.identical) == set(TARGETS)


def test_catalogue() -> None:
    """The issue's zoo: ≥ 25 architectures across text encoders, decoders, vision and audio."""
    families = {m.family for m in HF_ZOO.values()}
    assert len(HF_ZOO) >= 25 and families == {"text-encoder", "decoder", "vision", "audio"}
    assert set(DEFAULT) <= set(HF_ZOO) and set(XFAIL) <= set(HF_ZOO)
