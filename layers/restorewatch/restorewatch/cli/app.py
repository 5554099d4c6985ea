"""The `restorewatch` command: the parser, its subcommands, and the one place errors become exit 2.

Each subcommand lives in its own module and registers itself through ``register(subparsers)``;
adding one (``report``, ``local``) means adding its module to ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from restorewatch.cli import check, local, profiles, report, simulate
from restorewatch.errors import RestoreWatchError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeAlias

    # What add_subparsers() returns; generic only in the stubs, hence only for type checking.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["EXIT_BAD_INPUT", "build_parser", "main"]

EXIT_BAD_INPUT = 2

_SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    check.register,
    simulate.register,
    local.register,
    report.register,
    profiles.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restorewatch",
        description="Keep backup restore principals able to restore: check their IAM permissions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _SUBCOMMANDS:
        register(subparsers)
    return parser


def _fail(message: str) -> int:
    # One line, whatever the underlying message (YAML errors span several lines).
    print(f"restorewatch: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 findings, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 through argparse itself
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RestoreWatchError as exc:
        return _fail(str(exc))
    except UnicodeDecodeError as exc:
        return _fail(f"input is not UTF-8 text: {exc.reason}")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except ValueError as exc:  # json.JSONDecodeError and friends that escaped the input readers
        return _fail(f"invalid input: {exc}")
