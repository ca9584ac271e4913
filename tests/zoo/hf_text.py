"""Text encoders and decoder-only language models of the third-party zoo (tests/zoo/hf_common.py says how
they are sized and initialized). Decoders run at a fixed length without KV cache and return logits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from tests.zoo.hf_common import (
    INIT,
    VOCAB,
    HFModel,
    _hf,
    _ids,
    _ids_and_mask,
    _Text,
    _TextMasked,
)

# ---- text encoders --------------------------------------------------------------------------------------------

_ENC = {
    "vocab_size": VOCAB,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "max_position_embeddings": 64,
    "initializer_range": INIT,
}


def _text(
    cls: str, cfg: str, seed: int, field: str = "last_hidden_state", **config: Any
) -> Callable[[], nn.Module]:
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
    HFModel(
        "electra",
        "text-encoder",
        _text("ElectraModel", "ElectraConfig", 6, embedding_size=32, **_ENC),
        _ids,
        "last_hidden_state",
    ),
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

TEXT_ENCODERS += [
    HFModel(
        "mpnet", "text-encoder", _text("MPNetModel", "MPNetConfig", 51, **_ENC), _ids, "last_hidden_state"
    ),
    HFModel(
        "t5_encoder",
        "text-encoder",
        _text(
            "T5EncoderModel",
            "T5Config",
            52,
            vocab_size=VOCAB,
            d_model=64,
            d_kv=16,
            d_ff=128,
            num_layers=2,
            num_heads=4,
            initializer_factor=1.0,  # T5's own init scale (it has no initializer_range)
        ),
        _ids,
        "last_hidden_state (relative position bias, RMS layer norm)",
    ),
    HFModel(
        "bart_encoder",
        "text-encoder",
        lambda: _Text(
            _hf(
                "BartModel",
                "BartConfig",
                55,
                vocab_size=VOCAB,
                d_model=64,
                encoder_layers=2,
                decoder_layers=1,
                encoder_attention_heads=4,
                decoder_attention_heads=4,
                encoder_ffn_dim=128,
                decoder_ffn_dim=128,
                max_position_embeddings=64,
                init_std=INIT,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
                decoder_start_token_id=2,
            ).encoder,
            "last_hidden_state",
        ),
        _ids,
        "last_hidden_state",
    ),
    HFModel(
        "clip_text",
        "text-encoder",
        _text("CLIPTextModel", "CLIPTextConfig", 53, pad_token_id=0, bos_token_id=1, eos_token_id=2, **_ENC),
        _ids,
        "last_hidden_state (causal mask)",
    ),
    HFModel(
        "siglip_text",
        "text-encoder",
        _text(
            "SiglipTextModel",
            "SiglipTextConfig",
            54,
            field="pooler_output",
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            **{k: v for k, v in _ENC.items() if k != "initializer_range"},  # SigLIP has its own init
        ),
        _ids,
        "pooler_output",
    ),
    HFModel(
        "modernbert",
        "text-encoder",
        _text(
            "ModernBertModel",
            "ModernBertConfig",
            76,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            cls_token_id=1,
            sep_token_id=2,
            global_attn_every_n_layers=2,
            local_attention=8,  # layer 1 attends within a sliding window of 8 tokens
            **_ENC,
        ),
        _ids,
        "last_hidden_state (rotary, global + local attention)",
    ),
    HFModel(
        "roformer",
        "text-encoder",
        _text("RoFormerModel", "RoFormerConfig", 77, **_ENC),
        _ids,
        "last_hidden_state",
    ),
    HFModel(
        "convbert",
        "text-encoder",
        _text("ConvBertModel", "ConvBertConfig", 78, **_ENC),
        _ids,
        "last_hidden_state (span-based dynamic convolution)",
    ),
    HFModel(
        "funnel",
        "text-encoder",
        _text(
            "FunnelBaseModel",
            "FunnelConfig",
            79,
            vocab_size=VOCAB,
            block_sizes=[1, 1],
            d_model=64,
            n_head=4,
            d_head=16,
            d_inner=128,
            initializer_range=INIT,
        ),
        _ids,
        "last_hidden_state (pooled to 6 tokens)",
    ),
]

# ---- decoder-only language models at a fixed length, no KV cache ------------------------------------------------

_DEC = {
    "vocab_size": VOCAB,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 64,
    "initializer_range": INIT,
    "tie_word_embeddings": False,
}


def _lm(cls: str, cfg: str, seed: int, **config: Any) -> Callable[[], nn.Module]:
    return _text(cls, cfg, seed, "logits", **config)


DECODERS = [
    HFModel(
        "gpt2",
        "decoder",
        _lm(
            "GPT2LMHeadModel",
            "GPT2Config",
            11,
            vocab_size=VOCAB,
            n_embd=64,
            n_layer=2,
            n_head=4,
            n_positions=64,
            initializer_range=INIT,
            bos_token_id=0,
            eos_token_id=0,
        ),
        _ids,
        "logits",
    ),
    HFModel(
        "gpt_neo",
        "decoder",
        _lm(
            "GPTNeoForCausalLM",
            "GPTNeoConfig",
            12,
            vocab_size=VOCAB,
            hidden_size=64,
            num_layers=2,
            num_heads=4,
            attention_types=[[["global", "local"], 1]],
            window_size=8,
            max_position_embeddings=64,
            initializer_range=INIT,
            bos_token_id=0,
            eos_token_id=0,
        ),
        _ids,
        "logits",
    ),
    HFModel("llama", "decoder", _lm("LlamaForCausalLM", "LlamaConfig", 13, **_DEC), _ids, "logits"),
    HFModel(
        "mistral",
        "decoder",
        _lm("MistralForCausalLM", "MistralConfig", 14, sliding_window=8, **_DEC),
        _ids,
        "logits",
    ),
    HFModel("qwen2", "decoder", _lm("Qwen2ForCausalLM", "Qwen2Config", 15, **_DEC), _ids, "logits"),
    HFModel(
        "qwen3", "decoder", _lm("Qwen3ForCausalLM", "Qwen3Config", 16, head_dim=16, **_DEC), _ids, "logits"
    ),
    HFModel(
        "phi",
        "decoder",
        _lm("PhiForCausalLM", "PhiConfig", 17, partial_rotary_factor=0.5, **_DEC),
        _ids,
        "logits",
    ),
    HFModel(
        "opt",
        "decoder",
        _lm(
            "OPTForCausalLM",
            "OPTConfig",
            18,
            vocab_size=VOCAB,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            ffn_dim=128,
            word_embed_proj_dim=64,
            max_position_embeddings=64,
            init_std=INIT,
            pad_token_id=0,
        ),
        _ids,
        "logits",
    ),
    HFModel(
        "gemma", "decoder", _lm("GemmaForCausalLM", "GemmaConfig", 19, head_dim=16, **_DEC), _ids, "logits"
    ),
    HFModel(
        "phi3",
        "decoder",
        _lm("Phi3ForCausalLM", "Phi3Config", 61, pad_token_id=0, bos_token_id=1, eos_token_id=2, **_DEC),
        _ids,
        "logits (rotary over the whole head: an empty pass-through part)",
    ),
    HFModel("gpt_neox", "decoder", _lm("GPTNeoXForCausalLM", "GPTNeoXConfig", 62, **_DEC), _ids, "logits"),
    HFModel(
        "bloom",
        "decoder",
        _lm(
            "BloomForCausalLM",
            "BloomConfig",
            63,
            vocab_size=VOCAB,
            hidden_size=64,
            n_layer=2,
            n_head=4,
            initializer_range=INIT,
        ),
        _ids,
        "logits (ALiBi)",
    ),
    HFModel("stablelm", "decoder", _lm("StableLmForCausalLM", "StableLmConfig", 64, **_DEC), _ids, "logits"),
    HFModel(
        "falcon",
        "decoder",
        _lm(
            "FalconForCausalLM",
            "FalconConfig",
            80,
            vocab_size=VOCAB,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            initializer_range=INIT,
            bos_token_id=1,
            eos_token_id=2,
        ),
        _ids,
        "logits (multi-query attention, parallel attention + MLP)",
    ),
]
