"""The third-party zoo: architectures nobody here wrote, instantiated from Hugging Face `transformers` model classes
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


@dataclass(frozen=True)
class HFModel:
    name: str
    family: str  # "text-encoder", "decoder", "vision", "audio"
    make: Callable[[], nn.Module]
    sample: Callable[[np.random.Generator, int], list[np.ndarray]]  # n samples -> one [n, ...] array per input
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
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.model(input_values=input_values).last_hidden_state


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
        m.eval()


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
        for i in range(n):  # a few tones plus noise, zero mean unit variance (Wav2Vec2FeatureExtractor normalizes)
            f = rng.uniform(100, 3000, size=3)
            w = sum(np.sin(2 * np.pi * fk * t + rng.uniform(0, 6)) for fk in f) + rng.standard_normal(length) * 0.3
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


# ---- text encoders --------------------------------------------------------------------------------------------

_ENC = dict(
    vocab_size=VOCAB,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=64,
    initializer_range=INIT,
)


def _text(cls: str, cfg: str, seed: int, field: str = "last_hidden_state", **config: Any) -> Callable[[], nn.Module]:
    return lambda: _Text(_hf(cls, cfg, seed, **config), field)


TEXT_ENCODERS = [
    HFModel("bert", "text-encoder", _text("BertModel", "BertConfig", 1, **_ENC), _ids, "last_hidden_state"),
    HFModel(
        "bert_masked",
        "text-encoder",
        lambda: _TextMasked(_hf("BertModel", "BertConfig", 2, **_ENC)),
        _ids_and_mask,
        "last_hidden_state (input_ids + attention_mask)",
    ),
    HFModel(
        "distilbert",
        "text-encoder",
        _text(
            "DistilBertModel",
            "DistilBertConfig",
            3,
            vocab_size=VOCAB,
            dim=64,
            n_layers=2,
            n_heads=4,
            hidden_dim=128,
            max_position_embeddings=64,
            initializer_range=INIT,
        ),
        _ids,
        "last_hidden_state",
    ),
    HFModel(
        "roberta",
        "text-encoder",
        _text("RobertaModel", "RobertaConfig", 4, pad_token_id=0, **_ENC),
        _ids,
        "last_hidden_state",
    ),
    HFModel(
        "albert",
        "text-encoder",
        _text("AlbertModel", "AlbertConfig", 5, embedding_size=32, **_ENC),
        _ids,
        "last_hidden_state",
    ),
    HFModel("electra", "text-encoder", _text("ElectraModel", "ElectraConfig", 6, embedding_size=32, **_ENC), _ids,
            "last_hidden_state"),  # fmt: skip
    HFModel(
        "deberta_v2",
        "text-encoder",
        _text(
            "DebertaV2Model",
            "DebertaV2Config",
            7,
            relative_attention=True,
            position_buckets=8,
            max_relative_positions=16,
            pos_att_type=["p2c", "c2p"],
            **_ENC,
        ),
        _ids,
        "last_hidden_state",
    ),
    HFModel(
        "mobilebert",
        "text-encoder",
        _text(
            "MobileBertModel",
            "MobileBertConfig",
            8,
            vocab_size=VOCAB,
            hidden_size=64,
            embedding_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            intra_bottleneck_size=32,
            true_hidden_size=32,
            num_feedforward_networks=2,
            max_position_embeddings=64,
            initializer_range=INIT,
        ),
        _ids,
        "last_hidden_state",
    ),
]

# ---- decoder-only language models at a fixed length, no KV cache ------------------------------------------------

_DEC = dict(
    vocab_size=VOCAB,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    max_position_embeddings=64,
    initializer_range=INIT,
    tie_word_embeddings=False,
)


def _lm(cls: str, cfg: str, seed: int, **config: Any) -> Callable[[], nn.Module]:
    return _text(cls, cfg, seed, "logits", **config)


DECODERS = [
    HFModel(
        "gpt2",
        "decoder",
        _lm("GPT2LMHeadModel", "GPT2Config", 11, vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=64,
            initializer_range=INIT, bos_token_id=0, eos_token_id=0),  # fmt: skip
        _ids,
        "logits",
    ),
    HFModel(
        "gpt_neo",
        "decoder",
        _lm("GPTNeoForCausalLM", "GPTNeoConfig", 12, vocab_size=VOCAB, hidden_size=64, num_layers=2, num_heads=4,
            attention_types=[[["global", "local"], 1]], window_size=8, max_position_embeddings=64,
            initializer_range=INIT),  # fmt: skip
        _ids,
        "logits",
    ),
    HFModel("llama", "decoder", _lm("LlamaForCausalLM", "LlamaConfig", 13, **_DEC), _ids, "logits"),
    HFModel("mistral", "decoder", _lm("MistralForCausalLM", "MistralConfig", 14, sliding_window=8, **_DEC), _ids,
            "logits"),  # fmt: skip
    HFModel("qwen2", "decoder", _lm("Qwen2ForCausalLM", "Qwen2Config", 15, **_DEC), _ids, "logits"),
    HFModel("qwen3", "decoder", _lm("Qwen3ForCausalLM", "Qwen3Config", 16, head_dim=16, **_DEC), _ids, "logits"),
    HFModel("phi", "decoder", _lm("PhiForCausalLM", "PhiConfig", 17, partial_rotary_factor=0.5, **_DEC), _ids,
            "logits"),  # fmt: skip
    HFModel(
        "opt",
        "decoder",
        _lm("OPTForCausalLM", "OPTConfig", 18, vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2,
            num_attention_heads=4, ffn_dim=128, word_embed_proj_dim=64, max_position_embeddings=64, init_std=INIT,
            pad_token_id=0),  # fmt: skip
        _ids,
        "logits",
    ),
    HFModel("gemma", "decoder", _lm("GemmaForCausalLM", "GemmaConfig", 19, head_dim=16, **_DEC), _ids, "logits"),
]

# ---- vision ---------------------------------------------------------------------------------------------------

_VIT = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    image_size=IMAGE,
    patch_size=8,
    num_channels=3,
    initializer_range=INIT,
)


def _vision(cls: str, cfg: str, seed: int, field: str = "logits", **config: Any) -> Callable[[], nn.Module]:
    return lambda: _Vision(_hf(cls, cfg, seed, **config), field)


VISION = [
    HFModel(
        "resnet",
        "vision",
        _vision("ResNetForImageClassification", "ResNetConfig", 21, embedding_size=16, hidden_sizes=[16, 32, 48, 64],
                depths=[1, 1, 1, 1], layer_type="basic", num_labels=16, kaiming=True),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "convnext",
        "vision",
        _vision("ConvNextForImageClassification", "ConvNextConfig", 22, num_channels=3, hidden_sizes=[16, 32],
                depths=[1, 1], num_stages=2, patch_size=4, num_labels=16, initializer_range=INIT),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "convnextv2",
        "vision",
        _vision("ConvNextV2ForImageClassification", "ConvNextV2Config", 23, num_channels=3, hidden_sizes=[16, 32],
                depths=[1, 1], num_stages=2, patch_size=4, num_labels=16, initializer_range=INIT),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "mobilenet_v2",
        "vision",
        _vision("MobileNetV2ForImageClassification", "MobileNetV2Config", 24, depth_multiplier=0.35,
                image_size=IMAGE, finegrained_output=False, num_labels=16, kaiming=True),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "efficientnet",
        "vision",
        _vision("EfficientNetForImageClassification", "EfficientNetConfig", 25, image_size=64, width_coefficient=0.25,
                depth_coefficient=0.25, hidden_dim=320, num_labels=16, kaiming=True),  # fmt: skip
        _images(64),
        "logits",
    ),
    HFModel(
        "regnet",
        "vision",
        _vision("RegNetForImageClassification", "RegNetConfig", 26, embedding_size=16, hidden_sizes=[16, 32, 48, 64],
                depths=[1, 1, 1, 1], groups_width=8, num_labels=16, kaiming=True),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
    HFModel("vit", "vision", _vision("ViTForImageClassification", "ViTConfig", 27, num_labels=16, **_VIT),
            _images(IMAGE), "logits"),  # fmt: skip
    HFModel("deit", "vision", _vision("DeiTForImageClassification", "DeiTConfig", 28, num_labels=16, **_VIT),
            _images(IMAGE), "logits"),  # fmt: skip
    HFModel(
        "swin",
        "vision",
        _vision("SwinForImageClassification", "SwinConfig", 29, image_size=IMAGE, patch_size=4, embed_dim=16,
                depths=[1, 1], num_heads=[2, 4], window_size=4, num_labels=16, initializer_range=INIT),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "mobilevit",
        "vision",
        _vision("MobileViTForImageClassification", "MobileViTConfig", 30, image_size=64, patch_size=2,
                hidden_sizes=[32, 40, 48], neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 64], num_attention_heads=2,
                num_labels=16, initializer_range=INIT, kaiming=True),  # fmt: skip
        _images(64),
        "logits",
    ),
    HFModel(
        "segformer",
        "vision",
        _vision("SegformerForSemanticSegmentation", "SegformerConfig", 31, num_encoder_blocks=2, depths=[1, 1],
                sr_ratios=[2, 1], hidden_sizes=[16, 32], num_attention_heads=[1, 2], decoder_hidden_size=32,
                num_labels=8, initializer_range=INIT),  # fmt: skip
        _images(IMAGE),
        "logits [1, 8, 8, 8]",
    ),
    HFModel(
        "poolformer",
        "vision",
        _vision("PoolFormerForImageClassification", "PoolFormerConfig", 32, hidden_sizes=[16, 32], depths=[1, 1],
                num_encoder_blocks=2, patch_sizes=[7, 3], strides=[4, 2], padding=[2, 1], num_labels=16,
                initializer_range=INIT),  # fmt: skip
        _images(IMAGE),
        "logits",
    ),
]

# ---- audio encoders -------------------------------------------------------------------------------------------

_W2V = dict(
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(32, 32),
    conv_kernel=(10, 3),
    conv_stride=(5, 2),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
    initializer_range=INIT,
)

AUDIO = [
    HFModel("wav2vec2", "audio", lambda: _Audio(_hf("Wav2Vec2Model", "Wav2Vec2Config", 41, **_W2V)), _waveform(400),
            "last_hidden_state"),  # fmt: skip
    HFModel("hubert", "audio", lambda: _Audio(_hf("HubertModel", "HubertConfig", 42, **_W2V)), _waveform(400),
            "last_hidden_state"),  # fmt: skip
    HFModel(
        "whisper_encoder",
        "audio",
        lambda: _WhisperEncoder(
            _hf("WhisperModel", "WhisperConfig", 43, d_model=32, encoder_layers=1, decoder_layers=1,
                encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                num_mel_bins=16, max_source_positions=16, vocab_size=VOCAB, init_std=INIT, pad_token_id=0, bos_token_id=1,
                eos_token_id=2, decoder_start_token_id=3).encoder  # fmt: skip
        ),
        _mels(16, 32),
        "last_hidden_state",
    ),
]

HF_ZOO: dict[str, HFModel] = {m.name: m for m in TEXT_ENCODERS + DECODERS + VISION + AUDIO}
