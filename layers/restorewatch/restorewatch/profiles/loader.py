"""Reading profiles from JSON or YAML files and collecting them in a registry.

A profile file holds one profile object, a list of them, or ``{"profiles": [...]}``. A profile
object has ``name``, ``actions`` and optionally ``description``, ``parameters`` (see
``profiles.model``), ``source_url``, ``source_version``, ``scopes`` and ``corrections`` (see
``profiles.published``); any other key is rejected, because a misspelt key (``action``) would
otherwise silently drop a requirement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from restorewatch.engine.jsontext import load_json
from restorewatch.errors import ProfileError
from restorewatch.profiles.model import Profile, make_profile, require_bindable, require_known_actions

if TYPE_CHECKING:
    import os

__all__ = ["ProfileRegistry", "load_profile_file"]

_KEYS = frozenset(
    {"name", "description", "actions", "parameters", "source_url", "source_version", "scopes", "corrections"}
)
_YAML_SUFFIXES = frozenset({".yaml", ".yml"})
_PROFILE_SUFFIXES = _YAML_SUFFIXES | {".json"}


def _parse_text(text: str, origin: str, *, yaml_syntax: bool) -> object:
    if yaml_syntax:
        # PyYAML is imported only here: the Lambda and most CLI runs never load a YAML profile.
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProfileError(f"{origin}: invalid YAML: {exc}") from None
        except RecursionError:
            raise ProfileError(f"{origin}: invalid YAML: nested too deeply") from None
        except ValueError as exc:  # int() refusing a number too long to convert, as in JSON
            raise ProfileError(f"{origin}: invalid YAML: {exc}") from None
    try:
        return load_json(text)
    except ValueError as exc:
        raise ProfileError(f"{origin}: invalid JSON: {exc}") from None


def _profiles_from_data(data: object, origin: str, *, check_catalog: bool = True) -> list[Profile]:
    if isinstance(data, Mapping) and "profiles" in data and "name" not in data:
        if set(data) != {"profiles"}:
            extra = ", ".join(sorted(str(key) for key in data if key != "profiles"))
            raise ProfileError(f"{origin}: unexpected key(s) next to 'profiles': {extra}")
        data = data["profiles"]
    items = [data] if isinstance(data, Mapping) else data
    if not isinstance(items, list) or not items:
        raise ProfileError(
            f'{origin}: expected a profile object, a non-empty list of them or {{"profiles": [...]}}'
        )
    profiles: list[Profile] = []
    names: set[str] = set()
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ProfileError(f"{origin}: profile #{position} is not an object")
        if "name" not in item:
            raise ProfileError(f"{origin}: profile #{position} has no 'name'")
        unknown = sorted(str(key) for key in item if key not in _KEYS)
        if unknown:
            raise ProfileError(
                f"{origin}: profile {item['name']!r}: unknown key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_KEYS))})"
            )
        if "actions" not in item:
            raise ProfileError(f"{origin}: profile {item['name']!r} has no 'actions'")
        profile = make_profile(
            item["name"],
            item["actions"],
            description=item.get("description", ""),
            source=origin,
            url=item.get("source_url"),
            source_version=item.get("source_version"),
            scopes=item.get("scopes"),
            corrections=item.get("corrections"),
            parameters=item.get("parameters"),
            check_catalog=check_catalog,
        )
        if profile.name in names:
            raise ProfileError(f"{origin}: profile {profile.name!r} is defined twice")
        names.add(profile.name)
        profiles.append(profile)
    return profiles


def load_profile_file(path: str | os.PathLike[str]) -> list[Profile]:
    """Load the profiles of one JSON or YAML file (by suffix; anything but .yaml/.yml is JSON)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile file {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"cannot read profile file {file}: not UTF-8 text") from None
    data = _parse_text(text, str(file), yaml_syntax=file.suffix.lower() in _YAML_SUFFIXES)
    return _profiles_from_data(data, str(file))


def _builtin_profiles() -> list[Profile]:
    # the package's own folder (a directory in the Lambda layer and in any install): importlib.resources
    # would cost a cold start ~30 ms of imports for the same answer
    folder = Path(__file__).resolve().parent / "builtin"
    profiles: list[Profile] = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".json"):
            origin = f"built-in {entry.name}"
            data = _parse_text(entry.read_text("utf-8"), origin, yaml_syntax=False)
            # checked against the catalog when first used (and by the test suite)
            profiles.extend(_profiles_from_data(data, origin, check_catalog=False))
    return profiles


def _files_of(path: Path) -> list[Path]:
    """A file stands for itself; a directory for its profile files (not recursive, sorted)."""
    if path.is_dir():
        return sorted(child for child in path.iterdir() if child.suffix.lower() in _PROFILE_SUFFIXES)
    return [path]


@dataclass(frozen=True, slots=True)
class ProfileRegistry:
    """Profiles by name. Names are unique: a user file may not redefine a built-in, because a
    silently replaced profile would change what every watched principal is checked against."""

    profiles: Mapping[str, Profile]
    # built-in profiles whose actions have been checked against the catalog (see ``get``)
    _checked: set[str] = field(default_factory=set, repr=False, compare=False)

    @classmethod
    def from_profiles(cls, profiles: Iterable[Profile]) -> ProfileRegistry:
        by_name: dict[str, Profile] = {}
        for profile in profiles:
            previous = by_name.get(profile.name)
            if previous is not None:
                raise ProfileError(
                    f"{profile.source}: profile {profile.name!r} is already defined in {previous.source}"
                )
            by_name[profile.name] = profile
        return cls(profiles=by_name)

    @classmethod
    def default(cls, extra_paths: Iterable[str | os.PathLike[str]] = ()) -> ProfileRegistry:
        """The built-in profiles plus those of ``extra_paths`` (files, or directories of files)."""
        profiles = _builtin_profiles()
        for extra in extra_paths:
            for file in _files_of(Path(extra)):
                profiles.extend(load_profile_file(file))
        return cls.from_profiles(profiles)

    def get(self, name: str) -> Profile:
        try:
            profile = self.profiles[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ProfileError(f"unknown profile {name!r}; known profiles: {known}") from None
        if name not in self._checked:
            # user profiles were checked when loaded; a built-in one is checked on first use, so a
            # run reads only the catalog files of the services it asks about
            where = f"{profile.source}: profile {name!r}"
            require_known_actions(profile.actions, where=where)
            require_bindable(profile.requirements, where=where)
            self._checked.add(name)
        return profile

    def names(self) -> list[str]:
        return sorted(self.profiles)
