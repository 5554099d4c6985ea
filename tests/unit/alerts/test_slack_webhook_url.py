"""The Slack webhook secret must name Slack's webhook host, or a host the operator allowed.

Slack's incoming webhooks are ``https://hooks.slack.com/services/...`` URLs
(https://api.slack.com/messaging/webhooks). A secret re-pointed at another host would send every
alert there while nobody notices that Slack went quiet: such a URL is refused, with an error that
names the host and never the URL (its path is the credential).
"""

from __future__ import annotations

import pytest

from restorewatch.alerts.slack_send import (
    AllowedHost,
    check_webhook_url,
    parse_allowed_hosts,
    webhook_url_from_secret,
)
from restorewatch.errors import InputError

TOKEN = "T000/B000/secret-token-XYZ"
SLACK = f"https://hooks.slack.com/services/{TOKEN}"


@pytest.mark.parametrize(
    "url",
    [SLACK, f"https://HOOKS.SLACK.COM/services/{TOKEN}", f"https://hooks.slack.com:443/services/{TOKEN}"],
)
def test_slack_webhook_urls_are_accepted(url: str) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (f"https://collector.example.net/services/{TOKEN}", "https://collector.example.net"),
        (f"https://hooks.slack.com.example.net/services/{TOKEN}", "https://hooks.slack.com.example.net"),
        (f"https://example.net/hooks.slack.com/services/{TOKEN}", "https://example.net"),
        (f"http://hooks.slack.com/services/{TOKEN}", "http://hooks.slack.com"),
        (f"https://evilhooks.slack.com/services/{TOKEN}", "https://evilhooks.slack.com"),
    ],
)
def test_other_hosts_are_refused_naming_the_host_not_the_url(url: str, named: str) -> None:
    with pytest.raises(InputError) as raised:
        check_webhook_url(url)
    assert named in str(raised.value)
    assert "SlackWebhookAllowedHosts" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_slacks_host_as_a_user_name_is_refused() -> None:
    with pytest.raises(InputError, match="user name or password") as raised:
        check_webhook_url(f"https://hooks.slack.com@collector.example.net/services/{TOKEN}")
    assert TOKEN not in str(raised.value)


def test_allowed_hosts_are_https_on_any_port_unless_the_entry_says_otherwise() -> None:
    allowed = parse_allowed_hosts("chat.example.com, http://127.0.0.1:8065  https://relay.example.org:8443")
    assert allowed == (
        AllowedHost("chat.example.com"),
        AllowedHost("127.0.0.1", "http", 8065),
        AllowedHost("relay.example.org", "https", 8443),
    )
    accepted = [
        "https://chat.example.com/hooks/abc",
        "https://CHAT.example.com:8443/hooks/abc",
        "http://127.0.0.1:8065/hooks/abc",
        "https://relay.example.org:8443/x",
        SLACK,  # Slack's own host stays allowed
    ]
    for url in accepted:
        assert check_webhook_url(url, allowed) == url
    refused = [
        "http://chat.example.com/hooks/abc",  # a bare host means HTTPS
        "http://127.0.0.1:8066/hooks/abc",  # another port
        "https://127.0.0.1:8065/hooks/abc",  # another scheme
        "https://relay.example.org/x",  # the default port, not 8443
        "https://sub.chat.example.com/hooks/abc",  # hosts are exact, not suffixes
    ]
    for url in refused:
        with pytest.raises(InputError):
            check_webhook_url(url, allowed)


@pytest.mark.parametrize(
    "entry", ["*.example.com", "ftp://files.example.com", "https://x.example/path", "a b@c"]
)
def test_a_malformed_allow_list_entry_is_named(entry: str) -> None:
    with pytest.raises(InputError, match="SLACK_WEBHOOK_ALLOWED_HOSTS"):
        parse_allowed_hosts(entry)


def test_an_empty_allow_list_allows_only_slack() -> None:
    assert parse_allowed_hosts("") == ()
    assert parse_allowed_hosts(" , ") == ()


def test_the_secret_is_checked_in_each_of_its_forms() -> None:
    allowed = parse_allowed_hosts("chat.example.com")
    assert webhook_url_from_secret(SLACK) == SLACK
    assert webhook_url_from_secret(f'{{"url": "{SLACK}"}}'.encode()) == SLACK
    assert webhook_url_from_secret({"webhook_url": "https://chat.example.com/h/1"}, allowed)
    for value in ("https://collector.example.net/x", {"url": "https://collector.example.net/x"}):
        with pytest.raises(InputError, match=r"collector\.example\.net"):
            webhook_url_from_secret(value)
