"""The `restorewatch` command: the parser, its subcommands, and the one place errors become exit 2.

Each subcommand lives in its own module and registers itself through ``register(subparsers)``;
adding one (``report``, ``local``) means adding its module to ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from restorewatch.errors import RestoreWatchError
from restorewatch_cli.commands import check, local, profiles, report, simulate, what_if

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeAlias

    # What add_subparsers() returns; generic only in the stubs, hence only for type checking.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["EXIT_BAD_INPUT", "EXIT_BROKEN_PIPE", "build_parser", "main"]

EXIT_BAD_INPUT = 2
# What a shell reports for a Unix tool that SIGPIPE ended (128 + 13), e.g. `yes | head -1`. Never 0:
# under `set -o pipefail`, `restorewatch check | head` must not pass a gate that it did not check.
EXIT_BROKEN_PIPE = 141

_SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    check.register,
    simulate.register,
    local.register,
    report.register,
    profiles.register,
    what_if.register,
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


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 through argparse itself
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RestoreWatchError as exc:
        return _fail(str(exc))
    except UnicodeDecodeError as exc:
        return _fail(f"input is not UTF-8 text: {exc.reason}")
    except BrokenPipeError:
        raise  # the reader of our output went away: not an input error (see main)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except ValueError as exc:  # a decoding failure that escaped the input readers
        return _fail(f"invalid input: {exc}")
    except RecursionError:  # only input nests without bound; the readers name the file it came from
        return _fail("invalid input: nested too deeply")


def _discard_output() -> None:
    """Point stdout and stderr at /dev/null, so that the interpreter's last flush at exit cannot
    fail again (https://docs.python.org/3/library/signal.html#note-on-sigpipe). Both: with
    ``2>&1 | head`` the closed pipe is stderr too, and nothing more is written either way."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                descriptor = stream.fileno()
            except (AttributeError, OSError, ValueError):  # replaced by a test, or closed
                continue
            os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 findings, 2 bad input, 141 when the
    reader of the output closed the pipe early, as ``| head`` does)."""
    try:
        try:
            return _run(argv)
        finally:
            # A closed pipe shows on this flush when the output fitted in the buffer; here it is
            # caught, at interpreter exit it would print "Exception ignored" and exit 120.
            sys.stdout.flush()
    except BrokenPipeError:
        _discard_output()
        return EXIT_BROKEN_PIPE
