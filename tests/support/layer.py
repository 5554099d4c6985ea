"""What the Lambda layer must not ship: the modules that moved to ``restorewatch_cli`` (cli/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# the commands, the demos, the local runner and what-if: CLI-only code, never in the layer
CLI_ONLY = ("cli", "local", "whatif", "demo", "demo_org", "sam_local")
CLI_PACKAGE = "restorewatch_cli"


def cli_only_paths(package: Path) -> list[str]:
    """The CLI-only modules and packages directly inside ``package`` (a ``restorewatch`` directory)."""
    return sorted(
        path.name
        for path in package.iterdir()
        if path.name in CLI_ONLY or (path.suffix == ".py" and path.stem in CLI_ONLY)
    )
