"""Train DigitsCNN on scikit-learn's bundled digits (no download) and write the files the README demo uses.

    python examples/digits/train.py            # writes model.pt, state_dict.pt, calib.npz, eval.npz here

Deterministic: fixed seeds, deterministic algorithms, one thread (reduction order then does not depend on the
machine's core count), a fixed stratified 80/20 split. Takes a few seconds on one CPU core.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

if __package__ in (None, ""):  # run as a script: make `examples.digits.model` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from examples.digits.model import DigitsCNN

SEED = 0
EPOCHS = 30
BATCH = 32
CALIB_SAMPLES = 200


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits as [N, 1, 8, 8] float32 in [0, 1], split 80/20 stratified with a fixed seed."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=SEED)
    return x_train, x_test, y_train, y_test


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


def train(x_train: np.ndarray, y_train: np.ndarray) -> DigitsCNN:
    torch.manual_seed(SEED)
    model = DigitsCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = EPOCHS * ((len(x_train) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=steps)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), BATCH):
            idx = order[i : i + BATCH]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    np.random.seed(SEED)

    x_train, x_test, y_train, y_test = load_split()
    started = time.monotonic()
    model = train(x_train, y_train)
    seconds = time.monotonic() - started
    print(
        f"trained in {seconds:.1f} s; float accuracy: train {accuracy(model, x_train, y_train):.4f}, "
        f"test {accuracy(model, x_test, y_test):.4f} ({len(y_test)} samples)"
    )

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    exported = torch.export.export(model, (torch.zeros(1, 1, 8, 8),))
    # Through a buffer: torch.export.save warns on a file name not ending in .pt2; the archive is the same.
    buf = io.BytesIO()
    torch.export.save(exported, buf)
    (out / "model.pt").write_bytes(buf.getvalue())
    torch.save(model.state_dict(), out / "state_dict.pt")
    calib = x_train[np.random.default_rng(SEED).permutation(len(x_train))[:CALIB_SAMPLES]]
    np.savez(out / "calib.npz", x=calib)
    np.savez(out / "eval.npz", x=x_test, y=y_test)
    print(f"wrote model.pt, state_dict.pt, calib.npz ({len(calib)} samples), eval.npz to {out}")


if __name__ == "__main__":
    main()
