"""Vision (CNNs and transformers) and audio encoders of the third-party zoo (tests/zoo/hf_common.py says how
they are sized and initialized).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from tests.zoo.hf_common import (
    IMAGE,
    INIT,
    VOCAB,
    HFModel,
    _Audio,
    _hf,
    _images,
    _mels,
    _Vision,
    _waveform,
    _WhisperEncoder,
)

# ---- vision ---------------------------------------------------------------------------------------------------

_VIT = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "image_size": IMAGE,
    "patch_size": 8,
    "num_channels": 3,
    "initializer_range": INIT,
}


def _vision(cls: str, cfg: str, seed: int, field: str = "logits", **config: Any) -> Callable[[], nn.Module]:
    return lambda: _Vision(_hf(cls, cfg, seed, **config), field)


VISION = [
    HFModel(
        "resnet",
        "vision",
        _vision(
            "ResNetForImageClassification",
            "ResNetConfig",
            21,
            embedding_size=16,
            hidden_sizes=[16, 32, 48, 64],
            depths=[1, 1, 1, 1],
            layer_type="basic",
            num_labels=16,
            kaiming=True,
        ),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "convnext",
        "vision",
        _vision(
            "ConvNextForImageClassification",
            "ConvNextConfig",
            22,
            num_channels=3,
            hidden_sizes=[16, 32],
            depths=[1, 1],
            num_stages=2,
            patch_size=4,
            num_labels=16,
            initializer_range=INIT,
        ),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "convnextv2",
        "vision",
        _vision(
            "ConvNextV2ForImageClassification",
            "ConvNextV2Config",
            23,
            num_channels=3,
            hidden_sizes=[16, 32],
            depths=[1, 1],
            num_stages=2,
            patch_size=4,
            num_labels=16,
            initializer_range=INIT,
        ),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "mobilenet_v2",
        "vision",
        _vision(
            "MobileNetV2ForImageClassification",
            "MobileNetV2Config",
            24,
            depth_multiplier=0.35,
            image_size=IMAGE,
            finegrained_output=False,
            num_labels=16,
            kaiming=True,
        ),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "efficientnet",
        "vision",
        _vision(
            "EfficientNetForImageClassification",
            "EfficientNetConfig",
            25,
            image_size=64,
            width_coefficient=0.25,
            depth_coefficient=0.25,
            hidden_dim=320,
            num_labels=16,
            kaiming=True,
        ),
        _images(64),
        "logits",
    ),
    HFModel(
        "regnet",
        "vision",
        _vision(
            "RegNetForImageClassification",
            "RegNetConfig",
            26,
            embedding_size=16,
            hidden_sizes=[16, 32, 48, 64],
            depths=[1, 1, 1, 1],
            groups_width=8,
            num_labels=16,
            kaiming=True,
        ),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "vit",
        "vision",
        _vision("ViTForImageClassification", "ViTConfig", 27, num_labels=16, **_VIT),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "deit",
        "vision",
        _vision("DeiTForImageClassification", "DeiTConfig", 28, num_labels=16, **_VIT),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "swin",
        "vision",
        _vision(
            "SwinForImageClassification",
            "SwinConfig",
            29,
            image_size=IMAGE,
            patch_size=4,
            embed_dim=16,
            depths=[1, 1],
            num_heads=[2, 4],
            window_size=4,
            num_labels=16,
            initializer_range=INIT,
        ),
        _images(IMAGE),
        "logits",
    ),
    HFModel(
        "mobilevit",
        "vision",
        _vision(
            "MobileViTForImageClassification",
            "MobileViTConfig",
            30,
            image_size=64,
            patch_size=2,
            hidden_sizes=[32, 40, 48],
            neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 64],
            num_attention_heads=2,
            num_labels=16,
            initializer_range=INIT,
            kaiming=True,
        ),
        _images(64),
        "logits",
    ),
    HFModel(
        "segformer",
        "vision",
        _vision(
            "SegformerForSemanticSegmentation",
            "SegformerConfig",
            31,
            num_encoder_blocks=2,
            depths=[1, 1],
            sr_ratios=[2, 1],
            hidden_sizes=[16, 32],
            num_attention_heads=[1, 2],
            decoder_hidden_size=32,
            num_labels=8,
            initializer_range=INIT,
        ),
        _images(IMAGE),
        "logits [1, 8, 8, 8]",
    ),
    HFModel(
        "poolformer",
        "vision",
        _vision(
            "PoolFormerForImageClassification",
            "PoolFormerConfig",
            32,
            hidden_sizes=[16, 32],
            depths=[1, 1],
            num_encoder_blocks=2,
            patch_sizes=[7, 3],
            strides=[4, 2],
            padding=[2, 1],
            num_labels=16,
            initializer_range=INIT,
        ),
        _images(IMAGE),
        "logits",
    ),
]

# ---- audio encoders -------------------------------------------------------------------------------------------

_W2V = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": (32, 32),
    "conv_kernel": (10, 3),
    "conv_stride": (5, 2),
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "initializer_range": INIT,
}

AUDIO = [
    HFModel(
        "wav2vec2",
        "audio",
        lambda: _Audio(_hf("Wav2Vec2Model", "Wav2Vec2Config", 41, **_W2V)),
        _waveform(400),
        "last_hidden_state",
    ),
    HFModel(
        "hubert",
        "audio",
        lambda: _Audio(_hf("HubertModel", "HubertConfig", 42, **_W2V)),
        _waveform(400),
        "last_hidden_state",
    ),
    HFModel(
        "whisper_encoder",
        "audio",
        lambda: _WhisperEncoder(
            _hf(
                "WhisperModel",
                "WhisperConfig",
                43,
                d_model=32,
                encoder_layers=1,
                decoder_layers=1,
                encoder_attention_heads=2,
                decoder_attention_heads=2,
                encoder_ffn_dim=64,
                decoder_ffn_dim=64,
                num_mel_bins=16,
                max_source_positions=16,
                vocab_size=VOCAB,
                init_std=INIT,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
                decoder_start_token_id=3,
            ).encoder
        ),
        _mels(16, 32),
        "last_hidden_state",
    ),
]
