"""A 2-layer BERT/MiniLM-style encoder written in code (seeded random weights, no downloads).

Inputs: token ids [1, T] and token-type ids [1, T] (two integer inputs). Outputs: the sequence output [1, T, D] and
per-token classification logits [1, T, C] (two outputs, as BertForTokenClassification). Attention is
F.scaled_dot_product_attention, which torch.export keeps as one ATen op; GELU in the feed-forward block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VOCAB, TYPES, SEQ, DIM, HEADS, FFN, LAYERS, CLASSES = 512, 2, 16, 64, 4, 128, 2, 5


class EncoderLayer(nn.Module):
    def __init__(
        self, dim: int = DIM, heads: int = HEADS, ffn: int = FFN, act: str = "gelu", attention: str = "sdpa"
    ) -> None:
        super().__init__()
        self.heads = heads
        self.attention = attention
        self.act = F.gelu if act == "gelu" else F.relu
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.ln1 = nn.LayerNorm(dim, eps=1e-12)
        self.ff1 = nn.Linear(dim, ffn)
        self.ff2 = nn.Linear(ffn, dim)
        self.ln2 = nn.LayerNorm(dim, eps=1e-12)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        if self.attention == "sdpa":
            a = F.scaled_dot_product_attention(q, k, v)
        else:  # written out, as eager BERT code does (the 1/sqrt(d) scale folded into `query`)
            a = torch.matmul(torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1), v)
        a = a.transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.out(a))
        return self.ln2(x + self.ff2(self.act(self.ff1(x))))


class TinyBert(nn.Module):
    def __init__(
        self,
        layers: int = LAYERS,
        act: str = "gelu",
        *,
        attention: str = "sdpa",
        vocab: int = VOCAB,
        seq: int = SEQ,
        dim: int = DIM,
        heads: int = HEADS,
        ffn: int = FFN,
    ) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab, dim)
        self.token_type = nn.Embedding(TYPES, dim)
        self.position = nn.Parameter(torch.randn(1, seq, dim) * 0.02)
        self.ln = nn.LayerNorm(dim, eps=1e-12)
        self.encoder = nn.ModuleList(EncoderLayer(dim, heads, ffn, act, attention) for _ in range(layers))
        self.classifier = nn.Linear(dim, CLASSES)

    def forward(self, ids: torch.Tensor, types: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.ln(self.word(ids) + self.token_type(types) + self.position)
        for layer in self.encoder:
            x = layer(x)
        return x, self.classifier(x)


def tiny_bert(
    seed: int = 0, layers: int = LAYERS, act: str = "gelu", attention: str = "sdpa", **sizes: int
) -> TinyBert:
    """attention: "sdpa" (F.scaled_dot_product_attention) or "eager" (matmul, softmax, matmul);
    sizes: vocab, seq, dim, heads, ffn (defaults: the module constants)."""
    torch.manual_seed(seed)
    model = TinyBert(layers, act, attention=attention, **sizes).eval()
    with torch.no_grad():  # BERT's initialization: N(0, 0.02) weights, zero biases, so activations stay O(1)
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.normal_(0.0, 0.02 if isinstance(m, nn.Embedding) else 0.08)
            if isinstance(m, nn.Linear):
                m.bias.normal_(0.0, 0.02)
    return model


def token_batch(
    samples: int, seed: int = 0, *, vocab: int = VOCAB, seq: int = SEQ
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids and token types, [samples, seq] each (int64, as a tokenizer returns)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (samples, seq), generator=g)
    types = (torch.arange(seq) >= seq // 2).long().expand(samples, seq).clone()
    return ids, types
