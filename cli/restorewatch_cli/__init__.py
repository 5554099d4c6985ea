"""The `restorewatch` command line; ``main`` is the console script's entry point."""

from restorewatch_cli.app import main

__all__ = ["main"]
