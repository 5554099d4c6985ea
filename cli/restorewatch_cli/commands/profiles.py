"""`restorewatch profiles list|show`: the profiles a check can require, and where each list comes from.

Every profile shown is checked against the action catalog first: a profile naming an action AWS
does not have is an input error (exit 2) here as everywhere else.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from restorewatch.catalog import default_catalog
from restorewatch.profiles import ProfileRegistry, parameter_tag

if TYPE_CHECKING:
    import argparse

    from restorewatch.profiles import Profile
    from restorewatch_cli.app import Subparsers

__all__ = ["profile_dict", "register"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="list the restore profiles, or show one",
        description="The built-in profiles and those of --profile-path: name, description, the vendor "
        "page each list comes from and its version, and the actions (checked against AWS's action "
        "catalog).",
    )
    actions = parser.add_subparsers(dest="profiles_command", metavar="{list,show}", required=True)
    listing = actions.add_parser("list", help="every profile: name, action count, source")
    show = actions.add_parser(
        "show", help="one profile: its actions by service, published scopes, corrections"
    )
    show.add_argument("name", metavar="NAME", help="the profile's name")
    for sub in (listing, show):
        sub.add_argument(
            "--profile-path",
            action="append",
            default=[],
            metavar="PATH",
            help="extra profile file or directory of files (repeatable)",
        )
        sub.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(handler=run_list)
    show.set_defaults(handler=run_show)


def _by_service(profile: Profile) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for action in profile.actions:
        groups[action.partition(":")[0].lower()].append(action)
    return {service: sorted(actions, key=str.lower) for service, actions in sorted(groups.items())}


def profile_dict(profile: Profile, *, detail: bool = False) -> dict[str, object]:
    """The JSON form: ``name``, ``description``, ``source`` (url, version, file), ``actions`` ..."""
    data: dict[str, object] = {
        "name": profile.name,
        "description": profile.description,
        "source": {"url": profile.url, "version": profile.source_version, "file": profile.source},
        "action_count": len(profile.actions),
        "actions": list(profile.actions),
    }
    if profile.parameters:
        data["parameters"] = list(profile.parameters)
    if detail:
        data["bound"] = [
            {"action": r.action, "resource": r.resource}
            for r in profile.requirements
            if r.resource is not None
        ]
        data["actions_by_service"] = _by_service(profile)
        data["scopes"] = [scope.as_dict() for scope in profile.scopes]
        data["corrections"] = [correction.as_dict() for correction in profile.corrections]
    return data


def _profiles(args: argparse.Namespace, names: list[str] | None = None) -> list[Profile]:
    registry = ProfileRegistry.default(args.profile_path)
    return [registry.get(name) for name in (names if names is not None else registry.names())]


def _source_line(profile: Profile) -> str:
    source = profile.url or profile.source
    return f"{source} ({profile.source_version})" if profile.source_version else source


def run_list(args: argparse.Namespace) -> int:
    profiles = _profiles(args)
    catalog = default_catalog().catalog_version()
    if args.format == "json":
        print(json.dumps([profile_dict(profile) for profile in profiles], indent=2))
        return 0
    width = max(len("NAME"), *(len(profile.name) for profile in profiles))
    lines = [f"{'NAME'.ljust(width)}  ACTIONS  SOURCE"]
    for profile in profiles:
        lines.append(f"{profile.name.ljust(width)}  {len(profile.actions):>7}  {_source_line(profile)}")
        if profile.description:
            # the first sentence; `profiles show` prints all of it
            first = profile.description.split(". ", 1)[0].rstrip(".")
            lines.append(f"{' ' * width}  {first}.")
    lines.append("")
    lines.append(f"{len(profiles)} profiles; actions checked against the AWS action catalog {catalog}")
    print("\n".join(lines))
    return 0


def run_show(args: argparse.Namespace) -> int:
    (profile,) = _profiles(args, [args.name])
    if args.format == "json":
        print(json.dumps(profile_dict(profile, detail=True), indent=2))
        return 0
    lines = [f"{profile.name}: {profile.description}" if profile.description else profile.name]
    lines.append(f"source: {_source_line(profile)}")
    lines.append(f"defined in: {profile.source}")
    lines.append(f"actions ({len(profile.actions)}):")
    for service, actions in _by_service(profile).items():
        lines.append(f"  {service} ({len(actions)}): {', '.join(actions)}")
    bound = [r for r in profile.requirements if r.resource is not None]
    if bound:
        tags = ", ".join(f"{parameter_tag(name)}" for name in profile.parameters)
        lines.append(f"bound to resources (parameters from the tags {tags}, or --param):")
        lines += [f"  {r.action} on {r.resource}" for r in bound]
    if profile.scopes:
        lines.append("published scopes (as the source grants them):")
        for scope in profile.scopes:
            label = f"{scope.sid}: " if scope.sid else ""
            condition = f" when {json.dumps(dict(scope.condition))}" if scope.condition else ""
            lines.append(f"  {label}{', '.join(scope.actions)} on {', '.join(scope.resources)}{condition}")
    if profile.corrections:
        lines.append("corrections of the published list:")
        for correction in profile.corrections:
            instead = ", ".join(correction.replacement) or "nothing"
            doc = f" ({correction.doc})" if correction.doc else ""
            lines.append(f"  {correction.published} -> {instead}: {correction.reason}{doc}")
    lines.append(f"actions checked against the AWS action catalog {default_catalog().catalog_version()}")
    print("\n".join(lines))
    return 0
