"""Build a ``Watcher`` from the function's environment (what ``template.yaml`` gives it): its clients,
its parts and its execution mode, chosen once here.

Kept apart from the handler so that the CLI's ``local invoke`` and the tests build it the same way.
Clients are created once per execution environment and reused across invocations (warm starts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from restorewatch.alerts import SnsPublisher
from restorewatch.errors import InputError
from restorewatch.inventory import (
    DEFAULT_MEMBER_ROLE,
    AccountReaders,
    IamReader,
    OrganizationsReader,
    OrganizationsScpSource,
    make_client,
)
from restorewatch.ledger import Outbox, OutboxSettings
from restorewatch.profiles import DEFAULT_TAG_KEY, ProfileRegistry
from restorewatch.report import S3ReportSink
from restorewatch.state import DynamoStateStore
from restorewatch.watch.fanout import SqsSweepDispatcher
from restorewatch.watch.modes import Organization, SingleAccount
from restorewatch.watch.settings import WatchSettings
from restorewatch.watch.watcher import Watcher

if TYPE_CHECKING:
    from restorewatch.watch.modes import ExecutionMode

_TRUE = frozenset({"true", "1", "yes"})


@dataclass(frozen=True, slots=True)
class WatcherConfig:
    state_table: str
    alert_topic_arn: str
    tag_key: str = DEFAULT_TAG_KEY
    alert_on_degraded: bool = True
    profile_paths: tuple[str, ...] = ()
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL: moto's server in local runs
    # organization mode (template parameter OrganizationMode): central watcher of member accounts
    organization_mode: bool = False
    member_role_name: str = DEFAULT_MEMBER_ROLE
    sweep_queue_url: str | None = None  # where account sweeps are enqueued (SweepQueue)
    home_account: str | None = None  # the watcher's own account (read directly, not assumed)
    read_organizations: bool = True  # read SCPs from Organizations (off: alerts say not evaluated)
    # DigestMode=digest: more than digest_threshold transitions in one run go out as one digest
    digest_mode: bool = False
    digest_threshold: int = 5
    report_bucket: str | None = None  # ReportBucket: the sweep writes the HTML status report there

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
            organization_mode=env.get("ORGANIZATION_MODE", "false").strip().lower() in _TRUE,
            member_role_name=env.get("MEMBER_ROLE_NAME") or DEFAULT_MEMBER_ROLE,
            sweep_queue_url=env.get("SWEEP_QUEUE_URL") or None,
            home_account=env.get("HOME_ACCOUNT_ID") or None,
            read_organizations=env.get("READ_ORGANIZATIONS", "true").strip().lower() in _TRUE,
            digest_mode=env.get("DIGEST_MODE", "per-principal").strip().lower() == "digest",
            digest_threshold=int(env.get("DIGEST_THRESHOLD") or 5),
            report_bucket=env.get("REPORT_BUCKET") or None,
        )


def build_watcher(config: WatcherConfig) -> Watcher:
    endpoint = config.endpoint_url
    iam = make_client("iam", endpoint_url=endpoint)
    store = DynamoStateStore(config.state_table, client=make_client("dynamodb", endpoint_url=endpoint))
    # the publisher's own timeouts and attempts keep a publish well inside the outbox lease
    sns = make_client(
        "sns",
        endpoint_url=endpoint,
        connect_timeout=SnsPublisher.CONNECT_TIMEOUT,
        read_timeout=SnsPublisher.READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": SnsPublisher.MAX_ATTEMPTS},
    )
    publisher = SnsPublisher(config.alert_topic_arn, client=sns)
    outbox = Outbox(
        store,
        publisher,
        OutboxSettings(tag_key=config.tag_key, alert_on_degraded=config.alert_on_degraded),
    )
    settings = WatchSettings(
        tag_key=config.tag_key,
        home_account=config.home_account,
        digest_over=config.digest_threshold if config.digest_mode else None,
    )
    report = (
        S3ReportSink(config.report_bucket, client=make_client("s3", endpoint_url=endpoint))
        if config.report_bucket
        else None
    )
    return Watcher(
        _mode(config, iam), outbox, ProfileRegistry.default(config.profile_paths), settings, report=report
    )


def _mode(config: WatcherConfig, iam: Any) -> ExecutionMode:
    """The execution mode, chosen once: the central watcher of an organization, or one account."""
    org_factory = None
    if config.read_organizations:
        organizations = make_client("organizations", endpoint_url=config.endpoint_url)
        org_factory = lambda: OrganizationsScpSource(OrganizationsReader(organizations))  # noqa: E731
    if not config.organization_mode:
        endpoint = config.endpoint_url
        return SingleAccount(
            lambda: IamReader(iam),
            org_factory,
            lambda service, region: make_client(service, endpoint_url=endpoint, region_name=region),
        )
    if not config.sweep_queue_url:
        raise InputError("ORGANIZATION_MODE needs SWEEP_QUEUE_URL (see template.yaml)")
    if org_factory is None:
        raise InputError("ORGANIZATION_MODE needs Organizations access: READ_ORGANIZATIONS cannot be false")
    readers = AccountReaders(
        sts_client=make_client("sts", endpoint_url=config.endpoint_url),
        role_name=config.member_role_name,
        home_account=config.home_account,
        home_client=iam,
        endpoint_url=config.endpoint_url,
    )
    dispatcher = SqsSweepDispatcher(
        config.sweep_queue_url, make_client("sqs", endpoint_url=config.endpoint_url)
    )
    return Organization(
        accounts=readers.reader, org_factory=org_factory, dispatcher=dispatcher, clients=readers.client
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
