"""The third-party zoo triage: build every `transformers` architecture of tests/zoo/hf_models.py, as a user would,
and tabulate what builds, what is left in float, how close to float it is, and why the rest fails.

    python -m bench.hf_zoo                                  # all models, host + arm64 + armv7, table + hf_zoo.json
    python -m bench.hf_zoo --models bert gpt2 vit --targets host
    python -m bench.hf_zoo --families vision --json out.json --isolate

Per model (tests/zoo/hf_driver.py): torch.export at batch 1 -> `edgebuild.build` for host with 8 calibration samples
keyed x0, x1, ... -> the one artifact run on the host extension and on each target's runner (qemu for ARM), outputs
byte-compared; cosine of edgebuild's output with the float model's over 4 held-out samples (`cos`), and of the
input-dependent part (`cos_dev`, both minus the float outputs' mean); `float` = ops left in float (report.json
float_ops). A failing model never stops the run; failures are grouped by normalized reason (missing ops one by one),
which is the list of what to implement next. `--isolate` runs each model in a child process (a crash in native code
then costs one model, not the run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.zoo.hf_driver import TARGETS, ZooResult, build_and_check, default_runner_for
from tests.zoo.hf_models import HF_ZOO

ROOT = Path(__file__).resolve().parent.parent


def _git_rev() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()
    except OSError:
        return "?"


def _one_isolated(name: str, targets: list[str], tmp: Path) -> ZooResult:
    out = tmp / f"{name}.json"
    cmd = [sys.executable, "-m", "bench.hf_zoo", "--models", name, "--targets", *targets, "--json", str(out)]
    cmd += ["--quiet-table"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode in (0, 1) and out.is_file():
        doc = json.loads(out.read_text())["results"][0]
        return ZooResult(**doc)
    tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
    r = ZooResult(name, HF_ZOO[name].family, status="crash", error=f"child exited {proc.returncode}: {tail}")
    r.reasons = [f"crash (exit {proc.returncode})"]
    return r


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table(results: list[ZooResult]) -> str:
    head = (
        f"{'model':16s} {'family':12s} {'float':>5s} {'cos':>7s} {'cos_dev':>7s} {'sens':>5s} {'KiB':>6s} "
        f"{'build s':>7s} {'cpu s':>6s} {'targets':8s} status"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        targets = "".join("=" if ok else "x" for ok in r.identical.values()) or "-"
        status = "ok" if r.status == "ok" else f"{r.status}: {r.error}"
        lines.append(
            f"{r.name:16s} {r.family:12s} {_fmt(r.float_ops, 'd'):>5s} {_fmt(r.cosine, '.4f'):>7s} "
            f"{_fmt(r.cosine_dev, '.4f'):>7s} {_fmt(r.sensitivity, '.2f'):>5s} "
            f"{_fmt(None if r.size is None else r.size / 1024, '.0f'):>6s} {_fmt(r.build_s, '.1f'):>7s} "
            f"{_fmt(r.cpu_s, '.1f'):>6s} "
            f"{targets:8s} {status[:150]}"
        )
    return "\n".join(lines)


def groups(results: list[ZooResult]) -> dict[str, list[str]]:
    """Failure reason -> models, most frequent first."""
    g: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r.status != "ok":
            for reason in r.reasons or [r.error]:
                g[reason].append(r.name)
    return dict(sorted(g.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", help=f"default: all {len(HF_ZOO)}: {' '.join(HF_ZOO)}")
    ap.add_argument("--families", nargs="*", help="text-encoder decoder vision audio")
    ap.add_argument("--targets", nargs="*", default=list(TARGETS), help="runners to run the artifact on")
    ap.add_argument("--json", type=Path, default=Path("hf_zoo.json"))
    ap.add_argument("--isolate", action="store_true", help="one child process per model")
    ap.add_argument("--quiet-table", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    names = args.models or list(HF_ZOO)
    unknown = [n for n in names if n not in HF_ZOO]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; known: {' '.join(HF_ZOO)}")
    if args.families:
        names = [n for n in names if HF_ZOO[n].family in args.families]

    results: list[ZooResult] = []
    runner_for = default_runner_for()
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hf-zoo-") as tmp:
        for name in names:
            t0 = time.perf_counter()
            if args.isolate:
                r = _one_isolated(name, args.targets, Path(tmp))
            else:
                try:
                    r = build_and_check(name, Path(tmp) / name, args.targets, runner_for)
                except Exception as e:  # noqa: BLE001 - the driver's own failure (model, runner) costs one model
                    r = ZooResult(
                        name, HF_ZOO[name].family, status="driver error", error=f"{type(e).__name__}: {e}"
                    )
                    r.reasons = [f"driver error {type(e).__name__}"]
            if not args.quiet_table:
                print(
                    f"[{time.perf_counter() - t0:5.1f} s] {name}: {r.status} {r.error[:120]}", file=sys.stderr
                )
            results.append(r)

    doc: dict[str, Any] = {
        "schema": "edgebuild.hf_zoo/1",
        "revision": _git_rev(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "targets": args.targets,
        "seconds": round(time.perf_counter() - t_all, 1),
        "results": [r.as_json() for r in results],
        "failure_groups": groups(results),
    }
    args.json.write_text(json.dumps(doc, indent=1))
    if not args.quiet_table:
        ok = sum(r.status == "ok" for r in results)
        print(table(results))
        print(
            f"\n{ok}/{len(results)} build and agree on {', '.join(args.targets) or 'host (extension only)'}; "
            f"{doc['seconds']} s; revision {doc['revision']}"
        )
        g = doc["failure_groups"]
        if g:
            print("\nfailure reasons (models):")
            for reason, models in g.items():
                print(f"  {len(models):2d}  {reason}: {' '.join(models)}")
        print(f"\nJSON: {args.json}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
