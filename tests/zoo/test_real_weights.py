"""Real third-party weights (tests/zoo/real_weights.py) built as a user builds them and run on host, arm64 and armv7,
with an accuracy figure on inputs the package's users would feed.

MTCNN (facenet-pytorch's pretrained P-, R- and O-Net) on synthesized inputs: face / no-face crops for R-Net (24 px)
and O-Net (48 px), 48 px scenes with one small face (or none) for P-Net, normalized as MTCNN does. Calibration on 16
of them, figures on 16 others. Bounds:
- the face probability (softmax output) within MAX_PROB_ERR of float everywhere, and the accept / reject decision at
  MTCNN's own thresholds (P 0.6, R 0.7, O 0.7) the same for every crop / P-Net window whose float probability is not
  within that bound of the threshold (closer than the error bound, either decision is within tolerance);
- the box regression (and O-Net's landmarks) with cosine >= 0.99 against float.
all-MiniLM-L6-v2 on 36 real sentences, tokenized to 32 tokens by its own tokenizer, mean-pooled and L2-normalized as
sentence-transformers does, built with the default --activations (auto: its 36 linear layers
DYNAMIC_FULLY_CONNECTED, its 12 attention products DYNAMIC_BATCH_MATMUL, the rest float): every sentence embedding with cosine >= 0.99 to float (MIN_COSINE of the
zoo), the ranking of the 630 pairwise similarities preserved (Spearman >= 0.98, the issue's bound) and the same
nearest neighbour for every sentence. Calibration on 12 other sentences. (Static per-tensor int8 activations gave
min cosine 0.78 here, PT2E's own q/dq reference 0.79.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from edgebuild.pipeline import native_model
from tests.conftest import TARGETS
from tests.zoo.hf_driver import MIN_COSINE, KnownFailure, build_expecting, cosine, run_on_targets
from tests.zoo.real_weights import (
    CALIB_SENTENCES,
    MORE_SENTENCES,
    SENTENCES,
    crops,
    minilm,
    mtcnn_nets,
    scenes,
    tokenize,
)

PNET_SOFTMAX = "softmax over dim 1"  # P-Net's face map [1, 2, 19, 19]: softmax over the channels
XFAIL: dict[str, str] = {}  # what fails on main today (a substring of the build error)
# P-Net's face probability is a 2-way softmax of int8 logits (its last conv): at p = 0.5 it moves 0.25 per unit of
# logit difference, so its worst window gets 0.25 (measured 0.198, no decision flipped of 5762); R-/O-Net 0.15.
MAX_PROB_ERR, MEAN_PROB_ERR = {"pnet": 0.25}, 0.03
THRESHOLDS = {"pnet": 0.6, "rnet": 0.7, "onet": 0.7}  # MTCNN's defaults (facenet_pytorch MTCNN thresholds)
SIZES = {"pnet": 48, "rnet": 24, "onet": 48}
N = 16


def run_artifact(
    result: object, samples: list[list[np.ndarray]], runner_for: Callable[[str], Path], tmp: Path
) -> list[list[np.ndarray]]:
    """Outputs of the built artifact on the host extension for each sample; the first sample also on every target's
    runner, byte-compared."""
    artifact = result.out / "model.ebm"  # type: ignore[attr-defined]
    native = native_model(artifact.read_bytes())
    outs = [[np.asarray(o) for o in native.run([np.ascontiguousarray(x) for x in s])] for s in samples]
    same = run_on_targets(artifact, samples[:1], [[o.tobytes() for o in outs[0]]], TARGETS, runner_for, tmp)
    assert same == dict.fromkeys(TARGETS, True), f"outputs differ from the host extension: {same}"
    return outs


@pytest.fixture(scope="module")
def nets() -> dict[str, torch.nn.Module]:
    return mtcnn_nets()


@pytest.mark.parametrize(
    "net",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=XFAIL[n], strict=True, raises=KnownFailure))
        if n in XFAIL
        else n
        for n in SIZES
    ],
)
def test_mtcnn(
    net: str, nets: dict[str, torch.nn.Module], runner_for: Callable[[str], Path], tmp_path: Path
) -> None:
    model, size = nets[net], SIZES[net]
    make = scenes if net == "pnet" else crops
    calib, _ = make(0, N, size)
    x, is_face = make(1, N, size)
    result = build_expecting(model, [calib], tmp_path, XFAIL.get(net))
    ours = run_artifact(result, [[x[i : i + 1]] for i in range(N)], runner_for, tmp_path)
    with torch.no_grad():
        ref = [o.numpy() for o in model(torch.from_numpy(x))]
    got = [np.concatenate([o[k] for o in ours]) for k in range(len(ref))]
    prob, prob_ref = got[-1][:, 1], ref[-1][:, 1]  # the face probability (P-Net: per window)
    err, mean_err = float(np.abs(prob - prob_ref).max()), float(np.abs(prob - prob_ref).mean())
    t = THRESHOLDS[net]
    clear = np.abs(prob_ref - t) > MAX_PROB_ERR.get(net, 0.15)
    flipped = int(((prob > t) != (prob_ref > t))[clear].sum())
    regress = [cosine(g, r) for g, r in zip(got[:-1], ref[:-1])]
    print(
        f"{net}: max |prob err| {err:.4f}, decisions flipped {flipped}/{int(clear.sum())}, regression cos {regress}"
    )
    face_ref = prob_ref.reshape(N, -1).max(1) > t
    assert face_ref[is_face].mean() >= 0.5, "the synthetic faces should look like faces to the float net"
    assert err <= MAX_PROB_ERR.get(net, 0.15) and mean_err <= MEAN_PROB_ERR
    assert flipped == 0
    assert min(regress) >= MIN_COSINE


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two samples without ties (similarities of real sentences)."""
    ra, rb = (np.argsort(np.argsort(v)).astype(np.float64) for v in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def test_minilm(runner_for: Callable[[str], Path], tmp_path: Path) -> None:
    model, tok = minilm()
    calib = tokenize(tok, CALIB_SENTENCES)
    sentences = SENTENCES + MORE_SENTENCES
    ids, mask = tokenize(tok, sentences)
    result = build_expecting(model, calib, tmp_path)
    dynamic = result.report["activations"]["dynamic_layers"]
    # 36 linear layers and the 6 self-attention modules, whose two products each are DYNAMIC_BATCH_MATMUL, fused with
    # the mask add, the softmax and the heads' transposes into one ATTENTION op per layer (lower/fuse_attention.py)
    assert len(dynamic) == 42 and result.report["ops"].get("DYNAMIC_FULLY_CONNECTED") == 36
    assert result.report["ops"].get("ATTENTION") == 6 and "DYNAMIC_BATCH_MATMUL" not in result.report["ops"]
    assert "SOFTMAX" not in result.report["ops"] and "TRANSPOSE" not in result.report["ops"]
    assert "FULLY_CONNECTED" not in result.report["ops"] and "QUANTIZE" not in result.report["ops"]
    samples = [[ids[i : i + 1], mask[i : i + 1]] for i in range(len(sentences))]
    ours = np.concatenate([o[0] for o in run_artifact(result, samples, runner_for, tmp_path)])
    with torch.no_grad():
        ref = np.concatenate([model(*(torch.from_numpy(a) for a in s)).numpy() for s in samples])
    per_sentence = [cosine(a, b) for a, b in zip(ours, ref)]
    upper = np.triu_indices(len(sentences), 1)
    sim_ours, sim_ref = (ours @ ours.T), (ref @ ref.T)
    rho = spearman(sim_ours[upper], sim_ref[upper])
    np.fill_diagonal(sim_ours, -np.inf)
    np.fill_diagonal(sim_ref, -np.inf)
    print(f"minilm: min cosine {min(per_sentence):.5f}, Spearman {rho:.5f} over {len(upper[0])} pairs")
    # the output depends on the input: the sentences' embeddings differ (float: pairwise similarity 0.0-0.8)
    assert float(sim_ours[upper].min()) < 0.5 and float(sim_ours[upper].max()) > 0.5
    assert min(per_sentence) >= MIN_COSINE
    assert rho >= 0.98
    assert (sim_ours.argmax(1) == sim_ref.argmax(1)).all()


def test_minilm_float() -> None:
    """The real sentence-embedding model built with every op in float (--float-layers on all of them): the
    decomposition, folding and float kernels reproduce PyTorch's embeddings (cosine >= 0.9999: float32 kernels
    summing in another order) and the nearest-neighbour ranking of the real sentences is the same."""
    from edgebuild.capture import graph_of
    from edgebuild.lower import lower_graph
    from edgebuild.quantize import quantize_model
    from tests.helpers import native

    model, tok = minilm()
    calib = tokenize(tok, CALIB_SENTENCES)
    ids, mask = tokenize(tok, SENTENCES)
    example = (torch.from_numpy(ids[:1]), torch.from_numpy(mask[:1]))
    gm = graph_of(torch.export.export(model, example))
    layers = tuple(n.name for n in gm.graph.nodes if n.op == "call_function")
    batches = [
        (torch.from_numpy(calib[0][i : i + 1]), torch.from_numpy(calib[1][i : i + 1])) for i in range(2)
    ]
    prog = lower_graph(quantize_model(gm, batches, float_layers=layers), "minilm", float_layers=layers)
    assert "QUANTIZE" not in prog.op_counts()
    m = native(prog)
    ours = np.concatenate([np.asarray(m.run([ids[i : i + 1], mask[i : i + 1]])[0]) for i in range(len(ids))])
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    assert min(cosine(a, b) for a, b in zip(ours, ref)) >= 0.9999
    sim_ours, sim_ref = ours @ ours.T, ref @ ref.T
    np.fill_diagonal(sim_ours, -np.inf)
    np.fill_diagonal(sim_ref, -np.inf)
    assert (np.argsort(-sim_ours, 1) == np.argsort(-sim_ref, 1)).all()
