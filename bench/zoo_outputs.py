"""Output digests of the test zoo and examples on every executor: the refactoring check of "One op, one place".

    python -m bench.zoo_outputs --out before.json          # build every model for host, arm64, armv7 and run it
    python -m bench.zoo_outputs --out after.json --compare before.json
    python -m bench.zoo_outputs --artifacts DIR --compare before.json   # also run the old artifacts kept in DIR

Each model is built from the same seeds and inputs; every output is hashed (SHA-256 of the float32 bytes) per
executor: the host runner on each x86 path (ref, avx2, avx512vnni where the CPU has it), the arm64 runner under
`qemu-aarch64 -cpu max` on i8mm, neondot, neon and ref, and the armv7 runner (neon, ref). `--compare` exits 1 and
names every (model, executor) whose digest differs. Not a test: a full run builds ~15 bundles and takes minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgebuild.compress import CompressOptions
from edgebuild.pipeline import BuildOptions, build
from edgebuild.run import run_runner
from edgebuild.run.transports import qemu
from edgebuild.targets import load_target

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("host", "arm64", "armv7")
PATHS = {
    "host": ("ref", "avx2", "avx512vnni"),
    "arm64": ("i8mm", "neondot", "neon", "ref"),
    "armv7": ("neon", "ref"),
}


def _export(m: torch.nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> Path:
    torch.export.save(torch.export.export(m.eval(), example), path)
    return path


def models(tmp: Path) -> dict[str, dict[str, Any]]:
    """name -> {model, calib, inputs (list of per-sample input lists), options}."""
    sys.path.insert(0, str(ROOT))
    from tests.models import RandomCNN, calibration
    from tests.zoo.bert import tiny_bert, token_batch
    from tests.zoo.models import ZOO, make

    out: dict[str, dict[str, Any]] = {}
    digits = ROOT / "examples" / "digits"
    x = np.load(digits / "eval.npz")["x"]
    samples = [[np.ascontiguousarray(x[i : i + 1])] for i in (0, 17, 33)]
    out["digits"] = {
        "model": digits / "model.pt",
        "calib": digits / "calib.npz",
        "inputs": samples,
        "opts": {},
    }
    out["digits-pruned"] = {
        "model": digits / "model.pt",
        "calib": digits / "calib.npz",
        "inputs": samples,
        "opts": {"compress": CompressOptions(prune="block4x4:0.8"), "sparse": "always"},
    }
    for seed in (1, 5, 8):
        m = RandomCNN(seed).eval()
        shape = m.input_shape()
        calib = tmp / f"random{seed}.npz"
        np.savez(calib, x=torch.cat(calibration(shape, 16)).numpy())
        ins = [[t.numpy()] for t in calibration(shape, 3, seed=seed + 50)]
        out[f"random{seed}"] = {
            "model": _export(m, (torch.zeros(shape),), tmp / f"random{seed}.pt"),
            "calib": calib,
            "inputs": ins,
            "opts": {},
        }
    for name, (_, shape) in ZOO.items():
        m = make(name)
        calib = tmp / f"{name}.npz"
        np.savez(calib, x=torch.cat(calibration(shape, 16)).numpy())
        ins = [[t.numpy()] for t in calibration(shape, 3, seed=77)]
        out[name] = {
            "model": _export(m, (torch.zeros(shape),), tmp / f"{name}.pt"),
            "calib": calib,
            "inputs": ins,
            "opts": {},
        }
    bert = tiny_bert()
    ids, types = token_batch(18)
    calib = tmp / "bert.npz"
    np.savez(calib, x0=ids[:16].numpy(), x1=types[:16].numpy())
    ins = [[ids[i : i + 1].numpy(), types[i : i + 1].numpy()] for i in (16, 17)]
    bert_pt = _export(bert, (ids[:1], types[:1]), tmp / "bert.pt")
    out["tiny_bert"] = {"model": bert_pt, "calib": calib, "inputs": ins, "opts": {}}
    out["tiny_bert-float"] = {
        "model": bert_pt,
        "calib": calib,
        "inputs": ins,
        "opts": {"float_layers": ("word", "token_type", "ln", "encoder", "classifier")},
    }
    return out


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def run_all(
    name: str, target: str, out: Path, inputs: list[list[np.ndarray]], tmp: Path, n_out: int
) -> dict[str, list[str]]:
    t = load_target(target)
    res: dict[str, list[str]] = {}
    for isa in PATHS[target]:
        device = None
        if target != "host":
            base = qemu(t)
            device = replace(base, env={**base.env, "EDGEBUILD_ISA": isa})
        digests = []
        for i, sample in enumerate(inputs):
            xs = []
            for k, arr in enumerate(sample):
                p = tmp / f"{name}-{target}-{isa}-x{i}-{k}.npy"
                np.save(p, arr)
                xs.append(p)
            ys = [tmp / f"{name}-{target}-{isa}-y{i}-{k}.npy" for k in range(n_out)]
            import os

            old = os.environ.get("EDGEBUILD_ISA")
            if target == "host":
                os.environ["EDGEBUILD_ISA"] = isa
            try:
                doc = run_runner(t, out / "edgebuild-run", out / "model.ebm", xs, ys, device=device)
            except Exception as e:  # noqa: BLE001 (an unavailable ISA on this CPU is recorded, not fatal)
                # an ISA this CPU lacks: recorded without the message (it names a temporary path)
                digests.append(f"error: {type(e).__name__}")
                continue
            finally:
                if target == "host":
                    if old is None:
                        os.environ.pop("EDGEBUILD_ISA", None)
                    else:
                        os.environ["EDGEBUILD_ISA"] = old
            ok = doc.get("status") == "ok"
            digests.append("+".join(digest(np.load(y)) for y in ys) if ok else f"status {doc.get('status')}")
        res[isa] = digests
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--keep", type=Path, help="copy every bundle into this folder")
    ap.add_argument("--only", default="", help="comma-separated model names")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zoo-outputs-"))
    result: dict[str, Any] = {}
    todo = models(tmp)
    only = [s for s in args.only.split(",") if s]
    for name, spec in todo.items():
        if only and name not in only:
            continue
        for target in TARGETS:
            b = build(
                BuildOptions(
                    spec["model"], target, calib=spec["calib"], out=tmp / f"b-{name}-{target}", **spec["opts"]
                )
            )
            if args.keep:
                shutil.copytree(b.out, args.keep / f"{name}-{target}", dirs_exist_ok=True)
            runs = run_all(name, target, b.out, spec["inputs"], tmp, len(b.program.outputs))
            result[f"{name}/{target}"] = {"ops": b.program.op_counts(), "outputs": runs}
            print(name, target, json.dumps(runs), flush=True)
    constant = sorted({k.split("/")[0] for k, d in result.items() if len(set(d["outputs"]["ref"])) < 2})
    if constant:
        print("WARNING: the same output for every input (a vacuous comparison):", ", ".join(constant))
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True))
    if args.compare:
        before = json.loads(args.compare.read_text())
        bad = []
        for key, doc in result.items():
            old = before.get(key)
            if old is None:
                bad.append(f"{key}: not in {args.compare}")
                continue
            for isa, digests in doc["outputs"].items():
                was = [d if not d.startswith("error") else "error" for d in old["outputs"].get(isa, [])]
                if was != [d if not d.startswith("error") else "error" for d in digests]:
                    bad.append(f"{key} [{isa}]: {old['outputs'].get(isa)} -> {digests}")
            # every executor of one model gives one set of digests (bit-identical across ISAs and targets)
        for line in bad:
            print("DIFFERS:", line)
        print(f"{len(result)} (model, target) pairs compared, {len(bad)} differ")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
