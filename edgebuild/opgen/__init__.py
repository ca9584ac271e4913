"""Generates the op wiring from the op table (edgebuild/optable.py).

    python -m edgebuild.opgen           # rewrite the generated files
    python -m edgebuild.opgen --check   # exit 1 naming every stale file (tests/test_opgen.py runs this)

Generated: kernels/runtime/ops_generated.h, kernels/include/edgebuild/ops_enums.h, edgebuild/ir_enums.py, edgebuild/ir_ops.py and the
op table of docs/artifact.md (between `<!-- optable -->` markers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..optable import check_table
from .cpp import cpp_header, enums_header
from .doc import doc_text
from .names import DOC, ENUMS_HEADER, HEADER, PY, PY_ENUMS, ROOT
from .py import python_enums, python_module


def outputs(root: Path = ROOT) -> dict[str, str]:
    errors = check_table()
    if errors:
        raise SystemExit("edgebuild/optable.py: " + "; ".join(errors))
    return {
        HEADER: cpp_header(),
        ENUMS_HEADER: enums_header(),
        PY_ENUMS: python_enums(),
        PY: python_module(),
        DOC: doc_text((root / DOC).read_text()),
    }


def stale(root: Path = ROOT) -> list[str]:
    return [
        rel
        for rel, text in outputs(root).items()
        if not (root / rel).is_file() or (root / rel).read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgebuild.opgen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for rel in bad:
            print(f"stale: {rel} (run python -m edgebuild.opgen)", file=sys.stderr)
        return 1 if bad else 0
    for rel, text in outputs().items():
        path = ROOT / rel
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {rel}")
    return 0
