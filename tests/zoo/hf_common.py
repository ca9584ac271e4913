"""The third-party zoo (HF_ZOO in tests/zoo/hf_models.py; entries in hf_text.py and hf_vision.py): architectures nobody here wrote, instantiated from Hugging Face `transformers` model classes
with small configs (random, seeded weights; no downloads).

Each entry of HF_ZOO is a `HFModel`: a constructor returning an nn.Module whose forward() takes the model's own
argument name(s) (input_ids / pixel_values / input_values / input_features) and returns ONE tensor (logits or
last_hidden_state), plus a sampler of valid inputs. Sizes are tiny so the whole catalogue builds in minutes on two
cores: hidden 32-64, 1-2 layers, sequences of 12 tokens, images of 32 px (64 px for the models that downsample 32x).

Weights are at realistic scales: `initializer_range` 0.2 for the transformers (HF's default 0.02 with 1-2 layers still
gives input-dependent outputs, but at 0.2 the activations span a range int8 has to fit); CNNs keep HF's kaiming init
(fan-in) and BatchNorm statistics fitted on sample inputs (tests/zoo/hf_models.py `instantiate`). Whether the float output depends on the input is
checked by the driver (tests/zoo/hf_driver.py `sensitivity`), not assumed: agreement on a constant means nothing.

Decoder-only models run at a fixed length without KV cache (`use_cache=False`); attention is "eager" everywhere (the
written-out matmul / softmax path every model family has; "sdpa" is not implemented by all of them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

SEQ = 12  # tokens per text sample
VOCAB = 128
IMAGE = 32  # pixels per side (vision models that downsample 32x get 64)
INIT = 0.2  # initializer_range of the transformer configs
RESIDUAL_GAIN = 0.25  # inverted-residual branches (MobileNetV2, MobileViT) relative to their skip path
VAR_FLOOR = 0.25  # fitted BatchNorm variances at least this fraction of their layer's median


@dataclass(frozen=True)
class HFModel:
    name: str
    family: str  # "text-encoder", "decoder", "vision", "audio"
    make: Callable[[], nn.Module]
    sample: Callable[
        [np.random.Generator, int], list[np.ndarray]
    ]  # n samples -> one [n, ...] array per input
    output: str  # what the single output is (for the table)


class _Text(nn.Module):
    """input_ids [1, T] -> one field of the model's output."""

    def __init__(self, model: nn.Module, field: str) -> None:
        super().__init__()
        self.model, self.field = model, field

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(input_ids=input_ids), self.field)


class _TextMasked(nn.Module):
    """input_ids and attention_mask [1, T] (padding handled at run time) -> last_hidden_state."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class _Vision(nn.Module):
    def __init__(self, model: nn.Module, field: str) -> None:
        super().__init__()
        self.model, self.field = model, field

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(pixel_values=pixel_values), self.field)


class _Audio(nn.Module):
    def __init__(self, model: nn.Module, field: str = "last_hidden_state") -> None:
        super().__init__()
        self.model, self.field = model, field

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(input_values=input_values), self.field)


class _WhisperEncoder(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_features: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_features=input_features).last_hidden_state


def _fit_batchnorm(model: nn.Module, inputs: list[np.ndarray]) -> None:
    """BatchNorm as after training: random affine parameters, running statistics measured on sample inputs (one
    cumulative pass, only the BatchNorm layers in training mode). HF leaves the running statistics of some models
    uninitialized (meta-device init), and fixed (0, 1) statistics let a deep random CNN's signal decay until the
    BN biases alone decide the output."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in norms:
            c = m.num_features
            m.reset_running_stats()
            m.momentum = None  # cumulative average
            m.weight.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.copy_(torch.randn(c, generator=g) * 0.1)
            m.train()
        model(*(torch.from_numpy(x) for x in inputs))
        for m in norms:
            # a channel the random convs left nearly constant would be scaled up to unit variance, amplifying
            # any perturbation (int8 rounding included) many times: a trained net has no such channels
            m.running_var.clamp_(min=float(m.running_var.median()) * VAR_FLOOR)
    for m in norms:
        m.eval()
    with torch.no_grad():
        for block in model.modules():
            # an inverted-residual block's last BatchNorm scaled down, as training leaves residual branches small
            # relative to the skip path (without this, 10+ random residual blocks amplify any perturbation)
            if getattr(block, "use_residual", False) and hasattr(block, "reduce_1x1"):
                block.reduce_1x1.normalization.weight.mul_(RESIDUAL_GAIN)
                block.reduce_1x1.normalization.bias.mul_(RESIDUAL_GAIN)


