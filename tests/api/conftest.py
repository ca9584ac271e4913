"""Shared by the Python API tests: a small CNN defined here (as a notebook would), its samples, and a working
directory that must stay empty (the API writes nothing where the caller is unless told to)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn


class SmallCNN(nn.Module):
    """conv-BN-ReLU x2, global average pool, linear: [1, 3, 16, 16] -> [1, 10] logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
        )
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


def make_cnn() -> SmallCNN:
    """Seeded weights and BatchNorm statistics fitted on sample inputs, left in training mode (as after a training
    loop): the API must export it in eval mode without changing it."""
    torch.manual_seed(0)
    model = SmallCNN()
    with torch.no_grad():
        model.train()
        model(torch.from_numpy(samples(64, seed=1)))
    return model


def samples(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, 16, 16)).astype(np.float32)


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test runs in an empty folder, and temporary files go to a folder of the test's own (so a test can check
    that what the API made there is gone); both are checked after the test."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield cwd
    assert os.listdir(cwd) == [], f"the API wrote into the caller's working directory: {os.listdir(cwd)}"
