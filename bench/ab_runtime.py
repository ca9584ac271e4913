"""Before/after latency of two edgebuild source trees, measured in one run (a refactor must not slow anything).

    python -m bench.ab_runtime --before /path/to/old/checkout [--after .] [--models mobilenet_v2 resnet18]

Each tree builds the bench models (bench/models.py, seeded) with its own Python code and compiles its own host
runner, in a subprocess whose PYTHONPATH puts that tree first (scikit-build's editable redirect is dropped, see
`_env`). Then the two runners run their artifacts alternately, `--rounds` times `--iterations` invokes each,
on one thread, and the script prints each tree's median of the per-round medians and the ratio after/before. The
outputs of both trees on the same input are compared too (they must be identical bytes). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent

_SITE = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ScikitBuildRedirectingFinder"]
"""

_BUILD = """
import sys, numpy as np, torch
from pathlib import Path
from bench.models import mobilenet_v2, resnet18
from edgebuild.pipeline import BuildOptions, build
name, out = sys.argv[1], Path(sys.argv[2])
torch.manual_seed(0)  # bench/models.py seeds only the BatchNorm statistics: seed every weight here
model, shape = {"mobilenet_v2": mobilenet_v2, "resnet18": resnet18}[name]()
g = torch.Generator().manual_seed(1)
calib = torch.randn(8, *shape[1:], generator=g)
pt = out / "model.pt"
torch.export.save(torch.export.export(model.eval(), (calib[:1],)), pt)
np.savez(out / "calib.npz", x=calib.numpy())
np.save(out / "x.npy", torch.randn(*shape, generator=g).numpy())
build(BuildOptions(pt, "host", calib=out / "calib.npz", out=out / "bundle", smoke=False))
"""


def _env(tree: Path, site: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{site}:{tree}"
    env["EDGEBUILD_CACHE"] = str(cache)
    return env


def _native_link(tree: Path) -> None:
    """A tree outside the editable install needs an edgebuild._native: use the installed one if it has none."""
    if list((tree / "edgebuild").glob("_native*.so")):
        return
    import edgebuild._native as n

    (tree / "edgebuild" / Path(n.__file__).name).symlink_to(n.__file__)


def build_tree(tree: Path, model: str, work: Path, site: Path) -> Path:
    out = work / f"{tree.name}-{model}"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", _BUILD, model, str(out)],
        cwd=tree,
        env=_env(tree, site, work / f"cache-{tree.name}"),
        check=True,
    )
    return out


def run_once(bundle: Path, iterations: int) -> tuple[float, bytes]:
    y = bundle / "y.npy"
    p = subprocess.run(
        [
            str(bundle / "bundle" / "edgebuild-run"),
            str(bundle / "bundle" / "model.ebm"),
            "--input",
            str(bundle / "x.npy"),
            "--output",
            str(y),
            "--threads",
            "1",
            "--warmup",
            "3",
            "--iterations",
            str(iterations),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    return float(doc["latency_ms"]["median"]), np.load(y).tobytes()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, default=HERE)
    ap.add_argument("--models", nargs="+", default=["mobilenet_v2", "resnet18"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ab-runtime-"))
    site = work / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITE)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():
        _native_link(tree)
    print(f"{'model':<14} {'before ms':>10} {'after ms':>10} {'after/before':>13}  outputs")
    for model in args.models:
        bundles = {k: build_tree(t, model, work / k, site) for k, t in trees.items()}
        times: dict[str, list[float]] = {k: [] for k in trees}
        outs: dict[str, bytes] = {}
        for _ in range(args.rounds):
            for k, b in bundles.items():
                ms, y = run_once(b, args.iterations)
                times[k].append(ms)
                outs[k] = y
        b_ms, a_ms = statistics.median(times["before"]), statistics.median(times["after"])
        same = "identical" if outs["before"] == outs["after"] else "DIFFER"
        print(f"{model:<14} {b_ms:>10.3f} {a_ms:>10.3f} {a_ms / b_ms:>13.3f}  {same}", flush=True)
        print(f"{'':<14} rounds before {' '.join(f'{t:.2f}' for t in times['before'])}")
        print(f"{'':<14} rounds after  {' '.join(f'{t:.2f}' for t in times['after'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
