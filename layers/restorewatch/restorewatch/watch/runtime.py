"""Build a ``Watcher`` from the function's environment (what ``template.yaml`` gives it).

Kept apart from the handler so that the CLI's ``local invoke`` and the tests build it the same way.
Clients are created once per execution environment and reused across invocations (warm starts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache

from restorewatch.alerts import Outbox, OutboxSettings, SnsPublisher
from restorewatch.errors import InputError
from restorewatch.inventory import IamReader, make_client
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry
from restorewatch.state import DynamoStateStore
from restorewatch.watch.pipeline import Watcher, WatchSettings

_TRUE = frozenset({"true", "1", "yes"})


@dataclass(frozen=True, slots=True)
class WatcherConfig:
    state_table: str
    alert_topic_arn: str
    tag_key: str = DEFAULT_TAG_KEY
    alert_on_degraded: bool = True
    profile_paths: tuple[str, ...] = ()
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL: moto's server in local runs

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> WatcherConfig:
        env = dict(os.environ if environ is None else environ)
        missing = [name for name in ("STATE_TABLE", "ALERT_TOPIC_ARN") if not env.get(name)]
        if missing:
            raise InputError(f"the watcher's environment lacks {', '.join(missing)} (see template.yaml)")
        paths = tuple(p for p in env.get("PROFILE_PATHS", "").split(os.pathsep) if p)
        return cls(
            state_table=env["STATE_TABLE"],
            alert_topic_arn=env["ALERT_TOPIC_ARN"],
            tag_key=env.get("WATCH_TAG_KEY") or DEFAULT_TAG_KEY,
            alert_on_degraded=env.get("ALERT_ON_DEGRADED", "true").strip().lower() in _TRUE,
            profile_paths=paths,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )


def build_watcher(config: WatcherConfig) -> Watcher:
    endpoint = config.endpoint_url
    iam = make_client("iam", endpoint_url=endpoint)
    store = DynamoStateStore(config.state_table, client=make_client("dynamodb", endpoint_url=endpoint))
    publisher = SnsPublisher(config.alert_topic_arn, client=make_client("sns", endpoint_url=endpoint))
    outbox = Outbox(store, publisher, OutboxSettings(alert_on_degraded=config.alert_on_degraded))
    return Watcher(
        reader_factory=lambda: IamReader(iam, tag_key=config.tag_key),
        store=store,
        outbox=outbox,
        profiles=ProfileRegistry.default(config.profile_paths),
        settings=WatchSettings(tag_key=config.tag_key),
    )


@cache
def _watcher_for(config: WatcherConfig) -> Watcher:
    return build_watcher(config)


def watcher_from_environment(default_profile_dir: str | None = None) -> Watcher:
    """One watcher per execution environment and configuration (clients are reused when warm).

    ``default_profile_dir``: user profiles shipped with the function, used unless PROFILE_PATHS
    names others.
    """
    config = WatcherConfig.from_environment()
    if not config.profile_paths and default_profile_dir and os.path.isdir(default_profile_dir):
        config = replace(config, profile_paths=(default_profile_dir,))
    return _watcher_for(config)
