"""The package's dependencies point one way: each top-level part imports only the parts below it.

Architecture rule ("dependencies pointing one way"; docs/interfaces.md, "Layers"): the order below is
the package's layering, from the bottom. A module-level import of a part that sits above (or a cycle,
which needs one) fails here; imports under ``TYPE_CHECKING`` are for the type checker only and do
not count. ``restorewatch_cli`` sits on top of everything and the package never imports it
(tests/unit/test_layer_contents.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "restorewatch" / "restorewatch"

LAYERS = (
    "errors",
    "engine",
    "catalog",
    "profiles",
    "compliance",
    "domain",
    "state",
    "inventory",
    "alerts",
    "report",
    "ledger",
    "watch",
)


def _imports(tree: ast.AST) -> list[str]:
    """Modules imported at run time (``if TYPE_CHECKING:`` blocks left out, their ``else`` kept)."""
    found: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                found += _imports(child)
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        found += _imports(node)
    return found


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0].removesuffix(".py")


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(importer part, imported part) -> the files that import it."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(path)
        for module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = module.split(".")
            if parts[0] == "restorewatch" and len(parts) > 1 and parts[1] != source:
                edges.setdefault((source, parts[1]), []).append(str(path.relative_to(PACKAGE)))
    return edges


def upward(edges: dict[tuple[str, str], list[str]]) -> dict[str, list[str]]:
    rank = {name: index for index, name in enumerate(LAYERS)}
    return {
        f"{importer} -> {imported}": files
        for (importer, imported), files in edges.items()
        if rank.get(imported, len(LAYERS)) >= rank.get(importer, -1)
    }


def test_every_part_is_a_layer() -> None:
    parts = {_part(path) for path in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts == set(LAYERS)


def test_imports_point_down_only() -> None:
    assert upward(package_edges()) == {}


def test_upward_check_sees_an_upward_import() -> None:
    """The check can fail: alerts importing the ledger (the old outbox's cycle) is reported."""
    assert upward({("alerts", "ledger"): ["alerts/outbox.py"], ("ledger", "alerts"): ["x"]}) == {
        "alerts -> ledger": ["alerts/outbox.py"]
    }


def test_type_checking_imports_do_not_count() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import restorewatch.engine\n"
        "if TYPE_CHECKING:\n    from restorewatch.watch import Watcher\n"
        "def f():\n    from restorewatch.ledger import Outbox\n"
    )
    assert _imports(tree) == ["typing", "restorewatch.engine", "restorewatch.ledger"]
