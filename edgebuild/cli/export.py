"""`edgebuild export` and `edgebuild build --export`: a bundle's model as .tflite or ONNX (edgebuild/export/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console


def export_bundle(bundle: Path, formats: list[str], console: Console) -> None:
    from ..export import export_file

    for fmt in formats:
        console.print(f"exported {export_file(bundle, fmt, bundle / f'model.{fmt}')}")


def cmd_export(args: argparse.Namespace, console: Console, err: Console) -> int:
    from ..export import export_file

    src = args.bundle.parent if args.bundle.suffix == ".ebm" else args.bundle
    out = args.out or src / f"model.{args.format}"
    console.print(f"exported {export_file(args.bundle, args.format, out, io=args.io)}")
    return 0
