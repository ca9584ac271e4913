"""edgebuild: a trained PyTorch model in, a small, fast, measured int8 program for an ARM device out.

The Python API (docs/api.md):

    import edgebuild
    bundle = edgebuild.build(model, example_inputs=(x,), calib=samples, target="arm64")
    outputs = bundle.run(x)

Importing edgebuild is cheap: the names below are imported on first use (torch only when a build starts), so the
CLI's cached build never pays for torch.

`edgebuild.build` is the API's function. The pipeline module of the same name (edgebuild/pipeline.py) is imported as
`from edgebuild.pipeline import BuildOptions` or `importlib.import_module("edgebuild.pipeline")`: importing a submodule
sets the package's attribute of its name, and this package keeps that attribute the function (`_Package` below).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import EdgebuildError, EdgebuildWarning

if TYPE_CHECKING:
    from .api import build as build
    from .bundle import Bundle as Bundle
    from .bundle import load_bundle as load_bundle
    from .compress.options import CompressOptions as CompressOptions

__version__ = "0.1.0"

__all__ = [
    "Bundle",
    "CompressOptions",
    "EdgebuildError",
    "EdgebuildWarning",
    "__version__",
    "build",
    "load_bundle",
]

# name -> the module that defines it, imported on first use
_LAZY = {
    "build": ".api",
    "Bundle": ".bundle",
    "load_bundle": ".bundle",
    "CompressOptions": ".compress.options",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