def instantiate(entry: HFModel) -> nn.Module:
    """The entry's model in eval mode, BatchNorm statistics fitted on 16 of its own sample inputs."""
    model = entry.make().eval()
    _fit_batchnorm(model, entry.sample(np.random.default_rng(1234), 16))
    return model


def _kaiming(model: nn.Module) -> None:
    """Conv weights at He's fan-in scale (HF's default for some CNNs is N(0, 0.02), under which a deep random net's
    output no longer depends on its input)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")


def _hf(cls_name: str, config_name: str, seed: int, *, kaiming: bool = False, **config: Any) -> nn.Module:
    import transformers

    torch.manual_seed(seed)
    cfg = getattr(transformers, config_name)(**config)
    cfg._attn_implementation = "eager"
    if hasattr(cfg, "use_cache"):
        cfg.use_cache = False
    model = getattr(transformers, cls_name)(cfg).eval()
    if kaiming:
        _kaiming(model)
    return model


def _ids(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [rng.integers(1, VOCAB, size=(n, SEQ), dtype=np.int64)]


def _ids_and_mask(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    ids = rng.integers(1, VOCAB, size=(n, SEQ), dtype=np.int64)
    mask = np.ones((n, SEQ), np.int64)
    for i in range(n):  # right padding, 0 to SEQ/2 pad tokens
        pad = int(rng.integers(0, SEQ // 2 + 1))
        if pad:
            ids[i, SEQ - pad :] = 0
            mask[i, SEQ - pad :] = 0
    return [ids, mask]


def _images(size: int) -> Callable[[np.random.Generator, int], list[np.ndarray]]:
    def sample(rng: np.random.Generator, n: int) -> list[np.ndarray]:
        # smooth images (a few low-frequency patterns + noise), normalized as a feature extractor would
        yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing="ij")
        out = np.empty((n, 3, size, size), np.float32)
        for i in range(n):
            for c in range(3):
                f = rng.uniform(0.5, 4, size=2)
                ph = rng.uniform(0, 2 * np.pi, size=2)
                out[i, c] = np.sin(f[0] * np.pi * xx + ph[0]) * np.cos(f[1] * np.pi * yy + ph[1])
        out += rng.standard_normal(out.shape).astype(np.float32) * 0.3
        return [out.astype(np.float32)]

    return sample


def _waveform(length: int) -> Callable[[np.random.Generator, int], list[np.ndarray]]:
    def sample(rng: np.random.Generator, n: int) -> list[np.ndarray]:
        t = np.arange(length) / 16000.0
        out = np.empty((n, length), np.float32)
        for i in range(
            n
        ):  # a few tones plus noise, zero mean unit variance (Wav2Vec2FeatureExtractor normalizes)
            f = rng.uniform(100, 3000, size=3)
            w = (
                sum(np.sin(2 * np.pi * fk * t + rng.uniform(0, 6)) for fk in f)
                + rng.standard_normal(length) * 0.3
            )
            out[i] = (w - w.mean()) / w.std()
        return [out]

    return sample


def _mels(bins: int, frames: int) -> Callable[[np.random.Generator, int], list[np.ndarray]]:
    def sample(rng: np.random.Generator, n: int) -> list[np.ndarray]:
        # log-mel-like: smooth in time and frequency, in Whisper's normalized range [-1, 1]
        x = rng.standard_normal((n, bins, frames)).astype(np.float32)
        x = (x + np.roll(x, 1, axis=1) + np.roll(x, 1, axis=2)) / 3
        return [np.tanh(x).astype(np.float32)]

    return sample
