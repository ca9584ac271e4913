"""The issue's memory promises on a MobileNetV2-class graph (inverted residuals, depthwise, 52 convs), not only on
the small digits CNN: the plan within 10% of the lower bound, tracked peak = arena + weights + named overhead, peak
RSS within 5% of the prediction. Width 0.5 at 96×96 keeps the build to seconds; the graph is the full 1.0 layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgebuild.pipeline import BuildOptions, build
from edgebuild.profile import ProfileOptions, profile_bundle
from tests.cnn_models import mobilenet_v2


def test_mobilenet_v2_memory(tmp_path: Path) -> None:
    model, shape = mobilenet_v2(resolution=96, width=0.5)
    path = tmp_path / "mobilenet_v2.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), path)
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((4, *shape[1:])).astype(np.float32))
    out = tmp_path / "mbv2-host"
    result = build(BuildOptions(model=path, target="host", calib=calib, out=out, smoke=False))
    assert (
        result.report["ops"]["CONV2D"] == 35
        and result.report["ops"]["DEPTHWISE_CONV2D"] == 17
        and result.report["ops"]["ADD"] == 10
    )

    mem = profile_bundle(ProfileOptions(out, warmup=1, iterations=3))["memory"]
    assert mem["arena_lower_bound_bytes"] <= mem["arena_bytes"] <= 1.10 * mem["arena_lower_bound_bytes"]
    ov = mem["overhead"]
    assert mem["tracked_peak_bytes"] == mem["arena_bytes"] + mem["weights_bytes"] + ov["bytes"]
    assert abs(mem["rss"]["peak_vs_predicted"]) <= 0.05, mem["rss"]
