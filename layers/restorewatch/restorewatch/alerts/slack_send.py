"""Post a rendered Slack message to an incoming webhook with ``slack_sdk``'s ``WebhookClient``.

Retries are ``slack_sdk``'s own retry handlers: HTTP 429 waits as long as ``Retry-After`` says,
HTTP 500/503 and connection failures (including a read that outlasts the timeout) are retried with
backoff. A message that still fails raises ``SlackDeliveryError``: the Slack function lets it escape,
so Lambda's asynchronous retries and then the on-failure destination (the Slack DLQ) take over,
while the email subscription of the same topic is unaffected.

The webhook URL is a credential (whoever has it can post to the channel): it is never logged. It
must go to Slack (``https://hooks.slack.com/...``) or to a host the operator allowed
(``SLACK_WEBHOOK_ALLOWED_HOSTS``, for Slack-compatible receivers): a secret changed to point at any
other host would otherwise send every alert there, and Slack would stay silent.
``slack_sdk`` logs the request URL at INFO when it retries, so the client gets a logger of its own
that drops records below WARNING and redacts the URL from whatever it does log.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from restorewatch.errors import InputError, RestoreWatchError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "SLACK_WEBHOOK_HOST",
    "AllowedHost",
    "SlackDeliveryError",
    "SlackSender",
    "check_webhook_url",
    "parse_allowed_hosts",
    "webhook_url_from_secret",
]

logger = logging.getLogger(__name__)

REDACTED = "<slack webhook url>"


class SlackDeliveryError(RestoreWatchError):
    """Slack did not take the message after the retries (the message goes to the DLQ)."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"Slack webhook failed: {status if status is not None else 'no response'}: {detail}")
        self.status = status


class _Redact(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret and self._secret in message:
            record.msg, record.args = message.replace(self._secret, REDACTED), None
        return True


SLACK_WEBHOOK_HOST = "hooks.slack.com"
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class AllowedHost:
    """A host the webhook URL may name: over ``scheme``, on ``port`` (``None``: any port)."""

    host: str
    scheme: str = "https"
    port: int | None = None

    def allows(self, scheme: str, host: str, port: int | None) -> bool:
        return scheme == self.scheme and host == self.host and (self.port is None or port == self.port)


def parse_allowed_hosts(text: str) -> tuple[AllowedHost, ...]:
    """``SLACK_WEBHOOK_ALLOWED_HOSTS``: comma- or space-separated ``host`` (HTTPS, any port) or
    ``scheme://host[:port]`` entries. A malformed entry is an ``InputError`` naming it."""
    allowed: list[AllowedHost] = []
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        parts = urlsplit(entry if "://" in entry else f"https://{entry}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        host = (parts.hostname or "").lower()
        if (
            parts.scheme not in ("https", "http")
            or not _HOST.fullmatch(host)
            or port == -1
            or parts.username is not None
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise InputError(
                f"SLACK_WEBHOOK_ALLOWED_HOSTS: {entry!r} is not a host name or scheme://host[:port]"
            )
        allowed.append(AllowedHost(host, parts.scheme, port))
    return tuple(allowed)


def check_webhook_url(url: str, allowed: tuple[AllowedHost, ...] = ()) -> str:
    """``url`` if it goes to Slack's webhook host over HTTPS, or to an ``allowed`` host; otherwise an
    ``InputError`` that names the host but never the URL (its path is the credential)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise InputError("the Slack webhook secret's URL has an invalid port") from None
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None:
        raise InputError("the Slack webhook secret's URL carries a user name or password: refused")
    slack = AllowedHost(SLACK_WEBHOOK_HOST, "https", None)
    if any(entry.allows(scheme, host, port) for entry in (slack, *allowed)):
        return url
    where = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    raise InputError(
        f"the Slack webhook secret's URL goes to {where}, which is neither https://{SLACK_WEBHOOK_HOST} "
        "nor a host of SLACK_WEBHOOK_ALLOWED_HOSTS (template parameter SlackWebhookAllowedHosts)"
    )


def webhook_url_from_secret(
    value: str | bytes | dict[str, Any], allowed: tuple[AllowedHost, ...] = ()
) -> str:
    """The webhook URL from the secret: the URL, or JSON ``{"url": ...}`` (or ``"webhook_url"``),
    checked by ``check_webhook_url``."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            value = json.loads(text)
        else:
            url = text
    if isinstance(value, dict):
        url = str(value.get("url") or value.get("webhook_url") or "")
    if not url.lower().startswith(("https://", "http://")):
        # never echo the value: it is a credential
        raise InputError("the Slack webhook secret holds no http(s) URL (a URL, or JSON with 'url')")
    return check_webhook_url(url, allowed)


class SlackSender:
    """One incoming webhook; ``send`` posts a payload (``text`` + ``blocks``) or raises."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        rate_limit_retries: int = 1,
    ) -> None:
        self._url = url
        self.timeout = timeout
        self.retries = retries
        self.rate_limit_retries = rate_limit_retries
        self._client: Any = None

    def __repr__(self) -> str:  # never show the URL, not even in a traceback's locals
        return f"SlackSender(url={REDACTED}, timeout={self.timeout})"

    def _sdk_logger(self) -> logging.Logger:
        sdk_logger = logging.getLogger(f"{__name__}.sdk.{id(self)}")
        sdk_logger.setLevel(logging.WARNING)
        sdk_logger.addFilter(_Redact(self._url))
        return sdk_logger

    @property
    def client(self) -> Any:
        if self._client is None:
            from slack_sdk.http_retry.builtin_handlers import (
                ConnectionErrorRetryHandler,
                RateLimitErrorRetryHandler,
                ServerErrorRetryHandler,
            )
            from slack_sdk.webhook import WebhookClient

            handlers = [
                RateLimitErrorRetryHandler(max_retry_count=self.rate_limit_retries),
                ServerErrorRetryHandler(max_retry_count=self.retries),
                # TimeoutError: a read that outlasts the timeout (the default list has URLError only)
                ConnectionErrorRetryHandler(
                    max_retry_count=self.retries,
                    error_types=[TimeoutError, ConnectionError, OSError],
                ),
            ]
            self._client = WebhookClient(
                self._url,
                timeout=self.timeout,  # type: ignore[arg-type]  # urllib takes float seconds
                retry_handlers=handlers,
                logger=self._sdk_logger(),
            )
        return self._client

    def send(self, payload: Mapping[str, Any]) -> int:
        """Post ``payload``; returns the HTTP status (200) or raises ``SlackDeliveryError``."""
        try:
            response = self.client.send_dict(dict(payload))
        except (TimeoutError, OSError) as error:
            # urllib's messages do not carry the URL, but be sure
            raise SlackDeliveryError(None, str(error).replace(self._url, REDACTED)) from None
        if response.status_code != 200:
            body = str(response.body or "")[:200].replace(self._url, REDACTED)
            raise SlackDeliveryError(response.status_code, body)
        logger.info("posted to Slack (%d bytes)", len(json.dumps(payload)))
        return int(response.status_code)
