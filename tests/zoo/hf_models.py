"""HF_ZOO: the third-party zoo's catalogue, name -> HFModel (tests/zoo/hf_common.py: sizes, initialization, inputs;
hf_text.py: text encoders and decoders; hf_vision.py: vision and audio). `instantiate` makes an entry's model ready to
export."""

from __future__ import annotations

from tests.zoo.hf_common import HFModel, instantiate
from tests.zoo.hf_text import DECODERS, TEXT_ENCODERS
from tests.zoo.hf_vision import AUDIO, VISION

HF_ZOO: dict[str, HFModel] = {m.name: m for m in TEXT_ENCODERS + DECODERS + VISION + AUDIO}

__all__ = ["HF_ZOO", "HFModel", "instantiate"]
