"""edgebuild's command line: build (the default), run, profile, export, targets, ops, one module each (parser.py holds
the arguments). Nothing imports this package; it imports no pipeline module before it runs a command.

Every expected failure is an EdgebuildError: one line on stderr, exit 1 (usage errors exit 2, as argparse does).
`--debug` shows the Python traceback instead.
"""

from __future__ import annotations

import contextlib
import sys

from rich.console import Console

from ..api import quiet_torch
from ..errors import EdgebuildError, internal_error
from .build import cmd_build
from .export import cmd_export
from .ops import cmd_ops
from .parser import COMMANDS, make_parser
from .profile import cmd_profile
from .run import cmd_run
from .targets import cmd_targets

__all__ = ["internal_error", "main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `edgebuild [--debug] model.pt ...` means `edgebuild build model.pt ...`
    first = next((a for a in argv if a != "--debug"), None)
    if first is not None and first not in COMMANDS and not first.startswith("-"):
        argv.insert(argv.index(first), "build")
    elif first is not None and first.startswith("--") and first not in ("--help",) and "build" not in argv:
        argv.insert(0, "build")
    args = make_parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    if args.command is None:
        make_parser().print_help()
        return 2
    handlers = {
        "build": cmd_build,
        "run": cmd_run,
        "profile": cmd_profile,
        "targets": cmd_targets,
        "export": cmd_export,
        "ops": cmd_ops,
    }
    try:
        with contextlib.ExitStack() as stack:
            if not args.debug:
                stack.enter_context(quiet_torch())
            return handlers[args.command](args, console, err)
    except EdgebuildError as e:
        if args.debug:
            raise
        msg = str(e)
        print(f"edgebuild: error: {msg}", file=sys.stderr)
        return 1
    except OSError as e:  # a file we cannot read or write (permissions, disk full): the user's to fix
        if args.debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"edgebuild: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edgebuild: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug (ours or torch's): still one line; --debug shows where
        if args.debug:
            raise
        print(f"edgebuild: error: {internal_error(e)}", file=sys.stderr)
        return 1
