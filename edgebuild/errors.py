"""The one exception type a user sees: a message that names the cause and the fix, printed on one line."""

from __future__ import annotations

import traceback
from pathlib import Path


class EdgebuildError(Exception):
    """An expected failure (bad input, missing tool, unsupported op). The CLI prints it on one line and exits 2."""


class EdgebuildWarning(UserWarning):
    """What a build of the Python API warns about (random calibration data, ...); the CLI prints these itself."""


def internal_error(e: BaseException) -> str:
    """An unexpected exception as one line: its type, its first line and where it was raised."""
    text = str(e).strip().splitlines()
    first = text[0].strip() if text else ""
    frames = traceback.extract_tb(e.__traceback__)
    where = f" (in {frames[-1].name}, {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return (
        f"internal error: {type(e).__name__}: {first}{where}. This is a bug in edgebuild; please report it with "
        "the output of the same command with --debug"
    )
